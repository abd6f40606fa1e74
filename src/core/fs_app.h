/* fs_app.h -- the shell every executable shares, so apps stay thin (DESIGN.md principle 4):
 *   int main(int argc, char **argv) { return fs_app_main(argc, argv, "flagscale-x", "what it does", run); }
 * fs_app_main initializes MPI and PETSc (-help and -version are handled here), calls run(comm), and on an
 * error from any rank aborts the whole job with MPI_Abort so no rank hangs (principle 5).
 * run() reads its options first, calls fs_opt_finish() and returns early when it says stop. */
#ifndef FS_APP_H
#define FS_APP_H

#include <stdio.h>
#include <mpi.h>
#include "fs_error.h"

typedef PetscErrorCode (*fs_app_run_fn)(MPI_Comm comm, const char *app, const char *summary);

int fs_app_main(int argc, char **argv, const char *app, const char *summary, fs_app_run_fn run);
/* version and build options (CUDA on/off, MPI/HDF5/PETSc/CUDA versions) */
void fs_print_version(FILE *f, const char *app);

#endif
