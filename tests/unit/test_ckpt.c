/* test_ckpt.c -- checkpoint I/O (fs_ckpt.h) on any number of ranks.
 *   test_ckpt [all]            round trip on this communicator, attributes, every error (on all ranks, no hang),
 *                              corruption (a flipped data byte, a truncated file), tracker and prune
 *   test_ckpt write DIR        writes DIR/ckpt.h5 split over this many ranks (dim 0 / dim 1 / count 0)
 *   test_ckpt read DIR         reads it back with other splits (and whole tensors on every rank), exact values
 *   test_ckpt slow DIR ITER    writes DIR/iter_ITER.h5 slowly (many small writes) then the tracker: killed by
 *                              tests/mpi/test_ckpt_kill.sh; writes its pid to DIR/pid.RANK first
 *   test_ckpt check DIR ITER   iter_ITER.h5 loads and holds what `slow` writes
 * A checkpoint written by N ranks must read back identically on M ranks (DESIGN.md principle 2). */
#define _GNU_SOURCE /* memmem */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fs_ckpt.h"
#include "fs_test.h"

static MPI_Comm g_comm;
static int g_rank, g_size;

/* exactly representable, distinct per tensor and element */
static float value(int tid, int64_t i)
{
  return (float)((tid * 7919 + i * 31) % 200003) * 0.0625f - 3000.0f + (float)tid;
}
static float stored(enum fs_dtype t, float v) { return t == FS_DTYPE_BF16 ? fs_bf16_to_fp32(fs_fp32_to_bf16(v)) : v; }

struct tensor {
  const char *name;
  enum fs_dtype dtype;
  int ndim;
  int64_t shape[2];
  int split; /* how the writer splits: 0 dim 0, 1 dim 1, 2 last rank holds all (others count 0) */
};

static const struct tensor k_tensors[] = {
  {"/model/model.embed_tokens.weight", FS_DTYPE_F32, 2, {37, 11}, 0},
  {"/model/model.layers.0.self_attn.q_proj.weight", FS_DTYPE_BF16, 2, {13, 29}, 1},
  {"/model/model.norm.weight", FS_DTYPE_F32, 1, {53, 1}, 0},
  {"/optimizer/model.embed_tokens.weight/exp_avg", FS_DTYPE_F32, 2, {5, 7}, 2},
  {"/model/big.f32", FS_DTYPE_F32, 2, {2500, 600}, 1},   /* several Fletcher32 chunks, split across them */
  {"/model/big.bf16", FS_DTYPE_BF16, 2, {3100, 700}, 0}, /* 2 chunks */
  {"/model/empty", FS_DTYPE_F32, 2, {0, 4}, 0},
  {"/model/one", FS_DTYPE_BF16, 1, {1, 1}, 2},
};
#define N_TENSORS ((int)(sizeof k_tensors / sizeof k_tensors[0]))

static void split(int64_t n, int parts, int k, int64_t *start, int64_t *count)
{
  *start = n * k / parts;
  *count = n * (k + 1) / parts - *start;
}

/* block of tensor t owned by `part` of `parts` when split along `how` */
static void block(const struct tensor *t, int how, int parts, int part, int64_t start[2], int64_t count[2])
{
  for (int d = 0; d < t->ndim; d++) {
    start[d] = 0;
    count[d] = t->shape[d];
  }
  if (how == 2) {
    if (part != parts - 1)
      for (int d = 0; d < t->ndim; d++) count[d] = 0;
  } else {
    int d = how < t->ndim ? how : 0;
    split(t->shape[d], parts, part, &start[d], &count[d]);
  }
}

static int64_t n_of(int ndim, const int64_t c[2]) { return ndim == 1 ? c[0] : c[0] * c[1]; }

static void fill(float *out, int tid, const struct tensor *t, const int64_t start[2], const int64_t count[2])
{
  int64_t cols = t->ndim == 2 ? t->shape[1] : 1, c1 = t->ndim == 2 ? count[1] : 1, s1 = t->ndim == 2 ? start[1] : 0;
  for (int64_t i = 0; i < count[0]; i++)
    for (int64_t j = 0; j < c1; j++) out[i * c1 + j] = value(tid, (start[0] + i) * cols + s1 + j);
}

static PetscErrorCode write_all(const char *path, int64_t iteration)
{
  struct fs_ckpt_writer *w;

  PetscFunctionBegin;
  PetscCall(fs_ckpt_create(g_comm, path, &w));
  PetscCall(fs_ckpt_set_checksum_block(w, 1000)); /* many blocks: partial, shared and whole-block verification */
  PetscCall(fs_ckpt_set_attr_int64(w, "iteration", iteration));
  PetscCall(fs_ckpt_set_attr_int64(w, "consumed_train_samples", 123456789012345LL));
  PetscCall(fs_ckpt_set_attr_double(w, "lr", 2.5e-4));
  PetscCall(fs_ckpt_set_attr_string(w, "config", "{\"num_layers\": 2, \"name\": \"t\\u00e9st\"}"));
  for (int k = 0; k < N_TENSORS; k++) {
    const struct tensor *t = &k_tensors[k];
    int64_t start[2], count[2];
    float *buf;
    block(t, t->split, g_size, g_rank, start, count);
    FSMalloc((size_t)n_of(t->ndim, count) * 4 + 4, &buf);
    fill(buf, k, t, start, count);
    PetscCall(fs_ckpt_write(w, t->name, t->dtype, t->ndim, t->shape, start, count, buf));
    free(buf);
  }
  PetscCall(fs_ckpt_finish(&w));
  FS_EXPECT(w == NULL, "finish leaves the handle NULL");
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* reads tensor k's block and compares every element; returns the number of mismatches */
static PetscErrorCode check_block(struct fs_ckpt_reader *r, int k, const int64_t start[2], const int64_t count[2],
                                  int64_t *bad)
{
  const struct tensor *t = &k_tensors[k];
  int64_t n = n_of(t->ndim, count);
  float *got, *want;

  PetscFunctionBegin;
  FSMalloc((size_t)n * 4 + 4, &got);
  FSMalloc((size_t)n * 4 + 4, &want);
  fill(want, k, t, start, count);
  PetscCall(fs_ckpt_read(r, t->name, t->ndim, t->shape, start, count, got));
  *bad = 0;
  for (int64_t i = 0; i < n; i++)
    if (got[i] != stored(t->dtype, want[i])) {
      if (!*bad)
        fprintf(stderr, "[%d] %s element %lld of block: got %g want %g\n", g_rank, t->name, (long long)i,
                (double)got[i], (double)stored(t->dtype, want[i]));
      (*bad)++;
    }
  free(got);
  free(want);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode read_all(const char *path)
{
  struct fs_ckpt_reader *r;
  int64_t it, samples, bad;
  double lr;
  char *config;
  PetscBool has;

  PetscFunctionBegin;
  PetscCall(fs_ckpt_open(g_comm, path, &r));
  PetscCall(fs_ckpt_get_attr_int64(r, "iteration", &it));
  PetscCall(fs_ckpt_get_attr_int64(r, "consumed_train_samples", &samples));
  PetscCall(fs_ckpt_get_attr_double(r, "lr", &lr));
  PetscCall(fs_ckpt_get_attr_string(r, "config", &config));
  FS_EXPECT(samples == 123456789012345LL, "samples %lld", (long long)samples);
  FS_EXPECT(lr == 2.5e-4, "lr %g", lr);
  FS_EXPECT(!strcmp(config, "{\"num_layers\": 2, \"name\": \"t\\u00e9st\"}"), "config '%s'", config);
  free(config);
  PetscCall(fs_ckpt_has_attr(r, "nope", &has));
  FS_EXPECT(!has, "attribute nope absent");
  for (int k = 0; k < N_TENSORS; k++) {
    const struct tensor *t = &k_tensors[k];
    int ndim;
    int64_t shape[2], start[2], count[2];
    enum fs_dtype dt;
    PetscCall(fs_ckpt_has(r, t->name, &has));
    FS_EXPECT(has, "has %s", t->name);
    PetscCall(fs_ckpt_shape(r, t->name, &ndim, shape, &dt));
    FS_EXPECT(ndim == t->ndim && shape[0] == t->shape[0] && (ndim == 1 || shape[1] == t->shape[1]) && dt == t->dtype,
              "shape/dtype of %s", t->name);
    /* the other split than the writer's, then the whole tensor on every rank (replicated parameters) */
    block(t, t->split == 0 ? 1 : 0, g_size, g_size - 1 - g_rank, start, count);
    PetscCall(check_block(r, k, start, count, &bad));
    FS_EXPECT(bad == 0, "%s: %lld wrong elements in a split read", t->name, (long long)bad);
    block(t, 0, 1, 0, start, count);
    PetscCall(check_block(r, k, start, count, &bad));
    FS_EXPECT(bad == 0, "%s: %lld wrong elements in a whole read", t->name, (long long)bad);
    if (t->ndim == 2 && t->shape[0] > 3 && t->shape[1] > 3) { /* an odd interior block, different per rank */
      start[0] = 1 + g_rank % 2;
      start[1] = 2;
      count[0] = t->shape[0] - 3;
      count[1] = t->shape[1] - 3 - g_rank % 2;
      PetscCall(check_block(r, k, start, count, &bad));
      FS_EXPECT(bad == 0, "%s: %lld wrong elements in an interior block", t->name, (long long)bad);
    }
  }
  PetscCall(fs_ckpt_has(r, "/model/missing", &has));
  FS_EXPECT(!has, "missing tensor reported absent");
  PetscCall(fs_ckpt_has(r, "/nogroup/x", &has));
  FS_EXPECT(!has, "missing group reported absent");
  PetscCall(fs_ckpt_has(r, "/model", &has));
  FS_EXPECT(!has, "a group is not a tensor");
  PetscCall(fs_ckpt_close(&r));
  FS_EXPECT(r == NULL, "close leaves NULL");
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* an expected error: returned on EVERY rank, with a message containing `must` */
static void expect_error(PetscErrorCode ierr, const char *must, const char *what)
{
  char *msg = NULL;
  int failed = ierr != 0, all = 0, has_text;
  PetscErrorMessage(ierr, NULL, &msg);
  has_text = ierr && msg && strstr(msg, must);
  MPI_Allreduce(&failed, &all, 1, MPI_INT, MPI_SUM, g_comm);
  FS_EXPECT(all == g_size, "%s: failed on %d of %d ranks", what, all, g_size);
  FS_EXPECT(has_text, "%s: message '%s' lacks '%s'", what, msg ? msg : "", must);
  if (!g_rank && ierr) printf("  expected error (%s): %s\n", what, msg);
}

static PetscErrorCode read_one(const char *path, const char *name, int ndim, const int64_t shape[2])
{
  struct fs_ckpt_reader *r;
  float *buf;
  int64_t start[2] = {0, 0};
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscCall(fs_ckpt_open(g_comm, path, &r));
  FSMalloc((size_t)n_of(ndim, shape) * 4 + 4, &buf);
  ierr = fs_ckpt_read(r, name, ndim, shape, start, shape, buf);
  free(buf);
  fs_ckpt_close(&r);
  PetscCall(ierr);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static long file_size(const char *path)
{
  struct stat sb;
  return stat(path, &sb) ? -1 : (long)sb.st_size;
}

/* rank 0: offset of the first occurrence of pat in the file, -1 if none */
static long find_bytes(const char *path, const void *pat, size_t n)
{
  FILE *f = fopen(path, "rb");
  long size = file_size(path), at = -1;
  char *buf = f && size > 0 ? malloc((size_t)size) : NULL;
  if (buf && fread(buf, 1, (size_t)size, f) == (size_t)size) {
    void *p = memmem(buf, (size_t)size, pat, n);
    if (p) at = (long)((char *)p - buf);
  }
  free(buf);
  if (f) fclose(f);
  return at;
}

static void copy_file(const char *from, const char *to)
{
  FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
  char buf[65536];
  size_t n;
  while (a && b && (n = fread(buf, 1, sizeof buf, a)) > 0) fwrite(buf, 1, n, b);
  if (a) fclose(a);
  if (b) fclose(b);
}

static void test_errors(const char *dir)
{
  char good[512], path[512];
  int64_t sh[2] = {37, 11}, sh_bad[2] = {37, 12};
  struct fs_ckpt_writer *w;
  struct fs_ckpt_reader *r = NULL;

  snprintf(good, sizeof good, "%s/good.h5", dir);
  /* missing tensor, wrong shape */
  expect_error(read_one(good, "/model/nope.weight", 2, sh), "/model/nope.weight", "missing tensor");
  expect_error(read_one(good, "/model/model.embed_tokens.weight", 2, sh_bad), "(37, 11)", "wrong shape");
  expect_error(read_one(good, "/model/model.embed_tokens.weight", 1, sh), "model.embed_tokens.weight", "wrong ndim");
  {
    int64_t st[2] = {30, 0}, ct[2] = {8, 11};
    float buf[100];
    PetscErrorCode ierr = fs_ckpt_open(g_comm, good, &r);
    FS_EXPECT(!ierr, "open good");
    if (ierr) return;
    /* a bad block on the LAST rank only: all ranks must still fail together */
    ierr = fs_ckpt_read(r, "/model/model.embed_tokens.weight", 2, sh, st, g_rank == g_size - 1 ? ct : (int64_t[2]){0, 0}, buf);
    expect_error(ierr, "does not fit", "block out of range on one rank");
    int64_t it;
    expect_error(fs_ckpt_get_attr_int64(r, "lr", &it), "lr", "attribute of the wrong type");
    expect_error(fs_ckpt_get_attr_int64(r, "nope", &it), "nope", "missing attribute");
    fs_ckpt_close(&r);
  }
  /* missing file, not HDF5 */
  snprintf(path, sizeof path, "%s/none.h5", dir);
  expect_error(fs_ckpt_open(g_comm, path, &r), "none.h5", "missing file");
  snprintf(path, sizeof path, "%s/text.h5", dir);
  if (!g_rank) {
    FILE *f = fopen(path, "w");
    fputs("not a checkpoint\n", f);
    fclose(f);
  }
  MPI_Barrier(g_comm);
  expect_error(fs_ckpt_open(g_comm, path, &r), "not an HDF5 file", "text file");
  /* wrong version / format name */
  snprintf(path, sizeof path, "%s/v2.h5", dir);
  FS_EXPECT_OK(fs_ckpt_create(g_comm, path, &w));
  FS_EXPECT_OK(fs_ckpt_set_attr_int64(w, "format_version", 2));
  FS_EXPECT_OK(fs_ckpt_finish(&w));
  expect_error(fs_ckpt_open(g_comm, path, &r), "format_version 2", "wrong version");
  snprintf(path, sizeof path, "%s/other.h5", dir);
  FS_EXPECT_OK(fs_ckpt_create(g_comm, path, &w));
  FS_EXPECT_OK(fs_ckpt_set_attr_string(w, "format", "something-else"));
  FS_EXPECT_OK(fs_ckpt_finish(&w));
  expect_error(fs_ckpt_open(g_comm, path, &r), "something-else", "wrong format name");
  /* writer errors: bad names, a block outside the shape on one rank, ranks that disagree, a missing directory */
  snprintf(path, sizeof path, "%s/bad.h5", dir);
  FS_EXPECT_OK(fs_ckpt_create(g_comm, path, &w));
  {
    int64_t shape[1] = {10}, st[1] = {g_rank == 0 ? 5 : 0}, ct[1] = {g_rank == 0 ? 6 : 0};
    float buf[10] = {0};
    expect_error(fs_ckpt_write(w, "/model/x", FS_DTYPE_F32, 1, shape, st, ct, buf), "/model/x", "write out of range");
    expect_error(fs_ckpt_write(w, "model/x", FS_DTYPE_F32, 1, shape, st, st, buf), "absolute", "relative name");
    if (g_size > 1) {
      int64_t shape2[1] = {10 + g_rank}, z[1] = {0};
      expect_error(fs_ckpt_write(w, "/model/y", FS_DTYPE_F32, 1, shape2, z, z, buf), "different", "ranks disagree");
    }
    int64_t z[1] = {0};
    FS_EXPECT_OK(fs_ckpt_write(w, "/model/z", FS_DTYPE_F32, 1, shape, z, z, buf));
    expect_error(fs_ckpt_write(w, "/model/z", FS_DTYPE_F32, 1, shape, z, z, buf), "twice", "written twice");
  }
  FS_EXPECT_OK(fs_ckpt_abort(&w));
  FS_EXPECT(w == NULL && file_size(path) < 0, "abort leaves neither the final file");
  snprintf(path, sizeof path, "%s/bad.h5.tmp", dir);
  FS_EXPECT(file_size(path) < 0, "abort removes the .tmp");
  snprintf(path, sizeof path, "%s/no/such/dir/x.h5", dir);
  expect_error(fs_ckpt_create(g_comm, path, &w), "not writable", "missing directory");
}

/* a flipped byte inside one tensor's data, and a truncated file: both named on load, on all ranks */
static void test_corruption(const char *dir)
{
  char path[512], bad[512];
  enum { N = 40000 };
  int64_t shape[2] = {N, 1}, st[1], ct[1], sh2[2] = {64, 64}, z2[2] = {0, 0};
  float *buf = malloc(N * sizeof *buf), other[64 * 64];
  struct fs_ckpt_writer *w;
  struct fs_ckpt_reader *r;

  snprintf(path, sizeof path, "%s/corrupt.h5", dir);
  for (int i = 0; i < N; i++) buf[i] = 1000.0f + (float)i; /* a recognizable, unique byte pattern */
  for (int i = 0; i < 64 * 64; i++) other[i] = (float)i;
  split(N, g_size, g_rank, st, ct);
  FS_EXPECT_OK(fs_ckpt_create(g_comm, path, &w));
  FS_EXPECT_OK(fs_ckpt_set_checksum_block(w, 1000));
  FS_EXPECT_OK(fs_ckpt_write(w, "/model/first", FS_DTYPE_F32, 2, sh2, z2, g_rank ? z2 : sh2, other));
  FS_EXPECT_OK(fs_ckpt_write(w, "/model/pattern", FS_DTYPE_F32, 1, shape, st, ct, buf + st[0]));
  FS_EXPECT_OK(fs_ckpt_finish(&w));

  /* flip one byte of element 12345 */
  snprintf(bad, sizeof bad, "%s/flipped.h5", dir);
  long at = -1;
  if (!g_rank) {
    copy_file(path, bad);
    float probe[4] = {buf[12345], buf[12346], buf[12347], buf[12348]};
    at = find_bytes(bad, probe, sizeof probe);
    int fd = open(bad, O_RDWR);
    unsigned char c;
    if (at >= 0 && fd >= 0 && pread(fd, &c, 1, at + 1) == 1) {
      c ^= 0x10;
      if (pwrite(fd, &c, 1, at + 1) != 1) at = -1;
    }
    if (fd >= 0) close(fd);
  }
  (void)MPI_Bcast(&at, 1, MPI_LONG, 0, g_comm);
  FS_EXPECT(at >= 0, "found the pattern to flip in %s", bad);
  expect_error(read_one(bad, "/model/pattern", 1, shape), "/model/pattern", "flipped byte");
  expect_error(read_one(bad, "/model/pattern", 1, shape), "corrupt in elements [12000, 13000)", "flipped byte: where");
  FS_EXPECT_OK(read_one(bad, "/model/first", 2, sh2)); /* the undamaged tensor still loads */
  {
    /* blocks away from the damage still load; a split read where ONE rank holds the damaged block fails on all */
    struct fs_ckpt_reader *rr;
    int64_t s0[1] = {20000 + g_rank}, c0[1] = {5000}, sp[1], cp[1];
    FS_EXPECT_OK(fs_ckpt_open(g_comm, bad, &rr));
    FS_EXPECT_OK(fs_ckpt_read(rr, "/model/pattern", 1, shape, s0, c0, buf));
    split(N, g_size, g_size - 1 - g_rank, sp, cp);
    expect_error(fs_ckpt_read(rr, "/model/pattern", 1, shape, sp, cp, buf), "/model/pattern", "flipped byte, split read");
    fs_ckpt_close(&rr);
  }

  /* truncated in the middle of /model/pattern's data */
  snprintf(bad, sizeof bad, "%s/truncated.h5", dir);
  if (!g_rank) {
    copy_file(path, bad);
    float probe[4] = {buf[N / 2], buf[N / 2 + 1], buf[N / 2 + 2], buf[N / 2 + 3]};
    at = find_bytes(bad, probe, sizeof probe);
    if (at < 0 || truncate(bad, at) != 0) at = -1;
  }
  (void)MPI_Bcast(&at, 1, MPI_LONG, 0, g_comm);
  FS_EXPECT(at >= 0, "truncated %s", bad);
  expect_error(fs_ckpt_open(g_comm, bad, &r), "/model/pattern", "truncated file");
  expect_error(fs_ckpt_open(g_comm, bad, &r), "truncated", "truncated file says truncated");
  FS_EXPECT(r == NULL, "no reader on error");
  free(buf);
}

static PetscErrorCode write_small(const char *dir, int64_t it)
{
  char path[512];
  struct fs_ckpt_writer *w;
  int64_t shape[1] = {4}, z[1] = {0};
  float v[4] = {1, 2, 3, (float)it};

  PetscFunctionBegin;
  PetscCall(fs_ckpt_path(path, sizeof path, dir, it));
  PetscCall(fs_ckpt_create(g_comm, path, &w));
  PetscCall(fs_ckpt_set_attr_int64(w, "iteration", it));
  PetscCall(fs_ckpt_write(w, "/model/v", FS_DTYPE_F32, 1, shape, z, g_rank ? z : shape, v));
  PetscCall(fs_ckpt_finish(&w));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void test_tracker(const char *dir)
{
  char sub[512], path[512];
  int64_t it = -5;
  PetscBool found = PETSC_TRUE;
  int removed = -1;

  snprintf(sub, sizeof sub, "%s/run", dir);
  if (!g_rank) mkdir(sub, 0755);
  MPI_Barrier(g_comm);
  FS_EXPECT_OK(fs_ckpt_read_tracker(g_comm, sub, &it, &found));
  FS_EXPECT(!found && it == 0, "no tracker yet");
  FS_EXPECT_OK(fs_ckpt_path(path, sizeof path, sub, 42));
  FS_EXPECT(strstr(path, "/iter_0000042.h5") != NULL, "path %s", path);
  FS_EXPECT(fs_ckpt_path(path, 10, sub, 42) != 0, "too long a path is an error");
  for (int64_t i = 100; i <= 500; i += 100) FS_EXPECT_OK(write_small(sub, i));
  FS_EXPECT_OK(fs_ckpt_write_tracker(g_comm, sub, 200));
  FS_EXPECT_OK(fs_ckpt_read_tracker(g_comm, sub, &it, &found));
  FS_EXPECT(found && it == 200, "tracker reads back 200 (got %lld)", (long long)it);
  if (!g_rank) { /* not a checkpoint name: prune must leave it alone */
    snprintf(path, sizeof path, "%s/iter_12.h5", sub);
    fclose(fopen(path, "w"));
  }
  FS_EXPECT_OK(fs_ckpt_prune(g_comm, sub, 2, &removed));
  FS_EXPECT(removed == 2, "prune removed %d (want 100 and 300)", removed);
  int64_t want_present[] = {200, 400, 500}, want_gone[] = {100, 300};
  for (int i = 0; i < 3; i++) {
    fs_ckpt_path(path, sizeof path, sub, want_present[i]);
    FS_EXPECT(file_size(path) > 0, "%s kept", path);
  }
  for (int i = 0; i < 2; i++) {
    fs_ckpt_path(path, sizeof path, sub, want_gone[i]);
    FS_EXPECT(file_size(path) < 0, "%s pruned", path);
  }
  snprintf(path, sizeof path, "%s/iter_12.h5", sub);
  FS_EXPECT(file_size(path) == 0, "a non-checkpoint name is kept");
  expect_error(fs_ckpt_prune(g_comm, sub, 0, NULL), "keep", "keep 0");
  /* garbage trackers */
  const char *garbage[] = {"abc\n", "12x\n", "", "release\n", "-5\n"};
  for (int i = 0; i < 5; i++) {
    snprintf(path, sizeof path, "%s/%s", sub, FS_CKPT_TRACKER);
    if (!g_rank) {
      FILE *f = fopen(path, "w");
      fputs(garbage[i], f);
      fclose(f);
    }
    MPI_Barrier(g_comm);
    expect_error(fs_ckpt_read_tracker(g_comm, sub, &it, &found), FS_CKPT_TRACKER, "garbage tracker");
  }
  FS_EXPECT_OK(fs_ckpt_write_tracker(g_comm, sub, 0));
  FS_EXPECT_OK(fs_ckpt_read_tracker(g_comm, sub, &it, &found));
  FS_EXPECT(found && it == 0, "tracker 0 is found");
  snprintf(path, sizeof path, "%s/%s.tmp", sub, FS_CKPT_TRACKER);
  FS_EXPECT(file_size(path) < 0, "no tracker .tmp left");
  expect_error(fs_ckpt_write_tracker(g_comm, "/nonexistent/dir", 5), "/nonexistent/dir", "tracker in a missing dir");
}

/* ---- the kill test's writer and checker */
enum { SLOW_TENSORS = 48, SLOW_ROWS = 64, SLOW_COLS = 4096 };

static PetscErrorCode slow_write(const char *dir, int64_t it)
{
  char path[512];
  struct fs_ckpt_writer *w;
  int64_t shape[2] = {SLOW_ROWS, SLOW_COLS}, st[2] = {0, 0}, ct[2] = {SLOW_ROWS, SLOW_COLS};
  float *buf;

  PetscFunctionBegin;
  snprintf(path, sizeof path, "%s/pid.%d", dir, g_rank);
  FILE *f = fopen(path, "w");
  if (f) {
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
  }
  split(SLOW_ROWS, g_size, g_rank, &st[0], &ct[0]);
  FSMalloc((size_t)SLOW_ROWS * SLOW_COLS * 4, &buf);
  PetscCall(fs_ckpt_path(path, sizeof path, dir, it));
  PetscCall(fs_ckpt_create(g_comm, path, &w));
  PetscCall(fs_ckpt_set_attr_int64(w, "iteration", it));
  for (int k = 0; k < SLOW_TENSORS; k++) {
    char name[64];
    for (int64_t i = 0; i < ct[0] * SLOW_COLS; i++) buf[i] = (float)(k + it) + (float)((st[0] * SLOW_COLS + i) % 1000);
    snprintf(name, sizeof name, "/model/t%02d", k);
    PetscCall(fs_ckpt_write(w, name, FS_DTYPE_F32, 2, shape, st, ct, buf));
    usleep(40000);
  }
  PetscCall(fs_ckpt_finish(&w));
  PetscCall(fs_ckpt_write_tracker(g_comm, dir, it));
  free(buf);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode slow_check(const char *dir, int64_t it)
{
  char path[512];
  struct fs_ckpt_reader *r;
  int64_t shape[2] = {SLOW_ROWS, SLOW_COLS}, st[2] = {0, 0}, ct[2] = {SLOW_ROWS, SLOW_COLS}, got_it, bad = 0;
  float *buf;

  PetscFunctionBegin;
  PetscCall(fs_ckpt_path(path, sizeof path, dir, it));
  PetscCall(fs_ckpt_open(g_comm, path, &r));
  PetscCall(fs_ckpt_get_attr_int64(r, "iteration", &got_it));
  FS_EXPECT(got_it == it, "iteration %lld", (long long)got_it);
  FSMalloc((size_t)SLOW_ROWS * SLOW_COLS * 4, &buf);
  for (int k = 0; k < SLOW_TENSORS; k++) {
    char name[64];
    snprintf(name, sizeof name, "/model/t%02d", k);
    PetscCall(fs_ckpt_read(r, name, 2, shape, st, ct, buf));
    for (int64_t i = 0; i < SLOW_ROWS * SLOW_COLS; i++)
      if (buf[i] != (float)(k + it) + (float)(i % 1000)) bad++;
  }
  FS_EXPECT(bad == 0, "%lld wrong elements in %s", (long long)bad, path);
  free(buf);
  PetscCall(fs_ckpt_close(&r));
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv)
{
  const char *mode = argc > 1 && argv[1][0] != '-' ? argv[1] : "all";
  const char *arg_dir = argc > 2 ? argv[2] : NULL;
  int64_t arg_it = argc > 3 ? atoll(argv[3]) : 0;
  char dir[256] = "", path[512];
  int all_fail = 0;

  PetscInitialize(&argc, &argv, NULL, NULL);
  g_comm = PETSC_COMM_WORLD;
  MPI_Comm_rank(g_comm, &g_rank);
  MPI_Comm_size(g_comm, &g_size);
  if (!strcmp(mode, "all")) {
    if (!g_rank) {
      snprintf(dir, sizeof dir, "%s/fs_test_ckpt_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
      if (!mkdtemp(dir)) dir[0] = 0;
    }
    (void)MPI_Bcast(dir, sizeof dir, MPI_CHAR, 0, g_comm);
    FS_EXPECT(dir[0], "mkdtemp");
    snprintf(path, sizeof path, "%s/good.h5", dir);
    FS_EXPECT_OK(write_all(path, 7));
    FS_EXPECT_OK(read_all(path));
    PetscPushErrorHandler(PetscReturnErrorHandler, NULL); /* the errors below are expected: keep the log short */
    test_errors(dir);
    test_corruption(dir);
    test_tracker(dir);
    PetscPopErrorHandler();
    MPI_Barrier(g_comm);
    if (!g_rank && fs_test_failures == 0) {
      char cmd[600];
      snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
      if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
    }
  } else if (!strcmp(mode, "write") && arg_dir) {
    snprintf(path, sizeof path, "%s/ckpt.h5", arg_dir);
    FS_EXPECT_OK(write_all(path, 7));
  } else if (!strcmp(mode, "read") && arg_dir) {
    snprintf(path, sizeof path, "%s/ckpt.h5", arg_dir);
    FS_EXPECT_OK(read_all(path));
  } else if (!strcmp(mode, "slow") && arg_dir) {
    FS_EXPECT_OK(slow_write(arg_dir, arg_it));
  } else if (!strcmp(mode, "check") && arg_dir) {
    FS_EXPECT_OK(slow_check(arg_dir, arg_it));
  } else {
    if (!g_rank) fprintf(stderr, "usage: test_ckpt [all | write DIR | read DIR | slow DIR IT | check DIR IT]\n");
    fs_test_failures++;
  }
  MPI_Allreduce(&fs_test_failures, &all_fail, 1, MPI_INT, MPI_SUM, g_comm);
  int rc = g_rank ? 0 : fs_test_done("test_ckpt");
  PetscFinalize();
  return rc || all_fail != 0;
}
