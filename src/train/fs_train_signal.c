/* fs_train_signal.c -- stop requests by signal */
#include <signal.h>
#include <string.h>
#include "fs_train_signal.h"

static volatile sig_atomic_t g_signal;

static void on_signal(int sig) { g_signal = sig; }

void fs_train_signals_install(void)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);
}

int fs_train_signal_received(void) { return (int)g_signal; }
