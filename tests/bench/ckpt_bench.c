/* ckpt_bench.c -- checkpoint write/read throughput vs a plain sequential write/read of the same bytes on the
 * same disk, in the same run.
 *   mpirun -n 2 ckpt_bench [-dir D] [-mb 1024] [-tensors 8]
 * Writes `tensors` f32 tensors of (rows, 4096) totalling about `mb` MiB, half split along dim 0 and half along
 * dim 1 (row- and column-parallel blocks), fsynced and renamed by fs_ckpt_finish; reads them back with the
 * other split; then rank 0 writes the same number of bytes with write() in 4 MiB blocks + fsync, and reads them
 * back.  Before each read the file's (clean, fsynced) pages are dropped from the page cache with
 * posix_fadvise(DONTNEED), so both reads come from the disk. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fs_ckpt.h"

static PetscErrorCode plain_write(const char *path, int64_t n_bytes, double *seconds)
{
  size_t blk = (size_t)4 << 20;
  char *buf;
  double t0 = MPI_Wtime();
  int fd;

  PetscFunctionBegin;
  FSMalloc(blk, &buf);
  for (size_t i = 0; i < blk; i++) buf[i] = (char)(i * 7);
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  FSCallSys(fd, path);
  for (int64_t done = 0; done < n_bytes; done += (int64_t)blk) {
    size_t n = (size_t)(n_bytes - done < (int64_t)blk ? n_bytes - done : (int64_t)blk);
    FSCheck(write(fd, buf, n) == (ssize_t)n, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "write %s", path);
  }
  FSCallSys(fsync(fd), path);
  close(fd);
  *seconds = MPI_Wtime() - t0;
  free(buf);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void drop_cache(const char *path)
{
  int fd = open(path, O_RDONLY);
  if (fd >= 0) {
    fdatasync(fd);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
  }
}

static PetscErrorCode plain_read(const char *path, double *seconds)
{
  size_t blk = (size_t)4 << 20;
  char *buf;
  double t0 = MPI_Wtime();
  ssize_t n;
  int fd;

  PetscFunctionBegin;
  FSMalloc(blk, &buf);
  fd = open(path, O_RDONLY);
  FSCallSys(fd, path);
  while ((n = read(fd, buf, blk)) > 0) continue;
  close(fd);
  *seconds = MPI_Wtime() - t0;
  free(buf);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode run(MPI_Comm comm, const char *dir, int mb, int n_tensors)
{
  int rank, size;
  const int64_t cols = 4096;
  int64_t rows = (int64_t)mb * (1 << 20) / 4 / cols / n_tensors, shape[2] = {rows, cols};
  char path[1024], plain[1024];
  struct fs_ckpt_writer *w;
  struct fs_ckpt_reader *r;
  float *buf;
  double t_write, t_read, t_pw = 0, t_pr = 0, bytes = (double)rows * cols * 4 * n_tensors;

  PetscFunctionBegin;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  FSMalloc((size_t)(rows * cols * 4), &buf);
  for (int64_t i = 0; i < rows * cols; i++) buf[i] = (float)(i % 10007) * 0.5f;
  snprintf(path, sizeof path, "%s/ckpt_bench_%d.h5", dir, (int)getpid());
  MPI_Bcast(path, sizeof path, MPI_CHAR, 0, comm);
  snprintf(plain, sizeof plain, "%s.plain", path);

  MPI_Barrier(comm);
  double t0 = MPI_Wtime();
  PetscCall(fs_ckpt_create(comm, path, &w));
  for (int k = 0; k < n_tensors; k++) {
    int d = k % 2; /* even: rows split (column-parallel weight), odd: columns split (row-parallel weight) */
    int64_t start[2] = {0, 0}, count[2] = {rows, cols};
    start[d] = shape[d] * rank / size;
    count[d] = shape[d] * (rank + 1) / size - start[d];
    char name[64];
    snprintf(name, sizeof name, "/model/layers.%d.weight", k);
    PetscCall(fs_ckpt_write(w, name, FS_DTYPE_F32, 2, shape, start, count, buf));
  }
  PetscCall(fs_ckpt_finish(&w));
  t_write = MPI_Wtime() - t0;
  if (!rank) drop_cache(path);

  MPI_Barrier(comm);
  t0 = MPI_Wtime();
  PetscCall(fs_ckpt_open(comm, path, &r));
  for (int k = 0; k < n_tensors; k++) {
    int d = 1 - k % 2;
    int64_t start[2] = {0, 0}, count[2] = {rows, cols};
    start[d] = shape[d] * rank / size;
    count[d] = shape[d] * (rank + 1) / size - start[d];
    char name[64];
    snprintf(name, sizeof name, "/model/layers.%d.weight", k);
    PetscCall(fs_ckpt_read(r, name, 2, shape, start, count, buf));
  }
  PetscCall(fs_ckpt_close(&r));
  MPI_Barrier(comm);
  t_read = MPI_Wtime() - t0;

  if (!rank) {
    PetscCall(plain_write(plain, (int64_t)bytes, &t_pw));
    drop_cache(plain);
    PetscCall(plain_read(plain, &t_pr));
    unlink(plain);
    unlink(path);
    printf("ckpt_bench: %d ranks, %d tensors of (%lld, %lld) f32 = %.3f GB in %s\n", size, n_tensors,
           (long long)rows, (long long)cols, bytes / 1e9, dir);
    printf("  write: checkpoint %.2f GB/s (%.2f s), plain write+fsync %.2f GB/s (%.2f s): ratio %.0f%%\n",
           bytes / 1e9 / t_write, t_write, bytes / 1e9 / t_pw, t_pw, 100.0 * t_pw / t_write);
    printf("  read:  checkpoint %.2f GB/s (%.2f s), plain read %.2f GB/s (%.2f s): ratio %.0f%%\n",
           bytes / 1e9 / t_read, t_read, bytes / 1e9 / t_pr, t_pr, 100.0 * t_pr / t_read);
    printf("RESULT {\"bench\":\"ckpt\",\"ranks\":%d,\"gb\":%.3f,\"write_gbs\":%.3f,\"plain_write_gbs\":%.3f,"
           "\"write_ratio\":%.3f,\"read_gbs\":%.3f,\"plain_read_gbs\":%.3f,\"read_ratio\":%.3f}\n",
           size, bytes / 1e9, bytes / 1e9 / t_write, bytes / 1e9 / t_pw, t_pw / t_write, bytes / 1e9 / t_read,
           bytes / 1e9 / t_pr, t_pr / t_read);
  }
  free(buf);
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv)
{
  char dir[512] = ".";
  PetscInt mb = 1024, n_tensors = 8;
  PetscErrorCode ierr;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-dir", dir, sizeof dir, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-mb", &mb, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-tensors", &n_tensors, NULL));
  ierr = run(PETSC_COMM_WORLD, dir, (int)mb, (int)n_tensors);
  if (ierr) MPI_Abort(PETSC_COMM_WORLD, 1);
  PetscCall(PetscFinalize());
  return 0;
}
