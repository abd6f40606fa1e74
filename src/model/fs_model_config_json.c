/* fs_model_config_json.c -- the model configuration as JSON (checkpoint attribute "model_config") */
#include <string.h>
#include <jansson.h>
#include "fs_model_config.h"

#define FS_CFG_INT_FIELDS(X) \
  X(num_layers) X(hidden_size) X(num_attention_heads) X(num_query_groups) X(ffn_hidden_size) X(seq_length) \
  X(max_position_embeddings) X(vocab_size) X(make_vocab_size_divisible_by) X(padded_vocab_size) X(head_dim) \
  X(swiglu) X(add_bias_linear) X(untie_embeddings_and_output_weights)
#define FS_CFG_REAL_FIELDS(X) X(norm_epsilon) X(rotary_base) X(init_method_std) X(norm_init_weight)

PetscErrorCode fs_model_config_to_json(const struct fs_model_config *c, char **json)
{
  json_t *o = json_object();

  PetscFunctionBegin;
  FSCheck(o, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory");
#define X(f) json_object_set_new(o, #f, json_integer(c->f));
  FS_CFG_INT_FIELDS(X)
#undef X
#define X(f) json_object_set_new(o, #f, json_real((double)c->f));
  FS_CFG_REAL_FIELDS(X)
#undef X
  json_object_set_new(o, "normalization", json_string(c->normalization == FS_NORM_RMSNORM ? "rmsnorm" : "layernorm"));
  json_object_set_new(o, "position_embedding_type",
                      json_string(c->position_embedding_type == FS_POS_ROPE ? "rope" : "learned_absolute"));
  if (c->lora_rank > 0) { /* absent = no adapters (checkpoints written before LoRA existed read the same) */
    char targets[128];
    fs_lora_targets_string(c->lora_targets, targets, sizeof targets);
    json_object_set_new(o, "lora_rank", json_integer(c->lora_rank));
    json_object_set_new(o, "lora_alpha", json_real((double)c->lora_alpha));
    json_object_set_new(o, "lora_target_modules", json_string(targets));
  }
  *json = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
  json_decref(o);
  FSCheck(*json, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory");
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_model_config_from_json(struct fs_model_config *c, const char *json)
{
  json_error_t err;
  json_t *o = json_loads(json, 0, &err), *v;

  PetscFunctionBegin;
  FSCheck(o && json_is_object(o), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "model configuration is not a JSON object: %s",
          o ? "not an object" : err.text);
  memset(c, 0, sizeof *c);
#define X(f) \
  v = json_object_get(o, #f); \
  if (!json_is_integer(v)) { json_decref(o); SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "model configuration: missing integer %s", #f); } \
  c->f = (int)json_integer_value(v);
  FS_CFG_INT_FIELDS(X)
#undef X
#define X(f) \
  v = json_object_get(o, #f); \
  if (!json_is_number(v)) { json_decref(o); SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "model configuration: missing number %s", #f); } \
  c->f = (float)json_number_value(v);
  FS_CFG_REAL_FIELDS(X)
#undef X
  const char *norm = json_string_value(json_object_get(o, "normalization"));
  const char *pos = json_string_value(json_object_get(o, "position_embedding_type"));
  c->normalization = norm && !strcmp(norm, "layernorm") ? FS_NORM_LAYERNORM : FS_NORM_RMSNORM;
  c->position_embedding_type = pos && !strcmp(pos, "learned_absolute") ? FS_POS_LEARNED : FS_POS_ROPE;
  v = json_object_get(o, "lora_rank");
  if (json_is_integer(v) && json_integer_value(v) > 0) {
    const char *targets = json_string_value(json_object_get(o, "lora_target_modules"));
    c->lora_rank = (int)json_integer_value(v);
    c->lora_alpha = (float)json_number_value(json_object_get(o, "lora_alpha"));
    PetscErrorCode ierr = fs_lora_targets_parse(targets ? targets : "", &c->lora_targets);
    if (ierr) json_decref(o);
    PetscCall(ierr);
  }
  json_decref(o);
  PetscFunctionReturn(PETSC_SUCCESS);
}
