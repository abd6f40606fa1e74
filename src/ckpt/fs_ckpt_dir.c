/* fs_ckpt_dir.c -- Megatron's checkpoint directory: DIR/iter_%07d.h5, the tracker
 * DIR/latest_checkpointed_iteration.txt (written atomically, last), pruning of old checkpoints. */
#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fs_ckpt_impl.h"

PetscErrorCode fs_ckpt_path(char *buf, size_t n_bytes, const char *dir, int64_t iteration)
{
  int n;

  PetscFunctionBegin;
  FSCheck(iteration >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "checkpoint iteration %lld is negative",
          (long long)iteration);
  n = snprintf(buf, n_bytes, "%s/iter_%07lld.h5", dir, (long long)iteration);
  FSCheck(n > 0 && (size_t)n < n_bytes, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ,
          "checkpoint path %s/iter_%07lld.h5 is too long (%zu bytes at most)", dir, (long long)iteration, n_bytes);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode tracker_path(char *buf, size_t n_bytes, const char *dir, const char *suffix)
{
  int n;

  PetscFunctionBegin;
  n = snprintf(buf, n_bytes, "%s/%s%s", dir, FS_CKPT_TRACKER, suffix);
  FSCheck(n > 0 && (size_t)n < n_bytes, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "checkpoint directory %s: path too long",
          dir);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode tracker_write_local(const char *dir, int64_t iteration)
{
  char tmp[4096], final[4096];
  FILE *f;
  int ok;

  PetscFunctionBegin;
  PetscCall(tracker_path(tmp, sizeof tmp, dir, ".tmp"));
  PetscCall(tracker_path(final, sizeof final, dir, ""));
  f = fopen(tmp, "w");
  FSCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s: %s (does the directory exist?)", tmp,
          strerror(errno));
  ok = fprintf(f, "%lld\n", (long long)iteration) > 0;
  ok = fflush(f) == 0 && ok;
  ok = fsync(fileno(f)) == 0 && ok;
  ok = fclose(f) == 0 && ok;
  if (!ok) unlink(tmp);
  FSCheck(ok, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "writing %s failed: %s", tmp, strerror(errno));
  FSCallSys(rename(tmp, final), "renaming the checkpoint tracker into place");
  PetscCall(fs_ckpt_fsync_path(dir));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_ckpt_write_tracker(MPI_Comm comm, const char *dir, int64_t iteration)
{
  int rank;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(fs_ckpt_agree(comm, rank ? PETSC_SUCCESS : tracker_write_local(dir, iteration)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* *iteration = -1 when there is no tracker */
static PetscErrorCode tracker_read_local(const char *dir, int64_t *iteration)
{
  char path[4096], text[64], *p, *end;
  size_t n;
  FILE *f;
  long long v;

  PetscFunctionBegin;
  *iteration = -1;
  PetscCall(tracker_path(path, sizeof path, dir, ""));
  f = fopen(path, "r");
  if (!f) {
    FSCheck(errno == ENOENT, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot read %s: %s", path, strerror(errno));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = 0;
  for (p = text; isspace((unsigned char)*p); p++) continue;
  FSCheck(strncmp(p, "release", 7), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "%s says 'release' (a Megatron release checkpoint); FlagScale-C checkpoints record an iteration number",
          path);
  errno = 0;
  v = strtoll(p, &end, 10);
  while (isspace((unsigned char)*end)) end++;
  FSCheck(isdigit((unsigned char)*p) && !*end && errno == 0 && n < sizeof text - 1, PETSC_COMM_SELF,
          PETSC_ERR_FILE_UNEXPECTED,
          "%s does not hold an iteration number (it should contain just e.g. 1000); fix or delete it", path);
  *iteration = v;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_ckpt_read_tracker(MPI_Comm comm, const char *dir, int64_t *iteration, PetscBool *found)
{
  int rank;
  int64_t it = -1;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(fs_ckpt_agree(comm, rank ? PETSC_SUCCESS : tracker_read_local(dir, &it)));
  PetscCallMPI(MPI_Bcast(&it, 1, MPI_INT64_T, 0, comm));
  *found = it >= 0 ? PETSC_TRUE : PETSC_FALSE;
  *iteration = it >= 0 ? it : 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static int cmp_desc(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? 1 : x > y ? -1 : 0;
}

/* iteration of "iter_NNNNNNN.h5" (7 or more digits), else -1 */
static int64_t iter_of(const char *name)
{
  const char *p = name + 5;
  int64_t v = 0;
  int digits = 0;
  if (strncmp(name, "iter_", 5)) return -1;
  for (; isdigit((unsigned char)*p) && digits < 18; p++, digits++) v = v * 10 + (*p - '0');
  return digits >= 7 && !strcmp(p, ".h5") ? v : -1;
}

static PetscErrorCode prune_local(const char *dir, int keep, int *n_removed)
{
  DIR *d;
  struct dirent *e;
  int64_t *its = NULL, tracked;
  size_t n = 0, cap = 0;
  char path[4096];

  PetscFunctionBegin;
  *n_removed = 0;
  PetscCall(tracker_read_local(dir, &tracked));
  d = opendir(dir);
  FSCheck(d, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot list checkpoint directory %s: %s", dir, strerror(errno));
  while ((e = readdir(d))) {
    int64_t it = iter_of(e->d_name);
    if (it < 0) continue;
    if (n == cap) {
      int64_t *t = realloc(its, (cap = cap ? 2 * cap : 64) * sizeof *its);
      if (!t) {
        free(its);
        closedir(d);
        SETERRQ(PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory");
      }
      its = t;
    }
    its[n++] = it;
  }
  closedir(d);
  if (n) qsort(its, n, sizeof *its, cmp_desc);
  for (size_t i = (size_t)keep; i < n; i++) {
    if (its[i] == tracked) continue;
    snprintf(path, sizeof path, "%s/iter_%07lld.h5", dir, (long long)its[i]);
    if (unlink(path) == 0) (*n_removed)++;
    else if (errno != ENOENT) {
      free(its);
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot delete old checkpoint %s: %s", path, strerror(errno));
    }
  }
  free(its);
  if (*n_removed) PetscCall(fs_ckpt_fsync_path(dir));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_ckpt_prune(MPI_Comm comm, const char *dir, int keep, int *n_removed)
{
  int rank, removed = 0;

  PetscFunctionBegin;
  FSCheck(keep >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "fs_ckpt_prune: keep must be >= 1 (got %d)", keep);
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(fs_ckpt_agree(comm, rank ? PETSC_SUCCESS : prune_local(dir, keep, &removed)));
  PetscCallMPI(MPI_Bcast(&removed, 1, MPI_INT, 0, comm));
  if (n_removed) *n_removed = removed;
  PetscFunctionReturn(PETSC_SUCCESS);
}
