/* fs_optimizer.h -- AdamW over the model's flat buffers (fp32 master weights = the parameters on CPU), with
 * weight decay only on the tensors the parameter table marks (matrices, not norms or biases), global gradient
 * norm and clipping.  The state (exp_avg, exp_avg_sq, step) has the parameter layout, so checkpoints and the
 * distributed optimizer can address it by the table. */
#ifndef FS_OPTIMIZER_H
#define FS_OPTIMIZER_H

#include <stdint.h>
#include "fs_error.h"
#include "fs_model.h"

struct fs_adamw {
  double beta1, beta2, eps, weight_decay;
  float *exp_avg, *exp_avg_sq; /* (table.n_local) */
  int64_t step;                /* optimizer steps taken */
};

PetscErrorCode fs_adamw_create(const struct fs_model *m, double beta1, double beta2, double eps, double weight_decay,
                               struct fs_adamw **opt);
PetscErrorCode fs_adamw_destroy(struct fs_adamw **opt);
/* L2 norm of all gradients of m (the global norm; data-parallel replicas hold the same reduced gradients) */
double fs_grad_norm(const struct fs_model *m);
/* scales gradients so their norm is at most clip (clip <= 0: no clipping); returns the norm before clipping */
double fs_clip_grad(struct fs_model *m, double clip);
/* one AdamW step at learning rate lr */
PetscErrorCode fs_adamw_step(struct fs_adamw *opt, struct fs_model *m, double lr);

#endif
