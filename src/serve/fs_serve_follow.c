/* fs_serve_follow.c -- the engine loop of the ranks other than 0 (fs_serve_sync.h): receive rank 0's events,
 * apply them, step; results are released as soon as they finish (rank 0 answers the clients). */
#include <stdlib.h>
#include "fs_serve_sync.h"

struct follower {
  struct fs_engine *e;
  int64_t *live; /* (n_live) ids submitted and not yet released */
  int64_t n_live, cap_live;
};

static PetscErrorCode apply(struct follower *f, const struct fs_sync_msg *msg, struct fs_sync_reader *rd,
                            struct fs_model *m, const struct fs_tokenizer *tok, const struct fs_engine_opts *o,
                            int *shutdown)
{
  PetscFunctionBegin;
  rd->m = msg, rd->off = 0;
  for (;;) {
    enum fs_sync_event ev;
    struct fs_request r;
    int64_t id;
    PetscCall(fs_sync_next(rd, &ev, &r, &id));
    if (!ev) break;
    switch (ev) {
    case FS_SYNC_SHUTDOWN: *shutdown = 1; break;
    case FS_SYNC_CANCEL: /* rank 0 cancels running requests only; a released one has finished here too */
      for (int64_t k = 0; k < f->n_live; k++)
        if (f->live[k] == id) PetscCall(fs_engine_cancel(f->e, id));
      break;
    case FS_SYNC_RECYCLE:
      PetscCall(fs_engine_destroy(&f->e));
      PetscCall(fs_engine_create(m, tok, o, &f->e));
      f->n_live = 0;
      break;
    case FS_SYNC_SUBMIT:
      PetscCall(fs_engine_submit(f->e, &r, &id));
      if (f->n_live == f->cap_live) {
        int64_t cap = 2 * f->cap_live + 64, *t = realloc(f->live, (size_t)cap * sizeof *t);
        FSCheck(t, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory for the request table");
        f->live = t, f->cap_live = cap;
      }
      f->live[f->n_live++] = id;
      break;
    default: SETERRQ(PETSC_COMM_SELF, PETSC_ERR_PLIB, "unknown serving event %d", (int)ev);
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* frees the results of finished requests */
static PetscErrorCode release_finished(struct follower *f)
{
  PetscFunctionBegin;
  for (int64_t k = 0; k < f->n_live;)
    if (fs_engine_result(f->e, f->live[k])) {
      PetscCall(fs_engine_release(f->e, f->live[k]));
      f->live[k] = f->live[--f->n_live];
    } else k++;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_serve_follow(MPI_Comm comm, struct fs_model *m, const struct fs_tokenizer *tok,
                               const struct fs_engine_opts *o)
{
  struct follower f = {0};
  struct fs_sync_msg msg = {0};
  struct fs_sync_reader rd = {0};
  int busy = 0, shutdown = 0;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscCall(fs_engine_create(m, tok, o, &f.e));
  while (!(ierr = fs_sync_bcast(comm, &msg, !busy))) {
    if ((ierr = apply(&f, &msg, &rd, m, tok, o, &shutdown)) || shutdown) break;
    /* an error here ends this rank and so the job (fs_app_main aborts): the engines could not agree any more */
    if ((ierr = fs_engine_step(f.e, &busy)) || (ierr = release_finished(&f))) break;
  }
  fs_sync_free(&msg);
  fs_sync_reader_free(&rd);
  free(f.live);
  PetscCall(fs_engine_destroy(&f.e));
  PetscCall(ierr);
  PetscFunctionReturn(PETSC_SUCCESS);
}
