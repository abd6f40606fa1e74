/* fs_engine.h -- the generation engine: continuous batching over a paged KV cache.
 *
 * Requests may be submitted at any time.  Each fs_engine_step
 *   1. gives every running sequence room for its next tokens (oldest first); when the cache is full it preempts
 *      the NEWEST running sequence: its blocks are freed and it goes back to the head of the queue with its
 *      prompt and the tokens generated so far, recomputed when it is admitted again (vLLM's "recompute");
 *   2. admits waiting requests (first come, first served) while -max_batch_size and the free blocks allow
 *      (a request is admitted only when its whole context fits in the free blocks; otherwise it waits);
 *   3. runs ONE forward over all running sequences: a prompt chunk for those still prefilling (chunks share a
 *      per-step token budget, max_step_tokens), one token for the others;
 *   4. samples (fs_sampler.h) and finishes sequences that stop, returning their blocks.
 * A request's tokens depend only on the request (its seed keys the draws), not on what else is in the batch;
 * its log-probabilities may differ in the last bits when a step multiplies more than 32 token rows (doc/inference.md).
 *
 * Stopping: a token in stop_ids (e.g. the tokenizer's eod; it is kept in tokens/logprobs but not in the text),
 * a stop string in the detokenized text (the text is cut before it; the tokens are kept), max_new_tokens, or
 * the model's learned-position limit.  Streaming: the token callback receives the new text bytes of each step,
 * holding back bytes that may be the start of a stop string (so a stop string never reaches a client).
 * Scoring: max_new_tokens = 0 runs the prompt and returns the log-probabilities of prompt tokens 1..n-1
 * (Megatron's / the original FlagScale's scoring mode). */
#ifndef FS_ENGINE_H
#define FS_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include "fs_model.h"
#include "fs_sampler.h"
#include "fs_tokenizer.h"

enum fs_finish {
  FS_FINISH_NONE = 0, /* still running */
  FS_FINISH_STOP,     /* stop token or stop string */
  FS_FINISH_LENGTH,   /* max_new_tokens or the model's position limit */
  FS_FINISH_SCORED,   /* max_new_tokens = 0: prompt log-probabilities */
  FS_FINISH_CACHE,    /* the sequence outgrew the whole KV cache (raise -kv_cache_mb) */
  FS_FINISH_CANCELLED /* fs_engine_cancel */
};
const char *fs_finish_name(enum fs_finish f); /* "stop", "length", "scored", "cache", "cancelled" */

struct fs_request {
  const int32_t *prompt;  /* (n_prompt) copied at submit */
  int64_t n_prompt;       /* >= 1 */
  int64_t max_new_tokens; /* 0: scoring */
  struct fs_sampling sampling;
  const int32_t *stop_ids; /* (n_stop_ids) copied */
  int n_stop_ids;
  const char *const *stop_strings; /* (n_stop_strings) copied; need the engine's tokenizer */
  int n_stop_strings;
};

struct fs_result {
  int64_t id;
  enum fs_finish finish;
  int64_t n_prompt;
  int32_t *tokens;  /* (n_tokens) generated tokens; scoring: prompt tokens 1..n-1 */
  float *logprobs;  /* (n_tokens) log-probability of each under the model (temperature 1, unfiltered) */
  int64_t n_tokens;
  char *text;       /* generated text (NUL-terminated, n_text bytes); "" without a tokenizer */
  size_t n_text;
  int n_preempted;  /* times this request was preempted and recomputed */
  int n_top;        /* sampling.top_logprobs (at most the vocabulary): alternatives recorded per token */
  int32_t *top_ids; /* (n_tokens * n_top) at each position the n_top most likely tokens, most likely first */
  float *top_logprobs; /* (n_tokens * n_top) their log-probabilities (temperature 1, unfiltered) */
};

struct fs_engine_opts {
  int max_batch_size;      /* running sequences at most */
  int64_t max_step_tokens; /* tokens of one forward at most (prompt chunks share what decodes leave) */
  size_t kv_cache_bytes;   /* memory cap of the KV cache */
  int block_size;          /* tokens per cache block */
};
void fs_engine_opts_default(struct fs_engine_opts *o); /* 16 sequences, 512 tokens, 256 MiB, blocks of 16 */
/* the options -max_batch_size -max_step_tokens -kv_cache_mb -kv_block_size over the defaults */
PetscErrorCode fs_engine_options(struct fs_engine_opts *o);

struct fs_engine_stats {
  int64_t steps, prefill_tokens, decode_tokens, preemptions;
  double prefill_s, decode_s; /* a step's time is split between the two by its token counts */
  int max_running;
};

/* bytes: text released by this token (may be empty; held back near stop strings); finished: the request has
 * just finished (its result is ready; token is then -1 when the call only flushes text) */
typedef void (*fs_engine_token_fn)(void *ctx, int64_t id, int32_t token, const char *bytes, size_t n_bytes,
                                   int finished);

struct fs_engine;
/* tok may be NULL (no text, no stop strings); the engine does not own m or tok */
PetscErrorCode fs_engine_create(struct fs_model *m, const struct fs_tokenizer *tok, const struct fs_engine_opts *o,
                                struct fs_engine **e);
PetscErrorCode fs_engine_destroy(struct fs_engine **e); /* accepts NULL */
void fs_engine_set_callback(struct fs_engine *e, fs_engine_token_fn fn, void *ctx);
/* ids are 0, 1, 2 ... in submission order */
PetscErrorCode fs_engine_submit(struct fs_engine *e, const struct fs_request *r, int64_t *id);
/* one step; *n_busy: requests still waiting or running after it */
PetscErrorCode fs_engine_step(struct fs_engine *e, int *n_busy);
PetscErrorCode fs_engine_run(struct fs_engine *e); /* steps until no request is left */
/* the result of a finished request, owned by the engine; NULL while it runs (and once released) */
const struct fs_result *fs_engine_result(const struct fs_engine *e, int64_t id);
/* the result so far of a request that has not been released (running or finished): tokens, logprobs, top_ids and
 * top_logprobs up to n_tokens, the text up to n_text (running: before any stop-string cut).  Valid until the next
 * step or release; a streaming server reads it in the token callback to stream token log-probabilities. */
const struct fs_result *fs_engine_progress(const struct fs_engine *e, int64_t id);
/* a waiting or running request finishes at once with FS_FINISH_CANCELLED (the tokens so far are its result): its
 * KV blocks go back to the pool and the callback is told (finished = 1).  A finished request is left as it is.
 * Call it between steps (not from the callback). */
PetscErrorCode fs_engine_cancel(struct fs_engine *e, int64_t id);
/* frees a finished request's result (a server calls it once it has answered): memory stays bounded however many
 * requests an engine serves (a pointer per id remains).  A request that still runs is an error. */
PetscErrorCode fs_engine_release(struct fs_engine *e, int64_t id);
void fs_engine_get_stats(const struct fs_engine *e, struct fs_engine_stats *s);
/* blocks free / in the pool (all free again once every request has finished) */
void fs_engine_cache_blocks(const struct fs_engine *e, int64_t *n_free, int64_t *n_blocks);

#endif
