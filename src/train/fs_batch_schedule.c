/* fs_batch_schedule.c -- Megatron's RampupBatchsizeNumMicroBatches */
#include "fs_batch_schedule.h"

PetscErrorCode fs_batch_schedule_check(const struct fs_batch_schedule *s)
{
  PetscFunctionBegin;
  FSCheck(s->final_gbs > 0 && s->micro_x_dp > 0 && s->final_gbs % s->micro_x_dp == 0, PETSC_COMM_SELF,
          PETSC_ERR_ARG_INCOMP,
          "-global_batch_size %lld must be a multiple of -micro_batch_size x data-parallel size (%lld)",
          (long long)s->final_gbs, (long long)s->micro_x_dp);
  if (s->ramp_samples > 0) {
    FSCheck(s->start > 0 && s->increment > 0 && s->start <= s->final_gbs &&
              (s->final_gbs - s->start) % s->increment == 0,
            PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP,
            "-rampup_batch_size %lld,%lld,%lld: the difference between the global batch size (%lld) and the start "
            "must be a positive multiple of the increment",
            (long long)s->start, (long long)s->increment, (long long)s->ramp_samples, (long long)s->final_gbs);
    FSCheck(s->start % s->micro_x_dp == 0 && s->increment % s->micro_x_dp == 0, PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP,
            "-rampup_batch_size start and increment must be multiples of micro batch x data-parallel size (%lld)",
            (long long)s->micro_x_dp);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

int64_t fs_batch_schedule_gbs(const struct fs_batch_schedule *s, int64_t consumed)
{
  if (s->ramp_samples <= 0 || consumed > s->ramp_samples || s->start == s->final_gbs) return s->final_gbs;
  int64_t steps = (s->final_gbs - s->start) / s->increment;
  double per_increment = (double)s->ramp_samples / (double)steps;
  int64_t gbs = s->start + (int64_t)((double)consumed / per_increment) * s->increment;
  return gbs < s->final_gbs ? gbs : s->final_gbs;
}
