/* fs_ops_cuda_fatal.c -- the error exit of the CUDA op table.  The table's functions return void (they are called
 * in the hot loop), so a failed CUDA or cuBLAS call cannot be propagated: like a failed CPU scratch allocation
 * (fs_ops_scratch) it prints what failed and what to do, then takes the whole MPI job down -- one rank continuing
 * alone would only hang the others in their next collective. */
#include <stdio.h>
#include <stdlib.h>
#include <mpi.h>
#include "fs_ops_cuda_impl.h"

void fs_cuda_fatal(const char *call, const char *error, const char *hint, const char *file, int line)
{
  int inited = 0, finalized = 0;
  fprintf(stderr, "flagscale cuda ops: %s failed at %s:%d: %s\n  %s\n", call, file, line, error, hint);
  fflush(stderr);
  MPI_Initialized(&inited);
  MPI_Finalized(&finalized);
  if (inited && !finalized) MPI_Abort(MPI_COMM_WORLD, 1);
  abort();
}
