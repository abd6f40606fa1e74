/* fs_model_config.c -- model options, defaults and checks */
#include <stdio.h>
#include "fs_model_config.h"
#include "fs_opt.h"

void fs_model_config_default(struct fs_model_config *c)
{
  *c = (struct fs_model_config){
    .num_layers = 2, .hidden_size = 64, .num_attention_heads = 4, .num_query_groups = 0 /* = heads */,
    .ffn_hidden_size = 0 /* = Megatron's rule */, .seq_length = 64, .max_position_embeddings = 0 /* = seq */,
    .vocab_size = 50257, .make_vocab_size_divisible_by = 128, .normalization = FS_NORM_RMSNORM,
    .position_embedding_type = FS_POS_ROPE, .swiglu = 1, .add_bias_linear = 0,
    .untie_embeddings_and_output_weights = 1, .norm_epsilon = 1e-5f, .rotary_base = 10000.0f,
    .init_method_std = 0.02f, .norm_init_weight = 1.0f};
}

int fs_llama_ffn_size(int hidden, double multiplier, int multiple_of)
{
  int h = (int)(8.0 * hidden / 3.0);
  if (multiplier > 0) h = (int)(h * multiplier);
  return multiple_of > 0 ? (h + multiple_of - 1) / multiple_of * multiple_of : h;
}

PetscErrorCode fs_model_config_from_options(struct fs_model_config *c)
{
  int64_t v;
  double r;
  PetscBool b, set;
  int idx;

  PetscFunctionBegin;
  fs_opt_section("Model");
#define FS_INT_OPT(opt, field, help) \
  PetscCall(fs_opt_int(opt, c->field, help, &v, NULL)); \
  c->field = (int)v;
#define FS_REAL_OPT(opt, field, help) \
  PetscCall(fs_opt_real(opt, c->field, help, &r, NULL)); \
  c->field = (float)r;
  FS_INT_OPT("-num_layers", num_layers, "transformer layers");
  FS_INT_OPT("-hidden_size", hidden_size, "hidden size C");
  FS_INT_OPT("-num_attention_heads", num_attention_heads, "attention heads");
  FS_INT_OPT("-num_query_groups", num_query_groups, "key/value heads for grouped-query attention (0: = heads)");
  FS_INT_OPT("-ffn_hidden_size", ffn_hidden_size, "MLP hidden size (0: int(8C/3) rounded up to 256 with SwiGLU, 4C without)");
  FS_INT_OPT("-seq_length", seq_length, "sequence length");
  FS_INT_OPT("-max_position_embeddings", max_position_embeddings, "position limit (0: = seq_length)");
  FS_INT_OPT("-make_vocab_size_divisible_by", make_vocab_size_divisible_by,
             "pad the vocabulary to a multiple of this x tensor-parallel size");
  FS_REAL_OPT("-norm_epsilon", norm_epsilon, "epsilon of RMSNorm/LayerNorm");
  FS_REAL_OPT("-rotary_base", rotary_base, "RoPE base (theta)");
  FS_REAL_OPT("-init_method_std", init_method_std, "std of the normal initialization");
  FS_REAL_OPT("-norm_init_weight", norm_init_weight, "initial norm weight (Aquila 34B: 0.3, 70B: 0.25)");
#undef FS_INT_OPT
#undef FS_REAL_OPT
  PetscCall(fs_opt_enum("-normalization", "rmsnorm|layernorm", (int)c->normalization, "normalization", &idx, NULL));
  c->normalization = (enum fs_norm)idx;
  PetscCall(fs_opt_enum("-position_embedding_type", "rope|learned_absolute", (int)c->position_embedding_type,
                        "position embedding", &idx, NULL));
  c->position_embedding_type = (enum fs_posemb)idx;
  PetscCall(fs_opt_bool("-swiglu", (PetscBool)c->swiglu, "SwiGLU MLP (false: GELU MLP)", &b, NULL));
  c->swiglu = b;
  PetscCall(fs_opt_bool("-add_bias_linear", (PetscBool)c->add_bias_linear, "biases in linear layers", &b, NULL));
  c->add_bias_linear = b;
  PetscCall(fs_opt_bool("-untie_embeddings_and_output_weights", (PetscBool)c->untie_embeddings_and_output_weights,
                        "separate output layer (false: tied to the input embedding)", &b, &set));
  c->untie_embeddings_and_output_weights = b;
  PetscCall(fs_model_recompute_options(c));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_model_config_finalize(struct fs_model_config *c, int tp)
{
  PetscFunctionBegin;
  FSCheck(c->num_layers >= 1 && c->hidden_size >= 1 && c->num_attention_heads >= 1 && c->seq_length >= 1 &&
            c->vocab_size >= 1,
          PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
          "model sizes must be positive (num_layers %d, hidden_size %d, heads %d, seq_length %d, vocab %d)",
          c->num_layers, c->hidden_size, c->num_attention_heads, c->seq_length, c->vocab_size);
  if (c->num_query_groups <= 0) c->num_query_groups = c->num_attention_heads;
  FSCheck(c->hidden_size % c->num_attention_heads == 0, PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP,
          "-hidden_size %d is not divisible by -num_attention_heads %d", c->hidden_size, c->num_attention_heads);
  FSCheck(c->num_attention_heads % c->num_query_groups == 0, PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP,
          "-num_attention_heads %d is not divisible by -num_query_groups %d", c->num_attention_heads,
          c->num_query_groups);
  c->head_dim = c->hidden_size / c->num_attention_heads;
  FSCheck(c->position_embedding_type != FS_POS_ROPE || c->head_dim % 2 == 0, PETSC_COMM_SELF,
          PETSC_ERR_ARG_INCOMP, "RoPE needs an even head dimension, got %d", c->head_dim);
  if (c->ffn_hidden_size <= 0)
    c->ffn_hidden_size = c->swiglu ? fs_llama_ffn_size(c->hidden_size, 0, 256) : 4 * c->hidden_size;
  if (c->max_position_embeddings <= 0) c->max_position_embeddings = c->seq_length;
  FSCheck(c->seq_length <= c->max_position_embeddings, PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP,
          "-seq_length %d exceeds -max_position_embeddings %d", c->seq_length, c->max_position_embeddings);
  FSCheck(tp >= 1 && c->make_vocab_size_divisible_by >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
          "bad vocabulary padding multiple %d x %d", c->make_vocab_size_divisible_by, tp);
  int mult = c->make_vocab_size_divisible_by * tp;
  c->padded_vocab_size = (c->vocab_size + mult - 1) / mult * mult;
  FSCheck(c->lora_rank >= 0 && (!c->lora_rank || c->lora_targets), PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
          "LoRA rank %d needs at least one target in -lora_target_modules", c->lora_rank);
  FSCheck(!(c->lora_targets >> FS_LORA_GATE & 1) || c->swiglu, PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP,
          "-lora_target_modules gate_proj: this model has no gate (GELU MLP)");
  PetscFunctionReturn(PETSC_SUCCESS);
}

void fs_model_config_describe(const struct fs_model_config *c, char *buf, size_t n)
{
  char lora[192] = "", targets[128];
  if (c->lora_rank > 0) {
    fs_lora_targets_string(c->lora_targets, targets, sizeof targets);
    snprintf(lora, sizeof lora, ", LoRA rank %d alpha %g on %s", c->lora_rank, (double)c->lora_alpha, targets);
  }
  int w = snprintf(buf, n,
           "%s: %d layers, hidden %d, heads %d (kv %d, dim %d), ffn %d (%s), vocab %d (padded %d), seq %d, %s, %s%s",
           c->normalization == FS_NORM_RMSNORM && c->swiglu ? "llama" : "gpt2-style", c->num_layers, c->hidden_size,
           c->num_attention_heads, c->num_query_groups, c->head_dim, c->ffn_hidden_size, c->swiglu ? "swiglu" : "gelu",
           c->vocab_size, c->padded_vocab_size, c->seq_length, c->normalization == FS_NORM_RMSNORM ? "rmsnorm" : "layernorm",
           c->position_embedding_type == FS_POS_ROPE ? "rope" : "learned positions",
           c->untie_embeddings_and_output_weights ? "" : ", tied embeddings");
  if (w >= 0 && (size_t)w < n) snprintf(buf + w, n - (size_t)w, "%s", lora);
}
