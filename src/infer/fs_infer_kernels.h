/* fs_infer_kernels.h -- the decode-time kernels the op table (fs_ops.h) does not have: RoPE and learned
 * positions at per-token positions, storing K/V into the paged cache, and attention of each new token over the
 * cached keys/values of its own sequence.  Plain C + OpenMP, CPU only.  A CUDA backend will need these four in
 * the op table (rope at positions, position embedding at positions, kv store, paged attention); they are kept
 * here with op-table-like signatures (outputs first, sizes last) so moving them is mechanical. */
#ifndef FS_INFER_KERNELS_H
#define FS_INFER_KERNELS_H

#include <stdint.h>
#include "fs_kv_cache.h"

/* x (N,H,D) rotated in place (rotate-half, as fs_ops rope_forward), token n at position pos[n] */
void fs_infer_rope(float *x, const int64_t *pos, int64_t N, int H, int D, float base);
/* x (N,C) += wpe[pos[n]] (GPT-2's learned positions) */
void fs_infer_position_add(float *x, const float *wpe, const int64_t *pos, int64_t N, int C);
/* cache[layer][seq[n]][pos[n]] = k[n], v[n] (each (NKV,D)); the blocks must be reserved */
void fs_infer_kv_store(struct fs_kv_cache *c, const float *k, const float *v, const int *seq, const int64_t *pos,
                       int64_t N, int layer);
/* out (N,NH,D): causal attention of q (N,NH,D) (after RoPE) over cached positions 0..pos[n] of sequence seq[n];
 * GQA: query head h reads kv head h / (NH/NKV); scale 1/sqrt(D).  The new tokens' K/V must be stored first. */
void fs_infer_paged_attention(float *out, const float *q, const struct fs_kv_cache *c, const int *seq,
                              const int64_t *pos, int64_t N, int NH, int layer);

#endif
