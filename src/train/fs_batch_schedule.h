/* fs_batch_schedule.h -- global batch size over training, with Megatron's ramp-up
 * (-rampup_batch_size start increment samples): the global batch grows from start by increment every
 * samples / ((final - start) / increment) consumed samples and is final after `samples`. */
#ifndef FS_BATCH_SCHEDULE_H
#define FS_BATCH_SCHEDULE_H

#include <stdint.h>
#include "fs_error.h"

struct fs_batch_schedule {
  int64_t final_gbs;     /* -global_batch_size */
  int64_t micro_x_dp;    /* micro_batch_size x data-parallel size: every global batch is a multiple of it */
  int64_t start, increment, ramp_samples; /* ramp-up; ramp_samples 0 = none */
};

PetscErrorCode fs_batch_schedule_check(const struct fs_batch_schedule *s);
/* global batch size once `consumed` samples have been trained on */
int64_t fs_batch_schedule_gbs(const struct fs_batch_schedule *s, int64_t consumed);

#endif
