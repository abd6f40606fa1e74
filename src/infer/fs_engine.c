/* fs_engine.c -- continuous batching: requests, the queue, admission, preemption, one forward per step
 * (policy: fs_engine.h) */
#include <stdlib.h>
#include <string.h>
#include <mpi.h>
#include "fs_engine_impl.h"

void fs_engine_opts_default(struct fs_engine_opts *o)
{
  *o = (struct fs_engine_opts){.max_batch_size = 16, .max_step_tokens = 512, .kv_cache_bytes = (size_t)256 << 20,
                               .block_size = 16};
}

PetscErrorCode fs_engine_create(struct fs_model *m, const struct fs_tokenizer *tok, const struct fs_engine_opts *o,
                                struct fs_engine **out)
{
  struct fs_engine *e;

  PetscFunctionBegin;
  *out = NULL;
  FSCheck(o->max_batch_size >= 1 && o->max_step_tokens >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
          "engine: max_batch_size %d and max_step_tokens %lld must be >= 1", o->max_batch_size,
          (long long)o->max_step_tokens);
  FSCalloc(sizeof *e, &e);
  e->m = m, e->tok = tok, e->opts = *o;
  PetscErrorCode ierr = fs_infer_cache_create(m, o->kv_cache_bytes, o->block_size, &e->cache);
  if (ierr) FSFree(&e);
  PetscCall(ierr);
  *out = e;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void req_free(struct fs_req *r)
{
  if (!r) return;
  free(r->ctx);
  free(r->res.tokens);
  free(r->res.logprobs);
  free(r->res.top_ids), free(r->res.top_logprobs);
  free(r->res.text);
  free((void *)r->in.stop_ids);
  for (int i = 0; i < r->in.n_stop_strings; i++) free((void *)r->in.stop_strings[i]);
  free((void *)r->in.stop_strings);
  free(r);
}

PetscErrorCode fs_engine_destroy(struct fs_engine **e)
{
  PetscFunctionBegin;
  if (!*e) PetscFunctionReturn(PETSC_SUCCESS);
  for (int64_t i = 0; i < (*e)->n_req; i++) req_free((*e)->req[i]);
  free((*e)->req);
  free((*e)->waiting);
  free((*e)->running);
  fs_infer_ws_free(&(*e)->ws);
  fs_sampler_ws_free(&(*e)->sws);
  PetscCall(fs_kv_cache_destroy(&(*e)->cache));
  FSFree(e);
  PetscFunctionReturn(PETSC_SUCCESS);
}

void fs_engine_set_callback(struct fs_engine *e, fs_engine_token_fn fn, void *ctx) { e->cb = fn, e->cb_ctx = ctx; }

PetscErrorCode fs_engine_submit(struct fs_engine *e, const struct fs_request *in, int64_t *id)
{
  const struct fs_model_config *c = &e->m->cfg;
  struct fs_req *r;

  PetscFunctionBegin;
  FSCheck(in->n_prompt >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "request with an empty prompt");
  FSCheck(in->max_new_tokens >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "max_new_tokens %lld: must be >= 0",
          (long long)in->max_new_tokens);
  FSCheck(c->position_embedding_type == FS_POS_ROPE || in->n_prompt <= c->max_position_embeddings,
          PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "prompt of %lld tokens: the model has %d positions",
          (long long)in->n_prompt, c->max_position_embeddings);
  FSCheck(fs_kv_cache_blocks_for(e->cache, in->n_prompt) <= e->cache->n_blocks, PETSC_COMM_SELF,
          PETSC_ERR_ARG_OUTOFRANGE, "prompt of %lld tokens does not fit in the KV cache (%lld tokens): raise "
          "-kv_cache_mb", (long long)in->n_prompt, (long long)(e->cache->n_blocks * e->cache->block_size));
  FSCheck(!in->n_stop_strings || e->tok, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONGSTATE,
          "stop strings need an engine with a tokenizer");
  for (int64_t i = 0; i < in->n_prompt; i++)
    FSCheck(in->prompt[i] >= 0 && in->prompt[i] < c->vocab_size, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
            "prompt token %lld is %d: outside the model's vocabulary (0..%d)", (long long)i, in->prompt[i],
            c->vocab_size - 1);
  PetscCall(fs_sampling_check(&in->sampling));
  if (e->n_req == e->cap_req) {
    int64_t cap = e->cap_req ? 2 * e->cap_req : 64;
    void *a = realloc(e->req, (size_t)cap * sizeof *e->req), *b = realloc(e->waiting, (size_t)cap * sizeof(int64_t));
    void *d = realloc(e->running, (size_t)cap * sizeof(int64_t));
    if (a) e->req = a;
    if (b) e->waiting = b;
    if (d) e->running = d;
    FSCheck(a && b && d, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory for %lld requests", (long long)cap);
    e->cap_req = cap;
  }
  FSCalloc(sizeof *r, &r);
  e->req[e->n_req] = r; /* owned from here: freed by destroy even if a copy below fails */
  r->res.id = e->n_req++;
  r->in = *in;
  r->in.prompt = NULL;
  r->in.stop_ids = NULL, r->in.stop_strings = NULL, r->in.n_stop_ids = r->in.n_stop_strings = 0;
  r->seq = -1;
  r->res.n_prompt = in->n_prompt;
  r->cap_ctx = in->n_prompt + (in->max_new_tokens < 1024 ? in->max_new_tokens : 1024) + 1;
  FSMalloc((size_t)r->cap_ctx * sizeof(int32_t), &r->ctx);
  memcpy(r->ctx, in->prompt, (size_t)in->n_prompt * sizeof(int32_t));
  r->n_ctx = in->n_prompt;
  if (in->n_stop_ids) {
    int32_t *ids;
    FSMalloc((size_t)in->n_stop_ids * sizeof(int32_t), &ids);
    memcpy(ids, in->stop_ids, (size_t)in->n_stop_ids * sizeof(int32_t));
    r->in.stop_ids = ids, r->in.n_stop_ids = in->n_stop_ids;
  }
  if (in->n_stop_strings) {
    char **ss;
    FSCalloc((size_t)in->n_stop_strings * sizeof(char *), &ss);
    r->in.stop_strings = (const char *const *)ss;
    for (int i = 0; i < in->n_stop_strings; i++) {
      ss[i] = strdup(in->stop_strings[i]);
      FSCheck(ss[i], PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory copying a stop string");
      r->in.n_stop_strings = i + 1;
    }
  }
  FSCalloc(1, &r->res.text);
  r->cap_text = 1;
  e->waiting[e->n_waiting++] = r->res.id;
  *id = r->res.id;
  PetscFunctionReturn(PETSC_SUCCESS);
}

const struct fs_result *fs_engine_result(const struct fs_engine *e, int64_t id)
{
  if (id < 0 || id >= e->n_req || !e->req[id] || e->req[id]->state != FS_REQ_DONE) return NULL;
  return &e->req[id]->res;
}

const struct fs_result *fs_engine_progress(const struct fs_engine *e, int64_t id)
{
  return id < 0 || id >= e->n_req || !e->req[id] ? NULL : &e->req[id]->res;
}

PetscErrorCode fs_engine_release(struct fs_engine *e, int64_t id)
{
  PetscFunctionBegin;
  FSCheck(id >= 0 && id < e->n_req && e->req[id], PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
          "engine: no request %lld to release", (long long)id);
  FSCheck(e->req[id]->state == FS_REQ_DONE, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONGSTATE,
          "engine: request %lld still runs: cancel it before releasing it", (long long)id);
  req_free(e->req[id]);
  e->req[id] = NULL;
  PetscFunctionReturn(PETSC_SUCCESS);
}

void fs_engine_get_stats(const struct fs_engine *e, struct fs_engine_stats *s) { *s = e->stats; }

void fs_engine_cache_blocks(const struct fs_engine *e, int64_t *n_free, int64_t *n_blocks)
{
  *n_free = e->cache->n_free, *n_blocks = e->cache->n_blocks;
}

/* removes running[i], keeping the admission order */
static void drop_running(struct fs_engine *e, int i)
{
  memmove(e->running + i, e->running + i + 1, (size_t)(e->n_running - i - 1) * sizeof *e->running);
  e->n_running--;
}

static void release(struct fs_engine *e, struct fs_req *r)
{
  if (r->seq >= 0) fs_kv_cache_seq_close(e->cache, r->seq);
  r->seq = -1;
  r->n_done = 0;
}

/* removes id from an array of n ids; 1 if it was there */
static int drop_id(int64_t *a, int64_t n, int64_t id)
{
  for (int64_t i = 0; i < n; i++)
    if (a[i] == id) {
      memmove(a + i, a + i + 1, (size_t)(n - i - 1) * sizeof *a);
      return 1;
    }
  return 0;
}

PetscErrorCode fs_engine_cancel(struct fs_engine *e, int64_t id)
{
  PetscFunctionBegin;
  FSCheck(id >= 0 && id < e->n_req && e->req[id], PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
          "engine: no request %lld to cancel", (long long)id);
  struct fs_req *r = e->req[id];
  if (r->state == FS_REQ_DONE) PetscFunctionReturn(PETSC_SUCCESS);
  if (r->state == FS_REQ_WAITING) e->n_waiting -= drop_id(e->waiting, e->n_waiting, id);
  else {
    release(e, r);
    e->n_running -= drop_id(e->running, e->n_running, id);
  }
  fs_engine_finish(e, r, FS_FINISH_CANCELLED);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* the newest running request goes back to the head of the queue; its context is recomputed later */
static void preempt_newest(struct fs_engine *e)
{
  struct fs_req *r = e->req[e->running[e->n_running - 1]];
  release(e, r);
  drop_running(e, e->n_running - 1);
  memmove(e->waiting + 1, e->waiting, (size_t)e->n_waiting * sizeof *e->waiting);
  e->waiting[0] = r->res.id;
  e->n_waiting++;
  r->state = FS_REQ_WAITING;
  r->res.n_preempted++;
  if (r->in.max_new_tokens == 0) r->res.n_tokens = 0; /* scoring restarts from the first prompt token */
  e->stats.preemptions++;
}

/* step part 1: room in the cache for every running sequence's next tokens, decoding ones first (one token each)
 * so that a long prompt chunk never starves them, then prompt chunks in admission order; when the cache is full
 * the newest running sequence is preempted */
static PetscErrorCode reserve_running(struct fs_engine *e, int64_t *budget, int *n_new)
{
  PetscFunctionBegin;
  for (int i = 0; i < e->n_running; i++) n_new[i] = 0;
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < e->n_running;) {
      struct fs_req *r = e->req[e->running[i]];
      int64_t want = r->n_ctx - r->n_done;
      if ((pass == 0) != (want == 1)) {
        i++;
        continue;
      }
      if (want > *budget) want = *budget;
      if (want <= 0) { /* the step is full; it waits for the next one */
        i++;
        continue;
      }
      int ok;
      PetscCall(fs_kv_cache_reserve(e->cache, r->seq, r->n_done + want, &ok));
      if (ok) {
        n_new[i++] = (int)want;
        *budget -= want;
        continue;
      }
      if (e->n_running == 1) { /* alone and still too big: the cache cannot hold this sequence */
        release(e, r);
        drop_running(e, i);
        fs_engine_finish(e, r, FS_FINISH_CACHE);
        continue;
      }
      int last = e->n_running - 1;
      *budget += n_new[last]; /* its tokens of this step, if any, are not run */
      n_new[last] = 0;
      preempt_newest(e);
      if (last == i) break; /* r itself went back to the queue */
    }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* step part 2: admit waiting requests whose whole context fits in the free blocks */
static PetscErrorCode admit(struct fs_engine *e, int64_t *budget, int *n_new)
{
  PetscFunctionBegin;
  while (e->n_waiting && e->n_running < e->opts.max_batch_size && *budget > 0) {
    struct fs_req *r = e->req[e->waiting[0]];
    if (fs_kv_cache_blocks_for(e->cache, r->n_ctx) > e->cache->n_free) {
      if (e->n_running) break; /* queue until running sequences free blocks */
      /* nothing runs and it still does not fit (a preempted request that grew): give up on it */
      memmove(e->waiting, e->waiting + 1, (size_t)--e->n_waiting * sizeof *e->waiting);
      fs_engine_finish(e, r, FS_FINISH_CACHE);
      continue;
    }
    int ok;
    PetscCall(fs_kv_cache_seq_open(e->cache, &r->seq));
    PetscCall(fs_kv_cache_reserve(e->cache, r->seq, r->n_ctx, &ok));
    FSCheck(ok, PETSC_COMM_SELF, PETSC_ERR_PLIB, "engine: reservation of a checked size failed");
    memmove(e->waiting, e->waiting + 1, (size_t)--e->n_waiting * sizeof *e->waiting);
    r->state = FS_REQ_RUNNING;
    r->n_done = 0;
    int64_t want = r->n_ctx < *budget ? r->n_ctx : *budget;
    n_new[e->n_running] = (int)want;
    *budget -= want;
    e->running[e->n_running++] = r->res.id;
  }
  if (e->n_running > e->stats.max_running) e->stats.max_running = e->n_running;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_engine_step(struct fs_engine *e, int *n_busy)
{
  const int V = e->m->cfg.vocab_size;
  int *n_new = NULL, *seq = NULL, *all = NULL, *slot = NULL;
  int32_t *tokens = NULL;

  PetscFunctionBegin;
  double t0 = MPI_Wtime();
  int64_t budget = e->opts.max_step_tokens;
  FSMalloc((size_t)(e->n_running + e->opts.max_batch_size + 1) * sizeof(int), &n_new);
  PetscCall(reserve_running(e, &budget, n_new));
  PetscCall(admit(e, &budget, n_new));
  int64_t n_tok = e->opts.max_step_tokens - budget, n_prefill = 0;
  int ns = 0;
  FSMalloc((size_t)(e->n_running + 1) * sizeof(int), &seq);
  FSMalloc((size_t)(e->n_running + 1) * sizeof(int), &all);
  FSMalloc((size_t)(e->n_running + 1) * sizeof(int), &slot);
  FSMalloc((size_t)(n_tok + 1) * sizeof(int32_t), &tokens);
  for (int i = 0, k = 0; i < e->n_running; i++) {
    struct fs_req *r = e->req[e->running[i]];
    if (!n_new[i]) continue;
    memcpy(tokens + k, r->ctx + r->n_done, (size_t)n_new[i] * sizeof(int32_t));
    k += n_new[i];
    /* a prompt token (or a recomputed one) is prefill; the newest generated token is decode */
    if (!(n_new[i] == 1 && r->n_ctx - r->n_done == 1 && r->n_ctx > r->in.n_prompt)) n_prefill += n_new[i];
    seq[ns] = r->seq, all[ns] = r->in.max_new_tokens == 0, slot[ns] = i, n_new[ns] = n_new[i];
    ns++;
  }
  if (ns) {
    struct fs_infer_batch b = {ns, seq, n_new, tokens, all};
    float *logits;
    int64_t R;
    PetscCall(fs_infer_forward(&e->ws, e->m, e->cache, &b, &logits, &R));
    for (int j = 0, row = 0; j < ns; j++) {
      struct fs_req *r = e->req[e->running[slot[j]]];
      int64_t p0 = r->n_done;
      r->n_done += n_new[j];
      if (all[j]) { /* scoring: row for position p scores prompt token p+1 */
        for (int i = 0; i < n_new[j]; i++, row++)
          if (p0 + i + 1 < r->n_ctx) {
            PetscCall(fs_req_push_top(r, logits + (int64_t)row * V, V));
            PetscCall(fs_req_push_token(r, r->ctx[p0 + i + 1], fs_logprob(logits + (int64_t)row * V, V,
                                                                          r->ctx[p0 + i + 1])));
          }
        if (r->n_done == r->n_ctx) fs_engine_finish(e, r, FS_FINISH_SCORED);
        continue;
      }
      const float *lrow = logits + (int64_t)row++ * V;
      if (r->n_done < r->n_ctx) continue; /* prompt chunk: more to come */
      int32_t t;
      float lp;
      PetscCall(fs_sample(&e->sws, lrow, V, &r->in.sampling, r->n_ctx - r->in.n_prompt, &t, &lp));
      PetscCall(fs_req_push_top(r, lrow, V));
      PetscCall(fs_engine_accept_token(e, r, t, lp));
    }
    /* finished ones give their blocks back */
    for (int i = e->n_running - 1; i >= 0; i--) {
      struct fs_req *r = e->req[e->running[i]];
      if (r->state != FS_REQ_DONE) continue;
      release(e, r);
      drop_running(e, i);
    }
  }
  double dt = MPI_Wtime() - t0;
  if (n_tok) {
    e->stats.steps++;
    e->stats.prefill_tokens += n_prefill, e->stats.decode_tokens += n_tok - n_prefill;
    e->stats.prefill_s += dt * (double)n_prefill / (double)n_tok;
    e->stats.decode_s += dt * (double)(n_tok - n_prefill) / (double)n_tok;
  }
  free(n_new), free(seq), free(all), free(slot), free(tokens);
  *n_busy = (int)(e->n_waiting + e->n_running);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_engine_run(struct fs_engine *e)
{
  int busy = 1;
  PetscFunctionBegin;
  while (busy) PetscCall(fs_engine_step(e, &busy));
  PetscFunctionReturn(PETSC_SUCCESS);
}
