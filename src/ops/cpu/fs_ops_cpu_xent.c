/* fs_ops_cpu_xent.c -- fast fused output layer + cross-entropy.  Rows go in chunks of R rows: logits (R,V) by one
 * sgemm, softmax / loss / dlogits in place (OpenMP over rows, vectorized exp), then dinp = dlogits @ weight and
 * dweight += dlogits^T @ inp by two more sgemms (fs_sgemm splits each among the threads).  Scratch is R x V, never
 * N x V (R: see xent_chunk_rows).  The chunk buffer (tens of MiB with a 50k vocabulary) is kept between calls
 * (fs_ops_keep): mapping it afresh each step cost a page fault per page. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fs_ops_cpu_impl.h"

static int xent_chunk_rows(int64_t N, int C, int V)
{
  /* Every chunk reads and writes all of dweight (V,C), 8 V C bytes, while the chunk's logits make several passes
   * over R V floats: with a narrow model (C = 64) the traffic of dweight is small and a chunk that stays in cache
   * wins; with a wide one (C = 384) dweight dominates and bigger chunks win.  R = C / 2 rows measured well at both
   * ends (tiny: 32 rows, small: 192 rows, 215 GFLOP/s for the three sgemms on 2 threads). */
  (void)V;
  int64_t r = C / 2;
  if (r < 32) r = 32;
  if (r > 512) r = 512;
  if (r > N) r = N;
  return (int)(r > 0 ? r : 1);
}

void fs_lmhead_logits_cpu(float *logits, const float *inp, const float *weight, int64_t N, int C, int V)
{
  fs_matmul_forward_cpu(logits, inp, weight, NULL, N, C, V);
}

/* one row of logits z (V): returns the loss lse - z[tgt]; with backward, z becomes w * (softmax - onehot) */
FS_CLONES static float xent_row(float *z, int V, int tgt, float w, int backward)
{
  float mx;
  double sum = fs_sum_exp(z, V, &mx);
  float lse = mx + (float)log(sum), loss = lse - z[tgt];
  if (backward) {
#pragma omp simd
    for (int i = 0; i < V; i++) z[i] = w * fs_expf(z[i] - lse); /* dL/dlogit = w * (softmax - onehot) */
    z[tgt] -= w;
  }
  return loss;
}

void fs_lmhead_xent_cpu(float *losses, float *dinp, float *dweight, const float *inp, const float *weight,
                        const int32_t *targets, const float *row_weight, int64_t N, int C, int V)
{
  const int backward = dinp || dweight;
  const int R = xent_chunk_rows(N, C, V);
  float *z = fs_ops_keep(FS_KEEP_XENT, (size_t)R * V * sizeof(float), "lm-head logits chunk");
  for (int64_t n0 = 0; n0 < N; n0 += R) {
    int rows = (int)(N - n0 < R ? N - n0 : R);
    /* z (rows,V) = inp (rows,C) @ weight (V,C)^T */
    fs_sgemm(0, 1, rows, V, C, 1.0f, inp + n0 * C, C, weight, C, 0.0f, z, V);
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++) {
      float *zr = z + (int64_t)r * V;
      int tgt = targets[n0 + r];
      if (tgt < 0) { /* masked row: no loss, and a zero row of dlogits */
        losses[n0 + r] = 0;
        if (backward) memset(zr, 0, (size_t)V * sizeof(float));
        continue;
      }
      losses[n0 + r] = xent_row(zr, V, tgt, row_weight ? row_weight[n0 + r] : 1.0f, backward);
    }
    if (dinp) /* dinp (rows,C) = dz (rows,V) @ weight (V,C) */
      fs_sgemm(0, 0, rows, C, V, 1.0f, z, V, weight, C, 0.0f, dinp + n0 * C, C);
    if (dweight) /* dweight (V,C) += dz^T (V,rows) @ inp (rows,C) */
      fs_sgemm(1, 0, V, C, rows, 1.0f, z, V, inp + n0 * C, C, 1.0f, dweight, C);
  }
}
