/* fs_log.c -- rank-aware logging */
#include <stdio.h>
#include <time.h>
#include "fs_log.h"

static int g_rank = 0;
static enum fs_log_level g_level = FS_LOG_INFO;

void fs_log_init(MPI_Comm comm)
{
  int init = 0;
  MPI_Initialized(&init);
  if (init) MPI_Comm_rank(comm, &g_rank);
}
void fs_log_set_level(enum fs_log_level level) { g_level = level; }
enum fs_log_level fs_log_get_level(void) { return g_level; }
int fs_log_rank_of_world(void) { return g_rank; }

static void emit(FILE *f, const char *tag, int with_rank, const char *fmt, va_list ap)
{
  char stamp[32];
  time_t t = time(NULL);
  struct tm tm;
  localtime_r(&t, &tm);
  strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
  if (with_rank) fprintf(f, "[%s] [%d] %s", stamp, g_rank, tag);
  else fprintf(f, "[%s] %s", stamp, tag);
  vfprintf(f, fmt, ap);
  fputc('\n', f);
  fflush(f);
}

#define FS_LOG_BODY(level, f, tag, with_rank, only_root) \
  do { \
    if (g_level < (level) || ((only_root) && g_rank != 0)) return; \
    va_list ap; \
    va_start(ap, fmt); \
    emit((f), (tag), (with_rank), fmt, ap); \
    va_end(ap); \
  } while (0)

void fs_log_info(const char *fmt, ...) { FS_LOG_BODY(FS_LOG_INFO, stdout, "", 0, 1); }
void fs_log_warn(const char *fmt, ...) { FS_LOG_BODY(FS_LOG_WARN, stderr, "WARNING: ", 0, 1); }
void fs_log_debug(const char *fmt, ...) { FS_LOG_BODY(FS_LOG_DEBUG, stdout, "debug: ", 1, 0); }
void fs_log_rank(const char *fmt, ...) { FS_LOG_BODY(FS_LOG_INFO, stdout, "", 1, 0); }
