/* fs_gpt_dataset.h -- Megatron's GPT sample index (megatron/data/gpt_dataset.py + helpers.cpp), bit-exact:
 * the same doc_idx, sample_idx and shuffle_idx arrays for the same documents, seed, sequence length and number
 * of samples, cached under the same file names (<md5 of the description>_{doc,sample,shuffle}_idx.npy + .dsc).
 * doc/sample-index.md describes the algorithm, the cache and every deviation from Megatron.
 *
 * A sample is seq_length + 1 tokens (inputs = tokens[:-1], labels = tokens[1:]); consecutive samples share one
 * token.  Sample k of the dataset is sample_idx row shuffle_idx[k]:
 *   tokens run from (doc_idx[sample_idx[s][0]], offset sample_idx[s][1]) to (doc_idx[sample_idx[s+1][0]],
 *   offset sample_idx[s+1][1]) inclusive, crossing whole documents in between.
 *
 * The builders take plain arrays (document sizes, the split's document ids) so they need no dataset on disk;
 * fs_gpt_dataset_open (below) wires them to an fs_indexed reader. */
#ifndef FS_GPT_DATASET_H
#define FS_GPT_DATASET_H

#include <stdint.h>
#include <mpi.h>
#include "fs_error.h"
#include "fs_indexed.h"

/* Megatron get_train_valid_test_split_: "969,30,1" or "969/30/1" (fewer than 3 parts are padded with 0),
 * weights normalised, bounds[0] = 0, bounds[i+1] = bounds[i] + round(w_i * n_docs) (ties to even, as Python's
 * round), then the rounding excess is subtracted from bounds[1..3] so bounds[3] = n_docs.
 * Split i holds documents [bounds[i], bounds[i+1]). */
PetscErrorCode fs_gpt_split(int64_t bounds[4], const char *splits, int64_t n_docs);

/* Megatron _num_epochs: smallest e >= 1 with (e * tokens_per_epoch - 1) / seq_length >= num_samples */
PetscErrorCode fs_gpt_num_epochs(int64_t *num_epochs, int64_t tokens_per_epoch, int64_t seq_length,
                                 int64_t num_samples);

/* Megatron's separate_last_epoch: with several epochs, true when the last one would give fewer than 80% of an
 * epoch's samples; then *first_samples = samples of the first num_epochs - 1 epochs (shuffled apart from the
 * rest), else all (num_epochs * tokens_per_epoch - 1) / seq_length samples */
int fs_gpt_separate_last_epoch(int64_t *first_samples, int64_t num_epochs, int64_t tokens_per_epoch,
                               int64_t seq_length, int64_t num_samples);

/* shuffle_idx is uint32 unless the number of samples reaches UINT32_MAX - 1 (Megatron's rule), then int64 */
static inline int fs_gpt_shuffle_is_i64(int64_t n_samples) { return n_samples >= (int64_t)UINT32_MAX - 1; }

struct fs_npy; /* a mapped cache file (fs_npy.h) */

struct fs_gpt_index {
  const int32_t *sizes;      /* (n_sizes) tokens per document: borrowed from the caller, who keeps it alive */
  int64_t n_sizes;
  int64_t seq_length;
  int64_t num_samples;       /* requested (Megatron's num_samples argument) */
  int64_t n_samples;         /* available = (num_epochs * tokens_per_epoch - 1) / seq_length >= num_samples */
  int64_t num_epochs, tokens_per_epoch;
  int separate_last_epoch;   /* last epoch shuffled on its own (documents and samples) */
  int64_t n_doc_idx;         /* num_epochs * number of documents */
  const int32_t *doc_idx;    /* (n_doc_idx) document ids */
  const int32_t *sample_idx; /* (n_samples + 1, 2) position in doc_idx, token offset in that document */
  int shuffle_i64;           /* shuffle_idx is int64 (else uint32) */
  const void *shuffle_idx;   /* (n_samples) sample_idx row of sample k */
  char hash[33];             /* md5 of the description (cache name) */
  void *owned[3];            /* malloc'd arrays, or NULL */
  struct fs_npy *maps[3];    /* or mapped cache files */
};

static inline int64_t fs_gpt_index_row(const struct fs_gpt_index *ix, int64_t k)
{
  return ix->shuffle_i64 ? ((const int64_t *)ix->shuffle_idx)[k] : (int64_t)((const uint32_t *)ix->shuffle_idx)[k];
}

/* Builds the three arrays in memory, as _build_index_mappings does on rank 0:
 *   sizes       (n_sizes) tokens of every document in the dataset (indexed by document id)
 *   documents   (n_documents) the split's document ids, each in [0, n_sizes)
 * Errors: no documents, no tokens, seq_length < 1, num_samples < 0, ids out of range, int32 overflow. */
PetscErrorCode fs_gpt_index_build(struct fs_gpt_index **ix, const int32_t *sizes, int64_t n_sizes,
                                  const int32_t *documents, int64_t n_documents, int64_t num_samples,
                                  int64_t seq_length, uint32_t seed);
PetscErrorCode fs_gpt_index_destroy(struct fs_gpt_index **ix);

/* Megatron's cache description (its md5 hex names the files):
 * "GPT Dataset\n\nData prefix P\nDataset name N\nNumber of samples S\nSequence length L\nRandom seed R\nSplit X\n"
 * Returns the length; writes at most n_bytes (NUL-terminated). */
int fs_gpt_description(char *buf, size_t n_bytes, const char *data_prefix, const char *name, int64_t num_samples,
                       int64_t seq_length, uint32_t seed, const char *splits);

/* Loads the index from the cache or builds it there, on every rank of comm (collective):
 * looks in <dirname(data_prefix)>/index-cache, then in cache_dir (may be NULL); uses the first with all four files
 * whose description matches and whose arrays have the expected dtype and shape.  Otherwise rank 0 of comm
 * builds and writes into cache_dir (or <dirname(data_prefix)>/index-cache when NULL) -- arrays first, description
 * last, each via temp file + rename -- and all ranks then map the files.  *built says whether a build happened.
 * An error on rank 0 is an error on every rank (nobody hangs). */
struct fs_gpt_index_args {
  const char *data_prefix; /* dataset path prefix, as given to Megatron's --data-path */
  const char *name;        /* "train", "valid", "test" */
  const char *splits;      /* the split string (only for the description) */
  const char *cache_dir;   /* --data-cache-path, or NULL */
  int64_t num_samples, seq_length;
  uint32_t seed;
};
PetscErrorCode fs_gpt_index_load(MPI_Comm comm, const struct fs_gpt_index_args *a, const int32_t *sizes,
                                 int64_t n_sizes, const int32_t *documents, int64_t n_documents,
                                 struct fs_gpt_index **ix, PetscBool *built);

/* reads tokens [offset, offset + n) of document doc into out (same shape as fs_indexed_get) */
typedef PetscErrorCode (*fs_gpt_read_fn)(void *ctx, int64_t doc, int64_t offset, int64_t n, int32_t *out);

/* tokens (seq_length + 1) of sample k, 0 <= k < n_samples (Megatron GPTDataset.__getitem__) */
PetscErrorCode fs_gpt_index_sample(int32_t *tokens, const struct fs_gpt_index *ix, int64_t k, fs_gpt_read_fn read,
                                   void *ctx);

/* over an indexed dataset (fs_indexed.h): the split string divides its sequences (Megatron: documents =
 * arange(bounds[i], bounds[i+1])); split_index 0 train, 1 valid, 2 test.  An empty split gives *ix = NULL
 * (Megatron builds no dataset for it).  ds must outlive *ix (the index borrows its sizes). */
PetscErrorCode fs_gpt_dataset_index(MPI_Comm comm, const struct fs_indexed *ds, const struct fs_gpt_index_args *a,
                                    int split_index, struct fs_gpt_index **ix, PetscBool *built);
/* fs_gpt_read_fn over an indexed dataset: ctx is the struct fs_indexed */
PetscErrorCode fs_gpt_read_indexed(void *ctx, int64_t doc, int64_t offset, int64_t n, int32_t *out);

#endif
