/* fs_app.c -- common main(): MPI + PETSc start-up, -help/-version, abort-all on error */
#include <config.h>
#include <stdlib.h>
#include <string.h>
#include <hdf5.h>
#include "fs_app.h"
#include "fs_log.h"
#include "fs_opt.h"
#ifdef FS_HAVE_CUDA
#include "fs_cuda_info.h"
#endif

#ifdef FS_SANITIZERS
/* AddressSanitizer's leak report would list what Open MPI and PETSc keep until exit: report errors, not leaks.
 * (ASAN_OPTIONS in the environment still overrides this.) */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "detect_leaks=0"; }
#endif

void fs_print_version(FILE *f, const char *app)
{
  char mpiv[MPI_MAX_LIBRARY_VERSION_STRING], petscv[128];
  int len;
  unsigned maj, min, rel;

  MPI_Get_library_version(mpiv, &len);
  mpiv[strcspn(mpiv, ",\n")] = 0;
  PetscGetVersion(petscv, sizeof petscv);
  H5get_libversion(&maj, &min, &rel);
  fprintf(f, "%s (%s) %s\n", app, PACKAGE_NAME, PACKAGE_VERSION);
  fprintf(f, "  MPI: %s\n  HDF5: %u.%u.%u (parallel)\n  PETSc: %s\n", mpiv, maj, min, rel, petscv);
#ifdef FS_HAVE_CUDA
  {
    char cuda[256];
    fs_cuda_versions(cuda, sizeof cuda);
    fprintf(f, "  CUDA backend: yes (%s)\n", cuda);
  }
#else
  fprintf(f, "  CUDA backend: no (built without CUDA)\n");
#endif
#ifdef FS_SANITIZERS
  fprintf(f, "  sanitizers: address, undefined\n");
#endif
}

/* -help and -version are ours: PETSc would print its own long lists for them */
static void strip_flag(int *argc, char **argv, const char *const *names, PetscBool *found)
{
  int j = 0;
  *found = PETSC_FALSE;
  for (int i = 0; i < *argc; i++) {
    PetscBool hit = PETSC_FALSE;
    for (const char *const *n = names; *n; n++)
      if (i > 0 && !strcmp(argv[i], *n)) hit = PETSC_TRUE;
    if (hit) *found = PETSC_TRUE;
    else argv[j++] = argv[i];
  }
  *argc = j;
  argv[j] = NULL;
}

int fs_app_main(int argc, char **argv, const char *app, const char *summary, fs_app_run_fn run)
{
  static const char *const help_names[] = {"-help", "--help", "-h", NULL};
  static const char *const version_names[] = {"-version", "--version", NULL};
  PetscBool help, version;
  PetscErrorCode ierr;
  int rank;

  strip_flag(&argc, argv, help_names, &help);
  strip_flag(&argc, argv, version_names, &version);
  /* serialized: flagscale-serve's engine thread makes rank 0's MPI calls while the main thread waits */
  int provided;
  if (MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) {
    fprintf(stderr, "%s: MPI_Init failed (is the MPI runtime installed? try mpirun -np 1 %s)\n", app, app);
    return 1;
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  /* errors come back as codes; PETSc's handler already printed the traceback */
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  ierr = PetscInitialize(&argc, &argv, NULL, NULL);
  if (ierr) {
    fprintf(stderr, "%s: PetscInitialize failed (%d)\n", app, (int)ierr);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  fs_log_init(MPI_COMM_WORLD);
  if (version) {
    if (!rank) fs_print_version(stdout, app);
    PetscFinalize();
    MPI_Finalize();
    return 0;
  }
  fs_opt_request_help(help);
  ierr = run(MPI_COMM_WORLD, app, summary);
  if (ierr) {
    fprintf(stderr, "[%d] %s: stopping the job after the error above (error code %d)\n", rank, app, (int)ierr);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, (int)ierr);
  }
  PetscFinalize();
  MPI_Finalize();
  return 0;
}
