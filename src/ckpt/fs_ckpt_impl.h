/* fs_ckpt_impl.h -- internals shared by the checkpoint writer, reader and directory helpers (not installed) */
#ifndef FS_CKPT_IMPL_H
#define FS_CKPT_IMPL_H

#include <stdio.h>
#include <hdf5.h>
#include "fs_ckpt.h"

/* The first bytes of every checkpoint are an HDF5 user block holding a text index written by fs_ckpt_finish
 * after the HDF5 file is closed: the final file size and, per tensor, the byte range of its data.  It lives
 * at the start of the file so that a truncated file still tells which tensors were cut off (HDF5 itself
 * refuses to open it without saying what was lost). */
#define FS_CKPT_USERBLOCK ((size_t)1 << 20)
#define FS_CKPT_INDEX_MAGIC "FLAGSCALE-CKPT-INDEX 1\n"
#define FS_CKPT_CHECKSUM_BLOCK ((int64_t)1 << 20) /* default elements per checksum block */

struct fs_ckpt_writer {
  MPI_Comm comm; /* duplicate of the caller's */
  int rank, size;
  char *final_path, *tmp_path;
  hid_t file, dxpl;
  double t_start, n_bytes; /* global tensor bytes written */
  int64_t checksum_block;  /* elements per checksum block */
  char **names;            /* tensors written, in order (for the index) */
  int n_names, cap_names;
  int io_failed;           /* an HDF5 write failed (disk full, quota): the file cannot be closed collectively */
};

struct fs_ckpt_reader {
  MPI_Comm comm;
  int rank, size;
  char *path;
  hid_t file, dxpl;
  int fd;                  /* the same file, for reading whole checksum blocks */
  double n_bytes, seconds; /* this rank's reads */
};

/* If `local` is an error on any rank, every rank returns an error with the message of the lowest failing
 * rank.  Call it between phases so that no rank enters a collective call that another has left. */
PetscErrorCode fs_ckpt_agree(MPI_Comm comm, PetscErrorCode local);
/* the innermost description on HDF5's current error stack ("" when empty) */
void fs_ckpt_h5_error(char *buf, size_t n_bytes);
/* an HDF5 float type with bf16's layout (sign 1, exponent 8, mantissa 7, bias 127); close with H5Tclose */
hid_t fs_ckpt_bf16_type(void);
/* FS_DTYPE_F32 / FS_DTYPE_BF16 from a dataset's type; FS_DTYPE_COUNT when it is neither */
enum fs_dtype fs_ckpt_dtype_of(hid_t type);
/* fsync a path (a file or a directory) */
PetscErrorCode fs_ckpt_fsync_path(const char *path);
/* the directory part of path, for fsync after rename (malloc'ed) */
PetscErrorCode fs_ckpt_dirname(const char *path, char **dir);

/* sums[b] += checksum of the hyperslab's elements in block b (and counts[b] += how many, if counts);
 * data holds the stored representation (uint32 for f32, uint16 for bf16), row-major over the block */
void fs_ckpt_sum_block(uint64_t *sums, int64_t *counts, int64_t block, int ndim, const int64_t shape[],
                       const int64_t start[], const int64_t count[], const void *data, size_t elsize);

/* HDF5 call with context: "ctx: call failed (HDF5: innermost description)" */
#define FSCkptH5(call, ...) \
  do { \
    if ((call) < 0) { \
      char fs_h5_[256], fs_ctx_[1024]; \
      fs_ckpt_h5_error(fs_h5_, sizeof fs_h5_); \
      snprintf(fs_ctx_, sizeof fs_ctx_, __VA_ARGS__); \
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_LIB, "%s: %s failed (HDF5: %s)", fs_ctx_, #call, fs_h5_); \
    } \
  } while (0)

#endif
