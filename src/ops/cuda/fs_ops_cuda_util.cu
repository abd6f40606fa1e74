/* fs_ops_cuda_util.cu -- the cuBLAS handle, the row-major GEMM, device scratch slots and fs_ops_cuda_sync. */
#include <cstdio>
#include <mutex>
#include "fs_ops_cuda_common.cuh"

static cublasHandle_t cublas_handle;
static std::once_flag cublas_once;

cublasHandle_t fs_cuda_cublas(void)
{
  std::call_once(cublas_once, [] {
    FS_CUBLAS_CHECK(cublasCreate(&cublas_handle));
    /* stated, not left to the default: fp32 products stay fp32 (TF32 would change results at the 1e-3 level) */
    FS_CUBLAS_CHECK(cublasSetMathMode(cublas_handle, CUBLAS_DEFAULT_MATH));
  });
  return cublas_handle;
}

void fs_cuda_sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                   int ldb, float beta, float *C, int ldc)
{
  if (M <= 0 || N <= 0) return;
  cublasOperation_t opA = transA ? CUBLAS_OP_T : CUBLAS_OP_N, opB = transB ? CUBLAS_OP_T : CUBLAS_OP_N;
  /* column-major C^T (N,M) = op(B)^T (N,K) op(A)^T (K,M); each row-major operand is its own column-major
   * transpose with the same leading dimension */
  FS_CUBLAS_CHECK(cublasGemmEx(fs_cuda_cublas(), opB, opA, N, M, K, &alpha, B, CUDA_R_32F, ldb, A, CUDA_R_32F, lda,
                               &beta, C, CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

static struct {
  void *p;
  size_t cap;
} kept[FS_CUDA_KEEP_SLOTS];

void *fs_cuda_keep(int slot, size_t n_bytes, const char *what)
{
  if (kept[slot].cap < n_bytes) {
    if (kept[slot].p) FS_CUDA_CHECK(cudaFree(kept[slot].p)); /* cudaFree waits for the ops that used it */
    kept[slot].p = nullptr, kept[slot].cap = 0;
    cudaError_t e = cudaMalloc(&kept[slot].p, n_bytes ? n_bytes : 1);
    if (e != cudaSuccess) {
      char msg[256];
      snprintf(msg, sizeof msg, "%s (%zu bytes of device scratch for %s)", cudaGetErrorString(e), n_bytes, what);
      fs_cuda_fatal("cudaMalloc", msg, FS_CUDA_HINT, __FILE__, __LINE__);
    }
    kept[slot].cap = n_bytes;
  }
  return kept[slot].p;
}

extern "C" void fs_ops_cuda_sync(void)
{
  FS_CUDA_CHECK(cudaDeviceSynchronize());
  FS_CUDA_CHECK(cudaGetLastError());
}
