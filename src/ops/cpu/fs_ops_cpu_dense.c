/* fs_ops_cpu_dense.c -- fast matmul (OpenBLAS sgemm split among the OpenMP threads by fs_sgemm; a forward of a few
 * rows goes to fs_ops_cpu_skinny.c) and embeddings (OpenMP).  Gradients that many rows add into (dwte, dwpe, dbias)
 * are split by column across threads, so there are no races and the sums are deterministic. */
#include <stdlib.h>
#include <string.h>
#include "fs_ops_cpu_impl.h"

/* sgemm takes int sizes: rows go in pieces of at most this many */
#define FS_ROWS_PER_GEMM ((int64_t)1 << 28)

void fs_matmul_forward_cpu(float *out, const float *inp, const float *weight, const float *bias, int64_t N, int C,
                           int OC)
{
  if (N <= FS_SKINNY_MAX_N) { /* decoding: a few rows against the whole weight, which sgemm would pack first */
    fs_matmul_skinny_cpu(out, inp, weight, bias, N, C, OC);
    return;
  }
  /* the bias goes in through beta = 1; fs_sgemm splits the product among the OpenMP threads (OpenBLAS itself
   * runs single-threaded: one thread pool, see fs_ops_cpu_init) */
  if (bias) {
#pragma omp parallel for schedule(static) if (N * OC > 65536)
    for (int64_t n = 0; n < N; n++) memcpy(out + n * OC, bias, (size_t)OC * sizeof(float));
  }
  for (int64_t n0 = 0; n0 < N; n0 += FS_ROWS_PER_GEMM) {
    int rows = (int)(N - n0 < FS_ROWS_PER_GEMM ? N - n0 : FS_ROWS_PER_GEMM);
    /* out (rows,OC) = inp (rows,C) @ weight (OC,C)^T (+ out holding the bias) */
    fs_sgemm(0, 1, rows, OC, C, 1.0f, inp + n0 * C, C, weight, C, bias ? 1.0f : 0.0f, out + n0 * OC, OC);
  }
}

void fs_matmul_backward_cpu(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                            const float *weight, int64_t N, int C, int OC)
{
  for (int64_t n0 = 0; n0 < N; n0 += FS_ROWS_PER_GEMM) {
    int rows = (int)(N - n0 < FS_ROWS_PER_GEMM ? N - n0 : FS_ROWS_PER_GEMM);
    if (dinp) /* dinp (rows,C) = dout (rows,OC) @ weight (OC,C) */
      fs_sgemm(0, 0, rows, C, OC, 1.0f, dout + n0 * OC, OC, weight, C, 0.0f, dinp + n0 * C, C);
    if (dweight) /* dweight (OC,C) += dout^T (OC,rows) @ inp (rows,C) */
      fs_sgemm(1, 0, OC, C, rows, 1.0f, dout + n0 * OC, OC, inp + n0 * C, C, 1.0f, dweight, C);
  }
  if (dbias) { /* dbias (OC) += column sums of dout: each thread owns a slice of columns (race-free) */
    enum { CB = 64 };
#pragma omp parallel for schedule(static) if (N * OC > 65536)
    for (int c0 = 0; c0 < OC; c0 += CB) {
      int c1 = c0 + CB < OC ? c0 + CB : OC;
      float acc[CB] = {0};
      for (int64_t n = 0; n < N; n++) {
        const float *d = dout + n * OC;
        for (int c = c0; c < c1; c++) acc[c - c0] += d[c];
      }
      for (int c = c0; c < c1; c++) dbias[c] += acc[c - c0];
    }
  }
}

void fs_embedding_forward_cpu(float *out, const int32_t *tokens, const float *wte, int64_t N, int C)
{
#pragma omp parallel for schedule(static) if (N * C > FS_PW_PAR_MIN)
  for (int64_t n = 0; n < N; n++) memcpy(out + n * C, wte + (int64_t)tokens[n] * C, (size_t)C * sizeof(float));
}

void fs_embedding_backward_cpu(float *dwte, const float *dout, const int32_t *tokens, int64_t N, int C)
{
  /* a token may repeat: each thread owns a column slice of every row of dwte */
  enum { CB = 64 };
#pragma omp parallel for schedule(static)
  for (int c0 = 0; c0 < C; c0 += CB) {
    int c1 = c0 + CB < C ? c0 + CB : C;
    for (int64_t n = 0; n < N; n++) {
      float *dst = dwte + (int64_t)tokens[n] * C;
      const float *src = dout + n * C;
      for (int c = c0; c < c1; c++) dst[c] += src[c];
    }
  }
}

void fs_position_forward_cpu(float *out, const float *wpe, int B, int T, int C, const int32_t *pos)
{
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T; t++) {
      float *o = out + ((int64_t)b * T + t) * C;
      const float *w = wpe + (int64_t)(pos ? pos[(int64_t)b * T + t] : t) * C;
      for (int c = 0; c < C; c++) o[c] += w[c];
    }
}

void fs_position_backward_cpu(float *dwpe, const float *dout, int B, int T, int C, const int32_t *pos)
{
  if (pos) { /* packed: each token's row goes to its position's row, as an embedding gradient by position */
    fs_embedding_backward_cpu(dwpe, dout, pos, (int64_t)B * T, C);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int t = 0; t < T; t++) {
    float *dw = dwpe + (int64_t)t * C;
    for (int b = 0; b < B; b++) {
      const float *d = dout + ((int64_t)b * T + t) * C;
      for (int c = 0; c < C; c++) dw[c] += d[c];
    }
  }
}
