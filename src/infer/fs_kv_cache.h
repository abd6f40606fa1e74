/* fs_kv_cache.h -- a paged key/value cache (vLLM's PagedAttention layout): the cache memory is cut into blocks
 * of block_size token slots; each sequence holds a block table (its blocks in position order), so sequences of
 * any length share one pool without fragmentation and a finished sequence returns its blocks to the free list.
 *
 * Per layer and block, K and V are (block_size, NKV, D) fp32, keys stored AFTER RoPE (a cached key never needs
 * its rotation again).  Token position p of a sequence lives in block table[p / block_size], slot
 * p % block_size.  The capacity is set by a memory cap: n_blocks = cap / (bytes of one block over all layers). */
#ifndef FS_KV_CACHE_H
#define FS_KV_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include "fs_error.h"
#include "fs_model_config.h"

struct fs_kv_seq {
  int32_t *blocks; /* (cap) block table */
  int n_blocks;    /* blocks held */
  int cap;
  int64_t len;     /* tokens whose K/V are in the cache */
  int in_use;
};

struct fs_kv_cache {
  int n_layers, n_kv_heads, head_dim; /* L, NKV, D */
  int block_size;                     /* token slots per block */
  int64_t n_blocks;                   /* blocks in the pool */
  int64_t block_elems;                /* block_size * NKV * D: floats of one block of K (or V) in one layer */
  float *k, *v;                       /* (L, n_blocks, block_size, NKV, D) */
  int32_t *free_list;                 /* (n_blocks) stack of free block ids; n_free in use */
  int64_t n_free;
  struct fs_kv_seq *seq;              /* (n_seq_slots) */
  int n_seq_slots;
};

/* max_bytes: memory for K and V of all layers; at least one block per layer must fit */
PetscErrorCode fs_kv_cache_create(const struct fs_model_config *cfg, size_t max_bytes, int block_size,
                                  struct fs_kv_cache **c);
PetscErrorCode fs_kv_cache_destroy(struct fs_kv_cache **c); /* accepts NULL */
/* blocks needed to hold n_tokens */
int64_t fs_kv_cache_blocks_for(const struct fs_kv_cache *c, int64_t n_tokens);
/* bytes of one block over all layers, K and V */
size_t fs_kv_cache_block_bytes(const struct fs_model_config *cfg, int block_size);
/* a new empty sequence: *seq its id (an index into c->seq) */
PetscErrorCode fs_kv_cache_seq_open(struct fs_kv_cache *c, int *seq);
/* makes room for n_tokens tokens in total; *ok = 0 (and nothing changes) when the free list is too short */
PetscErrorCode fs_kv_cache_reserve(struct fs_kv_cache *c, int seq, int64_t n_tokens, int *ok);
/* returns the sequence's blocks to the free list and frees its id */
void fs_kv_cache_seq_close(struct fs_kv_cache *c, int seq);
/* K / V of token position pos of a sequence in one layer: (NKV, D) */
static inline float *fs_kv_cache_k_at(const struct fs_kv_cache *c, int layer, int seq, int64_t pos)
{
  int64_t blk = c->seq[seq].blocks[pos / c->block_size];
  return c->k + ((int64_t)layer * c->n_blocks + blk) * c->block_elems +
         (pos % c->block_size) * (int64_t)c->n_kv_heads * c->head_dim;
}
static inline float *fs_kv_cache_v_at(const struct fs_kv_cache *c, int layer, int seq, int64_t pos)
{
  int64_t blk = c->seq[seq].blocks[pos / c->block_size];
  return c->v + ((int64_t)layer * c->n_blocks + blk) * c->block_elems +
         (pos % c->block_size) * (int64_t)c->n_kv_heads * c->head_dim;
}

#endif
