/* fs_timer.h -- wall-clock timers (monotonic clock), accumulating over start/stop pairs */
#ifndef FS_TIMER_H
#define FS_TIMER_H

struct fs_timer {
  double t0;      /* start of the running interval, seconds */
  double total;   /* accumulated seconds over stopped intervals */
  long n_calls;   /* completed intervals */
};

double fs_time_now(void);  /* seconds, monotonic */
void fs_timer_start(struct fs_timer *t);
double fs_timer_stop(struct fs_timer *t); /* returns the interval just stopped */
void fs_timer_reset(struct fs_timer *t);

#endif
