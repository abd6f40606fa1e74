/* fs_pretrain.h -- flagscale-pretrain as a library function (an fs_app_run_fn): options -> tokenizer (vocabulary
 * size) -> model -> data (train/valid splits, blended) -> trainer.  Runs on any communicator. */
#ifndef FS_PRETRAIN_H
#define FS_PRETRAIN_H

#include <mpi.h>
#include "fs_error.h"

PetscErrorCode fs_pretrain_run(MPI_Comm comm, const char *app, const char *summary);

#endif
