/* fs_mt19937.h -- the Mersenne Twister exactly as numpy's legacy np.random.RandomState uses it, so that index
 * shuffles made here are bit-identical to Megatron's (which shuffles with RandomState(seed).shuffle).
 *   seeding:   RandomState(int seed) -> init_genrand(seed) (Knuth's LCG fill of the 624-word key)
 *   bounded:   random_interval(max): smallest all-ones mask >= max, redraw until (draw & mask) <= max, with one
 *              32-bit draw when max fits 32 bits, else a 64-bit draw (hi word first)
 *   shuffle:   for i = n-1 .. 1: j = random_interval(i); swap(x[i], x[j])
 * Not to be confused with fs_rng.h (Philox, counter-based) that the model uses. */
#ifndef FS_MT19937_H
#define FS_MT19937_H

#include <stdint.h>

#define FS_MT19937_N 624

struct fs_mt19937 {
  uint32_t key[FS_MT19937_N]; /* (624) state words */
  int pos;                    /* next word of key to temper; 624 = regenerate first */
};

void fs_mt19937_seed(struct fs_mt19937 *mt, uint32_t seed);
uint32_t fs_mt19937_next32(struct fs_mt19937 *mt);
uint64_t fs_mt19937_next64(struct fs_mt19937 *mt); /* (first << 32) | second, as numpy's mt19937_next64 */
uint64_t fs_mt19937_interval(struct fs_mt19937 *mt, uint64_t max); /* uniform in [0, max] */

/* in-place shuffles of a 1-D array, the same draws and swaps as RandomState.shuffle */
void fs_mt19937_shuffle_i32(struct fs_mt19937 *mt, int32_t *x, int64_t n);
void fs_mt19937_shuffle_u32(struct fs_mt19937 *mt, uint32_t *x, int64_t n);
void fs_mt19937_shuffle_i64(struct fs_mt19937 *mt, int64_t *x, int64_t n);

#endif
