/* test_ops_ref_vs_fast.c -- every op of the fast CPU table (OpenMP + OpenBLAS) against the reference table, forward
 * and backward, on odd shapes (sizes that are no multiple of a vector width or tile; attention with T larger than
 * two tiles).  Error measure: max|fast - ref| / max|ref| per tensor; tolerance 1e-5 (fp32 sums of up to a few
 * hundred terms in a different order, against double accumulation in the reference).
 * The accumulation rule is tested too: parameter gradients are pre-filled with nonzero values and must be added to
 * (+=), activation gradients are pre-filled with garbage and must be overwritten (=).  Guard tails catch writes
 * past an output.  The fast ops run with 3 OpenMP threads, and attention backward must give the same bits with 1.
 * Packed positions (several documents per row, odd lengths, 1-token documents): the position ops, RoPE and
 * attention with pos against the reference with the same pos; with pos[t] = t (one document per row) the fast
 * attention must give the bits of pos = NULL. */
#include <stdio.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "fs_ops.h"
#include "cpu/fs_ops_cpu_impl.h" /* FS_SKINNY_MAX_N */
#include "ops_test_common.h"

#define TOL 1e-5
static const struct fs_ops *R = &fs_ops_cpu_ref, *F = &fs_ops_cpu;

static void check(const char *what, const float *fast, const float *ref, int64_t n, double tol)
{
  double e = tops_nerr(fast, ref, n);
  int guards = tops_guard_ok(fast, n) && tops_guard_ok(ref, n);
  printf("  %-44s nmax_err %.3e\n", what, e);
  FS_EXPECT(e <= tol && guards, "%s: normalized error %.3e (tolerance %.1e), guards %s", what, e, tol,
            guards ? "intact" : "OVERWRITTEN");
}

static void test_matmul(int64_t N, int C, int OC, int with_bias)
{
  printf("matmul N=%lld C=%d OC=%d bias=%d\n", (long long)N, C, OC, with_bias);
  float *x = tops_rand(N * C, -1, 1), *w = tops_rand((int64_t)OC * C, -1, 1), *b = tops_rand(OC, -1, 1);
  float *yr = tops_rand(N * OC, 5, 6), *yf = tops_rand(N * OC, 7, 8);
  R->matmul_forward(yr, x, w, with_bias ? b : NULL, N, C, OC);
  F->matmul_forward(yf, x, w, with_bias ? b : NULL, N, C, OC);
  check("matmul_forward out", yf, yr, N * OC, TOL);
  float *dy = tops_rand(N * OC, -1, 1);
  float *dxr = tops_rand(N * C, 3, 4), *dxf = tops_rand(N * C, -9, -8); /* garbage: must be overwritten */
  float *dwr = tops_rand((int64_t)OC * C, -1, 1), *dwf = tops_copy(dwr, (int64_t)OC * C); /* += */
  float *dbr = tops_rand(OC, -1, 1), *dbf = tops_copy(dbr, OC);
  R->matmul_backward(dxr, dwr, with_bias ? dbr : NULL, dy, x, w, N, C, OC);
  F->matmul_backward(dxf, dwf, with_bias ? dbf : NULL, dy, x, w, N, C, OC);
  check("matmul_backward dinp (=)", dxf, dxr, N * C, TOL);
  check("matmul_backward dweight (+=)", dwf, dwr, (int64_t)OC * C, TOL);
  check("matmul_backward dbias (+=)", dbf, dbr, OC, TOL);
  /* dinp = NULL: only the parameter gradients */
  F->matmul_backward(NULL, dwf, with_bias ? dbf : NULL, dy, x, w, N, C, OC);
  R->matmul_backward(NULL, dwr, with_bias ? dbr : NULL, dy, x, w, N, C, OC);
  check("matmul_backward dinp=NULL, dweight twice", dwf, dwr, (int64_t)OC * C, TOL);
  free(x), free(w), free(b), free(yr), free(yf), free(dy), free(dxr), free(dxf), free(dwr), free(dwf), free(dbr),
    free(dbf);
}

/* A forward of up to FS_SKINNY_MAX_N rows (decoding) takes the skinny kernel: every N up to one past the limit
 * against the reference (N mod 4 and OC mod 8 reach every tile; C is no multiple of 16), through the table and
 * through each other kernel variant this CPU runs (AVX2, plain x86-64).  Row n must not depend on the batch: its bits
 * equal those of a 1-row product, with any thread count. */
static void test_matmul_skinny(int C, int OC, int n_max, int step)
{
  printf("matmul_forward few rows C=%d OC=%d N=1..%d\n", C, OC, n_max);
  float *x = tops_rand((int64_t)n_max * C, -1, 1), *w = tops_rand((int64_t)OC * C, -1, 1), *b = tops_rand(OC, -1, 1);
  float *y1 = tops_rand(OC, 7, 8);
  int worst_n[3] = {0}, same_bits = 1, nv = 1;
  double worst[3] = {0};
  for (int N = 1; N <= n_max; N += N < 8 ? 1 : step) {
    const float *bias = N % 2 ? b : NULL;
    float *yr = tops_rand((int64_t)N * OC, 5, 6), *yf = tops_rand((int64_t)N * OC, 7, 8);
    R->matmul_forward(yr, x, w, bias, N, C, OC);
    for (int v = 0; v < 3; v++) {
      if (v == 0) F->matmul_forward(yf, x, w, bias, N, C, OC);
      else if (N > FS_SKINNY_MAX_N || !fs_matmul_skinny_variant_cpu(v, yf, x, w, bias, N, C, OC)) break;
      nv = v + 1 > nv ? v + 1 : nv;
      double e = tops_nerr(yf, yr, (int64_t)N * OC);
      if (!(e <= worst[v])) worst[v] = e, worst_n[v] = N; /* a NaN sticks */
      FS_EXPECT(tops_guard_ok(yf, (int64_t)N * OC), "N=%d, variant %d: guard overwritten", N, v);
    }
    F->matmul_forward(yf, x, w, bias, N, C, OC);
    for (int n = 0; n < N && N <= FS_SKINNY_MAX_N; n++) {
#ifdef _OPENMP
      omp_set_num_threads(1 + n % 2);
#endif
      F->matmul_forward(y1, x + (int64_t)n * C, w, bias, 1, C, OC);
      same_bits &= !memcmp(y1, yf + (int64_t)n * OC, (size_t)OC * sizeof(float));
    }
#ifdef _OPENMP
    omp_set_num_threads(3);
#endif
    free(yr), free(yf);
  }
  for (int v = 0; v < nv; v++) {
    printf("  matmul_forward out, kernel variant %d, worst N   nmax_err %.3e (N=%d)\n", v, worst[v], worst_n[v]);
    FS_EXPECT(worst[v] <= TOL, "matmul_forward few rows, variant %d: normalized error %.3e at N=%d (tolerance %.1e)",
              v, worst[v], worst_n[v], TOL);
  }
  FS_EXPECT(same_bits, "matmul_forward few rows: a row's bits depend on the other rows or on the threads");
  free(x), free(w), free(b), free(y1);
}

static void test_embedding(void)
{
  const int64_t N = 37;
  const int C = 45, V = 101, B = 2, T = 13, maxT = 20;
  printf("embedding/position N=%lld C=%d V=%d B=%d T=%d\n", (long long)N, C, V, B, T);
  int32_t tok[37];
  for (int i = 0; i < N; i++) tok[i] = i % 5 == 0 ? 7 : (int32_t)(tops_uniform() * V); /* repeats on purpose */
  float *wte = tops_rand((int64_t)V * C, -1, 1), *yr = tops_rand(N * C, 1, 2), *yf = tops_rand(N * C, 3, 4);
  R->embedding_forward(yr, tok, wte, N, C);
  F->embedding_forward(yf, tok, wte, N, C);
  check("embedding_forward out", yf, yr, N * C, 0);
  float *dy = tops_rand(N * C, -1, 1), *dwr = tops_rand((int64_t)V * C, -1, 1), *dwf = tops_copy(dwr, (int64_t)V * C);
  R->embedding_backward(dwr, dy, tok, N, C);
  F->embedding_backward(dwf, dy, tok, N, C);
  check("embedding_backward dwte (+=)", dwf, dwr, (int64_t)V * C, TOL);

  float *wpe = tops_rand((int64_t)maxT * C, -1, 1), *pr = tops_rand((int64_t)B * T * C, -1, 1);
  float *pf = tops_copy(pr, (int64_t)B * T * C);
  R->position_forward(pr, wpe, B, T, C, NULL);
  F->position_forward(pf, wpe, B, T, C, NULL);
  check("position_forward out (+=)", pf, pr, (int64_t)B * T * C, TOL);
  float *dpy = tops_rand((int64_t)B * T * C, -1, 1), *dpr = tops_rand((int64_t)maxT * C, -1, 1);
  float *dpf = tops_copy(dpr, (int64_t)maxT * C);
  R->position_backward(dpr, dpy, B, T, C, NULL);
  F->position_backward(dpf, dpy, B, T, C, NULL);
  check("position_backward dwpe (+=)", dpf, dpr, (int64_t)maxT * C, TOL);
  int32_t *pos = tops_positions(B, T, 5);
  R->position_forward(pr, wpe, B, T, C, pos);
  F->position_forward(pf, wpe, B, T, C, pos);
  check("position_forward out (+=), packed", pf, pr, (int64_t)B * T * C, TOL);
  R->position_backward(dpr, dpy, B, T, C, pos);
  F->position_backward(dpf, dpy, B, T, C, pos);
  check("position_backward dwpe (+=), packed", dpf, dpr, (int64_t)maxT * C, TOL);
  free(pos);
  free(wte), free(yr), free(yf), free(dy), free(dwr), free(dwf), free(wpe), free(pr), free(pf), free(dpy), free(dpr),
    free(dpf);
}

static void test_norms(void)
{
  const int64_t N = 37;
  const int C = 45;
  const float eps = 1e-5f;
  printf("rmsnorm/layernorm N=%lld C=%d\n", (long long)N, C);
  float *x = tops_rand(N * C, -2, 3), *w = tops_rand(C, 0.5f, 1.5f), *bias = tops_rand(C, -1, 1);
  float *yr = tops_rand(N * C, 0, 1), *yf = tops_rand(N * C, 0, 1), *rr = tops_rand(N, 0, 1), *rf = tops_rand(N, 0, 1);
  float *mr = tops_rand(N, 0, 1), *mf = tops_rand(N, 0, 1), *dy = tops_rand(N * C, -1, 1);
  float *dxr = tops_rand(N * C, 5, 6), *dxf = tops_rand(N * C, -6, -5), *dwr = tops_rand(C, -1, 1), *dwf = tops_copy(dwr, C);
  float *dbr = tops_rand(C, -1, 1), *dbf = tops_copy(dbr, C);

  R->rmsnorm_forward(yr, rr, x, w, N, C, eps);
  F->rmsnorm_forward(yf, rf, x, w, N, C, eps);
  check("rmsnorm_forward out", yf, yr, N * C, TOL);
  check("rmsnorm_forward rstd", rf, rr, N, TOL);
  R->rmsnorm_backward(dxr, dwr, dy, x, w, rr, N, C);
  F->rmsnorm_backward(dxf, dwf, dy, x, w, rr, N, C);
  check("rmsnorm_backward dinp (=)", dxf, dxr, N * C, TOL);
  check("rmsnorm_backward dweight (+=)", dwf, dwr, C, TOL);

  R->layernorm_forward(yr, mr, rr, x, w, bias, N, C, eps);
  F->layernorm_forward(yf, mf, rf, x, w, bias, N, C, eps);
  check("layernorm_forward out", yf, yr, N * C, TOL);
  check("layernorm_forward mean", mf, mr, N, TOL);
  check("layernorm_forward rstd", rf, rr, N, TOL);
  for (int i = 0; i < N * C; i++) dxf[i] = -7; /* garbage again */
  R->layernorm_backward(dxr, dwr, dbr, dy, x, w, mr, rr, N, C);
  F->layernorm_backward(dxf, dwf, dbf, dy, x, w, mr, rr, N, C);
  check("layernorm_backward dinp (=)", dxf, dxr, N * C, TOL);
  check("layernorm_backward dweight (+=)", dwf, dwr, C, TOL);
  check("layernorm_backward dbias (+=)", dbf, dbr, C, TOL);
  free(x), free(w), free(bias), free(yr), free(yf), free(rr), free(rf), free(mr), free(mf), free(dy), free(dxr),
    free(dxf), free(dwr), free(dwf), free(dbr), free(dbf);
}

/* max_doc > 0: packed rows of documents up to max_doc tokens */
static void test_rope(int B, int T, int H, int D, float base, int pos_offset, int max_doc)
{
  printf("rope B=%d T=%d H=%d D=%d base=%g offset=%d packed documents <= %d\n", B, T, H, D, base, pos_offset, max_doc);
  int64_t n = (int64_t)B * T * H * D;
  int32_t *pos = max_doc ? tops_positions(B, T, max_doc) : NULL;
  float *x0 = tops_rand(n, -1, 1), *xr = tops_copy(x0, n), *xf = tops_copy(x0, n);
  R->rope_forward(xr, B, T, H, D, base, pos_offset, pos);
  F->rope_forward(xf, B, T, H, D, base, pos_offset, pos);
  check("rope_forward", xf, xr, n, TOL);
  R->rope_backward(xr, B, T, H, D, base, pos_offset, pos);
  F->rope_backward(xf, B, T, H, D, base, pos_offset, pos);
  check("rope_backward", xf, xr, n, TOL);
  check("rope_backward(rope_forward(x)) == x (fast)", xf, x0, n, 1e-5); /* the rotation is orthogonal */
  free(x0), free(xr), free(xf), free(pos);
}

static void test_attention(int B, int T, int NH, int NKV, int D, int max_doc)
{
  printf("attention B=%d T=%d NH=%d NKV=%d D=%d packed documents <= %d\n", B, T, NH, NKV, D, max_doc);
  int32_t *pos = max_doc ? tops_positions(B, T, max_doc) : NULL;
  int64_t nq = (int64_t)B * T * NH * D, nk = (int64_t)B * T * NKV * D, nl = (int64_t)B * NH * T;
  float *q = tops_rand(nq, -2, 2), *k = tops_rand(nk, -2, 2), *v = tops_rand(nk, -1, 1), *dout = tops_rand(nq, -1, 1);
  float *or = tops_rand(nq, 0, 1), *of = tops_rand(nq, 0, 1), *lr = tops_rand(nl, 0, 1), *lf = tops_rand(nl, 0, 1);
  R->attention_forward(or, lr, q, k, v, B, T, NH, NKV, D, pos);
  F->attention_forward(of, lf, q, k, v, B, T, NH, NKV, D, pos);
  check("attention_forward out", of, or, nq, TOL);
  check("attention_forward lse", lf, lr, nl, TOL);
  float *dqr = tops_rand(nq, 3, 4), *dqf = tops_rand(nq, 5, 6), *dkr = tops_rand(nk, 3, 4), *dkf = tops_rand(nk, 5, 6);
  float *dvr = tops_rand(nk, 3, 4), *dvf = tops_rand(nk, 5, 6);
  R->attention_backward(dqr, dkr, dvr, dout, q, k, v, or, lr, B, T, NH, NKV, D, pos);
  F->attention_backward(dqf, dkf, dvf, dout, q, k, v, or, lr, B, T, NH, NKV, D, pos);
  check("attention_backward dq (=)", dqf, dqr, nq, TOL);
  check("attention_backward dk (=)", dkf, dkr, nk, TOL);
  check("attention_backward dv (=)", dvf, dvr, nk, TOL);
#ifdef _OPENMP
  /* the fast backward must not depend on the thread count (no atomics, fixed order of sums) */
  float *dq1 = tops_rand(nq, 0, 1), *dk1 = tops_rand(nk, 0, 1), *dv1 = tops_rand(nk, 0, 1);
  int nt = omp_get_max_threads();
  omp_set_num_threads(1);
  F->attention_backward(dq1, dk1, dv1, dout, q, k, v, or, lr, B, T, NH, NKV, D, pos);
  omp_set_num_threads(nt);
  FS_EXPECT(!memcmp(dq1, dqf, nq * 4) && !memcmp(dk1, dkf, nk * 4) && !memcmp(dv1, dvf, nk * 4),
            "attention_backward differs between 1 and %d threads", nt);
  free(dq1), free(dk1), free(dv1);
#endif
  if (!pos) { /* one document per row given as positions: the same key tiles, the same bits */
    int32_t *whole = malloc((size_t)B * T * sizeof *whole);
    float *o2 = tops_rand(nq, 0, 1), *l2 = tops_rand(nl, 0, 1), *dq2 = tops_rand(nq, 0, 1), *dk2 = tops_rand(nk, 0, 1),
          *dv2 = tops_rand(nk, 0, 1);
    for (int64_t i = 0; i < (int64_t)B * T; i++) whole[i] = (int32_t)(i % T);
    F->attention_forward(o2, l2, q, k, v, B, T, NH, NKV, D, whole);
    F->attention_backward(dq2, dk2, dv2, dout, q, k, v, or, lr, B, T, NH, NKV, D, whole);
    FS_EXPECT(!memcmp(o2, of, nq * 4) && !memcmp(l2, lf, nl * 4) && !memcmp(dq2, dqf, nq * 4) &&
                !memcmp(dk2, dkf, nk * 4) && !memcmp(dv2, dvf, nk * 4),
              "attention with pos[t] = t differs from pos = NULL");
    free(whole), free(o2), free(l2), free(dq2), free(dk2), free(dv2);
  }
  free(pos);
  free(q), free(k), free(v), free(dout), free(or), free(of), free(lr), free(lf), free(dqr), free(dqf), free(dkr),
    free(dkf), free(dvr), free(dvf);
}

static void test_pointwise(void)
{
  const int64_t n = 1001;
  printf("swiglu/gelu/adamw/vector n=%lld\n", (long long)n);
  float *g = tops_rand(n, -6, 6), *u = tops_rand(n, -2, 2), *dy = tops_rand(n, -1, 1);
  float *yr = tops_rand(n, 0, 1), *yf = tops_rand(n, 0, 1), *dgr = tops_rand(n, 2, 3), *dgf = tops_rand(n, 4, 5);
  float *dur = tops_rand(n, 2, 3), *duf = tops_rand(n, 4, 5);
  R->swiglu_forward(yr, g, u, n);
  F->swiglu_forward(yf, g, u, n);
  check("swiglu_forward", yf, yr, n, TOL);
  R->swiglu_backward(dgr, dur, dy, g, u, n);
  F->swiglu_backward(dgf, duf, dy, g, u, n);
  check("swiglu_backward dgate (=)", dgf, dgr, n, TOL);
  check("swiglu_backward dup (=)", duf, dur, n, TOL);
  R->gelu_forward(yr, g, n);
  F->gelu_forward(yf, g, n);
  check("gelu_forward", yf, yr, n, TOL);
  R->gelu_backward(dgr, dy, g, n);
  F->gelu_backward(dgf, dy, g, n);
  check("gelu_backward dinp (=)", dgf, dgr, n, TOL);

  float *pr = tops_rand(n, -1, 1), *pf = tops_copy(pr, n), *mr = tops_rand(n, -0.1f, 0.1f), *mf = tops_copy(mr, n);
  float *vr = tops_rand(n, 0, 0.01f), *vf = tops_copy(vr, n);
  for (int t = 1; t <= 3; t++) {
    float *grad = tops_rand(n, -1, 1);
    R->adamw_update(pr, mr, vr, grad, n, 1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, t);
    F->adamw_update(pf, mf, vf, grad, n, 1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, t);
    free(grad);
  }
  check("adamw_update param (3 steps)", pf, pr, n, TOL);
  check("adamw_update m", mf, mr, n, TOL);
  check("adamw_update v", vf, vr, n, TOL);

  double sr = R->sum_squares(g, n), sf = F->sum_squares(g, n);
  printf("  %-44s rel_err %.3e\n", "sum_squares", fabs(sf - sr) / sr);
  FS_EXPECT(fabs(sf - sr) <= 1e-12 * sr, "sum_squares %.17g vs %.17g", sf, sr);
  memcpy(yr, g, n * 4), memcpy(yf, g, n * 4);
  R->scale(yr, 0.37f, n);
  F->scale(yf, 0.37f, n);
  check("scale", yf, yr, n, 0);
  R->add(yr, yr, u, n); /* out aliases a, as the contract allows */
  F->add(yf, yf, u, n);
  check("add (out aliases a)", yf, yr, n, 0);
  free(g), free(u), free(dy), free(yr), free(yf), free(dgr), free(dgf), free(dur), free(duf), free(pr), free(pf),
    free(mr), free(mf), free(vr), free(vf);
}

static void test_lmhead(int64_t N, int C, int V)
{
  printf("lmhead_xent N=%lld C=%d V=%d\n", (long long)N, C, V);
  float *x = tops_rand(N * C, -1, 1), *w = tops_rand((int64_t)V * C, -1, 1), *rw = tops_rand(N, 0.1f, 1);
  int32_t *tgt = malloc((size_t)N * sizeof *tgt);
  for (int64_t i = 0; i < N; i++) {
    tgt[i] = i % 7 == 3 ? -1 : (int32_t)(tops_uniform() * V); /* some masked rows */
    if (tgt[i] < 0) rw[i] = 0;
  }
  tgt[0] = V - 1; /* the last class too */
  float *lr = tops_rand(N, 5, 6), *lf = tops_rand(N, 7, 8);
  R->lmhead_xent(lr, NULL, NULL, x, w, tgt, NULL, N, C, V); /* forward only */
  F->lmhead_xent(lf, NULL, NULL, x, w, tgt, NULL, N, C, V);
  check("lmhead_xent losses (forward only)", lf, lr, N, TOL);
  float *dxr = tops_rand(N * C, 3, 4), *dxf = tops_rand(N * C, 5, 6), *dwr = tops_rand((int64_t)V * C, -1, 1);
  float *dwf = tops_copy(dwr, (int64_t)V * C);
  R->lmhead_xent(lr, dxr, dwr, x, w, tgt, rw, N, C, V);
  F->lmhead_xent(lf, dxf, dwf, x, w, tgt, rw, N, C, V);
  check("lmhead_xent losses", lf, lr, N, TOL);
  check("lmhead_xent dinp (=)", dxf, dxr, N * C, TOL);
  check("lmhead_xent dweight (+=)", dwf, dwr, (int64_t)V * C, TOL);
  int masked_ok = 1;
  for (int64_t i = 0; i < N; i++)
    if (tgt[i] < 0) masked_ok &= lf[i] == 0 && lr[i] == 0 && dxf[i * C] == 0 && dxr[i * C] == 0;
  FS_EXPECT(masked_ok, "masked rows must have zero loss and zero dinp");
  float *zr = tops_rand(N * V, 0, 1), *zf = tops_rand(N * V, 0, 1);
  R->lmhead_logits(zr, x, w, N, C, V);
  F->lmhead_logits(zf, x, w, N, C, V);
  check("lmhead_logits", zf, zr, N * V, TOL);
  free(x), free(w), free(rw), free(tgt), free(lr), free(lf), free(dxr), free(dxf), free(dwr), free(dwf), free(zr),
    free(zf);
}

int main(void)
{
#ifdef _OPENMP
  omp_set_num_threads(3); /* more threads than tasks in places: exercises the schedules and the race freedom */
#endif
  FS_EXPECT(!strcmp(R->name, "cpu-ref") && !strcmp(F->name, "cpu"), "table names %s %s", R->name, F->name);
  test_matmul(37, 45, 29, 1);
  test_matmul(37, 45, 29, 0);
  test_matmul_skinny(45, 29, FS_SKINNY_MAX_N + 1, 1);
  test_matmul_skinny(600, 1037, FS_SKINNY_MAX_N, 8); /* large enough for the threads */
  test_embedding();
  test_norms();
  test_rope(2, 67, 6, 16, 10000.0f, 5, 0);
  test_rope(1, 13, 3, 8, 500000.0f, 0, 0);
  test_rope(3, 41, 3, 8, 10000.0f, 0, 9);
  test_attention(2, 13, 6, 2, 8, 0);
  test_attention(2, 67, 6, 3, 16, 0);
  test_attention(1, 150, 4, 4, 16, 0); /* three query/key tiles, the last one partial */
  test_attention(2, 13, 6, 2, 8, 4);    /* packed: short documents, GQA */
  test_attention(3, 150, 6, 3, 16, 23); /* packed: documents across tile borders */
  test_attention(2, 200, 4, 2, 8, 90);  /* packed: documents longer than a tile (skipped tiles) */
  test_pointwise();
  test_lmhead(37, 45, 101);
  test_lmhead(300, 45, 101); /* more rows than one chunk of the fast op */
  return fs_test_done("test_ops_ref_vs_fast");
}
