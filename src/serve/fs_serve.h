/* fs_serve.h -- flagscale-serve internals: jobs, the engine thread, the HTTP layer and the endpoints.
 *
 * Threads: libmicrohttpd runs one thread per connection; handlers parse the request, build jobs (one per prompt)
 * and hand them to fs_serve_submit, then wait for them (fs_serve_wait) or stream them (fs_serve_stream_take).
 * ONE engine thread owns the engine, the model and the tokenizer: it renders chat templates, encodes prompts,
 * submits them and steps while any job is pending, so jobs that arrive during generation join the running batch
 * (continuous batching).  Everything that calls PETSc runs on the engine thread (PETSc's debug stack is not
 * thread-safe); handlers only touch JSON and the job fields below, under srv->lock.
 *
 * Several ranks (fs_serve_sync.h): the model is split tensor-parallel; the engine thread of rank 0 broadcasts the
 * events of each step (submissions, cancellations) to the other ranks, which run the same engine in lockstep.
 * Cancellation: a streaming client that goes away (the stream is freed before its end) cancels its job; the engine
 * thread cancels it in the engine (its KV blocks are freed at once).  Finished results are copied into their jobs
 * and released from the engine, so memory stays bounded. */
#ifndef FS_SERVE_H
#define FS_SERVE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <mpi.h>
#include "fs_chat.h"
#include "fs_engine.h"
#include "fs_serve_sync.h"

enum fs_job_state { FS_JOB_QUEUED, FS_JOB_RUNNING, FS_JOB_DONE, FS_JOB_FAILED };

/* the log-probabilities of a streamed job's tokens so far (stream && want_pieces), appended by the engine thread
 * under srv->lock: per token its logprob, its n_top alternatives, the text length through it (`end`: it is streamed
 * once the stream has released that many bytes of sbuf, in order; a token held back by a stop string that then
 * matched never is, and goes with the last chunk) and its pieces, interleaved: the token's, then its alternatives' */
struct fs_stream_lp {
  int64_t n, cap;
  int n_top;
  int failed;            /* out of memory: the stream ends with an error */
  float *logprobs;       /* (cap) */
  float *top_logprobs;   /* (cap * n_top) */
  size_t *end;           /* (cap) */
  size_t *piece_off;     /* (cap * (1 + n_top) + 1) */
  char *pieces;
  size_t cap_pieces;
};

/* a read-only view of result tokens as token strings: token t's piece is tok0 + t * stride, its alternative k's
 * alt0 + t * alt_stride + k, piece i being pieces[piece_off[i] .. piece_off[i + 1]) */
struct fs_lp {
  const char *pieces;
  const size_t *piece_off;
  const float *logprobs, *top_logprobs; /* (t), (t * n_top + k) */
  int n_top;
  int64_t tok0, stride, alt0, alt_stride;
};

struct fs_serve_job {
  /* input, fixed once submitted */
  char *prompt;                /* text to encode (when n_msgs == 0) */
  struct fs_chat_msg *msgs;    /* (n_msgs) a conversation rendered with `chat` instead; contents owned */
  int n_msgs;
  enum fs_chat_template chat;
  int64_t max_new_tokens;      /* 0: scoring */
  struct fs_sampling sampling;
  char **stop;                 /* (n_stop) stop strings, owned */
  int n_stop;
  int stream;                  /* keep the released text for a streaming reader */
  int want_pieces;             /* the bytes of every prompt and result token (token strings) */
  int ignore_eos;              /* the end-of-document token does not stop generation (vLLM's ignore_eos) */
  int cancel_asked;            /* under srv->lock: queued for cancellation */
  /* state, under srv->lock */
  enum fs_job_state state;
  int refs;                    /* the handler's and the engine thread's */
  int64_t eid;                 /* engine request id while running */
  int status;                  /* FAILED: HTTP status (400 bad prompt, 500 engine) */
  char err[512];
  char *sbuf;                  /* (n_sbuf) text released so far (stream) */
  size_t n_sbuf, cap_sbuf;
  size_t *rel;                 /* (n_rel) n_sbuf after each engine step that released text: a stream's chunks */
  int64_t n_rel, cap_rel;      /* end at these points (or the next whole UTF-8 character), whatever the timing */
  /* result, valid once DONE */
  int32_t *prompt_ids;         /* (n_prompt) */
  int64_t n_prompt;
  int32_t *tokens;             /* (n_tokens) */
  float *logprobs;
  int64_t n_tokens;
  int n_top;                   /* sampling.top_logprobs: alternatives per result token */
  int32_t *top_ids;            /* (n_tokens * n_top) most likely first */
  float *top_logprobs;         /* (n_tokens * n_top) */
  char *text;                  /* (n_text) */
  size_t n_text;
  enum fs_finish finish;
  struct fs_stream_lp slp;     /* stream && want_pieces: while it runs, under srv->lock */
  char *pieces;                /* want_pieces: bytes of the prompt ids, the result tokens, then top_ids, */
                               /* at piece_off (n_prompt + n_tokens + n_tokens * n_top + 1) */
  size_t *piece_off;
  double t_submit, t_first, t_done; /* fs_serve_now() */
  struct fs_serve_job *next;   /* queue link */
};

enum fs_serve_endpoint { FS_EP_BATCH, FS_EP_STREAM, FS_EP_API, FS_EP_COMPLETIONS, FS_EP_CHAT, FS_EP_MODELS,
                         FS_EP_HEALTH, FS_EP_METRICS, FS_EP_OTHER, FS_EP_N };

struct fs_serve {
  /* model, owned by the engine thread once started */
  struct fs_model *m;
  struct fs_tokenizer *tok;
  struct fs_engine *e;
  struct fs_engine_opts eopts;
  int32_t eod;
  int recycle_after;           /* an idle engine is recreated after this many requests (frees their results) */
  int64_t n_since_create;
  /* description */
  char model_name[4096], tokenizer_name[4096], model_desc[512];
  enum fs_chat_template chat;
  int max_position;            /* learned positions: prompt + generation limit; 0 = none (RoPE) */
  int64_t max_prompt_tokens;   /* KV cache capacity in tokens */
  int max_queue;               /* jobs queued or running at most; more -> 503 */
  double t_start;
  /* shared state */
  pthread_mutex_t lock;
  pthread_cond_t work;         /* engine thread: new jobs or stop */
  pthread_cond_t progress;     /* handlers: a job got text or finished */
  struct fs_serve_job *qhead, *qtail;
  int n_pending;               /* jobs queued or running */
  int n_http_active;           /* requests received and not yet answered in full (streams included) */
  int stopping, engine_dead;
  struct fs_serve_job **cancel; /* (n_cancel) jobs to cancel, one reference each */
  int n_cancel, cap_cancel;
  pthread_t thread;
  int thread_started;
  /* ranks: comm (n_ranks) runs the engine; rank 0's engine thread sends each step's events in msg */
  MPI_Comm comm;
  int n_ranks;
  struct fs_sync_msg msg;
  /* engine thread only */
  struct fs_serve_job **by_eid; /* (cap_eid) running jobs by engine id */
  int64_t cap_eid;
  int64_t *live;               /* (n_live) engine ids of running jobs */
  int64_t n_live, cap_live;
  /* metrics, under lock */
  uint64_t requests[FS_EP_N], errors4xx, errors5xx, jobs_done, jobs_cancelled, prompt_tokens, completion_tokens;
  struct fs_engine_stats stats; /* the engine's, accumulated over recreated engines */
  struct fs_engine_stats stats_base;
  int64_t kv_free, kv_blocks;
  int running;
};

/* engine thread (fs_serve_engine.c) */
int fs_serve_start(struct fs_serve *s);  /* 0 on success */
void fs_serve_stop(struct fs_serve *s);  /* finishes pending jobs, joins the thread */
/* a job with refs = 1 (the caller's); fills input fields after */
struct fs_serve_job *fs_serve_job_new(void);
/* queues jobs[0..n); all or none: returns 0 when queued, 503 when the queue is full or the server stops, 400 when
 * n alone is more than the queue holds */
int fs_serve_submit(struct fs_serve *s, struct fs_serve_job **jobs, int n);
/* waits until every job is DONE or FAILED; 0 or the first failed job's status */
int fs_serve_wait(struct fs_serve *s, struct fs_serve_job **jobs, int n);
/* drops the caller's reference (a job that still runs is freed by the engine thread when it ends) */
void fs_serve_job_release(struct fs_serve *s, struct fs_serve_job *j);
/* asks the engine thread to cancel j if it is queued or running (its client went away); any thread */
void fs_serve_cancel(struct fs_serve *s, struct fs_serve_job *j);

/* utilities (fs_serve_util.c) */
double fs_serve_now(void); /* seconds, monotonic (no MPI call off the main thread) */
/* pthread_cond_timedwait for at most `seconds` */
void fs_serve_timedwait(pthread_cond_t *c, pthread_mutex_t *m, double seconds);
/* the client of this connection thread (fs_serve_http.c sets it while a request is routed; -1: none) and whether
 * it has closed the connection (a handler waiting for a result cancels its jobs then) */
void fs_serve_set_client(int fd);
int fs_serve_client_gone(void);
/* out holds 3 * n + 1 bytes: invalid UTF-8 bytes become U+FFFD */
size_t fs_utf8_sanitize(char *out, const char *in, size_t n);
/* bytes of in[0..n) that form complete UTF-8 characters (a streamed chunk must not end inside one) */
size_t fs_utf8_complete(const char *in, size_t n);
/* a JSON string of in[0..n) after sanitizing */
struct json_t *fs_json_text(const char *in, size_t n);
/* piece i of a want_pieces job (the bytes of one token) as a JSON string */
struct json_t *fs_job_piece(const struct fs_serve_job *j, int64_t i);

/* log-probabilities (fs_serve_logprobs.c) */
struct fs_lp fs_job_lp(const struct fs_serve_job *j);      /* of a finished want_pieces job */
struct fs_lp fs_stream_lp_view(const struct fs_stream_lp *b); /* of a stream's tokens so far */
/* OpenAI's logprobs of tokens t0..t1: completions {"tokens", "token_logprobs", "top_logprobs", "text_offset"}
 * (the first text offset is *offset, advanced past the tokens); chat {"content": [{"token", "logprob", "bytes",
 * "top_logprobs"}]} */
struct json_t *fs_lp_completion(const struct fs_lp *lp, int64_t t0, int64_t t1, size_t *offset);
struct json_t *fs_lp_chat(const struct fs_lp *lp, int64_t t0, int64_t t1);

#endif
