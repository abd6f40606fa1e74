/* fs_pipeline.h -- Megatron's pipeline schedules on the CPU backend over MPI.
 *
 * The stages of a model built with fs_model_create_pp exchange the residual stream of each micro-batch, (Nl,C)
 * per tensor-parallel rank (N/tp x C under sequence parallelism), with point-to-point messages on pp_comm: stage s
 * receives activations from s-1 and gradients from s+1.  Training uses the non-interleaved 1F1B schedule:
 *   warm-up: min(pp - s - 1, M) forwards; steady state: one forward, one backward, until every forward ran;
 *   cool-down: the remaining backwards.
 * Stage s thus keeps at most pp - s micro-batches of activations (the model's n_slots).  Sends are non-blocking
 * (each micro-batch's buffer is waited for before reuse), receives blocking; the schedule has no cycle, so it
 * cannot deadlock.  The last stage computes the loss; the sum of the micro-batch losses is broadcast to every
 * stage.  With tied embeddings the first and last stages both hold the embedding; after the schedule their
 * gradients are summed (Megatron's embedding group), so both apply the same update and stay identical. */
#ifndef FS_PIPELINE_H
#define FS_PIPELINE_H

#include <stdint.h>
#include "fs_error.h"
#include "fs_model.h"

/* micro-batch `micro` (0 .. n_micro-1) of this data-parallel rank: tokens and targets (B,T), valid until the next
 * call (the schedule copies them); *positions the packed positions (B,T) (fs_model_set_positions) or left NULL */
typedef PetscErrorCode (*fs_pipeline_load_fn)(void *ctx, int64_t micro, const int32_t **tokens,
                                              const int32_t **targets, const int32_t **positions);

/* runs n_micro micro-batches of B x T through this rank's stage: 1F1B with gradients (added to m->grads, tied
 * embedding gradients summed between the first and last stages), forwards only without.  *loss_sum = the sum of
 * the micro-batch losses (each the token mean of its micro-batch), the same on every stage.  Every stage loads
 * every micro-batch (only the first uses the tokens, only the last the targets).  Collective over the model's
 * pp_comm and tp_comm.  Works for pp = 1 too (the same op calls as fs_model_forward_backward). */
PetscErrorCode fs_pipeline_run(struct fs_model *m, int64_t n_micro, int B, int T, int with_grad,
                               fs_pipeline_load_fn load, void *ctx, double *loss_sum);
/* the embedding group: with tied embeddings and pp > 1, the first and last stages' embedding gradients become
 * their sum (no-op otherwise).  fs_pipeline_run calls it after a training schedule. */
PetscErrorCode fs_pipeline_sync_tied_grads(struct fs_model *m);

#endif
