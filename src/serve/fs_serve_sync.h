/* fs_serve_sync.h -- flagscale-serve on several ranks: "replicated scheduler, sharded math".  Every rank runs the
 * same engine over its tensor-parallel slice of the model.  Before each step rank 0's engine thread broadcasts ONE
 * message with the events since the last one (submissions with all their settings, cancellations, an engine
 * recycle, shutdown); every rank applies them in the same order and then steps, so the engines' states (queues,
 * caches, request ids, sampled tokens: every rank gets the full logits) stay identical.  Idle ranks wait for the
 * next message without spinning (MPI_Test and a short sleep). */
#ifndef FS_SERVE_SYNC_H
#define FS_SERVE_SYNC_H

#include <stddef.h>
#include <stdint.h>
#include <mpi.h>
#include "fs_engine.h"

enum fs_sync_event { FS_SYNC_SUBMIT = 1, FS_SYNC_CANCEL, FS_SYNC_RECYCLE, FS_SYNC_SHUTDOWN };

/* one message: events packed into bytes */
struct fs_sync_msg {
  char *buf;
  size_t n, cap;
  int failed; /* out of memory while packing */
};

void fs_sync_reset(struct fs_sync_msg *m);
void fs_sync_free(struct fs_sync_msg *m);
void fs_sync_put_submit(struct fs_sync_msg *m, const struct fs_request *r);
void fs_sync_put_cancel(struct fs_sync_msg *m, int64_t id);
void fs_sync_put_event(struct fs_sync_msg *m, enum fs_sync_event ev); /* RECYCLE, SHUTDOWN */
/* rank 0 sends m, the others receive it into m; idle: receivers poll with sleeps (nothing ran last step) */
PetscErrorCode fs_sync_bcast(MPI_Comm comm, struct fs_sync_msg *m, int idle);

/* reading a received message: each call returns the next event (0 at the end); SUBMIT fills r (pointers into the
 * message and into `strings`, valid until the next call), CANCEL fills *id */
struct fs_sync_reader {
  const struct fs_sync_msg *m;
  size_t off;
  const char **strings; /* stop strings of the last SUBMIT */
  int cap_strings;
};
PetscErrorCode fs_sync_next(struct fs_sync_reader *rd, enum fs_sync_event *ev, struct fs_request *r, int64_t *id);
void fs_sync_reader_free(struct fs_sync_reader *rd);

/* ranks other than 0: the engine loop until rank 0's shutdown (results are released as soon as they finish) */
PetscErrorCode fs_serve_follow(MPI_Comm comm, struct fs_model *m, const struct fs_tokenizer *tok,
                               const struct fs_engine_opts *o);

#endif
