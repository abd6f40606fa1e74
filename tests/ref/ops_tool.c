/* ops_tool.c -- runs one op of a CPU table on raw float32/int32 files, for tests/ref/ops_vs_torch.py.
 *   ops_tool ref|cpu attention DIR B T NH NKV D [P] q k v dout        -> out lse dq dk dv
 *   ops_tool ref|cpu rmsnorm   DIR N C EPS         x w dout          -> y rstd dx dw
 *   ops_tool ref|cpu rope      DIR B T H D BASE OFF [P] x dout       -> y dx
 *   ops_tool ref|cpu xent      DIR N C V           x w tgt(int32) rw -> loss dx dw
 *   ops_tool ref|cpu adamw     DIR N STEPS LR B1 B2 EPS WD  p g (STEPS x N) -> p m v
 * Each name is the file DIR/name.bin (native byte order).  P = 1: packed positions pos (B,T) (int32) too. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fs_ops.h"

static const char *dir;

static void *load(const char *name, int64_t n, size_t elem)
{
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.bin", dir, name);
  void *p = calloc((size_t)n + 1, elem);
  FILE *f = fopen(path, "rb");
  if (!p || !f || fread(p, elem, (size_t)n, f) != (size_t)n) {
    fprintf(stderr, "ops_tool: cannot read %lld values from %s\n", (long long)n, path);
    exit(2);
  }
  fclose(f);
  return p;
}

static void save(const char *name, const float *x, int64_t n)
{
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.bin", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(x, sizeof *x, (size_t)n, f) != (size_t)n || fclose(f)) {
    fprintf(stderr, "ops_tool: cannot write %s\n", path);
    exit(2);
  }
}

static float *zeros(int64_t n)
{
  float *p = calloc((size_t)n + 1, sizeof *p);
  if (!p) exit(2);
  return p;
}

int main(int argc, char **argv)
{
  if (argc < 4 || (strcmp(argv[1], "ref") && strcmp(argv[1], "cpu"))) {
    fprintf(stderr, "usage: ops_tool ref|cpu OP DIR ARGS... (see tests/ref/ops_tool.c)\n");
    return 2;
  }
  const struct fs_ops *ops = strcmp(argv[1], "ref") ? &fs_ops_cpu : &fs_ops_cpu_ref;
  const char *op = argv[2];
  dir = argv[3];
  char **a = argv + 4;
  int na = argc - 4;
  if (!strcmp(op, "attention") && (na == 5 || na == 6)) {
    int B = atoi(a[0]), T = atoi(a[1]), NH = atoi(a[2]), NKV = atoi(a[3]), D = atoi(a[4]);
    int64_t nq = (int64_t)B * T * NH * D, nk = (int64_t)B * T * NKV * D, nl = (int64_t)B * NH * T;
    const int32_t *pos = na == 6 && atoi(a[5]) ? load("pos", (int64_t)B * T, 4) : NULL;
    float *q = load("q", nq, 4), *k = load("k", nk, 4), *v = load("v", nk, 4), *dout = load("dout", nq, 4);
    float *out = zeros(nq), *lse = zeros(nl), *dq = zeros(nq), *dk = zeros(nk), *dv = zeros(nk);
    ops->attention_forward(out, lse, q, k, v, B, T, NH, NKV, D, pos);
    ops->attention_backward(dq, dk, dv, dout, q, k, v, out, lse, B, T, NH, NKV, D, pos);
    save("out", out, nq), save("lse", lse, nl), save("dq", dq, nq), save("dk", dk, nk), save("dv", dv, nk);
  } else if (!strcmp(op, "rmsnorm") && na == 3) {
    int64_t N = atoll(a[0]);
    int C = atoi(a[1]);
    float eps = (float)atof(a[2]);
    float *x = load("x", N * C, 4), *w = load("w", C, 4), *dout = load("dout", N * C, 4);
    float *y = zeros(N * C), *rstd = zeros(N), *dx = zeros(N * C), *dw = zeros(C);
    ops->rmsnorm_forward(y, rstd, x, w, N, C, eps);
    ops->rmsnorm_backward(dx, dw, dout, x, w, rstd, N, C);
    save("y", y, N * C), save("rstd", rstd, N), save("dx", dx, N * C), save("dw", dw, C);
  } else if (!strcmp(op, "rope") && (na == 6 || na == 7)) {
    int B = atoi(a[0]), T = atoi(a[1]), H = atoi(a[2]), D = atoi(a[3]), off = atoi(a[5]);
    const int32_t *pos = na == 7 && atoi(a[6]) ? load("pos", (int64_t)B * T, 4) : NULL;
    float base = (float)atof(a[4]);
    int64_t n = (int64_t)B * T * H * D;
    float *x = load("x", n, 4), *dx = load("dout", n, 4);
    ops->rope_forward(x, B, T, H, D, base, off, pos);
    ops->rope_backward(dx, B, T, H, D, base, off, pos);
    save("y", x, n), save("dx", dx, n);
  } else if (!strcmp(op, "xent") && na == 3) {
    int64_t N = atoll(a[0]);
    int C = atoi(a[1]), V = atoi(a[2]);
    float *x = load("x", N * C, 4), *w = load("w", (int64_t)V * C, 4), *rw = load("rw", N, 4);
    int32_t *tgt = load("tgt", N, 4);
    float *loss = zeros(N), *dx = zeros(N * C), *dw = zeros((int64_t)V * C);
    ops->lmhead_xent(loss, dx, dw, x, w, tgt, rw, N, C, V);
    save("loss", loss, N), save("dx", dx, N * C), save("dw", dw, (int64_t)V * C);
  } else if (!strcmp(op, "adamw") && na == 7) {
    int64_t n = atoll(a[0]);
    int steps = atoi(a[1]);
    float lr = (float)atof(a[2]), b1 = (float)atof(a[3]), b2 = (float)atof(a[4]), eps = (float)atof(a[5]);
    float wd = (float)atof(a[6]);
    float *p = load("p", n, 4), *g = load("g", n * steps, 4), *m = zeros(n), *v = zeros(n);
    for (int t = 1; t <= steps; t++) ops->adamw_update(p, m, v, g + (t - 1) * n, n, lr, b1, b2, eps, wd, t);
    save("p_out", p, n), save("m", m, n), save("v", v, n);
  } else {
    fprintf(stderr, "ops_tool: unknown op '%s' or wrong number of arguments (%d)\n", op, na);
    return 2;
  }
  return 0;
}
