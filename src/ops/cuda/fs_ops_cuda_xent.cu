/* fs_ops_cuda_xent.cu -- fused output layer + cross-entropy on the GPU, never holding the (N,V) logits: rows go in
 * chunks of R; per chunk one GEMM gives the logits (R,V), one kernel (a block per row) turns them into the loss and,
 * with backward, in place into dlogits = row_weight * (softmax - onehot), and two GEMMs give dinp = dlogits @ weight
 * (written) and dweight += dlogits^T @ inp.  Only the first V rows of the weight are read.
 * FS_CUDA_XENT_ROWS=R in the environment sets the chunk rows (for tests). */
#include <cmath>
#include <cstdlib>
#include "fs_ops_cuda_common.cuh"

enum { XENT_THREADS = 512 };
/* chunk scratch budget: R * V floats (256 MiB); big chunks keep the GEMMs large, and with a 50k vocabulary this is
 * still 1300 rows */
static const int64_t XENT_CHUNK_FLOATS = (int64_t)1 << 26;

__global__ void xent_rows_kernel(float *losses, float *z, const int32_t *targets, const float *row_weight, int R,
                                 int V, int backward)
{
  __shared__ float s[32];
  for (int r = blockIdx.x; r < R; r += gridDim.x) {
    float *zr = z + (int64_t)r * V;
    const int tgt = targets[r];
    if (tgt < 0) { /* masked row: no loss, no gradient */
      if (backward)
        for (int j = threadIdx.x; j < V; j += blockDim.x) zr[j] = 0.0f;
      if (threadIdx.x == 0) losses[r] = 0.0f;
      continue;
    }
    float mx = -INFINITY;
    for (int j = threadIdx.x; j < V; j += blockDim.x) mx = fmaxf(mx, zr[j]);
    mx = fs_block_max(mx, s);
    float sum = 0;
    for (int j = threadIdx.x; j < V; j += blockDim.x) sum += expf(zr[j] - mx);
    const float lse = mx + logf(fs_block_sum(sum, s));
    const float zt = zr[tgt];
    __syncthreads(); /* every thread has read z[tgt] before it is overwritten */
    if (threadIdx.x == 0) losses[r] = lse - zt;
    if (backward) {
      const float w = row_weight ? row_weight[r] : 1.0f;
      for (int j = threadIdx.x; j < V; j += blockDim.x) zr[j] = w * (expf(zr[j] - lse) - (j == tgt ? 1.0f : 0.0f));
    }
  }
}

extern "C" void fs_lmhead_logits_cuda(float *logits, const float *inp, const float *weight, int64_t N, int C, int V)
{
  fs_matmul_forward_cuda(logits, inp, weight, NULL, N, C, V);
}

extern "C" void fs_lmhead_xent_cuda(float *losses, float *dinp, float *dweight, const float *inp, const float *weight,
                                    const int32_t *targets, const float *row_weight, int64_t N, int C, int V)
{
  if (N <= 0) return;
  FS_CUDA_REQUIRE(V > 0 && C > 0, "the output layer needs V > 0 and C > 0");
  const int backward = dinp || dweight;
  int64_t R = XENT_CHUNK_FLOATS / V;
  const char *env = getenv("FS_CUDA_XENT_ROWS"); /* tests: small chunks, so that chunk edges are exercised */
  if (env && atoll(env) > 0) R = atoll(env);
  if (R < 1) R = 1;
  if (R > N) R = N;
  float *z = (float *)fs_cuda_keep(FS_CUDA_KEEP_XENT, (size_t)(R * V) * sizeof(float), "lm-head logits chunk");
  for (int64_t r0 = 0; r0 < N; r0 += R) {
    const int rows = (int)(N - r0 < R ? N - r0 : R);
    const float *x = inp + r0 * C;
    fs_cuda_sgemm(0, 1, rows, V, C, 1.0f, x, C, weight, C, 0.0f, z, V); /* z (rows,V) = x @ weight^T */
    xent_rows_kernel<<<rows < 65536 ? rows : 65536, XENT_THREADS>>>(losses + r0, z, targets + r0,
                                                                    row_weight ? row_weight + r0 : NULL, rows, V,
                                                                    backward);
    FS_CUDA_LAUNCHED("xent_rows_kernel");
    if (dinp) fs_cuda_sgemm(0, 0, rows, C, V, 1.0f, z, V, weight, C, 0.0f, dinp + r0 * C, C);
    if (dweight) fs_cuda_sgemm(1, 0, V, C, rows, 1.0f, z, V, x, C, 1.0f, dweight, C);
  }
}
