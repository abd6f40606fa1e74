/* fs_dtype.c -- dtype sizes and half-precision conversions */
#include <string.h>
#include "fs_dtype.h"

static const size_t k_size[FS_DTYPE_COUNT] = {4, 2, 2, 4, 8, 2, 1};
static const char *const k_name[FS_DTYPE_COUNT] = {"f32", "bf16", "f16", "i32", "i64", "u16", "u8"};
size_t fs_dtype_size(enum fs_dtype t) { return (unsigned)t < FS_DTYPE_COUNT ? k_size[t] : 0; }
const char *fs_dtype_name(enum fs_dtype t) { return (unsigned)t < FS_DTYPE_COUNT ? k_name[t] : "?"; }

static uint32_t bits_of(float x)
{
  uint32_t u;
  memcpy(&u, &x, 4);
  return u;
}
static float float_of(uint32_t u)
{
  float x;
  memcpy(&x, &u, 4);
  return x;
}

uint16_t fs_fp32_to_bf16(float x)
{
  uint32_t u = bits_of(x);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* NaN: keep sign, make quiet */
  u += 0x7fffu + ((u >> 16) & 1);                                             /* round to nearest even */
  return (uint16_t)(u >> 16);
}

float fs_bf16_to_fp32(uint16_t h) { return float_of((uint32_t)h << 16); }

uint16_t fs_fp32_to_fp16(float x)
{
  uint32_t u = bits_of(x), sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu)); /* NaN */
  if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds to >= 65520: inf */
  if (a < 0x38800000u) {                                    /* below 2^-14: fp16 subnormal or zero */
    if (a < 0x33000000u) return (uint16_t)sign;             /* below 2^-25: rounds to zero */
    uint32_t e = a >> 23, m = (a & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126 - e; /* value = m * 2^(e-150); subnormal unit 2^-24 -> shift by 126-e */
    uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1))) q++;
    return (uint16_t)(sign | q);
  }
  uint32_t r = a - 0x38000000u; /* rebias exponent 127 -> 15 */
  r += 0xfffu + ((r >> 13) & 1);
  return (uint16_t)(sign | (r >> 13));
}

float fs_fp16_to_fp32(uint16_t h)
{
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0x1f) return float_of(sign | 0x7f800000u | (m << 13));
  if (e) return float_of(sign | ((e + 112) << 23) | (m << 13));
  if (!m) return float_of(sign);
  float v = (float)m * (1.0f / 16777216.0f); /* m * 2^-24, exact */
  return sign ? -v : v;
}

#define FS_CONVERT_LOOP(fn, conv, tout, tin) \
  void fn(tout *out, const tin *in, int64_t n) \
  { \
    _Pragma("omp parallel for if (n > 262144)") for (int64_t i = 0; i < n; i++) out[i] = conv(in[i]); \
  }
FS_CONVERT_LOOP(fs_convert_fp32_to_bf16, fs_fp32_to_bf16, uint16_t, float)
FS_CONVERT_LOOP(fs_convert_bf16_to_fp32, fs_bf16_to_fp32, float, uint16_t)
FS_CONVERT_LOOP(fs_convert_fp32_to_fp16, fs_fp32_to_fp16, uint16_t, float)
FS_CONVERT_LOOP(fs_convert_fp16_to_fp32, fs_fp16_to_fp32, float, uint16_t)
