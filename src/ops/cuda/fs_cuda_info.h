/* fs_cuda_info.h -- CUDA backend: library versions (no GPU needed) and the first kernels.
 * C-callable; compiled by nvcc only when configure found CUDA (FS_HAVE_CUDA). */
#ifndef FS_CUDA_INFO_H
#define FS_CUDA_INFO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "cudart 13000, cuBLAS 13.1, NCCL 22809, N GPU(s)" */
void fs_cuda_versions(char *buf, size_t n_bytes);
/* number of usable GPUs; 0 when there is none or no driver */
int fs_cuda_device_count(void);
/* out = bf16(in) on the current GPU, round to nearest even; host buffers, n elements.
 * returns 0 on success, otherwise a message in err */
int fs_cuda_convert_fp32_to_bf16(uint16_t *out, const float *in, int64_t n, char *err, size_t err_bytes);

#ifdef __cplusplus
}
#endif
#endif
