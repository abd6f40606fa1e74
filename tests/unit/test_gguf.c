/* test_gguf.c -- GGUF writer -> reader round trip (metadata of each type, F32/F16/BF16 tensors, shapes reversed
 * to ggml order and back), the typed getters' errors, a hand-built Q8_0 block, and every corruption the reader
 * must refuse with a clear message: bad magic, unsupported version, truncation at every length, huge counts and
 * string lengths, unknown types, misaligned / outside / overlapping offsets, duplicate keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <unistd.h>
#include "fs_gguf.h"
#include "fs_dtype.h"
#include "fs_test.h"

static char g_dir[] = "/tmp/fs_test_gguf_XXXXXX";

static unsigned char *slurp(const char *path, size_t *n)
{
  FILE *f = fopen(path, "rb");
  unsigned char *b;
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  b = malloc(*n + 1);
  if (fread(b, 1, *n, f) != *n) *n = 0;
  fclose(f);
  return b;
}

static void expect_fails(const char *path, const char *want, const char *what)
{
  struct fs_gguf *g = NULL;
  PetscErrorCode ierr = fs_gguf_open(path, &g);
  fs_test_expect_fail(ierr, g, path, want, what);
  fs_gguf_close(&g);
}

/* the file the round trip writes: 2 keys ... see write_sample */
static const float g_a[6] = {1.5f, -2.0f, 3.25f, 0.1f, -1e-8f, 65504.0f};

static PetscErrorCode write_sample(const char *path)
{
  struct fs_gguf_writer *w;
  static const char *const toks[] = {"a", "bc", ""};
  static const uint16_t u16[] = {1, 65535};
  const int64_t sa[2] = {2, 3}, sb[1] = {6}, sc[3] = {1, 2, 3};

  PetscFunctionBegin;
  PetscCall(fs_gguf_writer_create(path, &w));
  PetscCall(fs_gguf_writer_set_string(w, "general.architecture", "llama"));
  PetscCall(fs_gguf_writer_set_uint32(w, "llama.context_length", 2048));
  PetscCall(fs_gguf_writer_set_int32(w, "t.neg", -7));
  PetscCall(fs_gguf_writer_set_uint64(w, "t.big", UINT64_MAX));
  PetscCall(fs_gguf_writer_set_float32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f));
  PetscCall(fs_gguf_writer_set_bool(w, "t.flag", 0));
  PetscCall(fs_gguf_writer_set_string_array(w, "tokenizer.ggml.tokens", 3, toks));
  PetscCall(fs_gguf_writer_set_array(w, "t.u16s", FS_GGUF_UINT16, 2, u16));
  PetscCall(fs_gguf_writer_add_tensor(w, "a", FS_GGML_F32, 2, sa, g_a));
  PetscCall(fs_gguf_writer_add_tensor(w, "b", FS_GGML_F16, 1, sb, g_a));
  PetscCall(fs_gguf_writer_add_tensor(w, "c", FS_GGML_BF16, 3, sc, g_a));
  PetscCall(fs_gguf_writer_finish(&w));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void round_trip(const char *path)
{
  struct fs_gguf *g = NULL;
  const char *s = NULL;
  int64_t i = 0, n = 0, *iv = NULL;
  double f = 0;
  char *const *strs = NULL;
  float x[6];

  FS_EXPECT_OK(write_sample(path));
  FS_EXPECT(access(path, F_OK) == 0, "written");
  FS_EXPECT_OK(fs_gguf_open(path, &g));
  if (!g) return;
  FS_EXPECT(g->version == 3 && g->alignment == 32 && g->n_kv == 8 && g->n_tensors == 3 && g->data_start % 32 == 0,
            "header: v%u align %u kv %" PRId64 " tensors %" PRId64, g->version, g->alignment, g->n_kv, g->n_tensors);
  FS_EXPECT_OK(fs_gguf_get_string(g, "general.architecture", &s));
  FS_EXPECT(s && !strcmp(s, "llama"), "architecture");
  FS_EXPECT_OK(fs_gguf_get_int(g, "llama.context_length", &i));
  FS_EXPECT(i == 2048, "context_length %" PRId64, i);
  FS_EXPECT_OK(fs_gguf_get_int(g, "t.neg", &i));
  FS_EXPECT(i == -7, "int32 %" PRId64, i);
  FS_EXPECT(fs_gguf_get_int(g, "t.big", &i) != 0, "UINT64_MAX does not fit int64");
  FS_EXPECT_OK(fs_gguf_get_float(g, "llama.attention.layer_norm_rms_epsilon", &f));
  FS_EXPECT(f == (double)1e-5f, "epsilon %g", f);
  FS_EXPECT_OK(fs_gguf_get_int(g, "t.flag", &i));
  FS_EXPECT(i == 0, "bool");
  FS_EXPECT_OK(fs_gguf_get_string_array(g, "tokenizer.ggml.tokens", &n, &strs));
  FS_EXPECT(n == 3 && !strcmp(strs[1], "bc") && !strcmp(strs[2], ""), "tokens");
  FS_EXPECT_OK(fs_gguf_get_int_array(g, "t.u16s", &n, &iv));
  FS_EXPECT(n == 2 && iv && iv[1] == 65535, "uint16 array");
  free(iv);
  FS_EXPECT(fs_gguf_get_string(g, "llama.context_length", &s) != 0, "an int is not a string");
  FS_EXPECT(fs_gguf_get_int(g, "general.architecture", &i) != 0, "a string is not an int");
  FS_EXPECT(fs_gguf_get_int(g, "no.such.key", &i) != 0, "absent key");
  FS_EXPECT(fs_gguf_get_string_array(g, "t.u16s", &n, &strs) != 0, "numbers are not strings");
  const struct fs_gguf_tensor *t = fs_gguf_find_tensor(g, "c");
  FS_EXPECT(t && t->ndim == 3 && t->shape[0] == 1 && t->shape[2] == 3 && t->ne[0] == 3 && t->ne[2] == 1,
            "shape row-major, ne reversed");
  FS_EXPECT_OK(fs_gguf_read_tensor_f32(g, "a", 6, x));
  FS_EXPECT(!memcmp(x, g_a, sizeof x), "F32 exact");
  FS_EXPECT_OK(fs_gguf_read_tensor_f32(g, "b", 6, x));
  for (int k = 0; k < 6; k++) FS_EXPECT(x[k] == fs_fp16_to_fp32(fs_fp32_to_fp16(g_a[k])), "F16 %d", k);
  FS_EXPECT_OK(fs_gguf_read_tensor_f32(g, "c", 6, x));
  for (int k = 0; k < 6; k++) FS_EXPECT(x[k] == fs_bf16_to_fp32(fs_fp32_to_bf16(g_a[k])), "BF16 %d", k);
  FS_EXPECT(fs_gguf_read_tensor_f32(g, "a", 7, x) != 0, "wrong element count refused");
  FS_EXPECT(fs_gguf_read_tensor_f32(g, "zz", 6, x) != 0, "absent tensor refused");
  fs_gguf_close(&g);
  FS_EXPECT(g == NULL, "close sets NULL");
}

/* where tensor info `name` (1 char, given ndim and ne[0]) starts: its u64 length 1, the name, u32 ndim, u64 ne[0] */
static size_t tensor_info_pos(const unsigned char *b, size_t n, char name, uint32_t ndim, uint64_t ne0)
{
  for (size_t p = 24; p + 21 <= n; p++) {
    uint64_t len, ne;
    uint32_t nd;
    memcpy(&len, b + p, 8);
    memcpy(&nd, b + p + 9, 4);
    memcpy(&ne, b + p + 13, 8);
    if (len == 1 && b[p + 8] == (unsigned char)name && nd == ndim && ne == ne0) return p;
  }
  return 0;
}

static void corruption_cases(const char *good)
{
  size_t n = 0;
  unsigned char *b = slurp(good, &n), *c;
  char p[600];
  uint32_t u32;
  uint64_t u64;
  int refused = 0, total = 0;

  if (!b || n < 64) return;
  c = malloc(n);
  snprintf(p, sizeof p, "%s/bad.gguf", g_dir);
  memcpy(c, b, n);
  c[0] = 'X';
  fs_test_write_file(p, c, n);
  expect_fails(p, "not a GGUF file", "bad magic");
  memcpy(c, b, n);
  u32 = 1;
  memcpy(c + 4, &u32, 4);
  fs_test_write_file(p, c, n);
  expect_fails(p, "version 1", "version 1");
  u32 = 0x03000000; /* a big-endian v3 file */
  memcpy(c + 4, &u32, 4);
  fs_test_write_file(p, c, n);
  expect_fails(p, "big-endian", "big-endian version");
  u32 = 2;
  memcpy(c + 4, &u32, 4);
  fs_test_write_file(p, c, n);
  {
    struct fs_gguf *g = NULL;
    FS_EXPECT_OK(fs_gguf_open(p, &g));
    FS_EXPECT(g && g->version == 2, "version 2 is read");
    fs_gguf_close(&g);
  }
  memcpy(c, b, n);
  u64 = (uint64_t)1 << 60;
  memcpy(c + 16, &u64, 8);
  fs_test_write_file(p, c, n);
  expect_fails(p, "cannot fit", "huge key count");
  memcpy(c, b, n);
  memcpy(c + 8, &u64, 8);
  fs_test_write_file(p, c, n);
  expect_fails(p, "cannot fit", "huge tensor count");
  memcpy(c, b, n);
  memcpy(c + 24, &u64, 8); /* the first key's length */
  fs_test_write_file(p, c, n);
  expect_fails(p, "past the end", "huge string length");
  memcpy(c, b, n);
  u32 = 77; /* the first key's value type */
  memcpy(c + 24 + 8 + strlen("general.architecture"), &u32, 4);
  fs_test_write_file(p, c, n);
  expect_fails(p, "unknown value type 77", "unknown value type");
  /* key 2 renamed to key 1's name (both 20 bytes long) */
  memcpy(c, b, n);
  {
    size_t k1 = 24, k2 = k1 + 8 + 20 + 4 + 8 + 5; /* key 1: len, "general.architecture", type, strlen, "llama" */
    uint64_t l2;
    memcpy(&l2, c + k2, 8);
    FS_EXPECT(l2 == strlen("llama.context_length"), "layout of key 2 (%" PRIu64 ")", l2);
    if (l2 == 20) memcpy(c + k2 + 8, "general.architecture", 20);
    fs_test_write_file(p, c, n);
    expect_fails(p, "appears twice", "duplicate key");
  }
  size_t ta = tensor_info_pos(b, n, 'a', 2, 3), tb = tensor_info_pos(b, n, 'b', 1, 6);
  FS_EXPECT(ta > 0 && tb > ta, "found the tensor infos");
  if (ta && tb) {
    size_t type_a = ta + 8 + 1 + 4 + 2 * 8, off_b = tb + 8 + 1 + 4 + 8 + 4;
    memcpy(c, b, n);
    u32 = 200;
    memcpy(c + type_a, &u32, 4);
    fs_test_write_file(p, c, n);
    expect_fails(p, "unknown ggml type 200", "unknown tensor type");
    memcpy(c, b, n);
    u64 = 8;
    memcpy(c + off_b, &u64, 8);
    fs_test_write_file(p, c, n);
    expect_fails(p, "alignment", "misaligned offset");
    memcpy(c, b, n);
    u64 = 0;
    memcpy(c + off_b, &u64, 8);
    fs_test_write_file(p, c, n);
    expect_fails(p, "overlap", "overlapping tensors");
    memcpy(c, b, n);
    u64 = 1u << 20;
    memcpy(c + off_b, &u64, 8);
    fs_test_write_file(p, c, n);
    expect_fails(p, "'b'", "offset past the end");
    memcpy(c, b, n);
    u32 = 5;
    memcpy(c + ta + 9, &u32, 4);
    fs_test_write_file(p, c, n);
    expect_fails(p, "5 dimensions", "too many dimensions");
    memcpy(c, b, n);
    u64 = (uint64_t)1 << 62;
    memcpy(c + ta + 13, &u64, 8);
    memcpy(c + ta + 21, &u64, 8);
    fs_test_write_file(p, c, n);
    expect_fails(p, "'a'", "overflowing dims");
  }
  /* every truncation that cuts into tensor data is refused (the writer's trailing padding may go) */
  size_t used = 0;
  {
    struct fs_gguf *g = NULL;
    FS_EXPECT_OK(fs_gguf_open(good, &g));
    for (int64_t i = 0; g && i < g->n_tensors; i++)
      if (g->data_start + g->tensors[i].offset + g->tensors[i].n_bytes > used)
        used = g->data_start + (size_t)g->tensors[i].offset + g->tensors[i].n_bytes;
    fs_gguf_close(&g);
  }
  for (size_t k = 0; k < used; k += (k < 400 ? 1 : 5)) {
    struct fs_gguf *g = NULL;
    fs_test_write_file(p, b, k);
    total++;
    if (fs_gguf_open(p, &g)) refused++;
    fs_gguf_close(&g);
  }
  FS_EXPECT(total > 0 && refused == total, "truncated copies: %d of %d refused", refused, total);
  snprintf(p, sizeof p, "%s/none.gguf", g_dir);
  expect_fails(p, "cannot open", "missing file");
  free(b);
  free(c);
}

static void q8_0_block(void)
{
  unsigned char blk[34];
  float y[32];
  uint16_t d = fs_fp32_to_fp16(0.5f);
  memcpy(blk, &d, 2);
  for (int j = 0; j < 32; j++) blk[2 + j] = (unsigned char)(int8_t)(j - 16);
  FS_EXPECT_OK(fs_gguf_dequantize(y, FS_GGML_Q8_0, blk, 32));
  int bad = 0;
  for (int j = 0; j < 32; j++) bad += y[j] != 0.5f * (float)(j - 16);
  FS_EXPECT(bad == 0, "Q8_0 block: %d wrong", bad);
  FS_EXPECT(fs_gguf_dequantize(y, FS_GGML_Q8_0, blk, 31) != 0, "partial block refused");
  FS_EXPECT(fs_gguf_dequantize(y, 16 /* IQ2_XXS */, blk, 256) != 0, "unsupported type refused");
  FS_EXPECT(fs_ggml_block_bytes(FS_GGML_Q6_K) == 210 && fs_ggml_block_elems(FS_GGML_Q4_K) == 256 &&
              fs_ggml_block_bytes(99) == 0,
            "block sizes");
}

int main(int argc, char **argv)
{
  char path[600], cmd[700];

  PetscInitialize(&argc, &argv, NULL, NULL);
  PetscPushErrorHandler(PetscReturnErrorHandler, NULL); /* the errors below are expected: no traceback */
  if (!mkdtemp(g_dir)) {
    perror("mkdtemp");
    return 1;
  }
  snprintf(path, sizeof path, "%s/sample.gguf", g_dir);
  round_trip(path);
  corruption_cases(path);
  q8_0_block();
  PetscPopErrorHandler();
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_dir);
  int rc = fs_test_done("test_gguf");
  PetscFinalize();
  return rc;
}
