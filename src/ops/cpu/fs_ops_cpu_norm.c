/* fs_ops_cpu_norm.c -- fast RMSNorm / LayerNorm (OpenMP over rows; weight gradients split by column so that
 * threads never add into the same element).  Row statistics are accumulated in double, as in the reference. */
#include <math.h>
#include <string.h>
#include "fs_ops_cpu_impl.h"

enum { FS_NORM_CB = 64 }; /* columns per task for the weight gradients */

void fs_rmsnorm_forward_cpu(float *out, float *rstd, const float *inp, const float *weight, int64_t N, int C,
                            float eps)
{
#pragma omp parallel for schedule(static) if (N * C > FS_PW_PAR_MIN)
  for (int64_t n = 0; n < N; n++) {
    const float *x = inp + n * C;
    float *o = out + n * C;
    double ss = 0;
    for (int c = 0; c < C; c++) ss += (double)x[c] * x[c];
    float r = (float)(1.0 / sqrt(ss / C + eps));
    for (int c = 0; c < C; c++) o[c] = x[c] * r * weight[c];
    rstd[n] = r;
  }
}

void fs_rmsnorm_backward_cpu(float *dinp, float *dweight, const float *dout, const float *inp, const float *weight,
                             const float *rstd, int64_t N, int C)
{
  if (dinp) {
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; n++) {
      const float *x = inp + n * C, *dy = dout + n * C;
      float r = rstd[n], *dx = dinp + n * C;
      double gx = 0;
      for (int c = 0; c < C; c++) gx += (double)dy[c] * weight[c] * x[c];
      float k = (float)(gx / C) * r * r; /* mean(g * xhat) / rstd, folded with the xhat = x * rstd below */
      for (int c = 0; c < C; c++) dx[c] = r * (dy[c] * weight[c] - x[c] * k);
    }
  }
  if (dweight) {
#pragma omp parallel for schedule(static)
    for (int c0 = 0; c0 < C; c0 += FS_NORM_CB) {
      int c1 = c0 + FS_NORM_CB < C ? c0 + FS_NORM_CB : C;
      float acc[FS_NORM_CB];
      memset(acc, 0, sizeof acc);
      for (int64_t n = 0; n < N; n++) {
        const float *x = inp + n * C, *dy = dout + n * C;
        float r = rstd[n];
        for (int c = c0; c < c1; c++) acc[c - c0] += dy[c] * x[c] * r;
      }
      for (int c = c0; c < c1; c++) dweight[c] += acc[c - c0];
    }
  }
}

void fs_layernorm_forward_cpu(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                              const float *bias, int64_t N, int C, float eps)
{
#pragma omp parallel for schedule(static) if (N * C > FS_PW_PAR_MIN)
  for (int64_t n = 0; n < N; n++) {
    const float *x = inp + n * C;
    float *o = out + n * C;
    double mu = 0, var = 0;
    for (int c = 0; c < C; c++) mu += x[c];
    mu /= C;
    for (int c = 0; c < C; c++) var += (x[c] - mu) * (x[c] - mu);
    float r = (float)(1.0 / sqrt(var / C + eps)), m = (float)mu;
    for (int c = 0; c < C; c++) o[c] = (x[c] - m) * r * weight[c] + bias[c];
    mean[n] = m;
    rstd[n] = r;
  }
}

void fs_layernorm_backward_cpu(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                               const float *weight, const float *mean, const float *rstd, int64_t N, int C)
{
  if (dinp) {
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; n++) {
      const float *x = inp + n * C, *dy = dout + n * C;
      float mu = mean[n], r = rstd[n], *dx = dinp + n * C;
      double gm = 0, gxm = 0;
      for (int c = 0; c < C; c++) {
        float g = dy[c] * weight[c];
        gm += g;
        gxm += (double)g * (x[c] - mu) * r;
      }
      float g_mean = (float)(gm / C), gx_mean = (float)(gxm / C);
      for (int c = 0; c < C; c++) dx[c] = r * (dy[c] * weight[c] - g_mean - (x[c] - mu) * r * gx_mean);
    }
  }
  if (dweight || dbias) {
#pragma omp parallel for schedule(static)
    for (int c0 = 0; c0 < C; c0 += FS_NORM_CB) {
      int c1 = c0 + FS_NORM_CB < C ? c0 + FS_NORM_CB : C;
      float aw[FS_NORM_CB], ab[FS_NORM_CB];
      memset(aw, 0, sizeof aw);
      memset(ab, 0, sizeof ab);
      for (int64_t n = 0; n < N; n++) {
        const float *x = inp + n * C, *dy = dout + n * C;
        float mu = mean[n], r = rstd[n];
        for (int c = c0; c < c1; c++) {
          aw[c - c0] += dy[c] * (x[c] - mu) * r;
          ab[c - c0] += dy[c];
        }
      }
      for (int c = c0; c < c1; c++) {
        if (dweight) dweight[c] += aw[c - c0];
        if (dbias) dbias[c] += ab[c - c0];
      }
    }
  }
}
