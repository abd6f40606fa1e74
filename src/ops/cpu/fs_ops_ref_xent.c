/* fs_ops_ref_xent.c -- reference output layer + cross-entropy.  It holds one row of V logits at a time. */
#include <math.h>
#include <stdlib.h>
#include "fs_ops_cpu_impl.h"

void fs_lmhead_logits_ref(float *logits, const float *inp, const float *weight, int64_t N, int C, int V)
{
  fs_matmul_forward_ref(logits, inp, weight, NULL, N, C, V);
}

void fs_lmhead_xent_ref(float *losses, float *dinp, float *dweight, const float *inp, const float *weight,
                        const int32_t *targets, const float *row_weight, int64_t N, int C, int V)
{
  double *z = malloc((size_t)V * sizeof *z);
  if (!z) z = fs_ops_scratch((size_t)V * sizeof *z, "reference lm-head logits row");
  for (int64_t n = 0; n < N; n++) {
    const float *x = inp + n * C;
    int tgt = targets[n];
    if (tgt < 0) { /* masked row: no loss, no gradient */
      losses[n] = 0;
      if (dinp)
        for (int c = 0; c < C; c++) dinp[n * C + c] = 0;
      continue;
    }
    double mx = -INFINITY, sum = 0;
    for (int j = 0; j < V; j++) {
      double acc = 0;
      for (int c = 0; c < C; c++) acc += (double)x[c] * weight[(int64_t)j * C + c];
      z[j] = acc;
      if (acc > mx) mx = acc;
    }
    for (int j = 0; j < V; j++) sum += exp(z[j] - mx);
    double lse = mx + log(sum);
    losses[n] = (float)(lse - z[tgt]);
    if (!dinp && !dweight) continue;
    double w = row_weight ? row_weight[n] : 1.0;
    for (int j = 0; j < V; j++) z[j] = w * (exp(z[j] - lse) - (j == tgt)); /* dL/dlogit */
    if (dinp)
      for (int c = 0; c < C; c++) {
        double acc = 0;
        for (int j = 0; j < V; j++) acc += z[j] * weight[(int64_t)j * C + c];
        dinp[n * C + c] = (float)acc;
      }
    if (dweight)
      for (int j = 0; j < V; j++)
        for (int c = 0; c < C; c++) dweight[(int64_t)j * C + c] += (float)(z[j] * x[c]);
  }
  free(z);
}
