/* fs_serve_stream.c -- a streamed reply: the text of its jobs as the engine releases it, as plain chunks
 * (/stream_func, one job) or as OpenAI server-sent events ("data: {...}\n\n" ... "data: [DONE]\n\n"): one chunk per
 * engine step that released text of a choice, the choices' chunks interleaved, the same however slowly the client
 * reads (a reader that falls behind gets the chunks it missed, not one merged chunk).  A chunk never ends inside a
 * UTF-8 character, so a choice's concatenated chunks equal the batch reply's text; with logprobs a chunk carries the
 * tokens whose text it completes, so the concatenated logprobs equal the batch reply's too. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fs_serve_http.h"

const char *fs_finish_reason(enum fs_finish f) { return f == FS_FINISH_STOP ? "stop" : "length"; }

struct fs_stream *fs_stream_new(struct fs_serve *s, struct fs_serve_job **jobs, int n, enum fs_stream_kind kind)
{
  struct fs_stream *st = calloc(1, sizeof *st);
  if (!st || !(st->c = calloc((size_t)n, sizeof *st->c))) {
    free(st);
    return NULL;
  }
  for (int i = 0; i < n; i++) st->c[i].j = jobs[i];
  st->s = s, st->n_c = n, st->n_per_prompt = 1, st->kind = kind;
  snprintf(st->model, sizeof st->model, "%s", s->model_name);
  st->created = (long long)time(NULL);
  return st;
}

void fs_stream_free(struct fs_stream *st)
{
  if (!st) return;
  for (int i = 0; i < st->n_c; i++) {
    fs_serve_cancel(st->s, st->c[i].j); /* the client went away (or the deadline passed) before the end */
    fs_serve_job_release(st->s, st->c[i].j);
  }
  free(st->c);
  free(st->out);
  free(st);
}

static int out_put(struct fs_stream *st, const char *b, size_t n)
{
  if (st->n + n > st->cap) {
    size_t cap = 2 * (st->n + n) + 256;
    char *t = realloc(st->out, cap);
    if (!t) return 1;
    st->out = t, st->cap = cap;
  }
  memcpy(st->out + st->n, b, n);
  st->n += n;
  return 0;
}

/* "data: <json>\n\n" */
static void out_event(struct fs_stream *st, json_t *o)
{
  char *js = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
  json_decref(o);
  if (!js) return;
  out_put(st, "data: ", 6);
  out_put(st, js, strlen(js));
  out_put(st, "\n\n", 2);
  free(js);
}

static json_t *chunk_event(struct fs_stream *st, json_t *choice)
{
  int chat = st->kind == FS_STREAM_SSE_CHAT;
  return json_pack("{s:s,s:s,s:I,s:s,s:[o]}", "id", st->id, "object", chat ? "chat.completion.chunk" :
                   "text_completion", "created", (json_int_t)st->created, "model", st->model, "choices", choice);
}

/* under lock: the logprobs of c's tokens whose text has now been released, in order (all = 1: every token left,
 * for the last chunk: those held back by a stop string that matched); json null when the request asked for none */
static json_t *chunk_logprobs(const struct fs_stream *st, struct fs_stream_choice *c, int all)
{
  const struct fs_serve_job *j = c->j;
  if (st->kind == FS_STREAM_PLAIN || !j->want_pieces) return json_null();
  int64_t t0 = c->lp_taken, t1 = t0;
  while (t1 < j->slp.n && (all || j->slp.end[t1] <= c->taken)) t1++;
  struct fs_lp v = fs_stream_lp_view(&j->slp);
  c->lp_taken = t1;
  return st->kind == FS_STREAM_SSE_CHAT ? fs_lp_chat(&v, t0, t1) : fs_lp_completion(&v, t0, t1, &c->lp_off);
}

/* what fill takes from one choice under the lock */
struct taken {
  char *text;           /* (n) sanitized */
  size_t n;
  json_t *lp, *lp_end;  /* logprobs of the text chunk, of the last chunk */
  int done;
};

/* under lock: bytes of c ready to go, one engine step's release at a time (j->rel; a chunk never ends inside a
 * UTF-8 character: such a step's bytes go with the next), so the chunks do not depend on when the reader comes;
 * *done: the job has ended and these are its last bytes */
static size_t ready(const struct fs_stream_choice *c, int *done)
{
  const struct fs_serve_job *j = c->j;
  int ended = j->state == FS_JOB_DONE || j->state == FS_JOB_FAILED;
  for (int64_t r = c->rel; r < j->n_rel; r++) {
    if (j->rel[r] <= c->taken) continue; /* a step whose text could not be kept (out of memory) */
    size_t k = fs_utf8_complete(j->sbuf + c->taken, j->rel[r] - c->taken);
    if (k) {
      *done = ended && c->taken + k == j->n_sbuf;
      return k;
    }
  }
  *done = ended;
  return ended ? j->n_sbuf - c->taken : 0; /* at the end: what is left (an incomplete character is sanitized) */
}

/* under lock */
static void take(const struct fs_stream *st, struct fs_stream_choice *c, struct taken *t)
{
  size_t raw = ready(c, &t->done);
  t->n = 0;
  if (raw && (t->text = malloc(3 * raw + 1))) t->n = fs_utf8_sanitize(t->text, c->j->sbuf + c->taken, raw);
  c->taken += raw;
  while (c->rel < c->j->n_rel && c->j->rel[c->rel] <= c->taken) c->rel++;
  t->lp = t->n ? chunk_logprobs(st, c, 0) : NULL;
  t->lp_end = t->done ? chunk_logprobs(st, c, 1) : NULL;
}

/* the events of choice i: its new text, then its end (or its error: 1 is returned, the stream ends) */
static int out_choice(struct fs_stream *st, int i, struct taken *t)
{
  const struct fs_serve_job *j = st->c[i].j;
  int chat = st->kind == FS_STREAM_SSE_CHAT;
  if (t->n) {
    json_t *text = json_stringn(t->text, t->n);
    if (chat)
      out_event(st, chunk_event(st, json_pack("{s:i,s:{s:o},s:O,s:n}", "index", i, "delta", "content", text,
                                              "logprobs", t->lp, "finish_reason")));
    else out_event(st, chunk_event(st, json_pack("{s:o,s:i,s:O,s:n}", "text", text, "index", i, "logprobs", t->lp,
                                                 "finish_reason")));
  }
  if (!t->done) return 0;
  if (j->state == FS_JOB_FAILED || j->slp.failed) { /* both final once the job has ended */
    int code = j->state == FS_JOB_FAILED ? j->status : 500;
    out_event(st, json_pack("{s:{s:s,s:s,s:i}}", "error", "message", j->state == FS_JOB_FAILED ? j->err :
                            "out of memory recording the log-probabilities", "type", code >= 500 ? "server_error" :
                            "invalid_request_error", "code", code));
    return 1;
  }
  const char *fr = fs_finish_reason(j->finish);
  if (chat)
    out_event(st, chunk_event(st, json_pack("{s:i,s:{},s:O,s:s}", "index", i, "delta", "logprobs", t->lp_end,
                                            "finish_reason", fr)));
  else out_event(st, chunk_event(st, json_pack("{s:s,s:i,s:O,s:s}", "text", "", "index", i, "logprobs", t->lp_end,
                                               "finish_reason", fr)));
  return 0;
}

static void out_usage(struct fs_stream *st)
{
  int64_t prompt = 0, completion = 0;
  for (int i = 0; i < st->n_c; i++) {
    if (i % st->n_per_prompt == 0) prompt += st->c[i].j->n_prompt;
    completion += st->c[i].j->n_tokens;
  }
  json_t *o = chunk_event(st, json_pack("{}"));
  json_object_set_new(o, "choices", json_array());
  json_object_set_new(o, "usage", json_pack("{s:I,s:I,s:I}", "prompt_tokens", (json_int_t)prompt,
                                            "completion_tokens", (json_int_t)completion, "total_tokens",
                                            (json_int_t)(prompt + completion)));
  out_event(st, o);
}

/* formats the next pieces of the stream into st->out; blocks until there are some */
static void fill(struct fs_stream *st)
{
  struct fs_serve *s = st->s;
  struct taken *t = calloc((size_t)st->n_c, sizeof *t);
  int timeout = 0, failed = 0, left = 0;

  if (!t) {
    st->ended = 1;
    return;
  }
  pthread_mutex_lock(&s->lock);
  for (;;) {
    int any = 0, done;
    for (int i = 0; i < st->n_c && !any; i++) any = !st->c[i].ended && (ready(&st->c[i], &done) || done);
    if (any) break;
    double now = fs_serve_now(), until = now + 1.0;
    if (st->deadline > 0 && now >= st->deadline) {
      timeout = 1;
      break;
    }
    if (st->deadline > 0 && st->deadline < until) until = st->deadline;
    fs_serve_timedwait(&s->progress, &s->lock, until - now);
  }
  for (int i = 0; i < st->n_c; i++)
    if (!st->c[i].ended) take(st, &st->c[i], &t[i]);
  pthread_mutex_unlock(&s->lock);
  for (int i = 0; i < st->n_c; i++) {
    if (st->c[i].ended) continue;
    if (st->kind == FS_STREAM_PLAIN) {
      if (t[i].n) out_put(st, t[i].text, t[i].n);
    } else {
      if (!st->started && st->kind == FS_STREAM_SSE_CHAT) /* the chat stream opens with the role of each choice */
        for (int k = 0; k < st->n_c; k++)
          out_event(st, chunk_event(st, json_pack("{s:i,s:{s:s,s:s},s:n,s:n}", "index", k, "delta", "role",
                                                  "assistant", "content", "", "logprobs", "finish_reason")));
      st->started = 1;
      if (!failed) failed = out_choice(st, i, &t[i]);
    }
    st->c[i].ended = t[i].done;
    left += !t[i].done;
    free(t[i].text);
    json_decref(t[i].lp), json_decref(t[i].lp_end);
  }
  free(t);
  if (!left && !failed && st->include_usage && st->kind != FS_STREAM_PLAIN) out_usage(st);
  if (!left || failed || timeout) {
    if (st->kind != FS_STREAM_PLAIN) out_put(st, "data: [DONE]\n\n", 14);
    st->ended = 1;
  }
}

ssize_t fs_stream_read(struct fs_stream *st, char *buf, size_t max)
{
  while (st->off == st->n) {
    if (st->ended) return -1;
    st->off = st->n = 0;
    fill(st);
  }
  size_t k = st->n - st->off < max ? st->n - st->off : max;
  memcpy(buf, st->out + st->off, k);
  st->off += k;
  return (ssize_t)k;
}
