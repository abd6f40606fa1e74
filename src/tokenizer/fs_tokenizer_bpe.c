/* fs_tokenizer_bpe.c -- BPE of one pre-token, in the order Hugging Face's Word::merge_all uses: always the
 * lowest-rank merge among the current adjacent pairs, the leftmost on a tie.  Symbols form a linked list inside
 * one array; candidate merges sit in a binary min-heap keyed (rank, position), and an entry whose pair has
 * changed since it was pushed is dropped when popped.  O(n log n) per word, no allocation once the scratch
 * buffers have grown to the longest word. */
#include <stdlib.h>
#include "fs_tok_impl.h"

static inline void heap_push(uint64_t *heap, size_t *n, uint64_t v)
{
  size_t i = (*n)++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (heap[p] <= v) break;
    heap[i] = heap[p];
    i = p;
  }
  heap[i] = v;
}

static inline uint64_t heap_pop(uint64_t *heap, size_t *n)
{
  uint64_t top = heap[0], v = heap[--(*n)];
  size_t i = 0, m = *n;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= m) break;
    if (c + 1 < m && heap[c + 1] < heap[c]) c++;
    if (v <= heap[c]) break;
    heap[i] = heap[c];
    i = c;
  }
  heap[i] = v;
  return top;
}

static PetscErrorCode grow_scratch(struct fs_tokenizer *tok, size_t n)
{
  size_t cap = tok->scratch_cap ? tok->scratch_cap : 64;

  PetscFunctionBegin;
  FSCheck(n < INT32_MAX / 4, PETSC_COMM_SELF, PETSC_ERR_SUP, "a pre-token of %zu bytes is too long for BPE", n);
  while (cap < n) cap *= 2;
  free(tok->syms);
  free(tok->heap);
  tok->syms = NULL;
  tok->heap = NULL;
  tok->scratch_cap = 0;
  FSMalloc(cap * sizeof *tok->syms, &tok->syms);
  FSMalloc(3 * cap * sizeof *tok->heap, &tok->heap); /* n-1 initial pairs + at most 2 per merge */
  tok->scratch_cap = cap;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_tok_bpe_word(struct fs_tokenizer *tok, const unsigned char *word, size_t n, struct fs_tokens *out)
{
  struct fs_tok_sym *s;
  uint64_t *heap;
  size_t n_heap = 0;
  const struct fs_tok_merge *m;
  int64_t k;

  PetscFunctionBegin;
  if (!n) PetscFunctionReturn(PETSC_SUCCESS);
  if (n > tok->scratch_cap) PetscCall(grow_scratch(tok, n));
  s = tok->syms;
  heap = tok->heap;
  for (size_t i = 0; i < n; i++) {
    s[i].id = tok->byte_id[word[i]];
    s[i].prev = (int32_t)i - 1;
    s[i].next = i + 1 < n ? (int32_t)i + 1 : -1;
    s[i].alive = 1;
  }
  for (size_t i = 0; i + 1 < n; i++)
    if ((m = fs_tok_merges_find(&tok->merges, fs_tok_pair_key(s[i].id, s[i + 1].id))))
      heap_push(heap, &n_heap, (uint64_t)m->rank << 32 | i);
  while (n_heap) {
    uint64_t top = heap_pop(heap, &n_heap);
    int32_t pos = (int32_t)(top & 0xFFFFFFFFu), nx, p;
    if (!s[pos].alive || (nx = s[pos].next) < 0) continue;
    m = fs_tok_merges_find(&tok->merges, fs_tok_pair_key(s[pos].id, s[nx].id));
    if (!m || m->rank != (uint32_t)(top >> 32)) continue; /* stale: this pair changed after the push */
    s[pos].id = m->id;
    s[pos].next = s[nx].next;
    s[nx].alive = 0;
    if (s[nx].next >= 0) s[s[nx].next].prev = pos;
    if ((p = s[pos].prev) >= 0 && (m = fs_tok_merges_find(&tok->merges, fs_tok_pair_key(s[p].id, s[pos].id))))
      heap_push(heap, &n_heap, (uint64_t)m->rank << 32 | (uint32_t)p);
    if ((nx = s[pos].next) >= 0 && (m = fs_tok_merges_find(&tok->merges, fs_tok_pair_key(s[pos].id, s[nx].id))))
      heap_push(heap, &n_heap, (uint64_t)m->rank << 32 | (uint32_t)pos);
  }
  /* symbol 0 is never merged away: merges only grow the left symbol */
  k = 0;
  for (int32_t i = 0; i >= 0; i = s[i].next) k++;
  PetscCall(fs_tokens_reserve(out, k));
  for (int32_t i = 0; i >= 0; i = s[i].next)
    if (s[i].id >= 0) out->ids[out->n++] = s[i].id; /* -1: a byte the vocabulary lacks, dropped */
  PetscFunctionReturn(PETSC_SUCCESS);
}
