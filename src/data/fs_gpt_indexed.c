/* fs_gpt_indexed.c -- the GPT sample index over an indexed dataset (Megatron _build_train_valid_test_datasets for
 * one split): the split string divides the dataset's sequences; each sequence is one "document" of the index */
#include <stdlib.h>
#include "fs_gpt_dataset.h"

PetscErrorCode fs_gpt_read_indexed(void *ctx, int64_t doc, int64_t offset, int64_t n, int32_t *out)
{
  PetscFunctionBegin;
  PetscCall(fs_indexed_get((const struct fs_indexed *)ctx, doc, offset, n, out));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_gpt_dataset_index(MPI_Comm comm, const struct fs_indexed *ds, const struct fs_gpt_index_args *a,
                                    int split_index, struct fs_gpt_index **ix, PetscBool *built)
{
  int64_t b[4];
  int32_t *docs = NULL;

  PetscFunctionBegin;
  *ix = NULL;
  if (built) *built = PETSC_FALSE;
  FSCheck(split_index >= 0 && split_index < 3, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
          "split index %d: 0 (train), 1 (valid) or 2 (test)", split_index);
  PetscCall(fs_gpt_split(b, a->splits, ds->n_seqs));
  int64_t n = b[split_index + 1] - b[split_index];
  if (n <= 0) PetscFunctionReturn(PETSC_SUCCESS); /* Megatron: no dataset for an empty split */
  FSMalloc((size_t)n * sizeof *docs, &docs);
  for (int64_t i = 0; i < n; i++) docs[i] = (int32_t)(b[split_index] + i);
  PetscErrorCode ierr = fs_gpt_index_load(comm, a, ds->sizes, ds->n_seqs, docs, n, ix, built);
  free(docs);
  PetscCall(ierr);
  PetscFunctionReturn(PETSC_SUCCESS);
}
