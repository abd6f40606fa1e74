/* fs_rng.h -- counter-based RNG (Philox4x32-10, Salmon et al., SC'11): the value at index i depends only on
 * (key, i), so every rank can draw any slice of a global tensor and get the same numbers whatever the
 * parallel layout (DESIGN.md principle 2).  Keys come from (seed, name): fs_rng_key(seed, "model.norm.weight"). */
#ifndef FS_RNG_H
#define FS_RNG_H

#include <stdint.h>

struct fs_rng_key { uint32_t k[2]; };

void fs_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);
struct fs_rng_key fs_rng_key(uint64_t seed, const char *name);
/* uniform in [0, 1) with 24 random bits, element index i */
float fs_rng_uniform(struct fs_rng_key key, uint64_t i);
/* standard normal (Box-Muller on 2 x 32 bits), element index i */
float fs_rng_normal(struct fs_rng_key key, uint64_t i);
/* out[j] = mean + std * normal(first + j), j < n: a slice [first, first + n) of a global stream */
void fs_rng_fill_normal(float *out, int64_t n, struct fs_rng_key key, uint64_t first, float mean, float std);
void fs_rng_fill_uniform(float *out, int64_t n, struct fs_rng_key key, uint64_t first, float lo, float hi);

#endif
