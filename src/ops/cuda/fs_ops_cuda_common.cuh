/* fs_ops_cuda_common.cuh -- internal to src/ops/cuda (C++ only): the check macros, the one cuBLAS handle, the
 * row-major GEMM, device scratch slots, launch sizes and the warp/block reductions the kernels share. */
#ifndef FS_OPS_CUDA_COMMON_CUH
#define FS_OPS_CUDA_COMMON_CUH

#include <cstdint>
#include <cuda_runtime.h>
#include <cublas_v2.h>
#include "fs_ops_cuda_impl.h"

#define FS_CUDA_HINT \
  "check that a GPU is visible (nvidia-smi, CUDA_VISIBLE_DEVICES), that every pointer given to fs_ops_cuda is a " \
  "device pointer of the current GPU, and on 'out of memory' reduce the micro-batch size or sequence length"

/* CUDA runtime call: on failure report the call text and cudaGetErrorString, then abort the job */
#define FS_CUDA_CHECK(call) \
  do { \
    cudaError_t fs_e_ = (call); \
    if (fs_e_ != cudaSuccess) fs_cuda_fatal(#call, cudaGetErrorString(fs_e_), FS_CUDA_HINT, __FILE__, __LINE__); \
  } while (0)

/* cuBLAS call: same, with cublasGetStatusString */
#define FS_CUBLAS_CHECK(call) \
  do { \
    cublasStatus_t fs_s_ = (call); \
    if (fs_s_ != CUBLAS_STATUS_SUCCESS) \
      fs_cuda_fatal(#call, cublasGetStatusString(fs_s_), FS_CUDA_HINT, __FILE__, __LINE__); \
  } while (0)

/* after a <<<...>>> launch: a bad configuration is reported here (faults inside the kernel surface later) */
#define FS_CUDA_LAUNCHED(kernel_name) \
  do { \
    cudaError_t fs_e_ = cudaGetLastError(); \
    if (fs_e_ != cudaSuccess) \
      fs_cuda_fatal("launch of " kernel_name, cudaGetErrorString(fs_e_), FS_CUDA_HINT, __FILE__, __LINE__); \
  } while (0)

/* a bad argument (shape the kernels do not support): report and abort like the checks */
#define FS_CUDA_REQUIRE(cond, what) \
  do { \
    if (!(cond)) fs_cuda_fatal(#cond, what, "fix the model configuration or call", __FILE__, __LINE__); \
  } while (0)

/* The one cuBLAS handle of the process, created on first use on the current device (thread-safe). */
cublasHandle_t fs_cuda_cublas(void);

/* Row-major GEMM with the same meaning as the CPU fs_sgemm: C (M,N) = alpha op(A) (M,K) @ op(B) (K,N) + beta C,
 * op = transpose when trans* is nonzero; fp32 in, fp32 compute (no TF32), fp32 out.  cuBLAS is column-major:
 * a row-major matrix is the column-major transpose, so C^T = op(B)^T op(A)^T is computed by swapping operands. */
void fs_cuda_sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                   int ldb, float beta, float *C, int ldc);

/* Device scratch kept between calls, one per slot, grown (never shrunk) on demand.  Ops run on one stream in
 * order, so a slot may be reused by the next op without waiting.  Not thread-safe (the model's ops are called
 * from one host thread). */
enum { FS_CUDA_KEEP_REDUCE, FS_CUDA_KEEP_XENT, FS_CUDA_KEEP_ATTN, FS_CUDA_KEEP_SLOTS };
void *fs_cuda_keep(int slot, size_t n_bytes, const char *what);

/* out (C) += column sums over N rows of dy (N,C), or of dy * xhat with xhat = (x - mean[n]) * rstd[n] when x is
 * given (mean may be NULL: RMSNorm).  Deterministic (two passes, fixed order, no atomics); fs_ops_cuda_dense.cu. */
void fs_cuda_colsum(float *out, const float *dy, const float *x, const float *mean, const float *rstd, int64_t N,
                    int C);

/* blocks for a grid-stride loop over n items: enough to fill the GPU, never more than the work */
static inline int fs_cuda_blocks(int64_t n, int threads)
{
  int64_t b = (n + threads - 1) / threads;
  if (b > 8192) b = 8192;
  return b > 0 ? (int)b : 1;
}

/* grid-stride loop index in 64 bits */
#define FS_CUDA_FOR(i, n) \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

template <typename Tv> __device__ __forceinline__ Tv fs_warp_sum(Tv v)
{
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float fs_warp_max(float v)
{
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

/* Sum over the whole block (blockDim.x a multiple of 32, at most 1024), returned to every thread.  shared: 32
 * elements.  Starts with a barrier so that a previous call's shared values are consumed before being replaced. */
template <typename Tv> __device__ Tv fs_block_sum(Tv v, Tv *shared)
{
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
  v = fs_warp_sum(v);
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  Tv r = lane < nwarps ? shared[lane] : Tv(0);
  return fs_warp_sum(r);
}

__device__ __forceinline__ float fs_block_max(float v, float *shared)
{
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
  v = fs_warp_max(v);
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  float r = lane < nwarps ? shared[lane] : -INFINITY;
  return fs_warp_max(r);
}

#endif
