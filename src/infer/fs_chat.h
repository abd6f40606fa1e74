/* fs_chat.h -- chat templates: a conversation (system text, user and assistant turns) -> one prompt string.
 *
 * Aquila (the original FlagScale's SFT template):
 *   "<system>\n\n### Human: u1\n### Assistant: a1\n### Human: u2\n### Assistant: "
 *   where <system> defaults to "A chat between a curious human and an artificial intelligence assistant. The
 *   assistant gives helpful, detailed, and polite answers to the human's questions."
 * ChatML:
 *   "<|im_start|>system\n...<|im_end|>\n<|im_start|>user\n...<|im_end|>\n ... <|im_start|>assistant\n"
 *   (no system turn unless one is given).
 * Each template also names the stop string that ends an assistant turn ("###" / "<|im_end|>"). */
#ifndef FS_CHAT_H
#define FS_CHAT_H

#include "fs_error.h"

enum fs_chat_template { FS_CHAT_AQUILA = 0, FS_CHAT_CHATML = 1 };

enum fs_chat_role { FS_CHAT_SYSTEM, FS_CHAT_USER, FS_CHAT_ASSISTANT };

struct fs_chat_msg {
  enum fs_chat_role role;
  const char *content;
};

extern const char fs_chat_aquila_system[]; /* the Aquila template's default system text */

const char *fs_chat_template_name(enum fs_chat_template t); /* "aquila", "chatml" */
/* the string that ends an assistant turn in the template: generation stops there */
const char *fs_chat_stop_string(enum fs_chat_template t);
/* role from "user"/"human", "assistant"/"bot"/"gpt", "system" (any case); -1 when unknown */
int fs_chat_role_parse(const char *name);
/* -chat_template auto: ChatML when the checkpoint's chat_template attribute (may be NULL) uses <|im_start|>;
 * otherwise Aquila for the aquila tokenizer and ChatML for any other */
enum fs_chat_template fs_chat_template_auto(const char *ckpt_template, const char *tokenizer_name);
/* *out (malloc'ed, NUL-terminated): the prompt for msgs (n >= 1), ending where the assistant's reply begins.
 * Aquila: system messages replace the default system text (several are joined by "\n"). */
PetscErrorCode fs_chat_render(enum fs_chat_template t, const struct fs_chat_msg *msgs, int n, char **out);

#endif
