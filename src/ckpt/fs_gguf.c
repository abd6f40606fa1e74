/* fs_gguf.c -- the validating mmap reader of GGUF v2/v3 files (fs_gguf.h): every length, count, type and offset
 * is checked against the file before use, so a corrupt or truncated file gives a message, never a crash. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fs_gguf.h"
#include "fs_file.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "fs_gguf.c reads little-endian GGUF files in bulk: port it before using a big-endian host"
#endif

struct cursor {
  const unsigned char *p;
  size_t pos, end;
  const char *path;
};

static const char *const type_names[] = {"uint8", "int8",   "uint16", "int16", "uint32", "int32", "float32",
                                         "bool",  "string", "array",  "uint64", "int64", "float64"};

const char *fs_gguf_type_name(int type)
{
  return type >= 0 && type < FS_GGUF_TYPE_COUNT ? type_names[type] : "unknown";
}

static size_t scalar_size(int type)
{
  static const size_t sz[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
  return type >= 0 && type < FS_GGUF_TYPE_COUNT ? sz[type] : 0;
}

static PetscErrorCode need(struct cursor *c, size_t n, const char *what)
{
  PetscFunctionBegin;
  FSCheck(n <= c->end - c->pos, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "GGUF file %s: %s at byte %zu needs %zu bytes but the file ends at %zu (truncated or corrupt)", c->path,
          what, c->pos, n, c->end);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode rd(struct cursor *c, void *out, size_t n, const char *what)
{
  PetscFunctionBegin;
  PetscCall(need(c, n, what));
  memcpy(out, c->p + c->pos, n);
  c->pos += n;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* a GGUF string; *out = malloc'ed NUL-terminated copy when out is given */
static PetscErrorCode rd_string(struct cursor *c, char **out, uint64_t *len_out, const char *what)
{
  uint64_t len;

  PetscFunctionBegin;
  PetscCall(rd(c, &len, 8, what));
  FSCheck(len <= c->end - c->pos, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "GGUF file %s: %s at byte %zu has length %" PRIu64 ", past the end of the file (%zu bytes): corrupt",
          c->path, what, c->pos - 8, len, c->end);
  if (out) {
    FSMalloc(len + 1, out);
    memcpy(*out, c->p + c->pos, len);
    (*out)[len] = 0;
  }
  if (len_out) *len_out = len;
  c->pos += len;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode rd_scalar(struct cursor *c, int type, struct fs_gguf_kv *kv, const char *key)
{
  unsigned char b[8] = {0};
  size_t n = scalar_size(type);

  PetscFunctionBegin;
  PetscCall(rd(c, b, n, key));
  switch (type) {
  case FS_GGUF_UINT8: kv->v.u = b[0]; break;
  case FS_GGUF_INT8: kv->v.i = (int8_t)b[0]; break;
  case FS_GGUF_BOOL:
    FSCheck(b[0] <= 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "GGUF file %s: key '%s': bool value %d", c->path,
            key, b[0]);
    kv->v.u = b[0];
    break;
  case FS_GGUF_UINT16: { uint16_t v; memcpy(&v, b, 2); kv->v.u = v; } break;
  case FS_GGUF_INT16: { int16_t v; memcpy(&v, b, 2); kv->v.i = v; } break;
  case FS_GGUF_UINT32: { uint32_t v; memcpy(&v, b, 4); kv->v.u = v; } break;
  case FS_GGUF_INT32: { int32_t v; memcpy(&v, b, 4); kv->v.i = v; } break;
  case FS_GGUF_FLOAT32: { float v; memcpy(&v, b, 4); kv->v.f = v; } break;
  case FS_GGUF_UINT64: memcpy(&kv->v.u, b, 8); break;
  case FS_GGUF_INT64: memcpy(&kv->v.i, b, 8); break;
  case FS_GGUF_FLOAT64: memcpy(&kv->v.f, b, 8); break;
  default: break;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* skips (validating) an array nested in an array: only its bounds matter, the getters refuse it */
static PetscErrorCode skip_array(struct cursor *c, const char *key, int depth)
{
  uint32_t et;
  uint64_t n;

  PetscFunctionBegin;
  FSCheck(depth < 8, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "GGUF file %s: key '%s': arrays nested too deep",
          c->path, key);
  PetscCall(rd(c, &et, 4, key));
  PetscCall(rd(c, &n, 8, key));
  FSCheck(et < FS_GGUF_TYPE_COUNT, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "GGUF file %s: key '%s': unknown array element type %u", c->path, key, et);
  if (et == FS_GGUF_STRING || et == FS_GGUF_ARRAY) {
    FSCheck(n <= (c->end - c->pos) / 8, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
            "GGUF file %s: key '%s': %" PRIu64 " array elements cannot fit in the file", c->path, key, n);
    for (uint64_t i = 0; i < n; i++) {
      if (et == FS_GGUF_STRING) PetscCall(rd_string(c, NULL, NULL, key));
      else PetscCall(skip_array(c, key, depth + 1));
    }
  } else {
    FSCheck(n <= (c->end - c->pos) / scalar_size((int)et), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
            "GGUF file %s: key '%s': %" PRIu64 " array elements run past the end of the file", c->path, key, n);
    c->pos += n * scalar_size((int)et);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode rd_kv(struct cursor *c, struct fs_gguf_kv *kv, int64_t index)
{
  uint32_t type;
  char what[64];

  PetscFunctionBegin;
  snprintf(what, sizeof what, "key %" PRId64, index);
  PetscCall(rd_string(c, &kv->key, NULL, what));
  PetscCall(rd(c, &type, 4, kv->key));
  FSCheck(type < FS_GGUF_TYPE_COUNT, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "GGUF file %s: key '%s' has unknown value type %u (corrupt, or a newer GGUF)", c->path, kv->key, type);
  kv->type = (int)type;
  kv->n = 1;
  if (type == FS_GGUF_STRING) PetscCall(rd_string(c, &kv->str, &kv->str_len, kv->key));
  else if (type != FS_GGUF_ARRAY) PetscCall(rd_scalar(c, (int)type, kv, kv->key));
  else {
    uint32_t et;
    size_t start = c->pos;
    PetscCall(rd(c, &et, 4, kv->key));
    PetscCall(rd(c, &kv->n, 8, kv->key));
    FSCheck(et < FS_GGUF_TYPE_COUNT, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
            "GGUF file %s: key '%s': unknown array element type %u", c->path, kv->key, et);
    kv->arr_type = (int)et;
    if (et == FS_GGUF_STRING) {
      /* each string takes at least its 8-byte length: bounds the allocation before reading */
      FSCheck(kv->n <= (c->end - c->pos) / 8, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
              "GGUF file %s: key '%s': %" PRIu64 " strings cannot fit in the file", c->path, kv->key, kv->n);
      FSCalloc(kv->n * sizeof(char *) + 1, &kv->strs);
      FSCalloc(kv->n * sizeof(uint64_t) + 1, &kv->strs_len);
      for (uint64_t i = 0; i < kv->n; i++) PetscCall(rd_string(c, &kv->strs[i], &kv->strs_len[i], kv->key));
    } else if (et == FS_GGUF_ARRAY) {
      c->pos = start;
      PetscCall(skip_array(c, kv->key, 0));
    } else {
      size_t es = scalar_size((int)et);
      FSCheck(kv->n <= (c->end - c->pos) / es, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
              "GGUF file %s: key '%s': %" PRIu64 " array elements of %s run past the end of the file", c->path,
              kv->key, kv->n, type_names[et]);
      kv->arr = c->p + c->pos;
      c->pos += kv->n * es;
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode rd_tensor_info(struct cursor *c, struct fs_gguf_tensor *t, int64_t index)
{
  uint32_t nd, type;
  char what[64];
  int64_t n = 1;

  PetscFunctionBegin;
  snprintf(what, sizeof what, "tensor info %" PRId64, index);
  PetscCall(rd_string(c, &t->name, NULL, what));
  PetscCall(rd(c, &nd, 4, t->name));
  FSCheck(nd >= 1 && nd <= FS_GGUF_MAX_DIMS, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "GGUF file %s: tensor '%s' has %u dimensions (1..%d allowed)", c->path, t->name, nd, FS_GGUF_MAX_DIMS);
  t->ndim = (int)nd;
  for (int d = 0; d < FS_GGUF_MAX_DIMS; d++) t->ne[d] = t->shape[d] = 1;
  for (uint32_t d = 0; d < nd; d++) {
    uint64_t v;
    PetscCall(rd(c, &v, 8, t->name));
    FSCheck(v <= (uint64_t)INT64_MAX && (v == 0 || (uint64_t)n <= (uint64_t)INT64_MAX / v), PETSC_COMM_SELF,
            PETSC_ERR_FILE_UNEXPECTED, "GGUF file %s: tensor '%s': dimension %u = %" PRIu64 " overflows", c->path,
            t->name, d, v);
    t->ne[d] = (int64_t)v;
    n *= (int64_t)v;
  }
  for (int d = 0; d < t->ndim; d++) t->shape[d] = t->ne[t->ndim - 1 - d];
  t->n_elem = n;
  PetscCall(rd(c, &type, 4, t->name));
  PetscCall(rd(c, &t->offset, 8, t->name));
  t->type = (int)type;
  FSCheck(fs_ggml_block_elems((int)type) > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "GGUF file %s: tensor '%s' has unknown ggml type %u", c->path, t->name, type);
  FSCheck(t->ne[0] % fs_ggml_block_elems((int)type) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "GGUF file %s: tensor '%s': ne[0] = %" PRId64 " is not a multiple of the %s block size %" PRId64, c->path,
          t->name, t->ne[0], fs_ggml_type_name((int)type), fs_ggml_block_elems((int)type));
  /* n_elem <= file size * block_elems in any valid file, so this cannot overflow for a file that fits */
  FSCheck((uint64_t)(n / fs_ggml_block_elems((int)type)) <= c->end / fs_ggml_block_bytes((int)type) + 1,
          PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "GGUF file %s: tensor '%s' of %" PRId64 " elements cannot fit in a file of %zu bytes", c->path, t->name, n,
          c->end);
  t->n_bytes = (size_t)(n / fs_ggml_block_elems((int)type)) * fs_ggml_block_bytes((int)type);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static int cmp_offset(const void *a, const void *b)
{
  const struct fs_gguf_tensor *x = *(const struct fs_gguf_tensor *const *)a,
                              *y = *(const struct fs_gguf_tensor *const *)b;
  return (x->offset > y->offset) - (x->offset < y->offset);
}

static int cmp_name(const void *a, const void *b)
{
  return strcmp((*(const struct fs_gguf_tensor *const *)a)->name, (*(const struct fs_gguf_tensor *const *)b)->name);
}

static PetscErrorCode parse(struct fs_gguf *g)
{
  struct cursor c = {g->map, 0, g->map_bytes, g->path};
  char magic[4];
  uint64_t n_tensors, n_kv;
  const struct fs_gguf_kv *al;
  struct fs_gguf_tensor **by_off;
  PetscErrorCode ierr = PETSC_SUCCESS;

  PetscFunctionBegin;
  PetscCall(rd(&c, magic, 4, "the magic"));
  FSCheck(!memcmp(magic, FS_GGUF_MAGIC, 4), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "%s is not a GGUF file (magic %02x %02x %02x %02x, expected \"GGUF\")", g->path, (unsigned char)magic[0],
          (unsigned char)magic[1], (unsigned char)magic[2], (unsigned char)magic[3]);
  PetscCall(rd(&c, &g->version, 4, "the version"));
  FSCheck(g->version == 2 || g->version == 3, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "GGUF file %s has version %u; versions 2 and 3 are supported%s", g->path, g->version,
          g->version == 1 ? " (convert v1 files with a current llama.cpp)" : " (big-endian or corrupt file?)");
  PetscCall(rd(&c, &n_tensors, 8, "the tensor count"));
  PetscCall(rd(&c, &n_kv, 8, "the key count"));
  /* a key takes at least 12 bytes, a tensor info at least 28: bounds the allocations by the file size */
  FSCheck(n_kv <= g->map_bytes / 12 && n_tensors <= g->map_bytes / 28, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "GGUF file %s: %" PRIu64 " keys and %" PRIu64 " tensors cannot fit in %zu bytes (corrupt header)", g->path,
          n_kv, n_tensors, g->map_bytes);
  FSCalloc(n_kv * sizeof *g->kv + 1, &g->kv);
  FSCalloc(n_tensors * sizeof *g->tensors + 1, &g->tensors);
  for (uint64_t i = 0; i < n_kv; i++) {
    g->n_kv = (int64_t)i + 1;
    PetscCall(rd_kv(&c, &g->kv[i], (int64_t)i));
    for (uint64_t j = 0; j < i; j++)
      FSCheck(strcmp(g->kv[j].key, g->kv[i].key), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
              "GGUF file %s: key '%s' appears twice", g->path, g->kv[i].key);
  }
  g->alignment = FS_GGUF_DEFAULT_ALIGNMENT;
  if ((al = fs_gguf_find_kv(g, "general.alignment"))) {
    FSCheck(al->type == FS_GGUF_UINT32 && al->v.u > 0 && (al->v.u & (al->v.u - 1)) == 0, PETSC_COMM_SELF,
            PETSC_ERR_FILE_UNEXPECTED, "GGUF file %s: general.alignment must be a uint32 power of two", g->path);
    g->alignment = (uint32_t)al->v.u;
  }
  for (uint64_t i = 0; i < n_tensors; i++) {
    g->n_tensors = (int64_t)i + 1;
    PetscCall(rd_tensor_info(&c, &g->tensors[i], (int64_t)i));
  }
  g->data_start = (c.pos + g->alignment - 1) / g->alignment * g->alignment;
  FSCheck(g->data_start <= g->map_bytes || n_tensors == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "GGUF file %s: the data area would start at byte %zu, past the end of the file (%zu bytes): truncated",
          g->path, g->data_start, g->map_bytes);
  FSMalloc(n_tensors * sizeof *by_off + 1, &by_off);
  for (uint64_t i = 0; i < n_tensors; i++) {
    struct fs_gguf_tensor *t = &g->tensors[i];
    size_t avail = g->map_bytes > g->data_start ? g->map_bytes - g->data_start : 0;
    by_off[i] = t;
    if (t->offset % g->alignment) {
      ierr = PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_FILE_UNEXPECTED,
                        PETSC_ERROR_INITIAL, "GGUF file %s: tensor '%s': offset %" PRIu64 " is not a multiple of the "
                        "alignment %u", g->path, t->name, t->offset, g->alignment);
      break;
    }
    if (t->offset > avail || t->n_bytes > avail - t->offset) {
      ierr = PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_FILE_UNEXPECTED,
                        PETSC_ERROR_INITIAL, "GGUF file %s: tensor '%s' (%s, %zu bytes at data offset %" PRIu64
                        ") runs past the end of the file (%zu data bytes): truncated download?",
                        g->path, t->name, fs_ggml_type_name(t->type), t->n_bytes, t->offset, avail);
      break;
    }
    t->data = (const char *)g->map + g->data_start + t->offset;
  }
  if (!ierr) {
    qsort(by_off, (size_t)n_tensors, sizeof *by_off, cmp_offset);
    for (uint64_t i = 1; i < n_tensors && !ierr; i++)
      if (by_off[i - 1]->offset + by_off[i - 1]->n_bytes > by_off[i]->offset)
        ierr = PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_FILE_UNEXPECTED,
                          PETSC_ERROR_INITIAL, "GGUF file %s: tensors '%s' and '%s' overlap (corrupt offsets)",
                          g->path, by_off[i - 1]->name, by_off[i]->name);
  }
  if (!ierr) {
    qsort(by_off, (size_t)n_tensors, sizeof *by_off, cmp_name);
    for (uint64_t i = 1; i < n_tensors && !ierr; i++)
      if (!strcmp(by_off[i - 1]->name, by_off[i]->name))
        ierr = PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_FILE_UNEXPECTED,
                          PETSC_ERROR_INITIAL, "GGUF file %s: tensor '%s' appears twice", g->path, by_off[i]->name);
  }
  free(by_off);
  PetscCall(ierr);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_gguf_open(const char *path, struct fs_gguf **out)
{
  struct fs_gguf *g;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  *out = NULL;
  FSCalloc(sizeof *g, &g);
  g->path = strdup(path);
  ierr = fs_map_file(path, "GGUF file", &g->map, &g->map_bytes);
  if (!ierr) ierr = parse(g);
  if (ierr) {
    PetscCall(fs_gguf_close(&g));
    PetscCall(ierr);
  }
  *out = g;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_gguf_close(struct fs_gguf **pg)
{
  struct fs_gguf *g = *pg;

  PetscFunctionBegin;
  if (!g) PetscFunctionReturn(PETSC_SUCCESS);
  for (int64_t i = 0; i < g->n_kv; i++) {
    struct fs_gguf_kv *kv = &g->kv[i];
    free(kv->key);
    free(kv->str);
    if (kv->strs)
      for (uint64_t j = 0; j < kv->n; j++) free(kv->strs[j]);
    free(kv->strs);
    free(kv->strs_len);
  }
  for (int64_t i = 0; i < g->n_tensors; i++) free(g->tensors[i].name);
  free(g->kv);
  free(g->tensors);
  fs_unmap_file(g->map, g->map_bytes);
  free(g->path);
  free(g);
  *pg = NULL;
  PetscFunctionReturn(PETSC_SUCCESS);
}

const struct fs_gguf_kv *fs_gguf_find_kv(const struct fs_gguf *g, const char *key)
{
  for (int64_t i = 0; i < g->n_kv; i++)
    if (!strcmp(g->kv[i].key, key)) return &g->kv[i];
  return NULL;
}

const struct fs_gguf_tensor *fs_gguf_find_tensor(const struct fs_gguf *g, const char *name)
{
  for (int64_t i = 0; i < g->n_tensors; i++)
    if (!strcmp(g->tensors[i].name, name)) return &g->tensors[i];
  return NULL;
}

PetscErrorCode fs_gguf_read_f32(const struct fs_gguf *g, const struct fs_gguf_tensor *t, float *out)
{
  PetscFunctionBegin;
  FSCheck(fs_ggml_type_supported(t->type), PETSC_COMM_SELF, PETSC_ERR_SUP,
          "GGUF file %s: tensor '%s' has type %s, which cannot be dequantized here (supported: F32 F16 BF16 Q4_0 "
          "Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K Q8_K and integers)",
          g->path, t->name, fs_ggml_type_name(t->type));
  PetscCall(fs_gguf_dequantize(out, t->type, t->data, t->n_elem));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_gguf_read_tensor_f32(const struct fs_gguf *g, const char *name, int64_t n_elem, float *out)
{
  const struct fs_gguf_tensor *t = fs_gguf_find_tensor(g, name);

  PetscFunctionBegin;
  FSCheck(t, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "GGUF file %s has no tensor '%s'", g->path, name);
  FSCheck(t->n_elem == n_elem, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ,
          "GGUF file %s: tensor '%s' has %" PRId64 " elements, %" PRId64 " expected (wrong model config?)", g->path,
          name, t->n_elem, n_elem);
  PetscCall(fs_gguf_read_f32(g, t, out));
  PetscFunctionReturn(PETSC_SUCCESS);
}
