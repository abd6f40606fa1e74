/* fs_engine_impl.h -- the engine's internal state, shared by fs_engine.c (scheduling) and fs_engine_output.c
 * (what a sampled token does to a request: stops, text, streaming) */
#ifndef FS_ENGINE_IMPL_H
#define FS_ENGINE_IMPL_H

#include "fs_engine.h"
#include "fs_infer_forward.h"
#include "fs_kv_cache.h"

enum fs_req_state { FS_REQ_WAITING, FS_REQ_RUNNING, FS_REQ_DONE };

struct fs_req {
  struct fs_request in;    /* settings; pointers inside are the engine's copies */
  enum fs_req_state state;
  int32_t *ctx;            /* (cap_ctx) prompt, then generated tokens */
  int64_t n_ctx, cap_ctx;
  int64_t n_done;          /* tokens of ctx whose K/V are in the cache */
  int seq;                 /* cache sequence while running, else -1 */
  size_t emitted;          /* text bytes already given to the callback */
  size_t cap_text, cap_tok, cap_top;
  struct fs_result res;
};

struct fs_engine {
  struct fs_model *m;
  const struct fs_tokenizer *tok;
  struct fs_engine_opts opts;
  struct fs_kv_cache *cache;
  struct fs_infer_ws ws;
  struct fs_sampler_ws sws;
  struct fs_req **req;     /* (n_req) by id */
  int64_t n_req, cap_req;
  int64_t *waiting;        /* (cap_req) queue of ids, head first */
  int64_t n_waiting;
  int64_t *running;        /* (cap_req) ids in admission order */
  int n_running;
  fs_engine_token_fn cb;
  void *cb_ctx;
  struct fs_engine_stats stats;
};

/* after a token was sampled for r: records it, checks stops and limits, streams text; may finish r */
PetscErrorCode fs_engine_accept_token(struct fs_engine *e, struct fs_req *r, int32_t token, float logprob);
/* pushes to the result arrays */
PetscErrorCode fs_req_push_token(struct fs_req *r, int32_t token, float logprob);
/* records the alternatives of r's next token (sampling.top_logprobs of them; nothing when 0) from its logits row;
 * called before the token is pushed */
PetscErrorCode fs_req_push_top(struct fs_req *r, const float *logits, int V);
/* marks r finished and streams the rest of its text */
void fs_engine_finish(struct fs_engine *e, struct fs_req *r, enum fs_finish why);

#endif
