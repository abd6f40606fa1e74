/* fs_serve_load.h -- what the server reads from a checkpoint besides the model: the tokenizer it names and its
 * chat template.  (flagscale-infer's lookup is static in fs_infer_app.c; this is the shared form of it.) */
#ifndef FS_SERVE_LOAD_H
#define FS_SERVE_LOAD_H

#include <stddef.h>
#include "fs_error.h"

/* name: "gpt2" or "aquila" from the checkpoint's "tokenizer" attribute ({"type": "gpt2bpe"|"aquila", ...});
 * *chat_template: a malloc'ed copy of its "chat_template" attribute, or NULL (chat_template may be NULL) */
PetscErrorCode fs_serve_checkpoint_info(const char *load, char *name, size_t n_name, char **chat_template);

#endif
