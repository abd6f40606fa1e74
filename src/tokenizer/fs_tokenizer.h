/* fs_tokenizer.h -- byte-level BPE tokenizer compatible with GPT-2 and Aquila: the same ids as Hugging Face
 * `tokenizers` built as a ByteLevel BPE from the same vocab.json + merges.txt (pre-tokenizer ByteLevel without
 * prefix space) with the special tokens added as special.
 *
 * Special tokens are split out of the text before BPE (leftmost match, the longest one there):
 *   - with special_tokens.txt (Aquila): its lines, in order; one already in vocab.json keeps its id, the others
 *     get ids max_vocab_id+1, ... (Aquila: <|startofpiece|> 100000 ... </s> 100007);
 *   - without it (GPT-2): <|endoftext|>, when vocab.json has it (50256).
 * eod: the special "</s>" when present, else "<|endoftext|>" (Aquila 100007, GPT-2 50256).
 *
 * Encoding keeps a word cache inside the object: one object per thread (decoding only reads the object). */
#ifndef FS_TOKENIZER_H
#define FS_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>
#include "fs_error.h"

struct fs_tokenizer;

/* a growable array of token ids; {0} is an empty one */
struct fs_tokens {
  int32_t *ids;  /* (cap) */
  int64_t n;     /* ids in use */
  int64_t cap;   /* ids allocated */
};
PetscErrorCode fs_tokens_push(struct fs_tokens *t, int32_t id);
PetscErrorCode fs_tokens_reserve(struct fs_tokens *t, int64_t n_more); /* room for n_more ids after n */
void fs_tokens_clear(struct fs_tokens *t); /* n = 0, keeps the memory */
void fs_tokens_free(struct fs_tokens *t);

/* special_tokens_file may be NULL (GPT-2).  Bad files are errors naming the file and line; *tok is then NULL. */
PetscErrorCode fs_tokenizer_create(const char *vocab_file, const char *merge_file, const char *special_tokens_file,
                                   struct fs_tokenizer **tok);
/* dir/vocab.json, dir/merges.txt and dir/special_tokens.txt when that file exists */
PetscErrorCode fs_tokenizer_create_from_dir(const char *dir, struct fs_tokenizer **tok);
/* a bundled tokenizer by name ("gpt2", "aquila"): $FLAGSCALE_DATA_DIR/tokenizers/<name> when that variable is set,
 * else the installed $(pkgdatadir)/tokenizers/<name>; a name with a '/' is taken as a directory */
PetscErrorCode fs_tokenizer_create_named(const char *name, struct fs_tokenizer **tok);
PetscErrorCode fs_tokenizer_destroy(struct fs_tokenizer **tok); /* accepts NULL, sets *tok = NULL */

/* appends the ids of text[0..n_bytes) to out (text need not be NUL-terminated).  Bytes that are not valid UTF-8
 * never match the pre-tokenizer regex: they become pre-tokens of their own and are encoded byte-wise, so that
 * decode gives back the exact bytes (Hugging Face only takes valid UTF-8). */
PetscErrorCode fs_tokenizer_encode(struct fs_tokenizer *tok, const char *text, size_t n_bytes, struct fs_tokens *out);
/* decodes ids into a malloc'ed NUL-terminated string (*text, *n_bytes without the NUL; n_bytes may be NULL);
 * caller frees.  decode(encode(x)) == x byte for byte; an unknown id is an error. */
PetscErrorCode fs_tokenizer_decode(const struct fs_tokenizer *tok, const int32_t *ids, int64_t n, char **text,
                                   size_t *n_bytes);
/* the raw bytes of one token, owned by the tokenizer (for streaming output: a token may end inside a UTF-8
 * character) */
PetscErrorCode fs_tokenizer_id_bytes(const struct fs_tokenizer *tok, int32_t id, const char **bytes,
                                     size_t *n_bytes);
int32_t fs_tokenizer_vocab_size(const struct fs_tokenizer *tok); /* largest id + 1, specials included */
int32_t fs_tokenizer_eod(const struct fs_tokenizer *tok);        /* -1 when there is none */
/* id of a special token's text or of a vocab.json spelling (e.g. "</s>", "Ġthe"), -1 if absent */
int32_t fs_tokenizer_token_id(const struct fs_tokenizer *tok, const char *token);

#endif
