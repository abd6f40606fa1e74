/* fs_trainer.h -- the pretraining loop: micro-batches and gradient accumulation to the global batch (with
 * Megatron's ramp-up), data parallelism over the communicator (gradient all-reduce), clipping, AdamW, the LR
 * schedule, validation, NaN/Inf detection, Megatron-style log lines, JSON-lines metrics and TensorBoard.
 * All state that a resume needs (iteration, consumed samples, optimizer, schedule position) lives in
 * struct fs_trainer so a checkpoint can save and restore it exactly. */
#ifndef FS_TRAINER_H
#define FS_TRAINER_H

#include <stdint.h>
#include <mpi.h>
#include "fs_error.h"
#include "fs_opt.h"
#include "fs_model.h"
#include "fs_optimizer.h"
#include "fs_dist_opt.h"
#include "fs_lr_schedule.h"
#include "fs_batch_schedule.h"
#include "fs_tensorboard.h"

/* a source of training samples: tokens (seq_length + 1) of global sample k.  get_masked (NULL = no mask) is used
 * instead of get when set: loss_mask (seq_length) has 1 for each target tokens[1 + j] that is trained and 0 for
 * one that is not (SFT prompts, padding); masked targets add nothing to the loss, which is normalized by the
 * unmasked count of each micro-batch (Megatron's sum(loss * mask) / sum(mask)). */
struct fs_sample_source {
  PetscErrorCode (*get)(void *ctx, int64_t k, int32_t *tokens);
  void *ctx;
  int64_t n_samples; /* samples available */
  PetscErrorCode (*get_masked)(void *ctx, int64_t k, int32_t *tokens, uint8_t *loss_mask);
  /* packed sequences (NULL = none): as get_masked, plus pos (seq_length), the position of each input token
   * tokens[j] inside its document (fs_model_set_positions); used instead of get_masked when set */
  PetscErrorCode (*get_packed)(void *ctx, int64_t k, int32_t *tokens, uint8_t *loss_mask, int32_t *pos);
};

enum fs_nan_policy { FS_NAN_STOP = 0, FS_NAN_SKIP = 1 };

struct fs_train_args {
  int64_t micro_batch_size, global_batch_size;
  int64_t train_iters, train_samples;         /* one of them; samples win when both are set */
  int64_t rampup_start, rampup_increment, rampup_samples;
  double lr, min_lr;
  enum fs_lr_decay lr_decay_style;
  int64_t lr_warmup_iters, lr_warmup_samples;
  double lr_warmup_fraction;
  int64_t lr_decay_iters, lr_decay_samples;
  double clip_grad, adam_beta1, adam_beta2, adam_eps, weight_decay;
  int64_t eval_interval, eval_iters, log_interval;
  int64_t seed;
  enum fs_nan_policy on_nan;
  char metrics_file[FS_OPT_STRLEN];   /* JSON lines, one per logged iteration and evaluation; "" = none */
  char tensorboard_dir[FS_OPT_STRLEN];
  /* checkpoints and stopping */
  char save[FS_OPT_STRLEN], load[FS_OPT_STRLEN]; /* directories; "" = none */
  int64_t save_interval, save_keep;
  PetscBool no_load_optim, no_load_rng, finetune;
  int64_t exit_interval;
  double exit_duration_in_mins;
  PetscBool use_distributed_optimizer; /* ZeRO-1 over the data-parallel ranks */
};

PetscErrorCode fs_train_args_from_options(struct fs_train_args *a);
/* total training samples (train_samples, or train_iters x global batch without ramp-up) */
int64_t fs_train_total_samples(const struct fs_train_args *a);
/* validation samples Megatron draws: (train_iters / eval_interval + 1) x eval_iters x global batch */
int64_t fs_train_valid_samples(const struct fs_train_args *a);

struct fs_trainer {
  MPI_Comm comm;            /* data-parallel communicator (the layout's dp_comm) */
  int dp_rank, dp_size;
  /* every rank of the layout (tensor/pipeline parallel too): checkpoints are written and read on it and the stop
   * decision is taken on it, so all ranks save together.  fs_trainer_create sets it to comm; set it to the
   * layout's world communicator right after create when tp or pp > 1 (borrowed). */
  MPI_Comm world;
  struct fs_train_args args;
  struct fs_model *model;   /* borrowed */
  struct fs_adamw *opt;      /* whole flat buffer, or this rank's shard of it under dist */
  struct fs_dist_opt *dist; /* the distributed optimizer's shards (-use_distributed_optimizer, dp > 1); else NULL */
  struct fs_lr_schedule lr;
  struct fs_batch_schedule batch;
  int64_t total_samples;
  int64_t iteration, consumed_train_samples, consumed_valid_samples;
  int64_t skipped_iters, nan_iters;
  double last_loss, last_grad_norm, last_lr, last_valid_loss;
  int32_t *tokens, *inputs, *targets; /* (mbs * (T+1)), (mbs * T) x2 */
  int32_t *positions;                 /* (mbs * T): packed positions of the loaded micro-batch */
  int packed;                         /* 1: the loaded micro-batch has positions */
  FILE *metrics;
  struct fs_tb_writer *tb;
  double flops_per_token;   /* model FLOPs per trained token (forward + backward) */
  int64_t last_saved_iteration;
  int exit_requested;       /* a signal, -exit_interval or -exit_duration_in_mins stopped the run (after saving) */
  double start_time;        /* fs_time_now() at create, for -exit_duration_in_mins */
  char tokenizer_json[512]; /* the tokenizer, saved as the checkpoint attribute "tokenizer" ("" = none) */
};

PetscErrorCode fs_trainer_create(MPI_Comm comm, struct fs_model *m, const struct fs_train_args *a,
                                 struct fs_trainer **t);
PetscErrorCode fs_trainer_destroy(struct fs_trainer **t);
/* one optimizer step over the next global batch from src */
PetscErrorCode fs_trainer_step(struct fs_trainer *t, struct fs_sample_source *src);
/* eval_iters global batches from src (validation), mean loss */
PetscErrorCode fs_trainer_evaluate(struct fs_trainer *t, struct fs_sample_source *src, double *loss);
/* trains until the schedule is done, validating every eval_interval iterations when valid is not NULL; saves every
 * -save_interval iterations and at the end; stops early (saving first, t->exit_requested = 1) on SIGTERM/SIGUSR1,
 * -exit_interval or -exit_duration_in_mins */
/* Megatron-style memory report (rank 0 logs; the maximum over all ranks of t->world): parameters, gradients,
 * optimizer state (measured: the bytes this rank allocated), estimated activations, and the peak resident set
 * (VmHWM).  fs_trainer_run logs it after its first iteration; callable any time (collective over t->comm). */
PetscErrorCode fs_trainer_memory_report(struct fs_trainer *t);
PetscErrorCode fs_trainer_run(struct fs_trainer *t, struct fs_sample_source *train, struct fs_sample_source *valid);

#endif
