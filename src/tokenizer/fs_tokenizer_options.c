/* fs_tokenizer_options.c -- shared tokenizer options */
#include <stdio.h>
#include <stdlib.h>
#include "fs_tokenizer_options.h"

const char *fs_data_dir(void)
{
  const char *d = getenv("FLAGSCALE_DATA_DIR");
  return d && *d ? d : FS_DATADIR;
}

PetscErrorCode fs_tokenizer_options(struct fs_tokenizer_opts *o)
{
  char def_vocab[FS_OPT_STRLEN], def_merges[FS_OPT_STRLEN], def_specials[FS_OPT_STRLEN];

  PetscFunctionBegin;
  fs_opt_section("Tokenizer");
  PetscCall(fs_opt_enum("-tokenizer_type", "gpt2bpe|aquila", FS_TOKENIZER_GPT2BPE,
                        "byte-level BPE: GPT-2 (eod <|endoftext|>) or Aquila (eod </s>, special tokens)", &o->type,
                        NULL));
  const char *tdir = o->type == FS_TOKENIZER_AQUILA ? "aquila" : "gpt2";
  snprintf(def_vocab, sizeof def_vocab, "%s/tokenizers/%s/vocab.json", fs_data_dir(), tdir);
  snprintf(def_merges, sizeof def_merges, "%s/tokenizers/%s/merges.txt", fs_data_dir(), tdir);
  snprintf(def_specials, sizeof def_specials, "%s/tokenizers/aquila/special_tokens.txt", fs_data_dir());
  PetscCall(fs_opt_string("-vocab_file", def_vocab,
                          "vocab.json (default: the shipped one under $FLAGSCALE_DATA_DIR or the install's share)",
                          o->vocab, NULL));
  PetscCall(fs_opt_string("-merge_file", def_merges, "merges.txt (default: the shipped one)", o->merges, NULL));
  PetscCall(fs_opt_string("-special_tokens_file", o->type == FS_TOKENIZER_AQUILA ? def_specials : NULL,
                          "special tokens, one per line, ids from the vocabulary size on (Aquila default: the "
                          "shipped special_tokens.txt; GPT-2: none)",
                          o->specials, NULL));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_tokenizer_create_from_opts(const struct fs_tokenizer_opts *o, struct fs_tokenizer **tok)
{
  PetscFunctionBegin;
  PetscCall(fs_tokenizer_create(o->vocab, o->merges, o->specials[0] ? o->specials : NULL, tok));
  PetscFunctionReturn(PETSC_SUCCESS);
}
