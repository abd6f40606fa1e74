/* test_ops_gradcheck.c -- every backward of the REFERENCE table against central finite differences, and every
 * reference forward against an independent double-precision forward written here.
 *
 * For each op, L = sum(dout .* op(inputs)) is evaluated in double by the forward of this file; the numeric gradient
 * dL/dx = (L(x + h) - L(x - h)) / 2h with h = 1e-6 (double: truncation ~h^2, rounding ~1e-16/h, both far below the
 * fp32 error of the analytic gradient).  Error: max|analytic - numeric| / max|numeric| per tensor, tolerance 1e-4
 * (the analytic side is fp32).  Forward tolerance 1e-5.  Small shapes: each numeric gradient costs 2 forwards. */
#include <stdio.h>
#include "fs_ops.h"
#include "ops_test_common.h"

#define H_FD 1e-6
#define TOL_GRAD 1e-4
#define TOL_FWD 1e-5
static const struct fs_ops *R = &fs_ops_cpu_ref;

/* ---- double helpers */
static double *dcopy(const float *x, int64_t n)
{
  double *d = malloc((size_t)n * sizeof *d);
  for (int64_t i = 0; i < n; i++) d[i] = x[i];
  return d;
}

static double dot_dout(const float *dout, const double *y, int64_t n)
{
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += dout[i] * y[i];
  return s;
}

static void check_fwd(const char *what, const float *got, const double *want, int64_t n)
{
  double num = 0, den = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs(got[i] - want[i]);
    num = d > num || isnan(d) ? d : num;
    den = fabs(want[i]) > den ? fabs(want[i]) : den;
  }
  double e = den > 0 ? num / den : num;
  printf("  %-36s forward  nmax_err %.3e\n", what, e);
  FS_EXPECT(e <= TOL_FWD, "%s forward: error %.3e vs double (tolerance %.0e)", what, e, TOL_FWD);
}

/* the numeric gradient of loss() with respect to x (n), compared with the analytic g */
typedef double (*loss_fn)(void *ctx);
static void check_grad(const char *what, double *x, const float *g, int64_t n, loss_fn loss, void *ctx)
{
  double num = 0, den = 0;
  for (int64_t i = 0; i < n; i++) {
    double x0 = x[i];
    x[i] = x0 + H_FD;
    double lp = loss(ctx);
    x[i] = x0 - H_FD;
    double lm = loss(ctx);
    x[i] = x0;
    double fd = (lp - lm) / (2 * H_FD), d = fabs(g[i] - fd);
    num = d > num || isnan(d) ? d : num;
    den = fabs(fd) > den ? fabs(fd) : den;
  }
  double e = den > 0 ? num / den : num;
  printf("  %-36s backward nmax_err %.3e (max|grad| %.3g)\n", what, e, den);
  FS_EXPECT(e <= TOL_GRAD && den > 0, "%s: error %.3e vs finite differences (tolerance %.0e)", what, e, TOL_GRAD);
}

/* ---- matmul: y = x W^T + b */
struct mm { int N, C, OC; double *x, *w, *b, *y; const float *dout; };
static void mm_fwd(struct mm *c)
{
  for (int n = 0; n < c->N; n++)
    for (int o = 0; o < c->OC; o++) {
      double s = c->b[o];
      for (int i = 0; i < c->C; i++) s += c->x[n * c->C + i] * c->w[o * c->C + i];
      c->y[n * c->OC + o] = s;
    }
}
static double mm_loss(void *p)
{
  struct mm *c = p;
  mm_fwd(c);
  return dot_dout(c->dout, c->y, (int64_t)c->N * c->OC);
}
static void test_matmul(void)
{
  enum { N = 5, C = 7, OC = 3 };
  printf("matmul N=%d C=%d OC=%d\n", N, C, OC);
  float *x = tops_rand(N * C, -1, 1), *w = tops_rand(OC * C, -1, 1), *b = tops_rand(OC, -1, 1), *y = tops_rand(N * OC, 0, 1);
  float *dout = tops_rand(N * OC, -1, 1), *dx = tops_rand(N * C, 0, 1), *dw = calloc(OC * C, 4), *db = calloc(OC, 4);
  struct mm c = {N, C, OC, dcopy(x, N * C), dcopy(w, OC * C), dcopy(b, OC), calloc(N * OC, 8), dout};
  R->matmul_forward(y, x, w, b, N, C, OC);
  mm_fwd(&c);
  check_fwd("matmul", y, c.y, N * OC);
  R->matmul_backward(dx, dw, db, dout, x, w, N, C, OC);
  check_grad("matmul dinp", c.x, dx, N * C, mm_loss, &c);
  check_grad("matmul dweight", c.w, dw, OC * C, mm_loss, &c);
  check_grad("matmul dbias", c.b, db, OC, mm_loss, &c);
  free(x), free(w), free(b), free(y), free(dout), free(dx), free(dw), free(db), free(c.x), free(c.w), free(c.b), free(c.y);
}

/* packed positions of the tests below: rows of documents of 2, 1 and 3 tokens, and of 4 and 2 (pos NULL = t) */
static const int32_t packed_pos[2 * 6] = {0, 1, 0, 0, 1, 2, 0, 1, 2, 3, 0, 1};
#define POS_AT(pos, T, bt) ((pos) ? (pos)[bt] : (bt) % (T))

/* ---- embedding + learned positions: y[b,t] = wte[tok[b,t]] + wpe[pos[b,t]] */
struct emb { int B, T, C; const int32_t *tok, *pos; double *wte, *wpe, *y; const float *dout; };
static double emb_loss(void *p)
{
  struct emb *c = p;
  for (int bt = 0; bt < c->B * c->T; bt++)
    for (int i = 0; i < c->C; i++) c->y[bt * c->C + i] = c->wte[c->tok[bt] * c->C + i] + c->wpe[POS_AT(c->pos, c->T, bt) * c->C + i];
  return dot_dout(c->dout, c->y, (int64_t)c->B * c->T * c->C);
}
static void test_embedding(const int32_t *pos)
{
  enum { B = 2, T = 6, C = 4, V = 5, N = B * T };
  printf("embedding+position B=%d T=%d C=%d V=%d%s\n", B, T, C, V, pos ? " packed" : "");
  int32_t tok[N] = {1, 4, 1, 0, 1, 3, 0, 4, 4, 1, 3, 0}; /* token 1 repeats, 2 never occurs */
  float *wte = tops_rand(V * C, -1, 1), *wpe = tops_rand(T * C, -1, 1), *y = tops_rand(N * C, 0, 1);
  float *dout = tops_rand(N * C, -1, 1), *dwte = calloc(V * C, 4), *dwpe = calloc(T * C, 4);
  struct emb c = {B, T, C, tok, pos, dcopy(wte, V * C), dcopy(wpe, T * C), calloc(N * C, 8), dout};
  R->embedding_forward(y, tok, wte, N, C);
  R->position_forward(y, wpe, B, T, C, pos);
  emb_loss(&c);
  check_fwd("embedding+position", y, c.y, N * C);
  R->embedding_backward(dwte, dout, tok, N, C);
  R->position_backward(dwpe, dout, B, T, C, pos);
  check_grad("embedding dwte", c.wte, dwte, V * C, emb_loss, &c);
  check_grad("position dwpe", c.wpe, dwpe, T * C, emb_loss, &c);
  free(wte), free(wpe), free(y), free(dout), free(dwte), free(dwpe), free(c.wte), free(c.wpe), free(c.y);
}

/* ---- RMSNorm and LayerNorm */
struct nrm { int N, C, layer; double eps, *x, *w, *b, *y; const float *dout; };
static double nrm_loss(void *p)
{
  struct nrm *c = p;
  for (int n = 0; n < c->N; n++) {
    const double *x = c->x + n * c->C;
    double mu = 0, var = 0;
    if (c->layer) {
      for (int i = 0; i < c->C; i++) mu += x[i] / c->C;
      for (int i = 0; i < c->C; i++) var += (x[i] - mu) * (x[i] - mu) / c->C;
    } else
      for (int i = 0; i < c->C; i++) var += x[i] * x[i] / c->C;
    for (int i = 0; i < c->C; i++)
      c->y[n * c->C + i] = (x[i] - mu) / sqrt(var + c->eps) * c->w[i] + (c->layer ? c->b[i] : 0);
  }
  return dot_dout(c->dout, c->y, (int64_t)c->N * c->C);
}
static void test_norm(int layer)
{
  enum { N = 4, C = 9 };
  const char *nm = layer ? "layernorm" : "rmsnorm";
  char what[64];
  printf("%s N=%d C=%d\n", nm, N, C);
  float *x = tops_rand(N * C, -2, 3), *w = tops_rand(C, 0.5f, 1.5f), *b = tops_rand(C, -1, 1), *y = tops_rand(N * C, 0, 1);
  float mean[N], rstd[N], *dout = tops_rand(N * C, -1, 1), *dx = tops_rand(N * C, 0, 1), *dw = calloc(C, 4), *db = calloc(C, 4);
  struct nrm c = {N, C, layer, 1e-5f, dcopy(x, N * C), dcopy(w, C), dcopy(b, C), calloc(N * C, 8), dout};
  if (layer) R->layernorm_forward(y, mean, rstd, x, w, b, N, C, 1e-5f);
  else R->rmsnorm_forward(y, rstd, x, w, N, C, 1e-5f);
  nrm_loss(&c);
  check_fwd(nm, y, c.y, N * C);
  if (layer) R->layernorm_backward(dx, dw, db, dout, x, w, mean, rstd, N, C);
  else R->rmsnorm_backward(dx, dw, dout, x, w, rstd, N, C);
  snprintf(what, sizeof what, "%s dinp", nm);
  check_grad(what, c.x, dx, N * C, nrm_loss, &c);
  snprintf(what, sizeof what, "%s dweight", nm);
  check_grad(what, c.w, dw, C, nrm_loss, &c);
  if (layer) check_grad("layernorm dbias", c.b, db, C, nrm_loss, &c);
  free(x), free(w), free(b), free(y), free(dout), free(dx), free(dw), free(db), free(c.x), free(c.w), free(c.b), free(c.y);
}

/* ---- RoPE (rotate-half), angles in double from the definition inv_freq = base^(-2i/D) */
struct rope { int B, T, H, D, off; const int32_t *pos; double base, *x, *y; const float *dout; };
static double rope_loss(void *p)
{
  struct rope *c = p;
  int half = c->D / 2;
  for (int bt = 0; bt < c->B * c->T; bt++)
    for (int h = 0; h < c->H; h++)
      for (int i = 0; i < half; i++) {
        double ang = (c->off + POS_AT(c->pos, c->T, bt)) * pow(c->base, -2.0 * i / c->D);
        int64_t o = ((int64_t)bt * c->H + h) * c->D;
        double x1 = c->x[o + i], x2 = c->x[o + i + half];
        c->y[o + i] = x1 * cos(ang) - x2 * sin(ang);
        c->y[o + i + half] = x2 * cos(ang) + x1 * sin(ang);
      }
  return dot_dout(c->dout, c->y, (int64_t)c->B * c->T * c->H * c->D);
}
static void test_rope(const int32_t *pos)
{
  enum { B = 2, T = 6, H = 3, D = 8, n = B * T * H * D };
  printf("rope B=%d T=%d H=%d D=%d base=10000 offset=3%s\n", B, T, H, D, pos ? " packed" : "");
  float *x = tops_rand(n, -1, 1), *y = tops_copy(x, n), *dout = tops_rand(n, -1, 1), *dx = tops_copy(dout, n);
  struct rope c = {B, T, H, D, 3, pos, 10000.0, dcopy(x, n), calloc(n, 8), dout};
  R->rope_forward(y, B, T, H, D, 10000.0f, 3, pos);
  rope_loss(&c);
  check_fwd("rope", y, c.y, n);
  R->rope_backward(dx, B, T, H, D, 10000.0f, 3, pos);
  check_grad("rope dx", c.x, dx, n, rope_loss, &c);
  free(x), free(y), free(dout), free(dx), free(c.x), free(c.y);
}

/* ---- causal GQA attention, the textbook way: full softmax over keys j <= t (packed: and j >= t - pos[t]; here as
 * a mask on the full row, the form PyTorch users write) */
struct att { int B, T, NH, NKV, D; const int32_t *pos; double *q, *k, *v, *y, *lse; const float *dout; };
static int att_masked(const struct att *c, int b, int t, int j)
{
  return j > t || (c->pos && j < t - c->pos[b * c->T + t]);
}
static double att_loss(void *p)
{
  struct att *c = p;
  int T = c->T, D = c->D, g = c->NH / c->NKV;
  double s[64];
  for (int b = 0; b < c->B; b++)
    for (int h = 0; h < c->NH; h++)
      for (int t = 0; t < T; t++) {
        const double *qt = c->q + ((b * T + t) * c->NH + h) * D;
        double mx = -INFINITY, sum = 0;
        for (int j = 0; j < T; j++) {
          const double *kj = c->k + ((b * T + j) * c->NKV + h / g) * D;
          s[j] = 0;
          for (int d = 0; d < D; d++) s[j] += qt[d] * kj[d] / sqrt((double)D);
          if (att_masked(c, b, t, j)) s[j] = -INFINITY;
          mx = fmax(mx, s[j]);
        }
        for (int j = 0; j < T; j++) sum += exp(s[j] - mx);
        c->lse[(b * c->NH + h) * T + t] = mx + log(sum);
        for (int d = 0; d < D; d++) {
          double acc = 0;
          for (int j = 0; j < T; j++) acc += exp(s[j] - mx) / sum * c->v[((b * T + j) * c->NKV + h / g) * D + d];
          c->y[((b * T + t) * c->NH + h) * D + d] = acc;
        }
      }
  return dot_dout(c->dout, c->y, (int64_t)c->B * T * c->NH * D);
}
static void test_attention(const int32_t *pos)
{
  enum { B = 2, T = 6, NH = 4, NKV = 2, D = 4, nq = B * T * NH * D, nk = B * T * NKV * D, nl = B * NH * T };
  printf("attention B=%d T=%d NH=%d NKV=%d D=%d (causal, GQA%s)\n", B, T, NH, NKV, D, pos ? ", packed" : "");
  float *q = tops_rand(nq, -1.5f, 1.5f), *k = tops_rand(nk, -1.5f, 1.5f), *v = tops_rand(nk, -1, 1);
  float *y = tops_rand(nq, 0, 1), *lse = tops_rand(nl, 0, 1), *dout = tops_rand(nq, -1, 1);
  float *dq = tops_rand(nq, 0, 1), *dk = tops_rand(nk, 0, 1), *dv = tops_rand(nk, 0, 1);
  struct att c = {B, T, NH, NKV, D, pos, dcopy(q, nq), dcopy(k, nk), dcopy(v, nk), calloc(nq, 8), calloc(nl, 8), dout};
  R->attention_forward(y, lse, q, k, v, B, T, NH, NKV, D, pos);
  att_loss(&c);
  check_fwd("attention out", y, c.y, nq);
  check_fwd("attention lse", lse, c.lse, nl);
  R->attention_backward(dq, dk, dv, dout, q, k, v, y, lse, B, T, NH, NKV, D, pos);
  check_grad("attention dq", c.q, dq, nq, att_loss, &c);
  check_grad("attention dk", c.k, dk, nk, att_loss, &c);
  check_grad("attention dv", c.v, dv, nk, att_loss, &c);
  free(q), free(k), free(v), free(y), free(lse), free(dout), free(dq), free(dk), free(dv), free(c.q), free(c.k), free(c.v),
    free(c.y), free(c.lse);
}

/* ---- SwiGLU and GELU (tanh) */
struct pw { int n, gelu; double *a, *u, *y; const float *dout; };
static double pw_loss(void *p)
{
  struct pw *c = p;
  for (int i = 0; i < c->n; i++) {
    double x = c->a[i];
    c->y[i] = c->gelu ? 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))) : x / (1 + exp(-x)) * c->u[i];
  }
  return dot_dout(c->dout, c->y, c->n);
}
static void test_pointwise(void)
{
  enum { n = 41 };
  printf("swiglu/gelu n=%d\n", n);
  float *a = tops_rand(n, -5, 5), *u = tops_rand(n, -2, 2), *y = tops_rand(n, 0, 1), *dout = tops_rand(n, -1, 1);
  float *da = tops_rand(n, 0, 1), *du = tops_rand(n, 0, 1);
  struct pw c = {n, 0, dcopy(a, n), dcopy(u, n), calloc(n, 8), dout};
  R->swiglu_forward(y, a, u, n);
  pw_loss(&c);
  check_fwd("swiglu", y, c.y, n);
  R->swiglu_backward(da, du, dout, a, u, n);
  check_grad("swiglu dgate", c.a, da, n, pw_loss, &c);
  check_grad("swiglu dup", c.u, du, n, pw_loss, &c);
  c.gelu = 1;
  R->gelu_forward(y, a, n);
  pw_loss(&c);
  check_fwd("gelu", y, c.y, n);
  R->gelu_backward(da, dout, a, n);
  check_grad("gelu dinp", c.a, da, n, pw_loss, &c);
  free(a), free(u), free(y), free(dout), free(da), free(du), free(c.a), free(c.u), free(c.y);
}

/* ---- lm head + cross-entropy: L = sum_n rw[n] * (lse(x_n W^T) - (x_n W^T)[target]) over rows with target >= 0 */
struct xe { int N, C, V; const int32_t *tgt; const float *rw; double *x, *w, *loss; };
static double xe_loss(void *p)
{
  struct xe *c = p;
  double L = 0;
  for (int n = 0; n < c->N; n++) {
    double z[16], mx = -INFINITY, sum = 0;
    c->loss[n] = 0;
    if (c->tgt[n] < 0) continue;
    for (int v = 0; v < c->V; v++) {
      z[v] = 0;
      for (int i = 0; i < c->C; i++) z[v] += c->x[n * c->C + i] * c->w[v * c->C + i];
      mx = fmax(mx, z[v]);
    }
    for (int v = 0; v < c->V; v++) sum += exp(z[v] - mx);
    c->loss[n] = mx + log(sum) - z[c->tgt[n]];
    L += c->rw[n] * c->loss[n];
  }
  return L;
}
static void test_lmhead(void)
{
  enum { N = 6, C = 5, V = 7 };
  printf("lmhead_xent N=%d C=%d V=%d (2 masked rows, row weights)\n", N, C, V);
  int32_t tgt[N] = {3, -1, 0, 6, -1, 3};
  float rw[N] = {0.25f, 0, 0.5f, 1.0f, 0, 0.125f};
  float *x = tops_rand(N * C, -1, 1), *w = tops_rand(V * C, -1, 1), *loss = tops_rand(N, 0, 1);
  float *dx = tops_rand(N * C, 0, 1), *dw = calloc(V * C, 4);
  struct xe c = {N, C, V, tgt, rw, dcopy(x, N * C), dcopy(w, V * C), calloc(N, 8)};
  R->lmhead_xent(loss, dx, dw, x, w, tgt, rw, N, C, V);
  xe_loss(&c);
  check_fwd("lmhead_xent losses", loss, c.loss, N);
  check_grad("lmhead_xent dinp", c.x, dx, N * C, xe_loss, &c);
  check_grad("lmhead_xent dweight", c.w, dw, V * C, xe_loss, &c);
  free(x), free(w), free(loss), free(dx), free(dw), free(c.x), free(c.w), free(c.loss);
}

/* ---- AdamW: one step from the formula in fs_ops.h, in double */
static void test_adamw(void)
{
  enum { n = 17 };
  printf("adamw n=%d (3 steps)\n", n);
  float *p = tops_rand(n, -1, 1), *m = calloc(n, 4), *v = calloc(n, 4);
  double *pd = dcopy(p, n), md[n] = {0}, vd[n] = {0};
  const double lr = 1e-2, b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1;
  for (int t = 1; t <= 3; t++) {
    float *g = tops_rand(n, -1, 1);
    R->adamw_update(p, m, v, g, n, (float)lr, (float)b1, (float)b2, (float)eps, (float)wd, t);
    for (int i = 0; i < n; i++) {
      md[i] = (float)b1 * md[i] + (1 - (float)b1) * g[i];
      vd[i] = (float)b2 * vd[i] + (1 - (float)b2) * (double)g[i] * g[i];
      double mh = md[i] / (1 - pow((float)b1, t)), vh = vd[i] / (1 - pow((float)b2, t));
      pd[i] -= (float)lr * (mh / (sqrt(vh) + (float)eps) + (float)wd * pd[i]);
    }
    free(g);
  }
  check_fwd("adamw param", p, pd, n);
  free(p), free(m), free(v), free(pd);
}

int main(void)
{
  test_matmul();
  test_embedding(NULL);
  test_embedding(packed_pos);
  test_norm(0);
  test_norm(1);
  test_rope(NULL);
  test_rope(packed_pos);
  test_attention(NULL);
  test_attention(packed_pos);
  test_pointwise();
  test_lmhead();
  test_adamw();
  return fs_test_done("test_ops_gradcheck");
}
