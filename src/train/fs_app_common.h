/* fs_app_common.h -- what the training apps (flagscale-pretrain, flagscale-finetune) share: the parallelism and
 * precision options with their checks, the layout, and the model built for it. */
#ifndef FS_APP_COMMON_H
#define FS_APP_COMMON_H

#include <mpi.h>
#include "fs_error.h"
#include "fs_layout.h"
#include "fs_model.h"

struct fs_parallel_opts {
  int64_t tp, pp;
  PetscBool sp, bf16, fp16;
  double initial_loss_scale, min_loss_scale;
  int device;
};

/* reads -tensor_model_parallel_size, -pipeline_model_parallel_size, -sequence_parallel, -bf16, -fp16,
 * -initial_loss_scale, -min_loss_scale (section "Parallelism and precision") and -device (section "System") */
PetscErrorCode fs_parallel_options(struct fs_parallel_opts *o);
/* after fs_opt_finish: checks the options (clear errors on every rank), sets cfg->sequence_parallel, builds the
 * layout of comm */
PetscErrorCode fs_parallel_setup(MPI_Comm comm, const struct fs_parallel_opts *o, struct fs_model_config *cfg,
                                 struct fs_layout **layout);
/* the model of a finalized cfg on this rank of the layout (its tensor-parallel slice of its pipeline stage's
 * layers), parameters not initialized; logs the parameter count */
PetscErrorCode fs_app_model_create(const struct fs_model_config *cfg, const struct fs_layout *layout,
                                   struct fs_model **m);

#endif
