/* fuzz_request.c -- libFuzzer target over flagscale-serve's request handling without a socket or a model: the
 * input is "METHOD URL\n" then the body; fs_serve_route parses it (the double-encoded body, every endpoint's
 * fields, chat messages, stop strings), builds and queues the jobs; a stand-in engine thread answers each job at
 * once with a result made of the prompt's own bytes (arbitrary, so the UTF-8 sanitizing of every reply is
 * fuzzed too), the requested logprobs and top_logprobs (streamed ones too); streamed replies are read to their
 * end.  Built and run by `make fuzz`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fs_serve_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* piece k of a result: 2 bytes of src, cycling ("" when src is empty) */
static void fake_piece(char *pieces, size_t *off, int64_t k, const char *src, size_t n)
{
  size_t len = n ? 2 : 0;
  for (size_t b = 0; b < len; b++) pieces[off[k] + b] = src[(2 * (size_t)k + b) % n];
  off[k + 1] = off[k] + len;
}

/* the streamed logprobs of j's nt tokens (interleaved pieces); token t ends at text byte 2 (t + 1) (past the text's
 * end: held back to the last chunk) */
static void fake_stream_lp(struct fs_serve_job *j, int64_t nt, int top, const char *src, size_t n)
{
  struct fs_stream_lp *b = &j->slp;
  int64_t np = nt * (1 + top);
  b->n = b->cap = nt, b->n_top = top;
  b->logprobs = calloc((size_t)nt + 1, sizeof *b->logprobs);
  b->top_logprobs = calloc((size_t)(nt * top + 1), sizeof *b->top_logprobs);
  b->end = calloc((size_t)nt + 1, sizeof *b->end);
  b->piece_off = calloc((size_t)np + 1, sizeof *b->piece_off);
  b->pieces = malloc(2 * (size_t)np + 1);
  if (!b->logprobs || !b->top_logprobs || !b->end || !b->piece_off || !b->pieces) abort();
  for (int64_t k = 0; k < np; k++) fake_piece(b->pieces, b->piece_off, k, src, n);
  for (int64_t t = 0; t < nt; t++) b->end[t] = 2 * (size_t)(t + 1), b->logprobs[t] = j->logprobs[t];
  for (int64_t k = 0; k < nt * top; k++) b->top_logprobs[k] = j->top_logprobs[k];
}

/* a result for j, as the engine thread would leave it (under the lock) */
static void fake_result(struct fs_serve_job *j)
{
  const char *src = j->prompt ? j->prompt : j->n_msgs ? j->msgs[j->n_msgs - 1].content : "";
  size_t n = strlen(src) < 64 ? strlen(src) : 64;
  int64_t nt = j->max_new_tokens == 0 ? 1 : j->max_new_tokens < 8 ? j->max_new_tokens : 8;
  int top = j->sampling.top_logprobs;
  int64_t np = 1 + nt + nt * top;
  j->n_prompt = 1, j->n_tokens = nt, j->n_top = top, j->n_text = n;
  j->prompt_ids = calloc(1, sizeof *j->prompt_ids);
  j->tokens = calloc((size_t)nt, sizeof *j->tokens);
  j->logprobs = calloc((size_t)nt, sizeof *j->logprobs);
  j->top_ids = calloc((size_t)(nt * top + 1), sizeof *j->top_ids);
  j->top_logprobs = calloc((size_t)(nt * top + 1), sizeof *j->top_logprobs);
  j->text = malloc(n + 1);
  j->piece_off = calloc((size_t)np + 1, sizeof *j->piece_off);
  j->pieces = malloc(2 * (size_t)np + 1);
  if (!j->prompt_ids || !j->tokens || !j->logprobs || !j->top_ids || !j->top_logprobs || !j->text || !j->piece_off ||
      !j->pieces)
    abort();
  memcpy(j->text, src, n), j->text[n] = 0;
  for (int64_t k = 0; k < np; k++) fake_piece(j->pieces, j->piece_off, k, src, n);
  for (int64_t t = 0; t < nt; t++) {
    j->tokens[t] = (int32_t)t, j->logprobs[t] = -0.5f * (float)(t + 1);
    for (int k = 0; k < top; k++) j->top_logprobs[t * top + k] = -0.25f * (float)(k + 1);
  }
  if (j->stream && n) {
    j->sbuf = malloc(n), j->n_sbuf = j->cap_sbuf = n;
    if (!j->sbuf) abort();
    memcpy(j->sbuf, src, n);
    j->n_rel = j->cap_rel = (int64_t)(n + 1) / 2; /* released 2 bytes a step: chunks may split UTF-8 characters */
    if (!(j->rel = malloc((size_t)j->n_rel * sizeof *j->rel))) abort();
    for (int64_t r = 0; r < j->n_rel; r++) j->rel[r] = 2 * (size_t)(r + 1) < n ? 2 * (size_t)(r + 1) : n;
  }
  if (j->stream && j->want_pieces) fake_stream_lp(j, nt, top, src, n);
  j->finish = nt == 8 ? FS_FINISH_LENGTH : FS_FINISH_STOP;
  j->state = FS_JOB_DONE;
}

static void *fake_engine(void *arg)
{
  struct fs_serve *s = arg;
  pthread_mutex_lock(&s->lock);
  for (;;) {
    while (!s->qhead) pthread_cond_wait(&s->work, &s->lock);
    for (struct fs_serve_job *j = s->qhead, *next; j; j = next) {
      next = j->next;
      fake_result(j);
      s->n_pending--;
      j->refs--; /* the engine's reference; the handler's keeps the job alive */
    }
    s->qhead = s->qtail = NULL;
    pthread_cond_broadcast(&s->progress);
  }
  return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static struct fs_serve s;
  static pthread_t engine;
  if (!engine) {
    pthread_mutex_init(&s.lock, NULL);
    pthread_cond_init(&s.work, NULL);
    pthread_cond_init(&s.progress, NULL);
    snprintf(s.model_name, sizeof s.model_name, "fuzz");
    s.max_queue = 64; /* a request of more prompts is refused with 400 */
    s.chat = FS_CHAT_CHATML;
    if (pthread_create(&engine, NULL, fake_engine, &s)) abort();
  }
  /* "METHOD URL\n" (at most 255 bytes each) then the body */
  char method[256] = "POST", url[256] = "/batch_func";
  const uint8_t *nl = memchr(data, '\n', size);
  const char *body = (const char *)data;
  size_t n_body = size;
  if (nl) {
    size_t n_line = (size_t)(nl - data);
    const uint8_t *sp = memchr(data, ' ', n_line);
    if (sp) {
      size_t nm = (size_t)(sp - data), nu = n_line - nm - 1;
      if (nm < sizeof method && nu < sizeof url) {
        memcpy(method, data, nm), method[nm] = 0;
        memcpy(url, sp + 1, nu), url[nu] = 0;
        body = (const char *)nl + 1, n_body = size - n_line - 1;
      }
    }
  }
  struct fs_reply rep = {0};
  fs_serve_route(&s, method, url, body, n_body, &rep);
  if (!rep.body && !rep.stream) abort(); /* every request gets an answer */
  if (rep.status < 200 || rep.status > 599) abort();
  if (rep.stream) {
    char buf[4096];
    while (fs_stream_read(rep.stream, buf, sizeof buf) >= 0) continue;
  }
  fs_stream_free(rep.stream);
  free(rep.body);
  return 0;
}
