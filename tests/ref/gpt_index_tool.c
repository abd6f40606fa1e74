/* gpt_index_tool.c -- drives the GPT index and blending for tests/ref/gpt_index_ref.py (numpy compares).
 *   -mode gpt   -sizes S.npy -split 969,30,1 -split_index 0 -num_samples N -seq_length L -seed R
 *               -data_prefix P -name train -cache DIR [-tokens_out T.npy]
 *     builds (or reuses) the cache in DIR and prints one line "key=value ..." (hash, dir, epochs, ...);
 *     T.npy gets every sample's tokens (n_samples, L + 1), document doc's token at pos being token(doc, pos).
 *   -mode blend -weights 3,2,5 -num_samples N -out DIR
 *     writes DIR/{weights,per_dataset,blend_weights,dataset_index,dataset_sample_index}.npy */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fs_blend.h"
#include "fs_gpt_dataset.h"
#include "fs_npy.h"

/* keep in step with token() in gpt_index_ref.py */
static int32_t token(int64_t doc, int64_t pos) { return (int32_t)((doc * 1000003 + pos * 7 + 11) % 2147483647); }

static PetscErrorCode read_synth(void *ctx, int64_t doc, int64_t offset, int64_t n, int32_t *out)
{
  PetscFunctionBegin;
  for (int64_t i = 0; i < n; i++) out[i] = token(doc, offset + i);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode opt_str(const char *name, char *v, size_t n, PetscBool required)
{
  PetscBool set = PETSC_FALSE;
  PetscFunctionBegin;
  v[0] = 0;
  PetscCall(PetscOptionsGetString(NULL, NULL, name, v, n, &set));
  FSCheck(set || !required, PETSC_COMM_SELF, PETSC_ERR_ARG_NULL, "gpt_index_tool: %s is required", name);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode opt_int(const char *name, int64_t *v)
{
  PetscInt x = 0;
  PetscBool set = PETSC_FALSE;
  PetscFunctionBegin;
  PetscCall(PetscOptionsGetInt(NULL, NULL, name, &x, &set));
  FSCheck(set, PETSC_COMM_SELF, PETSC_ERR_ARG_NULL, "gpt_index_tool: %s is required", name);
  *v = x;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode run_gpt(MPI_Comm comm)
{
  char sizes_path[1024], split[256], prefix[1024], name[64], cache[1024], tokens_out[1024];
  int64_t split_index, num_samples, seq_length, seed, b[4];
  struct fs_npy *sz = NULL;
  struct fs_gpt_index *ix = NULL;
  PetscBool built;
  int rank;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(opt_str("-sizes", sizes_path, sizeof sizes_path, PETSC_TRUE));
  PetscCall(opt_str("-split", split, sizeof split, PETSC_TRUE));
  PetscCall(opt_str("-data_prefix", prefix, sizeof prefix, PETSC_TRUE));
  PetscCall(opt_str("-name", name, sizeof name, PETSC_TRUE));
  PetscCall(opt_str("-cache", cache, sizeof cache, PETSC_TRUE));
  PetscCall(opt_str("-tokens_out", tokens_out, sizeof tokens_out, PETSC_FALSE));
  PetscCall(opt_int("-split_index", &split_index));
  PetscCall(opt_int("-num_samples", &num_samples));
  PetscCall(opt_int("-seq_length", &seq_length));
  PetscCall(opt_int("-seed", &seed));
  PetscCall(fs_npy_open(sizes_path, &sz));
  FSCheck(fs_npy_matches(sz, "<i4", 1, (int64_t[]){-1}), PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
          "%s: need a 1-D int32 array", sizes_path);
  PetscCall(fs_gpt_split(b, split, sz->n_elem));
  int64_t n_docs = b[split_index + 1] - b[split_index];
  int32_t *docs = NULL;
  FSMalloc((size_t)(n_docs > 0 ? n_docs : 1) * sizeof *docs, &docs);
  for (int64_t i = 0; i < n_docs; i++) docs[i] = (int32_t)(b[split_index] + i);
  struct fs_gpt_index_args a = {prefix, name, split, cache, num_samples, seq_length, (uint32_t)seed};
  PetscCall(fs_gpt_index_load(comm, &a, sz->data, sz->n_elem, docs, n_docs, &ix, &built));
  if (rank == 0)
    printf("hash=%s built=%d epochs=%" PRId64 " tokens_per_epoch=%" PRId64 " n_samples=%" PRId64
           " separate_last_epoch=%d shuffle_i64=%d bounds=%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 "\n",
           ix->hash, (int)built, ix->num_epochs, ix->tokens_per_epoch, ix->n_samples, ix->separate_last_epoch,
           ix->shuffle_i64, b[0], b[1], b[2], b[3]);
  if (tokens_out[0] && rank == 0) {
    int64_t L1 = seq_length + 1, shape[2] = {ix->n_samples, L1};
    int32_t *t = NULL;
    FSMalloc((size_t)(ix->n_samples > 0 ? ix->n_samples : 1) * (size_t)L1 * sizeof *t, &t);
    for (int64_t k = 0; k < ix->n_samples; k++) PetscCall(fs_gpt_index_sample(t + k * L1, ix, k, read_synth, NULL));
    PetscCall(fs_npy_write(tokens_out, "<i4", 2, shape, t));
    free(t);
  }
  PetscCall(fs_gpt_index_destroy(&ix));
  PetscCall(fs_npy_close(&sz));
  free(docs);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode run_blend(void)
{
  char list[1024], out[1024], path[1200];
  int64_t num_samples, per[FS_BLEND_MAX], total;
  double w[FS_BLEND_MAX], wn[FS_BLEND_MAX];
  int n = 0;
  struct fs_blend *bl = NULL;

  PetscFunctionBegin;
  PetscCall(opt_str("-weights", list, sizeof list, PETSC_TRUE));
  PetscCall(opt_str("-out", out, sizeof out, PETSC_TRUE));
  PetscCall(opt_int("-num_samples", &num_samples));
  for (char *tok = strtok(list, ","); tok && n < FS_BLEND_MAX; tok = strtok(NULL, ",")) w[n++] = atof(tok);
  PetscCall(fs_blend_num_samples(wn, per, &total, n, w, num_samples));
  PetscCall(fs_blend_create(&bl, n, wn, total, per));
  int64_t sn[1] = {n}, st[1] = {total};
  snprintf(path, sizeof path, "%s/weights.npy", out);
  PetscCall(fs_npy_write(path, "<f8", 1, sn, wn));
  snprintf(path, sizeof path, "%s/per_dataset.npy", out);
  PetscCall(fs_npy_write(path, "<i8", 1, sn, per));
  snprintf(path, sizeof path, "%s/blend_weights.npy", out);
  PetscCall(fs_npy_write(path, "<f8", 1, sn, bl->weights));
  snprintf(path, sizeof path, "%s/dataset_index.npy", out);
  PetscCall(fs_npy_write(path, "|u1", 1, st, bl->dataset_index));
  snprintf(path, sizeof path, "%s/dataset_sample_index.npy", out);
  PetscCall(fs_npy_write(path, "<i8", 1, st, bl->dataset_sample_index));
  PetscCall(fs_blend_destroy(&bl));
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv)
{
  char mode[32] = "";
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(opt_str("-mode", mode, sizeof mode, PETSC_TRUE));
  if (strcmp(mode, "gpt") == 0) PetscCall(run_gpt(PETSC_COMM_WORLD));
  else if (strcmp(mode, "blend") == 0) PetscCall(run_blend());
  else SETERRQ(PETSC_COMM_WORLD, PETSC_ERR_ARG_WRONG, "-mode must be gpt or blend");
  PetscCall(PetscFinalize());
  return 0;
}
