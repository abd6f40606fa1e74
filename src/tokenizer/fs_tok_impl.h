/* fs_tok_impl.h -- the tokenizer's private state (not installed).
 *
 * Encoding works on raw bytes and ids only: the byte-level alphabet (GPT-2 bytes_to_unicode) is applied once at
 * load time, when every vocab string is turned back into the bytes it stands for.  A pre-token's BPE then needs
 *   byte_id[256]   the id of each single byte (the BPE start symbols),
 *   merges         (left id, right id) -> (rank, merged id),
 * and its result is kept in the word cache, keyed by the pre-token's raw bytes. */
#ifndef FS_TOK_IMPL_H
#define FS_TOK_IMPL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include "fs_tokenizer.h"

/* open-addressing map from a byte string to two 32-bit values; keys live in a pool the map owns */
struct fs_tok_strmap {
  struct fs_tok_slot {
    uint64_t hash;     /* 0 = empty slot (real hashes are forced non-zero) */
    uint32_t key_off;  /* into pool */
    uint32_t key_len;
    uint32_t a, b;     /* values */
  } *slots;            /* (cap) */
  size_t cap;          /* power of two */
  size_t n;            /* keys in use */
  char *pool;          /* key bytes */
  size_t pool_n, pool_cap;
};

PetscErrorCode fs_tok_strmap_init(struct fs_tok_strmap *m, size_t expect);
void fs_tok_strmap_free(struct fs_tok_strmap *m);
void fs_tok_strmap_clear(struct fs_tok_strmap *m); /* keeps the memory */
uint64_t fs_tok_hash(const void *key, size_t n_bytes);
/* the slot of key, or NULL */
const struct fs_tok_slot *fs_tok_strmap_find(const struct fs_tok_strmap *m, const void *key, size_t n_bytes,
                                             uint64_t hash);
/* inserts a new key (must be absent) */
PetscErrorCode fs_tok_strmap_add(struct fs_tok_strmap *m, const void *key, size_t n_bytes, uint64_t hash, uint32_t a,
                                 uint32_t b);

/* (left, right) -> (rank, merged id) */
struct fs_tok_merges {
  struct fs_tok_merge {
    uint64_t key;   /* left << 32 | right; UINT64_MAX = empty */
    uint32_t rank;
    int32_t id;
  } *slots;         /* (cap) */
  size_t cap;       /* power of two */
  size_t n;
};

static inline uint64_t fs_tok_pair_key(int32_t left, int32_t right)
{
  return (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
}

static inline const struct fs_tok_merge *fs_tok_merges_find(const struct fs_tok_merges *m, uint64_t key)
{
  size_t mask = m->cap - 1, i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & mask;
  for (;; i = (i + 1) & mask) {
    if (m->slots[i].key == key) return &m->slots[i];
    if (m->slots[i].key == UINT64_MAX) return NULL;
  }
}

struct fs_tok_special {
  char *text;      /* as written in special_tokens.txt (raw UTF-8, not byte-level) */
  size_t n_bytes;
  int32_t id;
};

struct fs_tokenizer {
  int32_t n_ids;             /* largest id + 1, specials included */
  int32_t eod;               /* -1 when the vocabulary has none */
  int32_t byte_id[256];      /* id of each single byte */
  struct fs_tok_strmap vocab;  /* vocab.json spelling -> id (a) */
  struct fs_tok_merges merges;
  /* decoding: id -> raw bytes */
  uint32_t *dec_off, *dec_len; /* (n_ids); dec_len = UINT32_MAX for an id without a token */
  char *dec_pool;
  /* special tokens, split out before BPE; first_byte marks the bytes a special can start with */
  struct fs_tok_special *specials; /* (n_specials) */
  int n_specials;
  unsigned char first_byte[256];
  /* pre-tokenizer */
  pcre2_code *re;
  pcre2_match_data *md;
  pcre2_match_context *mctx;
  pcre2_jit_stack *jit_stack;
  int use_jit;
  /* word cache: raw bytes -> ids cache_ids[a .. a+b) */
  struct fs_tok_strmap cache;
  int32_t *cache_ids;
  size_t cache_ids_n, cache_ids_cap;
  /* BPE scratch, grown to the longest pre-token seen */
  struct fs_tok_sym {
    int32_t id;
    int32_t prev, next; /* -1 at the ends */
    int32_t alive;
  } *syms;
  uint64_t *heap; /* rank << 32 | position */
  size_t scratch_cap;
};

/* fs_tokenizer_load.c */
PetscErrorCode fs_tok_regex_create(struct fs_tokenizer *tok);
/* fs_tokenizer_bpe.c: ids of one pre-token (raw bytes), appended to out */
PetscErrorCode fs_tok_bpe_word(struct fs_tokenizer *tok, const unsigned char *word, size_t n_bytes,
                               struct fs_tokens *out);

#endif
