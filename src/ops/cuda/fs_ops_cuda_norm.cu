/* fs_ops_cuda_norm.cu -- RMSNorm and LayerNorm on the GPU: one block per row, warp-shuffle block reductions; the
 * variance is taken around the mean in a second pass over the row (no E[x^2] - mean^2 cancellation).  The weight
 * and bias gradients are column sums over all rows (fs_cuda_colsum: deterministic, no atomics).
 * With g = dout * weight and xhat the normalized row:
 *   RMSNorm   dx = rstd * (g - xhat * mean(g * xhat))
 *   LayerNorm dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) */
#include <cmath>
#include "fs_ops_cuda_common.cuh"

enum { NORM_THREADS = 256 };

__global__ void rmsnorm_forward_kernel(float *out, float *rstd, const float *inp, const float *weight, int64_t N,
                                       int C, float eps)
{
  __shared__ float s[32];
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    const float *x = inp + n * C;
    float ss = 0;
    for (int c = threadIdx.x; c < C; c += blockDim.x) ss += x[c] * x[c];
    ss = fs_block_sum(ss, s);
    float r = 1.0f / sqrtf(ss / C + eps);
    for (int c = threadIdx.x; c < C; c += blockDim.x) out[n * C + c] = x[c] * r * weight[c];
    if (threadIdx.x == 0) rstd[n] = r;
  }
}

__global__ void rmsnorm_backward_kernel(float *dinp, const float *dout, const float *inp, const float *weight,
                                        const float *rstd, int64_t N, int C)
{
  __shared__ float s[32];
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    const float *x = inp + n * C, *dy = dout + n * C;
    float r = rstd[n], gx = 0;
    for (int c = threadIdx.x; c < C; c += blockDim.x) gx += dy[c] * weight[c] * x[c] * r;
    gx = fs_block_sum(gx, s) / C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) dinp[n * C + c] = r * (dy[c] * weight[c] - x[c] * r * gx);
  }
}

__global__ void layernorm_forward_kernel(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                                         const float *bias, int64_t N, int C, float eps)
{
  __shared__ float s[32];
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    const float *x = inp + n * C;
    float sum = 0;
    for (int c = threadIdx.x; c < C; c += blockDim.x) sum += x[c];
    float mu = fs_block_sum(sum, s) / C, var = 0;
    for (int c = threadIdx.x; c < C; c += blockDim.x) var += (x[c] - mu) * (x[c] - mu);
    float r = 1.0f / sqrtf(fs_block_sum(var, s) / C + eps);
    for (int c = threadIdx.x; c < C; c += blockDim.x) out[n * C + c] = (x[c] - mu) * r * weight[c] + bias[c];
    if (threadIdx.x == 0) mean[n] = mu, rstd[n] = r;
  }
}

__global__ void layernorm_backward_kernel(float *dinp, const float *dout, const float *inp, const float *weight,
                                          const float *mean, const float *rstd, int64_t N, int C)
{
  __shared__ float s[32];
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    const float *x = inp + n * C, *dy = dout + n * C;
    float mu = mean[n], r = rstd[n], gs = 0, gxs = 0;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
      float g = dy[c] * weight[c];
      gs += g;
      gxs += g * (x[c] - mu) * r;
    }
    float g_mean = fs_block_sum(gs, s) / C, gx_mean = fs_block_sum(gxs, s) / C;
    for (int c = threadIdx.x; c < C; c += blockDim.x)
      dinp[n * C + c] = r * (dy[c] * weight[c] - g_mean - (x[c] - mu) * r * gx_mean);
  }
}

static int row_blocks(int64_t N) { return N < 65536 ? (int)(N > 0 ? N : 1) : 65536; }

extern "C" void fs_rmsnorm_forward_cuda(float *out, float *rstd, const float *inp, const float *weight, int64_t N,
                                        int C, float eps)
{
  rmsnorm_forward_kernel<<<row_blocks(N), NORM_THREADS>>>(out, rstd, inp, weight, N, C, eps);
  FS_CUDA_LAUNCHED("rmsnorm_forward_kernel");
}

extern "C" void fs_rmsnorm_backward_cuda(float *dinp, float *dweight, const float *dout, const float *inp,
                                         const float *weight, const float *rstd, int64_t N, int C)
{
  if (dinp) {
    rmsnorm_backward_kernel<<<row_blocks(N), NORM_THREADS>>>(dinp, dout, inp, weight, rstd, N, C);
    FS_CUDA_LAUNCHED("rmsnorm_backward_kernel");
  }
  if (dweight) fs_cuda_colsum(dweight, dout, inp, NULL, rstd, N, C);
}

extern "C" void fs_layernorm_forward_cuda(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                                          const float *bias, int64_t N, int C, float eps)
{
  layernorm_forward_kernel<<<row_blocks(N), NORM_THREADS>>>(out, mean, rstd, inp, weight, bias, N, C, eps);
  FS_CUDA_LAUNCHED("layernorm_forward_kernel");
}

extern "C" void fs_layernorm_backward_cuda(float *dinp, float *dweight, float *dbias, const float *dout,
                                           const float *inp, const float *weight, const float *mean,
                                           const float *rstd, int64_t N, int C)
{
  if (dinp) {
    layernorm_backward_kernel<<<row_blocks(N), NORM_THREADS>>>(dinp, dout, inp, weight, mean, rstd, N, C);
    FS_CUDA_LAUNCHED("layernorm_backward_kernel");
  }
  if (dweight) fs_cuda_colsum(dweight, dout, inp, mean, rstd, N, C);
  if (dbias) fs_cuda_colsum(dbias, dout, NULL, NULL, NULL, N, C);
}
