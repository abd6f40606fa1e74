/* fs_ops_cuda_rope.cu -- RoPE (rotate-half) on the GPU.  One block per position t: its threads compute the cos/sin
 * table of that position once into shared memory with exactly the CPU's float32 angle (inv_freq = 1 / (float)
 * base^(2i/D), angle = (float)pos * inv_freq, each rounded to float as PyTorch does; double cos/sin of that float
 * angle, rounded to float), then rotate every batch row and head at that position.  With packed positions (pos,
 * fs_ops.h) a block takes one token (b, t) at a time instead: its position is pos[b,t]. */
#include <cmath>
#include "fs_ops_cuda_common.cuh"

enum { ROPE_THREADS = 256 };

__global__ void rope_kernel(float *x, int B, int T, int H, int D, float base, int pos_offset, const int32_t *pos,
                            float sign)
{
  extern __shared__ float tab[]; /* cos (half), sin (half) */
  int half = D / 2;
  float *cs = tab, *sn = tab + half;
  const int64_t rows = pos ? (int64_t)B * T : T, nb = pos ? 1 : B; /* a row: a position t, or a token (b, t) */
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int t = (int)(r % T), b0 = (int)(r / T);
    __syncthreads(); /* the previous position's table is no longer read */
    for (int i = threadIdx.x; i < half; i += blockDim.x) {
      float expo = (float)(2 * i) / (float)D;
      float p = (float)pow((double)base, (double)expo);
      float inv_freq = 1.0f / p;
      float angle = (float)((int64_t)pos_offset + (pos ? pos[r] : t)) * inv_freq;
      cs[i] = (float)cos((double)angle);
      sn[i] = sign * (float)sin((double)angle);
    }
    __syncthreads();
    int64_t pairs = nb * H * half;
    for (int64_t k = threadIdx.x; k < pairs; k += blockDim.x) {
      int i = (int)(k % half);
      int64_t bh = k / half;
      int b = b0 + (int)(bh / H), h = (int)(bh % H);
      float *xh = x + (((int64_t)b * T + t) * H + h) * D;
      float x1 = xh[i], x2 = xh[i + half], c = cs[i], s = sn[i];
      /* products rounded separately, as the CPU does (no fused multiply-add) */
      xh[i] = __fsub_rn(__fmul_rn(x1, c), __fmul_rn(x2, s));
      xh[i + half] = __fadd_rn(__fmul_rn(x2, c), __fmul_rn(x1, s));
    }
  }
}

static void rope_apply_cuda(float *x, int B, int T, int H, int D, float base, int pos_offset, const int32_t *pos,
                            float sign)
{
  FS_CUDA_REQUIRE(D % 2 == 0 && D / 2 <= 8192, "RoPE needs an even head size of at most 16384");
  if (T <= 0) return;
  int64_t rows = pos ? (int64_t)B * T : T;
  int blocks = rows < 65536 ? (int)rows : 65536;
  rope_kernel<<<blocks, ROPE_THREADS, (size_t)D * sizeof(float)>>>(x, B, T, H, D, base, pos_offset, pos, sign);
  FS_CUDA_LAUNCHED("rope_kernel");
}

extern "C" void fs_rope_forward_cuda(float *x, int B, int T, int H, int D, float base, int pos_offset,
                                     const int32_t *pos)
{
  rope_apply_cuda(x, B, T, H, D, base, pos_offset, pos, 1.0f);
}

/* the rotation is orthogonal: its transpose (the gradient map) is the rotation by -angle */
extern "C" void fs_rope_backward_cuda(float *dx, int B, int T, int H, int D, float base, int pos_offset,
                                      const int32_t *pos)
{
  rope_apply_cuda(dx, B, T, H, D, base, pos_offset, pos, -1.0f);
}
