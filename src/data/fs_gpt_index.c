/* fs_gpt_index.c -- building doc_idx, sample_idx and shuffle_idx in memory (Megatron _build_index_mappings,
 * _build_doc_idx, helpers.cpp build_sample_idx, _build_shuffle_idx), and the split string */
#include <fenv.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fs_gpt_dataset.h"
#include "fs_mt19937.h"
#include "fs_npy.h"

PetscErrorCode fs_gpt_split(int64_t bounds[4], const char *splits, int64_t n_docs)
{
  double w[3] = {0, 0, 0}, sum = 0;
  int n = 0;
  char sep = strchr(splits, ',') ? ',' : '/'; /* Megatron: ',' if present, else '/', else one number */
  const char *p = splits;

  PetscFunctionBegin;
  FSCheck(n_docs >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "split: negative document count %lld",
          (long long)n_docs);
  while (1) {
    char *end;
    double v = strtod(p, &end);
    while (*end == ' ') end++;
    FSCheck(end != p && (*end == sep || *end == 0) && v >= 0 && isfinite(v), PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
            "bad split string '%s': expected up to 3 non-negative numbers separated by ',' or '/', e.g. "
            "-split 969,30,1",
            splits);
    if (n < 3) w[n] = v; /* Megatron keeps the first three */
    n++;
    if (*end == 0) break;
    p = end + 1;
  }
  for (int i = 0; i < 3; i++) sum += w[i]; /* Python's sum(): left to right from 0 */
  FSCheck(sum > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "bad split string '%s': the weights sum to 0", splits);
  bounds[0] = 0;
  for (int i = 0; i < 3; i++) {
    /* Python round() ties to even: nearbyint in the default rounding mode does the same */
    bounds[i + 1] = bounds[i] + (int64_t)nearbyint(w[i] / sum * (double)n_docs);
  }
  int64_t diff = bounds[3] - n_docs;
  for (int i = 1; i < 4; i++) bounds[i] -= diff;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_gpt_num_epochs(int64_t *num_epochs, int64_t tokens_per_epoch, int64_t seq_length,
                                 int64_t num_samples)
{
  PetscFunctionBegin;
  FSCheck(tokens_per_epoch > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
          "the dataset split has no tokens: cannot make samples from it (check -split and the data path)");
  FSCheck(seq_length >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "seq_length must be >= 1, got %lld",
          (long long)seq_length);
  FSCheck(num_samples >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "num_samples must be >= 0, got %lld",
          (long long)num_samples);
  /* closed form of Megatron's loop: need e * tokens - 1 >= num_samples * seq_length */
  int64_t e = (num_samples * seq_length + 1 + tokens_per_epoch - 1) / tokens_per_epoch;
  if (e < 1) e = 1;
  while (e > 1 && ((e - 1) * tokens_per_epoch - 1) / seq_length >= num_samples) e--; /* guard the algebra */
  while ((e * tokens_per_epoch - 1) / seq_length < num_samples) e++;
  *num_epochs = e;
  PetscFunctionReturn(PETSC_SUCCESS);
}

int fs_gpt_separate_last_epoch(int64_t *first_samples, int64_t num_epochs, int64_t tokens_per_epoch,
                               int64_t seq_length, int64_t num_samples)
{
  int64_t n_samples = (num_epochs * tokens_per_epoch - 1) / seq_length;
  *first_samples = n_samples;
  if (num_epochs <= 1) return 0;
  /* a last epoch that contributes < 80% of an epoch's samples is kept apart so that its few samples are not
   * spread over the whole run (Megatron's rule; last >= 1 always, as num_epochs is the smallest that fits) */
  int64_t from_minus_one = ((num_epochs - 1) * tokens_per_epoch - 1) / seq_length;
  int64_t last = num_samples - from_minus_one, per_epoch = (tokens_per_epoch - 1) / seq_length;
  if (last >= (int64_t)(0.80 * (double)per_epoch)) return 0;
  *first_samples = from_minus_one;
  return 1;
}

/* documents tiled `epochs` times and shuffled once (Megatron _build_doc_idx without a separate last epoch) */
static void doc_idx_fill(int32_t *out, const int32_t *documents, int64_t n_documents, int64_t epochs,
                         struct fs_mt19937 *rng)
{
  for (int64_t e = 0; e < epochs; e++) memcpy(out + e * n_documents, documents, (size_t)n_documents * sizeof *out);
  fs_mt19937_shuffle_i32(rng, out, epochs * n_documents);
}

/* helpers.cpp build_sample_idx: walks doc_idx taking seq_length + 1 tokens per sample, the last token of a sample
 * being the first of the next */
static PetscErrorCode sample_idx_fill(int32_t *sample_idx, const int32_t *sizes, const int32_t *doc_idx,
                                      int64_t n_doc_idx, int64_t seq_length, int64_t n_samples)
{
  int64_t s = 0, d = 0; /* sample, position in doc_idx */
  int64_t offset = 0;

  PetscFunctionBegin;
  sample_idx[0] = 0;
  sample_idx[1] = 0;
  for (s = 1; s <= n_samples; s++) {
    int64_t remaining = seq_length + 1;
    while (remaining != 0) {
      PetscCheck(d < n_doc_idx, PETSC_COMM_SELF, PETSC_ERR_PLIB, "sample index ran past doc_idx (sample %lld)",
                 (long long)s);
      int64_t len = sizes[doc_idx[d]] - offset;
      remaining -= len;
      if (remaining <= 0) {
        offset += remaining + len - 1; /* the sample ends inside (or at the last token of) this document */
        remaining = 0;
      } else {
        d++;
        offset = 0;
      }
    }
    sample_idx[2 * s] = (int32_t)d;
    sample_idx[2 * s + 1] = (int32_t)offset;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* arange(first) shuffled, then arange(first, total) shuffled on its own (Megatron _build_shuffle_idx) */
static void shuffle_idx_fill(void *out, int is_i64, int64_t first, int64_t total, struct fs_mt19937 *rng)
{
  if (is_i64) {
    int64_t *x = out;
    for (int64_t i = 0; i < total; i++) x[i] = i;
    fs_mt19937_shuffle_i64(rng, x, first);
    if (first < total) fs_mt19937_shuffle_i64(rng, x + first, total - first);
  } else {
    uint32_t *x = out;
    for (int64_t i = 0; i < total; i++) x[i] = (uint32_t)i;
    fs_mt19937_shuffle_u32(rng, x, first);
    if (first < total) fs_mt19937_shuffle_u32(rng, x + first, total - first);
  }
}

PetscErrorCode fs_gpt_index_build(struct fs_gpt_index **ix_out, const int32_t *sizes, int64_t n_sizes,
                                  const int32_t *documents, int64_t n_documents, int64_t num_samples,
                                  int64_t seq_length, uint32_t seed)
{
  struct fs_gpt_index *ix = NULL;
  int64_t tokens = 0;
  struct fs_mt19937 rng;

  PetscFunctionBegin;
  *ix_out = NULL;
  FSCheck(n_documents > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
          "the dataset split has no documents: cannot build a GPT sample index (check -split: a split with weight "
          "0 gets no documents, and a tiny dataset may round a small split to 0)");
  FSCheck(seq_length >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "seq_length must be >= 1, got %lld",
          (long long)seq_length);
  for (int64_t i = 0; i < n_documents; i++) {
    FSCheck(documents[i] >= 0 && documents[i] < n_sizes, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
            "document id %d at position %lld is outside the dataset's %lld documents", documents[i], (long long)i,
            (long long)n_sizes);
    FSCheck(sizes[documents[i]] >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "document %d has negative size %d",
            documents[i], sizes[documents[i]]);
    tokens += sizes[documents[i]];
  }
  int64_t num_epochs, n_samples;
  PetscCall(fs_gpt_num_epochs(&num_epochs, tokens, seq_length, num_samples));
  n_samples = (num_epochs * tokens - 1) / seq_length;
  FSCheck(num_epochs * n_documents < INT32_MAX && n_samples < INT32_MAX, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
          "%lld epochs of %lld documents (%lld samples) overflow Megatron's int32 sample index; ask for fewer "
          "samples or use a longer seq_length",
          (long long)num_epochs, (long long)n_documents, (long long)n_samples);
  FSCalloc(sizeof *ix, &ix);
  ix->sizes = sizes;
  ix->n_sizes = n_sizes;
  ix->seq_length = seq_length;
  ix->num_samples = num_samples;
  ix->tokens_per_epoch = tokens;
  ix->num_epochs = num_epochs;
  ix->n_doc_idx = num_epochs * n_documents;
  ix->n_samples = n_samples;

  int64_t first_samples = ix->n_samples;
  ix->separate_last_epoch =
    fs_gpt_separate_last_epoch(&first_samples, num_epochs, tokens, seq_length, num_samples);

  int32_t *doc_idx = NULL, *sample_idx = NULL;
  void *shuffle = NULL;
  ix->shuffle_i64 = fs_gpt_shuffle_is_i64(ix->n_samples);
  FSMalloc((size_t)ix->n_doc_idx * sizeof(int32_t), &doc_idx);
  FSMalloc((size_t)(ix->n_samples + 1) * 2 * sizeof(int32_t), &sample_idx);
  FSMalloc((size_t)(ix->n_samples > 0 ? ix->n_samples : 1) * (ix->shuffle_i64 ? 8 : 4), &shuffle);
  ix->owned[0] = doc_idx;
  ix->owned[1] = sample_idx;
  ix->owned[2] = shuffle;
  ix->doc_idx = doc_idx;
  ix->sample_idx = sample_idx;
  ix->shuffle_idx = shuffle;

  /* one RandomState(seed) drawn in Megatron's order: doc_idx (first epochs, then the last), then shuffle_idx */
  fs_mt19937_seed(&rng, seed);
  if (ix->separate_last_epoch) {
    doc_idx_fill(doc_idx, documents, n_documents, ix->num_epochs - 1, &rng);
    doc_idx_fill(doc_idx + (ix->num_epochs - 1) * n_documents, documents, n_documents, 1, &rng);
  } else {
    doc_idx_fill(doc_idx, documents, n_documents, ix->num_epochs, &rng);
  }
  PetscCall(sample_idx_fill(sample_idx, sizes, doc_idx, ix->n_doc_idx, seq_length, ix->n_samples));
  shuffle_idx_fill(shuffle, ix->shuffle_i64, first_samples, ix->n_samples, &rng);
  *ix_out = ix;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_gpt_index_destroy(struct fs_gpt_index **ix)
{
  PetscFunctionBegin;
  if (*ix) {
    for (int i = 0; i < 3; i++) {
      free((*ix)->owned[i]);
      PetscCall(fs_npy_close(&(*ix)->maps[i]));
    }
    FSFree(ix);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_gpt_index_sample(int32_t *tokens, const struct fs_gpt_index *ix, int64_t k, fs_gpt_read_fn read,
                                   void *ctx)
{
  PetscFunctionBegin;
  FSCheck(k >= 0 && k < ix->n_samples, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
          "sample %lld is outside the index's %lld samples", (long long)k, (long long)ix->n_samples);
  int64_t s = fs_gpt_index_row(ix, k);
  int64_t d0 = ix->sample_idx[2 * s], o0 = ix->sample_idx[2 * s + 1];
  int64_t d1 = ix->sample_idx[2 * s + 2], o1 = ix->sample_idx[2 * s + 3];
  int64_t n = 0, want = ix->seq_length + 1;
  /* the rest of the first document, whole documents in between, the head of the last (o1 inclusive) */
  for (int64_t d = d0; d <= d1; d++) {
    int64_t doc = ix->doc_idx[d], off = d == d0 ? o0 : 0;
    int64_t end = d == d1 ? o1 + 1 : ix->sizes[doc];
    FSCheck(end >= off && n + end - off <= want, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
            "sample %lld does not fit the documents (index built from other data? delete the index cache %s_*)",
            (long long)k, ix->hash);
    if (end > off) PetscCall(read(ctx, doc, off, end - off, tokens + n));
    n += end - off;
  }
  FSCheck(n == want, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "sample %lld has %lld tokens instead of %lld (index built from other data? delete the index cache %s_*)",
          (long long)k, (long long)n, (long long)want, ix->hash);
  PetscFunctionReturn(PETSC_SUCCESS);
}
