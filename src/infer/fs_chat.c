/* fs_chat.c -- chat templates (see fs_chat.h) */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "fs_chat.h"

const char fs_chat_aquila_system[] = "A chat between a curious human and an artificial intelligence assistant. The "
                                     "assistant gives helpful, detailed, and polite answers to the human's questions.";

const char *fs_chat_template_name(enum fs_chat_template t) { return t == FS_CHAT_CHATML ? "chatml" : "aquila"; }

const char *fs_chat_stop_string(enum fs_chat_template t) { return t == FS_CHAT_CHATML ? "<|im_end|>" : "###"; }

int fs_chat_role_parse(const char *name)
{
  if (!name) return -1;
  if (!strcasecmp(name, "user") || !strcasecmp(name, "human")) return FS_CHAT_USER;
  if (!strcasecmp(name, "assistant") || !strcasecmp(name, "bot") || !strcasecmp(name, "gpt")) return FS_CHAT_ASSISTANT;
  if (!strcasecmp(name, "system")) return FS_CHAT_SYSTEM;
  return -1;
}

enum fs_chat_template fs_chat_template_auto(const char *ckpt_template, const char *tokenizer_name)
{
  if (ckpt_template && strstr(ckpt_template, "<|im_start|>")) return FS_CHAT_CHATML;
  if (tokenizer_name && !strcmp(tokenizer_name, "aquila")) return FS_CHAT_AQUILA;
  return FS_CHAT_CHATML;
}

/* a growing string */
struct sbuf {
  char *s;
  size_t n, cap;
};

static PetscErrorCode put(struct sbuf *b, const char *a, const char *c)
{
  PetscFunctionBegin;
  size_t na = strlen(a), nc = c ? strlen(c) : 0;
  if (b->n + na + nc + 1 > b->cap) {
    size_t cap = 2 * (b->n + na + nc + 1);
    char *t = realloc(b->s, cap);
    FSCheck(t, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory for a chat prompt of %zu bytes", cap);
    b->s = t, b->cap = cap;
  }
  memcpy(b->s + b->n, a, na), b->n += na;
  if (nc) memcpy(b->s + b->n, c, nc), b->n += nc;
  b->s[b->n] = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode render_aquila(const struct fs_chat_msg *m, int n, struct sbuf *b)
{
  int n_sys = 0;

  PetscFunctionBegin;
  for (int i = 0; i < n; i++)
    if (m[i].role == FS_CHAT_SYSTEM) PetscCall(put(b, n_sys++ ? "\n" : "", m[i].content));
  if (!n_sys) PetscCall(put(b, fs_chat_aquila_system, NULL));
  PetscCall(put(b, "\n\n", NULL));
  for (int i = 0; i < n; i++) {
    if (m[i].role == FS_CHAT_SYSTEM) continue;
    PetscCall(put(b, m[i].role == FS_CHAT_USER ? "### Human: " : "### Assistant: ", m[i].content));
    PetscCall(put(b, "\n", NULL));
  }
  PetscCall(put(b, "### Assistant: ", NULL));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode render_chatml(const struct fs_chat_msg *m, int n, struct sbuf *b)
{
  static const char *const role[] = {"system", "user", "assistant"};

  PetscFunctionBegin;
  for (int i = 0; i < n; i++) {
    PetscCall(put(b, "<|im_start|>", role[m[i].role]));
    PetscCall(put(b, "\n", m[i].content));
    PetscCall(put(b, "<|im_end|>\n", NULL));
  }
  PetscCall(put(b, "<|im_start|>assistant\n", NULL));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_chat_render(enum fs_chat_template t, const struct fs_chat_msg *msgs, int n, char **out)
{
  struct sbuf b = {0};

  PetscFunctionBegin;
  *out = NULL;
  FSCheck(n >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "a chat needs at least one message");
  for (int i = 0; i < n; i++)
    FSCheck(msgs[i].content && (int)msgs[i].role >= FS_CHAT_SYSTEM && msgs[i].role <= FS_CHAT_ASSISTANT,
            PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "chat message %d has no content or an unknown role", i);
  PetscErrorCode ierr = t == FS_CHAT_CHATML ? render_chatml(msgs, n, &b) : render_aquila(msgs, n, &b);
  if (ierr) free(b.s);
  PetscCall(ierr);
  *out = b.s;
  PetscFunctionReturn(PETSC_SUCCESS);
}
