/* test_cuda_convert.c -- the CUDA fp32 -> bf16 kernel against the CPU reference (bit-exact: both round to
 * nearest even).  Skips (exit 77) where there is no GPU; builds wherever CUDA is configured. */
#include <stdlib.h>
#include <string.h>
#include "fs_cuda_info.h"
#include "fs_dtype.h"
#include "fs_rng.h"
#include "../unit/fs_test.h"

int main(void)
{
  char info[256], err[256] = "";
  fs_cuda_versions(info, sizeof info);
  printf("%s\n", info);
  if (fs_cuda_device_count() == 0) {
    printf("SKIP: no usable GPU on this machine\n");
    return 77;
  }
  const int64_t n = 1000003; /* odd size: tails of blocks and grid-stride loops */
  float *x = malloc(n * sizeof *x);
  uint16_t *gpu = malloc(n * 2), *cpu = malloc(n * 2);
  struct fs_rng_key k = fs_rng_key(7, "convert");
  for (int64_t i = 0; i < n; i++) {
    uint32_t bits = (uint32_t)(fs_rng_uniform(k, i) * 4294967040.0f) ^ (uint32_t)i;
    memcpy(&x[i], &bits, 4);
  }
  FS_EXPECT(fs_cuda_convert_fp32_to_bf16(gpu, x, n, err, sizeof err) == 0, "kernel failed: %s", err);
  fs_convert_fp32_to_bf16(cpu, x, n);
  int64_t bad = 0;
  for (int64_t i = 0; i < n; i++) {
    int nan_g = (gpu[i] & 0x7fff) > 0x7f80, nan_c = (cpu[i] & 0x7fff) > 0x7f80;
    bad += nan_c ? !nan_g : gpu[i] != cpu[i];
  }
  FS_EXPECT(bad == 0, "%ld of %ld elements differ from the CPU reference", (long)bad, (long)n);
  free(x), free(gpu), free(cpu);
  return fs_test_done("test_cuda_convert");
}
