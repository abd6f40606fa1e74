/* fs_engine_options.c -- the engine options flagscale-infer and flagscale-serve share */
#include "fs_engine.h"
#include "fs_opt.h"

PetscErrorCode fs_engine_options(struct fs_engine_opts *o)
{
  int64_t v;
  double r;

  PetscFunctionBegin;
  fs_engine_opts_default(o);
  fs_opt_section("Engine");
  PetscCall(fs_opt_int("-max_batch_size", o->max_batch_size, "sequences decoded together at most", &v, NULL));
  o->max_batch_size = (int)v;
  PetscCall(fs_opt_int("-max_step_tokens", o->max_step_tokens,
                       "tokens in one forward at most (prompts are prefilled in chunks)", &o->max_step_tokens, NULL));
  PetscCall(fs_opt_real("-kv_cache_mb", (double)o->kv_cache_bytes / 1048576.0, "memory for the paged KV cache, MiB", &r,
                        NULL));
  o->kv_cache_bytes = (size_t)(r * 1048576.0);
  PetscCall(fs_opt_int("-kv_block_size", o->block_size, "tokens per KV cache block", &v, NULL));
  o->block_size = (int)v;
  PetscFunctionReturn(PETSC_SUCCESS);
}
