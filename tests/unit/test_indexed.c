/* test_indexed.c -- the indexed dataset: writer -> reader round trip for every dtype, the on-disk layout,
 * out-of-range reads and ids, and every corruption the reader must refuse with a clear message (never a crash). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <unistd.h>
#include "fs_indexed.h"
#include "fs_test.h"

static char g_dir[] = "/tmp/fs_test_indexed_XXXXXX";

/* documents of 1..3 sequences with pseudo-random ids in [0, max_id], one empty sequence included */
static PetscErrorCode write_sample(const char *prefix, int dtype, int32_t max_id)
{
  struct fs_indexed_writer *w;
  int32_t ids[100];
  uint32_t s = 12345;

  PetscFunctionBegin;
  PetscCall(fs_indexed_writer_create(prefix, dtype, &w));
  for (int d = 0; d < 7; d++) {
    for (int q = 0; q <= d % 3; q++) {
      int n = (d * 13 + q * 7) % 37;
      for (int k = 0; k < n; k++) {
        s = s * 1103515245u + 12345u;
        ids[k] = (int32_t)((s >> 8) % ((uint32_t)max_id + 1));
      }
      PetscCall(fs_indexed_writer_add(w, ids, n));
    }
    PetscCall(fs_indexed_writer_end_document(w));
  }
  PetscCall(fs_indexed_writer_finish(&w));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void *slurp(const char *path, long *n)
{
  FILE *f = fopen(path, "rb");
  void *buf;
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  *n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = malloc((size_t)*n + 1);
  if (fread(buf, 1, (size_t)*n, f) != (size_t)*n) *n = -1;
  fclose(f);
  return buf;
}

static const char *last_message(void)
{
  const char *text = NULL;
  char *specific = NULL;
  PetscErrorMessage(1, &text, &specific);
  return specific ? specific : "";
}

/* copies the good pair to PREFIX 'bad', lets mutate() change the .idx/.bin bytes, opens it: must fail and say why */
static void expect_corrupt(const char *good, const char *what, const char *pattern,
                           void (*mutate)(unsigned char **idx, long *n_idx, unsigned char **bin, long *n_bin))
{
  char path[600], bad[512];
  long n_idx, n_bin;
  unsigned char *idx, *bin;
  struct fs_indexed *ds = (struct fs_indexed *)1;

  snprintf(path, sizeof path, "%s.idx", good);
  idx = slurp(path, &n_idx);
  snprintf(path, sizeof path, "%s.bin", good);
  bin = slurp(path, &n_bin);
  mutate(&idx, &n_idx, &bin, &n_bin);
  snprintf(bad, sizeof bad, "%s/bad", g_dir);
  snprintf(path, sizeof path, "%s.idx", bad);
  fs_test_write_file(path, idx, (size_t)n_idx);
  snprintf(path, sizeof path, "%s.bin", bad);
  fs_test_write_file(path, bin, (size_t)n_bin);
  free(idx);
  free(bin);
  PetscErrorCode ierr = fs_indexed_open(bad, &ds);
  FS_EXPECT(ierr != 0, "%s: corrupt dataset was accepted", what);
  FS_EXPECT(ds == NULL, "%s: handle not cleared on error", what);
  FS_EXPECT(ierr == 0 || strstr(last_message(), pattern), "%s: message '%s' lacks '%s'", what, last_message(),
            pattern);
  if (!ierr) fs_indexed_close(&ds);
}

static void put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static uint64_t n_seqs_of(const unsigned char *idx)
{
  uint64_t v;
  memcpy(&v, idx + 18, 8);
  return v;
}

static void m_magic(unsigned char **i, long *ni, unsigned char **b, long *nb) { (*i)[3] = 'X'; }
static void m_version(unsigned char **i, long *ni, unsigned char **b, long *nb) { put64(*i + 9, 2); }
static void m_dtype(unsigned char **i, long *ni, unsigned char **b, long *nb) { (*i)[17] = 9; }
static void m_dtype0(unsigned char **i, long *ni, unsigned char **b, long *nb) { (*i)[17] = 0; }
static void m_short_header(unsigned char **i, long *ni, unsigned char **b, long *nb) { *ni = 20; }
static void m_trunc(unsigned char **i, long *ni, unsigned char **b, long *nb) { *ni -= 8; }
static void m_trailing(unsigned char **i, long *ni, unsigned char **b, long *nb) { *ni += 1; }
static void m_huge_n(unsigned char **i, long *ni, unsigned char **b, long *nb) { put64(*i + 18, UINT64_MAX / 2); }
static void m_bin_short(unsigned char **i, long *ni, unsigned char **b, long *nb) { *nb -= 2; }
static void m_bin_long(unsigned char **i, long *ni, unsigned char **b, long *nb)
{
  *b = realloc(*b, (size_t)*nb + 4);
  memset(*b + *nb, 0, 4);
  *nb += 4;
}
static void m_size(unsigned char **i, long *ni, unsigned char **b, long *nb)
{
  int32_t v;
  memcpy(&v, *i + FS_IDX_HEADER_BYTES + 4, 4); /* sequence 1 one token longer: pointers no longer add up */
  v++;
  memcpy(*i + FS_IDX_HEADER_BYTES + 4, &v, 4);
}
static void m_neg_size(unsigned char **i, long *ni, unsigned char **b, long *nb)
{
  int32_t v = -3;
  memcpy(*i + FS_IDX_HEADER_BYTES, &v, 4);
}
static void m_pointer(unsigned char **i, long *ni, unsigned char **b, long *nb)
{
  uint64_t n = n_seqs_of(*i);
  put64(*i + FS_IDX_HEADER_BYTES + 4 * n + 8 * 2, 7777);
}
static void m_doc_first(unsigned char **i, long *ni, unsigned char **b, long *nb)
{
  uint64_t n = n_seqs_of(*i);
  put64(*i + FS_IDX_HEADER_BYTES + 12 * n, 1);
}
static void m_doc_order(unsigned char **i, long *ni, unsigned char **b, long *nb)
{
  uint64_t n = n_seqs_of(*i);
  put64(*i + FS_IDX_HEADER_BYTES + 12 * n + 8 * 3, 0); /* doc_idx[3] < doc_idx[2] */
}
static void m_doc_past(unsigned char **i, long *ni, unsigned char **b, long *nb)
{
  uint64_t n = n_seqs_of(*i);
  put64(*i + FS_IDX_HEADER_BYTES + 12 * n + 8 * 7, n + 1); /* last entry past the sequences */
}

int main(int argc, char **argv)
{
  char prefix[512], path[600];
  struct fs_indexed *ds = NULL;
  static const int dtypes[] = {FS_IDX_U8, FS_IDX_I8, FS_IDX_I16, FS_IDX_I32, FS_IDX_I64, FS_IDX_F64, FS_IDX_F32,
                               FS_IDX_U16};

  PetscInitialize(&argc, &argv, NULL, NULL);
  PetscPushErrorHandler(PetscReturnErrorHandler, NULL); /* the errors below are expected: no traceback */
  if (!mkdtemp(g_dir)) {
    perror("mkdtemp");
    return 1;
  }

  FS_EXPECT(fs_idx_dtype_for_vocab(50257) == FS_IDX_U16, "gpt2 vocab -> uint16");
  FS_EXPECT(fs_idx_dtype_for_vocab(65500) == FS_IDX_I32, "65500 -> int32 (Megatron's bound)");
  FS_EXPECT(fs_idx_dtype_for_vocab(100008) == FS_IDX_I32, "aquila vocab -> int32");
  FS_EXPECT(fs_idx_dtype_size(FS_IDX_F64) == 8 && fs_idx_dtype_size(FS_IDX_U16) == 2 && fs_idx_dtype_size(0) == 0 &&
              fs_idx_dtype_size(9) == 0,
            "dtype sizes");

  /* round trip for every dtype: what was written comes back, the layout is the documented one */
  for (size_t t = 0; t < sizeof dtypes / sizeof *dtypes; t++) {
    int dt = dtypes[t];
    int32_t max_id = dt == FS_IDX_I8 ? 127 : dt == FS_IDX_U8 ? 255 : dt == FS_IDX_I16 ? 32767 : 65535;
    if (dt == FS_IDX_I32 || dt == FS_IDX_I64 || dt == FS_IDX_F64) max_id = 1 << 30;
    snprintf(prefix, sizeof prefix, "%s/rt%d", g_dir, dt);
    FS_EXPECT_OK(write_sample(prefix, dt, max_id));
    FS_EXPECT_OK(fs_indexed_open(prefix, &ds));
    if (!ds) continue;
    FS_EXPECT(ds->dtype == dt, "dtype %d read as %d", dt, ds->dtype);
    FS_EXPECT(ds->n_seqs == 13 && ds->n_doc_idx == 8, "dtype %d: %" PRId64 " seqs, %" PRId64 " doc_idx", dt,
              ds->n_seqs, ds->n_doc_idx);
    FS_EXPECT(ds->doc_idx[0] == 0 && ds->doc_idx[1] == 1 && ds->doc_idx[2] == 3 && ds->doc_idx[7] == 13,
              "doc_idx %" PRId64 " %" PRId64 " %" PRId64, ds->doc_idx[1], ds->doc_idx[2], ds->doc_idx[7]);
    /* regenerate the ids and compare through fs_indexed_get */
    uint32_t s = 12345;
    int64_t seq = 0, bad = 0, bytes = 0;
    for (int d = 0; d < 7; d++)
      for (int q = 0; q <= d % 3; q++, seq++) {
        int n = (d * 13 + q * 7) % 37;
        int32_t got[100];
        FS_EXPECT(ds->sizes[seq] == n, "size of %" PRId64 ": %d vs %d", seq, ds->sizes[seq], n);
        FS_EXPECT(ds->pointers[seq] == bytes, "pointer of %" PRId64, seq);
        bytes += (int64_t)n * fs_idx_dtype_size(dt);
        FS_EXPECT_OK(fs_indexed_get(ds, seq, 0, n, got));
        for (int k = 0; k < n; k++) {
          s = s * 1103515245u + 12345u;
          if (dt == FS_IDX_F32 && max_id > (1 << 24)) continue;
          if (got[k] != (int32_t)((s >> 8) % ((uint32_t)max_id + 1))) bad++;
        }
      }
    FS_EXPECT(bad == 0, "dtype %d: %" PRId64 " ids differ", dt, bad);
    FS_EXPECT(ds->bin_bytes == bytes, "dtype %d: .bin %" PRId64 " bytes, expected %" PRId64, dt, ds->bin_bytes, bytes);
    snprintf(path, sizeof path, "%s.idx", prefix);
    long n_idx;
    unsigned char *idx = slurp(path, &n_idx);
    FS_EXPECT(idx && n_idx == FS_IDX_HEADER_BYTES + 13 * 12 + 8 * 8, "dtype %d: .idx has %ld bytes", dt, n_idx);
    FS_EXPECT(idx && !memcmp(idx, "MMIDIDX\0\0\1\0\0\0\0\0\0\0", 17) && idx[17] == dt, "header bytes");
    free(idx);
    /* a slice in the middle */
    if (ds->sizes[3] >= 5) {
      int32_t all[64], part[3];
      FS_EXPECT_OK(fs_indexed_get(ds, 3, 0, ds->sizes[3], all));
      FS_EXPECT_OK(fs_indexed_get(ds, 3, 2, 3, part));
      FS_EXPECT(!memcmp(part, all + 2, sizeof part), "slice [2,5) of sequence 3");
    }
    int32_t one;
    FS_EXPECT(fs_indexed_get(ds, 13, 0, 1, &one) != 0, "sequence past the end accepted");
    FS_EXPECT(fs_indexed_get(ds, -1, 0, 1, &one) != 0, "negative sequence accepted");
    FS_EXPECT(fs_indexed_get(ds, 1, ds->sizes[1], 1, &one) != 0, "token past the sequence accepted");
    FS_EXPECT_OK(fs_indexed_close(&ds));
    FS_EXPECT(ds == NULL, "close did not clear the handle");
  }
  FS_EXPECT_OK(fs_indexed_close(&ds)); /* NULL is fine */

  /* an empty dataset (no sequences, empty .bin) is valid */
  {
    struct fs_indexed_writer *w;
    snprintf(prefix, sizeof prefix, "%s/empty", g_dir);
    FS_EXPECT_OK(fs_indexed_writer_create(prefix, FS_IDX_U16, &w));
    FS_EXPECT_OK(fs_indexed_writer_finish(&w));
    FS_EXPECT_OK(fs_indexed_open(prefix, &ds));
    FS_EXPECT(ds && ds->n_seqs == 0 && ds->n_doc_idx == 1 && ds->bin_bytes == 0, "empty dataset");
    fs_indexed_close(&ds);
  }

  /* ids that do not fit the dtype are refused by the writer */
  {
    struct fs_indexed_writer *w;
    int32_t big = 70000, neg = -1;
    snprintf(prefix, sizeof prefix, "%s/range", g_dir);
    FS_EXPECT_OK(fs_indexed_writer_create(prefix, FS_IDX_U16, &w));
    FS_EXPECT(fs_indexed_writer_add(w, &big, 1) != 0, "70000 accepted as uint16");
    FS_EXPECT(strstr(last_message(), "uint16"), "message: %s", last_message());
    FS_EXPECT(fs_indexed_writer_add(w, &neg, 1) != 0, "-1 accepted as uint16");
    FS_EXPECT_OK(fs_indexed_writer_destroy(&w));
    FS_EXPECT(fs_indexed_writer_create(prefix, 9, &w) != 0, "dtype 9 accepted by the writer");
    snprintf(prefix, sizeof prefix, "%s/no/such/dir/x", g_dir);
    FS_EXPECT(fs_indexed_writer_create(prefix, FS_IDX_U16, &w) != 0, "missing directory accepted");
  }

  /* corruptions, each on a copy of a good uint16 pair */
  snprintf(prefix, sizeof prefix, "%s/rt%d", g_dir, FS_IDX_U16);
  expect_corrupt(prefix, "magic", "wrong magic", m_magic);
  expect_corrupt(prefix, "version", "version 2", m_version);
  expect_corrupt(prefix, "dtype 9", "unknown dtype code 9", m_dtype);
  expect_corrupt(prefix, "dtype 0", "unknown dtype code 0", m_dtype0);
  expect_corrupt(prefix, "short header", "shorter than the 34-byte header", m_short_header);
  expect_corrupt(prefix, "truncated idx", "truncated or corrupt", m_trunc);
  expect_corrupt(prefix, "trailing idx", "truncated or corrupt", m_trailing);
  expect_corrupt(prefix, "huge n_seqs", "truncated or corrupt", m_huge_n);
  expect_corrupt(prefix, "short bin", "does not match", m_bin_short);
  expect_corrupt(prefix, "long bin", "does not match", m_bin_long);
  expect_corrupt(prefix, "size", "pointer of sequence 2", m_size);
  expect_corrupt(prefix, "negative size", "negative size", m_neg_size);
  expect_corrupt(prefix, "pointer", "pointer of sequence 2 is 7777", m_pointer);
  expect_corrupt(prefix, "doc_idx[0]", "must start with 0", m_doc_first);
  expect_corrupt(prefix, "doc_idx order", "doc_idx[3] = 0", m_doc_order);
  expect_corrupt(prefix, "doc_idx past", "doc_idx[7]", m_doc_past);
  {
    snprintf(path, sizeof path, "%s/missing", g_dir);
    FS_EXPECT(fs_indexed_open(path, &ds) != 0 && strstr(last_message(), "missing.idx"), "missing files: %s",
              last_message());
    snprintf(path, sizeof path, "%s.bin", prefix);
    char moved[700];
    snprintf(moved, sizeof moved, "%s.moved", path);
    rename(path, moved);
    FS_EXPECT(fs_indexed_open(prefix, &ds) != 0 && strstr(last_message(), ".bin"), "missing .bin: %s",
              last_message());
    rename(moved, path);
  }

  {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", g_dir);
  }
  PetscPopErrorHandler();
  PetscFinalize();
  return fs_test_done("test_indexed");
}
