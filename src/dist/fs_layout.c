/* fs_layout.c -- communicators of the parallel layout */
#include <stdlib.h>
#include "fs_layout.h"

PetscErrorCode fs_layout_create(MPI_Comm world, int tp, int pp, struct fs_layout **out)
{
  struct fs_layout *l;
  int rank, size;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(world, &rank));
  PetscCallMPI(MPI_Comm_size(world, &size));
  FSCheck(tp >= 1 && pp >= 1 && size % (tp * pp) == 0, world, PETSC_ERR_ARG_INCOMP,
          "%d ranks cannot be laid out as tensor-parallel %d x pipeline %d x data-parallel: the rank count must be a "
          "multiple of %d", size, tp, pp, tp * pp);
  FSCalloc(sizeof *l, &l);
  l->world = world, l->world_rank = rank, l->world_size = size;
  l->tp = tp, l->pp = pp, l->dp = size / (tp * pp);
  l->tp_rank = rank % tp;
  l->dp_rank = (rank / tp) % l->dp;
  l->pp_rank = rank / (tp * l->dp);
  /* color = the coordinates that stay fixed, key = the rank inside the group */
  PetscCallMPI(MPI_Comm_split(world, l->pp_rank * l->dp + l->dp_rank, l->tp_rank, &l->tp_comm));
  PetscCallMPI(MPI_Comm_split(world, l->pp_rank * tp + l->tp_rank, l->dp_rank, &l->dp_comm));
  PetscCallMPI(MPI_Comm_split(world, l->dp_rank * tp + l->tp_rank, l->pp_rank, &l->pp_comm));
  *out = l;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_layout_destroy(struct fs_layout **l)
{
  PetscFunctionBegin;
  if (!*l) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCallMPI(MPI_Comm_free(&(*l)->tp_comm));
  PetscCallMPI(MPI_Comm_free(&(*l)->dp_comm));
  PetscCallMPI(MPI_Comm_free(&(*l)->pp_comm));
  FSFree(l);
  PetscFunctionReturn(PETSC_SUCCESS);
}
