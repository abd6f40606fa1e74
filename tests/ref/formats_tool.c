/* formats_tool.c -- the C side of the Python reference tests of fs_safetensors and fs_gguf:
 *   formats_tool st-dump PATH OUTDIR                 every tensor of a file/folder -> OUTDIR/list.txt + K.f32
 *   formats_tool st-write LISTING OUTDIR DTYPE MAX   tensors from raw fp32 files -> a (sharded) checkpoint
 *   formats_tool gguf-dump PATH OUTDIR               metadata -> OUTDIR/meta.json, tensors -> list.txt + K.f32
 *   formats_tool gguf-write LISTING PATH             fixed metadata of every type + tensors (F32/F16/BF16)
 * list.txt: "name dtype ndim dim..." per line (row-major shape); LISTING: "name dtype ndim dim... rawfile". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <jansson.h>
#include "fs_safetensors.h"
#include "fs_gguf.h"

static PetscErrorCode write_f32(const char *dir, int64_t k, const float *x, int64_t n)
{
  char p[4200];
  FILE *f;

  PetscFunctionBegin;
  snprintf(p, sizeof p, "%s/%" PRId64 ".f32", dir, k);
  f = fopen(p, "wb");
  FSCheck(f && fwrite(x, 4, (size_t)n, f) == (size_t)n, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write %s", p);
  fclose(f);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode st_dump(const char *path, const char *dir)
{
  struct fs_st_model *m;
  char p[4200];
  FILE *lst;

  PetscFunctionBegin;
  PetscCall(fs_st_model_open(path, &m));
  snprintf(p, sizeof p, "%s/list.txt", dir);
  lst = fopen(p, "w");
  FSCheck(lst, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s", p);
  for (int64_t k = 0; k < m->n_tensors; k++) {
    const struct fs_st_tensor *t = m->sorted[k];
    float *x;
    fprintf(lst, "%s %s %d", t->name, t->dtype_name, t->ndim);
    for (int d = 0; d < t->ndim; d++) fprintf(lst, " %" PRId64, t->shape[d]);
    fprintf(lst, "\n");
    FSMalloc((size_t)t->n_elem * 4 + 4, &x);
    PetscCall(fs_st_model_read_f32(m, t->name, t->n_elem, x));
    PetscCall(write_f32(dir, k, x, t->n_elem));
    free(x);
  }
  fclose(lst);
  PetscCall(fs_st_model_close(&m));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* reads one LISTING line: name dtype ndim dims... rawfile; data malloc'ed */
static int read_entry(FILE *f, char *name, char *dtype, int *ndim, int64_t *shape, float **data)
{
  char raw[4096];
  int64_t n = 1;
  if (fscanf(f, "%1023s %31s %d", name, dtype, ndim) != 3 || *ndim < 0 || *ndim > 8) return 0;
  for (int d = 0; d < *ndim; d++) {
    if (fscanf(f, "%" SCNd64, &shape[d]) != 1) return 0;
    n *= shape[d];
  }
  if (fscanf(f, "%4095s", raw) != 1) return 0;
  FILE *r = fopen(raw, "rb");
  *data = malloc((size_t)n * 4 + 4);
  if (!r || !*data || fread(*data, 4, (size_t)n, r) != (size_t)n) return 0;
  fclose(r);
  return 1;
}

static PetscErrorCode st_write(const char *listing, const char *dir, const char *dtype, size_t max_shard)
{
  struct fs_st_writer *w;
  FILE *f = fopen(listing, "r");
  char name[1024], dt[32];
  int ndim;
  int64_t shape[8];
  float *x;
  int def = !strcmp(dtype, "bf16") ? FS_DTYPE_BF16 : !strcmp(dtype, "f16") ? FS_DTYPE_F16 : FS_DTYPE_F32;

  PetscFunctionBegin;
  FSCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot read %s", listing);
  PetscCall(fs_st_writer_create(dir, (enum fs_dtype)def, max_shard, &w));
  while (read_entry(f, name, dt, &ndim, shape, &x)) {
    PetscCall(fs_st_writer_add_as(w, name, (enum fs_dtype)fs_st_dtype_from_name(dt), ndim, shape, x));
    free(x);
  }
  fclose(f);
  PetscCall(fs_st_writer_finish(&w));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static json_t *kv_json(const struct fs_gguf *g, const struct fs_gguf_kv *kv)
{
  json_t *v = NULL;
  if (kv->type == FS_GGUF_STRING) v = json_stringn(kv->str, kv->str_len);
  else if (kv->type == FS_GGUF_FLOAT32 || kv->type == FS_GGUF_FLOAT64) v = json_real(kv->v.f);
  else if (kv->type == FS_GGUF_BOOL) v = json_boolean(kv->v.u);
  else if (kv->type != FS_GGUF_ARRAY) {
    int64_t i;
    if (fs_gguf_get_int(g, kv->key, &i) == 0) v = json_integer(i);
  } else if (kv->arr_type == FS_GGUF_STRING) {
    v = json_array();
    for (uint64_t i = 0; i < kv->n; i++) json_array_append_new(v, json_stringn(kv->strs[i], kv->strs_len[i]));
  } else if (kv->arr_type == FS_GGUF_FLOAT32 || kv->arr_type == FS_GGUF_FLOAT64) {
    double *x;
    int64_t n;
    if (fs_gguf_get_float_array(g, kv->key, &n, &x) == 0) {
      v = json_array();
      for (int64_t i = 0; i < n; i++) json_array_append_new(v, json_real(x[i]));
      free(x);
    }
  } else if (kv->arr_type != FS_GGUF_ARRAY) {
    int64_t *x, n;
    if (fs_gguf_get_int_array(g, kv->key, &n, &x) == 0) {
      v = json_array();
      for (int64_t i = 0; i < n; i++) json_array_append_new(v, json_integer(x[i]));
      free(x);
    }
  }
  json_t *o = json_object();
  json_object_set_new(o, "type", json_string(fs_gguf_type_name(kv->type)));
  if (kv->type == FS_GGUF_ARRAY) json_object_set_new(o, "elem", json_string(fs_gguf_type_name(kv->arr_type)));
  json_object_set_new(o, "value", v ? v : json_null());
  return o;
}

static PetscErrorCode gguf_dump(const char *path, const char *dir)
{
  struct fs_gguf *g;
  char p[4200];
  FILE *lst;
  json_t *meta = json_object();

  PetscFunctionBegin;
  PetscCall(fs_gguf_open(path, &g));
  for (int64_t i = 0; i < g->n_kv; i++) json_object_set_new(meta, g->kv[i].key, kv_json(g, &g->kv[i]));
  json_object_set_new(meta, "__version__", json_integer(g->version));
  snprintf(p, sizeof p, "%s/meta.json", dir);
  FSCheck(json_dump_file(meta, p, JSON_INDENT(1)) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write %s", p);
  json_decref(meta);
  snprintf(p, sizeof p, "%s/list.txt", dir);
  lst = fopen(p, "w");
  FSCheck(lst, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s", p);
  for (int64_t k = 0; k < g->n_tensors; k++) {
    const struct fs_gguf_tensor *t = &g->tensors[k];
    float *x;
    fprintf(lst, "%s %s %d", t->name, fs_ggml_type_name(t->type), t->ndim);
    for (int d = 0; d < t->ndim; d++) fprintf(lst, " %" PRId64, t->shape[d]);
    fprintf(lst, "\n");
    FSMalloc((size_t)t->n_elem * 4 + 4, &x);
    PetscCall(fs_gguf_read_tensor_f32(g, t->name, t->n_elem, x));
    if (strcmp(dir, "-")) PetscCall(write_f32(dir, k, x, t->n_elem));
    free(x);
  }
  fclose(lst);
  PetscCall(fs_gguf_close(&g));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode gguf_write(const char *listing, const char *path)
{
  struct fs_gguf_writer *w;
  FILE *f = fopen(listing, "r");
  char name[1024], dt[32];
  int ndim;
  int64_t shape[8];
  float *x;
  static const char *const toks[] = {"<unk>", "hello", "\xc4\xa0world", "", "\xe2\x96\x81\xe6\x97\xa5"};
  static const int32_t ia[] = {1, -2, 3, 2147483647};
  static const float fa[] = {0.5f, -1.25f, 3.0e-8f};

  PetscFunctionBegin;
  FSCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot read %s", listing);
  PetscCall(fs_gguf_writer_create(path, &w));
  PetscCall(fs_gguf_writer_set_string(w, "general.architecture", "llama"));
  PetscCall(fs_gguf_writer_set_string(w, "general.name", "caf\xc3\xa9 test"));
  PetscCall(fs_gguf_writer_set_uint32(w, "llama.block_count", 7));
  PetscCall(fs_gguf_writer_set_int32(w, "test.int32", -123456));
  PetscCall(fs_gguf_writer_set_uint64(w, "test.uint64", 1ull << 40));
  PetscCall(fs_gguf_writer_set_float32(w, "llama.rope.freq_base", 10000.5f));
  PetscCall(fs_gguf_writer_set_bool(w, "test.bool", 1));
  PetscCall(fs_gguf_writer_set_string_array(w, "tokenizer.ggml.tokens", 5, toks));
  PetscCall(fs_gguf_writer_set_array(w, "test.int32_array", FS_GGUF_INT32, 4, ia));
  PetscCall(fs_gguf_writer_set_array(w, "tokenizer.ggml.scores", FS_GGUF_FLOAT32, 3, fa));
  while (read_entry(f, name, dt, &ndim, shape, &x)) {
    int type = !strcmp(dt, "F16") ? FS_GGML_F16 : !strcmp(dt, "BF16") ? FS_GGML_BF16 : FS_GGML_F32;
    PetscCall(fs_gguf_writer_add_tensor(w, name, type, ndim, shape, x));
    free(x);
  }
  fclose(f);
  PetscCall(fs_gguf_writer_finish(&w));
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv)
{
  PetscErrorCode ierr = 1;
  char **args = argv;
  int nargs = argc;

  /* our arguments are positional: keep them away from PETSc's options parser */
  PetscInitializeNoArguments();
  if (nargs >= 4 && !strcmp(args[1], "st-dump")) ierr = st_dump(args[2], args[3]);
  else if (nargs >= 6 && !strcmp(args[1], "st-write")) ierr = st_write(args[2], args[3], args[4], (size_t)atoll(args[5]));
  else if (nargs >= 4 && !strcmp(args[1], "gguf-dump")) ierr = gguf_dump(args[2], args[3]);
  else if (nargs >= 4 && !strcmp(args[1], "gguf-write")) ierr = gguf_write(args[2], args[3]);
  else fprintf(stderr, "usage: formats_tool st-dump|st-write|gguf-dump|gguf-write ARGS (see the source)\n");
  PetscFinalize();
  return ierr ? 1 : 0;
}
