/* fs_serve_sync.c -- the event messages of multi-rank serving (fs_serve_sync.h) and the follower ranks' loop.
 * Format: a sequence of events, each an int32 kind then its fields in native byte order (every rank runs the same
 * build on the same kind of machine); strings as int32 length + bytes + NUL, padded so that every field stays
 * 4-byte aligned (token ids are read in place). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fs_log.h"
#include "fs_serve_sync.h"

void fs_sync_reset(struct fs_sync_msg *m) { m->n = 0, m->failed = 0; }

void fs_sync_free(struct fs_sync_msg *m)
{
  free(m->buf);
  *m = (struct fs_sync_msg){0};
}

static void put(struct fs_sync_msg *m, const void *p, size_t n)
{
  if (m->n + n > m->cap) {
    size_t cap = 2 * (m->n + n) + 256;
    char *t = realloc(m->buf, cap);
    if (!t) {
      m->failed = 1;
      return;
    }
    m->buf = t, m->cap = cap;
  }
  if (n) memcpy(m->buf + m->n, p, n);
  m->n += n;
}

static void put_i32(struct fs_sync_msg *m, int32_t v) { put(m, &v, sizeof v); }
static void put_i64(struct fs_sync_msg *m, int64_t v) { put(m, &v, sizeof v); }

void fs_sync_put_event(struct fs_sync_msg *m, enum fs_sync_event ev) { put_i32(m, (int32_t)ev); }

void fs_sync_put_cancel(struct fs_sync_msg *m, int64_t id)
{
  put_i32(m, FS_SYNC_CANCEL);
  put_i64(m, id);
}

void fs_sync_put_submit(struct fs_sync_msg *m, const struct fs_request *r)
{
  put_i32(m, FS_SYNC_SUBMIT);
  put_i64(m, r->n_prompt);
  put(m, r->prompt, (size_t)r->n_prompt * sizeof(int32_t));
  put_i64(m, r->max_new_tokens);
  put(m, &r->sampling, sizeof r->sampling);
  put_i32(m, r->n_stop_ids);
  put(m, r->stop_ids, (size_t)r->n_stop_ids * sizeof(int32_t));
  put_i32(m, r->n_stop_strings);
  for (int i = 0; i < r->n_stop_strings; i++) {
    int32_t len = (int32_t)strlen(r->stop_strings[i]);
    put_i32(m, len);
    put(m, r->stop_strings[i], (size_t)len + 1);
    static const char zero[4];
    put(m, zero, (4 - m->n % 4) % 4); /* what follows stays 4-byte aligned */
  }
}

static void sleep_ms(int ms)
{
  struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&t, NULL);
}

PetscErrorCode fs_sync_bcast(MPI_Comm comm, struct fs_sync_msg *m, int idle)
{
  int rank, flag = 0;
  int64_t n = (int64_t)m->n;
  MPI_Request req;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  /* the same (non-blocking) collective on every rank; receivers that had nothing to do sleep between tests */
  PetscCallMPI(MPI_Ibcast(&n, 1, MPI_INT64_T, 0, comm, &req));
  if (rank == 0 || !idle) PetscCallMPI(MPI_Wait(&req, MPI_STATUS_IGNORE));
  else
    for (;;) {
      PetscCallMPI(MPI_Test(&req, &flag, MPI_STATUS_IGNORE));
      if (flag) break;
      sleep_ms(2);
    }
  if (rank) {
    fs_sync_reset(m);
    if ((size_t)n > m->cap) {
      char *t = realloc(m->buf, (size_t)n);
      FSCheck(t, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory for a message of %lld bytes", (long long)n);
      m->buf = t, m->cap = (size_t)n;
    }
    m->n = (size_t)n;
  }
  for (int64_t off = 0; off < n; off += 1 << 30) {
    int piece = (int)(n - off < (1 << 30) ? n - off : (1 << 30));
    PetscCallMPI(MPI_Bcast(m->buf + off, piece, MPI_BYTE, 0, comm));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode get(struct fs_sync_reader *rd, void *p, size_t n)
{
  PetscFunctionBegin;
  FSCheck(rd->off + n <= rd->m->n, PETSC_COMM_SELF, PETSC_ERR_PLIB, "truncated serving message");
  if (n) memcpy(p, rd->m->buf + rd->off, n);
  rd->off += n;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* a pointer to the next n bytes, which must be there */
static PetscErrorCode view(struct fs_sync_reader *rd, const void **p, size_t n)
{
  PetscFunctionBegin;
  FSCheck(rd->off + n <= rd->m->n, PETSC_COMM_SELF, PETSC_ERR_PLIB, "truncated serving message");
  *p = rd->m->buf + rd->off;
  rd->off += n;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_sync_next(struct fs_sync_reader *rd, enum fs_sync_event *ev, struct fs_request *r, int64_t *id)
{
  int32_t kind, k;
  const void *p = NULL;

  PetscFunctionBegin;
  *ev = 0;
  if (rd->off == rd->m->n) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(get(rd, &kind, sizeof kind));
  *ev = (enum fs_sync_event)kind;
  if (kind == FS_SYNC_CANCEL) PetscCall(get(rd, id, sizeof *id));
  if (kind != FS_SYNC_SUBMIT) PetscFunctionReturn(PETSC_SUCCESS);
  *r = (struct fs_request){0};
  PetscCall(get(rd, &r->n_prompt, sizeof r->n_prompt));
  FSCheck(r->n_prompt >= 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "bad serving message");
  PetscCall(view(rd, &p, (size_t)r->n_prompt * sizeof(int32_t)));
  r->prompt = p; /* aligned: the buffer is malloc'ed and every offset is a multiple of 4 */
  PetscCall(get(rd, &r->max_new_tokens, sizeof r->max_new_tokens));
  PetscCall(get(rd, &r->sampling, sizeof r->sampling));
  PetscCall(get(rd, &r->n_stop_ids, sizeof r->n_stop_ids));
  FSCheck(r->n_stop_ids >= 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "bad serving message");
  PetscCall(view(rd, &p, (size_t)r->n_stop_ids * sizeof(int32_t)));
  r->stop_ids = p;
  PetscCall(get(rd, &k, sizeof k));
  FSCheck(k >= 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "bad serving message");
  if (k > rd->cap_strings) {
    const char **t = realloc(rd->strings, (size_t)k * sizeof *t);
    FSCheck(t, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory for %d stop strings", k);
    rd->strings = t, rd->cap_strings = k;
  }
  for (int i = 0; i < k; i++) {
    int32_t len;
    PetscCall(get(rd, &len, sizeof len));
    FSCheck(len >= 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "bad serving message");
    PetscCall(view(rd, &p, (size_t)len + 1));
    rd->strings[i] = p;
    PetscCall(view(rd, &p, (4 - rd->off % 4) % 4));
  }
  r->stop_strings = rd->strings, r->n_stop_strings = k;
  PetscFunctionReturn(PETSC_SUCCESS);
}

void fs_sync_reader_free(struct fs_sync_reader *rd)
{
  free(rd->strings);
  rd->strings = NULL, rd->cap_strings = 0;
}
