/* test_core_dtype.c -- bf16/fp16 conversions checked against the definition of round-to-nearest-even,
 * computed independently in double: the result must be a representable neighbour of x, no other
 * representable value may be closer, and ties must go to the even mantissa. */
#include <stdint.h>
#include <string.h>
#include "fs_dtype.h"
#include "fs_test.h"

static float f_of(uint32_t u) { float x; memcpy(&x, &u, 4); return x; }
static uint32_t u_of(float x) { uint32_t u; memcpy(&u, &x, 4); return u; }

/* all finite values of a 16-bit format, sorted by value, positive half only */
static double half_value(uint16_t h, int is_bf16) { return is_bf16 ? fs_bf16_to_fp32(h) : fs_fp16_to_fp32(h); }

static int check_rne(float x, int is_bf16)
{
  uint16_t h = is_bf16 ? fs_fp32_to_bf16(x) : fs_fp32_to_fp16(x);
  double y = half_value(h, is_bf16), ax = fabs((double)x);
  uint16_t mag = h & 0x7fff, inf = is_bf16 ? 0x7f80 : 0x7c00;
  if (isnan(x)) return isnan(y);
  if (!signbit(y) != !signbit(x) && y != 0) return 0;
  if (mag == inf) { /* overflow: x must be at least halfway past the largest finite value */
    double maxf = half_value(inf - 1, is_bf16), prev = half_value(inf - 2, is_bf16);
    return isinf(x) || ax >= maxf + (maxf - prev) / 2;
  }
  double ay = fabs(y);
  double lo = mag ? half_value(mag - 1, is_bf16) : -half_value(1, is_bf16);
  double hi = half_value(mag + 1, is_bf16);
  if (mag + 1 == inf) hi = ay + (ay - lo); /* the next step past the largest finite value */
  double d = fabs(ax - ay);
  if (d > fabs(ax - lo) || d > fabs(hi - ax)) return 0;          /* a closer neighbour exists */
  if ((d == fabs(ax - lo) || d == fabs(hi - ax)) && d != 0) return (mag & 1) == 0; /* tie -> even */
  return 1;
}

int main(void)
{
  /* every 16-bit pattern converts to fp32 and back unchanged (NaNs stay NaN) */
  int bad_b = 0, bad_h = 0;
  for (uint32_t h = 0; h < 65536; h++) {
    float fb = fs_bf16_to_fp32((uint16_t)h), fh = fs_fp16_to_fp32((uint16_t)h);
    if (isnan(fb) ? !isnan(fs_bf16_to_fp32(fs_fp32_to_bf16(fb))) : fs_fp32_to_bf16(fb) != h) bad_b++;
    if (isnan(fh) ? !isnan(fs_fp16_to_fp32(fs_fp32_to_fp16(fh))) : fs_fp32_to_fp16(fh) != h) bad_h++;
  }
  FS_EXPECT(bad_b == 0, "%d bf16 patterns do not round-trip", bad_b);
  FS_EXPECT(bad_h == 0, "%d fp16 patterns do not round-trip", bad_h);
  /* fp16 decoding against its definition: (-1)^s 2^(e-15) (1 + m/1024), subnormals 2^-14 m/1024 */
  int bad_dec = 0;
  for (uint32_t h = 0; h < 65536; h++) {
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    if (e == 31) continue;
    double v = e ? ldexp(1.0 + m / 1024.0, e - 15) : ldexp(m / 1024.0, -14);
    if ((double)fs_fp16_to_fp32((uint16_t)h) != (s ? -v : v)) bad_dec++;
  }
  FS_EXPECT(bad_dec == 0, "%d fp16 values decode wrongly", bad_dec);

  /* rounding: all fp32 patterns near every 16-bit boundary (ties, +-1 ulp) and a stride over all of fp32 */
  int bad_rb = 0, bad_rh = 0;
  for (uint32_t hb = 0; hb < 65536; hb++) {
    uint32_t base = hb << 16;
    uint32_t probes[] = {base, base + 1, base + 0x7fff, base + 0x8000, base + 0x8001, base + 0xffff};
    for (int p = 0; p < 6; p++) bad_rb += !check_rne(f_of(probes[p]), 1);
    float fh = fs_fp16_to_fp32((uint16_t)hb);
    if (isnan(fh) || isinf(fh)) continue;
    uint32_t u = u_of(fh);
    for (int dlt = -4200; dlt <= 4200; dlt += 7) bad_rh += !check_rne(f_of(u + (uint32_t)dlt), 0);
  }
  for (uint64_t u = 0; u < 0x100000000ull; u += 9973) {
    bad_rb += !check_rne(f_of((uint32_t)u), 1);
    bad_rh += !check_rne(f_of((uint32_t)u), 0);
  }
  FS_EXPECT(bad_rb == 0, "%d fp32 -> bf16 roundings are not nearest-even", bad_rb);
  FS_EXPECT(bad_rh == 0, "%d fp32 -> fp16 roundings are not nearest-even", bad_rh);
  FS_EXPECT(fs_dtype_size(FS_DTYPE_BF16) == 2 && fs_dtype_size(FS_DTYPE_I64) == 8, "dtype sizes");
  return fs_test_done("test_core_dtype");
}
