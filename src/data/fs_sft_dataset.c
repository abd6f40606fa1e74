/* fs_sft_dataset.c -- a jsonl file -> SFT samples in memory; samples, masks and the cyclic order (fs_sft.h) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fs_log.h"
#include "fs_mt19937.h"
#include "fs_sft.h"

/* grows *p (elem-byte items) to hold at least n */
static PetscErrorCode grow(void **p, int64_t *cap, int64_t n, size_t elem)
{
  PetscFunctionBegin;
  if (n <= *cap) PetscFunctionReturn(PETSC_SUCCESS);
  int64_t c = 2 * n + 1024;
  void *q = realloc(*p, (size_t)c * elem);
  FSCheck(q, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory for SFT data (%lld items)", (long long)c);
  *p = q, *cap = c;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* adds the tokens of one line as a sample, truncated to seq_length + 1 tokens (or drops it: nothing trained) */
static PetscErrorCode add_sample(struct fs_sft_dataset *ds, const struct fs_sft_buf *b, int64_t *cap_tok,
                                 int64_t *cap_off)
{
  const int64_t keep = b->ids.n < ds->opts.seq_length + 1 ? b->ids.n : ds->opts.seq_length + 1;
  int64_t trained = 0;

  PetscFunctionBegin;
  for (int64_t j = 1; j < keep; j++) trained += b->trained[j];
  if (!trained) {
    ds->n_dropped++;
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  ds->n_truncated += b->ids.n > keep;
  ds->n_trained += trained;
  int64_t at = ds->offset[ds->n], cap_flags = *cap_tok;
  PetscCall(grow((void **)&ds->ids, cap_tok, at + keep, sizeof(int32_t)));
  PetscCall(grow((void **)&ds->trained, &cap_flags, at + keep, 1));
  memcpy(ds->ids + at, b->ids.ids, (size_t)keep * sizeof(int32_t));
  memcpy(ds->trained + at, b->trained, (size_t)keep);
  PetscCall(grow((void **)&ds->offset, cap_off, ds->n + 2, sizeof(int64_t)));
  ds->offset[++ds->n] = at + keep;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_sft_load(const char *path, const struct fs_sft_opts *o, struct fs_tokenizer *tok,
                           struct fs_sft_dataset **out)
{
  struct fs_sft_dataset *ds;
  struct fs_sft_buf b = {0};
  char *line = NULL, where[4200];
  size_t cap = 0;
  int64_t cap_tok = 0, cap_off = 0, lineno = 0;
  ssize_t len;
  PetscErrorCode ierr = PETSC_SUCCESS;

  PetscFunctionBegin;
  *out = NULL;
  FSCheck(o->seq_length >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "SFT sequence length must be >= 1");
  FILE *f = fopen(path, "r");
  FSCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open SFT data %s: %s", path, strerror(errno));
  FSCalloc(sizeof *ds, &ds);
  ds->opts = *o;
  ds->perm_epoch = -1;
  ierr = grow((void **)&ds->offset, &cap_off, 1, sizeof(int64_t));
  if (!ierr) ds->offset[0] = 0;
  while (!ierr && (len = getline(&line, &cap, f)) >= 0) {
    lineno++;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
    size_t sp = strspn(line, " \t");
    if (!line[sp]) continue;
    ds->n_lines++;
    snprintf(where, sizeof where, "%s:%lld", path, (long long)lineno);
    fs_tokens_clear(&b.ids);
    ierr = fs_sft_encode_line(line, where, o, tok, &b);
    if (!ierr) ierr = add_sample(ds, &b, &cap_tok, &cap_off);
  }
  if (!ierr && ferror(f)) {
    ierr = PETSC_ERR_FILE_READ;
    (void)PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, ierr, PETSC_ERROR_INITIAL,
                     "read error in %s after line %lld", path, (long long)lineno);
  }
  fclose(f);
  free(line);
  fs_sft_buf_free(&b);
  if (!ierr && !ds->n) {
    ierr = PETSC_ERR_FILE_UNEXPECTED;
    (void)PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, ierr, PETSC_ERROR_INITIAL,
                     "%s: no usable sample in %lld line(s)%s", path, (long long)ds->n_lines,
                     ds->n_dropped ? " (none has a trained token within -seq_length: raise -seq_length or shorten the prompts)" : "");
  }
  if (ierr) fs_sft_destroy(&ds);
  PetscCall(ierr);
  if (ds->n_dropped)
    fs_log_warn("%s: %lld of %lld conversations have no trained token within %d tokens: dropped", path,
                (long long)ds->n_dropped, (long long)ds->n_lines, o->seq_length + 1);
  ds->n_docs = ds->n;
  *out = ds;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_sft_destroy(struct fs_sft_dataset **ds)
{
  PetscFunctionBegin;
  if (!*ds) PetscFunctionReturn(PETSC_SUCCESS);
  free((*ds)->offset), free((*ds)->ids), free((*ds)->trained), free((*ds)->perm);
  free((*ds)->pack_offset), free((*ds)->pack_item);
  FSFree(ds);
  PetscFunctionReturn(PETSC_SUCCESS);
}

void fs_sft_sample(const struct fs_sft_dataset *ds, int64_t i, int32_t *tokens, uint8_t *loss_mask)
{
  fs_sft_sample_pos(ds, i, tokens, loss_mask, NULL);
}

PetscErrorCode fs_sft_cyclic_index(struct fs_sft_dataset *ds, uint32_t seed, int64_t k, int64_t *i)
{
  const int64_t epoch = k / ds->n;

  PetscFunctionBegin;
  if (epoch != ds->perm_epoch) {
    struct fs_mt19937 mt;
    if (!ds->perm) FSMalloc(ds->n * sizeof(int64_t), &ds->perm);
    for (int64_t j = 0; j < ds->n; j++) ds->perm[j] = j;
    fs_mt19937_seed(&mt, (uint32_t)(seed + (uint64_t)epoch));
    fs_mt19937_shuffle_i64(&mt, ds->perm, ds->n);
    ds->perm_epoch = epoch;
  }
  *i = ds->perm[k % ds->n];
  PetscFunctionReturn(PETSC_SUCCESS);
}
