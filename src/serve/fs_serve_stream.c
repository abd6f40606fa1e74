/* fs_serve_stream.c -- a streamed reply: the job's text as it is released by the engine, as plain chunks
 * (/stream_func) or as OpenAI server-sent events ("data: {...}\n\n" ... "data: [DONE]\n\n").  A chunk never ends
 * inside a UTF-8 character, so the concatenated chunks equal the batch reply's text. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fs_serve_http.h"

const char *fs_finish_reason(enum fs_finish f) { return f == FS_FINISH_STOP ? "stop" : "length"; }

struct fs_stream *fs_stream_new(struct fs_serve *s, struct fs_serve_job *j, enum fs_stream_kind kind)
{
  struct fs_stream *st = calloc(1, sizeof *st);
  if (!st) return NULL;
  st->s = s, st->j = j, st->kind = kind;
  snprintf(st->model, sizeof st->model, "%s", s->model_name);
  st->created = (long long)time(NULL);
  return st;
}

void fs_stream_free(struct fs_stream *st)
{
  if (!st) return;
  fs_serve_cancel(st->s, st->j); /* the client went away (or the deadline passed) before the end: stop the job */
  fs_serve_job_release(st->s, st->j);
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

/* under lock: the logprobs of the tokens whose text has now been released, in order (all = 1: every token left,
 * for the last chunk: those held back by a stop string that matched); json null when the request asked for none */
static json_t *chunk_logprobs(struct fs_stream *st, int all)
{
  const struct fs_serve_job *j = st->j;
  if (st->kind == FS_STREAM_PLAIN || !j->want_pieces) return json_null();
  int64_t t0 = st->lp_taken, t1 = t0;
  while (t1 < j->slp.n && (all || j->slp.end[t1] <= st->taken)) t1++;
  struct fs_lp v = fs_stream_lp_view(&j->slp);
  st->lp_taken = t1;
  return st->kind == FS_STREAM_SSE_CHAT ? fs_lp_chat(&v, t0, t1) : fs_lp_completion(&v, t0, t1, &st->lp_off);
}

/* formats the next piece of the stream into st->out; blocks until there is one */
static void fill(struct fs_stream *st)
{
  struct fs_serve *s = st->s;
  struct fs_serve_job *j = st->j;
  int done = 0, timeout = 0;
  char *chunk = NULL;
  size_t n = 0;

  pthread_mutex_lock(&s->lock);
  for (;;) {
    size_t avail = j->n_sbuf - st->taken;
    done = j->state == FS_JOB_DONE || j->state == FS_JOB_FAILED;
    n = done || !avail ? avail : fs_utf8_complete(j->sbuf + st->taken, avail); /* sbuf is NULL before any text */
    if (n || done) break;
    double now = fs_serve_now(), until = now + 1.0;
    if (st->deadline > 0 && now >= st->deadline) {
      timeout = 1;
      break;
    }
    if (st->deadline > 0 && st->deadline < until) until = st->deadline;
    fs_serve_timedwait(&s->progress, &s->lock, until - now);
  }
  size_t raw = n;
  if (n && (chunk = malloc(3 * n + 1))) n = fs_utf8_sanitize(chunk, j->sbuf + st->taken, n);
  else n = 0;
  st->taken += raw;
  json_t *lp = n ? chunk_logprobs(st, 0) : NULL, *lp_end = done ? chunk_logprobs(st, 1) : NULL;
  int lp_failed = j->slp.failed;
  pthread_mutex_unlock(&s->lock);
  if (st->kind == FS_STREAM_PLAIN) {
    if (n) out_put(st, chunk, n);
  } else {
    if (!st->started && st->kind == FS_STREAM_SSE_CHAT)
      out_event(st, chunk_event(st, json_pack("{s:i,s:{s:s,s:s},s:n,s:n}", "index", 0, "delta", "role",
                                              "assistant", "content", "", "logprobs", "finish_reason")));
    st->started = 1;
    if (n) {
      json_t *text = json_stringn(chunk, n);
      if (st->kind == FS_STREAM_SSE_CHAT)
        out_event(st, chunk_event(st, json_pack("{s:i,s:{s:o},s:O,s:n}", "index", 0, "delta", "content", text,
                                                "logprobs", lp, "finish_reason")));
      else out_event(st, chunk_event(st, json_pack("{s:o,s:i,s:O,s:n}", "text", text, "index", 0, "logprobs", lp,
                                                   "finish_reason")));
    }
    if (done && (j->state == FS_JOB_FAILED || lp_failed)) {
      int code = j->state == FS_JOB_FAILED ? j->status : 500;
      out_event(st, json_pack("{s:{s:s,s:s,s:i}}", "error", "message", j->state == FS_JOB_FAILED ? j->err :
                              "out of memory recording the log-probabilities", "type", code >= 500 ? "server_error" :
                              "invalid_request_error", "code", code));
    } else if (done) {
      const char *fr = fs_finish_reason(j->finish);
      if (st->kind == FS_STREAM_SSE_CHAT)
        out_event(st, chunk_event(st, json_pack("{s:i,s:{},s:O,s:s}", "index", 0, "delta", "logprobs", lp_end,
                                                "finish_reason", fr)));
      else out_event(st, chunk_event(st, json_pack("{s:s,s:i,s:O,s:s}", "text", "", "index", 0, "logprobs", lp_end,
                                                   "finish_reason", fr)));
      if (st->include_usage) {
        json_t *o = chunk_event(st, json_pack("{}"));
        json_object_set_new(o, "choices", json_array());
        json_object_set_new(o, "usage", json_pack("{s:I,s:I,s:I}", "prompt_tokens", (json_int_t)j->n_prompt,
                                                  "completion_tokens", (json_int_t)j->n_tokens, "total_tokens",
                                                  (json_int_t)(j->n_prompt + j->n_tokens)));
        out_event(st, o);
      }
    }
    if (done || timeout) out_put(st, "data: [DONE]\n\n", 14);
  }
  free(chunk);
  json_decref(lp), json_decref(lp_end);
  if (done || timeout) st->ended = 1;
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
