/* fs_ops_cpu_rope.c -- fast RoPE: the cos/sin of one position are computed once (double-precision trig on the
 * float32 angle, as the reference) and applied to every batch row and head of that position.  With packed
 * positions (pos, fs_ops.h) the angle depends on the batch row too: the table is per (b, t). */
#include "fs_ops_cpu_impl.h"

enum { FS_ROPE_MAX_HALF = 1024 }; /* head sizes up to 2048 keep the table of one position on the stack */

/* rotates the H heads of one token's rows x (H,D) with the table of pairs i0 .. i1 */
static void rope_rotate(float *x, int H, int D, int i0, int i1, const float *cs, const float *sn)
{
  int half = D / 2;
  for (int h = 0; h < H; h++) {
    float *xh = x + (int64_t)h * D;
    for (int i = i0; i < i1; i++) {
      float x1 = xh[i], x2 = xh[i + half], c = cs[i - i0], s = sn[i - i0];
      xh[i] = x1 * c - x2 * s;
      xh[i + half] = x2 * c + x1 * s;
    }
  }
}

static void rope_table(float *cs, float *sn, int64_t p, int i0, int i1, int D, float base, float sign)
{
  for (int i = i0; i < i1; i++) {
    fs_rope_cos_sin(&cs[i - i0], &sn[i - i0], p, i, D, base);
    sn[i - i0] *= sign;
  }
}

static void rope_apply_cpu(float *x, int B, int T, int H, int D, float base, int pos_offset, const int32_t *pos,
                           float sign)
{
  int half = D / 2;
  if (pos) { /* packed: one table per token */
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < (int64_t)B * T; n++) {
      float cs[FS_ROPE_MAX_HALF], sn[FS_ROPE_MAX_HALF];
      for (int i0 = 0; i0 < half; i0 += FS_ROPE_MAX_HALF) {
        int i1 = i0 + FS_ROPE_MAX_HALF < half ? i0 + FS_ROPE_MAX_HALF : half;
        rope_table(cs, sn, (int64_t)pos_offset + pos[n], i0, i1, D, base, sign);
        rope_rotate(x + n * H * D, H, D, i0, i1, cs, sn);
      }
    }
    return;
  }
#pragma omp parallel for schedule(static)
  for (int t = 0; t < T; t++) {
    float cs[FS_ROPE_MAX_HALF], sn[FS_ROPE_MAX_HALF];
    for (int i0 = 0; i0 < half; i0 += FS_ROPE_MAX_HALF) { /* one pass for any realistic head size */
      int i1 = i0 + FS_ROPE_MAX_HALF < half ? i0 + FS_ROPE_MAX_HALF : half;
      rope_table(cs, sn, (int64_t)pos_offset + t, i0, i1, D, base, sign);
      for (int b = 0; b < B; b++) rope_rotate(x + ((int64_t)b * T + t) * H * D, H, D, i0, i1, cs, sn);
    }
  }
}

void fs_rope_forward_cpu(float *x, int B, int T, int H, int D, float base, int pos_offset, const int32_t *pos)
{
  rope_apply_cpu(x, B, T, H, D, base, pos_offset, pos, 1.0f);
}

void fs_rope_backward_cpu(float *dx, int B, int T, int H, int D, float base, int pos_offset, const int32_t *pos)
{
  rope_apply_cpu(dx, B, T, H, D, base, pos_offset, pos, -1.0f);
}
