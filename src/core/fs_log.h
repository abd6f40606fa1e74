/* fs_log.h -- rank-aware logging.  fs_log_info/warn print once (world rank 0) with a timestamp;
 * fs_log_rank prints on every rank, prefixed with "[rank]".  Output goes to stdout (info) or stderr (warn). */
#ifndef FS_LOG_H
#define FS_LOG_H

#include <stdarg.h>
#include <mpi.h>

enum fs_log_level { FS_LOG_ERROR = 0, FS_LOG_WARN = 1, FS_LOG_INFO = 2, FS_LOG_DEBUG = 3 };

void fs_log_init(MPI_Comm comm);            /* remembers the rank; called by fs_app_main */
void fs_log_set_level(enum fs_log_level level);
enum fs_log_level fs_log_get_level(void);
int fs_log_rank_of_world(void);
void fs_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fs_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fs_log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fs_log_rank(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
