/* fs_kv_cache.c -- block pool, free list and per-sequence block tables */
#include <stdlib.h>
#include "fs_kv_cache.h"

size_t fs_kv_cache_block_bytes(const struct fs_model_config *cfg, int block_size)
{
  return 2 * (size_t)cfg->num_layers * (size_t)block_size * (size_t)cfg->num_query_groups * (size_t)cfg->head_dim *
         sizeof(float);
}

PetscErrorCode fs_kv_cache_create(const struct fs_model_config *cfg, size_t max_bytes, int block_size,
                                  struct fs_kv_cache **out)
{
  struct fs_kv_cache *c;

  PetscFunctionBegin;
  *out = NULL;
  FSCheck(block_size >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "KV cache block size %d: must be >= 1",
          block_size);
  size_t bb = fs_kv_cache_block_bytes(cfg, block_size);
  int64_t n = (int64_t)(max_bytes / bb);
  FSCheck(n >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
          "KV cache of %zu bytes holds no block of %d tokens (%zu bytes for this model): raise -kv_cache_mb",
          max_bytes, block_size, bb);
  FSCalloc(sizeof *c, &c);
  c->n_layers = cfg->num_layers, c->n_kv_heads = cfg->num_query_groups, c->head_dim = cfg->head_dim;
  c->block_size = block_size, c->n_blocks = n;
  c->block_elems = (int64_t)block_size * c->n_kv_heads * c->head_dim;
  PetscErrorCode ierr = fs_malloc_((size_t)c->n_layers * n * c->block_elems * sizeof(float), (void **)&c->k,
                                   "KV cache keys");
  if (!ierr) ierr = fs_malloc_((size_t)c->n_layers * n * c->block_elems * sizeof(float), (void **)&c->v,
                               "KV cache values");
  if (!ierr) ierr = fs_malloc_((size_t)n * sizeof(int32_t), (void **)&c->free_list, "KV cache free list");
  if (ierr) {
    PetscCall(fs_kv_cache_destroy(&c));
    PetscCall(ierr);
  }
  /* pop order 0, 1, 2 ...: a fresh cache hands out blocks in ascending order */
  for (int64_t i = 0; i < n; i++) c->free_list[i] = (int32_t)(n - 1 - i);
  c->n_free = n;
  *out = c;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_kv_cache_destroy(struct fs_kv_cache **c)
{
  PetscFunctionBegin;
  if (!*c) PetscFunctionReturn(PETSC_SUCCESS);
  for (int s = 0; s < (*c)->n_seq_slots; s++) free((*c)->seq[s].blocks);
  free((*c)->seq);
  free((*c)->k);
  free((*c)->v);
  free((*c)->free_list);
  FSFree(c);
  PetscFunctionReturn(PETSC_SUCCESS);
}

int64_t fs_kv_cache_blocks_for(const struct fs_kv_cache *c, int64_t n_tokens)
{
  return (n_tokens + c->block_size - 1) / c->block_size;
}

PetscErrorCode fs_kv_cache_seq_open(struct fs_kv_cache *c, int *seq)
{
  PetscFunctionBegin;
  int s = 0;
  while (s < c->n_seq_slots && c->seq[s].in_use) s++;
  if (s == c->n_seq_slots) {
    int n = c->n_seq_slots ? 2 * c->n_seq_slots : 16;
    struct fs_kv_seq *p = realloc(c->seq, (size_t)n * sizeof *p);
    FSCheck(p, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory growing the KV cache's sequence table to %d", n);
    for (int i = c->n_seq_slots; i < n; i++) p[i] = (struct fs_kv_seq){0};
    c->seq = p, c->n_seq_slots = n;
  }
  c->seq[s].in_use = 1;
  c->seq[s].len = 0;
  c->seq[s].n_blocks = 0;
  *seq = s;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_kv_cache_reserve(struct fs_kv_cache *c, int seq, int64_t n_tokens, int *ok)
{
  struct fs_kv_seq *q = &c->seq[seq];

  PetscFunctionBegin;
  int64_t need = fs_kv_cache_blocks_for(c, n_tokens) - q->n_blocks;
  *ok = need <= c->n_free;
  if (need <= 0 || !*ok) PetscFunctionReturn(PETSC_SUCCESS);
  if (q->n_blocks + need > q->cap) {
    int cap = (int)(q->n_blocks + need) * 2;
    int32_t *b = realloc(q->blocks, (size_t)cap * sizeof *b);
    FSCheck(b, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory growing a block table to %d", cap);
    q->blocks = b, q->cap = cap;
  }
  for (int64_t i = 0; i < need; i++) q->blocks[q->n_blocks++] = c->free_list[--c->n_free];
  PetscFunctionReturn(PETSC_SUCCESS);
}

void fs_kv_cache_seq_close(struct fs_kv_cache *c, int seq)
{
  struct fs_kv_seq *q = &c->seq[seq];
  /* pushed back in reverse so the next sequence gets them in the same order */
  for (int i = q->n_blocks - 1; i >= 0; i--) c->free_list[c->n_free++] = q->blocks[i];
  q->n_blocks = 0;
  q->len = 0;
  q->in_use = 0;
}
