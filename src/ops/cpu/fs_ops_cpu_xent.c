/* fs_ops_cpu_xent.c -- fast fused output layer + cross-entropy.  Rows go in chunks of R rows: logits (R,V) by one
 * sgemm, softmax / loss / dlogits in place (OpenMP over rows), then dinp = dlogits @ weight and
 * dweight += dlogits^T @ inp by two more sgemms.  Scratch is R x V, never N x V; R is chosen so that the chunk
 * stays near 32 MiB (at least 16 rows, at most 256). */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fs_ops_cpu_impl.h"

static int xent_chunk_rows(int64_t N, int V)
{
  int64_t r = ((int64_t)8 << 20) / (V > 0 ? V : 1);
  if (r < 16) r = 16;
  if (r > 256) r = 256;
  if (r > N) r = N;
  return (int)(r > 0 ? r : 1);
}

void fs_lmhead_logits_cpu(float *logits, const float *inp, const float *weight, int64_t N, int C, int V)
{
  fs_matmul_forward_cpu(logits, inp, weight, NULL, N, C, V);
}

void fs_lmhead_xent_cpu(float *losses, float *dinp, float *dweight, const float *inp, const float *weight,
                        const int32_t *targets, const float *row_weight, int64_t N, int C, int V)
{
  const int R = xent_chunk_rows(N, V);
  const int backward = dinp || dweight;
  float *z = fs_ops_scratch((size_t)R * V * sizeof(float), "lm-head logits chunk");
  for (int64_t n0 = 0; n0 < N; n0 += R) {
    int rows = (int)(N - n0 < R ? N - n0 : R);
    /* z (rows,V) = inp (rows,C) @ weight (V,C)^T */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, V, C, 1.0f, inp + n0 * C, C, weight, C, 0.0f, z, V);
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++) {
      float *zr = z + (int64_t)r * V;
      int tgt = targets[n0 + r];
      if (tgt < 0) { /* masked row: no loss, and a zero row of dlogits */
        losses[n0 + r] = 0;
        if (backward) memset(zr, 0, (size_t)V * sizeof(float));
        continue;
      }
      float mx = -INFINITY;
      for (int j = 0; j < V; j++) mx = zr[j] > mx ? zr[j] : mx;
      double sum = 0;
      for (int j = 0; j < V; j++) sum += expf(zr[j] - mx);
      float lse = mx + (float)log(sum);
      losses[n0 + r] = lse - zr[tgt];
      if (!backward) continue;
      float w = row_weight ? row_weight[n0 + r] : 1.0f;
      for (int j = 0; j < V; j++) zr[j] = w * expf(zr[j] - lse); /* dL/dlogit = w * (softmax - onehot) */
      zr[tgt] -= w;
    }
    if (dinp) /* dinp (rows,C) = dz (rows,V) @ weight (V,C) */
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, C, V, 1.0f, z, V, weight, C, 0.0f, dinp + n0 * C, C);
    if (dweight) /* dweight (V,C) += dz^T (V,rows) @ inp (rows,C) */
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, V, C, rows, 1.0f, z, V, inp + n0 * C, C, 1.0f, dweight, C);
  }
  free(z);
}
