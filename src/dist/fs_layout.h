/* fs_layout.h -- the parallel layout, as Megatron orders ranks: tensor-parallel fastest, then data-parallel,
 * then pipeline.  world rank = pp_rank * (dp * tp) + dp_rank * tp + tp_rank.
 * Each group has its own communicator; collectives of the model and the trainer go through these. */
#ifndef FS_LAYOUT_H
#define FS_LAYOUT_H

#include <mpi.h>
#include "fs_error.h"

struct fs_layout {
  MPI_Comm world;
  int world_rank, world_size;
  int tp, dp, pp;                /* sizes; tp * dp * pp = world_size */
  int tp_rank, dp_rank, pp_rank; /* this rank's position */
  MPI_Comm tp_comm;              /* ranks with the same (dp, pp): they split tensors */
  MPI_Comm dp_comm;              /* ranks with the same (tp, pp): they hold the same slice, different data */
  MPI_Comm pp_comm;              /* ranks with the same (tp, dp): consecutive pipeline stages */
};

/* tp and pp given (-tensor_model_parallel_size, -pipeline_model_parallel_size); dp = world / (tp * pp).
 * A world size that does not divide is a clear error on every rank. */
PetscErrorCode fs_layout_create(MPI_Comm world, int tp, int pp, struct fs_layout **layout);
PetscErrorCode fs_layout_destroy(struct fs_layout **layout);

#endif
