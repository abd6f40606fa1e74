/* fs_trainer_args.c -- training options (Megatron's names) */
#include <string.h>
#include "fs_trainer.h"

PetscErrorCode fs_train_args_from_options(struct fs_train_args *a)
{
  int idx;
  char **ramp = NULL;
  int n_ramp = 0;

  PetscFunctionBegin;
  memset(a, 0, sizeof *a);
  fs_opt_section("Training");
  PetscCall(fs_opt_int("-micro_batch_size", 1, "samples per micro-batch on each data-parallel rank", &a->micro_batch_size, NULL));
  PetscCall(fs_opt_int("-global_batch_size", 0, "samples per optimizer step, all ranks (0: micro batch x data-parallel size)",
                       &a->global_batch_size, NULL));
  PetscCall(fs_opt_int("-train_iters", 0, "optimizer steps to train (or -train_samples)", &a->train_iters, NULL));
  PetscCall(fs_opt_int("-train_samples", 0, "samples to train on (needed with -rampup_batch_size)", &a->train_samples, NULL));
  PetscCall(fs_opt_string_list("-rampup_batch_size", NULL, "batch ramp-up: start,increment,samples (Aquila: 32,32,2000000)",
                               &ramp, &n_ramp, NULL));
  if (n_ramp) {
    int64_t v[3];
    FSCheck(n_ramp == 3, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "-rampup_batch_size needs start,increment,samples");
    for (int i = 0; i < 3; i++) {
      char *end;
      v[i] = strtoll(ramp[i], &end, 10);
      FSCheck(*ramp[i] && !*end && v[i] > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
              "-rampup_batch_size: '%s' is not a positive integer", ramp[i]);
    }
    a->rampup_start = v[0], a->rampup_increment = v[1], a->rampup_samples = v[2];
  }
  fs_opt_free_list(&ramp, n_ramp);
  PetscCall(fs_opt_int("-seed", 1234, "random seed: initialization and data order", &a->seed, NULL));
  PetscCall(fs_opt_enum("-on_nan", "stop|skip", 0, "what to do when the loss or gradient is NaN/Inf", &idx, NULL));
  a->on_nan = (enum fs_nan_policy)idx;

  fs_opt_section("Learning rate");
  PetscCall(fs_opt_real("-lr", 1e-4, "peak learning rate", &a->lr, NULL));
  PetscCall(fs_opt_real("-min_lr", 0.0, "learning rate at the end of the decay", &a->min_lr, NULL));
  PetscCall(fs_opt_enum("-lr_decay_style", "constant|linear|cosine", 1, "decay", &idx, NULL));
  a->lr_decay_style = (enum fs_lr_decay)idx;
  PetscCall(fs_opt_int("-lr_warmup_iters", 0, "warmup in iterations", &a->lr_warmup_iters, NULL));
  PetscCall(fs_opt_int("-lr_warmup_samples", 0, "warmup in samples", &a->lr_warmup_samples, NULL));
  PetscCall(fs_opt_real("-lr_warmup_fraction", 0.0, "warmup as a fraction of the decay", &a->lr_warmup_fraction, NULL));
  PetscCall(fs_opt_int("-lr_decay_iters", 0, "decay length in iterations (0: all of training)", &a->lr_decay_iters, NULL));
  PetscCall(fs_opt_int("-lr_decay_samples", 0, "decay length in samples (0: all of training)", &a->lr_decay_samples, NULL));

  fs_opt_section("Optimizer");
  PetscCall(fs_opt_bool("-use_distributed_optimizer", PETSC_FALSE,
                        "shard the optimizer state over the data-parallel ranks (ZeRO-1)", &a->use_distributed_optimizer,
                        NULL));
  PetscCall(fs_opt_real("-clip_grad", 1.0, "clip the global gradient norm to this (0: off)", &a->clip_grad, NULL));
  PetscCall(fs_opt_real("-adam_beta1", 0.9, "AdamW beta1", &a->adam_beta1, NULL));
  PetscCall(fs_opt_real("-adam_beta2", 0.999, "AdamW beta2", &a->adam_beta2, NULL));
  PetscCall(fs_opt_real("-adam_eps", 1e-8, "AdamW epsilon", &a->adam_eps, NULL));
  PetscCall(fs_opt_real("-weight_decay", 0.01, "decoupled weight decay (matrices only)", &a->weight_decay, NULL));

  fs_opt_section("Logging and validation");
  PetscCall(fs_opt_int("-log_interval", 10, "iterations between log lines", &a->log_interval, NULL));
  PetscCall(fs_opt_int("-eval_interval", 1000, "iterations between validations (0: none)", &a->eval_interval, NULL));
  PetscCall(fs_opt_int("-eval_iters", 10, "global batches per validation", &a->eval_iters, NULL));
  PetscCall(fs_opt_string("-metrics_file", "", "JSON-lines metrics file (one line per log interval and validation)",
                          a->metrics_file, NULL));
  PetscCall(fs_opt_string("-tensorboard_dir", "", "write TensorBoard event files here", a->tensorboard_dir, NULL));

  fs_opt_section("Checkpoints and stopping");
  PetscCall(fs_opt_string("-save", "", "checkpoint directory to write (DIR/iter_NNNNNNN.h5 + latest_checkpointed_iteration.txt)",
                          a->save, NULL));
  PetscCall(fs_opt_int("-save_interval", 0, "iterations between checkpoints (0: only at the end and on a stop signal)",
                       &a->save_interval, NULL));
  PetscCall(fs_opt_int("-save_keep", 0, "keep only the newest N checkpoints (0: all)", &a->save_keep, NULL));
  PetscCall(fs_opt_string("-load", "", "checkpoint directory to resume from (its latest checkpoint)", a->load, NULL));
  PetscCall(fs_opt_bool("-no_load_optim", PETSC_FALSE, "do not load the optimizer state", &a->no_load_optim, NULL));
  PetscCall(fs_opt_bool("-no_load_rng", PETSC_FALSE,
                        "do not load RNG state (accepted for Megatron scripts: training here has no RNG state, data order "
                        "follows the consumed samples)", &a->no_load_rng, NULL));
  PetscCall(fs_opt_bool("-finetune", PETSC_FALSE, "load weights only: iteration and consumed samples restart at 0",
                        &a->finetune, NULL));
  PetscCall(fs_opt_int("-exit_interval", 0, "save and exit when the iteration is a multiple of this", &a->exit_interval,
                       NULL));
  PetscCall(fs_opt_real("-exit_duration_in_mins", 0, "save and exit after this many minutes of training",
                        &a->exit_duration_in_mins, NULL));
  PetscFunctionReturn(PETSC_SUCCESS);
}

int64_t fs_train_total_samples(const struct fs_train_args *a)
{
  return a->train_samples > 0 ? a->train_samples : a->train_iters * a->global_batch_size;
}

int64_t fs_train_valid_samples(const struct fs_train_args *a)
{
  if (a->eval_interval <= 0 || a->eval_iters <= 0) return 0;
  int64_t iters = a->train_iters > 0 ? a->train_iters : fs_train_total_samples(a) / a->global_batch_size;
  return (iters / a->eval_interval + 1) * a->eval_iters * a->global_batch_size;
}
