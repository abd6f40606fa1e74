/* fs_model_options.c -- options of how the layer sequence runs: activation recomputation (Megatron's names and
 * meaning).  They trade compute for memory and never change the gradients. */
#include "fs_model_config.h"
#include "fs_opt.h"

PetscErrorCode fs_model_recompute_options(struct fs_model_config *c)
{
  int gran, method;
  int64_t n;
  PetscBool method_set;

  PetscFunctionBegin;
  fs_opt_section("Activation recomputation");
  PetscCall(fs_opt_enum("-recompute_granularity", "none|full|selective", (int)c->recompute_granularity,
                        "full: keep only each layer's input, run its forward again in backward; selective: run the "
                        "attention core again (no attention output kept)",
                        &gran, NULL));
  PetscCall(fs_opt_enum("-recompute_method", "uniform|block", (int)c->recompute_method,
                        "full recomputation: uniform = every layer, in groups of -recompute_num_layers; block = only "
                        "the first -recompute_num_layers layers",
                        &method, &method_set));
  PetscCall(fs_opt_int("-recompute_num_layers", c->recompute_num_layers > 0 ? c->recompute_num_layers : 1,
                       "layers per group (uniform) or recomputed layers (block)", &n, NULL));
  FSCheck(n >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "-recompute_num_layers must be >= 1 (got %lld)",
          (long long)n);
  FSCheck(!method_set || gran == FS_RECOMPUTE_FULL, PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP,
          "-recompute_method applies to -recompute_granularity full only (Megatron's rule): drop it or add "
          "-recompute_granularity full");
  c->recompute_granularity = (enum fs_recompute)gran;
  c->recompute_method = (enum fs_recompute_method)method;
  c->recompute_num_layers = (int)n;
  PetscFunctionReturn(PETSC_SUCCESS);
}
