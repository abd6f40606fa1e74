/* ref_tool.h -- what the tools behind the PyTorch checks share (tests/ref/ref_tool.c): the files they write to
 * their -out folder for the Python side (flat fp32 arrays, meta.json with the parameter table) */
#ifndef FS_REF_TOOL_H
#define FS_REF_TOOL_H

#include <jansson.h>
#include "fs_error.h"
#include "fs_param_table.h"

/* DIR/NAME: the n floats of x, raw */
PetscErrorCode fs_ref_write_floats(const char *dir, const char *name, const float *x, int64_t n);
/* the table as a JSON array of {name, shape [2], ndim, offset, decay, trainable}, in table order */
json_t *fs_ref_params_json(const struct fs_param_table *t);
/* DIR/meta.json from meta (NULL: json_pack failed, an error), which it releases */
PetscErrorCode fs_ref_write_meta(const char *dir, json_t *meta);

#endif
