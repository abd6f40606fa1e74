/* test_core_rng.c -- Philox4x32-10 against the published known-answer vectors (Random123's kat_vectors),
 * layout independence of the streams, and the moments of the normal draws. */
#include <stdlib.h>
#include <string.h>
#include "fs_rng.h"
#include "fs_test.h"

int main(void)
{
  static const uint32_t kat[3][10] = {
    /* ctr[4], key[2], expected[4] */
    {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
    {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d, 0x41c83b0e, 0xa20bc7c6,
     0x6d5451fd},
    {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb, 0x5001e420,
     0x24126ea1},
  };
  for (int v = 0; v < 3; v++) {
    uint32_t out[4];
    fs_philox4x32_10(kat[v], kat[v] + 4, out);
    for (int j = 0; j < 4; j++)
      FS_EXPECT(out[j] == kat[v][6 + j], "vector %d word %d: %08x != %08x", v, j, out[j], kat[v][6 + j]);
  }

  /* a slice drawn on its own equals the same slice of the whole stream (any rank, any layout) */
  enum { N = 100003 };
  float *all = malloc(N * sizeof *all), *part = malloc(N * sizeof *part);
  struct fs_rng_key k = fs_rng_key(1234, "model.layers.0.self_attn.q_proj.weight");
  fs_rng_fill_normal(all, N, k, 0, 0.0f, 0.02f);
  fs_rng_fill_normal(part, 777, k, 50000, 0.0f, 0.02f);
  FS_EXPECT(!memcmp(part, all + 50000, 777 * sizeof(float)), "slice differs from the whole stream");

  /* other name or other seed -> other stream */
  struct fs_rng_key k2 = fs_rng_key(1234, "model.layers.1.self_attn.q_proj.weight"), k3 = fs_rng_key(1235,
    "model.layers.0.self_attn.q_proj.weight");
  int same2 = 0, same3 = 0;
  for (int i = 0; i < 1000; i++) {
    same2 += fs_rng_uniform(k2, i) == fs_rng_uniform(k, i);
    same3 += fs_rng_uniform(k3, i) == fs_rng_uniform(k, i);
  }
  FS_EXPECT(same2 < 5 && same3 < 5, "streams coincide: %d %d", same2, same3);

  /* moments of N(0, 1) over 10^6 draws: mean within 5 sigma (0.005), variance within 1%, kurtosis ~3 */
  double s1 = 0, s2 = 0, s4 = 0, u1 = 0;
  const int n = 1000000;
  for (int i = 0; i < n; i++) {
    double z = fs_rng_normal(k, i), u = fs_rng_uniform(k, i);
    s1 += z, s2 += z * z, s4 += z * z * z * z, u1 += u;
    FS_EXPECT(u >= 0 && u < 1, "uniform out of [0,1): %g", u);
    if (!(u >= 0 && u < 1)) break;
  }
  double mean = s1 / n, var = s2 / n - mean * mean, kurt = s4 / n / (var * var);
  FS_EXPECT(fabs(mean) < 0.005, "normal mean %g", mean);
  FS_EXPECT(fabs(var - 1) < 0.01, "normal variance %g", var);
  FS_EXPECT(fabs(kurt - 3) < 0.05, "normal kurtosis %g", kurt);
  FS_EXPECT(fabs(u1 / n - 0.5) < 0.002, "uniform mean %g", u1 / n);
  free(all);
  free(part);
  return fs_test_done("test_core_rng");
}
