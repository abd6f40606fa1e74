/* fs_lr_schedule.h -- Megatron's learning-rate schedule (OptimizerParamScheduler), counted in samples:
 * warmup from 0 to lr over warmup_steps, then constant / linear / cosine decay to min_lr at decay_steps, min_lr
 * after.  Megatron advances the count after each optimizer step, so iteration k (1-based) uses the lr at
 * (k-1) x global batch samples -- the first iteration of a warmup has lr 0.  Kept here so runs match. */
#ifndef FS_LR_SCHEDULE_H
#define FS_LR_SCHEDULE_H

#include <stdint.h>

enum fs_lr_decay { FS_LR_CONSTANT = 0, FS_LR_LINEAR = 1, FS_LR_COSINE = 2 };

struct fs_lr_schedule {
  double max_lr, min_lr;
  int64_t warmup_steps; /* samples */
  int64_t decay_steps;  /* samples */
  enum fs_lr_decay style;
};

double fs_lr_at(const struct fs_lr_schedule *s, int64_t num_steps);

#endif
