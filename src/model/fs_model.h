/* fs_model.h -- the decoder: parameters (one flat buffer laid out by the parameter table), gradients (same
 * layout), activations for one micro-batch, and the layer sequence over the op table.  The model never calls a
 * backend directly (DESIGN.md principle 3). */
#ifndef FS_MODEL_H
#define FS_MODEL_H

#include <stdint.h>
#include "fs_error.h"
#include "fs_model_config.h"
#include "fs_param_table.h"
#include "fs_ops.h"

/* activations of one layer for a micro-batch of N = B*T tokens */
struct fs_layer_acts {
  float *ln1, *ln1_mean, *ln1_rstd; /* (N,C), (N), (N) */
  float *q, *k, *v;                 /* (N, NH*D), (N, NKV*D) x2, after RoPE */
  float *att, *lse;                 /* (N, NH*D), (B, NH, T) */
  float *x_mid;                     /* (N,C) residual after attention */
  float *ln2, *ln2_mean, *ln2_rstd; /* (N,C), (N), (N) */
  float *gate, *up, *h;             /* (N,F): gate only with SwiGLU; up is GELU's input otherwise */
};

struct fs_model {
  struct fs_model_config cfg;
  const struct fs_ops *ops;
  struct fs_param_table table;
  float *params;  /* (table.n_local) */
  float *grads;   /* (table.n_local), same layout; += by backward */
  /* activations, sized for B x T by fs_model_set_batch */
  int B, T;
  float *xs;      /* (L+1, N, C): residual stream entering each layer, xs[L] leaves the last */
  struct fs_layer_acts *layer; /* (L) */
  float *lnf, *lnf_mean, *lnf_rstd, *losses; /* (N,C), (N), (N), (N) */
  float *scratch; /* backward buffers */
  float *act_block;
  int64_t act_n_elem;
};

PetscErrorCode fs_model_create(const struct fs_model_config *cfg, const struct fs_ops *ops, struct fs_model **m);
PetscErrorCode fs_model_destroy(struct fs_model **m);
/* layout-independent init: element i of tensor "name" is drawn from Philox keyed by (seed, name) */
PetscErrorCode fs_model_init_params(struct fs_model *m, uint64_t seed);
PetscErrorCode fs_model_set_batch(struct fs_model *m, int B, int T);
/* pointer to this rank's slice of a parameter / its gradient */
float *fs_model_param(struct fs_model *m, enum fs_param_role role, int layer);
float *fs_model_grad(struct fs_model *m, enum fs_param_role role, int layer);
void fs_model_zero_grad(struct fs_model *m);

/* Training step on one micro-batch: forward, loss, backward.  tokens, targets (B,T); targets < 0 are masked.
 * The loss is L = sum_n row_weight[n] * loss_n; row_weight NULL = 1/(number of unmasked targets).
 * Gradients of L are added (+=) to m->grads.  *loss gets L; *n_tokens the unmasked targets. */
PetscErrorCode fs_model_forward_backward(struct fs_model *m, const int32_t *tokens, const int32_t *targets,
                                         const float *row_weight, int B, int T, double *loss, int64_t *n_tokens);
/* Evaluation: the same L without gradients */
PetscErrorCode fs_model_forward_loss(struct fs_model *m, const int32_t *tokens, const int32_t *targets,
                                     const float *row_weight, int B, int T, double *loss, int64_t *n_tokens);
/* logits (B*T, vocab_size): the true vocabulary, padding rows excluded */
PetscErrorCode fs_model_logits(struct fs_model *m, const int32_t *tokens, int B, int T, float *logits);

#endif
