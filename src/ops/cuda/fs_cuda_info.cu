/* fs_cuda_info.cu -- CUDA library versions and a first real kernel (fp32 -> bf16, the mixed-precision cast) */
#include <cstdio>
#include <cuda_runtime.h>
#include <cuda_bf16.h>
#include <cublas_v2.h>
#include <nccl.h>
#include "fs_cuda_info.h"

extern "C" void fs_cuda_versions(char *buf, size_t n_bytes)
{
  int rt = 0, maj = 0, min = 0, nccl = 0;
  cudaRuntimeGetVersion(&rt);
  cublasGetProperty(MAJOR_VERSION, &maj);
  cublasGetProperty(MINOR_VERSION, &min);
  ncclGetVersion(&nccl);
  snprintf(buf, n_bytes, "cudart %d, cuBLAS %d.%d, NCCL %d, %d GPU(s)", rt, maj, min, nccl, fs_cuda_device_count());
}

extern "C" int fs_cuda_device_count(void)
{
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError(); /* clear the sticky "no device" error */
    return 0;
  }
  return n;
}

__global__ void fp32_to_bf16_kernel(__nv_bfloat16 *out, const float *in, int64_t n)
{
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    out[i] = __float2bfloat16_rn(in[i]);
}

#define FS_CUDA_TRY(call) \
  do { \
    cudaError_t e_ = (call); \
    if (e_ != cudaSuccess) { \
      snprintf(err, err_bytes, "CUDA call %s failed: %s", #call, cudaGetErrorString(e_)); \
      goto done; \
    } \
  } while (0)

extern "C" int fs_cuda_convert_fp32_to_bf16(uint16_t *out, const float *in, int64_t n, char *err, size_t err_bytes)
{
  float *d_in = nullptr;
  __nv_bfloat16 *d_out = nullptr;
  int rc = 1, blocks = (int)((n + 255) / 256 < 4096 ? (n + 255) / 256 : 4096);
  FS_CUDA_TRY(cudaMalloc(&d_in, n * sizeof(float)));
  FS_CUDA_TRY(cudaMalloc(&d_out, n * sizeof(__nv_bfloat16)));
  FS_CUDA_TRY(cudaMemcpy(d_in, in, n * sizeof(float), cudaMemcpyHostToDevice));
  fp32_to_bf16_kernel<<<blocks > 0 ? blocks : 1, 256>>>(d_out, d_in, n);
  FS_CUDA_TRY(cudaGetLastError());
  FS_CUDA_TRY(cudaMemcpy(out, d_out, n * sizeof(uint16_t), cudaMemcpyDeviceToHost));
  rc = 0;
done:
  cudaFree(d_in);
  cudaFree(d_out);
  return rc;
}
