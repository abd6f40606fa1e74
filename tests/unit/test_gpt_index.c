/* test_gpt_index.c -- GPT sample index without numpy: MT19937/shuffle and MD5 against known vectors, split
 * strings, epochs, index invariants (every sample is seq_length+1 consecutive tokens of the shuffled document
 * stream), blending, the cache (build, reuse, stale description / truncated file / missing file -> rebuild) on
 * any number of ranks, and bad inputs.  Run on 1 rank by make check and on 3 by test_gpt_ranks.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fs_blend.h"
#include "fs_gpt_dataset.h"
#include "fs_indexed.h"
#include "fs_md5.h"
#include "fs_mt19937.h"
#include "fs_npy.h"
#include "fs_test.h"

static int rank;

/* token at position pos of document doc: distinct for every (doc, pos) */
static int32_t tok(int64_t doc, int64_t pos) { return (int32_t)(doc * 100003 + pos); }

static PetscErrorCode read_synth(void *ctx, int64_t doc, int64_t offset, int64_t n, int32_t *out)
{
  const int32_t *sizes = ctx;
  PetscFunctionBegin;
  FSCheck(offset >= 0 && offset + n <= sizes[doc], PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "bad read");
  for (int64_t i = 0; i < n; i++) out[i] = tok(doc, offset + i);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void test_mt19937(void)
{
  struct fs_mt19937 mt;
  fs_mt19937_seed(&mt, 5489); /* the reference implementation's default seed and first output */
  FS_EXPECT(fs_mt19937_next32(&mt) == 3499211612U, "MT19937(5489) first output");
  /* numpy: a = np.arange(10, dtype=np.int32); np.random.RandomState(1234).shuffle(a) */
  int32_t a[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, want[10] = {7, 2, 9, 1, 0, 8, 4, 5, 6, 3};
  fs_mt19937_seed(&mt, 1234);
  fs_mt19937_shuffle_i32(&mt, a, 10);
  FS_EXPECT(memcmp(a, want, sizeof a) == 0, "shuffle(arange(10)) with seed 1234 differs from numpy's");
  /* numpy legacy randint uses the same masked rejection (64-bit draws above 2^32):
   * r = np.random.RandomState(11); r.randint(0, 5*10**9+1, 4, np.int64); r.randint(0, 1000, 4, np.int64) */
  uint64_t want64[8] = {4588342975ULL, 2854952027ULL, 4746691143ULL, 969428760ULL, 621, 604, 688, 765};
  fs_mt19937_seed(&mt, 11);
  for (int i = 0; i < 8; i++) {
    uint64_t v = fs_mt19937_interval(&mt, i < 4 ? 5000000000ULL : 999);
    FS_EXPECT(v == want64[i], "bounded draw %d: %llu, numpy %llu", i, (unsigned long long)v,
              (unsigned long long)want64[i]);
  }
  fs_mt19937_seed(&mt, 7);
  for (int i = 0; i < 1000; i++) {
    uint64_t m = (uint64_t)i * 7919 % 1000 + (i % 3 == 0 ? 5000000000ULL : 0);
    FS_EXPECT(fs_mt19937_interval(&mt, m) <= m, "interval out of range");
  }
}

static void test_md5(void)
{
  char h[33];
  unsigned char buf[1024];
  fs_md5_hex(h, "", 0);
  FS_EXPECT(strcmp(h, "d41d8cd98f00b204e9800998ecf8427e") == 0, "md5('') = %s", h);
  fs_md5_hex(h, "abc", 3);
  FS_EXPECT(strcmp(h, "900150983cd24fb0d6963f7d28e17f72") == 0, "md5(abc) = %s", h);
  const char *fox = "The quick brown fox jumps over the lazy dog";
  fs_md5_hex(h, fox, strlen(fox));
  FS_EXPECT(strcmp(h, "9e107d9d372bb6826bd81d3542a419d6") == 0, "md5(fox) = %s", h);
  for (int i = 0; i < 1024; i++) buf[i] = (unsigned char)i;
  fs_md5_hex(h, buf, sizeof buf); /* python: hashlib.md5(bytes(range(256)) * 4) */
  FS_EXPECT(strcmp(h, "b2ea9f7fcea831a4a63b213f41a8855b") == 0, "md5(1024 bytes) = %s", h);
  struct fs_md5 c; /* the same bytes fed in odd pieces */
  unsigned char d[16];
  fs_md5_init(&c);
  for (int off = 0, step = 1; off < 1024; off += step, step = step * 3 % 97 + 1)
    fs_md5_update(&c, buf + off, (size_t)(off + step > 1024 ? 1024 - off : step));
  fs_md5_final(d, &c);
  char h2[33];
  for (int i = 0; i < 16; i++) snprintf(h2 + 2 * i, 3, "%02x", d[i]);
  FS_EXPECT(strcmp(h2, h) == 0, "streamed md5 %s != %s", h2, h);
}

static void test_split(void)
{
  /* expected values from Megatron's get_train_valid_test_split_ (Python round: ties to even) */
  struct {
    const char *s;
    int64_t n, b[4];
  } cases[] = {{"969,30,1", 1000, {0, 969, 999, 1000}}, {"1,1,1", 10, {0, 4, 7, 10}}, {"1/1", 3, {0, 1, 3, 3}},
               {"98,2", 7, {0, 7, 7, 7}},           {"1", 5, {0, 5, 5, 5}},         {"2,1,1", 2, {0, 2, 2, 2}},
               {"0.5,0.25,0.25", 10, {0, 6, 8, 10}}, {"1,1,1,1", 8, {0, 2, 5, 8}}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int64_t b[4] = {-1, -1, -1, -1};
    FS_EXPECT_OK(fs_gpt_split(b, cases[i].s, cases[i].n));
    FS_EXPECT(memcmp(b, cases[i].b, sizeof b) == 0, "split '%s' of %lld: %lld %lld %lld %lld", cases[i].s,
              (long long)cases[i].n, (long long)b[0], (long long)b[1], (long long)b[2], (long long)b[3]);
  }
  const char *bad[] = {"", "a,b", "0,0,0", "1,-1", "1,,2", "1;2", "nan"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int64_t b[4];
    FS_EXPECT(fs_gpt_split(b, bad[i], 10) != 0, "split '%s' accepted", bad[i]);
  }
}

static void test_epochs(void)
{
  int64_t e = 0;
  FS_EXPECT_OK(fs_gpt_num_epochs(&e, 100, 10, 9));
  FS_EXPECT(e == 1, "epochs %lld", (long long)e);
  FS_EXPECT_OK(fs_gpt_num_epochs(&e, 100, 10, 10));
  FS_EXPECT(e == 2, "epochs %lld", (long long)e);
  FS_EXPECT_OK(fs_gpt_num_epochs(&e, 100, 10, 0));
  FS_EXPECT(e == 1, "epochs %lld", (long long)e);
  /* against Megatron's loop */
  for (int64_t t = 1; t < 60; t += 7)
    for (int64_t L = 1; L < 40; L += 3)
      for (int64_t n = 0; n < 200; n += 11) {
        int64_t loop = 0, total = 0;
        do {
          loop++;
          total += t;
        } while ((total - 1) / L < n);
        FS_EXPECT_OK(fs_gpt_num_epochs(&e, t, L, n));
        FS_EXPECT(e == loop, "tokens %lld seq %lld samples %lld: %lld epochs, loop says %lld", (long long)t,
                  (long long)L, (long long)n, (long long)e, (long long)loop);
      }
  FS_EXPECT(fs_gpt_num_epochs(&e, 0, 10, 5) != 0, "no tokens accepted");
  FS_EXPECT(fs_gpt_num_epochs(&e, 10, 0, 5) != 0, "seq_length 0 accepted");
  FS_EXPECT(fs_gpt_num_epochs(&e, 10, 4, -1) != 0, "negative samples accepted");
}

/* invariants any correct index has, checked against the documents directly */
static void check_index(const struct fs_gpt_index *ix, const int32_t *sizes, const int32_t *docs, int64_t n_docs,
                        const char *what)
{
  int64_t L = ix->seq_length, tokens = 0;
  for (int64_t i = 0; i < n_docs; i++) tokens += sizes[docs[i]];
  FS_EXPECT(ix->tokens_per_epoch == tokens && ix->n_doc_idx == ix->num_epochs * n_docs, "%s: sizes", what);
  FS_EXPECT(ix->n_samples >= ix->num_samples && ix->n_samples == (ix->num_epochs * tokens - 1) / L, "%s: samples",
            what);
  /* every epoch of doc_idx holds each document once (or the whole array holds each num_epochs times) */
  int64_t *count = calloc((size_t)ix->n_sizes, sizeof *count);
  for (int64_t i = 0; i < ix->n_doc_idx; i++) count[ix->doc_idx[i]]++;
  int64_t bad = 0;
  for (int64_t i = 0; i < n_docs; i++) bad += count[docs[i]] != ix->num_epochs;
  FS_EXPECT(bad == 0, "%s: doc_idx is not the documents tiled %lld times", what, (long long)ix->num_epochs);
  free(count);
  /* shuffle_idx is a permutation; with a separate last epoch the tail stays in the tail */
  char *seen = calloc((size_t)ix->n_samples + 1, 1);
  bad = 0;
  for (int64_t k = 0; k < ix->n_samples; k++) {
    int64_t s = fs_gpt_index_row(ix, k);
    if (s < 0 || s >= ix->n_samples || seen[s]++) bad++;
  }
  FS_EXPECT(bad == 0, "%s: shuffle_idx is not a permutation", what);
  free(seen);
  /* sample s = tokens [s*L, s*L + L] of the stream doc_idx[0], doc_idx[1], ... */
  int64_t *start = malloc((size_t)(ix->n_doc_idx + 1) * sizeof *start);
  start[0] = 0;
  for (int64_t i = 0; i < ix->n_doc_idx; i++) start[i + 1] = start[i] + sizes[ix->doc_idx[i]];
  int32_t *t = malloc((size_t)(L + 1) * sizeof *t);
  bad = 0;
  for (int64_t k = 0; k < ix->n_samples; k++) {
    if (fs_gpt_index_sample(t, ix, k, read_synth, (void *)sizes)) {
      bad++;
      continue;
    }
    int64_t s = fs_gpt_index_row(ix, k), d = 0;
    for (int64_t j = 0; j <= L; j++) {
      int64_t g = s * L + j;
      while (start[d + 1] <= g) d++;
      if (t[j] != tok(ix->doc_idx[d], g - start[d])) bad++;
    }
  }
  FS_EXPECT(bad == 0, "%s: %lld wrong tokens", what, (long long)bad);
  free(t);
  free(start);
}

static void make_data(int32_t *sizes, int64_t n, unsigned seed)
{
  for (int64_t i = 0; i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    sizes[i] = (int32_t)((seed >> 16) % 50) + (i % 7 == 3 ? 0 : 1); /* some empty documents */
  }
}

static void test_build(void)
{
  int32_t sizes[200], docs[200];
  make_data(sizes, 200, 3);
  int64_t b[4];
  FS_EXPECT_OK(fs_gpt_split(b, "8,1,1", 200));
  for (int64_t i = b[1]; i < b[2]; i++) docs[i - b[1]] = (int32_t)i;
  struct {
    int64_t num_samples, L;
    uint32_t seed;
    int sep; /* -1: either */
  } cases[] = {{10, 16, 1234, 0}, {0, 1, 7, 0}, {100, 8, 1, -1}, {170, 7, 99, -1}, {500, 3, 5, -1}, {40, 128, 2, 1}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    struct fs_gpt_index *ix = NULL;
    char what[64];
    snprintf(what, sizeof what, "case %zu", c);
    FS_EXPECT_OK(fs_gpt_index_build(&ix, sizes, 200, docs, b[2] - b[1], cases[c].num_samples, cases[c].L,
                                    cases[c].seed));
    if (!ix) continue;
    if (cases[c].sep >= 0)
      FS_EXPECT(ix->separate_last_epoch == cases[c].sep, "%s: separate_last_epoch %d (epochs %lld)", what,
                ix->separate_last_epoch, (long long)ix->num_epochs);
    check_index(ix, sizes, docs, b[2] - b[1], what);
    fs_gpt_index_destroy(&ix);
  }
  /* a run that needs a sliver of a second epoch separates it; one that needs most of it does not */
  int64_t tokens = 0;
  for (int64_t i = 0; i < b[2] - b[1]; i++) tokens += sizes[docs[i]];
  int64_t L = 10, per = (tokens - 1) / L;
  struct fs_gpt_index *ix = NULL;
  FS_EXPECT_OK(fs_gpt_index_build(&ix, sizes, 200, docs, b[2] - b[1], per + 1, L, 3));
  FS_EXPECT(ix && ix->num_epochs == 2 && ix->separate_last_epoch == 1, "sliver of a 2nd epoch not separated");
  if (ix) check_index(ix, sizes, docs, b[2] - b[1], "sliver");
  fs_gpt_index_destroy(&ix);
  int64_t edge = per + (int64_t)(0.80 * (double)per); /* the 80% threshold from both sides */
  FS_EXPECT_OK(fs_gpt_index_build(&ix, sizes, 200, docs, b[2] - b[1], edge - 1, L, 3));
  FS_EXPECT(ix && ix->num_epochs == 2 && ix->separate_last_epoch == 1, "79%% of a 2nd epoch not separated");
  fs_gpt_index_destroy(&ix);
  FS_EXPECT_OK(fs_gpt_index_build(&ix, sizes, 200, docs, b[2] - b[1], edge, L, 3));
  FS_EXPECT(ix && ix->num_epochs == 2 && ix->separate_last_epoch == 0, "80%% of a 2nd epoch separated");
  fs_gpt_index_destroy(&ix);
  FS_EXPECT_OK(fs_gpt_index_build(&ix, sizes, 200, docs, b[2] - b[1], 2 * per - 1, L, 3));
  FS_EXPECT(ix && ix->num_epochs == 2 && ix->separate_last_epoch == 0, "nearly full 2nd epoch separated");
  fs_gpt_index_destroy(&ix);

  /* bad inputs: clear errors, no crash, no index */
  int32_t zero[3] = {0, 0, 0}, three[3] = {0, 1, 2}, oob[2] = {0, 200};
  FS_EXPECT(fs_gpt_index_build(&ix, sizes, 200, docs, 0, 10, 8, 1) != 0 && !ix, "empty split accepted");
  FS_EXPECT(fs_gpt_index_build(&ix, zero, 3, three, 3, 10, 8, 1) != 0 && !ix, "no tokens accepted");
  FS_EXPECT(fs_gpt_index_build(&ix, sizes, 200, docs, 10, 10, 0, 1) != 0 && !ix, "seq_length 0 accepted");
  FS_EXPECT(fs_gpt_index_build(&ix, sizes, 200, docs, 10, -5, 8, 1) != 0 && !ix, "num_samples < 0 accepted");
  FS_EXPECT(fs_gpt_index_build(&ix, sizes, 200, oob, 2, 10, 8, 1) != 0 && !ix, "document id out of range accepted");
  FS_EXPECT_OK(fs_gpt_index_build(&ix, sizes, 200, docs, 10, 3, 4, 1));
  int32_t t[5];
  FS_EXPECT(ix && fs_gpt_index_sample(t, ix, ix->n_samples, read_synth, sizes) != 0, "sample past the end read");
  fs_gpt_index_destroy(&ix);
}

static void test_blend(void)
{
  double w[3] = {5, 3, 2}, wn[3];
  int64_t per[3], total;
  FS_EXPECT_OK(fs_blend_num_samples(wn, per, &total, 3, w, 1000));
  FS_EXPECT(per[0] == 503 && per[1] == 302 && per[2] == 201 && total == 1006, "per dataset %lld %lld %lld",
            (long long)per[0], (long long)per[1], (long long)per[2]);
  struct fs_blend *bl = NULL;
  FS_EXPECT_OK(fs_blend_create(&bl, 3, wn, total, per));
  if (bl) {
    int64_t cnt[3] = {0, 0, 0}, bad = 0;
    for (int64_t k = 0; k < bl->size; k++) {
      int d;
      int64_t s;
      fs_blend_locate(bl, k, &d, &s);
      if (s != cnt[d]++) bad++;
      /* Megatron's rule keeps every prefix within one sample of its share */
      for (int i = 0; i < 3; i++)
        if (cnt[i] > wn[i] * (double)(k + 1) + 1.0 + 1e-9) bad++;
    }
    FS_EXPECT(bad == 0, "blend order: %lld faults", (long long)bad);
    FS_EXPECT(llabs(cnt[0] - 503) <= 1 && llabs(cnt[1] - 302) <= 1 && llabs(cnt[2] - 201) <= 1,
              "blend counts %lld %lld %lld", (long long)cnt[0], (long long)cnt[1], (long long)cnt[2]);
    fs_blend_destroy(&bl);
  }
  int64_t small[3] = {10, 10, 10};
  FS_EXPECT(fs_blend_create(&bl, 3, wn, total, small) != 0 && !bl, "blend beyond a dataset's length accepted");
  double zero[2] = {0, 0}, neg[2] = {1, -1};
  FS_EXPECT(fs_blend_num_samples(wn, per, &total, 2, zero, 10) != 0, "zero weights accepted");
  FS_EXPECT(fs_blend_num_samples(wn, per, &total, 2, neg, 10) != 0, "negative weight accepted");
  FS_EXPECT(fs_blend_create(&bl, 0, wn, 10, NULL) != 0, "no datasets accepted");
  double a[9] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
  FS_EXPECT(fs_blend_np_sum(a, 3) == (0.1 + 0.2) + 0.3, "np.sum of 3");
}

static PetscErrorCode file_replace(const char *path, const char *text)
{
  PetscFunctionBegin;
  FILE *f = fopen(path, "wb");
  FSCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s", path);
  fputs(text, f);
  fclose(f);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static int same_index(const struct fs_gpt_index *a, const struct fs_gpt_index *b)
{
  return a->n_doc_idx == b->n_doc_idx && a->n_samples == b->n_samples && a->shuffle_i64 == b->shuffle_i64 &&
         a->num_epochs == b->num_epochs && a->separate_last_epoch == b->separate_last_epoch &&
         memcmp(a->doc_idx, b->doc_idx, (size_t)a->n_doc_idx * 4) == 0 &&
         memcmp(a->sample_idx, b->sample_idx, (size_t)(a->n_samples + 1) * 8) == 0 &&
         memcmp(a->shuffle_idx, b->shuffle_idx, (size_t)a->n_samples * (a->shuffle_i64 ? 8 : 4)) == 0;
}

static void test_cache(MPI_Comm comm)
{
  char dir[256] = "", prefix[300], path[400];
  int32_t sizes[300], docs[300];
  make_data(sizes, 300, 11);
  for (int i = 0; i < 300; i++) docs[i] = i;
  if (rank == 0) {
    snprintf(dir, sizeof dir, "gpt_cache_XXXXXX");
    if (!mkdtemp(dir)) dir[0] = 0;
  }
  MPI_Bcast(dir, sizeof dir, MPI_CHAR, 0, comm);
  FS_EXPECT(dir[0], "mkdtemp failed");
  if (!dir[0]) return;
  snprintf(prefix, sizeof prefix, "%s/data/corpus_text_document", dir); /* its index-cache dir does not exist */
  char cache[300];
  snprintf(cache, sizeof cache, "%s/cache", dir);
  struct fs_gpt_index_args a = {prefix, "train", "969,30,1", cache, 700, 9, 1234};
  struct fs_gpt_index *ref = NULL, *ix = NULL;
  PetscBool built = PETSC_FALSE;
  FS_EXPECT_OK(fs_gpt_index_build(&ref, sizes, 300, docs, 300, a.num_samples, a.seq_length, a.seed));

  FS_EXPECT_OK(fs_gpt_index_load(comm, &a, sizes, 300, docs, 300, &ix, &built));
  FS_EXPECT(ix && built && ref && same_index(ix, ref), "first load: built %d, same as in memory", (int)built);
  char desc[1024], hash[33];
  int n = fs_gpt_description(desc, sizeof desc, prefix, "train", 700, 9, 1234, "969,30,1");
  fs_md5_hex(hash, desc, (size_t)n);
  FS_EXPECT(ix && strcmp(ix->hash, hash) == 0, "cache name %s, md5 of the description %s", ix ? ix->hash : "", hash);
  fs_gpt_index_destroy(&ix);

  FS_EXPECT_OK(fs_gpt_index_load(comm, &a, sizes, 300, docs, 300, &ix, &built));
  FS_EXPECT(ix && !built && same_index(ix, ref), "second load: rebuilt %d", (int)built);
  fs_gpt_index_destroy(&ix);

  /* stale description, truncated array, missing array: each rebuilt, with the same result */
  for (int fault = 0; fault < 3; fault++) {
    MPI_Barrier(comm);
    if (rank == 0) {
      if (fault == 0) {
        snprintf(path, sizeof path, "%s/%s.dsc", cache, hash);
        file_replace(path, "GPT Dataset\n\nsomething else\n");
      } else if (fault == 1) {
        snprintf(path, sizeof path, "%s/%s_sample_idx.npy", cache, hash);
        if (truncate(path, 200) != 0) perror(path);
      } else {
        snprintf(path, sizeof path, "%s/%s_shuffle_idx.npy", cache, hash);
        unlink(path);
      }
    }
    MPI_Barrier(comm);
    FS_EXPECT_OK(fs_gpt_index_load(comm, &a, sizes, 300, docs, 300, &ix, &built));
    FS_EXPECT(ix && built && same_index(ix, ref), "fault %d: rebuilt %d, same as in memory", fault, (int)built);
    fs_gpt_index_destroy(&ix);
  }
  /* and the rebuilt set is reused */
  FS_EXPECT_OK(fs_gpt_index_load(comm, &a, sizes, 300, docs, 300, &ix, &built));
  FS_EXPECT(ix && !built, "reuse after rebuild");
  fs_gpt_index_destroy(&ix);

  /* another split name: another cache set beside it */
  struct fs_gpt_index_args v = a;
  v.name = "valid";
  v.num_samples = 50;
  FS_EXPECT_OK(fs_gpt_index_load(comm, &v, sizes, 300, docs + 100, 20, &ix, &built));
  FS_EXPECT(ix && built && strcmp(ix->hash, hash) != 0, "valid split cache");
  if (ix) check_index(ix, sizes, docs + 100, 20, "valid from cache");
  fs_gpt_index_destroy(&ix);

  /* no documents: a clear error on every rank, no hang */
  FS_EXPECT(fs_gpt_index_load(comm, &a, sizes, 300, docs, 0, &ix, &built) != 0 && !ix, "empty split accepted");
  /* an unwritable cache directory: rank 0's error reaches everyone */
  struct fs_gpt_index_args w = a;
  w.cache_dir = "/proc/no_such_dir/cache";
  w.data_prefix = "/proc/no_such_dir/x";
  FS_EXPECT(fs_gpt_index_load(comm, &w, sizes, 300, docs, 300, &ix, &built) != 0 && !ix,
            "unwritable cache accepted");

  fs_gpt_index_destroy(&ref);
  MPI_Barrier(comm);
  if (rank == 0) {
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  }
}

/* through a real indexed dataset (uint16 tokens): the thin fs_indexed wrapper, Megatron's "documents are the
 * split's sequences", and the tokens read back from the .bin */
static int32_t tok16(int64_t doc, int64_t pos) { return (int32_t)((doc * 131 + pos * 3) % 65000); }

static void test_indexed(MPI_Comm comm)
{
  char dir[256] = "", prefix[300];
  int32_t sizes[120];
  make_data(sizes, 120, 5);
  if (rank == 0) {
    snprintf(dir, sizeof dir, "gpt_indexed_XXXXXX");
    if (!mkdtemp(dir)) dir[0] = 0;
  }
  MPI_Bcast(dir, sizeof dir, MPI_CHAR, 0, comm);
  FS_EXPECT(dir[0], "mkdtemp failed");
  if (!dir[0]) return;
  snprintf(prefix, sizeof prefix, "%s/corpus_text_document", dir);
  if (rank == 0) {
    struct fs_indexed_writer *w = NULL;
    int32_t buf[64];
    FS_EXPECT_OK(fs_indexed_writer_create(prefix, FS_IDX_U16, &w));
    for (int64_t d = 0; w && d < 120; d++) {
      for (int64_t p = 0; p < sizes[d]; p++) buf[p] = tok16(d, p);
      FS_EXPECT_OK(fs_indexed_writer_add(w, buf, sizes[d]));
      FS_EXPECT_OK(fs_indexed_writer_end_document(w));
    }
    FS_EXPECT_OK(fs_indexed_writer_finish(&w));
  }
  MPI_Barrier(comm);
  struct fs_indexed *ds = NULL;
  FS_EXPECT_OK(fs_indexed_open(prefix, &ds));
  if (!ds) return;
  struct fs_gpt_index_args a = {prefix, "valid", "80,20,0", NULL, 60, 12, 9};
  struct fs_gpt_index *ix = NULL;
  PetscBool built = PETSC_FALSE;
  FS_EXPECT_OK(fs_gpt_dataset_index(comm, ds, &a, 1, &ix, &built));
  FS_EXPECT(ix && built && ix->n_doc_idx == ix->num_epochs * 24, "valid split of 120 sequences by 80,20,0");
  char path[400];
  snprintf(path, sizeof path, "%s/index-cache/%s.dsc", dir, ix ? ix->hash : "");
  FS_EXPECT(access(path, R_OK) == 0, "no cache_dir: Megatron's <dirname(prefix)>/index-cache (%s)", path);
  if (ix) {
    int64_t L = ix->seq_length, bad = 0, *start = malloc((size_t)(ix->n_doc_idx + 1) * sizeof *start);
    int32_t t[13];
    start[0] = 0;
    for (int64_t i = 0; i < ix->n_doc_idx; i++) start[i + 1] = start[i] + sizes[ix->doc_idx[i]];
    for (int64_t i = 0; i < ix->n_doc_idx; i++) bad += ix->doc_idx[i] < 96 || ix->doc_idx[i] >= 120;
    for (int64_t k = 0; k < ix->n_samples; k++) {
      if (fs_gpt_index_sample(t, ix, k, fs_gpt_read_indexed, ds)) {
        bad++;
        continue;
      }
      int64_t s = fs_gpt_index_row(ix, k), d = 0;
      for (int64_t j = 0; j <= L; j++) {
        while (start[d + 1] <= s * L + j) d++;
        bad += t[j] != tok16(ix->doc_idx[d], s * L + j - start[d]);
      }
    }
    FS_EXPECT(bad == 0, "indexed samples: %lld faults", (long long)bad);
    free(start);
  }
  fs_gpt_index_destroy(&ix);
  FS_EXPECT_OK(fs_gpt_dataset_index(comm, ds, &a, 2, &ix, &built));
  FS_EXPECT(!ix, "an empty split gives no index (as Megatron gives no dataset)");
  fs_indexed_close(&ds);
  MPI_Barrier(comm);
  if (rank == 0) {
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  }
}

int main(int argc, char **argv)
{
  PetscInitialize(&argc, &argv, NULL, NULL);
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  PetscPushErrorHandler(PetscReturnErrorHandler, NULL); /* bad inputs below are expected to fail quietly */
  test_mt19937();
  test_md5();
  test_split();
  test_epochs();
  test_build();
  test_blend();
  test_cache(PETSC_COMM_WORLD);
  test_indexed(PETSC_COMM_WORLD);
  PetscPopErrorHandler();
  int fails = fs_test_failures, all = 0;
  MPI_Allreduce(&fails, &all, 1, MPI_INT, MPI_SUM, PETSC_COMM_WORLD);
  int rc = fs_test_done("test_gpt_index");
  PetscFinalize();
  return rc || all != 0;
}
