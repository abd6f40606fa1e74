/* fs_blend.h -- blending several datasets by weight, as Megatron does (dataset_utils.py
 * get_datasets_weights_and_num_samples, blendable_dataset.py, helpers.cpp build_blending_indices).
 *
 * -data_path "w1 p1 w2 p2 ...": weights are normalised (Python sum, left to right); dataset i is asked for
 * ceil(num_samples * w_i * 1.005) samples (0.5% slack so the blend never runs short) and the blend's size is the
 * sum of those.  The blend normalises the weights once more (numpy's np.sum, reproduced bit for bit) and gives
 * sample j to the dataset with the largest error w_i * max(j, 1) - count_i (the first on ties); that dataset's
 * next sample (count_i) is sample j of the blend. */
#ifndef FS_BLEND_H
#define FS_BLEND_H

#include <stdint.h>
#include "fs_error.h"

#define FS_BLEND_MAX 254 /* dataset_index is uint8 */

/* weights (n) raw -> weights_norm (n); per_dataset (n) = ceil(num_samples * w * 1.005); *total = their sum */
PetscErrorCode fs_blend_num_samples(double *weights_norm, int64_t *per_dataset, int64_t *total, int n,
                                    const double *weights, int64_t num_samples);

struct fs_blend {
  int n_datasets;
  double weights[FS_BLEND_MAX];   /* (n_datasets) as the blend uses them */
  int64_t size;                   /* samples in the blend */
  uint8_t *dataset_index;         /* (size) which dataset */
  int64_t *dataset_sample_index;  /* (size) which sample of it */
  int64_t counts[FS_BLEND_MAX];   /* (n_datasets) samples taken from each */
};

/* builds the blend of `size` samples from n weights (normalised here, as BlendableDataset does).  When dataset_len
 * is given (n entries: samples each dataset has), a blend that would need more than a dataset has is an error. */
PetscErrorCode fs_blend_create(struct fs_blend **b, int n, const double *weights, int64_t size,
                               const int64_t *dataset_len);
PetscErrorCode fs_blend_destroy(struct fs_blend **b);

/* sample k of the blend is sample *sample of dataset *dataset */
static inline void fs_blend_locate(const struct fs_blend *b, int64_t k, int *dataset, int64_t *sample)
{
  *dataset = b->dataset_index[k];
  *sample = b->dataset_sample_index[k];
}

/* numpy's float64 np.sum of a contiguous array (pairwise, 8 accumulators): exported for the tests */
double fs_blend_np_sum(const double *a, int64_t n);

#endif
