/* fs_collectives.h -- the tensor-parallel collectives of the layer sequence (Megatron's mappings), on a
 * communicator of tp ranks.  Every function is a no-op (or a copy) when the communicator has one rank, so the
 * model runs the same code at TP=1.  Counts above 2^31 elements are sent in pieces. */
#ifndef FS_COLLECTIVES_H
#define FS_COLLECTIVES_H

#include <stdint.h>
#include <mpi.h>
#include "fs_error.h"

/* buf (n) = sum over ranks of buf: the forward of a row-parallel layer, the backward of a column-parallel one */
PetscErrorCode fs_allreduce_sum(MPI_Comm comm, float *buf, int64_t n);
/* buf (n) = max over ranks */
PetscErrorCode fs_allreduce_max(MPI_Comm comm, float *buf, int64_t n);
/* double sums (small: statistics) */
PetscErrorCode fs_allreduce_sum_double(MPI_Comm comm, double *buf, int64_t n);
/* full (size * n_slice): rank r's slice sits at full + r * n_slice on entry (in place); every slice on exit.
 * Sequence parallelism: the tokens of all ranks before a column-parallel layer. */
PetscErrorCode fs_allgather_inplace(MPI_Comm comm, float *full, int64_t n_slice);
/* slice (n_slice) = the sum over ranks of full[rank * n_slice ...]: after a row-parallel layer under sequence
 * parallelism.  slice must not alias full. */
PetscErrorCode fs_reduce_scatter(MPI_Comm comm, float *slice, const float *full, int64_t n_slice);

#endif
