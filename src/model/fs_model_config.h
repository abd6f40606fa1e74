/* fs_model_config.h -- the model blueprint: one struct for both structures built from the same code,
 * LLaMA/Aquila (RMSNorm, RoPE, SwiGLU, GQA, no biases) and GPT-2 (LayerNorm with bias, learned positions,
 * GELU, biases).  Option names are Megatron's (-num_layers, -hidden_size, ...). */
#ifndef FS_MODEL_CONFIG_H
#define FS_MODEL_CONFIG_H

#include <stdint.h>
#include "fs_error.h"

enum fs_norm { FS_NORM_RMSNORM = 0, FS_NORM_LAYERNORM = 1 };
enum fs_posemb { FS_POS_ROPE = 0, FS_POS_LEARNED = 1 };
/* activation recomputation (Megatron's -recompute_granularity): full = a layer's forward runs again inside its
 * backward (only the layer inputs are kept); selective = only the attention core runs again */
enum fs_recompute { FS_RECOMPUTE_NONE = 0, FS_RECOMPUTE_FULL = 1, FS_RECOMPUTE_SELECTIVE = 2 };
enum fs_recompute_method { FS_RECOMPUTE_UNIFORM = 0, FS_RECOMPUTE_BLOCK = 1 };
/* the linear layers LoRA can adapt (Hugging Face module names q_proj .. down_proj); bit t of lora_targets */
enum fs_lora_target {
  FS_LORA_Q, FS_LORA_K, FS_LORA_V, FS_LORA_O, FS_LORA_GATE, FS_LORA_UP, FS_LORA_DOWN, FS_LORA_N_TARGETS
};

struct fs_model_config {
  int num_layers;
  int hidden_size;              /* C */
  int num_attention_heads;      /* NH */
  int num_query_groups;         /* NKV (grouped-query attention); = NH for multi-head attention */
  int ffn_hidden_size;          /* F */
  int seq_length;               /* training sequence length */
  int max_position_embeddings;  /* rows of the learned position table; RoPE limit */
  int vocab_size;               /* true vocabulary (tokenizer), e.g. 100008 for Aquila */
  int make_vocab_size_divisible_by; /* Megatron's padding: padded = multiple of this x TP */
  int padded_vocab_size;        /* computed by fs_model_config_finalize */
  int head_dim;                 /* computed: C / NH */
  enum fs_norm normalization;
  enum fs_posemb position_embedding_type;
  int swiglu;                   /* 1: silu(gate) * up; 0: GELU (tanh) MLP */
  int add_bias_linear;          /* biases on every linear layer (GPT-2) */
  int untie_embeddings_and_output_weights;
  float norm_epsilon;
  float rotary_base;
  float init_method_std;
  float norm_init_weight;       /* initial value of norm weights (Aquila 34B: 0.3, 70B: 0.25) */
  /* LoRA (doc/finetuning.md): lora_rank > 0 adds adapters A (r, in), B (out, r) to the targeted linear layers,
   * y = x W^T + (lora_alpha / r) (x A^T) B^T, and freezes every other parameter; stored in checkpoints */
  int lora_rank;                /* r; 0 = no adapters */
  float lora_alpha;
  int lora_targets;             /* bit mask of enum fs_lora_target */
  /* how the layer sequence runs (not stored in checkpoints; do not change the results) */
  int sequence_parallel;        /* norms and residual adds on 1/TP of the tokens (needs TP > 1) */
  enum fs_recompute recompute_granularity;
  enum fs_recompute_method recompute_method;
  int recompute_num_layers;     /* uniform: layers per recomputed group; block: how many layers are recomputed */
};

/* fills defaults (a tiny LLaMA) */
void fs_model_config_default(struct fs_model_config *cfg);
/* reads the model options (-num_layers ...) over the defaults in cfg */
PetscErrorCode fs_model_config_from_options(struct fs_model_config *cfg);
/* reads -recompute_granularity, -recompute_method, -recompute_num_layers into cfg (fs_model_options.c) */
PetscErrorCode fs_model_recompute_options(struct fs_model_config *cfg);
/* reads -lora_rank, -lora_alpha, -lora_target_modules over the values in cfg (fs_model_options.c) */
PetscErrorCode fs_model_lora_options(struct fs_model_config *cfg);
/* "q_proj" .. "down_proj" */
const char *fs_lora_target_name(enum fs_lora_target t);
/* comma-separated target names of a mask ("q_proj,v_proj") into buf */
void fs_lora_targets_string(int mask, char *buf, size_t n_bytes);
/* mask of a comma-separated list of target names (a clear error for an unknown one) */
PetscErrorCode fs_lora_targets_parse(const char *list, int *mask);
/* checks consistency (clear errors) and computes head_dim and padded_vocab_size for tensor-parallel size tp */
PetscErrorCode fs_model_config_finalize(struct fs_model_config *cfg, int tp);
/* Megatron's FFN size rule: int(8h/3) (x multiplier when > 0), rounded up to a multiple of multiple_of */
int fs_llama_ffn_size(int hidden, double multiplier, int multiple_of);
/* one line describing the model, for logs */
void fs_model_config_describe(const struct fs_model_config *cfg, char *buf, size_t n_bytes);



/* JSON text of the configuration (Megatron option names as keys), malloc'ed; and back.  Checkpoints carry it so a
 * load can check the model and tools can rebuild it. */
PetscErrorCode fs_model_config_to_json(const struct fs_model_config *cfg, char **json);
PetscErrorCode fs_model_config_from_json(struct fs_model_config *cfg, const char *json);
#endif
