/* fs_ops_cpu_attn.c -- fast causal GQA attention, tiled flash-style (OpenMP).
 *
 * Forward: one task per (batch, query head, block of FS_ATT_BQ queries); it streams key/value blocks of FS_ATT_BK
 * keys up to the diagonal (blocks above it are never touched), keeping per query row the running max m, the running
 * sum l of exp(s - m) and the unnormalized output; lse = m + log(l).  Per-thread scratch is O(BQ * D).
 *
 * Backward recomputes P = exp(s - lse) per tile and never holds a T x T matrix.  With Di = dout_i . out_i and
 * dS = P * (dout . v - Di):  dq_i = scale * sum_j dS_ij k_j,  dk_j = scale * sum_i dS_ij q_i,  dv_j = sum_i P_ij dout_i.
 * Two race-free passes: one task per (batch, query head, query block) owns its dq rows; one task per (batch,
 * kv head, key block) owns its dk/dv rows and loops over the query heads of its group.  No atomics, and the result
 * does not depend on the thread count. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fs_ops_cpu_impl.h"

enum { FS_ATT_BQ = 64, FS_ATT_BK = 64 };
_Static_assert(FS_ATT_BQ <= 2 * FS_ATT_BK, "the backward scratch (2 * BK rows) also holds the dq rows of a query block");

static inline float dotf(const float *a, const float *b, int D)
{
  float s = 0;
#pragma omp simd reduction(+ : s)
  for (int d = 0; d < D; d++) s += a[d] * b[d];
  return s;
}

static inline void axpyf(float *y, float a, const float *x, int D)
{
#pragma omp simd
  for (int d = 0; d < D; d++) y[d] += a * x[d];
}

void fs_attention_forward_cpu(float *out, float *lse, const float *q, const float *k, const float *v, int B, int T,
                              int NH, int NKV, int D)
{
  const float scale = (float)(1.0 / sqrt((double)D));
  const int group = NH / NKV, nqb = (T + FS_ATT_BQ - 1) / FS_ATT_BQ;
  const int64_t qs = (int64_t)NH * D, ks = (int64_t)NKV * D; /* row strides of q/out and of k/v */
  const int64_t ntask = (int64_t)B * NH * nqb;
#pragma omp parallel
  {
    float *acc = fs_ops_scratch((size_t)FS_ATT_BQ * D * sizeof(float), "attention forward tile");
    float m[FS_ATT_BQ], l[FS_ATT_BQ], s[FS_ATT_BK];
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < ntask; task++) {
      /* the largest query blocks (most keys) first: better balance at the end of the loop */
      int qb = nqb - 1 - (int)(task % nqb), h = (int)(task / nqb % NH), b = (int)(task / nqb / NH), kvh = h / group;
      int q0 = qb * FS_ATT_BQ, q1 = q0 + FS_ATT_BQ < T ? q0 + FS_ATT_BQ : T;
      const float *qbase = q + (int64_t)b * T * qs + (int64_t)h * D;
      const float *kbase = k + (int64_t)b * T * ks + (int64_t)kvh * D, *vbase = v + (int64_t)b * T * ks + (int64_t)kvh * D;
      memset(acc, 0, (size_t)(q1 - q0) * D * sizeof(float));
      for (int i = 0; i < q1 - q0; i++) m[i] = -INFINITY, l[i] = 0;
      for (int k0 = 0; k0 < q1; k0 += FS_ATT_BK) { /* causal: key blocks past the last query are skipped */
        int k1 = k0 + FS_ATT_BK < q1 ? k0 + FS_ATT_BK : q1;
        for (int i = 0; i < q1 - q0; i++) {
          int qi = q0 + i, jend = k1 < qi + 1 ? k1 : qi + 1;
          if (jend <= k0) continue; /* this row sees none of the block */
          const float *qrow = qbase + (int64_t)qi * qs;
          float mx = m[i];
          for (int j = k0; j < jend; j++) {
            s[j - k0] = dotf(qrow, kbase + (int64_t)j * ks, D) * scale;
            if (s[j - k0] > mx) mx = s[j - k0];
          }
          float corr = expf(m[i] - mx), sum = 0, *a = acc + (int64_t)i * D; /* exp(-inf) = 0 on the first block */
          for (int d = 0; d < D; d++) a[d] *= corr;
          for (int j = k0; j < jend; j++) {
            float p = expf(s[j - k0] - mx);
            sum += p;
            axpyf(a, p, vbase + (int64_t)j * ks, D);
          }
          l[i] = l[i] * corr + sum;
          m[i] = mx;
        }
      }
      for (int i = 0; i < q1 - q0; i++) {
        float inv = 1.0f / l[i], *o = out + ((int64_t)b * T + q0 + i) * qs + (int64_t)h * D;
        for (int d = 0; d < D; d++) o[d] = acc[(int64_t)i * D + d] * inv;
        lse[((int64_t)b * NH + h) * T + q0 + i] = m[i] + logf(l[i]);
      }
    }
    free(acc);
  }
}

void fs_attention_backward_cpu(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k,
                               const float *v, const float *out, const float *lse, int B, int T, int NH, int NKV,
                               int D)
{
  const float scale = (float)(1.0 / sqrt((double)D));
  const int group = NH / NKV, nqb = (T + FS_ATT_BQ - 1) / FS_ATT_BQ, nkb = (T + FS_ATT_BK - 1) / FS_ATT_BK;
  const int64_t qs = (int64_t)NH * D, ks = (int64_t)NKV * D;
  /* Di (B,NH,T) = rowsum(dout * out): the softmax-backward correction, shared by both passes */
  float *Di = fs_ops_scratch((size_t)B * NH * T * sizeof(float), "attention backward row sums");
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T; t++)
      for (int h = 0; h < NH; h++) {
        int64_t off = ((int64_t)b * T + t) * qs + (int64_t)h * D;
        Di[((int64_t)b * NH + h) * T + t] = dotf(dout + off, out + off, D);
      }

#pragma omp parallel
  {
    float *acc = fs_ops_scratch(2 * (size_t)FS_ATT_BK * D * sizeof(float), "attention backward tile");
    /* pass 1: dq, one task per (b, h, query block) */
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < (int64_t)B * NH * nqb; task++) {
      int qb = nqb - 1 - (int)(task % nqb), h = (int)(task / nqb % NH), b = (int)(task / nqb / NH), kvh = h / group;
      int q0 = qb * FS_ATT_BQ, q1 = q0 + FS_ATT_BQ < T ? q0 + FS_ATT_BQ : T;
      const float *kbase = k + (int64_t)b * T * ks + (int64_t)kvh * D, *vbase = v + (int64_t)b * T * ks + (int64_t)kvh * D;
      const float *L = lse + ((int64_t)b * NH + h) * T, *Dr = Di + ((int64_t)b * NH + h) * T;
      memset(acc, 0, (size_t)(q1 - q0) * D * sizeof(float));
      for (int k0 = 0; k0 < q1; k0 += FS_ATT_BK) {
        int k1 = k0 + FS_ATT_BK < q1 ? k0 + FS_ATT_BK : q1;
        for (int i = 0; i < q1 - q0; i++) {
          int qi = q0 + i, jend = k1 < qi + 1 ? k1 : qi + 1;
          int64_t off = ((int64_t)b * T + qi) * qs + (int64_t)h * D;
          const float *qrow = q + off, *dorow = dout + off;
          float *a = acc + (int64_t)i * D;
          for (int j = k0; j < jend; j++) {
            float p = expf(dotf(qrow, kbase + (int64_t)j * ks, D) * scale - L[qi]);
            float ds = p * (dotf(dorow, vbase + (int64_t)j * ks, D) - Dr[qi]);
            axpyf(a, ds, kbase + (int64_t)j * ks, D);
          }
        }
      }
      for (int i = 0; i < q1 - q0; i++) {
        float *d = dq + ((int64_t)b * T + q0 + i) * qs + (int64_t)h * D;
        for (int e = 0; e < D; e++) d[e] = acc[(int64_t)i * D + e] * scale;
      }
    }
    /* pass 2: dk and dv, one task per (b, kv head, key block), over all query heads of the group */
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < (int64_t)B * NKV * nkb; task++) {
      int kb = (int)(task % nkb), kvh = (int)(task / nkb % NKV), b = (int)(task / nkb / NKV);
      int k0 = kb * FS_ATT_BK, k1 = k0 + FS_ATT_BK < T ? k0 + FS_ATT_BK : T, nk = k1 - k0;
      float *dka = acc, *dva = acc + (int64_t)FS_ATT_BK * D;
      const float *kbase = k + (int64_t)b * T * ks + (int64_t)kvh * D, *vbase = v + (int64_t)b * T * ks + (int64_t)kvh * D;
      memset(dka, 0, (size_t)nk * D * sizeof(float));
      memset(dva, 0, (size_t)nk * D * sizeof(float));
      for (int h = kvh * group; h < (kvh + 1) * group; h++) {
        const float *L = lse + ((int64_t)b * NH + h) * T, *Dr = Di + ((int64_t)b * NH + h) * T;
        for (int qi = k0; qi < T; qi++) { /* causal: queries before the block see none of it */
          int jend = k1 < qi + 1 ? k1 : qi + 1;
          int64_t off = ((int64_t)b * T + qi) * qs + (int64_t)h * D;
          const float *qrow = q + off, *dorow = dout + off;
          for (int j = k0; j < jend; j++) {
            float p = expf(dotf(qrow, kbase + (int64_t)j * ks, D) * scale - L[qi]);
            float ds = p * (dotf(dorow, vbase + (int64_t)j * ks, D) - Dr[qi]);
            axpyf(dva + (int64_t)(j - k0) * D, p, dorow, D);
            axpyf(dka + (int64_t)(j - k0) * D, ds, qrow, D);
          }
        }
      }
      for (int j = 0; j < nk; j++) {
        int64_t off = ((int64_t)b * T + k0 + j) * ks + (int64_t)kvh * D;
        for (int e = 0; e < D; e++) {
          dk[off + e] = dka[(int64_t)j * D + e] * scale;
          dv[off + e] = dva[(int64_t)j * D + e];
        }
      }
    }
    free(acc);
  }
  free(Di);
}
