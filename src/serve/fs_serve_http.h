/* fs_serve_http.h -- between the HTTP layer (fs_serve_http.c) and the endpoints (fs_serve_api.c,
 * fs_serve_openai.c, fs_serve_stream.c).  Nothing here calls PETSc: these run on connection threads. */
#ifndef FS_SERVE_HTTP_H
#define FS_SERVE_HTTP_H

#include <sys/types.h>
#include <jansson.h>
#include "fs_serve.h"

enum fs_stream_kind { FS_STREAM_PLAIN, FS_STREAM_SSE_COMPLETION, FS_STREAM_SSE_CHAT };

/* one choice of a streamed response: a job and how much of it has been formatted */
struct fs_stream_choice {
  struct fs_serve_job *j;
  size_t taken;      /* bytes of j->sbuf already formatted */
  int64_t rel;       /* the first release point of j (j->rel) beyond taken */
  int64_t lp_taken;  /* tokens of j->slp already formatted (their logprobs) */
  size_t lp_off;     /* completions' text_offset of the next token */
  int ended;         /* its last chunk has been formatted */
};

/* one streamed response: the text of its jobs (OpenAI's choices, index i = job i), as plain chunks (one job) or
 * server-sent events */
struct fs_stream {
  struct fs_serve *s;
  struct fs_stream_choice *c; /* (n_c) */
  int n_c;
  int n_per_prompt;  /* choices of one prompt (usage counts each prompt once) */
  enum fs_stream_kind kind;
  double deadline;   /* fs_serve_now() after which the stream ends (0: none) */
  char *out;         /* formatted bytes not yet sent: out[off..n) */
  size_t n, off, cap;
  int started, ended;
  char id[64], model[4096];
  long long created;
  int include_usage;
};

/* the reply to one request: a body, or a stream */
struct fs_reply {
  int status;
  char *body; /* malloc'ed */
  size_t n_body;
  const char *ctype;
  struct fs_stream *stream;
  enum fs_serve_endpoint ep;
};

void fs_serve_route(struct fs_serve *s, const char *method, const char *url, const char *body, size_t n_body,
                    struct fs_reply *rep);
/* endpoints: body is the parsed request object */
void fs_api_batch(struct fs_serve *s, json_t *req, struct fs_reply *rep);
void fs_api_stream(struct fs_serve *s, json_t *req, struct fs_reply *rep);
void fs_api_megatron(struct fs_serve *s, json_t *req, struct fs_reply *rep);
void fs_api_completions(struct fs_serve *s, json_t *req, struct fs_reply *rep, int chat);
void fs_api_models(struct fs_serve *s, struct fs_reply *rep);
void fs_api_metrics(struct fs_serve *s, struct fs_reply *rep);

/* replies */
void fs_reply_json(struct fs_reply *rep, int status, json_t *o); /* steals o */
void fs_reply_error(struct fs_reply *rep, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* submits jobs[0..n); when refused sets the error reply (400: more prompts than -max_queue, 503: busy or stopping)
 * and returns non-zero */
int fs_api_submit(struct fs_serve *s, struct fs_serve_job **jobs, int n, struct fs_reply *rep);
/* submits jobs[0..n) and waits for them; on failure sets the error reply and returns non-zero */
int fs_api_run(struct fs_serve *s, struct fs_serve_job **jobs, int n, struct fs_reply *rep);
void fs_api_release(struct fs_serve *s, struct fs_serve_job **jobs, int n); /* and frees the array */

/* request fields: 0 on success, else an error reply was set (400) */
int fs_field_int(json_t *o, const char *key, int64_t def, int required, int64_t lo, int64_t hi, int64_t *v,
                 struct fs_reply *rep);
int fs_field_real(json_t *o, const char *key, double def, double lo, double hi, double *v, struct fs_reply *rep);
int fs_field_bool(json_t *o, const char *key, int def, int *v, struct fs_reply *rep);
/* a string or a list of strings: *items (malloc'ed array of borrowed pointers), *n >= 1 */
int fs_field_strings(json_t *o, const char *key, int required, const char ***items, int *n, struct fs_reply *rep);
/* "stop": a string or a list of strings -> owned copies in job */
int fs_field_stop(json_t *o, const char *key, struct fs_serve_job *j, struct fs_reply *rep);
int fs_job_add_stop(struct fs_serve_job *j, const char *stop);

/* streams */
/* takes over the caller's references to jobs[0..n) (submitted); n = 1 for FS_STREAM_PLAIN */
struct fs_stream *fs_stream_new(struct fs_serve *s, struct fs_serve_job **jobs, int n, enum fs_stream_kind kind);
ssize_t fs_stream_read(struct fs_stream *st, char *buf, size_t max); /* blocks; -1 at the end */
void fs_stream_free(struct fs_stream *st);
const char *fs_finish_reason(enum fs_finish f); /* OpenAI's: "stop" or "length" */

#endif
