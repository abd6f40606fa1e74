/* fs_tokenizer_encode.c -- text -> ids: special tokens are split out first (leftmost, then longest, as HF's
 * AddedVocabulary), each stretch between them is cut into pre-tokens by the GPT-2 regex, and each pre-token's
 * ids come from the word cache or from BPE. */
#include <stdlib.h>
#include <string.h>
#include "fs_tok_impl.h"
#include "fs_tok_unicode.h"

/* The GPT-2 / Aquila regex
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * written so that PCRE2 splits exactly as Hugging Face's regex engine (Oniguruma) does:
 *   - \s is spelled out as Unicode White_Space, Oniguruma's set: PCRE2's UCP \s also takes U+180E (it counts
 *     \h), which HF treats as punctuation;
 *   - \p{L} and \p{N} get the letters and numbers of newer Unicode versions (fs_tok_unicode.h): PCRE2 10.42 has
 *     Unicode 14, HF 16; an unknown letter would glue to a following "'s" instead of splitting it off. */
#define WS "\\t\\n\\x0B\\f\\r\\x20\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"
#define L "\\p{L}" FS_TOK_NEW_L
#define N "\\p{N}" FS_TOK_NEW_N
static const char gpt2_pattern[] = "'s|'t|'re|'ve|'m|'ll|'d| ?[" L "]+| ?[" N "]+| ?[^" WS L N "]+|[" WS "]+(?![^" WS
                                   "])|[" WS "]+";
#undef L
#undef N

/* Invalid UTF-8 never matches (PCRE2_MATCH_INVALID_UTF): such bytes become pre-tokens of their own, the gaps
 * between matches, and still encode byte by byte. */
#ifdef PCRE2_MATCH_INVALID_UTF
#define FS_RE_OPTIONS (PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF)
#else
#define FS_RE_OPTIONS (PCRE2_UTF | PCRE2_UCP) /* PCRE2 < 10.34: invalid UTF-8 is reported as an error */
#endif

PetscErrorCode fs_tok_regex_create(struct fs_tokenizer *tok)
{
  int err;
  PCRE2_SIZE err_off;

  PetscFunctionBegin;
  tok->re = pcre2_compile((PCRE2_SPTR)gpt2_pattern, PCRE2_ZERO_TERMINATED, FS_RE_OPTIONS, &err, &err_off, NULL);
  if (!tok->re) {
    char msg[256];
    fs_pcre2_message(err, msg, sizeof msg);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_LIB, "PCRE2 cannot compile the pre-tokenizer regex at offset %zu: %s "
            "(PCRE2 built without Unicode support?)", (size_t)err_off, msg);
  }
  /* no JIT on this platform or build: pcre2_match is slower but gives the same splits */
  tok->use_jit = pcre2_jit_compile(tok->re, PCRE2_JIT_COMPLETE) == 0;
  tok->md = pcre2_match_data_create_from_pattern(tok->re, NULL);
  FSCheck(tok->md, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory creating PCRE2 match data");
  tok->mctx = pcre2_match_context_create(NULL);
  FSCheck(tok->mctx, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory creating a PCRE2 match context");
  if (tok->use_jit) {
    /* the default 32 KiB machine stack is enough for this regex; a larger one costs nothing until used */
    tok->jit_stack = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, NULL);
    FSCheck(tok->jit_stack, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory creating a PCRE2 JIT stack");
    pcre2_jit_stack_assign(tok->mctx, NULL, tok->jit_stack);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* the cache is bounded so that a long stream of unique words cannot grow it without end */
#define FS_TOK_CACHE_MAX_WORDS (1u << 20)
#define FS_TOK_CACHE_MAX_IDS (1u << 23)
#define FS_TOK_CACHE_MAX_WORD_BYTES 256

static PetscErrorCode cache_put(struct fs_tokenizer *tok, const unsigned char *w, size_t n, uint64_t h,
                                const int32_t *ids, size_t n_ids)
{
  PetscFunctionBegin;
  if (tok->cache.n >= FS_TOK_CACHE_MAX_WORDS || tok->cache_ids_n + n_ids > FS_TOK_CACHE_MAX_IDS) {
    fs_tok_strmap_clear(&tok->cache);
    tok->cache_ids_n = 0;
  }
  if (tok->cache_ids_n + n_ids > tok->cache_ids_cap) {
    size_t cap = 2 * tok->cache_ids_cap + n_ids + 1024;
    int32_t *p = realloc(tok->cache_ids, cap * sizeof *p);
    FSCheck(p, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory growing the tokenizer's word cache");
    tok->cache_ids = p;
    tok->cache_ids_cap = cap;
  }
  memcpy(tok->cache_ids + tok->cache_ids_n, ids, n_ids * sizeof *ids);
  PetscCall(fs_tok_strmap_add(&tok->cache, w, n, h, (uint32_t)tok->cache_ids_n, (uint32_t)n_ids));
  tok->cache_ids_n += n_ids;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode encode_word(struct fs_tokenizer *tok, const unsigned char *w, size_t n, struct fs_tokens *out)
{
  const struct fs_tok_slot *hit;
  uint64_t h;
  int64_t start;

  PetscFunctionBegin;
  if (n == 1) {
    PetscCall(fs_tokens_reserve(out, 1));
    if (tok->byte_id[w[0]] >= 0) out->ids[out->n++] = tok->byte_id[w[0]]; /* else: not in the vocabulary, dropped */
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if (n > FS_TOK_CACHE_MAX_WORD_BYTES) {
    PetscCall(fs_tok_bpe_word(tok, w, n, out));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  h = fs_tok_hash(w, n);
  if ((hit = fs_tok_strmap_find(&tok->cache, w, n, h))) {
    PetscCall(fs_tokens_reserve(out, hit->b));
    memcpy(out->ids + out->n, tok->cache_ids + hit->a, hit->b * sizeof *out->ids);
    out->n += hit->b;
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  start = out->n;
  PetscCall(fs_tok_bpe_word(tok, w, n, out));
  PetscCall(cache_put(tok, w, n, h, out->ids + start, (size_t)(out->n - start)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* text without specials: regex pre-tokens, and the unmatched gaps (invalid UTF-8) as pre-tokens too */
static PetscErrorCode encode_plain(struct fs_tokenizer *tok, const unsigned char *s, size_t n, struct fs_tokens *out)
{
  size_t off = 0;
  PCRE2_SIZE *ov = pcre2_get_ovector_pointer(tok->md);

  PetscFunctionBegin;
  while (off < n) {
    int rc = tok->use_jit ? pcre2_jit_match(tok->re, s, n, off, 0, tok->md, tok->mctx)
                          : pcre2_match(tok->re, s, n, off, 0, tok->md, tok->mctx);
    size_t ms, me;
    if (rc == PCRE2_ERROR_NOMATCH) {
      PetscCall(encode_word(tok, s + off, n - off, out));
      break;
    }
    FSCallPCRE2(rc);
    ms = ov[0];
    me = ov[1];
    FSCheck(me > ms && ms >= off, PETSC_COMM_SELF, PETSC_ERR_PLIB, "pre-tokenizer regex matched nothing at %zu", ms);
    if (ms > off) PetscCall(encode_word(tok, s + off, ms - off, out));
    PetscCall(encode_word(tok, s + ms, me - ms, out));
    off = me;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* the longest special starting at s[0..n), or NULL */
static const struct fs_tok_special *special_at(const struct fs_tokenizer *tok, const char *s, size_t n)
{
  const struct fs_tok_special *best = NULL;
  for (int i = 0; i < tok->n_specials; i++) {
    const struct fs_tok_special *sp = &tok->specials[i];
    if (sp->n_bytes <= n && (!best || sp->n_bytes > best->n_bytes) && !memcmp(sp->text, s, sp->n_bytes)) best = sp;
  }
  return best;
}

PetscErrorCode fs_tokenizer_encode(struct fs_tokenizer *tok, const char *text, size_t n_bytes, struct fs_tokens *out)
{
  size_t seg = 0;

  PetscFunctionBegin;
  FSCheck(tok && out && (text || !n_bytes), PETSC_COMM_SELF, PETSC_ERR_ARG_NULL,
          "fs_tokenizer_encode: NULL tokenizer, text or output");
  if (tok->n_specials)
    for (size_t i = 0; i < n_bytes; i++) {
      const struct fs_tok_special *sp;
      if (!tok->first_byte[(unsigned char)text[i]] || !(sp = special_at(tok, text + i, n_bytes - i))) continue;
      PetscCall(encode_plain(tok, (const unsigned char *)text + seg, i - seg, out));
      PetscCall(fs_tokens_push(out, sp->id));
      i += sp->n_bytes - 1;
      seg = i + 1;
    }
  PetscCall(encode_plain(tok, (const unsigned char *)text + seg, n_bytes - seg, out));
  PetscFunctionReturn(PETSC_SUCCESS);
}
