/* fs_file.c -- memory-mapped files (fs_file.h) */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fs_file.h"

PetscErrorCode fs_map_file(const char *path, const char *what, void **map, size_t *n_bytes)
{
  const char *sp = what ? " " : "";
  struct stat st;
  int fd, e;

  PetscFunctionBegin;
  *map = NULL;
  *n_bytes = 0;
  if (!what) what = "";
  fd = open(path, O_RDONLY);
  FSCheck(fd >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open %s%s%s: %s", what, sp, path, strerror(errno));
  if (fstat(fd, &st) < 0) {
    e = errno;
    close(fd);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "cannot stat %s%s%s: %s", what, sp, path, strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN,
            "%s%s%s is not a regular file: it cannot be memory-mapped (decompress it first, e.g. xz -dk)", what, sp,
            path);
  }
  if (st.st_size == 0) {
    close(fd);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  e = errno;
  close(fd);
  FSCheck(p != MAP_FAILED, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "cannot memory-map %s%s%s (%lld bytes): %s", what,
          sp, path, (long long)st.st_size, strerror(e));
  *map = p;
  *n_bytes = (size_t)st.st_size;
  PetscFunctionReturn(PETSC_SUCCESS);
}

void fs_unmap_file(void *map, size_t n_bytes)
{
  if (map) munmap(map, n_bytes);
}
