/* fs_ops_cpu_impl.h -- internal to src/ops/cpu: the functions that the two CPU tables (fs_ops_cpu_ref.c and
 * fs_ops_cpu.c) are filled with, one group per file.  Not installed; the model sees only struct fs_ops. */
#ifndef FS_OPS_CPU_IMPL_H
#define FS_OPS_CPU_IMPL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- reference: plain loops, double accumulators (the oracle of the tests) */
/* fs_ops_ref_dense.c */
void fs_matmul_forward_ref(float *out, const float *inp, const float *weight, const float *bias, int64_t N, int C,
                           int OC);
void fs_matmul_backward_ref(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                            const float *weight, int64_t N, int C, int OC);
void fs_embedding_forward_ref(float *out, const int32_t *tokens, const float *wte, int64_t N, int C);
void fs_embedding_backward_ref(float *dwte, const float *dout, const int32_t *tokens, int64_t N, int C);
void fs_position_forward_ref(float *out, const float *wpe, int B, int T, int C, const int32_t *pos);
void fs_position_backward_ref(float *dwpe, const float *dout, int B, int T, int C, const int32_t *pos);
void fs_swiglu_forward_ref(float *out, const float *gate, const float *up, int64_t n);
void fs_swiglu_backward_ref(float *dgate, float *dup, const float *dout, const float *gate, const float *up,
                            int64_t n);
void fs_gelu_forward_ref(float *out, const float *inp, int64_t n);
void fs_gelu_backward_ref(float *dinp, const float *dout, const float *inp, int64_t n);
void fs_adamw_update_ref(float *param, float *m, float *v, const float *grad, int64_t n, float lr, float beta1,
                         float beta2, float eps, float weight_decay, int64_t t);
double fs_sum_squares_ref(const float *x, int64_t n);
void fs_scale_ref(float *x, float s, int64_t n);
void fs_add_ref(float *out, const float *a, const float *b, int64_t n);
/* fs_ops_ref_norm.c */
void fs_rmsnorm_forward_ref(float *out, float *rstd, const float *inp, const float *weight, int64_t N, int C,
                            float eps);
void fs_rmsnorm_backward_ref(float *dinp, float *dweight, const float *dout, const float *inp, const float *weight,
                             const float *rstd, int64_t N, int C);
void fs_layernorm_forward_ref(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                              const float *bias, int64_t N, int C, float eps);
void fs_layernorm_backward_ref(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                               const float *weight, const float *mean, const float *rstd, int64_t N, int C);
/* fs_ops_ref_attn.c */
void fs_rope_forward_ref(float *x, int B, int T, int H, int D, float base, int pos_offset, const int32_t *pos);
void fs_rope_backward_ref(float *dx, int B, int T, int H, int D, float base, int pos_offset, const int32_t *pos);
void fs_attention_forward_ref(float *out, float *lse, const float *q, const float *k, const float *v, int B, int T,
                              int NH, int NKV, int D, const int32_t *pos);
void fs_attention_backward_ref(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k,
                               const float *v, const float *out, const float *lse, int B, int T, int NH, int NKV,
                               int D, const int32_t *pos);
/* fs_ops_ref_xent.c */
void fs_lmhead_xent_ref(float *losses, float *dinp, float *dweight, const float *inp, const float *weight,
                        const int32_t *targets, const float *row_weight, int64_t N, int C, int V);
void fs_lmhead_logits_ref(float *logits, const float *inp, const float *weight, int64_t N, int C, int V);

/* ---- fast: OpenMP + OpenBLAS */
/* fs_ops_cpu_dense.c */
void fs_matmul_forward_cpu(float *out, const float *inp, const float *weight, const float *bias, int64_t N, int C,
                           int OC);
void fs_matmul_backward_cpu(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                            const float *weight, int64_t N, int C, int OC);
void fs_embedding_forward_cpu(float *out, const int32_t *tokens, const float *wte, int64_t N, int C);
void fs_embedding_backward_cpu(float *dwte, const float *dout, const int32_t *tokens, int64_t N, int C);
void fs_position_forward_cpu(float *out, const float *wpe, int B, int T, int C, const int32_t *pos);
void fs_position_backward_cpu(float *dwpe, const float *dout, int B, int T, int C, const int32_t *pos);
/* fs_ops_cpu_skinny.c: matmul_forward for at most FS_SKINNY_MAX_N rows (decoding), without sgemm's packing of the
 * weight; row n's results do not depend on N or on the threads.  Against sgemm (tests/bench/ops_bench, AVX-512,
 * 2 threads): 2-4x at 1-4 rows of a weight that comes from memory, 1.3-1.8x at 16 rows, 0.85-1x at 1-4 rows of a
 * small weight in cache and at 32 rows of a wide one (C = 2048); more rows favour sgemm. */
#define FS_SKINNY_MAX_N 32
void fs_matmul_skinny_cpu(float *out, const float *inp, const float *weight, const float *bias, int64_t N, int C,
                          int OC);
/* the same with kernel variant v of those this CPU runs, best first (0: as fs_matmul_skinny_cpu; then AVX2, plain
 * x86-64), so that the tests check every one the machine has; returns 0 (and does nothing) when there is no v */
int fs_matmul_skinny_variant_cpu(int v, float *out, const float *inp, const float *weight, const float *bias,
                                 int64_t N, int C, int OC);
/* fs_ops_cpu_pointwise.c */
void fs_swiglu_forward_cpu(float *out, const float *gate, const float *up, int64_t n);
void fs_swiglu_backward_cpu(float *dgate, float *dup, const float *dout, const float *gate, const float *up,
                            int64_t n);
void fs_gelu_forward_cpu(float *out, const float *inp, int64_t n);
void fs_gelu_backward_cpu(float *dinp, const float *dout, const float *inp, int64_t n);
void fs_adamw_update_cpu(float *param, float *m, float *v, const float *grad, int64_t n, float lr, float beta1,
                         float beta2, float eps, float weight_decay, int64_t t);
double fs_sum_squares_cpu(const float *x, int64_t n);
void fs_scale_cpu(float *x, float s, int64_t n);
void fs_add_cpu(float *out, const float *a, const float *b, int64_t n);
/* fs_ops_cpu_norm.c */
void fs_rmsnorm_forward_cpu(float *out, float *rstd, const float *inp, const float *weight, int64_t N, int C,
                            float eps);
void fs_rmsnorm_backward_cpu(float *dinp, float *dweight, const float *dout, const float *inp, const float *weight,
                             const float *rstd, int64_t N, int C);
void fs_layernorm_forward_cpu(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                              const float *bias, int64_t N, int C, float eps);
void fs_layernorm_backward_cpu(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                               const float *weight, const float *mean, const float *rstd, int64_t N, int C);
/* fs_ops_cpu_rope.c */
void fs_rope_forward_cpu(float *x, int B, int T, int H, int D, float base, int pos_offset, const int32_t *pos);
void fs_rope_backward_cpu(float *dx, int B, int T, int H, int D, float base, int pos_offset, const int32_t *pos);
/* fs_ops_cpu_attn.c */
void fs_attention_forward_cpu(float *out, float *lse, const float *q, const float *k, const float *v, int B, int T,
                              int NH, int NKV, int D, const int32_t *pos);
void fs_attention_backward_cpu(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k,
                               const float *v, const float *out, const float *lse, int B, int T, int NH, int NKV,
                               int D, const int32_t *pos);
/* fs_ops_cpu_xent.c */
void fs_lmhead_xent_cpu(float *losses, float *dinp, float *dweight, const float *inp, const float *weight,
                        const int32_t *targets, const float *row_weight, int64_t N, int C, int V);
void fs_lmhead_logits_cpu(float *logits, const float *inp, const float *weight, int64_t N, int C, int V);

/* ---- shared helpers (fs_ops_cpu_util.c) */
/* HF LLaMA's float32 rotary angle for position pos and pair i of a head of size D: inv_freq = 1/base^(2i/D) and
 * pos * inv_freq, each rounded to float as PyTorch does; cos/sin of that float angle, rounded to float. */
void fs_rope_cos_sin(float *c, float *s, int64_t pos, int i, int D, float base);
/* The op table's functions return void (they are called in the hot loop), so a failed scratch allocation cannot
 * be propagated: it prints what failed and how much was asked, then aborts. */
void *fs_ops_scratch(size_t n_bytes, const char *what);
/* A scratch buffer of at least n_bytes kept from call to call in one of a few slots, for big scratch that malloc
 * would map and unmap on every call (page faults, TLB shootdowns).  Not thread-safe: only for ops called from
 * outside parallel regions, one at a time (the model's).  Kept until the process exits. */
enum { FS_KEEP_XENT, FS_KEEP_SLOTS };
void *fs_ops_keep(int slot, size_t n_bytes, const char *what);
/* Once per process, thread-safe, called by the fast ops themselves: makes OpenBLAS single-threaded so that OpenMP's
 * threads are the only pool (OpenBLAS's pthreads and spinning OpenMP threads starved each other). */
void fs_ops_cpu_init(void);
/* OpenMP threads a fast op may use here: 1 inside a parallel region, else omp_get_max_threads() */
int fs_ops_cpu_threads(void);
/* Row-major C (M,N) = alpha * op(A) (M,K) @ op(B) (K,N) + beta * C, op = transpose when trans* is nonzero.  Large
 * products are split among the OpenMP threads by rows or columns of C (single-threaded sgemm each); inside a
 * parallel region, or for small products, it runs on the calling thread. */
void fs_sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
              int ldb, float beta, float *C, int ldc);

/* Hot loops are compiled for AVX-512, AVX2 and plain x86-64 and the best one is picked at load time (GCC function
 * multiversioning), so a portable -O2 build still uses the wide vector units where present. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(FS_NO_CLONES)
#define FS_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FS_CLONES
#endif
/* for helpers of FS_CLONES functions: inlined into each clone, they get its vector width (GCC does not always
 * inline a plain static inline function into a clone) */
#define FS_INLINE static inline __attribute__((always_inline))

/* Below this many elements of elementwise or row-wise work a parallel region costs more than it saves (and in a
 * decode step, one more barrier at which a thread that lost its core holds up the others) */
#define FS_PW_PAR_MIN 32768

/* Inside an OpenMP parallel region: this thread's part [*i0, *i1) of n elements, in pieces of 16 (whole vectors) */
static inline void fs_omp_range(int64_t n, int64_t *i0, int64_t *i1)
{
#ifdef _OPENMP
  int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
#else
  int64_t nt = 1, t = 0;
#endif
  int64_t piece = ((n + nt - 1) / nt + 15) / 16 * 16;
  *i0 = t * piece < n ? t * piece : n;
  *i1 = *i0 + piece < n ? *i0 + piece : n;
}

/* exp(x) in float without a libm call, so that loops using it vectorize (#pragma omp simd): Cody-Waite reduction
 * x = n ln2 + r, |r| <= ln2/2, and Cephes' degree-6 polynomial for exp(r) (about 1 ulp); the result is built as
 * p * 2^n in two halves so that n = 128 (x near 88.7) does not overflow the exponent field early.  x < -87.3
 * (including -inf) gives 0, x > 88.7 gives inf, NaN gives NaN. */
static inline float fs_expf(float x)
{
  const float log2e = 1.44269504088896341f, ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
  float xc = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x);
  float n = (xc * log2e + 12582912.0f) - 12582912.0f; /* round to nearest by the 1.5 * 2^23 trick */
  float r = xc - n * ln2_hi - n * ln2_lo;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int ni = (int)n, h = ni / 2;
  union { int i; float f; } s1 = {.i = (h + 127) << 23}, s2 = {.i = (ni - h + 127) << 23};
  float y = p * s1.f * s2.f;
  y = x < -87.3f ? 0.0f : y;
  y = x > 88.7f ? __builtin_inff() : y;
  return x != x ? x : y;
}

/* sum_j exp(z[j] - max z) of a row z (V), the max into *mx_out: exp in float (fs_expf) in 16 lanes, the lanes
 * added in double, so that a 50k-term sum stays accurate.  lse = max + log(sum). */
FS_INLINE double fs_sum_exp(const float *z, int V, float *mx_out)
{
  float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
  for (int j = 0; j < V; j++) mx = z[j] > mx ? z[j] : mx;
  enum { L = 16 };
  float part[L] = {0};
  int j = 0;
  for (; j + L <= V; j += L) {
#pragma omp simd
    for (int u = 0; u < L; u++) part[u] += fs_expf(z[j + u] - mx);
  }
  double sum = 0;
  for (int u = 0; u < L; u++) sum += part[u];
  for (; j < V; j++) sum += fs_expf(z[j] - mx);
  *mx_out = mx;
  return sum;
}

#endif
