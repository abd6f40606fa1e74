/* fs_ops_cpu_pointwise.c -- fast elementwise ops (OpenMP): SwiGLU, GELU, AdamW, vector helpers.  Float math except
 * where the reference's double accumulation matters (sum_squares). */
#include <math.h>
#include "fs_ops_cpu_impl.h"

void fs_swiglu_forward_cpu(float *out, const float *gate, const float *up, int64_t n)
{
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) {
    float g = gate[i];
    out[i] = g / (1.0f + expf(-g)) * up[i];
  }
}

void fs_swiglu_backward_cpu(float *dgate, float *dup, const float *dout, const float *gate, const float *up,
                            int64_t n)
{
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) {
    float g = gate[i], sig = 1.0f / (1.0f + expf(-g)), d = dout[i];
    dgate[i] = d * up[i] * sig * (1.0f + g * (1.0f - sig));
    dup[i] = d * g * sig;
  }
}

#define FS_GELU_KF 0.7978845608028654f /* sqrt(2/pi) */

void fs_gelu_forward_cpu(float *out, const float *inp, int64_t n)
{
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) {
    float x = inp[i];
    out[i] = 0.5f * x * (1.0f + tanhf(FS_GELU_KF * (x + 0.044715f * x * x * x)));
  }
}

void fs_gelu_backward_cpu(float *dinp, const float *dout, const float *inp, int64_t n)
{
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) {
    float x = inp[i], th = tanhf(FS_GELU_KF * (x + 0.044715f * x * x * x));
    float du = FS_GELU_KF * (1.0f + 3.0f * 0.044715f * x * x);
    dinp[i] = (0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * du) * dout[i];
  }
}

void fs_adamw_update_cpu(float *param, float *m, float *v, const float *grad, int64_t n, float lr, float beta1,
                         float beta2, float eps, float weight_decay, int64_t t)
{
  /* PyTorch's single-tensor AdamW: decay first, then step_size = lr / bc1, denom = sqrt(v) / sqrt(bc2) + eps */
  double bc1 = 1.0 - pow(beta1, (double)t), bc2 = 1.0 - pow(beta2, (double)t);
  float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2), decay = 1.0f - lr * weight_decay;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) {
    float g = grad[i];
    float mi = beta1 * m[i] + (1.0f - beta1) * g;
    float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    param[i] = param[i] * decay - step_size * mi / (sqrtf(vi) / bc2_sqrt + eps);
  }
}

double fs_sum_squares_cpu(const float *x, int64_t n)
{
  double acc = 0;
#pragma omp parallel for schedule(static) reduction(+ : acc)
  for (int64_t i = 0; i < n; i++) acc += (double)x[i] * x[i];
  return acc;
}

void fs_scale_cpu(float *x, float s, int64_t n)
{
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) x[i] *= s;
}

void fs_add_cpu(float *out, const float *a, const float *b, int64_t n)
{
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}
