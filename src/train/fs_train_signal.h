/* fs_train_signal.h -- SIGTERM and SIGUSR1 (Slurm's --signal=USR1@120, a scheduler's preemption notice) ask the
 * trainer to finish the current iteration, save and exit 0.  The handler only sets a flag; the trainer checks it
 * between iterations and agrees on it across ranks. */
#ifndef FS_TRAIN_SIGNAL_H
#define FS_TRAIN_SIGNAL_H

void fs_train_signals_install(void);
int fs_train_signal_received(void); /* the signal number, 0 if none */

#endif
