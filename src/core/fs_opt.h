/* fs_opt.h -- options over PETSc's options database (command line, -options_file, PETSC_OPTIONS).
 *
 * Each getter registers the option (name, default, help) and reads it; the app reads all of its options
 * first and acts after (as PETSc advises).  fs_opt_finish() then
 *   - prints every registered option with its default and exits the app cleanly when -help was given,
 *   - fails when an option was set but never read (a typo must not silently run the wrong thing).
 * Names are Megatron's argument names with underscores: --num-layers -> -num_layers.
 * Integers are 64-bit and parsed strictly ("12x" is an error); lists are comma-separated. */
#ifndef FS_OPT_H
#define FS_OPT_H

#include <stdint.h>
#include "fs_error.h"

#define FS_OPT_STRLEN 4096
#define FS_OPT_MAXLIST 64

void fs_opt_section(const char *title);  /* groups the following options in -help */
PetscErrorCode fs_opt_int(const char *name, int64_t def, const char *help, int64_t *value, PetscBool *set);
PetscErrorCode fs_opt_real(const char *name, double def, const char *help, double *value, PetscBool *set);
PetscErrorCode fs_opt_bool(const char *name, PetscBool def, const char *help, PetscBool *value, PetscBool *set);
/* value must hold FS_OPT_STRLEN bytes; def may be NULL (printed as "none") */
PetscErrorCode fs_opt_string(const char *name, const char *def, const char *help, char *value, PetscBool *set);
/* one of the words in choices ("a|b|c"); *index gets its position */
PetscErrorCode fs_opt_enum(const char *name, const char *choices, int def, const char *help, int *index,
                           PetscBool *set);
/* comma-separated list of up to FS_OPT_MAXLIST strings; *n = 0 when unset.  Free with fs_opt_free_list. */
PetscErrorCode fs_opt_string_list(const char *name, const char *def, const char *help, char ***items, int *n,
                                  PetscBool *set);
void fs_opt_free_list(char ***items, int n);

/* -help / -version requested (fs_app_main strips them from argv before PETSc sees them) */
void fs_opt_request_help(PetscBool on);
PetscBool fs_opt_help_requested(void);
/* After all options are read: prints -help (then *stop = PETSC_TRUE) or checks for unused options. */
PetscErrorCode fs_opt_finish(MPI_Comm comm, const char *app, const char *summary, PetscBool *stop);
/* forget what was registered (tests run several apps in one process) */
void fs_opt_reset_registry(void);

#endif
