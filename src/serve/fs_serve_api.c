/* fs_serve_api.c -- the original FlagScale's endpoints (/batch_func, /stream_func), Megatron's PUT /api,
 * /metrics and /v1/models */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fs_serve_http.h"

/* a job reading prompt (wrapped in the Aquila template when sft, after history) */
static struct fs_serve_job *text_job(const char *prompt, int sft, json_t *history, struct fs_reply *rep)
{
  struct fs_serve_job *j = fs_serve_job_new();
  if (!j) {
    fs_reply_error(rep, 500, "out of memory");
    return NULL;
  }
  size_t nh = json_array_size(history);
  if (!sft && !nh) {
    if (!(j->prompt = strdup(prompt))) goto oom;
    return j;
  }
  if (!(j->msgs = calloc(nh + 1, sizeof *j->msgs))) goto oom;
  j->chat = FS_CHAT_AQUILA;
  for (size_t i = 0; i < nh; i++) {
    json_t *h = json_array_get(history, i);
    const char *role = json_string_value(json_array_get(h, 0)), *text = json_string_value(json_array_get(h, 1));
    int r = fs_chat_role_parse(role);
    if (!json_is_array(h) || json_array_size(h) != 2 || !text || r < 0) {
      fs_reply_error(rep, 400, "history item %zu must be [\"USER\"|\"SYSTEM\", text] (SYSTEM: an earlier answer of "
                     "the assistant)", i);
      goto fail;
    }
    /* the original's history pairs the human's turns (USER) with the model's answers (SYSTEM) */
    j->msgs[j->n_msgs].role = r == FS_CHAT_SYSTEM ? FS_CHAT_ASSISTANT : (enum fs_chat_role)r;
    if (!(j->msgs[j->n_msgs].content = strdup(text))) goto oom;
    j->n_msgs++;
  }
  j->msgs[j->n_msgs].role = FS_CHAT_USER;
  if (!(j->msgs[j->n_msgs].content = strdup(prompt))) goto oom;
  j->n_msgs++;
  return j;
oom:
  fs_reply_error(rep, 500, "out of memory");
fail:
  j->refs = 1;
  for (int i = 0; i < j->n_msgs; i++) free((void *)j->msgs[i].content);
  free(j->msgs), free(j->prompt), free(j);
  return NULL;
}

/* the sampling fields of /batch_func and /stream_func (the original's names and defaults) */
static int flagscale_fields(json_t *req, int64_t *max_new, struct fs_sampling *sp, int *sft, struct fs_reply *rep)
{
  int64_t k, seed;
  if (fs_field_int(req, "max_new_tokens", 0, 1, 0, 1 << 20, max_new, rep) ||
      fs_field_int(req, "top_k_per_token", 20, 0, 0, INT_MAX, &k, rep) ||
      fs_field_real(req, "top_p", 0.9, 0, 1, &sp->top_p, rep) ||
      fs_field_real(req, "temperature", 0.9, 0, 1e6, &sp->temperature, rep) ||
      fs_field_int(req, "seed", 123, 0, 0, INT64_MAX, &seed, rep) || fs_field_bool(req, "sft", 0, sft, rep))
    return 1;
  sp->top_k = (int)k, sp->seed = (uint64_t)seed;
  return 0;
}

static json_t *model_info(struct fs_serve *s, json_t *req)
{
  const char *engine = json_string_value(json_object_get(req, "engine"));
  return json_pack("{s:s,s:s,s:s,s:s}", "model_name", s->model_name, "model", s->model_desc, "tokenizer",
                   s->tokenizer_name, "engine", engine ? engine : "flagscale-c");
}

void fs_api_batch(struct fs_serve *s, json_t *req, struct fs_reply *rep)
{
  const char **prompts = NULL;
  int n = 0, sft;
  int64_t max_new;
  struct fs_sampling sp = {0};
  struct fs_serve_job **jobs = NULL;

  if (fs_field_strings(req, "prompt", 1, &prompts, &n, rep) || flagscale_fields(req, &max_new, &sp, &sft, rep))
    goto done;
  if (!(jobs = calloc((size_t)n, sizeof *jobs))) {
    fs_reply_error(rep, 500, "out of memory");
    goto done;
  }
  for (int i = 0; i < n; i++) {
    if (!(jobs[i] = text_job(prompts[i], sft, NULL, rep))) goto done;
    jobs[i]->max_new_tokens = max_new, jobs[i]->sampling = sp, jobs[i]->want_pieces = 1;
  }
  if (fs_api_run(s, jobs, n, rep)) goto done;
  json_t *comps = json_array();
  int64_t input_length = 0;
  for (int i = 0; i < n; i++) {
    struct fs_serve_job *j = jobs[i];
    json_t *toks = json_array(), *ids = json_array(), *lps = json_array(), *tops = json_array();
    for (int64_t t = 0; t < j->n_tokens; t++) {
      json_array_append_new(toks, fs_job_piece(j, j->n_prompt + t));
      json_array_append_new(ids, json_integer(j->tokens[t]));
      json_array_append_new(lps, json_real(j->logprobs[t]));
      json_t *d = json_object();
      json_t *key = fs_job_piece(j, j->n_prompt + t);
      json_object_set_new(d, json_string_value(key), json_real(j->logprobs[t]));
      json_decref(key);
      json_array_append_new(tops, d);
    }
    json_array_append_new(comps, json_pack("{s:o,s:o,s:o,s:o,s:o,s:s,s:I}", "text", fs_json_text(j->text, j->n_text),
                                           "tokens", toks, "token_ids", ids, "logprobs", lps,
                                           "top_logprobs_dicts", tops, "finish_reason", fs_finish_name(j->finish),
                                           "prompt_tokens", (json_int_t)j->n_prompt));
    if (j->n_prompt > input_length) input_length = j->n_prompt;
  }
  fs_reply_json(rep, 200, json_pack("{s:o,s:I,s:o}", "completions", comps, "input_length", (json_int_t)input_length,
                                    "model_info", model_info(s, req)));
done:
  free(prompts);
  fs_api_release(s, jobs, n);
}

void fs_api_stream(struct fs_serve *s, json_t *req, struct fs_reply *rep)
{
  const char **prompts = NULL;
  int n = 0, sft;
  int64_t max_new;
  double tlimit;
  struct fs_sampling sp = {0};
  struct fs_serve_job *j = NULL;

  if (fs_field_strings(req, "prompt", 1, &prompts, &n, rep) || flagscale_fields(req, &max_new, &sp, &sft, rep) ||
      fs_field_real(req, "time", 15, 0.001, 86400, &tlimit, rep))
    goto done;
  if (n != 1) {
    fs_reply_error(rep, 400, "/stream_func takes one prompt (a string), not a list of %d", n);
    goto done;
  }
  if (max_new == 0) {
    fs_reply_error(rep, 400, "/stream_func generates: max_new_tokens must be >= 1 (score with /batch_func)");
    goto done;
  }
  json_t *hist = json_object_get(req, "history");
  if (hist && !json_is_null(hist) && !json_is_array(hist)) {
    fs_reply_error(rep, 400, "field \"history\" must be a list of [\"USER\"|\"SYSTEM\", text]");
    goto done;
  }
  if (!(j = text_job(prompts[0], sft, json_is_array(hist) ? hist : NULL, rep))) goto done;
  j->max_new_tokens = max_new, j->sampling = sp, j->stream = 1;
  if (fs_api_submit(s, &j, 1, rep)) goto done;
  if (!(rep->stream = fs_stream_new(s, &j, 1, FS_STREAM_PLAIN))) {
    fs_reply_error(rep, 500, "out of memory");
    goto done;
  }
  j = NULL; /* the stream holds it */
  rep->stream->deadline = fs_serve_now() + tlimit;
  rep->status = 200, rep->ctype = "text/plain; charset=utf-8";
done:
  free(prompts);
  fs_serve_job_release(s, j);
}

/* Megatron's text generation server: PUT /api */
void fs_api_megatron(struct fs_serve *s, json_t *req, struct fs_reply *rep)
{
  const char **prompts = NULL;
  int n = 0, want_lp, m = 0;
  int64_t ntok, k, seed;
  struct fs_sampling sp = {0};
  struct fs_serve_job **jobs = NULL;

  if (!json_is_array(json_object_get(req, "prompts"))) {
    fs_reply_error(rep, 400, "prompts is not a list of strings (Megatron's API: {\"prompts\": [...], "
                   "\"tokens_to_generate\": N})");
    return;
  }
  if (fs_field_strings(req, "prompts", 1, &prompts, &n, rep) ||
      fs_field_int(req, "tokens_to_generate", 64, 0, 0, 1 << 20, &ntok, rep) ||
      fs_field_bool(req, "logprobs", 0, &want_lp, rep) ||
      fs_field_real(req, "temperature", 1.0, 0, 100, &sp.temperature, rep) ||
      fs_field_int(req, "top_k", 0, 0, 0, 1000, &k, rep) || fs_field_real(req, "top_p", 0, 0, 1, &sp.top_p, rep) ||
      fs_field_int(req, "random_seed", -1, 0, -1, INT64_MAX, &seed, rep))
    goto done;
  if (k > 0 && sp.top_p > 0) {
    fs_reply_error(rep, 400, "cannot set both top-k and top-p samplings.");
    goto done;
  }
  if (ntok == 0 && !want_lp) {
    fs_reply_error(rep, 400, "tokens_to_generate=0 implies logprobs should be True");
    goto done;
  }
  sp.top_k = (int)k, sp.seed = seed < 0 ? 123 : (uint64_t)seed;
  /* jobs[i]: generation (or scoring when ntok = 0); jobs[n + i]: scoring of the prompt for its logprobs */
  int two = want_lp && ntok > 0;
  m = two ? 2 * n : n;
  if (!(jobs = calloc((size_t)m, sizeof *jobs))) {
    fs_reply_error(rep, 500, "out of memory");
    goto done;
  }
  for (int i = 0; i < m; i++) {
    if (!(jobs[i] = text_job(prompts[i % n], 0, NULL, rep))) {
      m = i;
      goto done;
    }
    jobs[i]->max_new_tokens = i < n ? ntok : 0, jobs[i]->sampling = sp, jobs[i]->want_pieces = 1;
  }
  if (fs_api_submit(s, jobs, m, rep)) goto done;
  fs_serve_wait(s, jobs, m);
  for (int i = 0; i < n; i++)
    if (jobs[i]->state == FS_JOB_FAILED) {
      fs_reply_error(rep, jobs[i]->status, "prompt %d: %s", i, jobs[i]->err);
      goto done;
    }
  json_t *texts = json_array(), *segs = json_array(), *lps = json_array();
  for (int i = 0; i < n; i++) {
    struct fs_serve_job *j = jobs[i];
    size_t np = strlen(prompts[i]);
    char *full = malloc(np + j->n_text + 1);
    if (full) {
      memcpy(full, prompts[i], np), memcpy(full + np, j->text, j->n_text + 1);
      json_array_append_new(texts, fs_json_text(full, np + j->n_text));
      free(full);
    }
    json_t *sg = json_array(), *lp = json_array();
    int64_t total = j->n_prompt + (ntok > 0 ? j->n_tokens : 0);
    for (int64_t t = 0; t < total; t++) json_array_append_new(sg, fs_job_piece(j, t));
    if (ntok == 0) /* scoring: logprobs of prompt tokens 1..n-1 */
      for (int64_t t = 0; t < j->n_tokens; t++) json_array_append_new(lp, json_real(j->logprobs[t]));
    else {
      struct fs_serve_job *sc = two ? jobs[n + i] : NULL; /* a 1-token prompt has no prompt logprobs */
      if (sc && sc->state == FS_JOB_DONE)
        for (int64_t t = 0; t < sc->n_tokens; t++) json_array_append_new(lp, json_real(sc->logprobs[t]));
      for (int64_t t = 0; t < j->n_tokens; t++) json_array_append_new(lp, json_real(j->logprobs[t]));
    }
    json_array_append_new(segs, sg);
    json_array_append_new(lps, lp);
  }
  if (want_lp) fs_reply_json(rep, 200, json_pack("{s:o,s:o,s:o}", "text", texts, "segments", segs, "logprobs", lps));
  else {
    json_decref(segs), json_decref(lps);
    fs_reply_json(rep, 200, json_pack("{s:o}", "text", texts));
  }
done:
  free(prompts);
  fs_api_release(s, jobs, m);
}

void fs_api_models(struct fs_serve *s, struct fs_reply *rep)
{
  json_t *m = json_pack("{s:s,s:s,s:I,s:s}", "id", s->model_name, "object", "model", "created",
                        (json_int_t)time(NULL), "owned_by", "flagscale");
  fs_reply_json(rep, 200, json_pack("{s:s,s:[o]}", "object", "list", "data", m));
}

void fs_api_metrics(struct fs_serve *s, struct fs_reply *rep)
{
  static const char *const names[FS_EP_N] = {"batch_func", "stream_func", "api", "completions", "chat_completions",
                                             "models", "health", "metrics", "other"};
  size_t cap = 8192, n = 0;
  char *b = malloc(cap);
  if (!b) {
    fs_reply_error(rep, 500, "out of memory");
    return;
  }
#define P(...) n += (size_t)snprintf(b + n, n < cap ? cap - n : 0, __VA_ARGS__)
  pthread_mutex_lock(&s->lock);
  P("# HELP flagscale_requests_total HTTP requests received, by endpoint\n# TYPE flagscale_requests_total counter\n");
  for (int i = 0; i < FS_EP_N; i++) P("flagscale_requests_total{endpoint=\"%s\"} %llu\n", names[i],
                                      (unsigned long long)s->requests[i]);
  P("# HELP flagscale_request_errors_total error replies\n# TYPE flagscale_request_errors_total counter\n");
  P("flagscale_request_errors_total{class=\"4xx\"} %llu\nflagscale_request_errors_total{class=\"5xx\"} %llu\n",
    (unsigned long long)s->errors4xx, (unsigned long long)s->errors5xx);
  P("# HELP flagscale_sequences_total prompts finished by the engine\n# TYPE flagscale_sequences_total counter\n"
    "flagscale_sequences_total %llu\n", (unsigned long long)s->jobs_done);
  P("# HELP flagscale_cancelled_total prompts cancelled because their client went away\n# TYPE "
    "flagscale_cancelled_total counter\nflagscale_cancelled_total %llu\n", (unsigned long long)s->jobs_cancelled);
  P("# HELP flagscale_prompt_tokens_total prompt tokens of finished prompts\n# TYPE flagscale_prompt_tokens_total "
    "counter\nflagscale_prompt_tokens_total %llu\n", (unsigned long long)s->prompt_tokens);
  P("# HELP flagscale_generated_tokens_total tokens generated\n# TYPE flagscale_generated_tokens_total counter\n"
    "flagscale_generated_tokens_total %llu\n", (unsigned long long)s->completion_tokens);
  P("# HELP flagscale_queue_length prompts waiting for the engine thread or the batch\n# TYPE "
    "flagscale_queue_length gauge\nflagscale_queue_length %d\n", s->n_pending - s->running);
  P("# HELP flagscale_running_sequences prompts in the running batch\n# TYPE flagscale_running_sequences gauge\n"
    "flagscale_running_sequences %d\n", s->running);
  const struct fs_engine_stats *st = &s->stats;
  P("# HELP flagscale_decode_tokens_per_second decode throughput over the engine's busy time\n# TYPE "
    "flagscale_decode_tokens_per_second gauge\nflagscale_decode_tokens_per_second %.3f\n",
    st->decode_s > 0 ? st->decode_tokens / st->decode_s : 0.0);
  P("# HELP flagscale_prefill_tokens_per_second prefill throughput over the engine's busy time\n# TYPE "
    "flagscale_prefill_tokens_per_second gauge\nflagscale_prefill_tokens_per_second %.3f\n",
    st->prefill_s > 0 ? st->prefill_tokens / st->prefill_s : 0.0);
  P("# TYPE flagscale_engine_steps_total counter\nflagscale_engine_steps_total %lld\n", (long long)st->steps);
  P("# TYPE flagscale_preemptions_total counter\nflagscale_preemptions_total %lld\n", (long long)st->preemptions);
  P("# HELP flagscale_kv_cache_blocks KV cache blocks in use and in the pool\n# TYPE flagscale_kv_cache_blocks gauge\n"
    "flagscale_kv_cache_blocks{state=\"used\"} %lld\nflagscale_kv_cache_blocks{state=\"total\"} %lld\n",
    (long long)(s->kv_blocks - s->kv_free), (long long)s->kv_blocks);
  P("# TYPE flagscale_kv_cache_usage_ratio gauge\nflagscale_kv_cache_usage_ratio %.4f\n",
    s->kv_blocks ? (double)(s->kv_blocks - s->kv_free) / (double)s->kv_blocks : 0.0);
  P("# TYPE flagscale_uptime_seconds gauge\nflagscale_uptime_seconds %.1f\n", fs_serve_now() - s->t_start);
  pthread_mutex_unlock(&s->lock);
#undef P
  if (n >= cap) n = cap - 1;
  rep->status = 200, rep->body = b, rep->n_body = n, rep->ctype = "text/plain; version=0.0.4";
}
