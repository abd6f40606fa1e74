/* fs_ops_cpu_pointwise.c -- fast elementwise ops: SwiGLU, GELU, AdamW, vector helpers.  Each op splits its range
 * among the OpenMP threads (fs_omp_range) and runs a vectorized kernel compiled for AVX-512 / AVX2 / x86-64
 * (FS_CLONES) on its part; small ranges stay on the calling thread.  Float math except where the reference's
 * double accumulation matters (sum_squares). */
#include <math.h>
#include "fs_ops_cpu_impl.h"

FS_CLONES static void swiglu_fwd_k(float *out, const float *gate, const float *up, int64_t i0, int64_t i1)
{
#pragma omp simd
  for (int64_t i = i0; i < i1; i++) {
    float g = gate[i];
    out[i] = g / (1.0f + fs_expf(-g)) * up[i];
  }
}

void fs_swiglu_forward_cpu(float *out, const float *gate, const float *up, int64_t n)
{
#pragma omp parallel if (n > FS_PW_PAR_MIN)
  {
    int64_t i0, i1;
    fs_omp_range(n, &i0, &i1);
    swiglu_fwd_k(out, gate, up, i0, i1);
  }
}

FS_CLONES static void swiglu_bwd_k(float *dgate, float *dup, const float *dout, const float *gate, const float *up,
                                   int64_t i0, int64_t i1)
{
#pragma omp simd
  for (int64_t i = i0; i < i1; i++) {
    float g = gate[i], sig = 1.0f / (1.0f + fs_expf(-g)), d = dout[i];
    dgate[i] = d * up[i] * sig * (1.0f + g * (1.0f - sig));
    dup[i] = d * g * sig;
  }
}

void fs_swiglu_backward_cpu(float *dgate, float *dup, const float *dout, const float *gate, const float *up,
                            int64_t n)
{
#pragma omp parallel if (n > FS_PW_PAR_MIN)
  {
    int64_t i0, i1;
    fs_omp_range(n, &i0, &i1);
    swiglu_bwd_k(dgate, dup, dout, gate, up, i0, i1);
  }
}

#define FS_GELU_KF 0.7978845608028654f /* sqrt(2/pi) */

void fs_gelu_forward_cpu(float *out, const float *inp, int64_t n)
{
#pragma omp parallel for schedule(static) if (n > FS_PW_PAR_MIN)
  for (int64_t i = 0; i < n; i++) {
    float x = inp[i];
    out[i] = 0.5f * x * (1.0f + tanhf(FS_GELU_KF * (x + 0.044715f * x * x * x)));
  }
}

void fs_gelu_backward_cpu(float *dinp, const float *dout, const float *inp, int64_t n)
{
#pragma omp parallel for schedule(static) if (n > FS_PW_PAR_MIN)
  for (int64_t i = 0; i < n; i++) {
    float x = inp[i], th = tanhf(FS_GELU_KF * (x + 0.044715f * x * x * x));
    float du = FS_GELU_KF * (1.0f + 3.0f * 0.044715f * x * x);
    dinp[i] = (0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * du) * dout[i];
  }
}

/* not vectorized: GCC keeps sqrtf's errno path (the build has no -fno-math-errno); the loop is memory-bound anyway */
FS_CLONES static void adamw_k(float *param, float *m, float *v, const float *grad, int64_t i0, int64_t i1,
                              float beta1, float beta2, float eps, float step_size, float inv_bc2_sqrt, float decay)
{
#pragma omp simd
  for (int64_t i = i0; i < i1; i++) {
    float g = grad[i];
    float mi = beta1 * m[i] + (1.0f - beta1) * g;
    float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    param[i] = param[i] * decay - step_size * mi / (sqrtf(vi) * inv_bc2_sqrt + eps);
  }
}

void fs_adamw_update_cpu(float *param, float *m, float *v, const float *grad, int64_t n, float lr, float beta1,
                         float beta2, float eps, float weight_decay, int64_t t)
{
  /* PyTorch's single-tensor AdamW: decay first, then step_size = lr / bc1, denom = sqrt(v) / sqrt(bc2) + eps */
  double bc1 = 1.0 - pow(beta1, (double)t), bc2 = 1.0 - pow(beta2, (double)t);
  float step_size = (float)(lr / bc1), inv_bc2_sqrt = (float)(1.0 / sqrt(bc2)), decay = 1.0f - lr * weight_decay;
#pragma omp parallel if (n > FS_PW_PAR_MIN)
  {
    int64_t i0, i1;
    fs_omp_range(n, &i0, &i1);
    adamw_k(param, m, v, grad, i0, i1, beta1, beta2, eps, step_size, inv_bc2_sqrt, decay);
  }
}

FS_CLONES static double sum_squares_k(const float *x, int64_t i0, int64_t i1)
{
  double acc = 0;
#pragma omp simd reduction(+ : acc)
  for (int64_t i = i0; i < i1; i++) acc += (double)x[i] * x[i];
  return acc;
}

double fs_sum_squares_cpu(const float *x, int64_t n)
{
  double acc = 0;
#pragma omp parallel if (n > FS_PW_PAR_MIN) reduction(+ : acc)
  {
    int64_t i0, i1;
    fs_omp_range(n, &i0, &i1);
    acc += sum_squares_k(x, i0, i1);
  }
  return acc;
}

FS_CLONES static void scale_k(float *x, float s, int64_t i0, int64_t i1)
{
#pragma omp simd
  for (int64_t i = i0; i < i1; i++) x[i] *= s;
}

void fs_scale_cpu(float *x, float s, int64_t n)
{
#pragma omp parallel if (n > FS_PW_PAR_MIN)
  {
    int64_t i0, i1;
    fs_omp_range(n, &i0, &i1);
    scale_k(x, s, i0, i1);
  }
}

FS_CLONES static void add_k(float *out, const float *a, const float *b, int64_t i0, int64_t i1)
{
#pragma omp simd
  for (int64_t i = i0; i < i1; i++) out[i] = a[i] + b[i];
}

void fs_add_cpu(float *out, const float *a, const float *b, int64_t n)
{
#pragma omp parallel if (n > FS_PW_PAR_MIN)
  {
    int64_t i0, i1;
    fs_omp_range(n, &i0, &i1);
    add_k(out, a, b, i0, i1);
  }
}
