/* fs_ckpt_sum.c -- the per-tensor integrity checksum.  The flattened (row-major) tensor is cut into blocks of
 * B elements; a block's checksum is the sum mod 2^64 of hash(global index, stored bits) over its elements.
 * Sums of parts add up, so each rank checksums only its own hyperslab and one MPI_Allreduce gives the
 * checksum of the global tensor, whatever the layout.  The hash is a bijection of (index * odd ^ bits), so a
 * change in any single element always changes the block's sum; a moved element changes it too. */
#include "fs_ckpt_impl.h"

static inline uint64_t mix(int64_t i, uint32_t v)
{
  uint64_t z = (uint64_t)i * 0x9e3779b97f4a7c15ull ^ v; /* splitmix64's finalizer: bijective */
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void fs_ckpt_sum_block(uint64_t *sums, int64_t *counts, int64_t block, int ndim, const int64_t shape[],
                       const int64_t start[], const int64_t count[], const void *data, size_t elsize)
{
  int64_t cols = ndim == 2 ? shape[1] : 1, rows = count[0], seg = ndim == 2 ? count[1] : count[0];
  int64_t s1 = ndim == 2 ? start[1] : 0;
  if (ndim == 1) { /* one segment */
    rows = seg ? 1 : 0;
    cols = 0;
  }
  for (int64_t r = 0; r < rows; r++) {
    int64_t flat = ndim == 2 ? (start[0] + r) * cols + s1 : start[0];
    const unsigned char *row = (const unsigned char *)data + (size_t)(r * seg) * elsize;
    for (int64_t j = 0; j < seg;) {
      int64_t b = (flat + j) / block, end = (b + 1) * block - flat;
      uint64_t s = 0;
      if (end > seg) end = seg;
      if (elsize == 4) {
        const uint32_t *p = (const uint32_t *)row;
        for (int64_t k = j; k < end; k++) s += mix(flat + k, p[k]);
      } else {
        const uint16_t *p = (const uint16_t *)row;
        for (int64_t k = j; k < end; k++) s += mix(flat + k, p[k]);
      }
      sums[b] += s;
      if (counts) counts[b] += end - j;
      j = end;
    }
  }
}
