/* fs_tokenizer_options.h -- the tokenizer options every app shares (Megatron's names):
 *   -tokenizer_type gpt2bpe|aquila  -vocab_file F  -merge_file F  -special_tokens_file F
 * Defaults are the files shipped under share/flagscale/tokenizers ($FLAGSCALE_DATA_DIR overrides the install's
 * share/flagscale). */
#ifndef FS_TOKENIZER_OPTIONS_H
#define FS_TOKENIZER_OPTIONS_H

#include "fs_opt.h"
#include "fs_tokenizer.h"

enum fs_tokenizer_type { FS_TOKENIZER_GPT2BPE = 0, FS_TOKENIZER_AQUILA = 1 };

struct fs_tokenizer_opts {
  int type; /* enum fs_tokenizer_type */
  char vocab[FS_OPT_STRLEN], merges[FS_OPT_STRLEN], specials[FS_OPT_STRLEN]; /* specials "" = none */
};

/* share/flagscale: $FLAGSCALE_DATA_DIR, else the installed data directory */
const char *fs_data_dir(void);
PetscErrorCode fs_tokenizer_options(struct fs_tokenizer_opts *o);
PetscErrorCode fs_tokenizer_create_from_opts(const struct fs_tokenizer_opts *o, struct fs_tokenizer **tok);

#endif
