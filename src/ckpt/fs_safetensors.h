/* fs_safetensors.h -- Hugging Face safetensors: a validating mmap reader, sharded folders
 * (model.safetensors.index.json) and an atomic, sharding writer.  Knows tensor names, dtypes and shapes only.
 *
 * File layout: u64 little-endian header length N, N bytes of JSON
 *   {"__metadata__": {"k": "v"}, "name": {"dtype": "BF16", "shape": [..], "data_offsets": [begin, end]}, ...}
 * then the data area; offsets are relative to the data area, row-major, little-endian.
 *
 * Reader:  fs_safetensors_open -> fs_safetensors_find / ->tensors[i] -> fs_safetensors_read_f32 -> _close
 * Folder:  fs_st_model_open(dir | file | index.json) -> fs_st_model_find / fs_st_model_read_f32 -> _close
 * Writer:  fs_st_writer_create -> fs_st_writer_add ... -> fs_st_writer_finish (or _abort) */
#ifndef FS_SAFETENSORS_H
#define FS_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>
#include "fs_error.h"
#include "fs_dtype.h"

#define FS_ST_MAX_NDIM 8
#define FS_ST_INDEX_NAME "model.safetensors.index.json"
#define FS_ST_SINGLE_NAME "model.safetensors"
/* a header larger than this is refused (the Rust reference refuses > 100 MB too): a corrupt length field
 * must not make us parse gigabytes */
#define FS_ST_MAX_HEADER_BYTES (100u << 20)

struct fs_st_tensor {
  char *name;
  char dtype_name[12];           /* as in the file: "F32", "BF16", "F16", "I32", "I64", "U8", ... */
  int dtype;                     /* enum fs_dtype, or -1 for a dtype we list but cannot convert (F8_*, BOOL) */
  int ndim;                      /* 0 (a scalar) .. FS_ST_MAX_NDIM */
  int64_t shape[FS_ST_MAX_NDIM]; /* row-major */
  int64_t n_elem;
  size_t n_bytes;
  size_t offset;    /* data_offsets[0], relative to the data area */
  const void *data; /* into the mapping; not necessarily aligned */
  const char *file; /* the path of the file holding it (for messages) */
};

struct fs_safetensors {
  char *path;
  int n_tensors;
  struct fs_st_tensor *tensors; /* in the order of the header */
  int n_meta;
  char **meta_keys, **meta_values; /* "__metadata__" (string -> string) */
  void *map;
  size_t map_bytes;
  size_t data_start; /* 8 + header length */
};

/* ---- one file */
PetscErrorCode fs_safetensors_open(const char *path, struct fs_safetensors **st);
PetscErrorCode fs_safetensors_close(struct fs_safetensors **st); /* accepts NULL */
/* *t = NULL when absent */
PetscErrorCode fs_safetensors_find(const struct fs_safetensors *st, const char *name, const struct fs_st_tensor **t);
/* __metadata__ value or NULL */
const char *fs_safetensors_metadata(const struct fs_safetensors *st, const char *key);
/* Converts the whole tensor to fp32: out[t->n_elem].  Integers are converted by value (exact up to 2^24). */
PetscErrorCode fs_safetensors_read_f32(const struct fs_st_tensor *t, float *out);
/* "F32" <-> enum fs_dtype; -1 / NULL when there is none */
int fs_st_dtype_from_name(const char *name);
const char *fs_st_dtype_to_name(int dtype);

/* ---- a checkpoint folder: model.safetensors, or shards listed by model.safetensors.index.json */
struct fs_st_model {
  char *dir;
  int n_files;
  struct fs_safetensors **files;
  int64_t n_tensors;
  const struct fs_st_tensor **sorted; /* all tensors of all files, by name (for bsearch) */
};
/* path: a folder (holding the index or model.safetensors, or else exactly one *.safetensors), an index .json, or
 * a .safetensors file.  With an index, every file it names is opened and every tensor it maps must be in the file
 * it names; a tensor name present in two files is an error. */
PetscErrorCode fs_st_model_open(const char *path, struct fs_st_model **m);
PetscErrorCode fs_st_model_close(struct fs_st_model **m); /* accepts NULL */
PetscErrorCode fs_st_model_find(const struct fs_st_model *m, const char *name, const struct fs_st_tensor **t);
/* fs_st_model_find + checks n_elem (a wrong expectation names the tensor and both shapes) + read_f32 */
PetscErrorCode fs_st_model_read_f32(const struct fs_st_model *m, const char *name, int64_t n_elem, float *out);

/* ---- writer: fp32 in, stored as F32, BF16 or F16 (round to nearest even), __metadata__ {"format": "pt"}.
 * Tensors go to shards of at most max_shard_bytes (0 = one file; a larger single tensor gets a shard alone).
 * One shard: DIR/model.safetensors.  Several: DIR/model-00001-of-0000N.safetensors ... and
 * DIR/model.safetensors.index.json ({"metadata": {"total_size": bytes}, "weight_map": {name: file}}).
 * Each file is written as NAME.tmp, fsynced and renamed at finish; the index is renamed last.  Memory: one shard's
 * data is buffered (finished shards wait on disk as .tmp files until N is known). */
struct fs_st_writer;
PetscErrorCode fs_st_writer_create(const char *dir, enum fs_dtype file_dtype, size_t max_shard_bytes,
                                   struct fs_st_writer **w);
/* data[prod(shape)] row-major; the data is converted and copied, the caller's buffer can be reused */
PetscErrorCode fs_st_writer_add(struct fs_st_writer *w, const char *name, int ndim, const int64_t shape[],
                                const float *data);
/* same with an explicit file dtype for this tensor (e.g. F32 norms in a BF16 checkpoint) */
PetscErrorCode fs_st_writer_add_as(struct fs_st_writer *w, const char *name, enum fs_dtype file_dtype, int ndim,
                                   const int64_t shape[], const float *data);
/* file names STEM.safetensors (and STEM-... shards, STEM.safetensors.index.json) instead of model.*: before any
 * tensor is added (a PEFT adapter is adapter_model.safetensors) */
PetscErrorCode fs_st_writer_set_stem(struct fs_st_writer *w, const char *stem);
PetscErrorCode fs_st_writer_finish(struct fs_st_writer **w); /* frees *w, also on error (removing .tmp files) */
PetscErrorCode fs_st_writer_abort(struct fs_st_writer **w);  /* removes .tmp files; accepts NULL */

#endif
