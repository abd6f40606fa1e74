/* fs_checkpoint_info.c -- the tokenizer and chat template a checkpoint names */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "fs_ckpt.h"
#include "fs_model_io.h"
#include "fs_checkpoint_info.h"

PetscErrorCode fs_checkpoint_info(const char *load, char *name, size_t n_name, char **chat_template)
{
  char path[4096];
  struct fs_ckpt_reader *r = NULL;
  PetscBool has;
  char *js = NULL;

  PetscFunctionBegin;
  name[0] = 0;
  if (chat_template) *chat_template = NULL;
  PetscCall(fs_model_checkpoint_file(PETSC_COMM_SELF, load, path, sizeof path));
  PetscCall(fs_ckpt_open(PETSC_COMM_SELF, path, &r));
  PetscCall(fs_ckpt_has_attr(r, "tokenizer", &has));
  if (has) PetscCall(fs_ckpt_get_attr_string(r, "tokenizer", &js));
  if (chat_template) {
    PetscCall(fs_ckpt_has_attr(r, "chat_template", &has));
    if (has) PetscCall(fs_ckpt_get_attr_string(r, "chat_template", chat_template));
  }
  PetscCall(fs_ckpt_close(&r));
  if (!js) PetscFunctionReturn(PETSC_SUCCESS); /* the caller needs -tokenizer */
  json_error_t err;
  json_t *o = json_loads(js, 0, &err);
  const char *type = json_string_value(json_object_get(o, "type"));
  const char *dir = json_string_value(json_object_get(o, "path"));
  if (type && (!strcmp(type, "gpt2bpe") || !strcmp(type, "aquila")))
    snprintf(name, n_name, "%s", !strcmp(type, "aquila") ? "aquila" : "gpt2");
  else if (type && !strcmp(type, "dir") && dir && strchr(dir, '/')) snprintf(name, n_name, "%s", dir);
  json_decref(o);
  free(js);
  PetscFunctionReturn(PETSC_SUCCESS);
}
