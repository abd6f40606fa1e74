/* fs_convert.h -- flagscale-convert: checkpoints between this project's HDF5 format, Hugging Face LLaMA folders
 * (safetensors) and GGUF.  Runs on one process (other ranks of a multi-rank launch wait). */
#ifndef FS_CONVERT_H
#define FS_CONVERT_H

#include <mpi.h>
#include "fs_error.h"

PetscErrorCode fs_convert_run(MPI_Comm comm, const char *app, const char *summary);

#endif
