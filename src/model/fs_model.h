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
#include <mpi.h>

/* Tensor parallelism (Megatron): each of the tp ranks of tp_comm holds a slice of every split tensor (the table's
 * local shapes) and computes its heads (NHl = NH/tp, NKVl = NKV/tp), its FFN columns (Fl = F/tp) and its vocabulary
 * rows (Vl = padded/tp).  Sequence parallelism splits the residual stream's N = B*T tokens into tp slices of
 * Nl = N/tp rows (rank r holds rows r*Nl ..); without it Nl = N.  Shapes below use these local sizes. */

/* activations of one layer for a micro-batch of N = B*T tokens */
struct fs_layer_acts {
  float *ln1, *ln1_mean, *ln1_rstd; /* (N,C) all tokens (gathered under sequence parallelism), (Nl), (Nl) */
  float *q, *k, *v;                 /* (N, NHl*D), (N, NKVl*D) x2, after RoPE */
  float *att, *lse;                 /* (N, NHl*D), (B, NHl, T) */
  float *x_mid;                     /* (Nl,C) residual after attention */
  float *ln2, *ln2_mean, *ln2_rstd; /* (N,C), (Nl), (Nl) */
  float *gate, *up, *h;             /* (N,Fl): gate only with SwiGLU; up is GELU's input otherwise */
  float *lora[FS_LORA_N_TARGETS];   /* (N,r) (alpha/r) x A^T of each adapted layer; NULL for the others */
};

/* the activations of one micro-batch in flight (pipeline parallelism keeps several: see n_slots) */
struct fs_act_slot {
  float *xs;                   /* (Ls+1, Nl, C) */
  struct fs_layer_acts *layer; /* (Ls) */
  float *lnf, *lnf_mean, *lnf_rstd, *losses;
};

struct fs_model {
  struct fs_model_config cfg;
  const struct fs_ops *ops;
  struct fs_param_table table;
  float *params;  /* (table.n_local) */
  /* gradients of the trainable elements [grad_offset, table.n_local) of the same layout (+= by backward):
   * grad_offset = table.trainable_offset, 0 without LoRA; fs_model_grad_at maps a table offset into it */
  float *grads;   /* (table.n_local - grad_offset) */
  int64_t grad_offset;
  /* tensor parallelism: tp_comm has tp ranks (MPI_COMM_SELF and 1 without it); sp = sequence parallel in use */
  MPI_Comm tp_comm;
  int tp, tp_rank, sp;
  /* pipeline parallelism: pp_comm has pp stages (MPI_COMM_SELF and 1 without it); this stage runs the Ls =
   * layer_end - layer_begin layers [layer_begin, layer_end) (the table's).  Activations are indexed by the local
   * layer l - layer_begin.  n_slots = pp - pp_rank micro-batches can be in flight here (1F1B) */
  MPI_Comm pp_comm;
  int pp, pp_rank, layer_begin, layer_end, n_slots;
  /* activations, sized for B x T by fs_model_set_batch; xs .. losses point into the current slot */
  int B, T;
  const int32_t *pos; /* (B,T) positions of packed documents for the next forward/backward, or NULL (borrowed) */
  int64_t Nl;     /* tokens of the residual stream held here: N, or N/tp under sequence parallelism */
  float *xs;      /* (Ls+1, Nl, C): residual stream entering each layer, xs[Ls] leaves the stage's last */
  struct fs_layer_acts *layer; /* (Ls): recomputed layers share the buffers of recompute_acts */
  unsigned char *recomputed;   /* (Ls): 1 where the layer's activations are recomputed in backward */
  struct fs_act_slot *slots;   /* (n_slots) */
  struct fs_layer_acts recompute_acts; /* one layer's worth, shared (full recomputation) */
  float *lnf, *lnf_mean, *lnf_rstd, *losses; /* (N,C) gathered, (Nl), (Nl), (N) */
  float *fwd_tmp; /* (N,C) partial outputs of row-parallel layers + (Nl,C) their reduced slice */
  float *scratch; /* backward buffers */
  float *lora_tmp; /* (N, max(C, NHl*D, Fl) + r): LoRA's temporaries (NULL without adapters) */
  float *act_block;
  int64_t act_n_elem;
};

/* bytes this rank holds (for the trainer's memory report) */
struct fs_model_memory {
  double params, grads, activations;
};

/* TP = 1: the whole model on this rank */
PetscErrorCode fs_model_create(const struct fs_model_config *cfg, const struct fs_ops *ops, struct fs_model **m);
/* this rank's slice of the model for the tensor-parallel communicator tp_comm (the layout's; not duplicated, must
 * outlive the model).  cfg must be finalized with tp = size of tp_comm.  Heads, query groups, the FFN size and the
 * padded vocabulary must divide by tp (a clear error otherwise).  cfg->sequence_parallel needs tp > 1 and
 * B*T divisible by tp (checked by fs_model_set_batch).  Forward/backward calls are collective over tp_comm. */
PetscErrorCode fs_model_create_tp(const struct fs_model_config *cfg, const struct fs_ops *ops, MPI_Comm tp_comm,
                                  struct fs_model **m);
/* this rank's slice of its pipeline stage: tp_comm as above, pp_comm the stages (the layout's; borrowed;
 * MPI_COMM_NULL = one stage).  pp must divide num_layers.  With pp > 1 a step goes through the stage functions
 * below (src/dist/fs_pipeline.h runs them); fs_model_forward_backward/forward_loss/logits need pp = 1. */
PetscErrorCode fs_model_create_pp(const struct fs_model_config *cfg, const struct fs_ops *ops, MPI_Comm tp_comm,
                                  MPI_Comm pp_comm, struct fs_model **m);
PetscErrorCode fs_model_destroy(struct fs_model **m);
/* layout-independent init: element i of tensor "name" is drawn from Philox keyed by (seed, name) */
PetscErrorCode fs_model_init_params(struct fs_model *m, uint64_t seed);
PetscErrorCode fs_model_set_batch(struct fs_model *m, int B, int T);
/* Packed sequences: pos (B,T) the position of each token inside its document (0 at a document's first token, +1
 * per token inside it; fs_ops.h).  Attention then stays inside each document and RoPE / learned positions use
 * pos instead of t.  Checked here (a clear error otherwise); borrowed: it must stay valid until the forward and
 * backward that use it are done, or be replaced.  NULL (the default) = one document per row.  Under tensor,
 * sequence and pipeline parallelism every rank of the micro-batch passes the same pos. */
PetscErrorCode fs_model_set_positions(struct fs_model *m, const int32_t *pos, int B, int T);
/* pointer to this rank's slice of a parameter / its gradient (NULL for a frozen parameter: LoRA) */
float *fs_model_param(struct fs_model *m, enum fs_param_role role, int layer);
float *fs_model_grad(struct fs_model *m, enum fs_param_role role, int layer);
/* the gradient of the element at table offset `offset` (>= m->grad_offset: a trainable one) */
static inline float *fs_model_grad_at(const struct fs_model *m, int64_t offset)
{
  return m->grads + (offset - m->grad_offset);
}
/* inference: frees the gradient buffer and freezes every parameter (fs_model_grad then returns NULL; backward
 * must not be called again).  The memory report counts no gradients. */
void fs_model_release_grads(struct fs_model *m);
/* elements in m->grads */
static inline int64_t fs_model_grad_n(const struct fs_model *m) { return m->table.n_local - m->grad_offset; }
/* LoRA: a new model (same backend and tensor-parallel communicator) with the configuration of m without adapters
 * and the weights W + (alpha/r) B A of every adapted layer (the base weights of the others), each rank merging its
 * own slices; m must have pp = 1 */
PetscErrorCode fs_model_lora_merged(const struct fs_model *m, struct fs_model **merged);
/* replaces *m by its merged model when it has adapters (inference, export); logs what it did */
PetscErrorCode fs_model_lora_merge_in_place(struct fs_model **m);
void fs_model_zero_grad(struct fs_model *m);
/* sum of squares of the gradients of the whole model over tp_comm and pp_comm (split tensors summed over the tp
 * ranks, replicated ones and the tied embedding counted once; frozen tensors not at all): the global norm^2 before the data-parallel part.
 * Collective over tp_comm and pp_comm. */
PetscErrorCode fs_model_grad_sum_squares(const struct fs_model *m, double *sum);
/* the local part of that sum for the gradients of the table's elements first .. first+n (a distributed
 * optimizer's shard; frozen elements are skipped): replicated tensors count on tp_rank 0 only and the last
 * stage's tied-embedding copy not at all, so summing the results over tp_comm, pp_comm (and the data-parallel
 * shards) gives the global norm^2.  No communication. */
double fs_model_tp_sum_squares(const struct fs_model *m, int64_t first, int64_t n);
/* parameters, gradients (of the trainable parameters only), activations (for the current batch size) held by
 * this rank */
void fs_model_memory_bytes(const struct fs_model *m, struct fs_model_memory *mem);

/* Training step on one micro-batch: forward, loss, backward.  tokens, targets (B,T); targets < 0 are masked.
 * The loss is L = sum_n row_weight[n] * loss_n; row_weight NULL = 1/(number of unmasked targets).
 * Gradients of L are added (+=) to m->grads.  *loss gets L; *n_tokens the unmasked targets. */
PetscErrorCode fs_model_forward_backward(struct fs_model *m, const int32_t *tokens, const int32_t *targets,
                                         const float *row_weight, int B, int T, double *loss, int64_t *n_tokens);
/* Evaluation: the same L without gradients */
PetscErrorCode fs_model_forward_loss(struct fs_model *m, const int32_t *tokens, const int32_t *targets,
                                     const float *row_weight, int B, int T, double *loss, int64_t *n_tokens);
/* logits (B*T, vocab_size): the true vocabulary, padding rows excluded (gathered over tp_comm: every rank gets all) */
PetscErrorCode fs_model_logits(struct fs_model *m, const int32_t *tokens, int B, int T, float *logits);

/* Pipeline stage pieces (any pp; the schedule is src/dist/fs_pipeline.c).  slot < n_slots picks the activation
 * buffers of a micro-batch in flight.  Collective over tp_comm only: the caller moves activations between stages.
 *   fs_model_stage_input: (Nl,C) the residual stream entering this stage: on stages > 0 fill it before forward.
 *   fs_model_stage_output: (Nl,C) what leaves this stage after forward (stages < last send it on).
 *   fs_model_stage_grad: (Nl,C) on stages < last: fill with dL/d(output) before backward; after backward it holds
 *     dL/d(input) on stages > 0 (send it back).  One buffer shared by all slots.
 *   fs_model_stage_forward: the first stage embeds tokens (B,T); then this stage's layers (and on the last the final
 *     norm).  fs_model_stage_loss (last stage): the loss L of the micro-batch in `slot` without gradients.
 *   fs_model_stage_backward: on the last stage the fused output layer + loss (L, n_tokens returned) and its
 *     backward; then the stage's layers; the first stage the embeddings (tokens: those of the forward).  Gradients
 *     are added (+=) to m->grads. */
float *fs_model_stage_input(struct fs_model *m, int slot);
float *fs_model_stage_output(struct fs_model *m, int slot);
float *fs_model_stage_grad(struct fs_model *m);
PetscErrorCode fs_model_stage_forward(struct fs_model *m, int slot, const int32_t *tokens, int B, int T);
PetscErrorCode fs_model_stage_loss(struct fs_model *m, int slot, const int32_t *targets, const float *row_weight,
                                   double *loss, int64_t *n_tokens);
PetscErrorCode fs_model_stage_backward(struct fs_model *m, int slot, const int32_t *tokens, const int32_t *targets,
                                       const float *row_weight, double *loss, int64_t *n_tokens);

#endif
