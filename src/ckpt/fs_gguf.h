/* fs_gguf.h -- GGUF (llama.cpp's model file), version 3 (and 2, identical for little-endian files): a validating
 * mmap reader of metadata and tensors with dequantization to fp32, and an atomic writer of F32/F16/BF16 tensors.
 *
 * Layout: "GGUF" u32 version, u64 n_tensors, u64 n_kv; n_kv x (string key, u32 type, value); n_tensors x
 * (string name, u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset); padding to the alignment
 * (general.alignment, default 32); the data area.  Strings are u64 length + bytes (no NUL).  ne[0] is the
 * fastest-varying dimension (ggml's order): shape[] below is the row-major order, i.e. ne reversed.
 *
 * Reader:  fs_gguf_open -> fs_gguf_get_* / fs_gguf_find_tensor -> fs_gguf_read_f32 -> fs_gguf_close
 * Writer:  fs_gguf_writer_create -> fs_gguf_writer_set_* / fs_gguf_writer_add_tensor -> fs_gguf_writer_finish */
#ifndef FS_GGUF_H
#define FS_GGUF_H

#include <stddef.h>
#include <stdint.h>
#include "fs_error.h"

#define FS_GGUF_MAGIC "GGUF"
#define FS_GGUF_VERSION 3
#define FS_GGUF_DEFAULT_ALIGNMENT 32
#define FS_GGUF_MAX_DIMS 4

/* metadata value types (the numbers are the file's) */
enum fs_gguf_type {
  FS_GGUF_UINT8 = 0, FS_GGUF_INT8 = 1, FS_GGUF_UINT16 = 2, FS_GGUF_INT16 = 3, FS_GGUF_UINT32 = 4,
  FS_GGUF_INT32 = 5, FS_GGUF_FLOAT32 = 6, FS_GGUF_BOOL = 7, FS_GGUF_STRING = 8, FS_GGUF_ARRAY = 9,
  FS_GGUF_UINT64 = 10, FS_GGUF_INT64 = 11, FS_GGUF_FLOAT64 = 12, FS_GGUF_TYPE_COUNT
};

/* tensor types (ggml's numbers); the ones fs_gguf_dequantize knows are listed in fs_ggml_type_supported */
enum fs_ggml_type {
  FS_GGML_F32 = 0, FS_GGML_F16 = 1, FS_GGML_Q4_0 = 2, FS_GGML_Q4_1 = 3, FS_GGML_Q5_0 = 6, FS_GGML_Q5_1 = 7,
  FS_GGML_Q8_0 = 8, FS_GGML_Q8_1 = 9, FS_GGML_Q2_K = 10, FS_GGML_Q3_K = 11, FS_GGML_Q4_K = 12, FS_GGML_Q5_K = 13,
  FS_GGML_Q6_K = 14, FS_GGML_Q8_K = 15, FS_GGML_I8 = 24, FS_GGML_I16 = 25, FS_GGML_I32 = 26, FS_GGML_I64 = 27,
  FS_GGML_F64 = 28, FS_GGML_BF16 = 30
};

struct fs_gguf_kv {
  char *key;
  int type;     /* enum fs_gguf_type */
  int arr_type; /* element type when type == FS_GGUF_ARRAY */
  uint64_t n;   /* array length (1 for a scalar) */
  union {
    uint64_t u; /* unsigned ints and bool */
    int64_t i;  /* signed ints */
    double f;   /* floats */
  } v;
  char *str;           /* FS_GGUF_STRING: NUL-terminated copy (str_len bytes; may hold NULs) */
  uint64_t str_len;
  const void *arr;     /* numeric arrays: the n raw little-endian elements, in the mapping (unaligned) */
  char **strs;         /* string arrays: n NUL-terminated copies */
  uint64_t *strs_len;
};

struct fs_gguf_tensor {
  char *name;
  int type; /* enum fs_ggml_type */
  int ndim;
  int64_t ne[FS_GGUF_MAX_DIMS];    /* ggml order: ne[0] fastest; unused = 1 */
  int64_t shape[FS_GGUF_MAX_DIMS]; /* row-major: shape[ndim-1] = ne[0] */
  int64_t n_elem;
  uint64_t offset; /* in the data area */
  size_t n_bytes;
  const void *data; /* into the mapping */
};

struct fs_gguf {
  char *path;
  uint32_t version;
  uint32_t alignment;
  int64_t n_kv, n_tensors;
  struct fs_gguf_kv *kv;
  struct fs_gguf_tensor *tensors; /* in file order */
  size_t data_start;
  void *map;
  size_t map_bytes;
};

PetscErrorCode fs_gguf_open(const char *path, struct fs_gguf **g);
PetscErrorCode fs_gguf_close(struct fs_gguf **g); /* accepts NULL */

/* ---- metadata: NULL / error when the key is absent.  The typed getters convert within a family (any integer
 * type or bool -> int64; float32/float64 or an integer -> double) and say which type was found otherwise. */
const struct fs_gguf_kv *fs_gguf_find_kv(const struct fs_gguf *g, const char *key);
PetscErrorCode fs_gguf_get_string(const struct fs_gguf *g, const char *key, const char **value);
PetscErrorCode fs_gguf_get_int(const struct fs_gguf *g, const char *key, int64_t *value);
PetscErrorCode fs_gguf_get_float(const struct fs_gguf *g, const char *key, double *value);
/* string arrays (tokenizer.ggml.tokens, tokenizer.ggml.merges): pointers into the reader, valid until close */
PetscErrorCode fs_gguf_get_string_array(const struct fs_gguf *g, const char *key, int64_t *n,
                                        char *const **values);
/* numeric arrays converted: values[n], malloc'ed, the caller frees (tokenizer.ggml.token_type, .scores) */
PetscErrorCode fs_gguf_get_int_array(const struct fs_gguf *g, const char *key, int64_t *n, int64_t **values);
PetscErrorCode fs_gguf_get_float_array(const struct fs_gguf *g, const char *key, int64_t *n, double **values);
const char *fs_gguf_type_name(int type);

/* ---- tensors */
const struct fs_gguf_tensor *fs_gguf_find_tensor(const struct fs_gguf *g, const char *name);
/* dequantizes the whole tensor: out[t->n_elem], row-major over t->shape */
PetscErrorCode fs_gguf_read_f32(const struct fs_gguf *g, const struct fs_gguf_tensor *t, float *out);
/* by name; n_elem is checked against the file (the message names the tensor and both counts) */
PetscErrorCode fs_gguf_read_tensor_f32(const struct fs_gguf *g, const char *name, int64_t n_elem, float *out);

/* ---- ggml types: block size (elements) and bytes per block; 0 for an unknown type */
const char *fs_ggml_type_name(int type);
int64_t fs_ggml_block_elems(int type);
size_t fs_ggml_block_bytes(int type);
int fs_ggml_type_supported(int type); /* 1 when fs_gguf_dequantize can convert it */
/* out[n_elem] from n_elem / block_elems blocks at data (n_elem a multiple of the block size) */
PetscErrorCode fs_gguf_dequantize(float *out, int type, const void *data, int64_t n_elem);

/* ---- writer: GGUF v3, alignment 32, keys and tensors in the order given; PATH.tmp renamed at finish.
 * Tensor data is spooled to PATH.data.tmp, so memory stays small for large models. */
struct fs_gguf_writer;
PetscErrorCode fs_gguf_writer_create(const char *path, struct fs_gguf_writer **w);
PetscErrorCode fs_gguf_writer_set_string(struct fs_gguf_writer *w, const char *key, const char *value);
PetscErrorCode fs_gguf_writer_set_uint32(struct fs_gguf_writer *w, const char *key, uint32_t value);
PetscErrorCode fs_gguf_writer_set_int32(struct fs_gguf_writer *w, const char *key, int32_t value);
PetscErrorCode fs_gguf_writer_set_uint64(struct fs_gguf_writer *w, const char *key, uint64_t value);
PetscErrorCode fs_gguf_writer_set_float32(struct fs_gguf_writer *w, const char *key, float value);
PetscErrorCode fs_gguf_writer_set_bool(struct fs_gguf_writer *w, const char *key, int value);
PetscErrorCode fs_gguf_writer_set_string_array(struct fs_gguf_writer *w, const char *key, int64_t n,
                                               const char *const *values);
/* numeric array of elem_type (not STRING/ARRAY): values are n raw elements of that type */
PetscErrorCode fs_gguf_writer_set_array(struct fs_gguf_writer *w, const char *key, int elem_type, int64_t n,
                                        const void *values);
/* type FS_GGML_F32, F16 or BF16; shape row-major (ne = shape reversed); data[prod(shape)] fp32 */
PetscErrorCode fs_gguf_writer_add_tensor(struct fs_gguf_writer *w, const char *name, int type, int ndim,
                                         const int64_t shape[], const float *data);
PetscErrorCode fs_gguf_writer_finish(struct fs_gguf_writer **w); /* frees *w, also on error */
PetscErrorCode fs_gguf_writer_abort(struct fs_gguf_writer **w);  /* removes the temp files; accepts NULL */

#endif
