/* fs_gguf_quant.c -- ggml tensor types: block sizes and dequantization to fp32 (fs_gguf.h).
 * Written from the block layouts (ggml-common.h); the products are formed in the same order as ggml's reference
 * dequantizers (scale = d * sub-scale first, then scale * q [- dmin * min]) so results match them bit for bit
 * (no FMA contraction: the library is not built with -mfma). */
#include <string.h>
#include "fs_gguf.h"
#include "fs_dtype.h"

#define QK 32   /* elements per block of the legacy types */
#define QK_K 256 /* elements per super-block of the k-quants */

static const struct {
  int type;
  const char *name;
  int64_t elems;
  size_t bytes;
  int supported;
} ggml_types[] = {
  {FS_GGML_F32, "F32", 1, 4, 1},      {FS_GGML_F16, "F16", 1, 2, 1},        {FS_GGML_Q4_0, "Q4_0", QK, 18, 1},
  {FS_GGML_Q4_1, "Q4_1", QK, 20, 1},  {FS_GGML_Q5_0, "Q5_0", QK, 22, 1},    {FS_GGML_Q5_1, "Q5_1", QK, 24, 1},
  {FS_GGML_Q8_0, "Q8_0", QK, 34, 1},  {FS_GGML_Q8_1, "Q8_1", QK, 36, 0},    {FS_GGML_Q2_K, "Q2_K", QK_K, 84, 1},
  {FS_GGML_Q3_K, "Q3_K", QK_K, 110, 1}, {FS_GGML_Q4_K, "Q4_K", QK_K, 144, 1}, {FS_GGML_Q5_K, "Q5_K", QK_K, 176, 1},
  {FS_GGML_Q6_K, "Q6_K", QK_K, 210, 1}, {FS_GGML_Q8_K, "Q8_K", QK_K, 292, 1}, {FS_GGML_I8, "I8", 1, 1, 1},
  {FS_GGML_I16, "I16", 1, 2, 1},      {FS_GGML_I32, "I32", 1, 4, 1},        {FS_GGML_I64, "I64", 1, 8, 1},
  {FS_GGML_F64, "F64", 1, 8, 1},      {FS_GGML_BF16, "BF16", 1, 2, 1},
  /* i-quants and others: known sizes so files list and validate, but not dequantized here */
  {16, "IQ2_XXS", QK_K, 66, 0},       {17, "IQ2_XS", QK_K, 74, 0},          {18, "IQ3_XXS", QK_K, 98, 0},
  {19, "IQ1_S", QK_K, 50, 0},         {20, "IQ4_NL", QK, 18, 0},            {21, "IQ3_S", QK_K, 110, 0},
  {22, "IQ2_S", QK_K, 82, 0},         {23, "IQ4_XS", QK_K, 136, 0},         {29, "IQ1_M", QK_K, 56, 0},
  {34, "TQ1_0", QK_K, 54, 0},         {35, "TQ2_0", QK_K, 66, 0},
};
#define N_TYPES (sizeof ggml_types / sizeof *ggml_types)

static int find_type(int type)
{
  for (size_t i = 0; i < N_TYPES; i++)
    if (ggml_types[i].type == type) return (int)i;
  return -1;
}

const char *fs_ggml_type_name(int type) { return find_type(type) >= 0 ? ggml_types[find_type(type)].name : "unknown"; }
int64_t fs_ggml_block_elems(int type) { return find_type(type) >= 0 ? ggml_types[find_type(type)].elems : 0; }
size_t fs_ggml_block_bytes(int type) { return find_type(type) >= 0 ? ggml_types[find_type(type)].bytes : 0; }
int fs_ggml_type_supported(int type) { return find_type(type) >= 0 && ggml_types[find_type(type)].supported; }

static float half(const unsigned char *p)
{
  uint16_t h;
  memcpy(&h, p, 2);
  return fs_fp16_to_fp32(h);
}

/* block: d (f16), qs[16]: element j is the low nibble of qs[j], element j+16 the high nibble; q - 8 */
static void deq_q4_0(float *y, const unsigned char *b)
{
  float d = half(b);
  for (int j = 0; j < QK / 2; j++) {
    y[j] = d * (float)((b[2 + j] & 0xF) - 8);
    y[j + QK / 2] = d * (float)((b[2 + j] >> 4) - 8);
  }
}

/* d, m (f16), qs[16]: d * q + m */
static void deq_q4_1(float *y, const unsigned char *b)
{
  float d = half(b), m = half(b + 2);
  for (int j = 0; j < QK / 2; j++) {
    y[j] = d * (float)(b[4 + j] & 0xF) + m;
    y[j + QK / 2] = d * (float)(b[4 + j] >> 4) + m;
  }
}

/* d (f16), qh (u32: bit j = 5th bit of element j), qs[16] as in Q4_0; q - 16 */
static void deq_q5_0(float *y, const unsigned char *b)
{
  float d = half(b);
  uint32_t qh;
  memcpy(&qh, b + 2, 4);
  for (int j = 0; j < QK / 2; j++) {
    int lo = (b[6 + j] & 0xF) | (int)(((qh >> j) & 1) << 4);
    int hi = (b[6 + j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
    y[j] = d * (float)(lo - 16);
    y[j + QK / 2] = d * (float)(hi - 16);
  }
}

static void deq_q5_1(float *y, const unsigned char *b)
{
  float d = half(b), m = half(b + 2);
  uint32_t qh;
  memcpy(&qh, b + 4, 4);
  for (int j = 0; j < QK / 2; j++) {
    int lo = (b[8 + j] & 0xF) | (int)(((qh >> j) & 1) << 4);
    int hi = (b[8 + j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
    y[j] = d * (float)lo + m;
    y[j + QK / 2] = d * (float)hi + m;
  }
}

/* d (f16), qs[32] int8 */
static void deq_q8_0(float *y, const unsigned char *b)
{
  float d = half(b);
  for (int j = 0; j < QK; j++) y[j] = (float)(int8_t)b[2 + j] * d;
}

/* scales[16] (low nibble: scale, high: min, per 16 elements), qs[64] (2 bits), d, dmin (f16).
 * Element e = 128c + 32s + l takes bits 2s..2s+1 of qs[32c + l]. */
static void deq_q2_k(float *y, const unsigned char *b)
{
  const unsigned char *sc = b, *qs = b + 16;
  float d = half(b + 80), dmin = half(b + 82);
  for (int e = 0; e < QK_K; e++) {
    int c = e / 128, s = (e / 32) % 4, l = e % 32, g = e / 16;
    float dl = d * (float)(sc[g] & 0xF), ml = dmin * (float)(sc[g] >> 4);
    y[e] = dl * (float)((qs[32 * c + l] >> (2 * s)) & 3) - ml;
  }
}

/* hmask[32], qs[64] (2 low bits), scales[12] (16 6-bit signed scales, offset 32), d (f16).
 * Low bits as Q2_K; the high bit of element e = 32s + l is bit s of hmask[l], and a CLEAR bit subtracts 4. */
static void deq_q3_k(float *y, const unsigned char *b)
{
  const unsigned char *hm = b, *qs = b + 32, *sc = b + 96;
  float d = half(b + 108);
  float dl[16];
  for (int g = 0; g < 16; g++) {
    int lo = g < 8 ? (sc[g] & 0xF) : (sc[g - 8] >> 4);
    int hi = (sc[8 + g % 4] >> (2 * (g / 4))) & 3;
    dl[g] = d * (float)((int8_t)(lo | (hi << 4)) - 32);
  }
  for (int e = 0; e < QK_K; e++) {
    int c = e / 128, s = (e / 32) % 4, l = e % 32;
    int q = (qs[32 * c + l] >> (2 * s)) & 3;
    int h = (hm[l] >> (e / 32)) & 1;
    y[e] = dl[e / 16] * (float)(q - (h ? 0 : 4));
  }
}

/* the 8 6-bit (scale, min) pairs packed in 12 bytes, shared by Q4_K and Q5_K */
static void scale_min_k4(int j, const unsigned char *s, int *sc, int *m)
{
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
    *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

/* d, dmin (f16), scales[12], qs[128]: element e = 64c + 32h + l is nibble h of qs[32c + l]; group e/32 */
static void deq_q4_k(float *y, const unsigned char *b)
{
  float d = half(b), dmin = half(b + 2);
  const unsigned char *s = b + 4, *qs = b + 16;
  for (int g = 0; g < 8; g++) {
    int sc, m;
    scale_min_k4(g, s, &sc, &m);
    float dl = d * (float)sc, ml = dmin * (float)m;
    int c = g / 2, h = g % 2;
    for (int l = 0; l < 32; l++) y[32 * g + l] = dl * (float)((qs[32 * c + l] >> (4 * h)) & 0xF) - ml;
  }
}

/* as Q4_K with qh[32] before qs: the 5th bit of element e = 32g + l is bit g of qh[l] */
static void deq_q5_k(float *y, const unsigned char *b)
{
  float d = half(b), dmin = half(b + 2);
  const unsigned char *s = b + 4, *qh = b + 16, *qs = b + 48;
  for (int g = 0; g < 8; g++) {
    int sc, m;
    scale_min_k4(g, s, &sc, &m);
    float dl = d * (float)sc, ml = dmin * (float)m;
    int c = g / 2, h = g % 2;
    for (int l = 0; l < 32; l++) {
      int q = ((qs[32 * c + l] >> (4 * h)) & 0xF) | (((qh[l] >> g) & 1) << 4);
      y[32 * g + l] = dl * (float)q - ml;
    }
  }
}

/* ql[128] (low 4 bits), qh[64] (high 2 bits), scales[16] int8 (per 16 elements), d (f16); q - 32.
 * Element e = 128c + 64h + l (l < 64): nibble h of ql[64c + l]; its high bits, with e = 128c + 32s + l' (l' < 32),
 * are bits 2s..2s+1 of qh[32c + l']. */
static void deq_q6_k(float *y, const unsigned char *b)
{
  const unsigned char *ql = b, *qh = b + 128;
  const int8_t *sc = (const int8_t *)(b + 192);
  float d = half(b + 208);
  for (int e = 0; e < QK_K; e++) {
    int c = e / 128, r = e % 128;
    int lo = (ql[64 * c + r % 64] >> (4 * (r / 64))) & 0xF;
    int hi = (qh[32 * c + r % 32] >> (2 * (r / 32))) & 3;
    y[e] = (d * (float)sc[e / 16]) * (float)((lo | (hi << 4)) - 32);
  }
}

/* d (f32), qs[256] int8, bsums[16] (unused here) */
static void deq_q8_k(float *y, const unsigned char *b)
{
  float d;
  memcpy(&d, b, 4);
  for (int j = 0; j < QK_K; j++) y[j] = d * (float)(int8_t)b[4 + j];
}

PetscErrorCode fs_gguf_dequantize(float *out, int type, const void *data, int64_t n_elem)
{
  const unsigned char *p = data;
  int64_t be = fs_ggml_block_elems(type);
  size_t bb = fs_ggml_block_bytes(type);
  void (*deq)(float *, const unsigned char *) = NULL;

  PetscFunctionBegin;
  FSCheck(fs_ggml_type_supported(type), PETSC_COMM_SELF, PETSC_ERR_SUP, "ggml type %s (%d) cannot be dequantized here",
          fs_ggml_type_name(type), type);
  FSCheck(n_elem % be == 0, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "%lld elements are not whole %s blocks of %lld",
          (long long)n_elem, fs_ggml_type_name(type), (long long)be);
  switch (type) {
  case FS_GGML_F32: memcpy(out, p, (size_t)n_elem * 4); PetscFunctionReturn(PETSC_SUCCESS);
  case FS_GGML_F16:
  case FS_GGML_BF16:
    for (int64_t i = 0; i < n_elem; i++) {
      uint16_t h;
      memcpy(&h, p + 2 * i, 2);
      out[i] = type == FS_GGML_F16 ? fs_fp16_to_fp32(h) : fs_bf16_to_fp32(h);
    }
    PetscFunctionReturn(PETSC_SUCCESS);
  case FS_GGML_F64:
    for (int64_t i = 0; i < n_elem; i++) {
      double v;
      memcpy(&v, p + 8 * i, 8);
      out[i] = (float)v;
    }
    PetscFunctionReturn(PETSC_SUCCESS);
  case FS_GGML_I8:
    for (int64_t i = 0; i < n_elem; i++) out[i] = (float)(int8_t)p[i];
    PetscFunctionReturn(PETSC_SUCCESS);
  case FS_GGML_I16:
    for (int64_t i = 0; i < n_elem; i++) { int16_t v; memcpy(&v, p + 2 * i, 2); out[i] = (float)v; }
    PetscFunctionReturn(PETSC_SUCCESS);
  case FS_GGML_I32:
    for (int64_t i = 0; i < n_elem; i++) { int32_t v; memcpy(&v, p + 4 * i, 4); out[i] = (float)v; }
    PetscFunctionReturn(PETSC_SUCCESS);
  case FS_GGML_I64:
    for (int64_t i = 0; i < n_elem; i++) { int64_t v; memcpy(&v, p + 8 * i, 8); out[i] = (float)v; }
    PetscFunctionReturn(PETSC_SUCCESS);
  case FS_GGML_Q4_0: deq = deq_q4_0; break;
  case FS_GGML_Q4_1: deq = deq_q4_1; break;
  case FS_GGML_Q5_0: deq = deq_q5_0; break;
  case FS_GGML_Q5_1: deq = deq_q5_1; break;
  case FS_GGML_Q8_0: deq = deq_q8_0; break;
  case FS_GGML_Q2_K: deq = deq_q2_k; break;
  case FS_GGML_Q3_K: deq = deq_q3_k; break;
  case FS_GGML_Q4_K: deq = deq_q4_k; break;
  case FS_GGML_Q5_K: deq = deq_q5_k; break;
  case FS_GGML_Q6_K: deq = deq_q6_k; break;
  case FS_GGML_Q8_K: deq = deq_q8_k; break;
  default: break;
  }
  for (int64_t blk = 0; blk < n_elem / be; blk++) deq(out + blk * be, p + (size_t)blk * bb);
  PetscFunctionReturn(PETSC_SUCCESS);
}
