/* fs_indexed.c -- Megatron's indexed dataset: the mmap reader (validating every field) and the writers */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include "fs_indexed.h"
#include "fs_file.h"

/* The format is little-endian and the arrays are read and written in bulk. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "fs_indexed.c reads and writes the little-endian .idx format in bulk: port it before using a big-endian host"
#endif

static const char fs_idx_magic[FS_IDX_MAGIC_BYTES] = {'M', 'M', 'I', 'D', 'I', 'D', 'X', 0, 0};

int fs_idx_dtype_size(int code)
{
  switch (code) {
  case FS_IDX_U8:
  case FS_IDX_I8: return 1;
  case FS_IDX_I16:
  case FS_IDX_U16: return 2;
  case FS_IDX_I32:
  case FS_IDX_F32: return 4;
  case FS_IDX_I64:
  case FS_IDX_F64: return 8;
  default: return 0;
  }
}

enum fs_idx_dtype fs_idx_dtype_for_vocab(int64_t vocab_size) { return vocab_size < 65500 ? FS_IDX_U16 : FS_IDX_I32; }

const char *fs_idx_dtype_name(int code)
{
  static const char *const names[] = {"?", "uint8", "int8", "int16", "int32", "int64", "float64", "float32", "uint16"};
  return fs_idx_dtype_size(code) ? names[code] : "unknown";
}

PetscErrorCode fs_idx_pack(int dtype, const int32_t *ids, int64_t n, void *out)
{
  PetscFunctionBegin;
  /* the range check names the first id that does not fit: a vocabulary too large for the dtype */
  for (int64_t i = 0; i < n; i++) {
    int32_t v = ids[i];
    switch (dtype) {
    case FS_IDX_U8:
      FSCheck(v >= 0 && v <= UINT8_MAX, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
              "token id %" PRId32 " does not fit the dataset dtype uint8", v);
      ((uint8_t *)out)[i] = (uint8_t)v;
      break;
    case FS_IDX_I8:
      FSCheck(v >= INT8_MIN && v <= INT8_MAX, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
              "token id %" PRId32 " does not fit the dataset dtype int8", v);
      ((int8_t *)out)[i] = (int8_t)v;
      break;
    case FS_IDX_I16:
      FSCheck(v >= INT16_MIN && v <= INT16_MAX, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
              "token id %" PRId32 " does not fit the dataset dtype int16", v);
      ((int16_t *)out)[i] = (int16_t)v;
      break;
    case FS_IDX_U16:
      FSCheck(v >= 0 && v <= UINT16_MAX, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
              "token id %" PRId32 " does not fit the dataset dtype uint16 (vocabulary >= 65500 needs int32)", v);
      ((uint16_t *)out)[i] = (uint16_t)v;
      break;
    case FS_IDX_I32: ((int32_t *)out)[i] = v; break;
    case FS_IDX_I64: ((int64_t *)out)[i] = v; break;
    case FS_IDX_F32: ((float *)out)[i] = (float)v; break;
    case FS_IDX_F64: ((double *)out)[i] = (double)v; break;
    default: SETERRQ(PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "unknown indexed-dataset dtype code %d", dtype);
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* ------------------------------------------------------------------ index writer */

static void put_u64(unsigned char *p, uint64_t v)
{
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static PetscErrorCode write_all(FILE *f, const void *buf, size_t n_bytes, const char *path)
{
  PetscFunctionBegin;
  if (n_bytes == 0) PetscFunctionReturn(PETSC_SUCCESS); /* buf may be NULL then */
  FSCheck(fwrite(buf, 1, n_bytes, f) == n_bytes, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE,
          "cannot write %zu bytes to %s: %s (disk full?)", n_bytes, path, strerror(errno));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_indexed_write_index(const char *idx_path, int dtype, const int32_t *sizes, int64_t n_seqs,
                                      const int64_t *doc_idx, int64_t n_doc_idx)
{
  unsigned char head[FS_IDX_HEADER_BYTES];
  int64_t item = fs_idx_dtype_size(dtype), ptr = 0;
  enum { CHUNK = 1 << 16 };
  int64_t *pointers;
  FILE *f;

  PetscFunctionBegin;
  FSCheck(item > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "unknown indexed-dataset dtype code %d", dtype);
  FSCheck(n_seqs >= 0 && n_doc_idx >= 1 && doc_idx[0] == 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
          "index for %s: doc_idx must start with 0 (got %" PRId64 " entries)", idx_path, n_doc_idx);
  for (int64_t i = 1; i < n_doc_idx; i++)
    FSCheck(doc_idx[i] >= doc_idx[i - 1] && doc_idx[i] <= n_seqs, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
            "index for %s: doc_idx[%" PRId64 "] = %" PRId64 " is not in [doc_idx[i-1], n_seqs]", idx_path, i,
            doc_idx[i]);
  memcpy(head, fs_idx_magic, FS_IDX_MAGIC_BYTES);
  put_u64(head + 9, 1);
  head[17] = (unsigned char)dtype;
  put_u64(head + 18, (uint64_t)n_seqs);
  put_u64(head + 26, (uint64_t)n_doc_idx);
  f = fopen(idx_path, "wb");
  FSCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot create %s: %s (does the directory exist?)", idx_path,
          strerror(errno));
  PetscCall(write_all(f, head, sizeof head, idx_path));
  for (int64_t i = 0; i < n_seqs; i++)
    FSCheck(sizes[i] >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "index for %s: negative size of sequence %" PRId64,
            idx_path, i);
  PetscCall(write_all(f, sizes, (size_t)n_seqs * sizeof *sizes, idx_path));
  /* pointers: running byte offsets, written in chunks so a huge index needs no second full array */
  FSMalloc(CHUNK * sizeof *pointers, &pointers);
  for (int64_t i0 = 0; i0 < n_seqs; i0 += CHUNK) {
    int64_t n = n_seqs - i0 < CHUNK ? n_seqs - i0 : CHUNK;
    for (int64_t i = 0; i < n; i++) {
      pointers[i] = ptr;
      ptr += (int64_t)sizes[i0 + i] * item;
    }
    PetscCall(write_all(f, pointers, (size_t)n * sizeof *pointers, idx_path));
  }
  free(pointers);
  PetscCall(write_all(f, doc_idx, (size_t)n_doc_idx * sizeof *doc_idx, idx_path));
  FSCheck(fclose(f) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot close %s: %s (disk full?)", idx_path,
          strerror(errno));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* ------------------------------------------------------------------ streaming writer */

struct fs_indexed_writer {
  char prefix[PETSC_MAX_PATH_LEN], bin_path[PETSC_MAX_PATH_LEN];
  int dtype;
  FILE *bin;
  int32_t *sizes;   /* (n_seqs) */
  int64_t n_seqs, cap_seqs;
  int64_t *doc_idx; /* (n_doc_idx) */
  int64_t n_doc_idx, cap_doc_idx;
  void *pack;       /* packing buffer */
  int64_t cap_pack; /* elements */
};

static PetscErrorCode grow(void **p, int64_t *cap, int64_t need, size_t elem)
{
  PetscFunctionBegin;
  if (need > *cap) {
    int64_t c = *cap ? *cap : 1024;
    while (c < need) c *= 2;
    void *q = realloc(*p, (size_t)c * elem);
    FSCheck(q, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory growing an array to %" PRId64 " elements", c);
    *p = q;
    *cap = c;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_indexed_writer_create(const char *prefix, int dtype, struct fs_indexed_writer **w)
{
  struct fs_indexed_writer *x;

  PetscFunctionBegin;
  FSCheck(fs_idx_dtype_size(dtype) > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
          "unknown indexed-dataset dtype code %d (1..8)", dtype);
  FSCalloc(sizeof *x, &x);
  snprintf(x->prefix, sizeof x->prefix, "%s", prefix);
  snprintf(x->bin_path, sizeof x->bin_path, "%s.bin", prefix);
  x->dtype = dtype;
  x->bin = fopen(x->bin_path, "wb");
  if (!x->bin) {
    int e = errno;
    free(x);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot create %s.bin: %s (does the directory exist?)", prefix,
            strerror(e));
  }
  PetscCall(grow((void **)&x->doc_idx, &x->cap_doc_idx, 1, sizeof *x->doc_idx));
  x->doc_idx[x->n_doc_idx++] = 0;
  *w = x;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_indexed_writer_add(struct fs_indexed_writer *w, const int32_t *ids, int64_t n)
{
  PetscFunctionBegin;
  FSCheck(n >= 0 && n <= INT32_MAX, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
          "a sequence of %" PRId64 " tokens does not fit the int32 sizes of the .idx format", n);
  PetscCall(grow(&w->pack, &w->cap_pack, n, (size_t)fs_idx_dtype_size(w->dtype)));
  PetscCall(fs_idx_pack(w->dtype, ids, n, w->pack));
  PetscCall(write_all(w->bin, w->pack, (size_t)n * (size_t)fs_idx_dtype_size(w->dtype), w->bin_path));
  PetscCall(grow((void **)&w->sizes, &w->cap_seqs, w->n_seqs + 1, sizeof *w->sizes));
  w->sizes[w->n_seqs++] = (int32_t)n;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_indexed_writer_end_document(struct fs_indexed_writer *w)
{
  PetscFunctionBegin;
  PetscCall(grow((void **)&w->doc_idx, &w->cap_doc_idx, w->n_doc_idx + 1, sizeof *w->doc_idx));
  w->doc_idx[w->n_doc_idx++] = w->n_seqs;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void writer_free(struct fs_indexed_writer *w)
{
  free(w->sizes);
  free(w->doc_idx);
  free(w->pack);
  free(w);
}

PetscErrorCode fs_indexed_writer_finish(struct fs_indexed_writer **w)
{
  struct fs_indexed_writer *x = *w;
  char idx_path[PETSC_MAX_PATH_LEN + 8];
  int rc;

  PetscFunctionBegin;
  if (!x) PetscFunctionReturn(PETSC_SUCCESS);
  *w = NULL;
  rc = fclose(x->bin);
  if (rc) {
    int e = errno;
    snprintf(idx_path, sizeof idx_path, "%s", x->bin_path);
    writer_free(x);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot close %s: %s (disk full?)", idx_path, strerror(e));
  }
  snprintf(idx_path, sizeof idx_path, "%s.idx", x->prefix);
  PetscErrorCode ierr = fs_indexed_write_index(idx_path, x->dtype, x->sizes, x->n_seqs, x->doc_idx, x->n_doc_idx);
  writer_free(x);
  PetscCall(ierr);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_indexed_writer_destroy(struct fs_indexed_writer **w)
{
  PetscFunctionBegin;
  if (*w) {
    fclose((*w)->bin);
    writer_free(*w);
    *w = NULL;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* ------------------------------------------------------------------ reader */

static uint64_t get_u64(const unsigned char *p)
{
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

/* maps a whole file read-only; an empty file maps to NULL */
static PetscErrorCode map_file(const char *path, void **map, int64_t *n_bytes)
{
  size_t n;

  PetscFunctionBegin;
  PetscCall(fs_map_file(path, NULL, map, &n));
  *n_bytes = (int64_t)n;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* checks the index against itself and the .bin length; errors name the file, the fault and the likely cause */
static PetscErrorCode validate(const struct fs_indexed *ds, const char *idx_path, const char *bin_path)
{
  int64_t item = fs_idx_dtype_size(ds->dtype), expect = 0;

  PetscFunctionBegin;
  for (int64_t i = 0; i < ds->n_seqs; i++) {
    FSCheck(ds->sizes[i] >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
            "%s is corrupt: sequence %" PRId64 " has a negative size %" PRId32, idx_path, i, ds->sizes[i]);
    FSCheck(ds->pointers[i] == expect, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
            "%s is corrupt: pointer of sequence %" PRId64 " is %" PRId64 " but the sizes before it add up to %" PRId64
            " bytes",
            idx_path, i, ds->pointers[i], expect);
    expect += (int64_t)ds->sizes[i] * item;
  }
  FSCheck(expect == ds->bin_bytes, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "%s does not match %s: the index describes %" PRId64 " bytes of %s tokens but the .bin holds %" PRId64
          " bytes (truncated copy, or .bin and .idx from different runs?)",
          bin_path, idx_path, expect, fs_idx_dtype_name(ds->dtype), ds->bin_bytes);
  FSCheck(ds->n_doc_idx >= 1 && ds->doc_idx[0] == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "%s is corrupt: doc_idx must start with 0 (it has %" PRId64 " entries, the first is %" PRId64 ")", idx_path,
          ds->n_doc_idx, ds->n_doc_idx ? ds->doc_idx[0] : -1);
  for (int64_t i = 1; i < ds->n_doc_idx; i++)
    FSCheck(ds->doc_idx[i] >= ds->doc_idx[i - 1] && ds->doc_idx[i] <= ds->n_seqs, PETSC_COMM_SELF,
            PETSC_ERR_FILE_UNEXPECTED,
            "%s is corrupt: doc_idx[%" PRId64 "] = %" PRId64 " after %" PRId64
            " (doc_idx must be non-decreasing and at most the %" PRId64 " sequences)",
            idx_path, i, ds->doc_idx[i], ds->doc_idx[i - 1], ds->n_seqs);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode open_maps(const char *prefix, struct fs_indexed *ds)
{
  char idx_path[PETSC_MAX_PATH_LEN + 8], bin_path[PETSC_MAX_PATH_LEN + 8];
  const unsigned char *p;
  uint64_t version, n_seqs, n_doc;
  int64_t body;

  PetscFunctionBegin;
  snprintf(idx_path, sizeof idx_path, "%s.idx", prefix);
  snprintf(bin_path, sizeof bin_path, "%s.bin", prefix);
  PetscCall(map_file(idx_path, &ds->idx_map, &ds->idx_map_bytes));
  p = ds->idx_map;
  FSCheck(ds->idx_map_bytes >= FS_IDX_HEADER_BYTES, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "%s is truncated: %" PRId64 " bytes, shorter than the %d-byte header of an indexed dataset", idx_path,
          ds->idx_map_bytes, FS_IDX_HEADER_BYTES);
  FSCheck(!memcmp(p, fs_idx_magic, FS_IDX_MAGIC_BYTES), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "%s is not a Megatron indexed dataset: wrong magic (expected \"MMIDIDX\\0\\0\"; the old 'cached'/'lazy' "
          "formats are not supported -- re-run flagscale-preprocess)",
          idx_path);
  version = get_u64(p + 9);
  FSCheck(version == 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "%s: unsupported index version %" PRIu64 " (only version 1 is known)", idx_path, version);
  ds->dtype = p[17];
  FSCheck(fs_idx_dtype_size(ds->dtype) > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "%s is corrupt: unknown dtype code %d (known: 1..8)", idx_path, ds->dtype);
  n_seqs = get_u64(p + 18);
  n_doc = get_u64(p + 26);
  body = ds->idx_map_bytes - FS_IDX_HEADER_BYTES;
  /* the bounds first, so the size arithmetic below cannot overflow */
  FSCheck(n_seqs <= (uint64_t)body / 12 && n_doc <= (uint64_t)body / 8 &&
            (int64_t)n_seqs * 12 + (int64_t)n_doc * 8 == body,
          PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "%s is truncated or corrupt: its header announces %" PRIu64 " sequences and %" PRIu64
          " doc_idx entries (%.0f bytes of arrays) but the file holds %" PRId64 " bytes after the header",
          idx_path, n_seqs, n_doc, 12.0 * (double)n_seqs + 8.0 * (double)n_doc, body);
  ds->n_seqs = (int64_t)n_seqs;
  ds->n_doc_idx = (int64_t)n_doc;
  PetscCall(map_file(bin_path, &ds->bin_map, &ds->bin_map_bytes));
  ds->bin = ds->bin_map;
  ds->bin_bytes = ds->bin_map_bytes;
  /* The arrays start at byte 34, misaligned for int32/int64: keep one aligned copy (20 bytes per sequence). */
  FSMalloc((size_t)ds->n_seqs * 12 + (size_t)ds->n_doc_idx * 8 + 8, &ds->index_copy);
  {
    char *c = ds->index_copy;
    int64_t *pointers = (int64_t *)c, *doc_idx = pointers + ds->n_seqs;
    int32_t *sizes = (int32_t *)(doc_idx + ds->n_doc_idx);
    memcpy(sizes, p + FS_IDX_HEADER_BYTES, (size_t)ds->n_seqs * 4);
    memcpy(pointers, p + FS_IDX_HEADER_BYTES + ds->n_seqs * 4, (size_t)ds->n_seqs * 8);
    memcpy(doc_idx, p + FS_IDX_HEADER_BYTES + ds->n_seqs * 12, (size_t)ds->n_doc_idx * 8);
    ds->sizes = sizes;
    ds->pointers = pointers;
    ds->doc_idx = doc_idx;
  }
  PetscCall(validate(ds, idx_path, bin_path));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_indexed_open(const char *prefix, struct fs_indexed **ds)
{
  struct fs_indexed *x;

  PetscFunctionBegin;
  *ds = NULL;
  FSCalloc(sizeof *x, &x);
  PetscErrorCode ierr = open_maps(prefix, x);
  if (ierr) {
    fs_indexed_close(&x);
    PetscCall(ierr);
  }
  *ds = x;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_indexed_close(struct fs_indexed **ds)
{
  struct fs_indexed *x = *ds;

  PetscFunctionBegin;
  if (!x) PetscFunctionReturn(PETSC_SUCCESS);
  fs_unmap_file(x->idx_map, (size_t)x->idx_map_bytes);
  fs_unmap_file(x->bin_map, (size_t)x->bin_map_bytes);
  free(x->index_copy);
  free(x);
  *ds = NULL;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_indexed_get(const struct fs_indexed *ds, int64_t i, int64_t offset, int64_t n, int32_t *out)
{
  int item = fs_idx_dtype_size(ds->dtype);
  const unsigned char *src;

  PetscFunctionBegin;
  FSCheck(i >= 0 && i < ds->n_seqs, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
          "sequence %" PRId64 " out of range: the dataset has %" PRId64 " sequences", i, ds->n_seqs);
  FSCheck(offset >= 0 && n >= 0 && offset + n <= ds->sizes[i], PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
          "tokens [%" PRId64 ", %" PRId64 ") out of range: sequence %" PRId64 " has %" PRId32 " tokens", offset,
          offset + n, i, ds->sizes[i]);
  src = (const unsigned char *)ds->bin + ds->pointers[i] + offset * item;
  /* memcpy per element: the .bin need not be aligned for the dtype (another writer may pad differently) */
  for (int64_t k = 0; k < n; k++, src += item) {
    switch (ds->dtype) {
    case FS_IDX_U8: out[k] = *src; break;
    case FS_IDX_I8: out[k] = (int8_t)*src; break;
    case FS_IDX_I16: {
      int16_t v;
      memcpy(&v, src, 2);
      out[k] = v;
    } break;
    case FS_IDX_U16: {
      uint16_t v;
      memcpy(&v, src, 2);
      out[k] = v;
    } break;
    case FS_IDX_I32: memcpy(&out[k], src, 4); break;
    case FS_IDX_I64: {
      int64_t v;
      memcpy(&v, src, 8);
      FSCheck(v >= INT32_MIN && v <= INT32_MAX, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
              "token %" PRId64 " of sequence %" PRId64 " is %" PRId64 ", outside int32", offset + k, i, v);
      out[k] = (int32_t)v;
    } break;
    case FS_IDX_F32: {
      float v;
      memcpy(&v, src, 4);
      FSCheck(v >= -2147483648.0f && v < 2147483648.0f && v == (float)(int32_t)v, PETSC_COMM_SELF,
              PETSC_ERR_ARG_OUTOFRANGE, "token %" PRId64 " of sequence %" PRId64 " is %g, not an int32 id",
              offset + k, i, (double)v);
      out[k] = (int32_t)v;
    } break;
    case FS_IDX_F64: {
      double v;
      memcpy(&v, src, 8);
      FSCheck(v >= -2147483648.0 && v < 2147483648.0 && v == (double)(int32_t)v, PETSC_COMM_SELF,
              PETSC_ERR_ARG_OUTOFRANGE, "token %" PRId64 " of sequence %" PRId64 " is %g, not an int32 id",
              offset + k, i, v);
      out[k] = (int32_t)v;
    } break;
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
