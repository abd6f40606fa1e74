/* fs_lr_schedule.c -- warmup + decay */
#include <math.h>
#include "fs_lr_schedule.h"

double fs_lr_at(const struct fs_lr_schedule *s, int64_t n)
{
  if (s->warmup_steps > 0 && n <= s->warmup_steps) return s->max_lr * (double)n / (double)s->warmup_steps;
  if (s->style == FS_LR_CONSTANT) return s->max_lr;
  if (n > s->decay_steps) return s->min_lr;
  double span = (double)(s->decay_steps - s->warmup_steps);
  double ratio = span > 0 ? (double)(n - s->warmup_steps) / span : 1.0;
  double coeff = s->style == FS_LR_LINEAR ? 1.0 - ratio : 0.5 * (cos(M_PI * ratio) + 1.0);
  return s->min_lr + coeff * (s->max_lr - s->min_lr);
}
