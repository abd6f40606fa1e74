/* fs_rng.c -- Philox4x32-10 and the draws built on it */
#include <math.h>
#include "fs_rng.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void fs_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
  uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3], k0 = key[0], k1 = key[1];
  for (int r = 0; r < 10; r++) {
    uint64_t p0 = (uint64_t)PHILOX_M0 * c0, p1 = (uint64_t)PHILOX_M1 * c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
    c1 = (uint32_t)p1;
    c3 = (uint32_t)p0;
    c0 = n0;
    c2 = n2;
    k0 += PHILOX_W0;
    k1 += PHILOX_W1;
  }
  out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

/* 64-bit FNV-1a of the name, mixed with the seed by splitmix64's finalizer */
struct fs_rng_key fs_rng_key(uint64_t seed, const char *name)
{
  uint64_t h = 0xcbf29ce484222325ull;
  for (const unsigned char *p = (const unsigned char *)name; *p; p++) h = (h ^ *p) * 0x100000001b3ull;
  uint64_t z = seed + 0x9e3779b97f4a7c15ull * (h | 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  struct fs_rng_key k = {{(uint32_t)z, (uint32_t)(z >> 32)}};
  return k;
}

static void draw(struct fs_rng_key key, uint64_t i, uint32_t out[4])
{
  uint32_t ctr[4] = {(uint32_t)i, (uint32_t)(i >> 32), 0x66736c63u /* "fslc" */, 0};
  fs_philox4x32_10(ctr, key.k, out);
}

float fs_rng_uniform(struct fs_rng_key key, uint64_t i)
{
  uint32_t r[4];
  draw(key, i, r);
  return (float)(r[0] >> 8) * (1.0f / 16777216.0f);
}

float fs_rng_normal(struct fs_rng_key key, uint64_t i)
{
  uint32_t r[4];
  draw(key, i, r);
  /* u1 in (0, 1] from 53 bits avoids log(0) */
  double u1 = ((double)(((uint64_t)r[0] << 21) ^ (r[1] >> 11)) + 1.0) * (1.0 / 9007199254740992.0);
  double u2 = (double)(((uint64_t)r[2] << 21) ^ (r[3] >> 11)) * (1.0 / 9007199254740992.0);
  return (float)(sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2));
}

void fs_rng_fill_normal(float *out, int64_t n, struct fs_rng_key key, uint64_t first, float mean, float std)
{
#pragma omp parallel for if (n > 65536)
  for (int64_t j = 0; j < n; j++) out[j] = mean + std * fs_rng_normal(key, first + (uint64_t)j);
}

void fs_rng_fill_uniform(float *out, int64_t n, struct fs_rng_key key, uint64_t first, float lo, float hi)
{
#pragma omp parallel for if (n > 65536)
  for (int64_t j = 0; j < n; j++) out[j] = lo + (hi - lo) * fs_rng_uniform(key, first + (uint64_t)j);
}
