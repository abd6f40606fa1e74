/* fs_mt19937.c -- MT19937 (Matsumoto & Nishimura) with numpy's legacy seeding and bounded draws; see the header */
#include "fs_mt19937.h"

#define MT_M 397
#define MT_MATRIX_A 0x9908b0dfU
#define MT_UPPER 0x80000000U
#define MT_LOWER 0x7fffffffU

void fs_mt19937_seed(struct fs_mt19937 *mt, uint32_t seed)
{
  for (int i = 0; i < FS_MT19937_N; i++) {
    mt->key[i] = seed;
    seed = 1812433253U * (seed ^ (seed >> 30)) + (uint32_t)(i + 1);
  }
  mt->pos = FS_MT19937_N;
}

/* regenerates all 624 words at once (the reference "generate N words" step) */
static void mt_refill(struct fs_mt19937 *mt)
{
  uint32_t *k = mt->key;
  int i;
  for (i = 0; i < FS_MT19937_N - MT_M; i++) {
    uint32_t y = (k[i] & MT_UPPER) | (k[i + 1] & MT_LOWER);
    k[i] = k[i + MT_M] ^ (y >> 1) ^ ((y & 1U) ? MT_MATRIX_A : 0U);
  }
  for (; i < FS_MT19937_N - 1; i++) {
    uint32_t y = (k[i] & MT_UPPER) | (k[i + 1] & MT_LOWER);
    k[i] = k[i + (MT_M - FS_MT19937_N)] ^ (y >> 1) ^ ((y & 1U) ? MT_MATRIX_A : 0U);
  }
  uint32_t y = (k[FS_MT19937_N - 1] & MT_UPPER) | (k[0] & MT_LOWER);
  k[FS_MT19937_N - 1] = k[MT_M - 1] ^ (y >> 1) ^ ((y & 1U) ? MT_MATRIX_A : 0U);
  mt->pos = 0;
}

uint32_t fs_mt19937_next32(struct fs_mt19937 *mt)
{
  if (mt->pos >= FS_MT19937_N) mt_refill(mt);
  uint32_t y = mt->key[mt->pos++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680U;
  y ^= (y << 15) & 0xefc60000U;
  y ^= y >> 18;
  return y;
}

uint64_t fs_mt19937_next64(struct fs_mt19937 *mt)
{
  uint64_t hi = fs_mt19937_next32(mt);
  return (hi << 32) | fs_mt19937_next32(mt);
}

uint64_t fs_mt19937_interval(struct fs_mt19937 *mt, uint64_t max)
{
  if (max == 0) return 0; /* numpy draws nothing here: the stream must not advance */
  uint64_t mask = max, v;
  mask |= mask >> 1;
  mask |= mask >> 2;
  mask |= mask >> 4;
  mask |= mask >> 8;
  mask |= mask >> 16;
  mask |= mask >> 32;
  if (max <= 0xffffffffULL) {
    while ((v = (fs_mt19937_next32(mt) & mask)) > max) {
    }
  } else {
    while ((v = (fs_mt19937_next64(mt) & mask)) > max) {
    }
  }
  return v;
}

#define FS_MT_SHUFFLE(name, type) \
  void name(struct fs_mt19937 *mt, type *x, int64_t n) \
  { \
    for (int64_t i = n - 1; i >= 1; i--) { \
      int64_t j = (int64_t)fs_mt19937_interval(mt, (uint64_t)i); \
      type t = x[j]; \
      x[j] = x[i]; \
      x[i] = t; \
    } \
  }
FS_MT_SHUFFLE(fs_mt19937_shuffle_i32, int32_t)
FS_MT_SHUFFLE(fs_mt19937_shuffle_u32, uint32_t)
FS_MT_SHUFFLE(fs_mt19937_shuffle_i64, int64_t)
