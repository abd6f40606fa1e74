/* fs_sampler.h -- choosing the next token from a row of logits.
 *
 * Order (the original FlagScale's last version): top-p, then top-k, then temperature.  That is, both filters
 * are computed on the model's own distribution softmax(logits) (temperature 1): top-p keeps the smallest set of
 * most likely tokens whose probability reaches top_p, top-k keeps at most top_k of those; the survivors' logits
 * are then divided by the temperature and one token is drawn from their softmax.  (Megatron divides by the
 * temperature first, so its filters see the tempered distribution; with temperature 1 both agree.)
 * Ties are ranked by token id (lower first), so the result never depends on sort stability.
 *
 * Greedy (argmax, lowest id on ties) when temperature == 0 or top_k == 1.
 * Reproducibility: the draw for generated token i of a request is Philox keyed by (seed, "sample") at counter
 * i, so a request gives the same tokens whatever batch it lands in and whatever other requests do. */
#ifndef FS_SAMPLER_H
#define FS_SAMPLER_H

#include <stdint.h>
#include "fs_error.h"

struct fs_sampling {
  double temperature; /* 0: greedy */
  int top_k;          /* 0: off */
  double top_p;       /* 0 or >= 1: off */
  uint64_t seed;
  int top_logprobs;   /* the most likely tokens recorded per position (0..FS_TOP_LOGPROBS_MAX) */
};
#define FS_TOP_LOGPROBS_MAX 20

/* scratch for one vocabulary row; {0} is an empty one */
struct fs_sampler_ws {
  int32_t *idx;
  float *val;
  int V;
};

PetscErrorCode fs_sampling_check(const struct fs_sampling *s); /* clear errors for out-of-range settings */
/* *token: the choice for generated-token index `index`; *logprob: its log-probability under the model's
 * distribution log_softmax(logits) (temperature 1, no filter), the number the API reports */
PetscErrorCode fs_sample(struct fs_sampler_ws *ws, const float *logits, int V, const struct fs_sampling *s,
                         int64_t index, int32_t *token, float *logprob);
/* the n most likely tokens (larger logit first, lower id on ties) and their log_softmax(logits) values */
void fs_top_logprobs(const float *logits, int V, int n, int32_t *ids, float *logprobs);
/* log_softmax(logits)[id] */
float fs_logprob(const float *logits, int V, int32_t id);
void fs_sampler_ws_free(struct fs_sampler_ws *ws);

#endif
