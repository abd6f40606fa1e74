/* fs_collectives.c -- tensor-parallel collectives over MPI */
#include <limits.h>
#include <string.h>
#include "fs_collectives.h"

static int comm_size(MPI_Comm comm)
{
  int size = 1;
  if (comm != MPI_COMM_NULL) MPI_Comm_size(comm, &size);
  return size;
}

static PetscErrorCode allreduce(MPI_Comm comm, void *buf, int64_t n, MPI_Datatype type, size_t elem, MPI_Op op)
{
  PetscFunctionBegin;
  if (comm_size(comm) == 1) PetscFunctionReturn(PETSC_SUCCESS);
  for (int64_t i = 0; i < n; i += INT_MAX / 2) {
    int64_t k = n - i < INT_MAX / 2 ? n - i : INT_MAX / 2;
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, (char *)buf + i * elem, (int)k, type, op, comm));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_allreduce_sum(MPI_Comm comm, float *buf, int64_t n)
{
  return allreduce(comm, buf, n, MPI_FLOAT, sizeof(float), MPI_SUM);
}

PetscErrorCode fs_allreduce_max(MPI_Comm comm, float *buf, int64_t n)
{
  return allreduce(comm, buf, n, MPI_FLOAT, sizeof(float), MPI_MAX);
}

PetscErrorCode fs_allreduce_sum_double(MPI_Comm comm, double *buf, int64_t n)
{
  return allreduce(comm, buf, n, MPI_DOUBLE, sizeof(double), MPI_SUM);
}

PetscErrorCode fs_allgather_inplace(MPI_Comm comm, float *full, int64_t n_slice)
{
  PetscFunctionBegin;
  if (comm_size(comm) == 1) PetscFunctionReturn(PETSC_SUCCESS);
  FSCheck(n_slice <= INT_MAX, comm, PETSC_ERR_SUP, "all-gather of %lld elements per rank: above 2^31",
          (long long)n_slice);
  PetscCallMPI(MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, full, (int)n_slice, MPI_FLOAT, comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_reduce_scatter(MPI_Comm comm, float *slice, const float *full, int64_t n_slice)
{
  PetscFunctionBegin;
  if (comm_size(comm) == 1) {
    memcpy(slice, full, n_slice * sizeof(float));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  FSCheck(n_slice <= INT_MAX, comm, PETSC_ERR_SUP, "reduce-scatter of %lld elements per rank: above 2^31",
          (long long)n_slice);
  PetscCallMPI(MPI_Reduce_scatter_block(full, slice, (int)n_slice, MPI_FLOAT, MPI_SUM, comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}
