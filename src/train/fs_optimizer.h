/* fs_optimizer.h -- AdamW over the model's flat buffers (fp32 master weights = the parameters on CPU), with
 * weight decay only on the tensors the parameter table marks (matrices, not norms or biases), global gradient
 * norm and clipping.  The state (exp_avg, exp_avg_sq, step) covers a contiguous range [lo, lo + n) of the flat
 * parameter layout: all of it, or this rank's shard under the distributed optimizer (fs_dist_opt.h), where the
 * range may cut through a tensor (weight decay is still decided per tensor, on the part inside the range). */
#ifndef FS_OPTIMIZER_H
#define FS_OPTIMIZER_H

#include <stdint.h>
#include "fs_error.h"
#include "fs_model.h"

struct fs_adamw {
  double beta1, beta2, eps, weight_decay;
  int64_t lo, n;               /* the flat range [lo, lo + n) this state covers */
  float *exp_avg, *exp_avg_sq; /* (n); element i belongs to flat offset lo + i */
  int64_t step;                /* optimizer steps taken */
  int64_t state_bytes;         /* bytes allocated for exp_avg + exp_avg_sq (the memory report) */
};

/* state for the trainable parameters [m->grad_offset, table.n_local) (the whole flat buffer without LoRA) */
PetscErrorCode fs_adamw_create(const struct fs_model *m, double beta1, double beta2, double eps, double weight_decay,
                               struct fs_adamw **opt);
/* state for the flat range [lo, lo + n) only (m->grad_offset <= lo, lo + n <= table.n_local: trainable
 * parameters, which have gradients; n may be 0) */
PetscErrorCode fs_adamw_create_range(const struct fs_model *m, double beta1, double beta2, double eps,
                                     double weight_decay, int64_t lo, int64_t n, struct fs_adamw **opt);
PetscErrorCode fs_adamw_destroy(struct fs_adamw **opt);
/* L2 norm of this rank's gradients of m (the global norm without tensor parallelism: data-parallel replicas hold
 * the same reduced gradients; the trainer uses fs_model_grad_sum_squares, which also covers TP) */
double fs_grad_norm(const struct fs_model *m);
/* scales gradients so their norm is at most clip (clip <= 0: no clipping); returns the norm before clipping */
double fs_clip_grad(struct fs_model *m, double clip);
/* Megatron's clipping with a known global norm: the gradients of the table's elements [first, first + n)
 * (trainable ones) *= clip / (norm + 1e-6) when that is < 1
 * (clip <= 0 or a non-finite norm: nothing) */
void fs_clip_grad_range(struct fs_model *m, double norm, double clip, int64_t first, int64_t n);
/* one AdamW step at learning rate lr on the parameters in the state's range (from the gradients there) */
PetscErrorCode fs_adamw_step(struct fs_adamw *opt, struct fs_model *m, double lr);

#endif
