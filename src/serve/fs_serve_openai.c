/* fs_serve_openai.c -- OpenAI-compatible POST /v1/completions and /v1/chat/completions (with "stream": true as
 * server-sent events; n choices use seeds seed, seed + 1, ...).  Extensions: top_k.  Not supported: best_of,
 * suffix, logit_bias, presence/frequency penalties (ignored), token-id prompts, tools, echo with stream (400). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fs_serve_http.h"

static long long next_id(void)
{
  static long long counter;
  return __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
}

/* the text of a message's content: a string, or a list of {"type": "text", "text": ...} parts; malloc'ed */
static char *content_text(json_t *c)
{
  if (json_is_string(c)) return strdup(json_string_value(c));
  if (!json_is_array(c)) return NULL;
  size_t n = 0, i;
  json_t *p;
  json_array_foreach(c, i, p) {
    const char *t = json_string_value(json_object_get(p, "text"));
    if (!t) return NULL;
    n += strlen(t);
  }
  char *out = malloc(n + 1);
  if (!out) return NULL;
  out[0] = 0;
  json_array_foreach(c, i, p) strcat(out, json_string_value(json_object_get(p, "text")));
  return out;
}

/* a job for the chat in req["messages"] */
static struct fs_serve_job *chat_job(struct fs_serve *s, json_t *req, struct fs_reply *rep)
{
  json_t *msgs = json_object_get(req, "messages");
  if (!json_is_array(msgs) || !json_array_size(msgs) || json_array_size(msgs) > 4096) {
    fs_reply_error(rep, 400, "missing field \"messages\": a non-empty list of {\"role\", \"content\"}");
    return NULL;
  }
  struct fs_serve_job *j = fs_serve_job_new();
  if (!j || !(j->msgs = calloc(json_array_size(msgs), sizeof *j->msgs))) {
    free(j);
    fs_reply_error(rep, 500, "out of memory");
    return NULL;
  }
  j->chat = s->chat;
  size_t i;
  json_t *m;
  json_array_foreach(msgs, i, m) {
    const char *role = json_string_value(json_object_get(m, "role"));
    int r = role && !strcmp(role, "developer") ? FS_CHAT_SYSTEM : fs_chat_role_parse(role);
    char *text = r >= 0 ? content_text(json_object_get(m, "content")) : NULL;
    if (!text) {
      fs_reply_error(rep, 400, "messages[%zu]: needs \"role\" (system, user, assistant) and \"content\" (a string or "
                     "a list of text parts)", i);
      fs_serve_job_release(s, j);
      return NULL;
    }
    j->msgs[j->n_msgs].role = (enum fs_chat_role)r;
    j->msgs[j->n_msgs++].content = text;
  }
  if (fs_job_add_stop(j, fs_chat_stop_string(s->chat))) {
    fs_reply_error(rep, 500, "out of memory");
    fs_serve_job_release(s, j);
    return NULL;
  }
  return j;
}

static json_t *usage(int64_t prompt, int64_t completion)
{
  return json_pack("{s:I,s:I,s:I}", "prompt_tokens", (json_int_t)prompt, "completion_tokens",
                   (json_int_t)completion, "total_tokens", (json_int_t)(prompt + completion));
}

void fs_api_completions(struct fs_serve *s, json_t *req, struct fs_reply *rep, int chat)
{
  const char **prompts = NULL;
  int n_prompts = 1, stream, echo = 0, want_lp = 0, ignore_eos;
  int64_t max_tokens, n_choices, k, seed, lp_n = 0;
  struct fs_sampling sp = {0};
  struct fs_serve_job **jobs = NULL, *j = NULL;
  int n_jobs = 0;

  if (json_object_get(req, "tools") && !json_is_null(json_object_get(req, "tools"))) {
    fs_reply_error(rep, 400, "tools are not supported by this server");
    return;
  }
  if (!chat) {
    json_t *p = json_object_get(req, "prompt");
    if (json_is_array(p) && json_array_size(p) && !json_is_string(json_array_get(p, 0))) {
      fs_reply_error(rep, 400, "prompts of token ids are not supported: send text");
      return;
    }
    if (fs_field_strings(req, "prompt", 1, &prompts, &n_prompts, rep)) return;
  }
  json_t *mt = json_object_get(req, "max_completion_tokens");
  if (fs_field_int(req, mt && !json_is_null(mt) ? "max_completion_tokens" : "max_tokens", chat ? 256 : 16, 0, 0,
                   1 << 20, &max_tokens, rep) ||
      fs_field_int(req, "n", 1, 0, 1, 16, &n_choices, rep) ||
      fs_field_real(req, "temperature", 1.0, 0, 2, &sp.temperature, rep) ||
      fs_field_real(req, "top_p", 1.0, 0, 1, &sp.top_p, rep) || fs_field_int(req, "top_k", 0, 0, 0, INT_MAX, &k, rep) ||
      fs_field_int(req, "seed", 123, 0, 0, INT64_MAX, &seed, rep) || fs_field_bool(req, "stream", 0, &stream, rep) ||
      fs_field_bool(req, "ignore_eos", 0, &ignore_eos, rep) || (!chat && fs_field_bool(req, "echo", 0, &echo, rep)))
    goto done;
  json_t *lp = json_object_get(req, "logprobs");
  if (chat) { /* "logprobs": true, "top_logprobs": N */
    if (fs_field_bool(req, "logprobs", 0, &want_lp, rep) ||
        fs_field_int(req, "top_logprobs", 0, 0, 0, FS_TOP_LOGPROBS_MAX, &lp_n, rep))
      goto done;
    if (lp_n > 0 && !want_lp) {
      fs_reply_error(rep, 400, "\"top_logprobs\" needs \"logprobs\": true");
      goto done;
    }
  } else if (lp && !json_is_null(lp)) { /* "logprobs": N */
    if (fs_field_int(req, "logprobs", 0, 0, 0, FS_TOP_LOGPROBS_MAX, &lp_n, rep)) goto done;
    want_lp = 1;
  }
  if (max_tokens == 0 && !(echo && want_lp)) {
    fs_reply_error(rep, 400, "max_tokens must be >= 1 (0 scores the prompt only with echo and logprobs)");
    goto done;
  }
  sp.top_k = (int)k, sp.seed = (uint64_t)seed, sp.top_logprobs = (int)lp_n;
  n_jobs = n_prompts * (int)n_choices;
  if (stream && echo) {
    fs_reply_error(rep, 400, "\"echo\" is not supported with \"stream\": true");
    goto done;
  }
  if (!(jobs = calloc((size_t)n_jobs, sizeof *jobs))) {
    fs_reply_error(rep, 500, "out of memory");
    n_jobs = 0;
    goto done;
  }
  for (int i = 0; i < n_jobs; i++) {
    if (chat) j = chat_job(s, req, rep);
    else if ((j = fs_serve_job_new()) && !(j->prompt = strdup(prompts[i / n_choices]))) {
      fs_serve_job_release(s, j);
      j = NULL;
      fs_reply_error(rep, 500, "out of memory");
    }
    if (!j) {
      n_jobs = i;
      goto done;
    }
    jobs[i] = j;
    j->max_new_tokens = max_tokens, j->sampling = sp, j->want_pieces = want_lp, j->ignore_eos = ignore_eos;
    j->sampling.seed = sp.seed + (uint64_t)(i % n_choices); /* n choices: seeds seed, seed + 1, ... */
    if (fs_field_stop(req, "stop", j, rep)) goto done;
  }
  char id[64];
  snprintf(id, sizeof id, "%s-%lld", chat ? "chatcmpl" : "cmpl", next_id());
  if (stream) {
    for (int i = 0; i < n_jobs; i++) jobs[i]->stream = 1;
    if (fs_api_submit(s, jobs, n_jobs, rep)) goto done;
    if (!(rep->stream = fs_stream_new(s, jobs, n_jobs, chat ? FS_STREAM_SSE_CHAT : FS_STREAM_SSE_COMPLETION))) {
      for (int i = 0; i < n_jobs; i++) fs_serve_cancel(s, jobs[i]);
      fs_reply_error(rep, 500, "out of memory");
      goto done;
    }
    memset(jobs, 0, (size_t)n_jobs * sizeof *jobs); /* the stream holds them */
    rep->stream->n_per_prompt = (int)n_choices;
    snprintf(rep->stream->id, sizeof rep->stream->id, "%s", id);
    json_t *so = json_object_get(req, "stream_options");
    rep->stream->include_usage = json_is_true(json_object_get(so, "include_usage"));
    rep->status = 200, rep->ctype = "text/event-stream";
    goto done;
  }
  if (fs_api_run(s, jobs, n_jobs, rep)) goto done;
  json_t *choices = json_array();
  int64_t n_prompt = 0, n_completion = 0;
  for (int i = 0; i < n_jobs; i++) {
    j = jobs[i];
    if (i % n_choices == 0) n_prompt += j->n_prompt;
    n_completion += j->n_tokens;
    struct fs_lp lp = fs_job_lp(j);
    size_t off = echo ? strlen(j->prompt) : 0;
    json_t *logprobs = !want_lp ? json_null() : chat ? fs_lp_chat(&lp, 0, j->n_tokens) :
                       fs_lp_completion(&lp, 0, j->n_tokens, &off);
    json_t *text = fs_json_text(j->text, j->n_text);
    if (echo) {
      size_t np = strlen(j->prompt);
      char *full = malloc(np + j->n_text + 1);
      if (full) {
        memcpy(full, j->prompt, np), memcpy(full + np, j->text, j->n_text);
        json_decref(text);
        text = fs_json_text(full, np + j->n_text);
        free(full);
      }
    }
    const char *fr = fs_finish_reason(j->finish);
    if (chat)
      json_array_append_new(choices, json_pack("{s:i,s:{s:s,s:o},s:o,s:s}", "index", i, "message", "role",
                                               "assistant", "content", text, "logprobs", logprobs, "finish_reason",
                                               fr));
    else json_array_append_new(choices, json_pack("{s:o,s:i,s:o,s:s}", "text", text, "index", i, "logprobs", logprobs,
                                                  "finish_reason", fr));
  }
  fs_reply_json(rep, 200, json_pack("{s:s,s:s,s:I,s:s,s:o,s:o}", "id", id, "object",
                                    chat ? "chat.completion" : "text_completion", "created", (json_int_t)time(NULL),
                                    "model", s->model_name, "choices", choices, "usage",
                                    usage(n_prompt, n_completion)));
done:
  free(prompts);
  fs_api_release(s, jobs, n_jobs);
}
