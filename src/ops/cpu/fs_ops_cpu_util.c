/* fs_ops_cpu_util.c -- helpers shared by the reference and the fast CPU ops: the float32 rotary angle of HF
 * LLaMA, scratch allocation for void ops, the one-time thread setup and the OpenMP-partitioned sgemm. */
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <mpi.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "fs_ops_cpu_impl.h"

/* Buffers kept between calls (see fs_ops_keep); reachable from here, so leak checkers do not report them. */
static struct { void *p; size_t cap; } kept[FS_KEEP_SLOTS];

void *fs_ops_keep(int slot, size_t n_bytes, const char *what)
{
  if (kept[slot].cap < n_bytes) {
    free(kept[slot].p);
    kept[slot].p = NULL, kept[slot].cap = 0;
    kept[slot].p = fs_ops_scratch(n_bytes, what);
    kept[slot].cap = n_bytes;
  }
  return kept[slot].p;
}

static pthread_once_t cpu_init_once = PTHREAD_ONCE_INIT;

static void cpu_init_body(void)
{
  /* One thread pool only: OpenBLAS's own pthreads and libgomp's threads (which spin after each parallel region)
   * fought for the cores and made small sgemms 20x slower.  OpenBLAS runs single-threaded inside our OpenMP
   * regions; fs_sgemm splits the big products among the OpenMP threads. */
  openblas_set_num_threads(1);
}

void fs_ops_cpu_init(void) { pthread_once(&cpu_init_once, cpu_init_body); }

int fs_ops_cpu_threads(void)
{
#ifdef _OPENMP
  return omp_in_parallel() ? 1 : omp_get_max_threads();
#else
  return 1;
#endif
}

/* Below this many multiply-adds a product runs on the calling thread: a parallel region costs a few microseconds. */
#define FS_GEMM_PAR_MIN ((double)(1 << 18))

void fs_sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
              int ldb, float beta, float *C, int ldc)
{
  fs_ops_cpu_init();
  const enum CBLAS_TRANSPOSE ta = transA ? CblasTrans : CblasNoTrans, tb = transB ? CblasTrans : CblasNoTrans;
  int nt = fs_ops_cpu_threads();
  if (M <= 0 || N <= 0) return;
  if (nt <= 1 || (double)M * N * K < FS_GEMM_PAR_MIN) {
    cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  /* Split the longer side of C into pieces (multiples of 16 so the kernel's register tiles stay whole), handed out
   * dynamically: about 4 per thread, so that when another process takes a core for a while the other threads pick
   * up its pieces instead of waiting at the barrier (static halves ran 2-3x slower on a busy 2-core machine).
   * Every element keeps its full K sum in the same order, so the result does not depend on the split. */
  const int split_m = M >= N;
  const int len = split_m ? M : N;
  int npiece = 4 * nt;
  if (len / npiece < 64) npiece = len / 64 > nt ? len / 64 : nt;
  int piece = (len + npiece - 1) / npiece;
  piece = (piece + 15) / 16 * 16;
  npiece = (len + piece - 1) / piece;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
  for (int p = 0; p < npiece; p++) {
    int s0 = p * piece, s1 = s0 + piece < len ? s0 + piece : len;
    if (split_m) { /* rows s0..s1 of C: rows of A (columns when A is transposed) */
      const float *a = transA ? A + s0 : A + (int64_t)s0 * lda;
      cblas_sgemm(CblasRowMajor, ta, tb, s1 - s0, N, K, alpha, a, lda, B, ldb, beta, C + (int64_t)s0 * ldc, ldc);
    } else { /* columns s0..s1 of C: columns of B (rows when B is transposed) */
      const float *b = transB ? B + (int64_t)s0 * ldb : B + s0;
      cblas_sgemm(CblasRowMajor, ta, tb, M, s1 - s0, K, alpha, A, lda, b, ldb, beta, C + s0, ldc);
    }
  }
}

void fs_rope_cos_sin(float *c, float *s, int64_t pos, int i, int D, float base)
{
  /* PyTorch: inv_freq = 1.0 / (base ** (arange(0, D, 2).float() / D)), all float32; freqs = pos.float() * inv_freq.
   * pow is evaluated in double and rounded once, i.e. correctly rounded like torch's float pow (up to ties). */
  float expo = (float)(2 * i) / (float)D;
  float p = (float)pow((double)base, (double)expo);
  float inv_freq = 1.0f / p;
  float angle = (float)pos * inv_freq;
  *c = (float)cos((double)angle);
  *s = (float)sin((double)angle);
}

void *fs_ops_scratch(size_t n_bytes, const char *what)
{
  void *p = malloc(n_bytes ? n_bytes : 1);
  if (!p) {
    int inited = 0;
    fprintf(stderr, "flagscale ops: out of memory allocating %zu bytes of scratch for %s; reduce the micro-batch "
                    "size or sequence length\n", n_bytes, what);
    MPI_Initialized(&inited);
    if (inited) MPI_Abort(MPI_COMM_WORLD, 1);
    abort();
  }
  return p;
}
