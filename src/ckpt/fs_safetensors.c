/* fs_safetensors.c -- the validating mmap reader of one safetensors file (fs_safetensors.h) */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "fs_safetensors.h"
#include "fs_file.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "fs_safetensors.c reads little-endian data in bulk: port it before using a big-endian host"
#endif

/* every dtype the format defines, so that any valid file lists; dtype -1 = cannot convert to fp32 */
static const struct {
  const char *name;
  int dtype;
  size_t size;
} st_dtypes[] = {
  {"F32", FS_DTYPE_F32, 4}, {"BF16", FS_DTYPE_BF16, 2}, {"F16", FS_DTYPE_F16, 2}, {"I32", FS_DTYPE_I32, 4},
  {"I64", FS_DTYPE_I64, 8}, {"U16", FS_DTYPE_U16, 2},   {"U8", FS_DTYPE_U8, 1},   {"F64", -1, 8},
  {"I8", -1, 1},            {"I16", -1, 2},             {"U32", -1, 4},           {"U64", -1, 8},
  {"BOOL", -1, 1},          {"F8_E4M3", -1, 1},         {"F8_E5M2", -1, 1},
};
#define N_ST_DTYPES (sizeof st_dtypes / sizeof *st_dtypes)

int fs_st_dtype_from_name(const char *name)
{
  for (size_t i = 0; i < N_ST_DTYPES; i++)
    if (!strcmp(st_dtypes[i].name, name)) return st_dtypes[i].dtype;
  return -1;
}

const char *fs_st_dtype_to_name(int dtype)
{
  for (size_t i = 0; i < N_ST_DTYPES; i++)
    if (st_dtypes[i].dtype >= 0 && st_dtypes[i].dtype == dtype) return st_dtypes[i].name;
  return NULL;
}

static size_t st_dtype_size(const char *name)
{
  for (size_t i = 0; i < N_ST_DTYPES; i++)
    if (!strcmp(st_dtypes[i].name, name)) return st_dtypes[i].size;
  return 0;
}

static int cmp_offset(const void *a, const void *b)
{
  const struct fs_st_tensor *x = *(const struct fs_st_tensor *const *)a, *y = *(const struct fs_st_tensor *const *)b;
  return x->offset < y->offset ? -1 : x->offset > y->offset ? 1 : (x->n_bytes > y->n_bytes) - (x->n_bytes < y->n_bytes);
}

/* one JSON non-negative integer */
static PetscErrorCode get_u64(const char *path, const char *name, const char *what, json_t *v, uint64_t *out)
{
  PetscFunctionBegin;
  FSCheck(json_is_integer(v) && json_integer_value(v) >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "safetensors file %s: tensor '%s': %s must be non-negative integers (corrupt or foreign header)", path,
          name, what);
  *out = (uint64_t)json_integer_value(v);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode parse_tensor(struct fs_safetensors *st, const char *name, json_t *v, size_t data_bytes,
                                   struct fs_st_tensor *t)
{
  const char *path = st->path;
  json_t *dt, *shape, *offs;
  uint64_t begin = 0, end = 0, n = 1;

  PetscFunctionBegin;
  t->file = st->path;
  t->name = strdup(name);
  FSCheck(t->name, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory");
  FSCheck(json_is_object(v), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "safetensors file %s: tensor '%s' is not a JSON object {dtype, shape, data_offsets}", path, name);
  dt = json_object_get(v, "dtype");
  shape = json_object_get(v, "shape");
  offs = json_object_get(v, "data_offsets");
  FSCheck(json_is_string(dt) && json_is_array(shape) && json_is_array(offs), PETSC_COMM_SELF,
          PETSC_ERR_FILE_UNEXPECTED,
          "safetensors file %s: tensor '%s' needs \"dtype\" (string), \"shape\" (array) and \"data_offsets\" (array)",
          path, name);
  FSCheck(st_dtype_size(json_string_value(dt)) > 0 && strlen(json_string_value(dt)) < sizeof t->dtype_name,
          PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "safetensors file %s: tensor '%s': unknown dtype \"%s\"", path,
          name, json_string_value(dt));
  strcpy(t->dtype_name, json_string_value(dt));
  t->dtype = fs_st_dtype_from_name(t->dtype_name);
  FSCheck(json_array_size(shape) <= FS_ST_MAX_NDIM, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "safetensors file %s: tensor '%s' has %zu dimensions (at most %d supported)", path, name,
          json_array_size(shape), FS_ST_MAX_NDIM);
  t->ndim = (int)json_array_size(shape);
  for (int d = 0; d < t->ndim; d++) {
    uint64_t s = 0;
    PetscCall(get_u64(path, name, "shape entries", json_array_get(shape, (size_t)d), &s));
    /* the product is bounded by the data area, so an overflow is a corrupt header */
    FSCheck(s == 0 || n <= (uint64_t)INT64_MAX / s, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
            "safetensors file %s: tensor '%s': the shape's element count overflows", path, name);
    n *= s;
    t->shape[d] = (int64_t)s;
  }
  t->n_elem = (int64_t)n;
  FSCheck(json_array_size(offs) == 2, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "safetensors file %s: tensor '%s': data_offsets must be [begin, end]", path, name);
  PetscCall(get_u64(path, name, "data_offsets", json_array_get(offs, 0), &begin));
  PetscCall(get_u64(path, name, "data_offsets", json_array_get(offs, 1), &end));
  FSCheck(begin <= end && end <= data_bytes, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "safetensors file %s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] are not inside the data area "
          "of %zu bytes (truncated file?)",
          path, name, begin, end, data_bytes);
  t->offset = (size_t)begin;
  t->n_bytes = (size_t)(end - begin);
  FSCheck(n <= SIZE_MAX / 8 && n * st_dtype_size(t->dtype_name) == t->n_bytes, PETSC_COMM_SELF,
          PETSC_ERR_FILE_UNEXPECTED,
          "safetensors file %s: tensor '%s': %" PRIu64 " elements of %s need %" PRIu64
          " bytes but data_offsets span %zu",
          path, name, n, t->dtype_name, n * st_dtype_size(t->dtype_name), t->n_bytes);
  t->data = (const char *)st->map + st->data_start + t->offset;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode parse_metadata(struct fs_safetensors *st, json_t *meta)
{
  const char *k;
  json_t *v;
  int i = 0;

  PetscFunctionBegin;
  FSCheck(json_is_object(meta), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "safetensors file %s: \"__metadata__\" must be an object of strings", st->path);
  FSCalloc(json_object_size(meta) * sizeof(char *) + 1, &st->meta_keys);
  FSCalloc(json_object_size(meta) * sizeof(char *) + 1, &st->meta_values);
  json_object_foreach(meta, k, v)
  {
    FSCheck(json_is_string(v), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
            "safetensors file %s: \"__metadata__\" entry \"%s\" is not a string", st->path, k);
    st->meta_keys[i] = strdup(k);
    st->meta_values[i] = strdup(json_string_value(v));
    FSCheck(st->meta_keys[i] && st->meta_values[i], PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory");
    st->n_meta = ++i;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode parse_header(struct fs_safetensors *st)
{
  uint64_t hlen;
  size_t data_bytes;
  json_error_t jerr;
  json_t *root = NULL, *v;
  const char *k;
  PetscErrorCode ierr = PETSC_SUCCESS;
  struct fs_st_tensor **by_off = NULL;

  PetscFunctionBegin;
  FSCheck(st->map_bytes >= 8, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "safetensors file %s: %zu bytes, too short for the 8-byte header length (truncated or not safetensors)",
          st->path, st->map_bytes);
  memcpy(&hlen, st->map, 8);
  FSCheck(hlen <= FS_ST_MAX_HEADER_BYTES && hlen <= st->map_bytes - 8, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "safetensors file %s: header length %" PRIu64 " does not fit in the file of %zu bytes (limit %u): the "
          "file is truncated or not a safetensors file",
          st->path, hlen, st->map_bytes, (unsigned)FS_ST_MAX_HEADER_BYTES);
  st->data_start = 8 + (size_t)hlen;
  data_bytes = st->map_bytes - st->data_start;
  root = json_loadb((const char *)st->map + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
  FSCheck(root, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "safetensors file %s: the JSON header does not parse: %s (line %d, column %d)", st->path, jerr.text,
          jerr.line, jerr.column);
  if (!json_is_object(root)) {
    json_decref(root);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "safetensors file %s: the JSON header is not an object",
            st->path);
  }
  st->n_tensors = (int)json_object_size(root) - (json_object_get(root, "__metadata__") != NULL);
  ierr = fs_calloc_((size_t)st->n_tensors * sizeof *st->tensors + 1, (void **)&st->tensors, "tensors");
  if (!ierr) ierr = fs_calloc_((size_t)st->n_tensors * sizeof *by_off + 1, (void **)&by_off, "by_off");
  int i = 0;
  json_object_foreach(root, k, v)
  {
    if (ierr) break;
    if (!strcmp(k, "__metadata__")) ierr = parse_metadata(st, v);
    else {
      ierr = parse_tensor(st, k, v, data_bytes, &st->tensors[i]);
      by_off[i] = &st->tensors[i];
      i++;
    }
  }
  json_decref(root);
  if (ierr) free(by_off);
  PetscCall(ierr);
  /* offsets need not be in name order, but sorted by offset each tensor must end before the next begins */
  qsort(by_off, (size_t)st->n_tensors, sizeof *by_off, cmp_offset);
  for (int j = 1; j < st->n_tensors; j++) {
    if (by_off[j - 1]->offset + by_off[j - 1]->n_bytes > by_off[j]->offset) {
      const struct fs_st_tensor *a = by_off[j - 1], *b = by_off[j];
      free(by_off);
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
              "safetensors file %s: tensors '%s' [%zu, %zu) and '%s' [%zu, %zu) overlap (corrupt header)", st->path,
              a->name, a->offset, a->offset + a->n_bytes, b->name, b->offset, b->offset + b->n_bytes);
    }
  }
  free(by_off);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_safetensors_open(const char *path, struct fs_safetensors **out)
{
  struct fs_safetensors *st;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  *out = NULL;
  FSCalloc(sizeof *st, &st);
  st->path = strdup(path);
  ierr = fs_map_file(path, "safetensors file", &st->map, &st->map_bytes);
  if (!ierr) ierr = parse_header(st);
  if (ierr) {
    PetscCall(fs_safetensors_close(&st));
    PetscCall(ierr);
  }
  *out = st;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_safetensors_close(struct fs_safetensors **pst)
{
  struct fs_safetensors *st = *pst;

  PetscFunctionBegin;
  if (!st) PetscFunctionReturn(PETSC_SUCCESS);
  fs_unmap_file(st->map, st->map_bytes);
  for (int i = 0; i < st->n_tensors && st->tensors; i++) free(st->tensors[i].name);
  for (int i = 0; i < st->n_meta; i++) {
    free(st->meta_keys[i]);
    free(st->meta_values[i]);
  }
  free(st->meta_keys);
  free(st->meta_values);
  free(st->tensors);
  free(st->path);
  free(st);
  *pst = NULL;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_safetensors_find(const struct fs_safetensors *st, const char *name, const struct fs_st_tensor **t)
{
  PetscFunctionBegin;
  *t = NULL;
  for (int i = 0; i < st->n_tensors; i++)
    if (!strcmp(st->tensors[i].name, name)) {
      *t = &st->tensors[i];
      break;
    }
  PetscFunctionReturn(PETSC_SUCCESS);
}

const char *fs_safetensors_metadata(const struct fs_safetensors *st, const char *key)
{
  for (int i = 0; i < st->n_meta; i++)
    if (!strcmp(st->meta_keys[i], key)) return st->meta_values[i];
  return NULL;
}

PetscErrorCode fs_safetensors_read_f32(const struct fs_st_tensor *t, float *out)
{
  const unsigned char *p = t->data;
  int64_t n = t->n_elem;

  PetscFunctionBegin;
  /* the mapping need not be aligned for the element type: copy element by element through memcpy */
  switch (t->dtype) {
  case FS_DTYPE_F32: memcpy(out, p, (size_t)n * 4); break;
  case FS_DTYPE_BF16:
  case FS_DTYPE_F16:
    for (int64_t i = 0; i < n; i++) {
      uint16_t h;
      memcpy(&h, p + 2 * i, 2);
      out[i] = t->dtype == FS_DTYPE_BF16 ? fs_bf16_to_fp32(h) : fs_fp16_to_fp32(h);
    }
    break;
  case FS_DTYPE_I32:
    for (int64_t i = 0; i < n; i++) {
      int32_t v;
      memcpy(&v, p + 4 * i, 4);
      out[i] = (float)v;
    }
    break;
  case FS_DTYPE_I64:
    for (int64_t i = 0; i < n; i++) {
      int64_t v;
      memcpy(&v, p + 8 * i, 8);
      out[i] = (float)v;
    }
    break;
  case FS_DTYPE_U16:
    for (int64_t i = 0; i < n; i++) {
      uint16_t v;
      memcpy(&v, p + 2 * i, 2);
      out[i] = (float)v;
    }
    break;
  case FS_DTYPE_U8:
    for (int64_t i = 0; i < n; i++) out[i] = (float)p[i];
    break;
  default:
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_SUP,
            "safetensors file %s: tensor '%s' has dtype %s, which cannot be converted to fp32 here (supported: F32, "
            "BF16, F16, I32, I64, U16, U8)",
            t->file, t->name, t->dtype_name);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
