/* fs_ckpt.h -- checkpoint I/O over parallel HDF5: named GLOBAL tensors, each rank writing / reading the
 * hyperslab it owns.  Knows nothing of models or optimizers (DESIGN.md sections 2 and 4); the schema is in
 * doc/checkpoint-format.md.
 *
 * Every function is collective over the communicator given at create/open (all ranks call it, in the same
 * order, with the same name / dtype / shape; start and count may differ per rank and count may be 0).  An error
 * is returned on ALL ranks with the same message (naming the file and tensor), so callers never hang.
 *
 * Writer:  fs_ckpt_create -> fs_ckpt_set_attr_* / fs_ckpt_write ... -> fs_ckpt_finish   (or fs_ckpt_abort)
 *          The file is written as FINAL.tmp and renamed to FINAL only when complete and fsynced: a file under
 *          the final name is always complete.
 * Reader:  fs_ckpt_open -> fs_ckpt_get_attr_* / fs_ckpt_has / fs_ckpt_shape / fs_ckpt_read ... -> fs_ckpt_close
 * Directory (Megatron's layout): DIR/iter_%07d.h5 and DIR/latest_checkpointed_iteration.txt. */
#ifndef FS_CKPT_H
#define FS_CKPT_H

#include <stddef.h>
#include <stdint.h>
#include <mpi.h>
#include "fs_error.h"
#include "fs_dtype.h"

#define FS_CKPT_FORMAT_NAME "flagscale-checkpoint"
#define FS_CKPT_FORMAT_VERSION 1
#define FS_CKPT_MAX_NDIM 2
#define FS_CKPT_TRACKER "latest_checkpointed_iteration.txt"

struct fs_ckpt_writer;
struct fs_ckpt_reader;

/* ---- writer */
/* Creates final_path.tmp (truncating a stale one) and writes the root attributes format="flagscale-checkpoint"
 * and format_version=1. */
PetscErrorCode fs_ckpt_create(MPI_Comm comm, const char *final_path, struct fs_ckpt_writer **w);
/* root-group attributes (iteration, consumed samples, a JSON config ...); same value on every rank */
PetscErrorCode fs_ckpt_set_attr_int64(struct fs_ckpt_writer *w, const char *name, int64_t value);
PetscErrorCode fs_ckpt_set_attr_double(struct fs_ckpt_writer *w, const char *name, double value);
PetscErrorCode fs_ckpt_set_attr_string(struct fs_ckpt_writer *w, const char *name, const char *value);
/* Writes this rank's hyperslab of the global tensor `name` ("/model/model.layers.0.mlp.up_proj.weight";
 * intermediate groups are created).  file_dtype FS_DTYPE_F32 or FS_DTYPE_BF16 (rounded to nearest even).
 *   shape[ndim]           global shape, ndim 1 or 2
 *   start[ndim], count[ndim]  this rank's block; count may be 0
 *   data[count[0]*count[1]]   fp32, row-major over the block */
PetscErrorCode fs_ckpt_write(struct fs_ckpt_writer *w, const char *name, enum fs_dtype file_dtype, int ndim,
                             const int64_t shape[], const int64_t start[], const int64_t count[],
                             const float *data);
/* Elements per checksum block for the tensors written after this call (default 1M; small values let tests
 * exercise many blocks). */
PetscErrorCode fs_ckpt_set_checksum_block(struct fs_ckpt_writer *w, int64_t n_elem);
/* Closes the file, fsyncs it, renames FINAL.tmp -> FINAL, fsyncs the directory; logs the write throughput.
 * *w is freed and set to NULL, also on error (then the .tmp file is removed). */
PetscErrorCode fs_ckpt_finish(struct fs_ckpt_writer **w);
/* Error path: closes and removes FINAL.tmp.  Accepts NULL. */
PetscErrorCode fs_ckpt_abort(struct fs_ckpt_writer **w);

/* ---- reader */
/* Opens a checkpoint and checks its format name and version (a truncated file is reported with the tensors
 * whose data was cut off). */
PetscErrorCode fs_ckpt_open(MPI_Comm comm, const char *path, struct fs_ckpt_reader **r);
PetscErrorCode fs_ckpt_close(struct fs_ckpt_reader **r); /* logs the read throughput; accepts NULL */
PetscErrorCode fs_ckpt_has_attr(struct fs_ckpt_reader *r, const char *name, PetscBool *has);
PetscErrorCode fs_ckpt_get_attr_int64(struct fs_ckpt_reader *r, const char *name, int64_t *value);
PetscErrorCode fs_ckpt_get_attr_double(struct fs_ckpt_reader *r, const char *name, double *value);
/* *value is malloc'ed (free() it) */
PetscErrorCode fs_ckpt_get_attr_string(struct fs_ckpt_reader *r, const char *name, char **value);
PetscErrorCode fs_ckpt_has(struct fs_ckpt_reader *r, const char *name, PetscBool *has);
/* shape[FS_CKPT_MAX_NDIM]; *file_dtype may be NULL */
PetscErrorCode fs_ckpt_shape(struct fs_ckpt_reader *r, const char *name, int *ndim, int64_t shape[],
                             enum fs_dtype *file_dtype);
/* Reads the block [start, start+count) of `name` into out[count[0]*count[1]] (fp32, bf16 widened).  ndim and
 * shape are what the caller expects: a different shape in the file is an error naming both.  Corrupt data
 * (a checksum mismatch in any block the ranks' reads touch) is an error naming the tensor. */
PetscErrorCode fs_ckpt_read(struct fs_ckpt_reader *r, const char *name, int ndim, const int64_t shape[],
                            const int64_t start[], const int64_t count[], float *out);
/* bytes of tensor data read so far by this rank and the seconds spent in fs_ckpt_read */
void fs_ckpt_read_stats(const struct fs_ckpt_reader *r, double *n_bytes, double *seconds);

/* ---- checkpoint directory */
/* buf <- DIR/iter_%07d.h5 (an error if it does not fit in n_bytes) */
PetscErrorCode fs_ckpt_path(char *buf, size_t n_bytes, const char *dir, int64_t iteration);
/* Rank 0 writes DIR/latest_checkpointed_iteration.txt atomically (tmp, fsync, rename, fsync dir).  Call it
 * after fs_ckpt_finish of that iteration. */
PetscErrorCode fs_ckpt_write_tracker(MPI_Comm comm, const char *dir, int64_t iteration);
/* All ranks get the same answer; *found = PETSC_FALSE when there is no tracker; garbage is an error. */
PetscErrorCode fs_ckpt_read_tracker(MPI_Comm comm, const char *dir, int64_t *iteration, PetscBool *found);
/* Deletes all but the newest `keep` DIR/iter_*.h5, never the one the tracker points at.  *n_removed may be
 * NULL. */
PetscErrorCode fs_ckpt_prune(MPI_Comm comm, const char *dir, int keep, int *n_removed);

#endif
