/* fs_sampler.c -- greedy / top-p / top-k / temperature sampling (order and reproducibility: fs_sampler.h) */
#include <math.h>
#include <stdlib.h>
#include "fs_rng.h"
#include "fs_sampler.h"
#include "cpu/fs_ops_cpu_impl.h" /* fs_sum_exp, FS_CLONES */

PetscErrorCode fs_sampling_check(const struct fs_sampling *s)
{
  PetscFunctionBegin;
  FSCheck(s->temperature >= 0 && isfinite(s->temperature), PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
          "temperature %g: must be >= 0 (0 = greedy)", s->temperature);
  FSCheck(s->top_k >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "top_k %d: must be >= 0 (0 = off)", s->top_k);
  FSCheck(s->top_p >= 0 && s->top_p <= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
          "top_p %g: must be in [0, 1] (0 or 1 = off)", s->top_p);
  FSCheck(s->top_logprobs >= 0 && s->top_logprobs <= FS_TOP_LOGPROBS_MAX, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
          "top_logprobs %d: must be in [0, %d]", s->top_logprobs, FS_TOP_LOGPROBS_MAX);
  PetscFunctionReturn(PETSC_SUCCESS);
}

void fs_sampler_ws_free(struct fs_sampler_ws *ws)
{
  FSFree(&ws->idx);
  FSFree(&ws->val);
  ws->V = 0;
}

/* log(sum exp(x)) of a row: a vector loop (the same sum as the training loss, fs_sum_exp); it runs once per sampled
 * token over the whole vocabulary, and a plain loop of double exp() took a third of a batched decode step */
FS_CLONES static double log_sum_exp(const float *x, int V)
{
  float mx;
  double sum = fs_sum_exp(x, V, &mx);
  return mx + log(sum);
}

float fs_logprob(const float *logits, int V, int32_t id) { return (float)(logits[id] - log_sum_exp(logits, V)); }

/* the ranking: larger logit first, lower id on ties */
static const float *g_logits;
static int by_logit_desc(const void *a, const void *b)
{
  int32_t i = *(const int32_t *)a, j = *(const int32_t *)b;
  if (g_logits[i] != g_logits[j]) return g_logits[i] > g_logits[j] ? -1 : 1;
  return (i > j) - (i < j);
}
static int better(const float *x, int32_t i, int32_t j) { return x[i] > x[j] || (x[i] == x[j] && i < j); }

/* the k best ids of x in rank order into idx[0..k): a min-heap of the best k, then sorted */
static void top_k_ids(int32_t *idx, const float *x, int V, int k)
{
  int n = 0;
  for (int32_t id = 0; id < V; id++) {
    if (n < k) { /* sift up */
      int c = n++;
      idx[c] = id;
      while (c > 0 && better(x, idx[(c - 1) / 2], idx[c])) {
        int32_t t = idx[c]; idx[c] = idx[(c - 1) / 2]; idx[(c - 1) / 2] = t;
        c = (c - 1) / 2;
      }
    } else if (better(x, id, idx[0])) { /* replace the worst, sift down */
      idx[0] = id;
      for (int c = 0;;) {
        int l = 2 * c + 1, r = l + 1, w = c;
        if (l < n && better(x, idx[w], idx[l])) w = l;
        if (r < n && better(x, idx[w], idx[r])) w = r;
        if (w == c) break;
        int32_t t = idx[c]; idx[c] = idx[w]; idx[w] = t;
        c = w;
      }
    }
  }
  g_logits = x;
  qsort(idx, (size_t)n, sizeof *idx, by_logit_desc);
}

void fs_top_logprobs(const float *logits, int V, int n, int32_t *ids, float *logprobs)
{
  double lse = log_sum_exp(logits, V);
  if (n > V) n = V;
  top_k_ids(ids, logits, V, n);
  for (int i = 0; i < n; i++) logprobs[i] = (float)(logits[ids[i]] - lse);
}

PetscErrorCode fs_sample(struct fs_sampler_ws *ws, const float *logits, int V, const struct fs_sampling *s,
                         int64_t index, int32_t *token, float *logprob)
{
  PetscFunctionBegin;
  double lse = log_sum_exp(logits, V);
  if (s->temperature == 0 || s->top_k == 1) {
    int32_t best = 0;
    for (int32_t i = 1; i < V; i++)
      if (logits[i] > logits[best]) best = i;
    *token = best;
    *logprob = (float)(logits[best] - lse);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if (ws->V < V) {
    fs_sampler_ws_free(ws);
    FSMalloc((size_t)V * sizeof(int32_t), &ws->idx);
    FSMalloc((size_t)V * sizeof(float), &ws->val);
    ws->V = V;
  }
  int use_p = s->top_p > 0 && s->top_p < 1;
  int n = s->top_k > 0 && s->top_k < V ? s->top_k : V;
  if (n < V || use_p) {
    top_k_ids(ws->idx, logits, V, n); /* ranked: top-p and top-k both keep a prefix of this order */
    if (use_p) { /* smallest prefix whose probability (temperature 1) reaches top_p */
      double cum = 0;
      int keep = 0;
      while (keep < n) {
        cum += exp((double)logits[ws->idx[keep++]] - lse);
        if (cum >= s->top_p) break;
      }
      n = keep;
    }
  } else
    for (int32_t i = 0; i < V; i++) ws->idx[i] = i;
  /* temperature on the survivors, then one draw by inverse CDF */
  double sum = 0, best = -INFINITY;
  for (int i = 0; i < n; i++)
    if (logits[ws->idx[i]] > best) best = logits[ws->idx[i]];
  for (int i = 0; i < n; i++) {
    ws->val[i] = (float)exp(((double)logits[ws->idx[i]] - best) / s->temperature);
    sum += ws->val[i];
  }
  double u = (double)fs_rng_uniform(fs_rng_key(s->seed, "sample"), (uint64_t)index) * sum, acc = 0;
  int pick = n - 1;
  for (int i = 0; i < n; i++) {
    acc += ws->val[i];
    if (u < acc) {
      pick = i;
      break;
    }
  }
  *token = ws->idx[pick];
  *logprob = (float)(logits[*token] - lse);
  PetscFunctionReturn(PETSC_SUCCESS);
}
