/* fs_ckpt_util.c -- error agreement across ranks, HDF5 error text, the bf16 file type, fsync helpers */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fs_ckpt_impl.h"

PetscErrorCode fs_ckpt_agree(MPI_Comm comm, PetscErrorCode local)
{
  int rank, size, me, first;
  char msg[2048] = "";

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  me = local ? rank : size;
  PetscCallMPI(MPI_Allreduce(&me, &first, 1, MPI_INT, MPI_MIN, comm));
  if (first == size) PetscFunctionReturn(PETSC_SUCCESS);
  if (rank == first) {
    char *specific = NULL;
    PetscErrorMessage(local, NULL, &specific);
    snprintf(msg, sizeof msg, "%s", specific && *specific ? specific : "unknown error (see rank's traceback)");
  }
  PetscCallMPI(MPI_Bcast(msg, (int)sizeof msg, MPI_CHAR, first, comm));
  if (rank == first) SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s", msg);
  SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s [reported by rank %d]", msg, first);
}

struct h5_walk {
  char *buf;
  size_t n_bytes;
};

static herr_t h5_walk_cb(unsigned n, const H5E_error2_t *e, void *data)
{
  struct h5_walk *w = data;
  if (n == 0 && e->desc) snprintf(w->buf, w->n_bytes, "%s (in %s)", e->desc, e->func_name ? e->func_name : "?");
  return 0;
}

void fs_ckpt_h5_error(char *buf, size_t n_bytes)
{
  struct h5_walk w = {buf, n_bytes};
  buf[0] = 0;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, h5_walk_cb, &w);
  if (!buf[0]) snprintf(buf, n_bytes, "no HDF5 error description");
}

hid_t fs_ckpt_bf16_type(void)
{
  hid_t t = H5Tcopy(H5T_IEEE_F32LE);
  /* fields first (they fit in 16 bits), then shrink precision and size */
  if (t < 0 || H5Tset_fields(t, 15, 7, 8, 0, 7) < 0 || H5Tset_precision(t, 16) < 0 || H5Tset_size(t, 2) < 0 ||
      H5Tset_ebias(t, 127) < 0) {
    if (t >= 0) H5Tclose(t);
    return -1;
  }
  return t;
}

enum fs_dtype fs_ckpt_dtype_of(hid_t type)
{
  size_t spos, epos, esize, mpos, msize;
  if (H5Tget_class(type) != H5T_FLOAT) return FS_DTYPE_COUNT;
  if (H5Tget_fields(type, &spos, &epos, &esize, &mpos, &msize) < 0) return FS_DTYPE_COUNT;
  if (H5Tget_order(type) != H5T_ORDER_LE) return FS_DTYPE_COUNT;
  if (H5Tget_size(type) == 4 && esize == 8 && msize == 23) return FS_DTYPE_F32;
  if (H5Tget_size(type) == 2 && spos == 15 && epos == 7 && esize == 8 && mpos == 0 && msize == 7 &&
      H5Tget_ebias(type) == 127)
    return FS_DTYPE_BF16;
  return FS_DTYPE_COUNT;
}

PetscErrorCode fs_ckpt_fsync_path(const char *path)
{
  int fd;

  PetscFunctionBegin;
  fd = open(path, O_RDONLY);
  FSCheck(fd >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open %s to fsync it: %s", path, strerror(errno));
  if (fsync(fd) < 0) {
    int e = errno;
    close(fd);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "fsync %s: %s (is the disk full or failing?)", path, strerror(e));
  }
  close(fd);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_ckpt_dirname(const char *path, char **dir)
{
  const char *slash = strrchr(path, '/');

  PetscFunctionBegin;
  if (!slash) {
    *dir = strdup(".");
  } else if (slash == path) {
    *dir = strdup("/");
  } else {
    *dir = strndup(path, (size_t)(slash - path));
  }
  FSCheck(*dir, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory copying %s", path);
  PetscFunctionReturn(PETSC_SUCCESS);
}
