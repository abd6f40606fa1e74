/* fs_serve_engine.c -- the engine thread: takes queued jobs, encodes and submits them, steps the engine while any
 * job runs (jobs that arrive meanwhile join the batch at the next step), hands results back to the handlers. */
#include <stdlib.h>
#include <string.h>
#include "fs_log.h"
#include "fs_model.h"
#include "fs_serve.h"
#include "fs_tokenizer.h"

struct fs_serve_job *fs_serve_job_new(void)
{
  struct fs_serve_job *j = calloc(1, sizeof *j);
  if (j) j->refs = 1, j->eid = -1;
  return j;
}

static void job_free(struct fs_serve_job *j)
{
  free(j->prompt);
  for (int i = 0; i < j->n_msgs; i++) free((void *)j->msgs[i].content);
  free(j->msgs);
  for (int i = 0; i < j->n_stop; i++) free(j->stop[i]);
  free(j->stop);
  free(j->sbuf), free(j->rel), free(j->prompt_ids), free(j->tokens), free(j->logprobs), free(j->text);
  free(j->pieces), free(j->piece_off), free(j->top_ids), free(j->top_logprobs);
  free(j->slp.logprobs), free(j->slp.top_logprobs), free(j->slp.end), free(j->slp.piece_off), free(j->slp.pieces);
  free(j);
}

/* under lock */
static void job_unref(struct fs_serve_job *j)
{
  if (--j->refs == 0) job_free(j);
}

void fs_serve_job_release(struct fs_serve *s, struct fs_serve_job *j)
{
  if (!j) return;
  pthread_mutex_lock(&s->lock);
  job_unref(j);
  pthread_mutex_unlock(&s->lock);
}

/* under lock: the engine thread is done with j */
static void job_end(struct fs_serve *s, struct fs_serve_job *j, enum fs_job_state st, int status, const char *err)
{
  j->state = st;
  j->t_done = fs_serve_now();
  if (st == FS_JOB_FAILED) {
    j->status = status;
    snprintf(j->err, sizeof j->err, "%s", err);
  } else {
    s->jobs_done++;
    if (j->finish == FS_FINISH_CANCELLED) s->jobs_cancelled++;
    s->prompt_tokens += (uint64_t)j->n_prompt;
    if (j->finish != FS_FINISH_SCORED) s->completion_tokens += (uint64_t)j->n_tokens;
  }
  s->n_pending--;
  job_unref(j);
  pthread_cond_broadcast(&s->progress);
}

/* under lock */
static void cancel_locked(struct fs_serve *s, struct fs_serve_job *j)
{
  if ((j->state == FS_JOB_QUEUED || j->state == FS_JOB_RUNNING) && !j->cancel_asked) {
    if (s->n_cancel == s->cap_cancel) {
      int cap = 2 * s->cap_cancel + 16;
      struct fs_serve_job **t = realloc(s->cancel, (size_t)cap * sizeof *t);
      if (t) s->cancel = t, s->cap_cancel = cap;
    }
    if (s->n_cancel < s->cap_cancel) { /* out of memory: the job runs to its end */
      j->cancel_asked = 1;
      j->refs++;
      s->cancel[s->n_cancel++] = j;
      pthread_cond_signal(&s->work);
    }
  }
}

void fs_serve_cancel(struct fs_serve *s, struct fs_serve_job *j)
{
  pthread_mutex_lock(&s->lock);
  cancel_locked(s, j);
  pthread_mutex_unlock(&s->lock);
}

static void fail_job(struct fs_serve *s, struct fs_serve_job *j, int status, const char *err)
{
  pthread_mutex_lock(&s->lock);
  job_end(s, j, FS_JOB_FAILED, status, err);
  pthread_mutex_unlock(&s->lock);
}

/* the bytes of a token; "" for an id the tokenizer lacks (a model may have more rows than the tokenizer ids) */
static PetscErrorCode piece_bytes(struct fs_serve *s, int32_t id, const char **b, size_t *len)
{
  PetscFunctionBegin;
  if (id >= fs_tokenizer_vocab_size(s->tok)) *b = "", *len = 0;
  else PetscCall(fs_tokenizer_id_bytes(s->tok, id, b, len));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* grows *p to hold n elements of size sz */
static int grow(void *p, size_t n, size_t sz)
{
  void *t = realloc(*(void **)p, n * sz);
  if (!t) return 1;
  *(void **)p = t;
  return 0;
}

/* under lock: records result token t of r (text bytes through it: end) for j's stream */
static PetscErrorCode stream_lp_push(struct fs_serve *s, struct fs_stream_lp *b, const struct fs_result *r, int64_t t,
                                     size_t end)
{
  const char *bytes;
  size_t len;

  PetscFunctionBegin;
  if (b->n == 0) b->n_top = r->n_top;
  int per = 1 + b->n_top;
  if (b->n == b->cap) {
    size_t cap = (size_t)(2 * b->cap + 16);
    FSCheck(!grow(&b->logprobs, cap, sizeof(float)) && !grow(&b->top_logprobs, cap * (size_t)b->n_top + 1,
                                                             sizeof(float)) &&
            !grow(&b->end, cap, sizeof(size_t)) && !grow(&b->piece_off, cap * (size_t)per + 1, sizeof(size_t)),
            PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory for streamed logprobs");
    if (b->cap == 0) b->piece_off[0] = 0;
    b->cap = (int64_t)cap;
  }
  b->logprobs[b->n] = r->logprobs[t];
  b->end[b->n] = end;
  for (int k = 0; k < per; k++) {
    int64_t i = b->n * per + k;
    PetscCall(piece_bytes(s, k ? r->top_ids[t * b->n_top + k - 1] : r->tokens[t], &bytes, &len));
    if (k) b->top_logprobs[b->n * b->n_top + k - 1] = r->top_logprobs[t * b->n_top + k - 1];
    if (b->piece_off[i] + len > b->cap_pieces) {
      size_t cap = 2 * (b->piece_off[i] + len) + 256;
      FSCheck(!grow(&b->pieces, cap, 1), PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory for streamed logprobs");
      b->cap_pieces = cap;
    }
    if (len) memcpy(b->pieces + b->piece_off[i], bytes, len);
    b->piece_off[i + 1] = b->piece_off[i] + len;
  }
  b->n++;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void on_token(void *ctx, int64_t id, int32_t token, const char *bytes, size_t n, int finished)
{
  struct fs_serve *s = ctx;
  struct fs_serve_job *j = id < s->cap_eid ? s->by_eid[id] : NULL;
  if (!j) return;
  pthread_mutex_lock(&s->lock);
  if (j->stream && j->want_pieces && !j->slp.failed) { /* this step's token: streamed with the text through it */
    const struct fs_result *r = fs_engine_progress(s->e, id);
    for (int64_t t = j->slp.n; r && t < r->n_tokens && !j->slp.failed; t++)
      if (stream_lp_push(s, &j->slp, r, t, r->n_text)) j->slp.failed = 1;
  }
  if (token >= 0 && !j->t_first) j->t_first = fs_serve_now();
  if (j->stream && n) {
    if (j->n_sbuf + n > j->cap_sbuf) {
      size_t cap = 2 * (j->n_sbuf + n) + 256;
      char *t = realloc(j->sbuf, cap);
      if (t) j->sbuf = t, j->cap_sbuf = cap;
    }
    if (j->n_sbuf + n <= j->cap_sbuf) memcpy(j->sbuf + j->n_sbuf, bytes, n), j->n_sbuf += n;
    if (j->n_rel == j->cap_rel) {
      int64_t cap = 2 * j->cap_rel + 64;
      size_t *t = realloc(j->rel, (size_t)cap * sizeof *t);
      if (t) j->rel = t, j->cap_rel = cap;
    }
    if (j->n_rel < j->cap_rel) j->rel[j->n_rel++] = j->n_sbuf; /* without it the chunk grows to the next point */
  }
  if (n) pthread_cond_broadcast(&s->progress);
  pthread_mutex_unlock(&s->lock);
}

static PetscErrorCode engine_create(struct fs_serve *s)
{
  PetscFunctionBegin;
  PetscCall(fs_engine_create(s->m, s->tok, &s->eopts, &s->e));
  fs_engine_set_callback(s->e, on_token, s);
  s->n_since_create = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* an idle engine keeps every finished request's result: recreate it now and then so memory stays bounded */
static PetscErrorCode engine_recycle(struct fs_serve *s)
{
  struct fs_engine_stats st;

  PetscFunctionBegin;
  fs_engine_get_stats(s->e, &st);
  pthread_mutex_lock(&s->lock);
  s->stats_base.steps += st.steps, s->stats_base.prefill_tokens += st.prefill_tokens;
  s->stats_base.decode_tokens += st.decode_tokens, s->stats_base.preemptions += st.preemptions;
  s->stats_base.prefill_s += st.prefill_s, s->stats_base.decode_s += st.decode_s;
  if (st.max_running > s->stats_base.max_running) s->stats_base.max_running = st.max_running;
  pthread_mutex_unlock(&s->lock);
  PetscCall(fs_engine_destroy(&s->e));
  PetscCall(engine_create(s));
  if (s->n_ranks > 1) fs_sync_put_event(&s->msg, FS_SYNC_RECYCLE);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* encodes j's prompt, checks it against the model and the cache, submits it.  *status != 0: j is bad input. */
static PetscErrorCode admit(struct fs_serve *s, struct fs_serve_job *j, int *status, char *err, size_t n_err)
{
  struct fs_tokens enc = {0};
  int64_t eid;

  PetscFunctionBegin;
  *status = 0;
  if (j->n_msgs) {
    free(j->prompt);
    j->prompt = NULL;
    PetscCall(fs_chat_render(j->chat, j->msgs, j->n_msgs, &j->prompt));
  }
  PetscCall(fs_tokenizer_encode(s->tok, j->prompt, strlen(j->prompt), &enc));
  int64_t n = enc.n;
  if (n == 0) snprintf(err, n_err, "the prompt is empty (no tokens)"), *status = 400;
  else if (j->max_new_tokens == 0 && n < 2) snprintf(err, n_err, "scoring (max_new_tokens 0) needs a prompt of 2 "
                                                     "tokens or more; this one has 1"), *status = 400;
  else if (s->max_position && n > s->max_position)
    snprintf(err, n_err, "the prompt has %lld tokens; the model has %d positions", (long long)n, s->max_position),
      *status = 400;
  else if (n > s->max_prompt_tokens)
    snprintf(err, n_err, "the prompt has %lld tokens; the KV cache holds %lld (restart the server with a larger "
             "-kv_cache_mb)", (long long)n, (long long)s->max_prompt_tokens), *status = 400;
  if (*status) {
    fs_tokens_free(&enc);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  struct fs_request r = {.prompt = enc.ids, .n_prompt = n, .max_new_tokens = j->max_new_tokens,
                         .sampling = j->sampling, .stop_ids = &s->eod, .n_stop_ids = s->eod >= 0 && !j->ignore_eos,
                         .stop_strings = (const char *const *)j->stop, .n_stop_strings = j->n_stop};
  PetscErrorCode ierr = fs_engine_submit(s->e, &r, &eid);
  if (!ierr && s->n_ranks > 1) fs_sync_put_submit(&s->msg, &r); /* the other ranks submit it too */
  if (!ierr) {
    j->prompt_ids = enc.ids, j->n_prompt = n; /* the job owns the ids now */
    enc.ids = NULL;
  }
  fs_tokens_free(&enc);
  PetscCall(ierr);
  s->n_since_create++;
  if (eid >= s->cap_eid) {
    int64_t cap = 2 * eid + 64;
    struct fs_serve_job **t = realloc(s->by_eid, (size_t)cap * sizeof *t);
    FSCheck(t, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory for the job table");
    memset(t + s->cap_eid, 0, (size_t)(cap - s->cap_eid) * sizeof *t);
    s->by_eid = t, s->cap_eid = cap;
  }
  if (s->n_live == s->cap_live) {
    int64_t cap = 2 * s->cap_live + 64, *t = realloc(s->live, (size_t)cap * sizeof *t);
    FSCheck(t, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory for the job table");
    s->live = t, s->cap_live = cap;
  }
  s->by_eid[eid] = j;
  s->live[s->n_live++] = eid;
  pthread_mutex_lock(&s->lock);
  j->eid = eid;
  j->state = FS_JOB_RUNNING;
  pthread_mutex_unlock(&s->lock);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* the token of piece i: prompt ids, result tokens, then the alternatives (fs_serve_job.pieces) */
static int32_t piece_id(const struct fs_serve_job *j, int64_t i)
{
  if (i < j->n_prompt) return j->prompt_ids[i];
  i -= j->n_prompt;
  return i < j->n_tokens ? j->tokens[i] : j->top_ids[i - j->n_tokens];
}

/* copies a finished request's result into its job */
static PetscErrorCode copy_result(struct fs_serve *s, struct fs_serve_job *j, const struct fs_result *r)
{
  PetscFunctionBegin;
  int64_t n = r->n_tokens, nt = r->n_top ? n * r->n_top : 0;
  FSMalloc((size_t)(n + 1) * sizeof(int32_t), &j->tokens);
  FSMalloc((size_t)(n + 1) * sizeof(float), &j->logprobs);
  FSMalloc((size_t)(nt + 1) * sizeof(int32_t), &j->top_ids);
  FSMalloc((size_t)(nt + 1) * sizeof(float), &j->top_logprobs);
  FSMalloc(r->n_text + 1, &j->text);
  if (n) memcpy(j->tokens, r->tokens, (size_t)n * sizeof(int32_t));
  if (n) memcpy(j->logprobs, r->logprobs, (size_t)n * sizeof(float));
  if (nt) memcpy(j->top_ids, r->top_ids, (size_t)nt * sizeof(int32_t));
  if (nt) memcpy(j->top_logprobs, r->top_logprobs, (size_t)nt * sizeof(float));
  memcpy(j->text, r->text, r->n_text + 1);
  j->n_tokens = n, j->n_text = r->n_text, j->finish = r->finish, j->n_top = nt ? r->n_top : 0;
  if (j->want_pieces) {
    int64_t np = j->n_prompt + n + nt;
    size_t total = 0, len;
    const char *b;
    FSMalloc((size_t)(np + 1) * sizeof(size_t), &j->piece_off);
    for (int64_t i = 0; i < np; i++) {
      PetscCall(piece_bytes(s, piece_id(j, i), &b, &len));
      j->piece_off[i] = total, total += len;
    }
    j->piece_off[np] = total;
    FSMalloc(total + 1, &j->pieces);
    for (int64_t i = 0; i < np; i++) {
      PetscCall(piece_bytes(s, piece_id(j, i), &b, &len));
      memcpy(j->pieces + j->piece_off[i], b, len);
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* hands every finished job back */
static void collect(struct fs_serve *s)
{
  for (int64_t k = 0; k < s->n_live;) {
    int64_t id = s->live[k];
    const struct fs_result *r = fs_engine_result(s->e, id);
    if (!r) {
      k++;
      continue;
    }
    struct fs_serve_job *j = s->by_eid[id];
    PetscErrorCode ierr = copy_result(s, j, r);
    if (!ierr) ierr = fs_engine_release(s->e, id); /* the job has it now: memory stays bounded */
    s->by_eid[id] = NULL;
    s->live[k] = s->live[--s->n_live];
    pthread_mutex_lock(&s->lock);
    if (ierr) job_end(s, j, FS_JOB_FAILED, 500, "out of memory copying a result");
    else job_end(s, j, FS_JOB_DONE, 0, NULL);
    pthread_mutex_unlock(&s->lock);
  }
}

static void fail_live(struct fs_serve *s, const char *why)
{
  for (int64_t k = 0; k < s->n_live; k++) {
    fail_job(s, s->by_eid[s->live[k]], 500, why);
    s->by_eid[s->live[k]] = NULL;
  }
  s->n_live = 0;
}

/* one rank's engine failed: alone it fails its requests and answers 500 from then on; with several ranks, whose
 * engines can no longer agree, the job is aborted */
static void engine_failed(struct fs_serve *s)
{
  s->engine_dead = 1;
  if (s->n_ranks == 1) return;
  fs_log_warn("flagscale-serve: the engine failed on rank 0; aborting the job (%d ranks)", s->n_ranks);
  MPI_Abort(s->comm, 1);
}

/* the jobs whose clients went away: cancelled in the engine (and on the other ranks) */
static void cancel_jobs(struct fs_serve *s, struct fs_serve_job **c, int n)
{
  for (int i = 0; i < n; i++) {
    struct fs_serve_job *j = c[i];
    pthread_mutex_lock(&s->lock);
    int running = j->state == FS_JOB_RUNNING && j->eid >= 0;
    pthread_mutex_unlock(&s->lock);
    if (running && !s->engine_dead) {
      if (fs_engine_cancel(s->e, j->eid)) engine_failed(s);
      else if (s->n_ranks > 1) fs_sync_put_cancel(&s->msg, j->eid);
    }
    fs_serve_job_release(s, j);
  }
}

/* several ranks: this step's events go to the others, which then step with rank 0 */
static void send_events(struct fs_serve *s)
{
  if (s->n_ranks == 1) return;
  if (s->msg.failed || fs_sync_bcast(s->comm, &s->msg, 0)) {
    fs_log_warn("flagscale-serve: cannot send the step's events to the other ranks; aborting");
    MPI_Abort(s->comm, 1);
  }
  fs_sync_reset(&s->msg);
}

static void *engine_main(void *arg)
{
  struct fs_serve *s = arg;
  int busy = 0, cap_c = 0;
  struct fs_serve_job **c = NULL;
  char err[512];

  pthread_mutex_lock(&s->lock);
  for (;;) {
    while (!s->qhead && !s->n_cancel && !busy && !s->stopping) pthread_cond_wait(&s->work, &s->lock);
    if (!s->qhead && !s->n_cancel && !busy) break; /* stopping and nothing left */
    struct fs_serve_job *q = s->qhead;
    s->qhead = s->qtail = NULL;
    int n_c = 0;
    if (s->n_cancel > cap_c) { /* take the cancellations (they stay queued if this fails) */
      struct fs_serve_job **t = realloc(c, (size_t)s->n_cancel * sizeof *t);
      if (t) c = t, cap_c = s->n_cancel;
    }
    if (s->n_cancel <= cap_c) {
      n_c = s->n_cancel;
      if (n_c) memcpy(c, s->cancel, (size_t)n_c * sizeof *c);
      s->n_cancel = 0;
    }
    pthread_mutex_unlock(&s->lock);
    if (q && !busy && !s->n_live && s->n_since_create >= s->recycle_after && !s->engine_dead)
      if (engine_recycle(s)) engine_failed(s);
    for (struct fs_serve_job *j = q, *next; j; j = next) {
      next = j->next;
      int status = 0;
      if (s->engine_dead) {
        fail_job(s, j, 500, "the engine failed earlier (see the server log); restart the server");
        continue;
      }
      if (admit(s, j, &status, err, sizeof err)) fail_job(s, j, 500, "the engine could not take the request (see "
                                                         "the server log)");
      else if (status) fail_job(s, j, status, err);
    }
    cancel_jobs(s, c, n_c);
    busy = 0;
    if (!s->engine_dead) {
      send_events(s);
      if (fs_engine_step(s->e, &busy)) { /* idle: a step does nothing (the other ranks step the same) */
        fs_log_warn("flagscale-serve: the engine failed; failing its requests");
        engine_failed(s);
        busy = 0;
        fail_live(s, "the engine failed (see the server log)");
      } else collect(s);
    }
    pthread_mutex_lock(&s->lock);
    if (s->e) {
      struct fs_engine_stats st;
      fs_engine_get_stats(s->e, &st);
      s->stats = s->stats_base;
      s->stats.steps += st.steps, s->stats.prefill_tokens += st.prefill_tokens;
      s->stats.decode_tokens += st.decode_tokens, s->stats.preemptions += st.preemptions;
      s->stats.prefill_s += st.prefill_s, s->stats.decode_s += st.decode_s;
      if (st.max_running > s->stats.max_running) s->stats.max_running = st.max_running;
      fs_engine_cache_blocks(s->e, &s->kv_free, &s->kv_blocks);
    }
    s->running = (int)s->n_live;
  }
  pthread_mutex_unlock(&s->lock);
  free(c);
  if (s->n_ranks > 1) { /* the other ranks leave their loops */
    fs_sync_reset(&s->msg);
    fs_sync_put_event(&s->msg, FS_SYNC_SHUTDOWN);
    send_events(s);
  }
  return NULL;
}

int fs_serve_start(struct fs_serve *s)
{
  if (engine_create(s)) return 1;
  fs_engine_cache_blocks(s->e, &s->kv_free, &s->kv_blocks);
  s->max_prompt_tokens = s->kv_blocks * s->eopts.block_size;
  s->max_position = s->m->cfg.position_embedding_type == FS_POS_ROPE ? 0 : s->m->cfg.max_position_embeddings;
  if (pthread_create(&s->thread, NULL, engine_main, s)) return 1;
  s->thread_started = 1;
  return 0;
}

void fs_serve_stop(struct fs_serve *s)
{
  pthread_mutex_lock(&s->lock);
  s->stopping = 1;
  pthread_cond_signal(&s->work);
  pthread_mutex_unlock(&s->lock);
  if (s->thread_started) pthread_join(s->thread, NULL);
  s->thread_started = 0;
  free(s->by_eid), free(s->live);
  s->by_eid = NULL, s->live = NULL, s->cap_eid = s->n_live = s->cap_live = 0;
  for (int i = 0; i < s->n_cancel; i++) job_unref(s->cancel[i]);
  free(s->cancel);
  s->cancel = NULL, s->n_cancel = s->cap_cancel = 0;
  fs_sync_free(&s->msg);
}

int fs_serve_submit(struct fs_serve *s, struct fs_serve_job **jobs, int n)
{
  if (n > s->max_queue) return 400; /* never fits: retrying would not help */
  pthread_mutex_lock(&s->lock);
  if (s->stopping || s->n_pending + n > s->max_queue) {
    pthread_mutex_unlock(&s->lock);
    return 503;
  }
  double now = fs_serve_now();
  for (int i = 0; i < n; i++) {
    struct fs_serve_job *j = jobs[i];
    j->refs++;
    j->state = FS_JOB_QUEUED;
    j->t_submit = now;
    j->next = NULL;
    if (s->qtail) s->qtail->next = j;
    else s->qhead = j;
    s->qtail = j;
  }
  s->n_pending += n;
  pthread_cond_signal(&s->work);
  pthread_mutex_unlock(&s->lock);
  return 0;
}

int fs_serve_wait(struct fs_serve *s, struct fs_serve_job **jobs, int n)
{
  int status = 0, gone = 0;
  double next_check = fs_serve_now() + 0.25; /* the client's socket, 4 times a second at most */
  pthread_mutex_lock(&s->lock);
  for (int i = 0; i < n; i++) {
    while (jobs[i]->state == FS_JOB_QUEUED || jobs[i]->state == FS_JOB_RUNNING) {
      fs_serve_timedwait(&s->progress, &s->lock, 0.25);
      if (gone || fs_serve_now() < next_check) continue;
      next_check = fs_serve_now() + 0.25;
      if ((gone = fs_serve_client_gone())) /* nobody will read the answer: stop the work */
        for (int k = i; k < n; k++) cancel_locked(s, jobs[k]);
    }
    if (jobs[i]->state == FS_JOB_FAILED && !status) status = jobs[i]->status;
  }
  pthread_mutex_unlock(&s->lock);
  return status;
}
