/* fs_infer_load.c -- options and loading of the inference model on one or several tensor-parallel ranks */
#include "fs_infer_load.h"
#include "fs_model_io.h"
#include "fs_opt.h"

PetscErrorCode fs_infer_layout_options(struct fs_infer_layout *l)
{
  PetscFunctionBegin;
  fs_opt_section("Parallelism (tensor-parallel ranks)");
  PetscCall(fs_opt_int("-tensor_model_parallel_size", 0, "tensor-parallel ranks: heads, FFN and vocabulary split "
                       "(0: the number of ranks, which it must equal)", &l->tp, NULL));
  PetscCall(fs_opt_int("-pipeline_model_parallel_size", 1, "pipeline stages (inference supports 1 only)", &l->pp,
                       NULL));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_infer_model_load(MPI_Comm comm, const struct fs_infer_layout *l, const char *load,
                                   struct fs_model **m)
{
  int size;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  int64_t tp = l->tp ? l->tp : size;
  FSCheck(l->pp == 1, comm, PETSC_ERR_SUP, "-pipeline_model_parallel_size %lld: inference runs the whole layer "
          "stack on every rank (tensor parallelism only); use -tensor_model_parallel_size", (long long)l->pp);
  FSCheck(tp == size, comm, PETSC_ERR_ARG_INCOMP, "-tensor_model_parallel_size %lld on %d ranks: inference runs one "
          "model replica split over all ranks (no data-parallel replicas); start %lld ranks", (long long)tp, size,
          (long long)tp);
  PetscCall(fs_model_create_from_checkpoint_tp(comm, size > 1 ? comm : MPI_COMM_NULL, load, &fs_ops_cpu, m));
  PetscCall(fs_model_lora_merge_in_place(m)); /* a LoRA checkpoint: W + (alpha/r) B A, on each rank's slices */
  fs_model_release_grads(*m); /* generation never runs backward */
  PetscFunctionReturn(PETSC_SUCCESS);
}
