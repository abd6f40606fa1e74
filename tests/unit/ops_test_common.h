/* ops_test_common.h -- helpers of the op tests: deterministic random fills, buffers with a guard tail (an op that
 * writes past its output is caught), and the normalized error max|a - b| / max|b|. */
#ifndef OPS_TEST_COMMON_H
#define OPS_TEST_COMMON_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fs_test.h"

enum { TOPS_GUARD = 16 };
#define TOPS_GUARD_VALUE 12345.678f

static uint64_t tops_state = 0x9e3779b97f4a7c15ull;
static inline double tops_uniform(void) /* splitmix64 -> [0, 1) */
{
  uint64_t z = (tops_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return (double)((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}

/* n floats uniform in [lo, hi), followed by a guard tail */
static inline float *tops_rand(int64_t n, float lo, float hi)
{
  float *p = malloc((size_t)(n + TOPS_GUARD) * sizeof *p);
  if (!p) {
    fprintf(stderr, "test: out of memory\n");
    exit(1);
  }
  for (int64_t i = 0; i < n; i++) p[i] = (float)(lo + (hi - lo) * tops_uniform());
  for (int i = 0; i < TOPS_GUARD; i++) p[n + i] = TOPS_GUARD_VALUE;
  return p;
}

static inline float *tops_copy(const float *src, int64_t n)
{
  float *p = tops_rand(n, 0, 0);
  memcpy(p, src, (size_t)n * sizeof *p);
  return p;
}

static inline int tops_guard_ok(const float *p, int64_t n)
{
  for (int i = 0; i < TOPS_GUARD; i++)
    if (p[n + i] != TOPS_GUARD_VALUE) return 0;
  return 1;
}

static inline double tops_nerr(const float *a, const float *b, int64_t n)
{
  double num = 0, den = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - b[i]);
    if (isnan(d)) return NAN; /* fails every check */
    if (d > num) num = d;
    if (fabs((double)b[i]) > den) den = fabs((double)b[i]);
  }
  return den > 0 ? num / den : num;
}

/* packed positions (B,T) (fs_ops.h): each row holds documents of random lengths 1 .. max_len, the last one cut by
 * the row's end */
static inline int32_t *tops_positions(int B, int T, int max_len)
{
  int32_t *pos = malloc((size_t)B * T * sizeof *pos);
  if (!pos) {
    fprintf(stderr, "test: out of memory\n");
    exit(1);
  }
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T;) {
      int len = 1 + (int)(tops_uniform() * max_len);
      for (int u = 0; u < len && t < T; u++, t++) pos[(int64_t)b * T + t] = u;
    }
  return pos;
}

#endif
