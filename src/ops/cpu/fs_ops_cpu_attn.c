/* fs_ops_cpu_attn.c -- fast causal GQA attention on sgemm tiles (OpenMP over heads, single-threaded OpenBLAS inside).
 *
 * Forward: one task per (batch, query head); per block of FS_ATT_BQ queries [q0,q1) it forms the scores of the
 * block against keys [0,q1) only (the causal limit; no key past the block's last query is touched):
 *   S (BQ, q1) = scale * Q_blk @ K^T      (sgemm)
 *   P = exp(S - rowmax) on j <= i, 0 above the diagonal; l = rowsum(P); lse = rowmax + log(l)
 *   O_blk = (P @ V) / l                    (sgemm)
 * Scratch is BQ x T per thread: no T x T matrix is held.
 *
 * Backward: one task per (batch, kv head); it owns the dk/dv rows of that kv head, so there are no races and no
 * atomics, and the sums run in a fixed order (the result does not depend on the thread count).  For every query
 * head of the group and every query block, with Di = rowsum(dO * O):
 *   P = exp(scale * Q_blk K^T - lse) (recomputed, causal), dP = dO_blk @ V^T, dS = P * (dP - Di)
 *   dQ_blk = scale * dS @ K,  dK += scale * dS^T @ Q_blk,  dV += P^T @ dO_blk      (sgemm each)
 *
 * Packed sequences (pos, fs_ops.h): a block's keys start at k0 = min over its queries of t - pos[t] (the first
 * token of the first query's document) instead of 0, so the key tiles of earlier documents are never multiplied:
 * with documents of length L the work per row falls from ~T^2/2 to ~T (L + BQ).  Inside the block each row's
 * window t - pos[t] .. t is masked.  pos NULL takes k0 = 0 and the same calls as before. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fs_ops_cpu_impl.h"

enum { FS_ATT_BQ = 64 };

/* the first key any query of [q0, q1) of a row with positions pr (NULL: 0) reads */
static int att_first_key(const int32_t *pr, int q0, int q1)
{
  int k0 = q0;
  for (int t = q0; pr && t < q1; t++) k0 = t - pr[t] < k0 ? t - pr[t] : k0;
  return pr ? k0 : 0;
}

/* scores s (nq, ld) of queries q0.. against keys k0 ..: the keys are counted from k0 (q0 is relative to it); pq
 * (nq) the queries' positions or NULL.  Row i's window is [q0 + i - pq[i], q0 + i] ([0, q0 + i] without pq):
 * softmax over it in place, 0 outside; returns lse per row */
FS_CLONES static void att_softmax_rows(float *s, float *lse, int nq, int ld, int q0, const int32_t *pq)
{
  for (int i = 0; i < nq; i++) {
    float *r = s + (int64_t)i * ld, mx = -INFINITY, sum = 0;
    int nk = q0 + i + 1, j0 = pq ? q0 + i - pq[i] : 0;
    for (int j = 0; j < j0; j++) r[j] = 0;
#pragma omp simd reduction(max : mx)
    for (int j = j0; j < nk; j++) mx = r[j] > mx ? r[j] : mx;
#pragma omp simd reduction(+ : sum)
    for (int j = j0; j < nk; j++) {
      r[j] = fs_expf(r[j] - mx);
      sum += r[j];
    }
    float inv = 1.0f / sum;
#pragma omp simd
    for (int j = j0; j < nk; j++) r[j] *= inv;
    for (int j = nk; j < ld; j++) r[j] = 0;
    lse[i] = mx + logf(sum);
  }
}

/* p = exp(s - lse_i) inside each row's window (as att_softmax_rows), 0 outside; ds = p * (dp - Di_i); rows of
 * width ld */
FS_CLONES static void att_dscores(float *s, float *dp, const float *lse, const float *Di, int nq, int ld, int q0,
                                  const int32_t *pq)
{
  for (int i = 0; i < nq; i++) {
    float *p = s + (int64_t)i * ld, *d = dp + (int64_t)i * ld, L = lse[i], Dv = Di[i];
    int nk = q0 + i + 1, j0 = pq ? q0 + i - pq[i] : 0;
    for (int j = 0; j < j0; j++) p[j] = 0, d[j] = 0;
#pragma omp simd
    for (int j = j0; j < nk; j++) {
      float e = fs_expf(p[j] - L);
      p[j] = e;
      d[j] = e * (d[j] - Dv);
    }
    for (int j = nk; j < ld; j++) p[j] = 0, d[j] = 0;
  }
}

void fs_attention_forward_cpu(float *out, float *lse, const float *q, const float *k, const float *v, int B, int T,
                              int NH, int NKV, int D, const int32_t *pos)
{
  const float scale = (float)(1.0 / sqrt((double)D));
  const int group = NH / NKV, qs = NH * D, ks = NKV * D; /* row strides of q/out and of k/v */
  fs_ops_cpu_init();
#pragma omp parallel
  {
    float *s = fs_ops_scratch((size_t)FS_ATT_BQ * T * sizeof(float), "attention forward scores");
#pragma omp for schedule(dynamic, 1)
    for (int task = 0; task < B * NH; task++) {
      int b = task / NH, h = task % NH, kvh = h / group;
      const float *qb = q + (int64_t)b * T * qs + (int64_t)h * D;
      const float *kb = k + (int64_t)b * T * ks + (int64_t)kvh * D, *vb = v + (int64_t)b * T * ks + (int64_t)kvh * D;
      float *ob = out + (int64_t)b * T * qs + (int64_t)h * D, *lb = lse + ((int64_t)b * NH + h) * T;
      const int32_t *pr = pos ? pos + (int64_t)b * T : NULL;
      for (int q0 = 0; q0 < T; q0 += FS_ATT_BQ) {
        int q1 = q0 + FS_ATT_BQ < T ? q0 + FS_ATT_BQ : T, nq = q1 - q0, k0 = att_first_key(pr, q0, q1), nk = q1 - k0;
        /* s (nq, nk) = scale * Q_blk (nq, D) @ K[k0:q1]^T */
        fs_sgemm(0, 1, nq, nk, D, scale, qb + (int64_t)q0 * qs, qs, kb + (int64_t)k0 * ks, ks, 0.0f, s, nk);
        att_softmax_rows(s, lb + q0, nq, nk, q0 - k0, pr ? pr + q0 : NULL);
        /* O_blk (nq, D) = P (nq, nk) @ V[k0:q1] (nk, D) */
        fs_sgemm(0, 0, nq, D, nk, 1.0f, s, nk, vb + (int64_t)k0 * ks, ks, 0.0f, ob + (int64_t)q0 * qs, qs);
      }
    }
    free(s);
  }
}

void fs_attention_backward_cpu(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k,
                               const float *v, const float *out, const float *lse, int B, int T, int NH, int NKV,
                               int D, const int32_t *pos)
{
  const float scale = (float)(1.0 / sqrt((double)D));
  const int group = NH / NKV, qs = NH * D, ks = NKV * D;
  fs_ops_cpu_init();
#pragma omp parallel
  {
    float *s = fs_ops_scratch((size_t)2 * FS_ATT_BQ * T * sizeof(float) + FS_ATT_BQ * sizeof(float),
                              "attention backward scores");
    float *dp = s + (int64_t)FS_ATT_BQ * T, *Di = dp + (int64_t)FS_ATT_BQ * T;
#pragma omp for schedule(dynamic, 1)
    for (int task = 0; task < B * NKV; task++) {
      int b = task / NKV, kvh = task % NKV;
      const float *kb = k + (int64_t)b * T * ks + (int64_t)kvh * D, *vb = v + (int64_t)b * T * ks + (int64_t)kvh * D;
      float *dkb = dk + (int64_t)b * T * ks + (int64_t)kvh * D, *dvb = dv + (int64_t)b * T * ks + (int64_t)kvh * D;
      for (int t = 0; t < T; t++) {
        memset(dkb + (int64_t)t * ks, 0, (size_t)D * sizeof(float));
        memset(dvb + (int64_t)t * ks, 0, (size_t)D * sizeof(float));
      }
      for (int h = kvh * group; h < (kvh + 1) * group; h++) {
        int64_t hoff = (int64_t)b * T * qs + (int64_t)h * D;
        const float *qb = q + hoff, *dob = dout + hoff, *ob = out + hoff, *lb = lse + ((int64_t)b * NH + h) * T;
        float *dqb = dq + hoff;
        const int32_t *pr = pos ? pos + (int64_t)b * T : NULL;
        for (int q0 = 0; q0 < T; q0 += FS_ATT_BQ) {
          int q1 = q0 + FS_ATT_BQ < T ? q0 + FS_ATT_BQ : T, nq = q1 - q0, k0 = att_first_key(pr, q0, q1), nk = q1 - k0;
          const float *kk = kb + (int64_t)k0 * ks, *vk = vb + (int64_t)k0 * ks;
          for (int i = 0; i < nq; i++) { /* Di = rowsum(dO * O): the softmax-backward correction */
            const float *a = dob + (int64_t)(q0 + i) * qs, *o = ob + (int64_t)(q0 + i) * qs;
            float acc = 0;
            for (int e = 0; e < D; e++) acc += a[e] * o[e];
            Di[i] = acc;
          }
          fs_sgemm(0, 1, nq, nk, D, scale, qb + (int64_t)q0 * qs, qs, kk, ks, 0.0f, s, nk);      /* scores */
          fs_sgemm(0, 1, nq, nk, D, 1.0f, dob + (int64_t)q0 * qs, qs, vk, ks, 0.0f, dp, nk);     /* dP */
          att_dscores(s, dp, lb + q0, Di, nq, nk, q0 - k0, pr ? pr + q0 : NULL);                /* P, dS */
          fs_sgemm(0, 0, nq, D, nk, scale, dp, nk, kk, ks, 0.0f, dqb + (int64_t)q0 * qs, qs);   /* dQ_blk */
          fs_sgemm(1, 0, nk, D, nq, scale, dp, nk, qb + (int64_t)q0 * qs, qs, 1.0f,
                   dkb + (int64_t)k0 * ks, ks);                                                 /* dK += */
          fs_sgemm(1, 0, nk, D, nq, 1.0f, s, nk, dob + (int64_t)q0 * qs, qs, 1.0f,
                   dvb + (int64_t)k0 * ks, ks);                                                 /* dV += */
        }
      }
    }
    free(s);
  }
}
