/* fs_hf_config.c -- config.json <-> model configuration */
#include <stdio.h>
#include <string.h>
#include <jansson.h>
#include "fs_hf.h"

static PetscErrorCode get_int(json_t *o, const char *key, int required, int def, int *v, const char *path)
{
  json_t *x = json_object_get(o, key);
  PetscFunctionBegin;
  if (!x || json_is_null(x)) {
    FSCheck(!required, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: \"%s\" is missing", path, key);
    *v = def;
  } else {
    FSCheck(json_is_integer(x), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: \"%s\" is not an integer", path, key);
    *v = (int)json_integer_value(x);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static double get_real(json_t *o, const char *key, double def)
{
  json_t *x = json_object_get(o, key);
  return json_is_number(x) ? json_number_value(x) : def;
}

PetscErrorCode fs_hf_read_config(const char *dir, struct fs_model_config *c)
{
  char path[4096];
  json_error_t err;
  int v;

  PetscFunctionBegin;
  snprintf(path, sizeof path, "%s/config.json", dir);
  json_t *o = json_load_file(path, 0, &err);
  FSCheck(o && json_is_object(o), PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "%s: %s (line %d)", path,
          o ? "not a JSON object" : err.text, o ? 0 : err.line);
  PetscErrorCode ierr = PETSC_SUCCESS;
  const char *type = json_string_value(json_object_get(o, "model_type"));
  const char *act = json_string_value(json_object_get(o, "hidden_act"));
  json_t *scaling = json_object_get(o, "rope_scaling");
  if (!type || strcmp(type, "llama")) {
    json_decref(o);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: model_type \"%s\": only \"llama\" (LlamaForCausalLM, Aquila) converts",
            path, type ? type : "(none)");
  }
  if ((act && strcmp(act, "silu")) || (scaling && !json_is_null(scaling)) ||
      json_is_true(json_object_get(o, "attention_bias")) || json_is_true(json_object_get(o, "mlp_bias"))) {
    json_decref(o);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_SUP,
            "%s: hidden_act other than silu, rope_scaling or biases are not supported by this release", path);
  }
  fs_model_config_default(c);
  c->normalization = FS_NORM_RMSNORM, c->position_embedding_type = FS_POS_ROPE, c->swiglu = 1, c->add_bias_linear = 0;
  c->make_vocab_size_divisible_by = 1;
#define INT(key, field, req, def) \
  if (!ierr) ierr = get_int(o, key, req, def, &v, path); \
  c->field = v;
  INT("num_hidden_layers", num_layers, 1, 0);
  INT("hidden_size", hidden_size, 1, 0);
  INT("num_attention_heads", num_attention_heads, 1, 0);
  INT("num_key_value_heads", num_query_groups, 0, c->num_attention_heads);
  INT("intermediate_size", ffn_hidden_size, 1, 0);
  INT("vocab_size", vocab_size, 1, 0);
  INT("max_position_embeddings", max_position_embeddings, 0, 2048);
#undef INT
  c->seq_length = c->max_position_embeddings;
  c->norm_epsilon = (float)get_real(o, "rms_norm_eps", 1e-6);
  c->rotary_base = (float)get_real(o, "rope_theta", 10000.0);
  c->init_method_std = (float)get_real(o, "initializer_range", 0.02);
  c->untie_embeddings_and_output_weights = !json_is_true(json_object_get(o, "tie_word_embeddings"));
  json_decref(o);
  PetscCall(ierr);
  PetscCall(fs_model_config_finalize(c, 1));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_hf_write_config(const char *dir, const struct fs_model_config *c, int eos_id, int bos_id,
                                  enum fs_dtype file_dtype)
{
  PetscFunctionBegin;
  FSCheck(c->normalization == FS_NORM_RMSNORM && c->position_embedding_type == FS_POS_ROPE && c->swiglu &&
            !c->add_bias_linear,
          PETSC_COMM_SELF, PETSC_ERR_SUP,
          "Hugging Face export supports the LLaMA structure (RMSNorm, RoPE, SwiGLU, no biases); this model is GPT-2-style");
  json_t *o = json_pack("{s:[s],s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:f,s:f,s:f,s:b,s:s,s:b,s:b,s:o,s:s,s:s}",
                        "architectures", "LlamaForCausalLM", "model_type", "llama", "hidden_size", c->hidden_size,
                        "intermediate_size", c->ffn_hidden_size, "num_hidden_layers", c->num_layers,
                        "num_attention_heads", c->num_attention_heads, "num_key_value_heads", c->num_query_groups,
                        "max_position_embeddings", c->max_position_embeddings, "vocab_size", c->vocab_size,
                        "rms_norm_eps", (double)c->norm_epsilon, "rope_theta", (double)c->rotary_base,
                        "initializer_range", (double)c->init_method_std, "tie_word_embeddings",
                        !c->untie_embeddings_and_output_weights, "hidden_act", "silu", "attention_bias", 0, "mlp_bias",
                        0, "rope_scaling", json_null(), "torch_dtype",
                        file_dtype == FS_DTYPE_BF16 ? "bfloat16" : file_dtype == FS_DTYPE_F16 ? "float16" : "float32",
                        "transformers_version", "4.40.2");
  FSCheck(o, PETSC_COMM_SELF, PETSC_ERR_LIB, "json_pack failed");
  if (eos_id >= 0) json_object_set_new(o, "eos_token_id", json_integer(eos_id));
  if (bos_id >= 0) json_object_set_new(o, "bos_token_id", json_integer(bos_id));
  PetscCall(fs_hf_write_json(o, dir, "config.json"));
  PetscFunctionReturn(PETSC_SUCCESS);
}
