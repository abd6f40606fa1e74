/* fs_hf_weights.c -- safetensors <-> model parameters, and the tokenizer files of an exported folder */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "fs_hf.h"
#include "fs_model_io.h"
#include "fs_safetensors.h"

PetscErrorCode fs_hf_read_weights(const char *dir, struct fs_model *m)
{
  struct fs_st_model *st = NULL;

  PetscFunctionBegin;
  PetscCall(fs_st_model_open(dir, &st));
  PetscErrorCode ierr = PETSC_SUCCESS;
  for (int i = 0; i < m->table.n && !ierr; i++) {
    const struct fs_param *p = &m->table.p[i];
    const int64_t rows = fs_model_stored_rows(m, p);
    float *w = m->params + p->offset;
    ierr = fs_st_model_read_f32(st, p->name, rows * p->shape[1], w);
    if (!ierr) memset(w + rows * p->shape[1], 0, (p->shape[0] - rows) * p->shape[1] * sizeof(float));
  }
  PetscCall(fs_st_model_close(&st));
  PetscCall(ierr);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_hf_write_weights(const char *dir, const struct fs_model *m, enum fs_dtype file_dtype,
                                   size_t max_shard_bytes)
{
  struct fs_st_writer *w = NULL;

  PetscFunctionBegin;
  PetscCall(fs_st_writer_create(dir, file_dtype, max_shard_bytes, &w));
  PetscErrorCode ierr = PETSC_SUCCESS;
  for (int i = 0; i < m->table.n && !ierr; i++) {
    const struct fs_param *p = &m->table.p[i];
    int64_t shape[2] = {fs_model_stored_rows(m, p), p->shape[1]};
    ierr = fs_st_writer_add(w, p->name, p->ndim, shape, m->params + p->offset);
  }
  if (ierr) {
    fs_st_writer_abort(&w);
    PetscCall(ierr);
  }
  PetscCall(fs_st_writer_finish(&w));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode copy_file(const char *from, const char *to)
{
  char buf[65536], tmp[4200];
  size_t n;

  PetscFunctionBegin;
  snprintf(tmp, sizeof tmp, "%s.tmp", to);
  FILE *in = fopen(from, "rb"), *out = in ? fopen(tmp, "wb") : NULL;
  if (!in || !out) {
    if (in) fclose(in);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot copy %s to %s: %s", from, to, strerror(errno));
  }
  int bad = 0;
  while ((n = fread(buf, 1, sizeof buf, in)) > 0) bad |= fwrite(buf, 1, n, out) != n;
  bad |= ferror(in);
  fclose(in);
  bad |= fclose(out) != 0;
  FSCheck(!bad, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot copy %s to %s", from, to);
  FSCallSys(rename(tmp, to), to);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_hf_write_json(json_t *o, const char *dir, const char *name)
{
  char path[4096], tmp[4200];
  PetscFunctionBegin;
  FSCheck(o, PETSC_COMM_SELF, PETSC_ERR_LIB, "json_pack failed for %s", name);
  snprintf(path, sizeof path, "%s/%s", dir, name);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int rc = json_dump_file(o, tmp, JSON_INDENT(2) | JSON_SORT_KEYS);
  json_decref(o);
  FSCheck(rc == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write %s", tmp);
  FSCallSys(rename(tmp, path), path);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_hf_write_tokenizer(const char *dir, const char *tokenizer_dir, const char *eos_token,
                                     int model_max_length)
{
  char from[4096], to[4096], line[512];
  json_t *specials = json_array();

  PetscFunctionBegin;
  const char *files[] = {"vocab.json", "merges.txt"};
  for (int i = 0; i < 2; i++) {
    snprintf(from, sizeof from, "%s/%s", tokenizer_dir, files[i]);
    snprintf(to, sizeof to, "%s/%s", dir, files[i]);
    PetscCall(copy_file(from, to));
  }
  /* Aquila-style special tokens file: each line becomes an additional special token (ids follow the vocab) */
  snprintf(from, sizeof from, "%s/special_tokens.txt", tokenizer_dir);
  FILE *f = fopen(from, "r");
  if (f) {
    while (fgets(line, sizeof line, f)) {
      line[strcspn(line, "\r\n")] = 0;
      if (line[0]) json_array_append_new(specials, json_string(line));
    }
    fclose(f);
  }
  json_t *map = json_pack("{s:s,s:s,s:s,s:O}", "eos_token", eos_token, "bos_token", eos_token, "unk_token", eos_token,
                          "additional_special_tokens", specials);
  PetscCall(fs_hf_write_json(map, dir, "special_tokens_map.json"));
  json_t *cfg = json_pack("{s:s,s:s,s:s,s:s,s:i,s:b,s:o}", "tokenizer_class", "GPT2Tokenizer", "eos_token", eos_token,
                          "bos_token", eos_token, "unk_token", eos_token, "model_max_length", model_max_length,
                          "add_prefix_space", 0, "additional_special_tokens", specials);
  PetscCall(fs_hf_write_json(cfg, dir, "tokenizer_config.json"));
  PetscFunctionReturn(PETSC_SUCCESS);
}
