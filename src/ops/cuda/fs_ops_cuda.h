/* fs_ops_cuda.h -- the CUDA backend of the op table (fs_ops.h).  Every pointer passed to fs_ops_cuda is a DEVICE
 * pointer (cudaMalloc'd on the current GPU); the interface stays fp32 as the table is.  Ops run on the legacy
 * default stream in call order; only sum_squares waits for the GPU (it returns a host double).
 * Errors (a failed CUDA or cuBLAS call, device out of memory) cannot be returned through the void table: they
 * print the call, the error and what to do, then MPI_Abort (abort without MPI).
 * Compiled only when configure found CUDA (FS_HAVE_CUDA). */
#ifndef FS_OPS_CUDA_H
#define FS_OPS_CUDA_H

#include "fs_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const struct fs_ops fs_ops_cuda;

/* Waits for every op issued so far and reports a failed kernel (asynchronous errors surface here, or at the
 * next checked call).  For tests and timing; the ops themselves never need it. */
void fs_ops_cuda_sync(void);

#ifdef __cplusplus
}
#endif
#endif
