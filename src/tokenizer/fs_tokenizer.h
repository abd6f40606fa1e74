/* fs_tokenizer.h -- byte-level BPE tokenizer compatible with GPT-2 and Aquila (Hugging Face ByteLevel BPE from
 * the same vocab.json + merges.txt).  Special tokens (special_tokens.txt, one per line, ids vocab_size..) are
 * split out of the text before BPE.  Encoding is thread-safe per tokenizer object only when each thread uses
 * its own object (the word cache is not shared). */
#ifndef FS_TOKENIZER_H
#define FS_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>
#include "fs_error.h"

struct fs_tokenizer;

/* a growable array of token ids */
struct fs_tokens {
  int32_t *ids;  /* (n) */
  int64_t n;     /* ids in use */
  int64_t cap;   /* ids allocated */
};
PetscErrorCode fs_tokens_push(struct fs_tokens *t, int32_t id);
void fs_tokens_clear(struct fs_tokens *t); /* n = 0, keeps the memory */
void fs_tokens_free(struct fs_tokens *t);

/* special_tokens_file may be NULL (GPT-2) */
PetscErrorCode fs_tokenizer_create(const char *vocab_file, const char *merge_file, const char *special_tokens_file,
                                   struct fs_tokenizer **tok);
PetscErrorCode fs_tokenizer_destroy(struct fs_tokenizer **tok);
/* appends the ids of text[0..n_bytes) to out (text need not be NUL-terminated; invalid UTF-8 is encoded
 * byte-wise as Hugging Face does after lossy decoding is NOT applied: bytes map to byte-level symbols) */
PetscErrorCode fs_tokenizer_encode(struct fs_tokenizer *tok, const char *text, size_t n_bytes, struct fs_tokens *out);
/* decodes ids into a malloc'ed NUL-terminated string (*text, *n_bytes without the NUL); caller frees */
PetscErrorCode fs_tokenizer_decode(const struct fs_tokenizer *tok, const int32_t *ids, int64_t n, char **text,
                                   size_t *n_bytes);
int32_t fs_tokenizer_vocab_size(const struct fs_tokenizer *tok); /* true size, specials included */
int32_t fs_tokenizer_eod(const struct fs_tokenizer *tok);        /* GPT-2: <|endoftext|> 50256; Aquila: </s> 100007 */
/* id of a token string (e.g. "</s>"), -1 if absent */
int32_t fs_tokenizer_token_id(const struct fs_tokenizer *tok, const char *token);

#endif
