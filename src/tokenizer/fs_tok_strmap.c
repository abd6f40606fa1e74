/* fs_tok_strmap.c -- open-addressing byte-string map (linear probing, power-of-two size, load <= 1/2) used for
 * the vocabulary and the word cache.  Keys are copied into one pool, so a map costs two allocations. */
#include <stdlib.h>
#include <string.h>
#include "fs_tok_impl.h"

static inline uint64_t mix(uint64_t x)
{
  x ^= x >> 32;
  x *= 0xD6E8FEB86659FD93ull;
  x ^= x >> 32;
  x *= 0xD6E8FEB86659FD93ull;
  return x ^ (x >> 32);
}

/* 8 bytes per step: pre-tokens are short, so this is cheaper than a byte-wise hash */
uint64_t fs_tok_hash(const void *key, size_t n_bytes)
{
  const unsigned char *p = key;
  uint64_t h = 0x9E3779B97F4A7C15ull ^ n_bytes, w;
  size_t i = 0;
  for (; i + 8 <= n_bytes; i += 8) {
    memcpy(&w, p + i, 8);
    h = mix(h ^ w) + i;
  }
  w = 0;
  if (i < n_bytes) memcpy(&w, p + i, n_bytes - i);
  h = mix(h ^ w ^ ((uint64_t)(n_bytes - i) << 56));
  return h ? h : 1;
}

PetscErrorCode fs_tok_strmap_init(struct fs_tok_strmap *m, size_t expect)
{
  PetscFunctionBegin;
  memset(m, 0, sizeof *m);
  m->cap = 64;
  while (m->cap < 2 * expect) m->cap *= 2;
  FSCalloc(m->cap * sizeof *m->slots, &m->slots);
  m->pool_cap = 16 * expect + 64;
  FSMalloc(m->pool_cap, &m->pool);
  PetscFunctionReturn(PETSC_SUCCESS);
}

void fs_tok_strmap_free(struct fs_tok_strmap *m)
{
  FSFree(&m->slots);
  FSFree(&m->pool);
  memset(m, 0, sizeof *m);
}

void fs_tok_strmap_clear(struct fs_tok_strmap *m)
{
  memset(m->slots, 0, m->cap * sizeof *m->slots);
  m->n = 0;
  m->pool_n = 0;
}

const struct fs_tok_slot *fs_tok_strmap_find(const struct fs_tok_strmap *m, const void *key, size_t n_bytes,
                                             uint64_t hash)
{
  size_t mask = m->cap - 1;
  for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
    const struct fs_tok_slot *s = &m->slots[i];
    if (!s->hash) return NULL;
    if (s->hash == hash && s->key_len == n_bytes && !memcmp(m->pool + s->key_off, key, n_bytes)) return s;
  }
}

static void place(struct fs_tok_slot *slots, size_t cap, const struct fs_tok_slot *s)
{
  size_t mask = cap - 1, i = (size_t)s->hash & mask;
  while (slots[i].hash) i = (i + 1) & mask;
  slots[i] = *s;
}

static PetscErrorCode grow_slots(struct fs_tok_strmap *m)
{
  struct fs_tok_slot *slots;
  size_t cap = 2 * m->cap;

  PetscFunctionBegin;
  FSCalloc(cap * sizeof *slots, &slots);
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].hash) place(slots, cap, &m->slots[i]);
  free(m->slots);
  m->slots = slots;
  m->cap = cap;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_tok_strmap_add(struct fs_tok_strmap *m, const void *key, size_t n_bytes, uint64_t hash, uint32_t a,
                                 uint32_t b)
{
  struct fs_tok_slot s;

  PetscFunctionBegin;
  FSCheck(m->pool_n + n_bytes < UINT32_MAX, PETSC_COMM_SELF, PETSC_ERR_SUP,
          "tokenizer map over 4 GiB of keys (a pre-token of %zu bytes?)", n_bytes);
  if (2 * (m->n + 1) > m->cap) PetscCall(grow_slots(m));
  if (m->pool_n + n_bytes > m->pool_cap) {
    size_t cap = 2 * m->pool_cap + n_bytes;
    char *pool = realloc(m->pool, cap);
    FSCheck(pool, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory growing a tokenizer map to %zu bytes", cap);
    m->pool = pool;
    m->pool_cap = cap;
  }
  if (n_bytes) memcpy(m->pool + m->pool_n, key, n_bytes);
  s.hash = hash;
  s.key_off = (uint32_t)m->pool_n;
  s.key_len = (uint32_t)n_bytes;
  s.a = a;
  s.b = b;
  place(m->slots, m->cap, &s);
  m->pool_n += n_bytes;
  m->n++;
  PetscFunctionReturn(PETSC_SUCCESS);
}
