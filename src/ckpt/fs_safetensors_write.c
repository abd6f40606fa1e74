/* fs_safetensors_write.c -- the sharding, atomic safetensors writer (fs_safetensors.h).
 * One shard's data is buffered in memory; a full shard is written at once as DIR/.shard-K.tmp (its header is
 * known by then), and at finish, when the number of shards N is known, each is renamed to its HF name
 * model-0000K-of-0000N.safetensors (or model.safetensors when N = 1) and the index is written last. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "fs_safetensors.h"

struct st_entry {
  char *name;
  int dtype, ndim, shard;
  int64_t shape[FS_ST_MAX_NDIM];
  size_t offset, n_bytes; /* within its shard's data area */
};

struct fs_st_writer {
  char *dir;
  char stem[64];          /* files STEM.safetensors or STEM-0000i-of-0000N.safetensors + STEM.safetensors.index.json */
  int dtype;
  size_t max_shard_bytes;
  struct st_entry *entries;
  int64_t n_entries, cap_entries;
  int64_t first_of_shard; /* entries[first_of_shard..] are in the buffered shard */
  int n_shards;           /* written so far */
  unsigned char *buf;     /* the current shard's data */
  size_t buf_bytes, buf_cap;
  uint64_t total_bytes;
};

static void shard_tmp_path(char *out, size_t n, const struct fs_st_writer *w, int shard)
{
  snprintf(out, n, "%s/.%s-%05d.safetensors.tmp", w->dir, w->stem, shard + 1);
}

static void shard_final_name(char *out, size_t n, const struct fs_st_writer *w, int shard, int n_shards)
{
  if (n_shards == 1) snprintf(out, n, "%s.safetensors", w->stem);
  else snprintf(out, n, "%s-%05d-of-%05d.safetensors", w->stem, shard + 1, n_shards);
}

static PetscErrorCode write_all(int fd, const void *p, size_t n, const char *path)
{
  PetscFunctionBegin;
  while (n > 0) {
    ssize_t k = write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    FSCheck(k > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "writing %s: %s (is the disk full?)", path,
            k < 0 ? strerror(errno) : "short write");
    p = (const char *)p + k;
    n -= (size_t)k;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* writes path with the given bytes pieces, fsynced */
static PetscErrorCode write_file(const char *path, const void *a, size_t na, const void *b, size_t nb)
{
  int fd;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  FSCheck(fd >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot create %s: %s", path, strerror(errno));
  ierr = write_all(fd, a, na, path);
  if (!ierr) ierr = write_all(fd, b, nb, path);
  if (!ierr && fsync(fd) < 0)
    ierr = PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_FILE_WRITE,
                      PETSC_ERROR_INITIAL, "fsync %s: %s", path, strerror(errno));
  close(fd);
  PetscCall(ierr);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* header JSON of the buffered shard, padded with spaces to a multiple of 8 bytes as the Python package does, so
 * that the data area is 8-byte aligned */
static PetscErrorCode flush_shard(struct fs_st_writer *w)
{
  json_t *root, *meta, *t;
  char *js, path[4096];
  size_t jlen, padded;
  unsigned char *head;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  if (w->first_of_shard == w->n_entries && w->n_shards > 0) PetscFunctionReturn(PETSC_SUCCESS);
  root = json_object();
  meta = json_object();
  FSCheck(root && meta, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory");
  json_object_set_new(meta, "format", json_string("pt"));
  json_object_set_new(root, "__metadata__", meta);
  for (int64_t i = w->first_of_shard; i < w->n_entries; i++) {
    const struct st_entry *e = &w->entries[i];
    json_t *shape = json_array(), *offs = json_array();
    for (int d = 0; d < e->ndim; d++) json_array_append_new(shape, json_integer(e->shape[d]));
    json_array_append_new(offs, json_integer((json_int_t)e->offset));
    json_array_append_new(offs, json_integer((json_int_t)(e->offset + e->n_bytes)));
    t = json_object();
    json_object_set_new(t, "dtype", json_string(fs_st_dtype_to_name(e->dtype)));
    json_object_set_new(t, "shape", shape);
    json_object_set_new(t, "data_offsets", offs);
    json_object_set_new(root, e->name, t);
  }
  js = json_dumps(root, JSON_COMPACT);
  json_decref(root);
  FSCheck(js, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory (safetensors header)");
  jlen = strlen(js);
  padded = (jlen + 7) / 8 * 8;
  head = malloc(8 + padded);
  if (!head) free(js);
  FSCheck(head, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory (safetensors header)");
  uint64_t hl = padded;
  memcpy(head, &hl, 8);
  memcpy(head + 8, js, jlen);
  memset(head + 8 + jlen, ' ', padded - jlen);
  free(js);
  shard_tmp_path(path, sizeof path, w, w->n_shards);
  ierr = write_file(path, head, 8 + padded, w->buf, w->buf_bytes);
  free(head);
  PetscCall(ierr);
  for (int64_t i = w->first_of_shard; i < w->n_entries; i++) w->entries[i].shard = w->n_shards;
  w->n_shards++;
  w->first_of_shard = w->n_entries;
  w->buf_bytes = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_st_writer_create(const char *dir, enum fs_dtype file_dtype, size_t max_shard_bytes,
                                   struct fs_st_writer **out)
{
  struct fs_st_writer *w;

  PetscFunctionBegin;
  *out = NULL;
  FSCheck(file_dtype == FS_DTYPE_F32 || file_dtype == FS_DTYPE_BF16 || file_dtype == FS_DTYPE_F16,
          PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "safetensors writer: file dtype must be f32, bf16 or f16, not %s",
          fs_dtype_name(file_dtype));
  FSCheck(access(dir, W_OK) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN,
          "safetensors writer: folder %s is not writable: %s (create it first)", dir, strerror(errno));
  FSCalloc(sizeof *w, &w);
  w->dir = strdup(dir);
  snprintf(w->stem, sizeof w->stem, "model");
  w->dtype = file_dtype;
  w->max_shard_bytes = max_shard_bytes;
  *out = w;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_st_writer_add(struct fs_st_writer *w, const char *name, int ndim, const int64_t shape[],
                                const float *data)
{
  PetscFunctionBegin;
  PetscCall(fs_st_writer_add_as(w, name, (enum fs_dtype)w->dtype, ndim, shape, data));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_st_writer_add_as(struct fs_st_writer *w, const char *name, enum fs_dtype file_dtype, int ndim,
                                   const int64_t shape[], const float *data)
{
  int64_t n = 1;
  size_t n_bytes;
  struct st_entry *e;

  PetscFunctionBegin;
  FSCheck(file_dtype == FS_DTYPE_F32 || file_dtype == FS_DTYPE_BF16 || file_dtype == FS_DTYPE_F16,
          PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "safetensors writer: tensor '%s': dtype must be f32, bf16 or f16",
          name);
  FSCheck(ndim >= 0 && ndim <= FS_ST_MAX_NDIM && name[0] && strcmp(name, "__metadata__"), PETSC_COMM_SELF,
          PETSC_ERR_ARG_WRONG, "safetensors writer: tensor '%s': bad name or ndim %d", name, ndim);
  for (int64_t i = 0; i < w->n_entries; i++)
    FSCheck(strcmp(w->entries[i].name, name), PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
            "safetensors writer: tensor '%s' added twice", name);
  for (int d = 0; d < ndim; d++) {
    FSCheck(shape[d] >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "safetensors writer: tensor '%s': negative shape",
            name);
    n *= shape[d];
  }
  n_bytes = (size_t)n * fs_dtype_size(file_dtype);
  /* HF's rule: start a new shard when this tensor would push a non-empty shard past the limit */
  if (w->max_shard_bytes && w->buf_bytes > 0 && w->buf_bytes + n_bytes > w->max_shard_bytes) PetscCall(flush_shard(w));
  if (w->n_entries == w->cap_entries) {
    int64_t cap = w->cap_entries ? 2 * w->cap_entries : 64;
    e = realloc(w->entries, (size_t)cap * sizeof *e);
    FSCheck(e, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory");
    w->entries = e;
    w->cap_entries = cap;
  }
  if (w->buf_bytes + n_bytes > w->buf_cap) {
    size_t cap = w->buf_cap ? 2 * w->buf_cap : (1u << 20);
    while (cap < w->buf_bytes + n_bytes) cap *= 2;
    unsigned char *b = realloc(w->buf, cap);
    FSCheck(b, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory buffering a safetensors shard of %zu bytes (lower the "
            "maximum shard size)", cap);
    w->buf = b;
    w->buf_cap = cap;
  }
  e = &w->entries[w->n_entries];
  memset(e, 0, sizeof *e);
  e->name = strdup(name);
  FSCheck(e->name, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory");
  e->dtype = file_dtype;
  e->ndim = ndim;
  for (int d = 0; d < ndim; d++) e->shape[d] = shape[d];
  e->offset = w->buf_bytes;
  e->n_bytes = n_bytes;
  e->shard = -1;
  if (file_dtype == FS_DTYPE_F32) memcpy(w->buf + w->buf_bytes, data, n_bytes);
  else if (file_dtype == FS_DTYPE_BF16) fs_convert_fp32_to_bf16((uint16_t *)(void *)(w->buf + w->buf_bytes), data, n);
  else fs_convert_fp32_to_fp16((uint16_t *)(void *)(w->buf + w->buf_bytes), data, n);
  w->buf_bytes += n_bytes;
  w->total_bytes += n_bytes;
  w->n_entries++;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode write_index(struct fs_st_writer *w, const char *final_path)
{
  json_t *root = json_object(), *meta = json_object(), *wm = json_object();
  char name[256], tmp[4200];
  char *js;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  FSCheck(root && meta && wm, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory");
  json_object_set_new(meta, "total_size", json_integer((json_int_t)w->total_bytes));
  json_object_set_new(root, "metadata", meta);
  for (int64_t i = 0; i < w->n_entries; i++) {
    shard_final_name(name, sizeof name, w, w->entries[i].shard, w->n_shards);
    json_object_set_new(wm, w->entries[i].name, json_string(name));
  }
  json_object_set_new(root, "weight_map", wm);
  js = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
  json_decref(root);
  FSCheck(js, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory (safetensors index)");
  snprintf(tmp, sizeof tmp, "%s.tmp", final_path);
  ierr = write_file(tmp, js, strlen(js), "\n", 1);
  free(js);
  PetscCall(ierr);
  FSCallSys(rename(tmp, final_path), final_path);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void free_writer(struct fs_st_writer **pw)
{
  struct fs_st_writer *w = *pw;
  char path[4096];

  for (int s = 0; s < w->n_shards; s++) {
    shard_tmp_path(path, sizeof path, w, s);
    unlink(path); /* a no-op for shards already renamed */
  }
  for (int64_t i = 0; i < w->n_entries; i++) free(w->entries[i].name);
  free(w->entries);
  free(w->buf);
  free(w->dir);
  free(w);
  *pw = NULL;
}

static PetscErrorCode finish(struct fs_st_writer *w)
{
  char tmp[4096], final[4096], name[256];
  int fd;

  PetscFunctionBegin;
  PetscCall(flush_shard(w));
  for (int s = 0; s < w->n_shards; s++) {
    shard_tmp_path(tmp, sizeof tmp, w, s);
    shard_final_name(name, sizeof name, w, s, w->n_shards);
    snprintf(final, sizeof final, "%s/%s", w->dir, name);
    FSCallSys(rename(tmp, final), final);
  }
  snprintf(final, sizeof final, "%s/%s.safetensors.index.json", w->dir, w->stem);
  if (w->n_shards > 1) PetscCall(write_index(w, final));
  else unlink(final); /* a stale index would point at shards that are not ours */
  fd = open(w->dir, O_RDONLY);
  if (fd >= 0) {
    (void)fsync(fd); /* the renames are durable; a file system that cannot fsync a folder is not an error */
    close(fd);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_st_writer_set_stem(struct fs_st_writer *w, const char *stem)
{
  PetscFunctionBegin;
  FSCheck(w->n_entries == 0 && strlen(stem) < sizeof w->stem && !strchr(stem, '/'), PETSC_COMM_SELF,
          PETSC_ERR_ARG_WRONG, "safetensors file stem '%s': set before any tensor, a plain name", stem);
  snprintf(w->stem, sizeof w->stem, "%s", stem);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_st_writer_finish(struct fs_st_writer **pw)
{
  PetscErrorCode ierr;

  PetscFunctionBegin;
  ierr = finish(*pw);
  free_writer(pw);
  PetscCall(ierr);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_st_writer_abort(struct fs_st_writer **pw)
{
  PetscFunctionBegin;
  if (*pw) free_writer(pw);
  PetscFunctionReturn(PETSC_SUCCESS);
}
