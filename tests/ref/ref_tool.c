/* ref_tool.c -- the output files of the PyTorch-check tools (ref_tool.h) */
#include <stdio.h>
#include "ref_tool.h"
#include "fs_opt.h"

PetscErrorCode fs_ref_write_floats(const char *dir, const char *name, const float *x, int64_t n)
{
  char path[FS_OPT_STRLEN + 64];
  FILE *f;

  PetscFunctionBegin;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  f = fopen(path, "wb");
  FSCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s", path);
  FSCheck(fwrite(x, sizeof(float), (size_t)n, f) == (size_t)n && !fclose(f), PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE,
          "short write to %s", path);
  PetscFunctionReturn(PETSC_SUCCESS);
}

json_t *fs_ref_params_json(const struct fs_param_table *t)
{
  json_t *params = json_array();
  for (int i = 0; i < t->n; i++) {
    const struct fs_param *p = &t->p[i];
    json_array_append_new(params, json_pack("{s:s,s:[I,I],s:i,s:I,s:b,s:b}", "name", p->name, "shape",
                                            (json_int_t)p->shape[0], (json_int_t)p->shape[1], "ndim", p->ndim,
                                            "offset", (json_int_t)p->offset, "decay", p->weight_decay, "trainable",
                                            !p->frozen));
  }
  return params;
}

PetscErrorCode fs_ref_write_meta(const char *dir, json_t *meta)
{
  char path[FS_OPT_STRLEN + 64];
  int rc;

  PetscFunctionBegin;
  FSCheck(meta, PETSC_COMM_SELF, PETSC_ERR_LIB, "json_pack failed");
  snprintf(path, sizeof path, "%s/meta.json", dir);
  rc = json_dump_file(meta, path, JSON_INDENT(1));
  json_decref(meta);
  FSCheck(rc == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write %s", path);
  PetscFunctionReturn(PETSC_SUCCESS);
}
