/* fs_infer_app.h -- flagscale-infer: generation (or scoring) for prompts from the command line or a JSONL file
 * with a checkpoint written by flagscale-pretrain, on one rank or tensor-parallel over several (rank 0 writes). */
#ifndef FS_INFER_APP_H
#define FS_INFER_APP_H

#include <mpi.h>
#include "fs_error.h"

PetscErrorCode fs_infer_run(MPI_Comm comm, const char *app, const char *summary);

#endif
