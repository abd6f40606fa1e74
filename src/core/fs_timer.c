/* fs_timer.c -- wall-clock timers */
#include <time.h>
#include "fs_timer.h"

double fs_time_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
void fs_timer_start(struct fs_timer *t) { t->t0 = fs_time_now(); }
double fs_timer_stop(struct fs_timer *t)
{
  double dt = fs_time_now() - t->t0;
  t->total += dt;
  t->n_calls++;
  return dt;
}
void fs_timer_reset(struct fs_timer *t) { t->t0 = t->total = 0, t->n_calls = 0; }
