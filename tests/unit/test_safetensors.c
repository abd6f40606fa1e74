/* test_safetensors.c -- writer -> reader round trips (F32/BF16/F16, one file and shards with an index, folder
 * lookup), and every corruption the reader must refuse with a message naming the file and tensor, never a crash:
 * truncation at every length, bad JSON, missing fields, overlapping or outside offsets, size mismatch, a huge
 * header length, unknown dtype, a stale index. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <unistd.h>
#include <sys/stat.h>
#include "fs_safetensors.h"
#include "fs_test.h"

static char g_dir[] = "/tmp/fs_test_safetensors_XXXXXX";

static void fill(float *x, int64_t n, float scale)
{
  uint32_t s = 777;
  for (int64_t i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    x[i] = scale * ((float)(s >> 8) / 16777216.0f - 0.5f);
  }
}

/* a file with the given JSON header and n_data zero bytes after it */
static void write_st(const char *path, const char *json, uint64_t declared_len, size_t n_data)
{
  size_t jl = strlen(json);
  if (declared_len == 0) declared_len = jl; /* 0 = the true length */
  unsigned char *buf = calloc(1, 8 + jl + n_data);
  memcpy(buf, &declared_len, 8);
  memcpy(buf + 8, json, jl);
  fs_test_write_file(path, buf, 8 + jl + n_data);
  free(buf);
}

/* opening must fail and the last error message must contain want (and the file's name) */
static void expect_open_fails(const char *path, const char *want, const char *what)
{
  struct fs_safetensors *st = NULL;
  PetscErrorCode ierr = fs_safetensors_open(path, &st);
  fs_test_expect_fail(ierr, st, path, want, what);
  if (ierr == 0) fs_safetensors_close(&st);
}

static void corruption_cases(void)
{
  char p[600];
  snprintf(p, sizeof p, "%s/bad.safetensors", g_dir);
  write_st(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]", 1000, 0);
  expect_open_fails(p, "header length", "header longer than file");
  write_st(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]", 0, 8);
  expect_open_fails(p, "does not parse", "bad JSON");
  write_st(p, "[1,2]", 0, 0);
  expect_open_fails(p, "not an object", "JSON array");
  write_st(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 0, 8);
  expect_open_fails(p, "'a' needs", "missing data_offsets");
  write_st(p, "{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 0, 8);
  expect_open_fails(p, "unknown dtype", "unknown dtype");
  write_st(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 0, 8);
  expect_open_fails(p, "'a': 3 elements", "size mismatch");
  write_st(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", 0, 8);
  expect_open_fails(p, "not inside the data area", "offsets past the end");
  write_st(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 0, 8);
  expect_open_fails(p, "'a'", "end before begin");
  write_st(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 0, 8);
  expect_open_fails(p, "non-negative", "negative shape");
  write_st(p,
           "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
           "\"b\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[4,8]}}",
           107, 8);
  expect_open_fails(p, "overlap", "overlapping offsets");
  write_st(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"a\":{}}", 0, 8);
  expect_open_fails(p, "duplicate", "duplicate key");
  write_st(p, "{\"__metadata__\":{\"format\":5}}", 0, 0);
  expect_open_fails(p, "__metadata__", "metadata value not a string");
  write_st(p, "{}", (uint64_t)1 << 62, 0);
  expect_open_fails(p, "header length", "huge header length");
  write_st(p, "", 0, 0);
  fs_test_write_file(p, "abc", 3);
  expect_open_fails(p, "too short", "3-byte file");
  fs_test_write_file(p, "", 0);
  expect_open_fails(p, "too short", "empty file");
  snprintf(p, sizeof p, "%s/missing.safetensors", g_dir);
  expect_open_fails(p, "cannot open", "missing file");
}

/* a valid file cut at every length below its full size must be refused (never read past the end) */
static void truncation_cases(const char *good)
{
  FILE *f = fopen(good, "rb");
  char p[600];
  long n;
  unsigned char *buf;
  int refused = 0, total = 0;

  if (!f) return;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = malloc((size_t)n);
  if (fread(buf, 1, (size_t)n, f) != (size_t)n) n = 0;
  fclose(f);
  snprintf(p, sizeof p, "%s/trunc.safetensors", g_dir);
  for (long k = 0; k < n; k += (k < 300 ? 1 : 7)) {
    struct fs_safetensors *st = NULL;
    fs_test_write_file(p, buf, (size_t)k);
    total++;
    if (fs_safetensors_open(p, &st)) refused++;
    fs_safetensors_close(&st);
  }
  FS_EXPECT(total > 0 && refused == total, "truncated copies: %d of %d refused", refused, total);
  free(buf);
}

static void round_trip(enum fs_dtype dt, size_t max_shard, int want_shards)
{
  char dir[600], p[700];
  const int64_t sh[4][3] = {{7, 5, 0}, {33, 0, 0}, {4, 3, 2}, {1, 0, 0}};
  const int nd[4] = {2, 1, 3, 1};
  const char *names[4] = {"model.embed_tokens.weight", "model.norm.weight", "x.y.z", "scalar_like"};
  float *src[4], *got;
  struct fs_st_writer *w = NULL;
  struct fs_st_model *m = NULL;

  snprintf(dir, sizeof dir, "%s/rt_%s_%zu", g_dir, fs_dtype_name(dt), max_shard);
  mkdir(dir, 0755);
  FS_EXPECT_OK(fs_st_writer_create(dir, dt, max_shard, &w));
  for (int i = 0; i < 4; i++) {
    int64_t n = 1;
    for (int d = 0; d < nd[i]; d++) n *= sh[i][d];
    src[i] = malloc((size_t)n * sizeof(float));
    fill(src[i], n, 3.0f + (float)i);
    if (i == 3) FS_EXPECT_OK(fs_st_writer_add_as(w, names[i], FS_DTYPE_F32, nd[i], sh[i], src[i]));
    else FS_EXPECT_OK(fs_st_writer_add(w, names[i], nd[i], sh[i], src[i]));
  }
  FS_EXPECT(fs_st_writer_add(w, names[1], nd[1], sh[1], src[1]) != 0, "a duplicate name is refused");
  FS_EXPECT_OK(fs_st_writer_finish(&w));
  FS_EXPECT(w == NULL, "finish frees the writer");
  snprintf(p, sizeof p, "%s/%s", dir, FS_ST_INDEX_NAME);
  FS_EXPECT((access(p, F_OK) == 0) == (want_shards > 1), "index present iff sharded (%d shards)", want_shards);
  if (want_shards > 1) {
    snprintf(p, sizeof p, "%s/model-%05d-of-%05d.safetensors", dir, want_shards, want_shards);
    FS_EXPECT(access(p, F_OK) == 0, "last shard %s exists", p);
  }
  FS_EXPECT_OK(fs_st_model_open(dir, &m));
  if (!m) return;
  FS_EXPECT(m->n_files == want_shards && m->n_tensors == 4, "%s: %d files (want %d), %" PRId64 " tensors",
            fs_dtype_name(dt), m->n_files, want_shards, m->n_tensors);
  got = malloc(33 * 5 * sizeof(float) * 2);
  for (int i = 0; i < 4; i++) {
    const struct fs_st_tensor *t = NULL;
    int64_t n = 1;
    for (int d = 0; d < nd[i]; d++) n *= sh[i][d];
    FS_EXPECT_OK(fs_st_model_find(m, names[i], &t));
    if (!t) continue;
    FS_EXPECT(t->ndim == nd[i] && t->shape[0] == sh[i][0] && t->n_elem == n, "%s shape", names[i]);
    FS_EXPECT(t->dtype == (int)(i == 3 ? FS_DTYPE_F32 : dt), "%s dtype %s", names[i], t->dtype_name);
    FS_EXPECT_OK(fs_st_model_read_f32(m, names[i], n, got));
    int bad = 0;
    for (int64_t k = 0; k < n; k++) {
      float want = src[i][k];
      if (t->dtype == FS_DTYPE_BF16) want = fs_bf16_to_fp32(fs_fp32_to_bf16(want));
      if (t->dtype == FS_DTYPE_F16) want = fs_fp16_to_fp32(fs_fp32_to_fp16(want));
      bad += got[k] != want;
    }
    FS_EXPECT(bad == 0, "%s %s: %d values differ", fs_dtype_name(dt), names[i], bad);
    FS_EXPECT(fs_st_model_read_f32(m, names[i], n + 1, got) != 0, "a wrong element count is refused");
    FS_EXPECT(!strcmp(fs_safetensors_metadata(m->files[0], "format"), "pt"), "__metadata__ format pt");
  }
  {
    const struct fs_st_tensor *t = (const void *)1;
    FS_EXPECT_OK(fs_st_model_find(m, "no.such", &t));
    FS_EXPECT(t == NULL, "absent tensor -> NULL");
    FS_EXPECT(fs_st_model_read_f32(m, "no.such", 1, got) != 0, "reading an absent tensor fails");
  }
  fs_st_model_close(&m);
  if (dt == FS_DTYPE_F32 && want_shards == 1) {
    snprintf(p, sizeof p, "%s/%s", dir, FS_ST_SINGLE_NAME);
    truncation_cases(p);
  }
  if (want_shards > 1) {
    /* a stale index naming a tensor its shard lacks */
    FILE *f;
    snprintf(p, sizeof p, "%s/%s", dir, FS_ST_INDEX_NAME);
    f = fopen(p, "w");
    fprintf(f, "{\"weight_map\": {\"ghost\": \"model-00001-of-%05d.safetensors\"}}", want_shards);
    fclose(f);
    PetscErrorCode ierr = fs_st_model_open(dir, &m);
    const char *msg = NULL;
    PetscErrorMessage(ierr, NULL, (char **)&msg);
    FS_EXPECT(ierr && msg && strstr(msg, "'ghost'"), "stale index refused: %s", msg ? msg : "");
    fs_st_model_close(&m);
  }
  for (int i = 0; i < 4; i++) free(src[i]);
  free(got);
}

int main(int argc, char **argv)
{
  PetscInitialize(&argc, &argv, NULL, NULL);
  PetscPushErrorHandler(PetscReturnErrorHandler, NULL); /* the errors below are expected: no traceback */
  if (!mkdtemp(g_dir)) {
    perror("mkdtemp");
    return 1;
  }
  FS_EXPECT(fs_st_dtype_from_name("BF16") == FS_DTYPE_BF16 && fs_st_dtype_from_name("F8_E4M3") == -1 &&
              !strcmp(fs_st_dtype_to_name(FS_DTYPE_I64), "I64"),
            "dtype names");
  round_trip(FS_DTYPE_F32, 0, 1);
  round_trip(FS_DTYPE_BF16, 0, 1);
  round_trip(FS_DTYPE_F16, 0, 1);
  /* sizes: 35*2=70, 33*2=66, 24*2=48, 4 bytes (f32) -> limit 100: [70] [66] [48 4] = 3 shards */
  round_trip(FS_DTYPE_BF16, 100, 3);
  /* f32: 140, 132, 96, 4 with limit 100: each tensor over the limit gets a shard of its own, then [96 4] */
  round_trip(FS_DTYPE_F32, 100, 3);
  corruption_cases();
  PetscPopErrorHandler();
  char cmd[700];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_dir);
  int rc = fs_test_done("test_safetensors");
  PetscFinalize();
  return rc;
}
