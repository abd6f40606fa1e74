/* fs_ops_ref_attn.c -- reference RoPE and causal GQA attention.  The attention reference holds one score row of
 * length T per query (fine for an oracle; the fast backend is tiled).  With packed positions (fs_ops.h) query t
 * reads keys lo(t) = t - pos[t] .. t; NULL pos is lo(t) = 0. */
#include <math.h>
#include <stdlib.h>
#include "fs_ops_cpu_impl.h"

/* rotate-half: pairs (i, i + D/2); sign = +1 rotates by +angle (forward), -1 by -angle (backward) */
static void rope_apply_ref(float *x, int B, int T, int H, int D, float base, int pos_offset, const int32_t *pos,
                           float sign)
{
  int half = D / 2;
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T; t++)
      for (int h = 0; h < H; h++) {
        float *xh = x + (((int64_t)b * T + t) * H + h) * D;
        for (int i = 0; i < half; i++) {
          float c, s;
          fs_rope_cos_sin(&c, &s, (int64_t)pos_offset + (pos ? pos[(int64_t)b * T + t] : t), i, D, base);
          s *= sign;
          float x1 = xh[i], x2 = xh[i + half];
          xh[i] = x1 * c - x2 * s;
          xh[i + half] = x2 * c + x1 * s;
        }
      }
}

void fs_rope_forward_ref(float *x, int B, int T, int H, int D, float base, int pos_offset, const int32_t *pos)
{
  rope_apply_ref(x, B, T, H, D, base, pos_offset, pos, 1.0f);
}

/* the rotation is orthogonal, so its transpose (the gradient map) is the rotation by -angle */
void fs_rope_backward_ref(float *dx, int B, int T, int H, int D, float base, int pos_offset, const int32_t *pos)
{
  rope_apply_ref(dx, B, T, H, D, base, pos_offset, pos, -1.0f);
}

void fs_attention_forward_ref(float *out, float *lse, const float *q, const float *k, const float *v, int B, int T,
                              int NH, int NKV, int D, const int32_t *pos)
{
  double scale = 1.0 / sqrt((double)D), *s = malloc((size_t)T * sizeof *s);
  int group = NH / NKV;
  if (!s) s = fs_ops_scratch((size_t)T * sizeof *s, "reference attention scores");
  for (int b = 0; b < B; b++)
    for (int h = 0; h < NH; h++)
      for (int t = 0; t < T; t++) {
        const float *qt = q + (((int64_t)b * T + t) * NH + h) * D;
        const int lo = pos ? t - pos[(int64_t)b * T + t] : 0;
        double mx = -INFINITY, sum = 0;
        for (int j = lo; j <= t; j++) {
          const float *kj = k + (((int64_t)b * T + j) * NKV + h / group) * D;
          double dot = 0;
          for (int d = 0; d < D; d++) dot += (double)qt[d] * kj[d];
          s[j] = dot * scale;
          if (s[j] > mx) mx = s[j];
        }
        for (int j = lo; j <= t; j++) sum += exp(s[j] - mx);
        float *ot = out + (((int64_t)b * T + t) * NH + h) * D;
        for (int d = 0; d < D; d++) {
          double acc = 0;
          for (int j = lo; j <= t; j++) acc += exp(s[j] - mx) / sum * v[(((int64_t)b * T + j) * NKV + h / group) * D + d];
          ot[d] = (float)acc;
        }
        lse[((int64_t)b * NH + h) * T + t] = (float)(mx + log(sum));
      }
  free(s);
}

/* With P the softmax row, dP = dout . v_j, dS = P * (dP - sum_j P dP):  dq = scale * dS k, dk_j += scale * dS_j q,
 * dv_j += P_j dout.  The row sum is recomputed here instead of being taken from out (independent of the forward). */
void fs_attention_backward_ref(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k,
                               const float *v, const float *out, const float *lse, int B, int T, int NH, int NKV,
                               int D, const int32_t *pos)
{
  double scale = 1.0 / sqrt((double)D), *p = malloc(2 * (size_t)T * sizeof *p);
  int group = NH / NKV;
  if (!p) p = fs_ops_scratch(2 * (size_t)T * sizeof *p, "reference attention backward");
  double *dp = p + T;
  for (int64_t i = 0; i < (int64_t)B * T * NKV * D; i++) dk[i] = dv[i] = 0;
  for (int b = 0; b < B; b++)
    for (int h = 0; h < NH; h++)
      for (int t = 0; t < T; t++) {
        const float *qt = q + (((int64_t)b * T + t) * NH + h) * D, *dot_ = dout + (((int64_t)b * T + t) * NH + h) * D;
        double L = lse[((int64_t)b * NH + h) * T + t], pdp = 0;
        const int lo = pos ? t - pos[(int64_t)b * T + t] : 0;
        for (int j = lo; j <= t; j++) {
          const float *kj = k + (((int64_t)b * T + j) * NKV + h / group) * D;
          const float *vj = v + (((int64_t)b * T + j) * NKV + h / group) * D;
          double dot = 0, dv_dot = 0;
          for (int d = 0; d < D; d++) {
            dot += (double)qt[d] * kj[d];
            dv_dot += (double)dot_[d] * vj[d];
          }
          p[j] = exp(dot * scale - L);
          dp[j] = dv_dot;
          pdp += p[j] * dp[j];
        }
        float *dqt = dq + (((int64_t)b * T + t) * NH + h) * D;
        for (int d = 0; d < D; d++) {
          double acc = 0;
          for (int j = lo; j <= t; j++) acc += p[j] * (dp[j] - pdp) * k[(((int64_t)b * T + j) * NKV + h / group) * D + d];
          dqt[d] = (float)(acc * scale);
        }
        for (int j = lo; j <= t; j++) {
          int64_t off = (((int64_t)b * T + j) * NKV + h / group) * D;
          double ds = p[j] * (dp[j] - pdp) * scale;
          for (int d = 0; d < D; d++) {
            dk[off + d] += (float)(ds * qt[d]);
            dv[off + d] += (float)(p[j] * dot_[d]);
          }
        }
      }
  free(p);
}
