/* fs_dist_opt.h -- Megatron's distributed optimizer (ZeRO-1) over the data-parallel ranks, CPU/MPI.
 *
 * The flat parameter range [0, n) of this rank's model (its tensor-parallel slice, m->table.n_local elements) is
 * cut into dp contiguous shards: shard r = [r*S, min((r+1)*S, n)), S = ceil(n / dp) -- Megatron pads the buffer
 * to a multiple of dp; here the last shard is shorter instead, which needs no padded copy of the gradients.
 * Rank r keeps the optimizer state (exp_avg, exp_avg_sq; the fp32 master is the parameter buffer on CPU) of its
 * shard only.  A step is:
 *   reduce-scatter the gradients (each rank gets the sum of its shard) -> global norm from the shards' sums of
 *   squares (one all-reduce of a double) -> clip the shard -> AdamW on the shard -> all-gather the parameters.
 * A shard may cut through a tensor, even through a row: AdamW is element-wise and weight decay is decided per
 * tensor, so the result equals the replicated optimizer's up to the summation order of the reductions. */
#ifndef FS_DIST_OPT_H
#define FS_DIST_OPT_H

#include <stdint.h>
#include <mpi.h>
#include "fs_error.h"
#include "fs_model.h"

struct fs_dist_opt {
  MPI_Comm comm;        /* data-parallel communicator (borrowed) */
  int rank, size;
  int64_t first, n;     /* the sharded range [first, first + n) of the flat buffers (LoRA: the adapters only) */
  int64_t lo, hi;       /* this rank's shard [lo, hi) (flat offsets) */
  int *counts, *displs; /* (size) every rank's shard: length and start relative to first (n < 2^31, checked) */
};

/* the shards of a flat buffer of n elements over comm */
PetscErrorCode fs_dist_opt_create(MPI_Comm comm, int64_t n, struct fs_dist_opt **d);
/* the shards of the range [first, first + n) of the flat buffers: the parts outside it are neither reduced nor
 * gathered (frozen parameters) */
PetscErrorCode fs_dist_opt_create_range(MPI_Comm comm, int64_t first, int64_t n, struct fs_dist_opt **d);
PetscErrorCode fs_dist_opt_destroy(struct fs_dist_opt **d);
/* the gradients of m (the range must be trainable: first >= m->grad_offset): afterwards those of the shard [lo, hi)
 * hold the sum over the ranks; the rest of the range is undefined */
PetscErrorCode fs_dist_opt_reduce_scatter(const struct fs_dist_opt *d, struct fs_model *m);
/* the global L2 norm of the reduce-scattered gradients: sqrt(sum over the data-parallel shards and the tensor-
 * parallel ranks and pipeline stages of the own shard's sum of squares; tensors replicated over TP and the tied
 * embedding count once).  Collective over the data-parallel and the model's tensor- and pipeline-parallel
 * communicators. */
PetscErrorCode fs_dist_opt_grad_norm(const struct fs_dist_opt *d, const struct fs_model *m, double *norm);
/* params (the flat buffer): every rank's shard to every rank (in place) */
PetscErrorCode fs_dist_opt_allgather(const struct fs_dist_opt *d, float *params);
/* the elements [off, off + len) of a sharded array (shard = this rank's part, indexed from lo) gathered into
 * out (len) on every rank (collective; checkpoints use it per tensor) */
PetscErrorCode fs_dist_opt_gather_range(const struct fs_dist_opt *d, const float *shard, int64_t off, int64_t len,
                                        float *out);

#endif
