/* fs_engine_output.c -- what a sampled token does to its request: stop tokens, detokenized text, stop strings
 * (the text is cut before the first one), max_new_tokens, and streaming with stop-string hold-back. */
#define _GNU_SOURCE /* memmem */
#include <stdlib.h>
#include <string.h>
#include "fs_engine_impl.h"

const char *fs_finish_name(enum fs_finish f)
{
  switch (f) {
  case FS_FINISH_STOP: return "stop";
  case FS_FINISH_LENGTH: return "length";
  case FS_FINISH_SCORED: return "scored";
  case FS_FINISH_CACHE: return "cache";
  case FS_FINISH_CANCELLED: return "cancelled";
  default: return "running";
  }
}

PetscErrorCode fs_req_push_token(struct fs_req *r, int32_t token, float logprob)
{
  PetscFunctionBegin;
  if ((size_t)r->res.n_tokens == r->cap_tok) {
    size_t cap = r->cap_tok ? 2 * r->cap_tok : 64;
    int32_t *t = realloc(r->res.tokens, cap * sizeof *t);
    FSCheck(t, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory for %zu result tokens", cap);
    r->res.tokens = t;
    float *l = realloc(r->res.logprobs, cap * sizeof *l);
    FSCheck(l, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory for %zu result logprobs", cap);
    r->res.logprobs = l;
    r->cap_tok = cap;
  }
  r->res.tokens[r->res.n_tokens] = token;
  r->res.logprobs[r->res.n_tokens++] = logprob;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_req_push_top(struct fs_req *r, const float *logits, int V)
{
  int n = r->in.sampling.top_logprobs < V ? r->in.sampling.top_logprobs : V;

  PetscFunctionBegin;
  if (n <= 0) PetscFunctionReturn(PETSC_SUCCESS);
  if ((size_t)r->res.n_tokens == r->cap_top) {
    size_t cap = r->cap_top ? 2 * r->cap_top : 64;
    int32_t *t = realloc(r->res.top_ids, cap * (size_t)n * sizeof *t);
    FSCheck(t, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory for %zu top_logprobs", cap);
    r->res.top_ids = t;
    float *l = realloc(r->res.top_logprobs, cap * (size_t)n * sizeof *l);
    FSCheck(l, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory for %zu top_logprobs", cap);
    r->res.top_logprobs = l;
    r->cap_top = cap;
  }
  r->res.n_top = n;
  size_t at = (size_t)r->res.n_tokens * (size_t)n;
  fs_top_logprobs(logits, V, n, r->res.top_ids + at, r->res.top_logprobs + at);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode append_text(struct fs_req *r, const char *b, size_t n)
{
  PetscFunctionBegin;
  if (r->res.n_text + n + 1 > r->cap_text) {
    size_t cap = 2 * (r->res.n_text + n + 1) + 64;
    char *t = realloc(r->res.text, cap);
    FSCheck(t, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory for %zu bytes of text", cap);
    r->res.text = t, r->cap_text = cap;
  }
  memcpy(r->res.text + r->res.n_text, b, n);
  r->res.n_text += n;
  r->res.text[r->res.n_text] = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* bytes at the end of the text that could still grow into a stop string: the longest suffix that is a proper
 * prefix of one */
static size_t held_back(const struct fs_req *r)
{
  size_t keep = 0;
  for (int i = 0; i < r->in.n_stop_strings; i++) {
    size_t L = strlen(r->in.stop_strings[i]);
    for (size_t k = L - 1; k > keep && L > 0; k--)
      if (k <= r->res.n_text && !memcmp(r->res.text + r->res.n_text - k, r->in.stop_strings[i], k)) {
        keep = k;
        break;
      }
  }
  return keep;
}

static void stream(struct fs_engine *e, struct fs_req *r, int32_t token, size_t upto, int finished)
{
  if (!e->cb) return;
  size_t from = r->emitted < upto ? r->emitted : upto;
  e->cb(e->cb_ctx, r->res.id, token, r->res.text + from, upto - from, finished);
  r->emitted = upto > r->emitted ? upto : r->emitted;
}

void fs_engine_finish(struct fs_engine *e, struct fs_req *r, enum fs_finish why)
{
  r->res.finish = why;
  r->state = FS_REQ_DONE;
  stream(e, r, -1, r->res.n_text, 1);
}

PetscErrorCode fs_engine_accept_token(struct fs_engine *e, struct fs_req *r, int32_t token, float logprob)
{
  const struct fs_model_config *c = &e->m->cfg;

  PetscFunctionBegin;
  PetscCall(fs_req_push_token(r, token, logprob));
  if (r->n_ctx == r->cap_ctx) {
    int64_t cap = 2 * r->cap_ctx;
    int32_t *t = realloc(r->ctx, (size_t)cap * sizeof *t);
    FSCheck(t, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory for a context of %lld tokens", (long long)cap);
    r->ctx = t, r->cap_ctx = cap;
  }
  r->ctx[r->n_ctx++] = token;
  for (int i = 0; i < r->in.n_stop_ids; i++)
    if (token == r->in.stop_ids[i]) {
      fs_engine_finish(e, r, FS_FINISH_STOP);
      PetscFunctionReturn(PETSC_SUCCESS);
    }
  if (e->tok) {
    const char *b;
    size_t n;
    size_t old = r->res.n_text;
    PetscCall(fs_tokenizer_id_bytes(e->tok, token, &b, &n));
    PetscCall(append_text(r, b, n));
    for (int i = 0; i < r->in.n_stop_strings; i++) {
      /* only a match that ends in the new bytes is new */
      size_t L = strlen(r->in.stop_strings[i]);
      size_t from = old >= L ? old - L + 1 : 0;
      char *hit = L ? memmem(r->res.text + from, r->res.n_text - from, r->in.stop_strings[i], L) : NULL;
      if (hit) {
        r->res.n_text = (size_t)(hit - r->res.text);
        r->res.text[r->res.n_text] = 0;
        fs_engine_finish(e, r, FS_FINISH_STOP);
        PetscFunctionReturn(PETSC_SUCCESS);
      }
    }
  }
  int64_t n_gen = r->n_ctx - r->in.n_prompt;
  if (n_gen >= r->in.max_new_tokens ||
      (c->position_embedding_type == FS_POS_LEARNED && r->n_ctx > c->max_position_embeddings)) {
    fs_engine_finish(e, r, FS_FINISH_LENGTH);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  stream(e, r, token, r->res.n_text - held_back(r), 0);
  PetscFunctionReturn(PETSC_SUCCESS);
}
