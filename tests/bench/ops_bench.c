/* ops_bench.c -- throughput of the fast CPU ops (GFLOP/s) and their speed-up over the reference table.
 * FLOP counts: matmul fwd+bwd 6 N C OC; causal attention forward 2 B NH T^2 D (two half-masked T x T x D products),
 * backward 2.5x forward (five products, the usual count; the fast backward recomputes more than that, so its rate
 * is "effective"); lm-head + cross-entropy fwd+bwd 6 N C V.  Each figure is the best of a few runs.
 * Decoding: the forward of a few rows (2 N C OC) through the fast table (the skinny kernel up to FS_SKINNY_MAX_N rows)
 * against the same product by fs_sgemm, the path it took before.
 * Run with OMP_NUM_THREADS / OPENBLAS_NUM_THREADS set (tests/bench/ops_bench.sh uses 2). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "fs_ops.h"
#include "cpu/fs_ops_cpu_impl.h" /* fs_sgemm, FS_SKINNY_MAX_N: the path a few rows took before */

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static float *randn(int64_t n, float scale)
{
  float *p = malloc((size_t)n * sizeof *p);
  if (!p) {
    fprintf(stderr, "ops_bench: out of memory\n");
    exit(1);
  }
  uint64_t s = 88172645463325252ull + (uint64_t)n;
  for (int64_t i = 0; i < n; i++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    p[i] = scale * ((float)(s >> 40) / (float)(1 << 24) - 0.5f);
  }
  return p;
}

struct shape { int64_t N; int C, OC, B, T, NH, NKV, D; };

/* seconds of one fwd+bwd of the op, best of reps */
static double run_matmul(const struct fs_ops *ops, struct shape s, int reps)
{
  float *x = randn(s.N * s.C, 1), *w = randn((int64_t)s.OC * s.C, 0.1f), *b = randn(s.OC, 1), *y = randn(s.N * s.OC, 1);
  float *dx = randn(s.N * s.C, 1), *dw = randn((int64_t)s.OC * s.C, 1), *db = randn(s.OC, 1);
  double best = 1e30;
  for (int r = 0; r < reps; r++) {
    double t0 = now();
    ops->matmul_forward(y, x, w, b, s.N, s.C, s.OC);
    ops->matmul_backward(dx, dw, db, y, x, w, s.N, s.C, s.OC);
    double t = now() - t0;
    best = t < best ? t : best;
  }
  free(x), free(w), free(b), free(y), free(dx), free(dw), free(db);
  return best;
}

/* pos: packed positions (B,T) or NULL */
static double run_attention(const struct fs_ops *ops, struct shape s, int reps, double *fwd_s, const int32_t *pos)
{
  int64_t nq = (int64_t)s.B * s.T * s.NH * s.D, nk = (int64_t)s.B * s.T * s.NKV * s.D;
  float *q = randn(nq, 2), *k = randn(nk, 2), *v = randn(nk, 2), *o = randn(nq, 1), *lse = randn((int64_t)s.B * s.NH * s.T, 1);
  float *dq = randn(nq, 1), *dk = randn(nk, 1), *dv = randn(nk, 1);
  double best = 1e30, bestf = 1e30;
  for (int r = 0; r < reps; r++) {
    double t0 = now();
    ops->attention_forward(o, lse, q, k, v, s.B, s.T, s.NH, s.NKV, s.D, pos);
    double t1 = now();
    ops->attention_backward(dq, dk, dv, o, q, k, v, o, lse, s.B, s.T, s.NH, s.NKV, s.D, pos);
    double t = now() - t0;
    best = t < best ? t : best;
    bestf = t1 - t0 < bestf ? t1 - t0 : bestf;
  }
  *fwd_s = bestf;
  free(q), free(k), free(v), free(o), free(lse), free(dq), free(dk), free(dv);
  return best;
}

static double run_xent(const struct fs_ops *ops, struct shape s, int reps)
{
  int V = s.OC;
  float *x = randn(s.N * s.C, 1), *w = randn((int64_t)V * s.C, 0.1f), *loss = randn(s.N, 1), *rw = randn(s.N, 1);
  float *dx = randn(s.N * s.C, 1), *dw = randn((int64_t)V * s.C, 1);
  int32_t *tgt = malloc((size_t)s.N * sizeof *tgt);
  for (int64_t i = 0; i < s.N; i++) tgt[i] = (int32_t)((i * 7919) % V);
  double best = 1e30;
  for (int r = 0; r < reps; r++) {
    double t0 = now();
    ops->lmhead_xent(loss, dx, dw, x, w, tgt, rw, s.N, s.C, V);
    double t = now() - t0;
    best = t < best ? t : best;
  }
  free(x), free(w), free(loss), free(rw), free(dx), free(dw), free(tgt);
  return best;
}

/* seconds of one forward of N rows, best of reps: through the table, or (sgemm) by fs_sgemm as before the kernel */
static double run_forward(const struct fs_ops *ops, int sgemm, struct shape s, int reps)
{
  float *x = randn(s.N * s.C, 1), *w = randn((int64_t)s.OC * s.C, 0.1f), *y = randn(s.N * s.OC, 1);
  double best = 1e30;
  for (int r = 0; r < reps; r++) {
    double t0 = now();
    if (sgemm) fs_sgemm(0, 1, (int)s.N, s.OC, s.C, 1.0f, x, s.C, w, s.C, 0.0f, y, s.OC);
    else ops->matmul_forward(y, x, w, NULL, s.N, s.C, s.OC);
    double t = now() - t0;
    best = t < best ? t : best;
  }
  free(x), free(w), free(y);
  return best;
}

static double attn_flops(struct shape s) { return 2.0 * s.B * s.NH * (double)s.T * s.T * s.D; }

int main(void)
{
  const struct fs_ops *F = &fs_ops_cpu, *R = &fs_ops_cpu_ref;
  int threads = 1;
#ifdef _OPENMP
  threads = omp_get_max_threads();
#endif
  printf("ops_bench: %d OpenMP thread(s); GFLOP/s of fwd+bwd (best of runs)\n", threads);

  /* large shapes: the fast table only */
  struct shape mm = {.N = 2048, .C = 768, .OC = 3072};
  double t = run_matmul(F, mm, 3);
  printf("%-34s N=%lld C=%d OC=%d  %8.3f s  %7.1f GFLOP/s\n", "matmul fwd+bwd (fast)", (long long)mm.N, mm.C, mm.OC,
         t, 6.0 * mm.N * mm.C * mm.OC / t * 1e-9);
  struct shape at = {.B = 1, .T = 1024, .NH = 12, .NKV = 4, .D = 64};
  double tf, ta = run_attention(F, at, 3, &tf, NULL);
  printf("%-34s B=%d T=%d NH=%d NKV=%d D=%d  fwd %.3f s %.1f GFLOP/s, fwd+bwd %.3f s %.1f GFLOP/s\n",
         "attention (fast)", at.B, at.T, at.NH, at.NKV, at.D, tf, attn_flops(at) / tf * 1e-9, ta,
         3.5 * attn_flops(at) / ta * 1e-9);
  /* packed sequences: the same row as 8 documents of T/8 tokens; whole key tiles outside a document are skipped */
  int32_t *pos = malloc((size_t)at.B * at.T * sizeof *pos);
  for (int64_t i = 0; i < (int64_t)at.B * at.T; i++) pos[i] = (int32_t)(i % at.T % (at.T / 8));
  double tpf, tpa = run_attention(F, at, 3, &tpf, pos);
  printf("%-34s 8 documents of %d tokens: fwd %.3f s, fwd+bwd %.3f s (x%.1f faster than one document)\n",
         "attention packed (fast)", at.T / 8, tpf, tpa, ta / tpa);
  free(pos);
  struct shape xe = {.N = 256, .C = 768, .OC = 50257};
  t = run_xent(F, xe, 2);
  printf("%-34s N=%lld C=%d V=%d  %8.3f s  %7.1f GFLOP/s\n", "lmhead_xent fwd+bwd (fast)", (long long)xe.N, xe.C,
         xe.OC, t, 6.0 * xe.N * xe.C * xe.OC / t * 1e-9);

  /* decoding: a few rows against a layer's weight and against an lm-head */
  printf("matmul forward of a few rows (decoding): fast table vs sgemm, GFLOP/s of the forward:\n");
  const int dec[][2] = {{576, 1536}, {2048, 5632}, {576, 49152}};
  const int dec_n[] = {1, 4, 16, FS_SKINNY_MAX_N};
  for (int i = 0; i < 3; i++)
    for (int k = 0; k < 4; k++) {
      struct shape d = {.N = dec_n[k], .C = dec[i][0], .OC = dec[i][1]};
      double fl = 2.0 * d.N * d.C * d.OC, tk = run_forward(F, 0, d, 10), ts = run_forward(F, 1, d, 10);
      printf("  C=%-5d OC=%-6d N=%-3lld fast %8.1f us %6.1f GFLOP/s  sgemm %8.1f us %6.1f GFLOP/s  x%.2f\n", d.C, d.OC,
             (long long)d.N, tk * 1e6, fl / tk * 1e-9, ts * 1e6, fl / ts * 1e-9, ts / tk);
    }

  /* small shapes: fast vs reference */
  printf("speed-up of the fast table over the reference (same shapes):\n");
  struct shape mms = {.N = 64, .C = 512, .OC = 512};
  double tfast = run_matmul(F, mms, 5), tref = run_matmul(R, mms, 1);
  printf("  %-32s N=%lld C=%d OC=%d  ref %.3f s  fast %.4f s  x%.0f\n", "matmul fwd+bwd", (long long)mms.N, mms.C,
         mms.OC, tref, tfast, tref / tfast);
  struct shape ats = {.B = 1, .T = 256, .NH = 8, .NKV = 2, .D = 64};
  tfast = run_attention(F, ats, 5, &tf, NULL), tref = run_attention(R, ats, 1, &tf, NULL);
  printf("  %-32s B=%d T=%d NH=%d NKV=%d D=%d  ref %.3f s  fast %.4f s  x%.1f\n", "attention fwd+bwd", ats.B, ats.T,
         ats.NH, ats.NKV, ats.D, tref, tfast, tref / tfast);
  struct shape xes = {.N = 32, .C = 256, .OC = 8192};
  tfast = run_xent(F, xes, 5), tref = run_xent(R, xes, 1);
  printf("  %-32s N=%lld C=%d V=%d  ref %.3f s  fast %.4f s  x%.0f\n", "lmhead_xent fwd+bwd", (long long)xes.N,
         xes.C, xes.OC, tref, tfast, tref / tfast);
  return 0;
}
