/* fs_npy.h -- numpy .npy files (format 1.0 written; 1.0/2.0/3.0 read), C order, little-endian, for the index
 * caches that Megatron keeps as .npy: numpy.load reads ours and we read numpy's.
 * Writing goes to PATH.tmp.<pid> first and is renamed into place, so a reader never sees half a file. */
#ifndef FS_NPY_H
#define FS_NPY_H

#include <stdint.h>
#include "fs_error.h"

#define FS_NPY_MAXDIM 4

/* descr is numpy's type string: "<i4", "<u4", "<i8", "|u1" ... */
PetscErrorCode fs_npy_write(const char *path, const char *descr, int ndim, const int64_t *shape, const void *data);

/* a file mapped read-only; data points past the header */
struct fs_npy {
  char descr[16];
  int ndim;
  int64_t shape[FS_NPY_MAXDIM];
  int64_t n_elem;
  const void *data;
  void *map;
  int64_t map_bytes;
};
/* maps PATH; a malformed or truncated file is an error that names it.  Check descr/shape yourself, or use
 * fs_npy_expect. */
PetscErrorCode fs_npy_open(const char *path, struct fs_npy **npy);
PetscErrorCode fs_npy_close(struct fs_npy **npy);
/* true when npy has this descr and shape (shape entries < 0 match anything) */
PetscBool fs_npy_matches(const struct fs_npy *npy, const char *descr, int ndim, const int64_t *shape);
int fs_npy_itemsize(const char *descr); /* 0 for an unknown descr */

#endif
