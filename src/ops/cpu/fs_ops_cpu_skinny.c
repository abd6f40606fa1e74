/* fs_ops_cpu_skinny.c -- out (N,OC) = inp (N,C) @ weight (OC,C)^T (+ bias) for a few rows N: the products of
 * decoding (one new token per sequence).  sgemm copies (packs) the weight into panels on every call; with a few rows
 * the copy costs more than the product itself.  Here the weight is read once, where it lies: each thread takes
 * blocks of weight rows and forms their dot products with all N input rows, a tile of TN input rows x TO weight rows
 * at a time (one accumulator vector of 16 floats each), the input rows staying in cache.  The tile fills the vector
 * registers of the instruction set found at run time: 4 x 4 with AVX-512 (16 of 32 registers), 2 x 2 with AVX2
 * (8 of 16), 2 x 1 with SSE2 (8 of 16).
 * Sum order: out[n,o] is the sum over c of inp[n,c] * weight[o,c] kept in 16 lanes by c mod 16 (c below C rounded
 * down to 16), the lanes added in a fixed tree, then the remaining c in order, then the bias.  It depends neither on
 * N, nor on the tile the row falls in, nor on the threads: a sequence decodes to the same bits whatever else is in
 * the batch. */
#include <string.h>
#include "fs_ops_cpu_impl.h"

typedef float fs_v16 __attribute__((vector_size(64)));
typedef float fs_v8 __attribute__((vector_size(32)));
typedef float fs_v4 __attribute__((vector_size(16)));

/* l[0] + ... + l[15] by halves: (0..7 + 8..15), then (0..3 + 4..7), then pairs */
FS_INLINE float hsum16(const float *l)
{
  fs_v8 lo8, hi8;
  memcpy(&lo8, l, sizeof lo8);
  memcpy(&hi8, l + 8, sizeof hi8);
  fs_v8 s8 = lo8 + hi8;
  fs_v4 lo4, hi4;
  memcpy(&lo4, &s8, sizeof lo4);
  memcpy(&hi4, (const char *)&s8 + sizeof lo4, sizeof hi4);
  fs_v4 s4 = lo4 + hi4;
  return (s4[0] + s4[2]) + (s4[1] + s4[3]);
}

/* NAME(out, ldo, x, w, bias, C, NR, RO): out[i*ldo + j] = x_i . w_j (+ bias[j]) for the NR rows x_i of x and the RO
 * rows w_j of w (both of length C, rows C apart), with vectors of type VT, the machine's width (16 lanes are
 * 64 / sizeof(VT) of them: GCC keeps an array of vectors wider than the registers in memory).  NR and RO are
 * constants at every call, so the accumulators live in registers. */
#define FS_SKINNY_TILE_DEF(NAME, VT) \
  FS_INLINE void NAME(float *out, int64_t ldo, const float *x, const float *w, const float *bias, int C, const int NR, \
                      const int RO) \
  { \
    enum { H = 64 / sizeof(VT), W = 16 / H }; \
    VT acc[4][8][H]; \
    _Pragma("GCC unroll 4") for (int i = 0; i < NR; i++) \
    _Pragma("GCC unroll 8") for (int j = 0; j < RO; j++) \
    _Pragma("GCC unroll 4") for (int h = 0; h < H; h++) acc[i][j][h] = (VT){0}; \
    int c = 0; \
    for (; c + 16 <= C; c += 16) \
      _Pragma("GCC unroll 4") for (int h = 0; h < H; h++) { \
        VT wv[8]; \
        _Pragma("GCC unroll 8") for (int j = 0; j < RO; j++) \
          memcpy(&wv[j], w + (int64_t)j * C + c + h * W, sizeof wv[j]); /* unaligned loads */ \
        _Pragma("GCC unroll 4") for (int i = 0; i < NR; i++) { \
          VT xv; \
          memcpy(&xv, x + (int64_t)i * C + c + h * W, sizeof xv); \
          _Pragma("GCC unroll 8") for (int j = 0; j < RO; j++) acc[i][j][h] += xv * wv[j]; \
        } \
      } \
    _Pragma("GCC unroll 4") for (int i = 0; i < NR; i++) \
    _Pragma("GCC unroll 8") for (int j = 0; j < RO; j++) { \
      float l[16]; \
      memcpy(l, acc[i][j], sizeof l); \
      float s = hsum16(l); \
      for (int t = c; t < C; t++) s += x[(int64_t)i * C + t] * w[(int64_t)j * C + t]; \
      out[i * ldo + j] = bias ? s + bias[j] : s; \
    } \
  }

FS_SKINNY_TILE_DEF(skinny_tile_16, fs_v16)
FS_SKINNY_TILE_DEF(skinny_tile_8, fs_v8)
FS_SKINNY_TILE_DEF(skinny_tile_4, fs_v4)

/* the tile with vectors of VW floats */
FS_INLINE void skinny_tile(float *out, int64_t ldo, const float *x, const float *w, const float *bias, int C,
                           const int NR, const int RO, const int VW)
{
  if (VW == 16) skinny_tile_16(out, ldo, x, w, bias, C, NR, RO);
  else if (VW == 8) skinny_tile_8(out, ldo, x, w, bias, C, NR, RO);
  else skinny_tile_4(out, ldo, x, w, bias, C, NR, RO);
}

/* the NR (< TN) last input rows against weight rows 0..RB: as many weight rows per tile as keep NR * RO within the
 * TN * TO accumulators (more independent sums for the FMA latency) */
FS_INLINE void skinny_rest(float *out, const float *inp, const float *w, const float *b, int C, int OC, const int NR,
                           const int TN, const int TO, const int RB, const int VW)
{
  const int RO = NR * RB <= TN * TO ? RB : TO;
  for (int j = 0; j < RB; j += RO)
    skinny_tile(out + j, OC, inp, w + (int64_t)j * C, b ? b + j : NULL, C, NR, RO, VW);
}

/* weight rows 0..RB (RB a multiple of TO, or 1) against all N input rows, in tiles of TN x TO */
FS_INLINE void skinny_rows(float *out, const float *inp, const float *w, const float *b, int64_t N, int C, int OC,
                           const int TN, const int TO, const int RB, const int VW)
{
  const int RO = RB < TO ? RB : TO;
  int64_t n = 0;
  for (; n + TN <= N; n += TN)
    for (int j = 0; j < RB; j += RO)
      skinny_tile(out + n * OC + j, OC, inp + n * C, w + (int64_t)j * C, b ? b + j : NULL, C, TN, RO, VW);
  out += n * OC, inp += n * C;
  switch (N - n) { /* N - n < TN <= 4 */
  case 3: skinny_rest(out, inp, w, b, C, OC, 3, TN, TO, RB, VW); break;
  case 2: skinny_rest(out, inp, w, b, C, OC, 2, TN, TO, RB, VW); break;
  case 1: skinny_rest(out, inp, w, b, C, OC, 1, TN, TO, RB, VW); break;
  }
}

typedef void skinny_fn(float *out, const float *inp, const float *weight, const float *bias, int64_t N, int C, int OC,
                       int o0, int o1);

/* NAME(out, inp, weight, bias, N, C, OC, o0, o1): weight rows [o0, o1) against all N input rows, for one instruction
 * set: blocks of RB weight rows (then single rows), tiles of TN input x TO weight rows, vectors of VW floats (the
 * accumulators take TN * TO * 16 / VW registers) */
#define FS_SKINNY_VARIANT(NAME, ATTR, TN, TO, RB, VW) \
  ATTR static void NAME(float *out, const float *inp, const float *weight, const float *bias, int64_t N, int C, \
                        int OC, int o0, int o1) \
  { \
    int o = o0; \
    for (; o + RB <= o1; o += RB) \
      skinny_rows(out + o, inp, weight + (int64_t)o * C, bias ? bias + o : NULL, N, C, OC, TN, TO, RB, VW); \
    for (; o < o1; o++) \
      skinny_rows(out + o, inp, weight + (int64_t)o * C, bias ? bias + o : NULL, N, C, OC, TN, 1, 1, VW); \
  }

FS_SKINNY_VARIANT(skinny_block_base, , 2, 1, 2, 4)
#if defined(__GNUC__) && defined(__x86_64__) && !defined(FS_NO_CLONES)
FS_SKINNY_VARIANT(skinny_block_avx2, __attribute__((target("avx2,fma"))), 2, 2, 4, 8)
FS_SKINNY_VARIANT(skinny_block_avx512, __attribute__((target("avx512f"))), 4, 4, 8, 16)
#endif

/* the variants this CPU runs, best first */
static int skinny_variants(skinny_fn **fn)
{
  int n = 0;
#if defined(__GNUC__) && defined(__x86_64__) && !defined(FS_NO_CLONES)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) fn[n++] = skinny_block_avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) fn[n++] = skinny_block_avx2;
#endif
  fn[n++] = skinny_block_base;
  return n;
}

/* Below this many multiply-adds the product runs on the calling thread (a parallel region costs microseconds). */
#define FS_SKINNY_PAR_MIN ((int64_t)1 << 17)

int fs_matmul_skinny_variant_cpu(int v, float *out, const float *inp, const float *weight, const float *bias,
                                 int64_t N, int C, int OC)
{
  skinny_fn *fn[3], *block;
  if (v < 0 || v >= skinny_variants(fn)) return 0;
  block = fn[v];
  int nt = fs_ops_cpu_threads();
  if (N <= 0 || OC <= 0) return 1;
  if (nt <= 1 || N * C * (int64_t)OC < FS_SKINNY_PAR_MIN) {
    block(out, inp, weight, bias, N, C, OC, 0, OC);
    return 1;
  }
  /* pieces of whole 8-row blocks, about 4 per thread, handed out dynamically: a thread whose core is taken by
   * another process for a while leaves its pieces to the others instead of holding everyone at the barrier */
  int piece = (OC + 4 * nt - 1) / (4 * nt);
  piece = (piece + 7) / 8 * 8;
  if (piece < 16) piece = 16;
  int npiece = (OC + piece - 1) / piece;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
  for (int p = 0; p < npiece; p++) {
    int o0 = p * piece, o1 = o0 + piece < OC ? o0 + piece : OC;
    block(out, inp, weight, bias, N, C, OC, o0, o1);
  }
  return 1;
}

void fs_matmul_skinny_cpu(float *out, const float *inp, const float *weight, const float *bias, int64_t N, int C,
                          int OC)
{
  fs_matmul_skinny_variant_cpu(0, out, inp, weight, bias, N, C, OC);
}
