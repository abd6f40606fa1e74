/* fs_model_io.h -- the model's tensors in a checkpoint (src/ckpt): /model/<canonical name>, global shapes with the
 * true vocabulary rows (padding rows are not stored), fp32 or bf16 on disk, and the configuration as the JSON
 * attribute "model_config".  Used by training (with the optimizer state around it), conversion and inference. */
#ifndef FS_MODEL_IO_H
#define FS_MODEL_IO_H

#include "fs_ckpt.h"
#include "fs_model.h"

/* rows stored for a parameter: the true vocabulary for vocabulary-split tensors, else its global rows */
int64_t fs_model_stored_rows(const struct fs_model *m, const struct fs_param *p);
/* the block of parameter p's stored (global) tensor that this rank holds: rows g0 .. g0 + n_rows (0 when another
 * pipeline stage holds it), columns c0 .. c0 + p->local_shape[1] */
void fs_model_tp_block(const struct fs_model *m, const struct fs_param *p, int64_t *g0, int64_t *n_rows, int64_t *c0);
/* writes "model_config" and every /model tensor.  Each pipeline stage writes its tensors; with tensor parallelism
 * each rank writes the block of its slice
 * (rows of column/vocabulary-split tensors, columns of row-split ones; replicated tensors by tp_rank 0); the
 * `n_parts` data-parallel ranks holding the same slice (part = dp_rank) share its rows.  The writer's
 * communicator must hold every rank of the layout.  The file has global tensors: any layout reads it. */
PetscErrorCode fs_model_write(struct fs_ckpt_writer *w, const struct fs_model *m, enum fs_dtype file_dtype, int part,
                              int n_parts);
/* writes one tensor laid out like parameter p (prefix "/model" or "/optimizer/<name>" ...) */
PetscErrorCode fs_model_write_tensor(struct fs_ckpt_writer *w, const struct fs_model *m, const struct fs_param *p,
                                     const char *name, enum fs_dtype file_dtype, const float *data, int part,
                                     int n_parts);
/* reads a tensor laid out like parameter p into data (this rank's slice; padding rows zeroed) */
PetscErrorCode fs_model_read_tensor(struct fs_ckpt_reader *r, const struct fs_model *m, const struct fs_param *p,
                                    const char *name, float *data);
/* the configuration stored in a checkpoint */
PetscErrorCode fs_model_read_config(struct fs_ckpt_reader *r, struct fs_model_config *cfg);
/* checks that the checkpoint holds the model m describes, then reads every /model tensor */
PetscErrorCode fs_model_read(struct fs_ckpt_reader *r, struct fs_model *m, const char *path);
/* a checkpoint file, or a directory with latest_checkpointed_iteration.txt: the file to open */
PetscErrorCode fs_model_checkpoint_file(MPI_Comm comm, const char *dir_or_file, char *path, size_t n_bytes);
/* builds the model a checkpoint describes and loads its weights (inference, conversion) */
PetscErrorCode fs_model_create_from_checkpoint(MPI_Comm comm, const char *dir_or_file, const struct fs_ops *ops,
                                               struct fs_model **m);
/* the same, this rank's tensor-parallel slice for tp_comm (borrowed; MPI_COMM_NULL: the whole model); collective
 * over comm, which holds every rank of tp_comm */
PetscErrorCode fs_model_create_from_checkpoint_tp(MPI_Comm comm, MPI_Comm tp_comm, const char *dir_or_file,
                                                  const struct fs_ops *ops, struct fs_model **m);

#endif
