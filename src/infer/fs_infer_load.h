/* fs_infer_load.h -- the model of flagscale-infer and flagscale-serve on the ranks of a communicator.
 * Tensor parallelism only: the ranks split the heads, FFN columns and vocabulary of ONE model replica
 * (-tensor_model_parallel_size, by default the number of ranks, must equal it: data-parallel replicas are not
 * supported); -pipeline_model_parallel_size > 1 is a clear error.  Any checkpoint loads on any TP size (the
 * checkpoint holds global tensors). */
#ifndef FS_INFER_LOAD_H
#define FS_INFER_LOAD_H

#include <stdint.h>
#include <mpi.h>
#include "fs_model.h"

struct fs_infer_layout {
  int64_t tp, pp; /* tp 0: the number of ranks */
};
/* -tensor_model_parallel_size, -pipeline_model_parallel_size */
PetscErrorCode fs_infer_layout_options(struct fs_infer_layout *l);
/* checks the layout against comm's size, then loads this rank's slice (collective over comm) */
PetscErrorCode fs_infer_model_load(MPI_Comm comm, const struct fs_infer_layout *l, const char *load,
                                   struct fs_model **m);

#endif
