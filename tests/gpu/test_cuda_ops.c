/* test_cuda_ops.c -- every op of the CUDA table (fs_ops_cuda, device pointers) against the CPU reference table
 * (fs_ops_cpu_ref), forward and backward, on odd shapes: sizes that are no multiple of a warp, a block or a tile;
 * attention with T over several query and key tiles and head sizes for each kernel instance (D = 8, 16: one slot
 * per lane; 48: two; 80, 128: four; 256: eight), grouped and plain heads; the lm-head in one and in many chunks.
 * Inputs are copied to the GPU together with the guard tails of ops_test_common.h and copied back with them, so a
 * kernel writing past an output is caught.  The accumulation rule is tested: parameter gradients are pre-filled and
 * must be added to (+=), activation gradients are pre-filled with garbage and must be overwritten (=).
 *
 * Error measure: max|gpu - ref| / max|ref| per tensor (ref: double accumulation on the CPU).  Tolerances (fp32 on
 * the GPU, sums in another order, libdevice expf/tanhf within 2 ulp):
 *   TOL_EW  1e-5  elementwise ops and gathers/scatters with few terms (SwiGLU, GELU, AdamW, RoPE, embeddings)
 *   TOL_RED 1e-4  anything with a reduction: GEMMs (cuBLAS), norms, attention, lm-head + cross-entropy
 * sum_squares is done in double on both sides: relative 1e-12.  scale and add: bit-exact.
 * Attention backward and the column sums use no atomics: running them twice must give the same bits.
 * Packed positions (several documents per row, fs_ops.h): position ops, RoPE and attention with pos as well.
 * Skips (exit 77) without a GPU; builds wherever CUDA is configured. */
#include <stdio.h>
#include <cuda_runtime_api.h>
#include "fs_ops.h"
#include "fs_ops_cuda.h"
#include "fs_cuda_info.h"
#include "../unit/ops_test_common.h"

#define TOL_EW 1e-5
#define TOL_RED 1e-4
static const struct fs_ops *R = &fs_ops_cpu_ref, *G = &fs_ops_cuda;

/* ---- device buffers: every one is n + guard floats; freed together at the end of each test */
enum { MAX_DEV = 64 };
static void *dev_ptrs[MAX_DEV];
static int n_dev;

static void cuda_ok(cudaError_t e, const char *what)
{
  if (e != cudaSuccess) {
    printf("FAIL: %s: %s\n", what, cudaGetErrorString(e));
    exit(1);
  }
}

static void *dev_alloc(size_t bytes)
{
  void *d = NULL;
  if (n_dev == MAX_DEV) {
    printf("FAIL: test keeps more than %d device buffers\n", MAX_DEV);
    exit(1);
  }
  cuda_ok(cudaMalloc(&d, bytes), "cudaMalloc");
  return dev_ptrs[n_dev++] = d;
}

/* a device copy of the host buffer h (n floats and its guard tail) */
static float *dev_put(const float *h, int64_t n)
{
  size_t bytes = (size_t)(n + TOPS_GUARD) * sizeof(float);
  float *d = dev_alloc(bytes);
  cuda_ok(cudaMemcpy(d, h, bytes, cudaMemcpyHostToDevice), "cudaMemcpy to the GPU");
  return d;
}

static int32_t *dev_put_i32(const int32_t *h, int64_t n)
{
  int32_t *d = dev_alloc((size_t)n * sizeof *h);
  cuda_ok(cudaMemcpy(d, h, (size_t)n * sizeof *h, cudaMemcpyHostToDevice), "cudaMemcpy to the GPU");
  return d;
}

/* the device buffer d (n floats and guard) into host h; waits for the ops before it (same stream) */
static void dev_get(float *h, const float *d, int64_t n)
{
  cuda_ok(cudaMemcpy(h, d, (size_t)(n + TOPS_GUARD) * sizeof(float), cudaMemcpyDeviceToHost), "cudaMemcpy back");
}

/* a host buffer with a guard tail holding the device buffer d */
static float *host_of(const float *d, int64_t n)
{
  float *h = tops_rand(n, 0, 0);
  dev_get(h, d, n);
  return h;
}

static void dev_free_all(void)
{
  fs_ops_cuda_sync();
  for (int i = 0; i < n_dev; i++) cudaFree(dev_ptrs[i]);
  n_dev = 0;
}

/* compares the GPU's device buffer d with the reference host buffer ref */
static void check(const char *what, const float *d, const float *ref, int64_t n, double tol)
{
  float *g = host_of(d, n);
  double e = tops_nerr(g, ref, n);
  int guards = tops_guard_ok(g, n) && tops_guard_ok(ref, n);
  printf("  %-46s nmax_err %.3e (tol %.0e)\n", what, e, tol);
  FS_EXPECT(e <= tol && guards, "%s: normalized error %.3e (tolerance %.1e), guards %s", what, e, tol,
            guards ? "intact" : "OVERWRITTEN");
  free(g);
}

/* two device buffers must hold the same bits */
static void check_same_bits(const char *what, const float *d1, const float *d2, int64_t n)
{
  float *a = host_of(d1, n), *b = host_of(d2, n);
  FS_EXPECT(!memcmp(a, b, (size_t)n * sizeof *a), "%s: two runs differ", what);
  free(a), free(b);
}

static void test_matmul(int64_t N, int C, int OC, int with_bias)
{
  printf("matmul N=%lld C=%d OC=%d bias=%d\n", (long long)N, C, OC, with_bias);
  float *x = tops_rand(N * C, -1, 1), *w = tops_rand((int64_t)OC * C, -1, 1), *b = tops_rand(OC, -1, 1);
  float *y = tops_rand(N * OC, 5, 6), *dy = tops_rand(N * OC, -1, 1), *dx = tops_rand(N * C, 3, 4);
  float *dw = tops_rand((int64_t)OC * C, -1, 1), *db = tops_rand(OC, -1, 1);
  float *gx = dev_put(x, N * C), *gw = dev_put(w, (int64_t)OC * C), *gb = dev_put(b, OC), *gdy = dev_put(dy, N * OC);
  float *gy = dev_put(y, N * OC), *gdw = dev_put(dw, (int64_t)OC * C), *gdb = dev_put(db, OC);
  float *garbage = tops_rand(N * C, -9, -8), *gdx = dev_put(garbage, N * C); /* must be overwritten */
  R->matmul_forward(y, x, w, with_bias ? b : NULL, N, C, OC);
  G->matmul_forward(gy, gx, gw, with_bias ? gb : NULL, N, C, OC);
  check("matmul_forward out", gy, y, N * OC, TOL_RED);
  R->matmul_backward(dx, dw, with_bias ? db : NULL, dy, x, w, N, C, OC);
  G->matmul_backward(gdx, gdw, with_bias ? gdb : NULL, gdy, gx, gw, N, C, OC);
  check("matmul_backward dinp (=)", gdx, dx, N * C, TOL_RED);
  check("matmul_backward dweight (+=)", gdw, dw, (int64_t)OC * C, TOL_RED);
  check("matmul_backward dbias (+=)", gdb, db, OC, TOL_RED);
  R->matmul_backward(NULL, dw, with_bias ? db : NULL, dy, x, w, N, C, OC);
  G->matmul_backward(NULL, gdw, with_bias ? gdb : NULL, gdy, gx, gw, N, C, OC);
  check("matmul_backward dinp=NULL, dweight twice", gdw, dw, (int64_t)OC * C, TOL_RED);
  check("matmul_backward dinp=NULL, dbias twice", gdb, db, OC, TOL_RED);
  dev_free_all();
  free(x), free(w), free(b), free(y), free(dy), free(dx), free(dw), free(db), free(garbage);
}

static void test_embedding(void)
{
  const int64_t N = 537; /* more rows than one block of threads, tokens repeating (atomics collide) */
  const int C = 45, V = 101, B = 3, T = 179, maxT = 200;
  printf("embedding/position N=%lld C=%d V=%d B=%d T=%d\n", (long long)N, C, V, B, T);
  int32_t *tok = malloc((size_t)N * sizeof *tok);
  for (int64_t i = 0; i < N; i++) tok[i] = i % 5 == 0 ? 7 : (int32_t)(tops_uniform() * V);
  tok[1] = V - 1;
  float *wte = tops_rand((int64_t)V * C, -1, 1), *y = tops_rand(N * C, 1, 2), *dy = tops_rand(N * C, -1, 1);
  float *dwte = tops_rand((int64_t)V * C, -1, 1);
  int32_t *gtok = dev_put_i32(tok, N);
  float *gwte = dev_put(wte, (int64_t)V * C), *gy = dev_put(y, N * C), *gdy = dev_put(dy, N * C);
  float *gdwte = dev_put(dwte, (int64_t)V * C);
  R->embedding_forward(y, tok, wte, N, C);
  G->embedding_forward(gy, gtok, gwte, N, C);
  check("embedding_forward out", gy, y, N * C, 0);
  R->embedding_backward(dwte, dy, tok, N, C);
  G->embedding_backward(gdwte, gdy, gtok, N, C);
  check("embedding_backward dwte (+=)", gdwte, dwte, (int64_t)V * C, TOL_EW);

  int64_t n = (int64_t)B * T * C;
  float *wpe = tops_rand((int64_t)maxT * C, -1, 1), *p = tops_rand(n, -1, 1), *dp = tops_rand(n, -1, 1);
  float *dwpe = tops_rand((int64_t)maxT * C, -1, 1);
  float *gwpe = dev_put(wpe, (int64_t)maxT * C), *gp = dev_put(p, n), *gdp = dev_put(dp, n);
  float *gdwpe = dev_put(dwpe, (int64_t)maxT * C);
  int32_t *pos = tops_positions(B, T, 5), *gpos = dev_put_i32(pos, (int64_t)B * T);
  for (int packed = 0; packed <= 1; packed++) { /* one document per row, then packed rows */
    R->position_forward(p, wpe, B, T, C, packed ? pos : NULL);
    G->position_forward(gp, gwpe, B, T, C, packed ? gpos : NULL);
    check(packed ? "position_forward out (+=), packed" : "position_forward out (+=)", gp, p, n, TOL_EW);
    R->position_backward(dwpe, dp, B, T, C, packed ? pos : NULL);
    G->position_backward(gdwpe, gdp, B, T, C, packed ? gpos : NULL);
    check(packed ? "position_backward dwpe (+=), packed" : "position_backward dwpe (+=, rows >= T untouched)", gdwpe,
          dwpe, (int64_t)maxT * C, TOL_EW);
  }
  free(pos);
  dev_free_all();
  free(tok), free(wte), free(y), free(dy), free(dwte), free(wpe), free(p), free(dp), free(dwpe);
}

static void test_norms(int64_t N, int C)
{
  const float eps = 1e-5f;
  printf("rmsnorm/layernorm N=%lld C=%d\n", (long long)N, C);
  float *x = tops_rand(N * C, -2, 3), *w = tops_rand(C, 0.5f, 1.5f), *bias = tops_rand(C, -1, 1);
  float *y = tops_rand(N * C, 0, 1), *rs = tops_rand(N, 0, 1), *mu = tops_rand(N, 0, 1), *dy = tops_rand(N * C, -1, 1);
  float *dx = tops_rand(N * C, 5, 6), *dw = tops_rand(C, -1, 1), *db = tops_rand(C, -1, 1);
  float *gx = dev_put(x, N * C), *gw = dev_put(w, C), *gbias = dev_put(bias, C), *gy = dev_put(y, N * C);
  float *grs = dev_put(rs, N), *gmu = dev_put(mu, N), *gdy = dev_put(dy, N * C), *gdx = dev_put(dx, N * C);
  float *gdw = dev_put(dw, C), *gdb = dev_put(db, C);
  float *gdw2 = dev_put(dw, C);

  R->rmsnorm_forward(y, rs, x, w, N, C, eps);
  G->rmsnorm_forward(gy, grs, gx, gw, N, C, eps);
  check("rmsnorm_forward out", gy, y, N * C, TOL_RED);
  check("rmsnorm_forward rstd", grs, rs, N, TOL_RED);
  float *grs_ref = dev_put(rs, N); /* backward from the reference's rstd: the check isolates the backward */
  R->rmsnorm_backward(dx, dw, dy, x, w, rs, N, C);
  G->rmsnorm_backward(gdx, gdw, gdy, gx, gw, grs_ref, N, C);
  G->rmsnorm_backward(NULL, gdw2, gdy, gx, gw, grs_ref, N, C);
  check("rmsnorm_backward dinp (=)", gdx, dx, N * C, TOL_RED);
  check("rmsnorm_backward dweight (+=)", gdw, dw, C, TOL_RED);
  check_same_bits("rmsnorm_backward dweight (deterministic)", gdw, gdw2, C);

  R->layernorm_forward(y, mu, rs, x, w, bias, N, C, eps);
  G->layernorm_forward(gy, gmu, grs, gx, gw, gbias, N, C, eps);
  check("layernorm_forward out", gy, y, N * C, TOL_RED);
  check("layernorm_forward mean", gmu, mu, N, TOL_RED);
  check("layernorm_forward rstd", grs, rs, N, TOL_RED);
  float *garbage = tops_rand(N * C, -7, -6), *gmu_ref = dev_put(mu, N);
  grs_ref = dev_put(rs, N);
  gdx = dev_put(garbage, N * C);
  R->layernorm_backward(dx, dw, db, dy, x, w, mu, rs, N, C);
  G->layernorm_backward(gdx, gdw, gdb, gdy, gx, gw, gmu_ref, grs_ref, N, C);
  check("layernorm_backward dinp (=)", gdx, dx, N * C, TOL_RED);
  check("layernorm_backward dweight (+=)", gdw, dw, C, TOL_RED);
  check("layernorm_backward dbias (+=)", gdb, db, C, TOL_RED);
  dev_free_all();
  free(x), free(w), free(bias), free(y), free(rs), free(mu), free(dy), free(dx), free(dw), free(db), free(garbage);
}

/* max_doc > 0: packed rows of documents of up to max_doc tokens */
static void test_rope(int B, int T, int H, int D, float base, int pos_offset, int max_doc)
{
  printf("rope B=%d T=%d H=%d D=%d base=%g offset=%d packed documents <= %d\n", B, T, H, D, base, pos_offset, max_doc);
  int64_t n = (int64_t)B * T * H * D;
  float *x0 = tops_rand(n, -1, 1), *x = tops_copy(x0, n), *gx = dev_put(x0, n);
  int32_t *pos = max_doc ? tops_positions(B, T, max_doc) : NULL, *gpos = pos ? dev_put_i32(pos, (int64_t)B * T) : NULL;
  R->rope_forward(x, B, T, H, D, base, pos_offset, pos);
  G->rope_forward(gx, B, T, H, D, base, pos_offset, gpos);
  check("rope_forward", gx, x, n, TOL_EW);
  R->rope_backward(x, B, T, H, D, base, pos_offset, pos);
  G->rope_backward(gx, B, T, H, D, base, pos_offset, gpos);
  check("rope_backward", gx, x, n, TOL_EW);
  check("rope_backward(rope_forward(x)) == x", gx, x0, n, TOL_EW);
  dev_free_all();
  free(x0), free(x), free(pos);
}

static void test_attention(int B, int T, int NH, int NKV, int D, int max_doc)
{
  printf("attention B=%d T=%d NH=%d NKV=%d D=%d packed documents <= %d\n", B, T, NH, NKV, D, max_doc);
  int32_t *pos = max_doc ? tops_positions(B, T, max_doc) : NULL, *gpos = pos ? dev_put_i32(pos, (int64_t)B * T) : NULL;
  int64_t nq = (int64_t)B * T * NH * D, nk = (int64_t)B * T * NKV * D, nl = (int64_t)B * NH * T;
  float *q = tops_rand(nq, -2, 2), *k = tops_rand(nk, -2, 2), *v = tops_rand(nk, -1, 1), *dout = tops_rand(nq, -1, 1);
  float *o = tops_rand(nq, 0, 1), *l = tops_rand(nl, 0, 1);
  float *gq = dev_put(q, nq), *gk = dev_put(k, nk), *gv = dev_put(v, nk), *gdout = dev_put(dout, nq);
  float *go = dev_put(o, nq), *gl = dev_put(l, nl);
  R->attention_forward(o, l, q, k, v, B, T, NH, NKV, D, pos);
  G->attention_forward(go, gl, gq, gk, gv, B, T, NH, NKV, D, gpos);
  check("attention_forward out", go, o, nq, TOL_RED);
  check("attention_forward lse", gl, l, nl, TOL_RED);
  float *dq = tops_rand(nq, 3, 4), *dk = tops_rand(nk, 3, 4), *dv = tops_rand(nk, 3, 4);
  float *gdq = dev_put(dq, nq), *gdk = dev_put(dk, nk), *gdv = dev_put(dv, nk); /* garbage: written (=) */
  float *gor = dev_put(o, nq), *glr = dev_put(l, nl); /* the reference's out and lse: isolates the backward */
  R->attention_backward(dq, dk, dv, dout, q, k, v, o, l, B, T, NH, NKV, D, pos);
  G->attention_backward(gdq, gdk, gdv, gdout, gq, gk, gv, gor, glr, B, T, NH, NKV, D, gpos);
  check("attention_backward dq (=)", gdq, dq, nq, TOL_RED);
  check("attention_backward dk (=)", gdk, dk, nk, TOL_RED);
  check("attention_backward dv (=)", gdv, dv, nk, TOL_RED);
  float *gdq2 = dev_put(dq, nq), *gdk2 = dev_put(dk, nk), *gdv2 = dev_put(dv, nk);
  G->attention_backward(gdq2, gdk2, gdv2, gdout, gq, gk, gv, gor, glr, B, T, NH, NKV, D, gpos);
  check_same_bits("attention_backward dq (deterministic)", gdq, gdq2, nq);
  check_same_bits("attention_backward dk (deterministic)", gdk, gdk2, nk);
  check_same_bits("attention_backward dv (deterministic)", gdv, gdv2, nk);
  dev_free_all();
  free(q), free(k), free(v), free(dout), free(o), free(l), free(dq), free(dk), free(dv), free(pos);
}

static void test_pointwise(int64_t n)
{
  printf("swiglu/gelu/adamw/vector n=%lld\n", (long long)n);
  float *g = tops_rand(n, -6, 6), *u = tops_rand(n, -2, 2), *dy = tops_rand(n, -1, 1), *y = tops_rand(n, 0, 1);
  float *dg = tops_rand(n, 2, 3), *du = tops_rand(n, 2, 3);
  float *gg = dev_put(g, n), *gu = dev_put(u, n), *gdy = dev_put(dy, n), *gy = dev_put(y, n);
  float *gdg = dev_put(dg, n), *gdu = dev_put(du, n);
  R->swiglu_forward(y, g, u, n);
  G->swiglu_forward(gy, gg, gu, n);
  check("swiglu_forward", gy, y, n, TOL_EW);
  R->swiglu_backward(dg, du, dy, g, u, n);
  G->swiglu_backward(gdg, gdu, gdy, gg, gu, n);
  check("swiglu_backward dgate (=)", gdg, dg, n, TOL_EW);
  check("swiglu_backward dup (=)", gdu, du, n, TOL_EW);
  R->gelu_forward(y, g, n);
  G->gelu_forward(gy, gg, n);
  check("gelu_forward", gy, y, n, TOL_EW);
  R->gelu_backward(dg, dy, g, n);
  G->gelu_backward(gdg, gdy, gg, n);
  check("gelu_backward dinp (=)", gdg, dg, n, TOL_EW);

  float *p = tops_rand(n, -1, 1), *m = tops_rand(n, -0.1f, 0.1f), *v = tops_rand(n, 0, 0.01f);
  float *gp = dev_put(p, n), *gm = dev_put(m, n), *gvv = dev_put(v, n);
  for (int t = 1; t <= 3; t++) {
    float *grad = tops_rand(n, -1, 1), *ggrad = dev_put(grad, n);
    R->adamw_update(p, m, v, grad, n, 1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, t);
    G->adamw_update(gp, gm, gvv, ggrad, n, 1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, t);
    free(grad);
  }
  check("adamw_update param (3 steps)", gp, p, n, TOL_EW);
  check("adamw_update m", gm, m, n, TOL_EW);
  check("adamw_update v", gvv, v, n, TOL_EW);

  double sr = R->sum_squares(g, n), sg = G->sum_squares(gg, n);
  printf("  %-46s rel_err %.3e (tol 1e-12)\n", "sum_squares", fabs(sg - sr) / sr);
  FS_EXPECT(fabs(sg - sr) <= 1e-12 * sr, "sum_squares %.17g vs %.17g", sg, sr);
  FS_EXPECT(G->sum_squares(gg, 0) == 0, "sum_squares of nothing must be 0");
  memcpy(y, g, n * sizeof *y);
  float *gs = dev_put(g, n);
  R->scale(y, 0.37f, n);
  G->scale(gs, 0.37f, n);
  check("scale", gs, y, n, 0);
  R->add(y, y, u, n); /* out aliases a, as the contract allows */
  G->add(gs, gs, gu, n);
  check("add (out aliases a)", gs, y, n, 0);
  dev_free_all();
  free(g), free(u), free(dy), free(y), free(dg), free(du), free(p), free(m), free(v);
}

static void test_lmhead(int64_t N, int C, int V, const char *chunk_rows)
{
  printf("lmhead_xent N=%lld C=%d V=%d chunk rows %s\n", (long long)N, C, V, chunk_rows ? chunk_rows : "default");
  if (chunk_rows)
    setenv("FS_CUDA_XENT_ROWS", chunk_rows, 1);
  else
    unsetenv("FS_CUDA_XENT_ROWS");
  float *x = tops_rand(N * C, -1, 1), *w = tops_rand((int64_t)V * C + 3 * C, -1, 1), *rw = tops_rand(N, 0.1f, 1);
  int32_t *tgt = malloc((size_t)N * sizeof *tgt);
  for (int64_t i = 0; i < N; i++) {
    tgt[i] = i % 7 == 3 ? -1 : (int32_t)(tops_uniform() * V); /* some masked rows */
    if (tgt[i] < 0) rw[i] = 0;
  }
  tgt[0] = V - 1;
  float *loss = tops_rand(N, 5, 6), *dx = tops_rand(N * C, 3, 4), *dw = tops_rand((int64_t)V * C, -1, 1);
  /* the weight has 3 extra rows (a padded vocabulary): only the first V may be read */
  float *gx = dev_put(x, N * C), *gw = dev_put(w, (int64_t)V * C + 3 * C), *grw = dev_put(rw, N);
  int32_t *gtgt = dev_put_i32(tgt, N);
  float *gloss = dev_put(loss, N), *gdx = dev_put(dx, N * C), *gdw = dev_put(dw, (int64_t)V * C);
  R->lmhead_xent(loss, NULL, NULL, x, w, tgt, NULL, N, C, V);
  G->lmhead_xent(gloss, NULL, NULL, gx, gw, gtgt, NULL, N, C, V);
  check("lmhead_xent losses (forward only)", gloss, loss, N, TOL_RED);
  R->lmhead_xent(loss, dx, dw, x, w, tgt, rw, N, C, V);
  G->lmhead_xent(gloss, gdx, gdw, gx, gw, gtgt, grw, N, C, V);
  check("lmhead_xent losses", gloss, loss, N, TOL_RED);
  check("lmhead_xent dinp (=)", gdx, dx, N * C, TOL_RED);
  check("lmhead_xent dweight (+=)", gdw, dw, (int64_t)V * C, TOL_RED);
  float *hl = host_of(gloss, N), *hdx = host_of(gdx, N * C);
  int masked_ok = 1;
  for (int64_t i = 0; i < N; i++)
    if (tgt[i] < 0) masked_ok &= hl[i] == 0 && hdx[i * C] == 0;
  FS_EXPECT(masked_ok, "masked rows must have zero loss and zero dinp");
  float *z = tops_rand(N * V, 0, 1), *gz = dev_put(z, N * V);
  R->lmhead_logits(z, x, w, N, C, V);
  G->lmhead_logits(gz, gx, gw, N, C, V);
  check("lmhead_logits", gz, z, N * V, TOL_RED);
  dev_free_all();
  unsetenv("FS_CUDA_XENT_ROWS");
  free(x), free(w), free(rw), free(tgt), free(loss), free(dx), free(dw), free(hl), free(hdx), free(z);
}

int main(void)
{
  char info[256];
  fs_cuda_versions(info, sizeof info);
  printf("%s\n", info);
  if (fs_cuda_device_count() == 0) {
    printf("SKIP: no usable GPU on this machine (test_cuda_ops compares fs_ops_cuda with the CPU reference only "
           "where a GPU is present; run tests/gpu/device-checks.sh on the GPU machine)\n");
    return 77;
  }
  struct cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess) printf("device 0: %s, sm_%d%d\n", prop.name, prop.major,
                                                               prop.minor);
  FS_EXPECT(!strcmp(G->name, "cuda"), "table name %s", G->name);
  test_matmul(37, 45, 29, 1);
  test_matmul(37, 45, 29, 0);
  test_matmul(1031, 67, 130, 1); /* more rows than the column sums' partials hold at 256 rows each */
  test_embedding();
  test_norms(37, 45);
  test_norms(301, 1100); /* rows longer than a block of threads */
  test_rope(2, 67, 6, 16, 10000.0f, 5, 0);
  test_rope(1, 13, 3, 8, 500000.0f, 0, 0);
  test_rope(1, 5, 2, 128, 10000.0f, 4090, 0);
  test_rope(3, 41, 3, 8, 10000.0f, 0, 9);
  test_attention(2, 13, 6, 2, 8, 0);
  test_attention(2, 67, 6, 3, 16, 0);
  test_attention(1, 150, 4, 4, 16, 0);
  test_attention(1, 70, 4, 2, 48, 0);
  test_attention(2, 45, 2, 1, 80, 0);
  test_attention(1, 97, 4, 2, 128, 0);
  test_attention(1, 33, 2, 2, 256, 0); /* over 48 KiB of shared memory: the opt-in path */
  test_attention(2, 13, 6, 2, 8, 4);     /* packed: short documents, GQA */
  test_attention(3, 150, 6, 3, 16, 23);  /* packed: documents across tile borders */
  test_attention(2, 200, 4, 2, 48, 90);  /* packed: long documents (skipped key and query tiles) */
  test_pointwise(1001);
  test_pointwise(1000003); /* many blocks: grid-stride loops and the two-pass sum of squares */
  test_lmhead(37, 45, 101, NULL);
  test_lmhead(300, 45, 101, "64"); /* five chunks, the last one partial */
  test_lmhead(5, 64, 3001, "2");   /* vocabulary longer than a block of threads */
  return fs_test_done("test_cuda_ops");
}
