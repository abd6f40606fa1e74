/* fs_sft_encode.c -- one jsonl line -> tokens and trained flags (see fs_sft.h) */
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "fs_sft.h"

void fs_sft_buf_free(struct fs_sft_buf *b)
{
  fs_tokens_free(&b->ids);
  free(b->trained);
  b->trained = NULL, b->cap_trained = 0;
}

/* encodes text and appends it to out with the flag `trained` */
static PetscErrorCode append(struct fs_tokenizer *tok, const char *text, size_t n, uint8_t trained,
                             struct fs_sft_buf *out)
{
  int64_t first = out->ids.n;

  PetscFunctionBegin;
  if (n) PetscCall(fs_tokenizer_encode(tok, text, n, &out->ids));
  if (out->ids.n > out->cap_trained) {
    int64_t cap = 2 * out->ids.n + 64;
    uint8_t *p = realloc(out->trained, (size_t)cap);
    FSCheck(p, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory for %lld token flags", (long long)cap);
    out->trained = p, out->cap_trained = cap;
  }
  memset(out->trained + first, trained, (size_t)(out->ids.n - first));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode append_id(int32_t id, uint8_t trained, struct fs_sft_buf *out)
{
  PetscFunctionBegin;
  PetscCall(fs_tokens_push(&out->ids, id));
  PetscCall(append(NULL, NULL, 0, trained, out)); /* grows the flags */
  out->trained[out->ids.n - 1] = trained;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* the string member key of o, or NULL; an error when present but not a string */
static PetscErrorCode get_str(const json_t *o, const char *key, const char *where, const char **s)
{
  PetscFunctionBegin;
  const json_t *v = json_object_get(o, key);
  *s = NULL;
  if (!v || json_is_null(v)) PetscFunctionReturn(PETSC_SUCCESS);
  FSCheck(json_is_string(v), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: \"%s\" must be a string", where, key);
  *s = json_string_value(v);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* the conversation as messages: system text first (when any), then the turns up to the last assistant one */
static PetscErrorCode messages(const json_t *root, const char *where, enum fs_chat_template tmpl,
                               struct fs_chat_msg **msgs, int *n, char **sys_owned)
{
  const json_t *turns = json_object_get(root, "conversations");
  const char *role_key = "from", *text_key = "value", *instruction, *system;
  int from_messages = 0;

  PetscFunctionBegin;
  *msgs = NULL, *n = 0, *sys_owned = NULL;
  if (!turns) {
    turns = json_object_get(root, "messages");
    role_key = "role", text_key = "content", from_messages = 1;
  }
  FSCheck(turns, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "%s: no \"conversations\" (original FlagScale format) or \"messages\" (OpenAI format) list", where);
  FSCheck(json_is_array(turns), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: \"%s\" must be a list", where,
          from_messages ? "messages" : "conversations");
  PetscCall(get_str(root, "instruction", where, &instruction));
  PetscCall(get_str(root, "system", where, &system));
  size_t nt = json_array_size(turns);
  struct fs_chat_msg *m;
  FSMalloc((nt + 1) * sizeof *m, &m);
  *msgs = m; /* the caller frees it, also after an error */
  int k = 0, last_asst = -1;
  if (instruction && !*instruction) instruction = NULL;
  if (system || instruction) { /* Aquila keeps its default system text before an instruction */
    const char *base = system ? system : tmpl == FS_CHAT_AQUILA ? fs_chat_aquila_system : NULL;
    size_t len = (base ? strlen(base) + 1 : 0) + (instruction ? strlen(instruction) : 0) + 1;
    char *s = malloc(len);
    FSCheck(s, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory");
    snprintf(s, len, "%s%s%s", base ? base : "", base && instruction ? "\n" : "", instruction ? instruction : "");
    *sys_owned = s;
    m[k++] = (struct fs_chat_msg){FS_CHAT_SYSTEM, s};
  }
  for (size_t i = 0; i < nt; i++) {
    const json_t *t = json_array_get(turns, i);
    const char *role, *text;
    FSCheck(json_is_object(t), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: turn %zu is not an object", where, i);
    PetscCall(get_str(t, role_key, where, &role));
    PetscCall(get_str(t, text_key, where, &text));
    int r = fs_chat_role_parse(role);
    FSCheck(r >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
            "%s: turn %zu has %s \"%s\" (expected human/gpt, user/assistant or system)", where, i, role_key,
            role ? role : "(missing)");
    FSCheck(text, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: turn %zu has no string \"%s\"", where, i, text_key);
    FSCheck(r != FS_CHAT_SYSTEM || k == 0 || m[k - 1].role == FS_CHAT_SYSTEM, PETSC_COMM_SELF,
            PETSC_ERR_FILE_UNEXPECTED, "%s: turn %zu: a system message must come before the other turns", where, i);
    if (r == FS_CHAT_ASSISTANT) {
      FSCheck(k > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
              "%s: the conversation starts with an assistant turn: there is no prompt to answer", where);
      last_asst = k;
    }
    m[k++] = (struct fs_chat_msg){(enum fs_chat_role)r, text};
  }
  FSCheck(last_asst >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "%s: no assistant (\"gpt\") turn: nothing to train on", where);
  *n = last_asst + 1;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode encode_convo(const json_t *root, const char *where, const struct fs_sft_opts *o,
                                   struct fs_tokenizer *tok, struct fs_sft_buf *out)
{
  struct fs_chat_msg *m = NULL;
  char *sys = NULL, *prompt = NULL, *done = NULL;
  size_t n_done = 0;
  int n;
  const char *eot = o->tmpl == FS_CHAT_AQUILA ? "\n" : "<|im_end|>";

  PetscFunctionBegin;
  PetscErrorCode ierr = messages(root, where, o->tmpl, &m, &n, &sys);
  if (ierr) goto done;
  if (o->tmpl == FS_CHAT_AQUILA && fs_tokenizer_token_id(tok, "[CLS]") >= 0)
    if ((ierr = append_id(fs_tokenizer_token_id(tok, "[CLS]"), 0, out))) goto done;
  for (int i = 1; i < n; i++) {
    if (m[i].role != FS_CHAT_ASSISTANT) continue;
    /* the prompt before reply i extends what is already tokenized: its new part is masked */
    if ((ierr = fs_chat_render(o->tmpl, m, i, &prompt))) goto done;
    size_t np = strlen(prompt);
    if (np < n_done || (n_done && memcmp(prompt, done, n_done))) {
      ierr = PETSC_ERR_PLIB;
      (void)PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, ierr, PETSC_ERROR_INITIAL,
                       "%s: the %s template does not render turn by turn (internal error)", where,
                       fs_chat_template_name(o->tmpl));
      goto done;
    }
    if ((ierr = append(tok, prompt + n_done, np - n_done, 0, out))) goto done;
    size_t nc = strlen(m[i].content), ne = strlen(eot);
    char *reply = malloc(nc + ne + 1), *grown = realloc(done, np + nc + ne + 1);
    if (!reply || !grown) {
      free(reply);
      if (grown) done = grown;
      ierr = PETSC_ERR_MEM;
      (void)PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, ierr, PETSC_ERROR_INITIAL,
                       "out of memory");
      goto done;
    }
    done = grown;
    snprintf(reply, nc + ne + 1, "%s%s", m[i].content, eot);
    ierr = append(tok, reply, nc + ne, 1, out);
    snprintf(done, np + nc + ne + 1, "%s%s", prompt, reply);
    n_done = np + nc + ne;
    free(reply), free(prompt), prompt = NULL;
    if (ierr) goto done;
  }
  if (o->tmpl == FS_CHAT_AQUILA && fs_tokenizer_eod(tok) >= 0) ierr = append_id(fs_tokenizer_eod(tok), 1, out);
done:
  free(m), free(sys), free(prompt), free(done);
  PetscCall(ierr);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_sft_encode_line(const char *json, const char *where, const struct fs_sft_opts *o,
                                  struct fs_tokenizer *tok, struct fs_sft_buf *out)
{
  json_error_t err;

  PetscFunctionBegin;
  json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &err);
  FSCheck(root, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: not valid JSON (%s, column %d)", where, err.text,
          err.column);
  PetscErrorCode ierr = PETSC_SUCCESS;
  if (!json_is_object(root)) {
    json_decref(root);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: a line must be a JSON object", where);
  }
  if (o->type == FS_SFT_CPT) {
    const char *text = NULL;
    ierr = get_str(root, "text", where, &text);
    if (!ierr && !text) {
      ierr = PETSC_ERR_FILE_UNEXPECTED;
      (void)PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, ierr, PETSC_ERROR_INITIAL,
                       "%s: no \"text\" string (-finetune_dataset_type cpt reads {\"text\": ...})", where);
    }
    if (!ierr) ierr = append(tok, text, strlen(text), 1, out);
    if (!ierr && fs_tokenizer_eod(tok) >= 0) ierr = append_id(fs_tokenizer_eod(tok), 1, out);
  } else ierr = encode_convo(root, where, o, tok, out);
  json_decref(root);
  PetscCall(ierr);
  PetscFunctionReturn(PETSC_SUCCESS);
}
