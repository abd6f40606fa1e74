/* fs_gguf_meta.c -- typed metadata getters of the GGUF reader (fs_gguf.h) */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "fs_gguf.h"

static PetscErrorCode find(const struct fs_gguf *g, const char *key, const struct fs_gguf_kv **kv)
{
  PetscFunctionBegin;
  *kv = fs_gguf_find_kv(g, key);
  FSCheck(*kv, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "GGUF file %s has no metadata key '%s'", g->path, key);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static int is_int_type(int t)
{
  return t == FS_GGUF_UINT8 || t == FS_GGUF_INT8 || t == FS_GGUF_UINT16 || t == FS_GGUF_INT16 ||
         t == FS_GGUF_UINT32 || t == FS_GGUF_INT32 || t == FS_GGUF_UINT64 || t == FS_GGUF_INT64 || t == FS_GGUF_BOOL;
}

static int is_signed(int t) { return t == FS_GGUF_INT8 || t == FS_GGUF_INT16 || t == FS_GGUF_INT32 || t == FS_GGUF_INT64; }

/* element i of a numeric array (or the scalar) as int64 / double */
static int64_t elem_i64(int t, const void *arr, uint64_t i)
{
  const unsigned char *p = arr;
  switch (t) {
  case FS_GGUF_UINT8:
  case FS_GGUF_BOOL: return p[i];
  case FS_GGUF_INT8: return (int8_t)p[i];
  case FS_GGUF_UINT16: { uint16_t v; memcpy(&v, p + 2 * i, 2); return v; }
  case FS_GGUF_INT16: { int16_t v; memcpy(&v, p + 2 * i, 2); return v; }
  case FS_GGUF_UINT32: { uint32_t v; memcpy(&v, p + 4 * i, 4); return v; }
  case FS_GGUF_INT32: { int32_t v; memcpy(&v, p + 4 * i, 4); return v; }
  default: { int64_t v; memcpy(&v, p + 8 * i, 8); return v; } /* UINT64 (checked by the caller), INT64 */
  }
}

static double elem_f64(int t, const void *arr, uint64_t i)
{
  const unsigned char *p = arr;
  if (t == FS_GGUF_FLOAT32) { float v; memcpy(&v, p + 4 * i, 4); return v; }
  if (t == FS_GGUF_FLOAT64) { double v; memcpy(&v, p + 8 * i, 8); return v; }
  if (t == FS_GGUF_UINT64) { uint64_t v; memcpy(&v, p + 8 * i, 8); return (double)v; }
  return (double)elem_i64(t, arr, i);
}

PetscErrorCode fs_gguf_get_string(const struct fs_gguf *g, const char *key, const char **value)
{
  const struct fs_gguf_kv *kv;

  PetscFunctionBegin;
  PetscCall(find(g, key, &kv));
  FSCheck(kv->type == FS_GGUF_STRING, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
          "GGUF file %s: key '%s' is a %s, not a string", g->path, key, fs_gguf_type_name(kv->type));
  *value = kv->str;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_gguf_get_int(const struct fs_gguf *g, const char *key, int64_t *value)
{
  const struct fs_gguf_kv *kv;

  PetscFunctionBegin;
  PetscCall(find(g, key, &kv));
  FSCheck(is_int_type(kv->type), PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
          "GGUF file %s: key '%s' is a %s, not an integer", g->path, key, fs_gguf_type_name(kv->type));
  FSCheck(kv->type != FS_GGUF_UINT64 || kv->v.u <= (uint64_t)INT64_MAX, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
          "GGUF file %s: key '%s' = %" PRIu64 " does not fit int64", g->path, key, kv->v.u);
  *value = is_signed(kv->type) ? kv->v.i : (int64_t)kv->v.u;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_gguf_get_float(const struct fs_gguf *g, const char *key, double *value)
{
  const struct fs_gguf_kv *kv;

  PetscFunctionBegin;
  PetscCall(find(g, key, &kv));
  if (kv->type == FS_GGUF_FLOAT32 || kv->type == FS_GGUF_FLOAT64) *value = kv->v.f;
  else if (is_int_type(kv->type)) *value = is_signed(kv->type) ? (double)kv->v.i : (double)kv->v.u;
  else
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "GGUF file %s: key '%s' is a %s, not a number", g->path, key,
            fs_gguf_type_name(kv->type));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_gguf_get_string_array(const struct fs_gguf *g, const char *key, int64_t *n, char *const **values)
{
  const struct fs_gguf_kv *kv;

  PetscFunctionBegin;
  PetscCall(find(g, key, &kv));
  FSCheck(kv->type == FS_GGUF_ARRAY && kv->arr_type == FS_GGUF_STRING, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
          "GGUF file %s: key '%s' is not an array of strings (%s of %s)", g->path, key, fs_gguf_type_name(kv->type),
          kv->type == FS_GGUF_ARRAY ? fs_gguf_type_name(kv->arr_type) : "-");
  *n = (int64_t)kv->n;
  *values = kv->strs;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode numeric_array(const struct fs_gguf *g, const char *key, const struct fs_gguf_kv **kv)
{
  PetscFunctionBegin;
  PetscCall(find(g, key, kv));
  FSCheck((*kv)->type == FS_GGUF_ARRAY && (*kv)->arr, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
          "GGUF file %s: key '%s' is not an array of numbers (%s of %s)", g->path, key,
          fs_gguf_type_name((*kv)->type), (*kv)->type == FS_GGUF_ARRAY ? fs_gguf_type_name((*kv)->arr_type) : "-");
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_gguf_get_int_array(const struct fs_gguf *g, const char *key, int64_t *n, int64_t **values)
{
  const struct fs_gguf_kv *kv;

  PetscFunctionBegin;
  PetscCall(numeric_array(g, key, &kv));
  FSCheck(is_int_type(kv->arr_type), PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
          "GGUF file %s: key '%s' is an array of %s, not of integers", g->path, key,
          fs_gguf_type_name(kv->arr_type));
  FSMalloc(kv->n * sizeof(int64_t) + 1, values);
  for (uint64_t i = 0; i < kv->n; i++) (*values)[i] = elem_i64(kv->arr_type, kv->arr, i);
  *n = (int64_t)kv->n;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_gguf_get_float_array(const struct fs_gguf *g, const char *key, int64_t *n, double **values)
{
  const struct fs_gguf_kv *kv;

  PetscFunctionBegin;
  PetscCall(numeric_array(g, key, &kv));
  FSMalloc(kv->n * sizeof(double) + 1, values);
  for (uint64_t i = 0; i < kv->n; i++) (*values)[i] = elem_f64(kv->arr_type, kv->arr, i);
  *n = (int64_t)kv->n;
  PetscFunctionReturn(PETSC_SUCCESS);
}
