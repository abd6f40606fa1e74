/* fs_checkpoint_info.h -- what inference and serving read from a checkpoint besides the model: the tokenizer it
 * names and its chat template. */
#ifndef FS_CHECKPOINT_INFO_H
#define FS_CHECKPOINT_INFO_H

#include <stddef.h>
#include "fs_error.h"

/* name: what fs_tokenizer_create_named takes -- "gpt2" or "aquila" for {"type": "gpt2bpe"|"aquila"}, the folder for
 * {"type": "dir", "path": ...} (an imported tokenizer), "" when the checkpoint names none (the caller then needs
 * -tokenizer); *chat_template: a malloc'ed copy of the "chat_template" attribute, or NULL (chat_template may be NULL) */
PetscErrorCode fs_checkpoint_info(const char *load, char *name, size_t n_name, char **chat_template);

#endif
