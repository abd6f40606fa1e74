/* logits_tool.c -- logits of a checkpoint for given tokens (conversion tests):
 *   logits_tool -load DIR|FILE -tokens 1,2,3 -out FILE   writes (T, vocab) fp32 */
#include <stdio.h>
#include <stdlib.h>
#include "fs_app.h"
#include "fs_model_io.h"
#include "fs_opt.h"

static PetscErrorCode run(MPI_Comm comm, const char *app, const char *summary)
{
  char load[FS_OPT_STRLEN], out[FS_OPT_STRLEN], **tok = NULL;
  int n = 0;
  PetscBool stop;
  struct fs_model *m = NULL;

  PetscFunctionBegin;
  PetscCall(fs_opt_string("-load", NULL, "checkpoint", load, NULL));
  PetscCall(fs_opt_string_list("-tokens", NULL, "comma-separated token ids", &tok, &n, NULL));
  PetscCall(fs_opt_string("-out", "logits.bin", "output file", out, NULL));
  PetscCall(fs_opt_finish(comm, app, summary, &stop));
  if (stop) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(fs_model_create_from_checkpoint(comm, load, &fs_ops_cpu_ref, &m));
  int32_t *ids;
  float *logits;
  FSMalloc(n * sizeof *ids, &ids);
  FSMalloc((size_t)n * m->cfg.vocab_size * sizeof *logits, &logits);
  for (int i = 0; i < n; i++) ids[i] = atoi(tok[i]);
  PetscCall(fs_model_logits(m, ids, 1, n, logits));
  FILE *f = fopen(out, "wb");
  FSCheck(f && fwrite(logits, sizeof *logits, (size_t)n * m->cfg.vocab_size, f) == (size_t)n * m->cfg.vocab_size &&
            !fclose(f), comm, PETSC_ERR_FILE_WRITE, "cannot write %s", out);
  free(ids), free(logits);
  fs_opt_free_list(&tok, n);
  PetscCall(fs_model_destroy(&m));
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv) { return fs_app_main(argc, argv, "logits_tool", "logits of a checkpoint", run); }
