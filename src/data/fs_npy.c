/* fs_npy.c -- .npy write (via temp file + rename) and read (mmap) */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fs_npy.h"
#include "fs_file.h"

static const char npy_magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

int fs_npy_itemsize(const char *descr)
{
  if (!descr || strlen(descr) < 3 || !strchr("<|=", descr[0])) return 0;
  if (!strchr("iuf", descr[1])) return 0;
  int n = atoi(descr + 2);
  return (n == 1 || n == 2 || n == 4 || n == 8) ? n : 0;
}

static int64_t shape_elems(int ndim, const int64_t *shape)
{
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) n *= shape[i];
  return n;
}

PetscErrorCode fs_npy_write(const char *path, const char *descr, int ndim, const int64_t *shape, const void *data)
{
  char header[512], shp[256] = "", tmp[4096];
  int len = 0, isz = fs_npy_itemsize(descr);

  PetscFunctionBegin;
  FSCheck(isz > 0 && ndim >= 1 && ndim <= FS_NPY_MAXDIM, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
          "fs_npy_write(%s): unsupported descr '%s' or ndim %d", path, descr, ndim);
  for (int i = 0; i < ndim; i++)
    len += snprintf(shp + len, sizeof shp - (size_t)len, "%" PRId64 "%s", shape[i],
                    ndim == 1 ? "," : (i + 1 < ndim ? ", " : ""));
  len = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, shp);
  /* pad with spaces so that magic(6) + version(2) + length(2) + header ends on a 64-byte boundary, as numpy does */
  int total = 10 + len + 1;
  int padded = (total + 63) / 64 * 64;
  memset(header + len, ' ', (size_t)(padded - total));
  len += padded - total;
  header[len++] = '\n';

  FSCheck(snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) < (int)sizeof tmp, PETSC_COMM_SELF,
          PETSC_ERR_ARG_SIZ, "path too long: %s", path);
  FILE *f = fopen(tmp, "wb");
  FSCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot create %s: %s (is the cache directory writable?)", tmp,
          strerror(errno));
  unsigned char pre[10];
  memcpy(pre, npy_magic, 6);
  pre[6] = 1;
  pre[7] = 0;
  pre[8] = (unsigned char)(len & 0xff);
  pre[9] = (unsigned char)(len >> 8);
  size_t n_bytes = (size_t)shape_elems(ndim, shape) * (size_t)isz;
  int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(header, 1, (size_t)len, f) == (size_t)len &&
           (n_bytes == 0 || fwrite(data, 1, n_bytes, f) == n_bytes) && fflush(f) == 0 && fsync(fileno(f)) == 0;
  int err = errno;
  ok = (fclose(f) == 0) && ok;
  if (!ok) {
    unlink(tmp);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "writing %s failed: %s (disk full?)", tmp, strerror(err));
  }
  FSCallSys(rename(tmp, path), path);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* the value text after 'key': in a header dict, or NULL */
static const char *dict_value(const char *h, const char *key)
{
  char k[32];
  snprintf(k, sizeof k, "'%s':", key);
  const char *p = strstr(h, k);
  if (!p) return NULL;
  p += strlen(k);
  while (*p == ' ') p++;
  return p;
}

static PetscErrorCode parse_header(struct fs_npy *npy, const char *h, const char *path)
{
  const char *d = dict_value(h, "descr"), *fo = dict_value(h, "fortran_order"), *sh = dict_value(h, "shape");

  PetscFunctionBegin;
  FSCheck(d && fo && sh && *d == '\'' && *sh == '(', PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "%s: not a .npy header this reader understands: %s", path, h);
  const char *e = strchr(d + 1, '\'');
  FSCheck(e && e - d - 1 < (int)sizeof npy->descr, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: bad descr",
          path);
  memcpy(npy->descr, d + 1, (size_t)(e - d - 1));
  npy->descr[e - d - 1] = 0;
  FSCheck(fs_npy_itemsize(npy->descr) > 0 && npy->descr[0] != '>', PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "%s: unsupported dtype '%s' (need little-endian integers or floats)", path, npy->descr);
  FSCheck(strncmp(fo, "False", 5) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "%s: Fortran-ordered arrays are not supported", path);
  const char *p = sh + 1;
  npy->ndim = 0;
  while (1) {
    while (*p == ' ' || *p == ',') p++;
    if (*p == ')') break;
    char *end;
    long long v = strtoll(p, &end, 10);
    FSCheck(end != p && v >= 0 && npy->ndim < FS_NPY_MAXDIM, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
            "%s: bad shape in header %s", path, h);
    npy->shape[npy->ndim++] = v;
    p = end;
  }
  npy->n_elem = shape_elems(npy->ndim, npy->shape);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_npy_open(const char *path, struct fs_npy **npy_out)
{
  struct fs_npy *npy = NULL;
  void *map;
  size_t n_map;

  PetscFunctionBegin;
  *npy_out = NULL;
  PetscCall(fs_map_file(path, NULL, &map, &n_map)); /* an empty file is not a valid .npy file, below */
  FSCalloc(sizeof *npy, &npy);
  npy->map = map;
  npy->map_bytes = (int64_t)n_map;
  const unsigned char *b = map;
  int64_t hlen = -1, hstart = 0;
  if (n_map >= 10 && memcmp(b, npy_magic, 6) == 0) {
    if (b[6] == 1) {
      hlen = b[8] | b[9] << 8;
      hstart = 10;
    } else if ((b[6] == 2 || b[6] == 3) && n_map >= 12) {
      hlen = (int64_t)b[8] | (int64_t)b[9] << 8 | (int64_t)b[10] << 16 | (int64_t)b[11] << 24;
      hstart = 12;
    }
  }
  PetscErrorCode ierr = PETSC_SUCCESS;
  if (hlen < 0 || hstart + hlen > npy->map_bytes || hlen > 65536) {
    ierr = PETSC_ERR_FILE_UNEXPECTED;
  } else {
    char h[65537];
    memcpy(h, b + hstart, (size_t)hlen);
    h[hlen] = 0;
    ierr = parse_header(npy, h, path);
    int64_t need = hstart + hlen + npy->n_elem * fs_npy_itemsize(npy->descr);
    if (!ierr && need > npy->map_bytes) ierr = PETSC_ERR_FILE_UNEXPECTED;
    npy->data = b + hstart + hlen;
  }
  if (ierr) {
    fs_unmap_file(map, n_map);
    free(npy);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
            "%s is not a valid .npy file or is truncated; delete it and it will be rebuilt", path);
  }
  *npy_out = npy;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_npy_close(struct fs_npy **npy)
{
  PetscFunctionBegin;
  if (*npy) {
    fs_unmap_file((*npy)->map, (size_t)(*npy)->map_bytes);
    FSFree(npy);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscBool fs_npy_matches(const struct fs_npy *npy, const char *descr, int ndim, const int64_t *shape)
{
  if (!npy || strcmp(npy->descr, descr) != 0 || npy->ndim != ndim) return PETSC_FALSE;
  for (int i = 0; i < ndim; i++)
    if (shape[i] >= 0 && npy->shape[i] != shape[i]) return PETSC_FALSE;
  return PETSC_TRUE;
}
