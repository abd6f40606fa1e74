/* opt_demo.c -- a small app over fs_app_main/fs_opt used by test_core_opt.sh: prints what it read */
#include <inttypes.h>
#include "fs_app.h"
#include "fs_opt.h"

static PetscErrorCode run(MPI_Comm comm, const char *app, const char *summary)
{
  int64_t n;
  double lr;
  PetscBool flag, stop;
  char name[FS_OPT_STRLEN];
  int style;

  PetscFunctionBegin;
  fs_opt_section("Demo");
  PetscCall(fs_opt_int("-num_layers", 2, "number of layers", &n, NULL));
  PetscCall(fs_opt_real("-lr", 3e-4, "learning rate", &lr, NULL));
  PetscCall(fs_opt_bool("-flag", PETSC_FALSE, "a switch", &flag, NULL));
  PetscCall(fs_opt_string("-name", "tiny", "a name", name, NULL));
  PetscCall(fs_opt_enum("-lr_decay_style", "constant|linear|cosine", 2, "schedule", &style, NULL));
  PetscCall(fs_opt_finish(comm, app, summary, &stop));
  if (stop) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscPrintf(comm, "num_layers=%" PRId64 " lr=%g flag=%d name=%s style=%d\n", n, lr, (int)flag, name,
                        style));
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv) { return fs_app_main(argc, argv, "opt_demo", "options demo", run); }
