/* fs_gpt_cache.c -- the GPT index cache (Megatron's <md5>.dsc + <md5>_{doc,sample,shuffle}_idx.npy): rank 0
 * finds or builds it, every rank maps it */
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fs_gpt_dataset.h"
#include "fs_md5.h"
#include "fs_npy.h"

#define DESC_MAX 8192
static const char *const kind_suffix[3] = {"_doc_idx.npy", "_sample_idx.npy", "_shuffle_idx.npy"};

int fs_gpt_description(char *buf, size_t n_bytes, const char *data_prefix, const char *name, int64_t num_samples,
                       int64_t seq_length, uint32_t seed, const char *splits)
{
  return snprintf(buf, n_bytes,
                  "GPT Dataset\n\nData prefix %s\nDataset name %s\nNumber of samples %" PRId64
                  "\nSequence length %" PRId64 "\nRandom seed %" PRIu32 "\nSplit %s\n",
                  data_prefix, name, num_samples, seq_length, seed, splits);
}

/* the paths of one cache set in dir */
struct cache_paths {
  char desc[4096], arr[3][4096];
};

static PetscErrorCode cache_paths_make(struct cache_paths *p, const char *dir, const char *hash)
{
  PetscFunctionBegin;
  int n = snprintf(p->desc, sizeof p->desc, "%s/%s.dsc", dir, hash);
  FSCheck(n < (int)sizeof p->desc, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "cache path too long: %s", dir);
  for (int i = 0; i < 3; i++) snprintf(p->arr[i], sizeof p->arr[i], "%s/%s%s", dir, hash, kind_suffix[i]);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* whole file into buf (NUL-terminated); -1 when missing or larger than buf */
static long read_small_file(const char *path, char *buf, size_t n_bytes)
{
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  size_t n = fread(buf, 1, n_bytes - 1, f);
  int more = fgetc(f) != EOF;
  fclose(f);
  if (more) return -1;
  buf[n] = 0;
  return (long)n;
}

/* the shapes and dtypes the index must have: what a rebuild would produce */
struct expect {
  int64_t n_doc_idx, n_samples, n_sizes;
  int shuffle_i64;
};

static PetscErrorCode expect_compute(struct expect *e, const struct fs_gpt_index_args *a, const int32_t *sizes,
                                     int64_t n_sizes, const int32_t *documents, int64_t n_documents)
{
  int64_t tokens = 0, epochs;

  PetscFunctionBegin;
  for (int64_t i = 0; i < n_documents; i++) {
    FSCheck(documents[i] >= 0 && documents[i] < n_sizes, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
            "document id %d at position %lld is outside the dataset's %lld documents", documents[i], (long long)i,
            (long long)n_sizes);
    tokens += sizes[documents[i]];
  }
  PetscCall(fs_gpt_num_epochs(&epochs, tokens, a->seq_length, a->num_samples));
  e->n_doc_idx = epochs * n_documents;
  e->n_sizes = n_sizes;
  e->n_samples = (epochs * tokens - 1) / a->seq_length;
  e->shuffle_i64 = fs_gpt_shuffle_is_i64(e->n_samples);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* maps the three arrays of a cache set; *ok = false (and nothing kept) when a file is missing, malformed or of
 * the wrong dtype/shape -- a stale or foreign cache, rebuilt by the caller */
static PetscErrorCode cache_map(const struct cache_paths *p, const struct expect *e, struct fs_npy *maps[3],
                                PetscBool *ok)
{
  int64_t shp[3][2] = {{e->n_doc_idx, 0}, {e->n_samples + 1, 2}, {e->n_samples, 0}};
  const char *descr[3] = {"<i4", "<i4", e->shuffle_i64 ? "<i8" : "<u4"};
  int ndim[3] = {1, 2, 1};

  PetscFunctionBegin;
  *ok = PETSC_TRUE;
  for (int i = 0; i < 3 && *ok; i++) {
    if (access(p->arr[i], R_OK) != 0) {
      *ok = PETSC_FALSE;
      break;
    }
    PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL)); /* a bad file is a rebuild, not noise */
    PetscErrorCode ierr = fs_npy_open(p->arr[i], &maps[i]);
    PetscCall(PetscPopErrorHandler());
    if (ierr || !fs_npy_matches(maps[i], descr[i], ndim[i], shp[i])) *ok = PETSC_FALSE;
  }
  if (!*ok)
    for (int i = 0; i < 3; i++) PetscCall(fs_npy_close(&maps[i]));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* a cache set is valid when its description is exactly ours and its arrays have the expected shapes */
static PetscErrorCode cache_probe(const char *dir, const char *hash, const char *desc, const struct expect *e,
                                  PetscBool *ok)
{
  struct cache_paths p;
  char *have = NULL;
  struct fs_npy *maps[3] = {NULL, NULL, NULL};

  PetscFunctionBegin;
  *ok = PETSC_FALSE;
  PetscCall(cache_paths_make(&p, dir, hash));
  FSMalloc(DESC_MAX, &have);
  if (read_small_file(p.desc, have, DESC_MAX) >= 0 && strcmp(have, desc) == 0) {
    PetscCall(cache_map(&p, e, maps, ok));
    /* same shapes but other data (Megatron's description does not cover the documents): ids out of range */
    const int32_t *doc_idx = *ok ? maps[0]->data : NULL;
    for (int64_t i = 0; *ok && i < e->n_doc_idx; i++)
      if (doc_idx[i] < 0 || doc_idx[i] >= e->n_sizes) *ok = PETSC_FALSE;
    for (int i = 0; i < 3; i++) PetscCall(fs_npy_close(&maps[i]));
  }
  free(have);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode mkdir_p(const char *dir)
{
  char tmp[4096];

  PetscFunctionBegin;
  FSCheck(strlen(dir) < sizeof tmp, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "path too long: %s", dir);
  strcpy(tmp, dir);
  for (char *s = tmp + 1; *s; s++) {
    if (*s != '/') continue;
    *s = 0;
    if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot create directory %s: %s", tmp, strerror(errno));
    *s = '/';
  }
  if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN,
            "cannot create the index cache directory %s: %s (set -data_cache_path to a writable directory)", tmp,
            strerror(errno));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode cache_write(const char *dir, const char *hash, const char *desc, const struct fs_gpt_index *ix)
{
  struct cache_paths p;
  char tmp[4200];

  PetscFunctionBegin;
  PetscCall(mkdir_p(dir));
  PetscCall(cache_paths_make(&p, dir, hash));
  unlink(p.desc); /* a half-replaced set must not look valid: the description goes last */
  int64_t s0[1] = {ix->n_doc_idx}, s1[2] = {ix->n_samples + 1, 2}, s2[1] = {ix->n_samples};
  PetscCall(fs_npy_write(p.arr[0], "<i4", 1, s0, ix->doc_idx));
  PetscCall(fs_npy_write(p.arr[1], "<i4", 2, s1, ix->sample_idx));
  PetscCall(fs_npy_write(p.arr[2], ix->shuffle_i64 ? "<i8" : "<u4", 1, s2, ix->shuffle_idx));
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", p.desc, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  FSCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot create %s: %s", tmp, strerror(errno));
  int ok = fputs(desc, f) >= 0;
  ok = (fclose(f) == 0) && ok;
  FSCheck(ok, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "writing %s failed (disk full?)", tmp);
  FSCallSys(rename(tmp, p.desc), p.desc);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Megatron's search order: <dirname(prefix)>/index-cache, then cache_dir; builds in the last one looked in */
static void cache_dirs(char dirs[2][4096], int *n, const struct fs_gpt_index_args *a)
{
  char copy[4096];
  snprintf(copy, sizeof copy, "%s", a->data_prefix);
  snprintf(dirs[0], sizeof dirs[0], "%s/index-cache", dirname(copy));
  *n = 1;
  if (a->cache_dir && a->cache_dir[0]) snprintf(dirs[(*n)++], sizeof dirs[0], "%s", a->cache_dir);
}

/* rank 0's part: find a valid set or build one; dir_out gets the directory to map */
static PetscErrorCode root_find_or_build(char *dir_out, PetscBool *built, const struct fs_gpt_index_args *a,
                                         const char *hash, const char *desc, const struct expect *e,
                                         const int32_t *sizes, int64_t n_sizes, const int32_t *documents,
                                         int64_t n_documents)
{
  char dirs[2][4096];
  int n_dirs;
  PetscBool ok = PETSC_FALSE;

  PetscFunctionBegin;
  cache_dirs(dirs, &n_dirs, a);
  *built = PETSC_FALSE;
  for (int i = 0; i < n_dirs && !ok; i++) {
    PetscCall(cache_probe(dirs[i], hash, desc, e, &ok));
    if (ok) strcpy(dir_out, dirs[i]);
  }
  if (!ok) {
    struct fs_gpt_index *ix = NULL;
    strcpy(dir_out, dirs[n_dirs - 1]);
    PetscCall(fs_gpt_index_build(&ix, sizes, n_sizes, documents, n_documents, a->num_samples, a->seq_length,
                                 a->seed));
    PetscErrorCode ierr = cache_write(dir_out, hash, desc, ix);
    PetscCall(fs_gpt_index_destroy(&ix));
    PetscCall(ierr);
    *built = PETSC_TRUE;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_gpt_index_load(MPI_Comm comm, const struct fs_gpt_index_args *a, const int32_t *sizes,
                                 int64_t n_sizes, const int32_t *documents, int64_t n_documents,
                                 struct fs_gpt_index **ix_out, PetscBool *built)
{
  char *desc = NULL, hash[33], dir[4096] = "";
  struct expect e;
  struct fs_gpt_index *ix = NULL;
  int rank;
  PetscBool ok, did_build = PETSC_FALSE;

  PetscFunctionBegin;
  *ix_out = NULL;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  FSCheck(a->data_prefix && a->name && a->splits, PETSC_COMM_SELF, PETSC_ERR_ARG_NULL,
          "fs_gpt_index_load: data_prefix, name and splits are required");
  FSCheck(n_documents > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
          "dataset %s (%s split): no documents, so no GPT samples can be made (check -split)", a->data_prefix,
          a->name);
  FSMalloc(DESC_MAX, &desc);
  int n = fs_gpt_description(desc, DESC_MAX, a->data_prefix, a->name, a->num_samples, a->seq_length, a->seed,
                             a->splits);
  FSCheck(n < DESC_MAX, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "index description too long (data prefix %s)",
          a->data_prefix);
  fs_md5_hex(hash, desc, (size_t)n);
  PetscCall(expect_compute(&e, a, sizes, n_sizes, documents, n_documents));

  /* rank 0 alone touches the cache; its outcome (error code, directory) reaches every rank */
  int status = 0;
  if (rank == 0) {
    PetscErrorCode ierr = root_find_or_build(dir, &did_build, a, hash, desc, &e, sizes, n_sizes, documents,
                                             n_documents);
    status = ierr ? (int)ierr : 0;
  }
  int msg[2] = {status, (int)did_build};
  PetscCallMPI(MPI_Bcast(msg, 2, MPI_INT, 0, comm));
  PetscCallMPI(MPI_Bcast(dir, (int)sizeof dir, MPI_CHAR, 0, comm));
  free(desc);
  FSCheck(msg[0] == 0, PETSC_COMM_SELF, (PetscErrorCode)msg[0],
          "building the GPT index cache for %s (%s) failed on rank 0: see its message", a->data_prefix, a->name);

  struct cache_paths p;
  PetscCall(cache_paths_make(&p, dir, hash));
  FSCalloc(sizeof *ix, &ix);
  PetscCall(cache_map(&p, &e, ix->maps, &ok));
  if (!ok) {
    free(ix);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
            "the GPT index cache %s/%s_* is missing or malformed on this rank (is %s on a file system every rank "
            "shares? is another job rewriting it?)",
            dir, hash, dir);
  }
  ix->sizes = sizes;
  ix->n_sizes = n_sizes;
  ix->seq_length = a->seq_length;
  ix->num_samples = a->num_samples;
  ix->n_samples = e.n_samples;
  ix->n_doc_idx = e.n_doc_idx;
  ix->num_epochs = e.n_doc_idx / n_documents;
  ix->tokens_per_epoch = 0;
  for (int64_t i = 0; i < n_documents; i++) ix->tokens_per_epoch += sizes[documents[i]];
  int64_t first_samples;
  ix->separate_last_epoch = fs_gpt_separate_last_epoch(&first_samples, ix->num_epochs, ix->tokens_per_epoch,
                                                       a->seq_length, a->num_samples);
  ix->shuffle_i64 = e.shuffle_i64;
  ix->doc_idx = ix->maps[0]->data;
  ix->sample_idx = ix->maps[1]->data;
  ix->shuffle_idx = ix->maps[2]->data;
  strcpy(ix->hash, hash);
  if (built) *built = msg[1] ? PETSC_TRUE : PETSC_FALSE;
  *ix_out = ix;
  PetscFunctionReturn(PETSC_SUCCESS);
}
