/* fs_gguf_write.c -- the GGUF v3 writer (fs_gguf.h).  Metadata and tensor infos are serialized into memory as
 * they come; tensor data goes to PATH.data.tmp (each tensor padded to the alignment), so at finish the header is
 * complete and PATH.tmp = header + infos + padding + data, fsynced and renamed to PATH. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fs_gguf.h"
#include "fs_dtype.h"

struct buf {
  unsigned char *p;
  size_t n, cap;
  int oom;
};

struct fs_gguf_writer {
  char *path, *tmp, *data_tmp;
  FILE *data;
  uint64_t data_bytes;
  struct buf kv, info;
  uint64_t n_kv, n_tensors;
  char **names; /* keys and tensor names seen, to refuse duplicates */
  size_t n_names;
};

static void put(struct buf *b, const void *p, size_t n)
{
  if (b->oom) return;
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + n) cap *= 2;
    unsigned char *q = realloc(b->p, cap);
    if (!q) {
      b->oom = 1;
      return;
    }
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->n, p, n);
  b->n += n;
}

static void put_u32(struct buf *b, uint32_t v) { put(b, &v, 4); }
static void put_u64(struct buf *b, uint64_t v) { put(b, &v, 8); }
static void put_str(struct buf *b, const char *s)
{
  put_u64(b, strlen(s));
  put(b, s, strlen(s));
}

static PetscErrorCode new_name(struct fs_gguf_writer *w, const char *name, const char *what)
{
  PetscFunctionBegin;
  FSCheck(name && name[0], PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "GGUF writer %s: empty %s name", w->path, what);
  for (size_t i = 0; i < w->n_names; i++)
    FSCheck(strcmp(w->names[i], name), PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "GGUF writer %s: %s '%s' given twice",
            w->path, what, name);
  char **q = realloc(w->names, (w->n_names + 1) * sizeof *q);
  FSCheck(q, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory");
  w->names = q;
  w->names[w->n_names] = strdup(name);
  FSCheck(w->names[w->n_names], PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory");
  w->n_names++;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_gguf_writer_create(const char *path, struct fs_gguf_writer **out)
{
  struct fs_gguf_writer *w;
  size_t n = strlen(path) + 16;

  PetscFunctionBegin;
  *out = NULL;
  FSCalloc(sizeof *w, &w);
  w->path = strdup(path);
  w->tmp = malloc(n);
  w->data_tmp = malloc(n);
  if (w->tmp) snprintf(w->tmp, n, "%s.tmp", path);
  if (w->data_tmp) snprintf(w->data_tmp, n, "%s.data.tmp", path);
  if (w->data_tmp) w->data = fopen(w->data_tmp, "wb+");
  if (!w->data) {
    int e = errno;
    PetscCall(fs_gguf_writer_abort(&w));
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "GGUF writer: cannot create %s.data.tmp: %s", path, strerror(e));
  }
  *out = w;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode key_header(struct fs_gguf_writer *w, const char *key, uint32_t type)
{
  PetscFunctionBegin;
  PetscCall(new_name(w, key, "key"));
  put_str(&w->kv, key);
  put_u32(&w->kv, type);
  w->n_kv++;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_gguf_writer_set_string(struct fs_gguf_writer *w, const char *key, const char *value)
{
  PetscFunctionBegin;
  PetscCall(key_header(w, key, FS_GGUF_STRING));
  put_str(&w->kv, value);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_gguf_writer_set_uint32(struct fs_gguf_writer *w, const char *key, uint32_t value)
{
  PetscFunctionBegin;
  FSCheck(strcmp(key, "general.alignment") || value == FS_GGUF_DEFAULT_ALIGNMENT, PETSC_COMM_SELF, PETSC_ERR_SUP,
          "GGUF writer %s: only the default alignment %d is written", w->path, FS_GGUF_DEFAULT_ALIGNMENT);
  PetscCall(key_header(w, key, FS_GGUF_UINT32));
  put_u32(&w->kv, value);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_gguf_writer_set_int32(struct fs_gguf_writer *w, const char *key, int32_t value)
{
  PetscFunctionBegin;
  PetscCall(key_header(w, key, FS_GGUF_INT32));
  put(&w->kv, &value, 4);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_gguf_writer_set_uint64(struct fs_gguf_writer *w, const char *key, uint64_t value)
{
  PetscFunctionBegin;
  PetscCall(key_header(w, key, FS_GGUF_UINT64));
  put_u64(&w->kv, value);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_gguf_writer_set_float32(struct fs_gguf_writer *w, const char *key, float value)
{
  PetscFunctionBegin;
  PetscCall(key_header(w, key, FS_GGUF_FLOAT32));
  put(&w->kv, &value, 4);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_gguf_writer_set_bool(struct fs_gguf_writer *w, const char *key, int value)
{
  unsigned char b = value ? 1 : 0;

  PetscFunctionBegin;
  PetscCall(key_header(w, key, FS_GGUF_BOOL));
  put(&w->kv, &b, 1);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_gguf_writer_set_string_array(struct fs_gguf_writer *w, const char *key, int64_t n,
                                               const char *const *values)
{
  PetscFunctionBegin;
  PetscCall(key_header(w, key, FS_GGUF_ARRAY));
  put_u32(&w->kv, FS_GGUF_STRING);
  put_u64(&w->kv, (uint64_t)n);
  for (int64_t i = 0; i < n; i++) put_str(&w->kv, values[i]);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_gguf_writer_set_array(struct fs_gguf_writer *w, const char *key, int elem_type, int64_t n,
                                        const void *values)
{
  static const size_t sz[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

  PetscFunctionBegin;
  FSCheck(elem_type >= 0 && elem_type < FS_GGUF_TYPE_COUNT && sz[elem_type] > 0, PETSC_COMM_SELF,
          PETSC_ERR_ARG_WRONG, "GGUF writer %s: key '%s': arrays of %s are written with set_string_array", w->path,
          key, fs_gguf_type_name(elem_type));
  PetscCall(key_header(w, key, FS_GGUF_ARRAY));
  put_u32(&w->kv, (uint32_t)elem_type);
  put_u64(&w->kv, (uint64_t)n);
  put(&w->kv, values, (size_t)n * sz[elem_type]);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_gguf_writer_add_tensor(struct fs_gguf_writer *w, const char *name, int type, int ndim,
                                         const int64_t shape[], const float *data)
{
  int64_t n = 1;
  size_t es = type == FS_GGML_F32 ? 4 : 2, n_bytes;
  static const char zeros[FS_GGUF_DEFAULT_ALIGNMENT] = {0};

  PetscFunctionBegin;
  FSCheck(type == FS_GGML_F32 || type == FS_GGML_F16 || type == FS_GGML_BF16, PETSC_COMM_SELF, PETSC_ERR_SUP,
          "GGUF writer %s: tensor '%s': only F32, F16 and BF16 are written (not %s)", w->path, name,
          fs_ggml_type_name(type));
  FSCheck(ndim >= 1 && ndim <= FS_GGUF_MAX_DIMS, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
          "GGUF writer %s: tensor '%s': ndim %d (1..%d)", w->path, name, ndim, FS_GGUF_MAX_DIMS);
  PetscCall(new_name(w, name, "tensor"));
  for (int d = 0; d < ndim; d++) {
    FSCheck(shape[d] >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "GGUF writer: tensor '%s': negative shape", name);
    n *= shape[d];
  }
  n_bytes = (size_t)n * es;
  put_str(&w->info, name);
  put_u32(&w->info, (uint32_t)ndim);
  for (int d = ndim - 1; d >= 0; d--) put_u64(&w->info, (uint64_t)shape[d]); /* ne[0] = the last (fastest) dim */
  put_u32(&w->info, (uint32_t)type);
  put_u64(&w->info, w->data_bytes);
  w->n_tensors++;
  if (type == FS_GGML_F32) {
    FSCheck(fwrite(data, 4, (size_t)n, w->data) == (size_t)n, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE,
            "writing %s: %s (is the disk full?)", w->data_tmp, strerror(errno));
  } else {
    /* convert in chunks: no copy of the whole tensor */
    uint16_t h[4096];
    for (int64_t i = 0; i < n; i += 4096) {
      int64_t k = n - i < 4096 ? n - i : 4096;
      if (type == FS_GGML_F16) fs_convert_fp32_to_fp16(h, data + i, k);
      else fs_convert_fp32_to_bf16(h, data + i, k);
      FSCheck(fwrite(h, 2, (size_t)k, w->data) == (size_t)k, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE,
              "writing %s: %s (is the disk full?)", w->data_tmp, strerror(errno));
    }
  }
  w->data_bytes += n_bytes;
  size_t pad = (FS_GGUF_DEFAULT_ALIGNMENT - w->data_bytes % FS_GGUF_DEFAULT_ALIGNMENT) % FS_GGUF_DEFAULT_ALIGNMENT;
  FSCheck(fwrite(zeros, 1, pad, w->data) == pad, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "writing %s: %s",
          w->data_tmp, strerror(errno));
  w->data_bytes += pad;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode finish(struct fs_gguf_writer *w)
{
  struct buf head = {0};
  FILE *f;
  char chunk[1 << 16];
  size_t k;
  int ok;
  static const char zeros[FS_GGUF_DEFAULT_ALIGNMENT] = {0};

  PetscFunctionBegin;
  FSCheck(!w->kv.oom && !w->info.oom, PETSC_COMM_SELF, PETSC_ERR_MEM, "GGUF writer %s: out of memory", w->path);
  put(&head, FS_GGUF_MAGIC, 4);
  put_u32(&head, FS_GGUF_VERSION);
  put_u64(&head, w->n_tensors);
  put_u64(&head, w->n_kv);
  put(&head, w->kv.p, w->kv.n);
  put(&head, w->info.p, w->info.n);
  put(&head, zeros, (FS_GGUF_DEFAULT_ALIGNMENT - head.n % FS_GGUF_DEFAULT_ALIGNMENT) % FS_GGUF_DEFAULT_ALIGNMENT);
  if (head.oom) free(head.p);
  FSCheck(!head.oom, PETSC_COMM_SELF, PETSC_ERR_MEM, "GGUF writer %s: out of memory", w->path);
  f = fopen(w->tmp, "wb");
  if (!f) free(head.p);
  FSCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot create %s: %s", w->tmp, strerror(errno));
  ok = fwrite(head.p, 1, head.n, f) == head.n && fflush(w->data) == 0 && fseek(w->data, 0, SEEK_SET) == 0;
  free(head.p);
  while (ok && (k = fread(chunk, 1, sizeof chunk, w->data)) > 0) ok = fwrite(chunk, 1, k, f) == k;
  ok = ok && !ferror(w->data) && fflush(f) == 0 && fsync(fileno(f)) == 0;
  ok = (fclose(f) == 0) && ok;
  FSCheck(ok, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "writing %s: %s (is the disk full?)", w->tmp, strerror(errno));
  FSCallSys(rename(w->tmp, w->path), w->path);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void free_writer(struct fs_gguf_writer **pw)
{
  struct fs_gguf_writer *w = *pw;
  if (w->data) fclose(w->data);
  if (w->data_tmp) unlink(w->data_tmp);
  if (w->tmp) unlink(w->tmp); /* a no-op after the rename */
  for (size_t i = 0; i < w->n_names; i++) free(w->names[i]);
  free(w->names);
  free(w->kv.p);
  free(w->info.p);
  free(w->path);
  free(w->tmp);
  free(w->data_tmp);
  free(w);
  *pw = NULL;
}

PetscErrorCode fs_gguf_writer_finish(struct fs_gguf_writer **pw)
{
  PetscErrorCode ierr;

  PetscFunctionBegin;
  ierr = finish(*pw);
  free_writer(pw);
  PetscCall(ierr);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_gguf_writer_abort(struct fs_gguf_writer **pw)
{
  PetscFunctionBegin;
  if (*pw) free_writer(pw);
  PetscFunctionReturn(PETSC_SUCCESS);
}
