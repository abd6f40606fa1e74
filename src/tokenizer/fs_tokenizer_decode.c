/* fs_tokenizer_decode.c -- ids -> bytes, token arrays, and the small queries */
#include <stdlib.h>
#include <string.h>
#include "fs_tok_impl.h"

PetscErrorCode fs_tokens_reserve(struct fs_tokens *t, int64_t n_more)
{
  PetscFunctionBegin;
  if (t->n + n_more > t->cap) {
    int64_t cap = t->cap ? 2 * t->cap : 256;
    int32_t *p;
    while (cap < t->n + n_more) cap *= 2;
    p = realloc(t->ids, (size_t)cap * sizeof *p);
    FSCheck(p, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory growing a token array to %" PetscInt64_FMT " ids",
            (PetscInt64)cap);
    t->ids = p;
    t->cap = cap;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_tokens_push(struct fs_tokens *t, int32_t id)
{
  PetscFunctionBegin;
  if (t->n == t->cap) PetscCall(fs_tokens_reserve(t, 1));
  t->ids[t->n++] = id;
  PetscFunctionReturn(PETSC_SUCCESS);
}

void fs_tokens_clear(struct fs_tokens *t) { t->n = 0; }

void fs_tokens_free(struct fs_tokens *t)
{
  free(t->ids);
  t->ids = NULL;
  t->n = t->cap = 0;
}

PetscErrorCode fs_tokenizer_id_bytes(const struct fs_tokenizer *tok, int32_t id, const char **bytes, size_t *n_bytes)
{
  PetscFunctionBegin;
  FSCheck(id >= 0 && id < tok->n_ids && tok->dec_len[id] != UINT32_MAX, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
          "token id %d is not in the vocabulary (valid ids: 0..%d)", (int)id, (int)tok->n_ids - 1);
  *bytes = tok->dec_pool + tok->dec_off[id];
  *n_bytes = tok->dec_len[id];
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_tokenizer_decode(const struct fs_tokenizer *tok, const int32_t *ids, int64_t n, char **text,
                                   size_t *n_bytes)
{
  size_t total = 0, k = 0;
  const char *b;
  size_t len;

  PetscFunctionBegin;
  FSCheck(tok && text && (ids || n <= 0), PETSC_COMM_SELF, PETSC_ERR_ARG_NULL, "fs_tokenizer_decode: NULL argument");
  *text = NULL;
  for (int64_t i = 0; i < n; i++) {
    PetscCall(fs_tokenizer_id_bytes(tok, ids[i], &b, &len));
    total += len;
  }
  FSMalloc(total + 1, text);
  for (int64_t i = 0; i < n; i++) {
    len = tok->dec_len[ids[i]];
    memcpy(*text + k, tok->dec_pool + tok->dec_off[ids[i]], len);
    k += len;
  }
  (*text)[k] = 0;
  if (n_bytes) *n_bytes = k;
  PetscFunctionReturn(PETSC_SUCCESS);
}

int32_t fs_tokenizer_vocab_size(const struct fs_tokenizer *tok) { return tok->n_ids; }

int32_t fs_tokenizer_eod(const struct fs_tokenizer *tok) { return tok->eod; }

int32_t fs_tokenizer_token_id(const struct fs_tokenizer *tok, const char *token)
{
  size_t n = strlen(token);
  const struct fs_tok_slot *s;
  for (int i = 0; i < tok->n_specials; i++)
    if (tok->specials[i].n_bytes == n && !memcmp(tok->specials[i].text, token, n)) return tok->specials[i].id;
  s = fs_tok_strmap_find(&tok->vocab, token, n, fs_tok_hash(token, n));
  return s ? (int32_t)s->a : -1;
}
