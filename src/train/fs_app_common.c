/* fs_app_common.c -- options and setup the training apps share (fs_app_common.h) */
#include "fs_app_common.h"
#include "fs_log.h"
#include "fs_opt.h"

PetscErrorCode fs_parallel_options(struct fs_parallel_opts *o)
{
  PetscFunctionBegin;
  fs_opt_section("Parallelism and precision");
  PetscCall(fs_opt_int("-tensor_model_parallel_size", 1, "tensor-parallel ranks (Megatron: heads, FFN and vocabulary split; keep within a node)", &o->tp, NULL));
  PetscCall(fs_opt_int("-pipeline_model_parallel_size", 1, "pipeline stages (layers split evenly, 1F1B schedule; must divide -num_layers)", &o->pp, NULL));
  PetscCall(fs_opt_bool("-sequence_parallel", PETSC_FALSE, "sequence parallelism (needs tensor parallelism)", &o->sp, NULL));
  PetscCall(fs_opt_bool("-bf16", PETSC_FALSE, "bf16 mixed precision (GPU backend; the CPU backend trains in fp32)", &o->bf16, NULL));
  PetscCall(fs_opt_bool("-fp16", PETSC_FALSE, "fp16 mixed precision with dynamic loss scaling (GPU backend)", &o->fp16, NULL));
  PetscCall(fs_opt_real("-initial_loss_scale", 4294967296.0, "fp16: initial loss scale", &o->initial_loss_scale, NULL));
  PetscCall(fs_opt_real("-min_loss_scale", 1.0, "fp16: smallest loss scale", &o->min_loss_scale, NULL));
  fs_opt_section("System");
  PetscCall(fs_opt_enum("-device", "cpu", 0, "compute device (the CUDA backend is not wired into training yet)",
                        &o->device, NULL));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_parallel_setup(MPI_Comm comm, const struct fs_parallel_opts *o, struct fs_model_config *cfg,
                                 struct fs_layout **layout)
{
  PetscFunctionBegin;
  FSCheck(o->pp >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "-pipeline_model_parallel_size must be >= 1 (got %lld)",
          (long long)o->pp);
  FSCheck(o->tp >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "-tensor_model_parallel_size must be >= 1 (got %lld)",
          (long long)o->tp);
  if (o->sp && o->tp == 1) fs_log_warn("-sequence_parallel needs -tensor_model_parallel_size > 1: ignored");
  cfg->sequence_parallel = o->sp && o->tp > 1;
  FSCheck(!o->bf16 && !o->fp16, comm, PETSC_ERR_SUP,
          "-bf16/-fp16 need the GPU backend, which training cannot use yet; the CPU backend trains in fp32: drop the "
          "option");
  PetscCall(fs_layout_create(comm, (int)o->tp, (int)o->pp, layout));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_app_model_create(const struct fs_model_config *cfg, const struct fs_layout *layout,
                                   struct fs_model **m)
{
  PetscFunctionBegin;
  FSCheck(cfg->num_layers % layout->pp == 0, layout->world, PETSC_ERR_ARG_INCOMP,
          "-pipeline_model_parallel_size %d must divide -num_layers %d: every stage holds the same number of layers",
          layout->pp, cfg->num_layers);
  PetscCall(fs_model_create_pp(cfg, &fs_ops_cpu, layout->tp_comm, layout->pp_comm, m));
  fs_log_info("parameters: %lld (%lld with the padded vocabulary)",
              (long long)((*m)->table.n_global - (int64_t)(cfg->padded_vocab_size - cfg->vocab_size) *
                                                   cfg->hidden_size * (cfg->untie_embeddings_and_output_weights ? 2 : 1)),
              (long long)(*m)->table.n_global);
  PetscFunctionReturn(PETSC_SUCCESS);
}
