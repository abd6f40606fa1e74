/* fs_ops_ref_norm.c -- reference RMSNorm and LayerNorm, forward and backward, double accumulators.
 * With g = dout * weight and xhat the normalized row:
 *   RMSNorm   dx = rstd * (g - xhat * mean(g * xhat))
 *   LayerNorm dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) */
#include <math.h>
#include "fs_ops_cpu_impl.h"

void fs_rmsnorm_forward_ref(float *out, float *rstd, const float *inp, const float *weight, int64_t N, int C,
                            float eps)
{
  for (int64_t n = 0; n < N; n++) {
    const float *x = inp + n * C;
    double ss = 0;
    for (int c = 0; c < C; c++) ss += (double)x[c] * x[c];
    double r = 1.0 / sqrt(ss / C + eps);
    for (int c = 0; c < C; c++) out[n * C + c] = (float)(x[c] * r * weight[c]);
    rstd[n] = (float)r;
  }
}

void fs_rmsnorm_backward_ref(float *dinp, float *dweight, const float *dout, const float *inp, const float *weight,
                             const float *rstd, int64_t N, int C)
{
  for (int64_t n = 0; n < N; n++) {
    const float *x = inp + n * C, *dy = dout + n * C;
    double r = rstd[n], gx = 0;
    for (int c = 0; c < C; c++) gx += (double)dy[c] * weight[c] * x[c] * r;
    gx /= C;
    for (int c = 0; c < C; c++) {
      double xhat = x[c] * r;
      if (dinp) dinp[n * C + c] = (float)(r * ((double)dy[c] * weight[c] - xhat * gx));
      if (dweight) dweight[c] += (float)(dy[c] * xhat);
    }
  }
}

void fs_layernorm_forward_ref(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                              const float *bias, int64_t N, int C, float eps)
{
  for (int64_t n = 0; n < N; n++) {
    const float *x = inp + n * C;
    double mu = 0, var = 0;
    for (int c = 0; c < C; c++) mu += x[c];
    mu /= C;
    for (int c = 0; c < C; c++) var += (x[c] - mu) * (x[c] - mu);
    var /= C;
    double r = 1.0 / sqrt(var + eps);
    for (int c = 0; c < C; c++) out[n * C + c] = (float)((x[c] - mu) * r * weight[c] + bias[c]);
    mean[n] = (float)mu;
    rstd[n] = (float)r;
  }
}

void fs_layernorm_backward_ref(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                               const float *weight, const float *mean, const float *rstd, int64_t N, int C)
{
  for (int64_t n = 0; n < N; n++) {
    const float *x = inp + n * C, *dy = dout + n * C;
    double mu = mean[n], r = rstd[n], g_mean = 0, gx_mean = 0;
    for (int c = 0; c < C; c++) {
      double g = (double)dy[c] * weight[c];
      g_mean += g;
      gx_mean += g * (x[c] - mu) * r;
    }
    g_mean /= C;
    gx_mean /= C;
    for (int c = 0; c < C; c++) {
      double xhat = (x[c] - mu) * r, g = (double)dy[c] * weight[c];
      if (dinp) dinp[n * C + c] = (float)(r * (g - g_mean - xhat * gx_mean));
      if (dweight) dweight[c] += (float)(dy[c] * xhat);
      if (dbias) dbias[c] += dy[c];
    }
  }
}
