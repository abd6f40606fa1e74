/* fs_gpt_data.h -- Megatron's build_train_valid_test_datasets: -data_path "p" or "w1 p1 w2 p2 ..." (blended),
 * -split "969,30,1", the GPT sample index of each dataset and split (cached), and the blend on top.
 * Sample k of a split is the same on every rank and for every parallel layout. */
#ifndef FS_GPT_DATA_H
#define FS_GPT_DATA_H

#include <stdint.h>
#include <mpi.h>
#include "fs_error.h"
#include "fs_indexed.h"
#include "fs_gpt_dataset.h"
#include "fs_blend.h"

enum { FS_SPLIT_TRAIN = 0, FS_SPLIT_VALID = 1, FS_SPLIT_TEST = 2 };

struct fs_gpt_data {
  int n_datasets;
  struct fs_indexed **ds;          /* (n_datasets) */
  struct fs_gpt_index *ix[3][FS_BLEND_MAX]; /* [split][dataset], NULL when the split is empty */
  struct fs_blend *blend[3];       /* [split], NULL for a single dataset */
  int64_t n_samples[3];            /* samples available per split */
  int64_t seq_length;
};

struct fs_gpt_data_args {
  const char *data_path;   /* "prefix" or "w1 prefix1 w2 prefix2 ..." (spaces or commas) */
  const char *split;       /* "969,30,1" */
  const char *cache_dir;   /* -data_cache_path, or NULL / "" */
  int64_t num_samples[3];  /* train, valid, test samples wanted */
  int64_t seq_length;
  uint32_t seed;
};

/* collective over comm (rank 0 builds missing index files, all ranks map them) */
PetscErrorCode fs_gpt_data_create(MPI_Comm comm, const struct fs_gpt_data_args *a, struct fs_gpt_data **d);
PetscErrorCode fs_gpt_data_destroy(struct fs_gpt_data **d);
/* tokens (seq_length + 1) of sample k of a split */
PetscErrorCode fs_gpt_data_sample(const struct fs_gpt_data *d, int split, int64_t k, int32_t *tokens);

#endif
