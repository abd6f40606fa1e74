/* fs_blend.c -- Megatron's dataset blending (see fs_blend.h) */
#include <math.h>
#include <stdlib.h>
#include "fs_blend.h"

/* the blend's error comparison must not be fused into an FMA: Megatron's helpers.cpp rounds the product */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

/* numpy's pairwise summation (loops_utils.h): small runs in order, up to 128 with 8 interleaved accumulators,
 * larger ones split in halves rounded to a multiple of 8 */
double fs_blend_np_sum(const double *a, int64_t n)
{
  if (n < 8) {
    double res = -0.0;
    for (int64_t i = 0; i < n; i++) res += a[i];
    return res;
  }
  if (n <= 128) {
    double r[8];
    int64_t i;
    for (int j = 0; j < 8; j++) r[j] = a[j];
    for (i = 8; i < n - (n % 8); i += 8)
      for (int j = 0; j < 8; j++) r[j] += a[i + j];
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++) res += a[i];
    return res;
  }
  int64_t n2 = n / 2;
  n2 -= n2 % 8;
  return fs_blend_np_sum(a, n2) + fs_blend_np_sum(a + n2, n - n2);
}

PetscErrorCode fs_blend_num_samples(double *weights_norm, int64_t *per_dataset, int64_t *total, int n,
                                    const double *weights, int64_t num_samples)
{
  double sum = 0.0;

  PetscFunctionBegin;
  FSCheck(n >= 1 && n <= FS_BLEND_MAX, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
          "blending needs 1 to %d datasets, got %d", FS_BLEND_MAX, n);
  FSCheck(num_samples >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "negative number of samples %lld",
          (long long)num_samples);
  for (int i = 0; i < n; i++) {
    FSCheck(weights[i] >= 0 && isfinite(weights[i]), PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
            "blend weight %d is %g: weights must be finite and >= 0 (-data_path w1 p1 w2 p2 ...)", i + 1,
            weights[i]);
    sum += weights[i];
  }
  FSCheck(sum > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "the blend weights sum to 0 (-data_path w1 p1 w2 p2 ...)");
  *total = 0;
  for (int i = 0; i < n; i++) {
    weights_norm[i] = weights[i] / sum;
    per_dataset[i] = (int64_t)ceil((double)num_samples * weights_norm[i] * 1.005);
    *total += per_dataset[i];
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_blend_create(struct fs_blend **b_out, int n, const double *weights, int64_t size,
                               const int64_t *dataset_len)
{
  struct fs_blend *b = NULL;

  PetscFunctionBegin;
  *b_out = NULL;
  FSCheck(n >= 1 && n <= FS_BLEND_MAX, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
          "blending needs 1 to %d datasets, got %d", FS_BLEND_MAX, n);
  FSCheck(size >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "negative blend size %lld", (long long)size);
  for (int i = 0; i < n; i++)
    FSCheck(weights[i] >= 0 && isfinite(weights[i]), PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
            "blend weight %d is %g: weights must be finite and >= 0", i + 1, weights[i]);
  double sum = fs_blend_np_sum(weights, n);
  FSCheck(sum > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "the blend weights sum to 0");
  FSCalloc(sizeof *b, &b);
  b->n_datasets = n;
  b->size = size;
  for (int i = 0; i < n; i++) b->weights[i] = weights[i] / sum;
  FSMalloc((size_t)(size > 0 ? size : 1), &b->dataset_index);
  FSMalloc((size_t)(size > 0 ? size : 1) * sizeof(int64_t), &b->dataset_sample_index);

  for (int64_t j = 0; j < size; j++) {
    double x = j > 1 ? (double)j : 1.0;
    int best = 0;
    double best_err = b->weights[0] * x - (double)b->counts[0];
    for (int i = 1; i < n; i++) {
      double err = b->weights[i] * x - (double)b->counts[i];
      if (err > best_err) {
        best_err = err;
        best = i;
      }
    }
    b->dataset_index[j] = (uint8_t)best;
    b->dataset_sample_index[j] = b->counts[best]++;
  }
  for (int i = 0; dataset_len && i < n; i++) {
    if (b->counts[i] > dataset_len[i]) {
      int64_t need = b->counts[i];
      PetscCall(fs_blend_destroy(&b));
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
              "the blend needs %lld samples of dataset %d, which has only %lld (build it with more samples)",
              (long long)need, i + 1, (long long)dataset_len[i]);
    }
  }
  *b_out = b;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_blend_destroy(struct fs_blend **b)
{
  PetscFunctionBegin;
  if (*b) {
    free((*b)->dataset_index);
    free((*b)->dataset_sample_index);
    FSFree(b);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
