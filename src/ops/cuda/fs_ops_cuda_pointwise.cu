/* fs_ops_cuda_pointwise.cu -- elementwise ops (SwiGLU, GELU, AdamW, scale, add) and the sum of squares.
 * fp32 math with the accurate libdevice functions (no fast-math), so results stay within a few ulp of the CPU. */
#include <cmath>
#include "fs_ops_cuda_common.cuh"

enum { PW_THREADS = 256 };

__global__ void swiglu_forward_kernel(float *out, const float *gate, const float *up, int64_t n)
{
  FS_CUDA_FOR(i, n)
  {
    float g = gate[i];
    out[i] = g / (1.0f + expf(-g)) * up[i];
  }
}

__global__ void swiglu_backward_kernel(float *dgate, float *dup, const float *dout, const float *gate,
                                       const float *up, int64_t n)
{
  FS_CUDA_FOR(i, n)
  {
    float g = gate[i], sig = 1.0f / (1.0f + expf(-g)), d = dout[i];
    float dsilu = sig * (1.0f + g * (1.0f - sig)); /* d/dg (g * sigmoid(g)) */
    dgate[i] = d * up[i] * dsilu;
    dup[i] = d * g * sig;
  }
}

#define FS_GELU_K 0.7978845608028654f /* sqrt(2/pi) */

__global__ void gelu_forward_kernel(float *out, const float *inp, int64_t n)
{
  FS_CUDA_FOR(i, n)
  {
    float x = inp[i];
    out[i] = 0.5f * x * (1.0f + tanhf(FS_GELU_K * (x + 0.044715f * x * x * x)));
  }
}

__global__ void gelu_backward_kernel(float *dinp, const float *dout, const float *inp, int64_t n)
{
  FS_CUDA_FOR(i, n)
  {
    float x = inp[i], th = tanhf(FS_GELU_K * (x + 0.044715f * x * x * x));
    float du = FS_GELU_K * (1.0f + 3.0f * 0.044715f * x * x);
    dinp[i] = (0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * du) * dout[i];
  }
}

/* bc1, bc2: the bias corrections 1 - beta^t, computed once on the host in double */
__global__ void adamw_kernel(float *param, float *m, float *v, const float *grad, int64_t n, float lr, float beta1,
                             float beta2, float eps, float wd, float bc1, float bc2)
{
  FS_CUDA_FOR(i, n)
  {
    float g = grad[i], p = param[i];
    float mi = beta1 * m[i] + (1.0f - beta1) * g;
    float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    param[i] = p - lr * (mi / bc1 / (sqrtf(vi / bc2) + eps) + wd * p);
  }
}

__global__ void scale_kernel(float *x, float s, int64_t n)
{
  FS_CUDA_FOR(i, n) x[i] *= s;
}

/* out may alias a: each element is read before it is written by the same thread */
__global__ void add_kernel(float *out, const float *a, const float *b, int64_t n)
{
  FS_CUDA_FOR(i, n) out[i] = a[i] + b[i];
}

enum { SS_THREADS = 512, SS_MAXBLOCKS = 1024 };

/* pass 1: partial[block] = sum of x^2 over a grid-stride slice, in double (a float square is exact in double) */
__global__ void sum_squares_partial_kernel(double *partial, const float *x, int64_t n)
{
  __shared__ double s[32];
  double acc = 0;
  FS_CUDA_FOR(i, n) acc += (double)x[i] * x[i];
  acc = fs_block_sum(acc, s);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

/* pass 2: one block adds the partials in a fixed order: the result does not depend on timing */
__global__ void sum_squares_finish_kernel(double *partial, int nblocks)
{
  __shared__ double s[32];
  double acc = 0;
  for (int i = threadIdx.x; i < nblocks; i += blockDim.x) acc += partial[i];
  acc = fs_block_sum(acc, s);
  if (threadIdx.x == 0) partial[0] = acc;
}

extern "C" void fs_swiglu_forward_cuda(float *out, const float *gate, const float *up, int64_t n)
{
  swiglu_forward_kernel<<<fs_cuda_blocks(n, PW_THREADS), PW_THREADS>>>(out, gate, up, n);
  FS_CUDA_LAUNCHED("swiglu_forward_kernel");
}

extern "C" void fs_swiglu_backward_cuda(float *dgate, float *dup, const float *dout, const float *gate,
                                        const float *up, int64_t n)
{
  swiglu_backward_kernel<<<fs_cuda_blocks(n, PW_THREADS), PW_THREADS>>>(dgate, dup, dout, gate, up, n);
  FS_CUDA_LAUNCHED("swiglu_backward_kernel");
}

extern "C" void fs_gelu_forward_cuda(float *out, const float *inp, int64_t n)
{
  gelu_forward_kernel<<<fs_cuda_blocks(n, PW_THREADS), PW_THREADS>>>(out, inp, n);
  FS_CUDA_LAUNCHED("gelu_forward_kernel");
}

extern "C" void fs_gelu_backward_cuda(float *dinp, const float *dout, const float *inp, int64_t n)
{
  gelu_backward_kernel<<<fs_cuda_blocks(n, PW_THREADS), PW_THREADS>>>(dinp, dout, inp, n);
  FS_CUDA_LAUNCHED("gelu_backward_kernel");
}

extern "C" void fs_adamw_update_cuda(float *param, float *m, float *v, const float *grad, int64_t n, float lr,
                                     float beta1, float beta2, float eps, float weight_decay, int64_t t)
{
  float bc1 = (float)(1.0 - pow((double)beta1, (double)t)), bc2 = (float)(1.0 - pow((double)beta2, (double)t));
  adamw_kernel<<<fs_cuda_blocks(n, PW_THREADS), PW_THREADS>>>(param, m, v, grad, n, lr, beta1, beta2, eps,
                                                              weight_decay, bc1, bc2);
  FS_CUDA_LAUNCHED("adamw_kernel");
}

extern "C" double fs_sum_squares_cuda(const float *x, int64_t n)
{
  int nb = fs_cuda_blocks(n, SS_THREADS);
  if (nb > SS_MAXBLOCKS) nb = SS_MAXBLOCKS;
  double *partial = (double *)fs_cuda_keep(FS_CUDA_KEEP_REDUCE, SS_MAXBLOCKS * sizeof(double), "sum of squares");
  sum_squares_partial_kernel<<<nb, SS_THREADS>>>(partial, x, n);
  FS_CUDA_LAUNCHED("sum_squares_partial_kernel");
  sum_squares_finish_kernel<<<1, SS_THREADS>>>(partial, nb);
  FS_CUDA_LAUNCHED("sum_squares_finish_kernel");
  double r = 0;
  FS_CUDA_CHECK(cudaMemcpy(&r, partial, sizeof r, cudaMemcpyDeviceToHost)); /* waits for the kernels */
  return r;
}

extern "C" void fs_scale_cuda(float *x, float s, int64_t n)
{
  scale_kernel<<<fs_cuda_blocks(n, PW_THREADS), PW_THREADS>>>(x, s, n);
  FS_CUDA_LAUNCHED("scale_kernel");
}

extern "C" void fs_add_cuda(float *out, const float *a, const float *b, int64_t n)
{
  add_kernel<<<fs_cuda_blocks(n, PW_THREADS), PW_THREADS>>>(out, a, b, n);
  FS_CUDA_LAUNCHED("add_kernel");
}
