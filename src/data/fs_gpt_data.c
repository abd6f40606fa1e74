/* fs_gpt_data.c -- datasets, splits and blending for training */
#include <stdlib.h>
#include <string.h>
#include "fs_gpt_data.h"

static const char *const k_split_name[3] = {"train", "valid", "test"};

/* "w1 p1 w2 p2" or "p": weights (1.0 for a single prefix) and prefixes, in place in buf */
static PetscErrorCode parse_data_path(char *buf, int *n, double *w, char **prefix)
{
  char *tok[2 * FS_BLEND_MAX + 1];
  int nt = 0;

  PetscFunctionBegin;
  for (char *save = NULL, *t = strtok_r(buf, " ,\t\n", &save); t; t = strtok_r(NULL, " ,\t\n", &save)) {
    FSCheck(nt < 2 * FS_BLEND_MAX, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "-data_path: more than %d datasets", FS_BLEND_MAX);
    tok[nt++] = t;
  }
  FSCheck(nt > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "-data_path is empty: give PREFIX or \"W1 PREFIX1 W2 PREFIX2\"");
  if (nt == 1) {
    *n = 1, w[0] = 1.0, prefix[0] = tok[0];
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  FSCheck(nt % 2 == 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
          "-data_path with several datasets needs weight/prefix pairs: \"W1 PREFIX1 W2 PREFIX2 ...\"");
  *n = nt / 2;
  for (int i = 0; i < *n; i++) {
    char *end;
    w[i] = strtod(tok[2 * i], &end);
    FSCheck(!*end && w[i] > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "-data_path: weight '%s' is not a positive number",
            tok[2 * i]);
    prefix[i] = tok[2 * i + 1];
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_gpt_data_create(MPI_Comm comm, const struct fs_gpt_data_args *a, struct fs_gpt_data **out)
{
  struct fs_gpt_data *d;
  double w[FS_BLEND_MAX], wn[FS_BLEND_MAX];
  char *prefix[FS_BLEND_MAX], *buf;
  int64_t per[3][FS_BLEND_MAX], total[3];

  PetscFunctionBegin;
  FSCalloc(sizeof *d, &d);
  buf = strdup(a->data_path);
  FSCheck(buf, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory");
  PetscCall(parse_data_path(buf, &d->n_datasets, w, prefix));
  d->seq_length = a->seq_length;
  FSCalloc(d->n_datasets * sizeof *d->ds, &d->ds);
  for (int i = 0; i < d->n_datasets; i++) PetscCall(fs_indexed_open(prefix[i], &d->ds[i]));
  for (int s = 0; s < 3; s++) {
    if (d->n_datasets == 1) per[s][0] = total[s] = a->num_samples[s];
    else PetscCall(fs_blend_num_samples(wn, per[s], &total[s], d->n_datasets, w, a->num_samples[s]));
  }
  for (int s = 0; s < 3; s++) {
    if (a->num_samples[s] <= 0) continue;
    int64_t have[FS_BLEND_MAX];
    for (int i = 0; i < d->n_datasets; i++) {
      struct fs_gpt_index_args ia = {prefix[i], k_split_name[s], a->split, a->cache_dir && a->cache_dir[0] ? a->cache_dir : NULL,
                                     per[s][i], a->seq_length, a->seed};
      PetscCall(fs_gpt_dataset_index(comm, d->ds[i], &ia, s, &d->ix[s][i], NULL));
      FSCheck(d->ix[s][i], comm, PETSC_ERR_ARG_INCOMP,
              "the %s split of %s has no documents (split %s); change -split or give more data", k_split_name[s],
              prefix[i], a->split);
      have[i] = d->ix[s][i]->n_samples;
    }
    if (d->n_datasets > 1) {
      PetscCall(fs_blend_create(&d->blend[s], d->n_datasets, w, total[s], have));
      d->n_samples[s] = d->blend[s]->size;
    } else d->n_samples[s] = d->ix[s][0]->n_samples;
  }
  free(buf);
  *out = d;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_gpt_data_destroy(struct fs_gpt_data **d)
{
  PetscFunctionBegin;
  if (!*d) PetscFunctionReturn(PETSC_SUCCESS);
  for (int s = 0; s < 3; s++) {
    for (int i = 0; i < (*d)->n_datasets; i++) PetscCall(fs_gpt_index_destroy(&(*d)->ix[s][i]));
    PetscCall(fs_blend_destroy(&(*d)->blend[s]));
  }
  for (int i = 0; i < (*d)->n_datasets; i++) PetscCall(fs_indexed_close(&(*d)->ds[i]));
  free((*d)->ds);
  FSFree(d);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_gpt_data_sample(const struct fs_gpt_data *d, int split, int64_t k, int32_t *tokens)
{
  int ds = 0;
  int64_t s = k;

  PetscFunctionBegin;
  FSCheck(split >= 0 && split < 3 && k >= 0 && k < d->n_samples[split], PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
          "sample %lld of the %s split: it has %lld", (long long)k, split >= 0 && split < 3 ? k_split_name[split] : "?",
          (long long)(split >= 0 && split < 3 ? d->n_samples[split] : 0));
  if (d->blend[split]) fs_blend_locate(d->blend[split], k, &ds, &s);
  PetscCall(fs_gpt_index_sample(tokens, d->ix[split][ds], s, fs_gpt_read_indexed, d->ds[ds]));
  PetscFunctionReturn(PETSC_SUCCESS);
}
