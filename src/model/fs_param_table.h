/* fs_param_table.h -- the one list of a model's tensors (DESIGN.md principle 1).  Allocation, initialization,
 * the layer sequence, the optimizer (weight decay), checkpoints and name mapping all read this table; nothing
 * else lists the tensors.  Each entry has its canonical Hugging Face LLaMA name, its global shape, how tensor
 * parallelism splits it and which layer (so which pipeline stage) owns it.  Tensor and pipeline parallelism
 * only change which slice a rank holds (local shape and offset), not the table. */
#ifndef FS_PARAM_TABLE_H
#define FS_PARAM_TABLE_H

#include <stdint.h>
#include "fs_error.h"
#include "fs_model_config.h"

/* what a parameter is: the layer sequence finds its tensors by role */
enum fs_param_role {
  FS_P_EMBED, FS_P_POS_EMBED, FS_P_FINAL_NORM_W, FS_P_FINAL_NORM_B, FS_P_LM_HEAD,
  FS_P_LN1_W, FS_P_LN1_B, FS_P_Q_W, FS_P_Q_B, FS_P_K_W, FS_P_K_B, FS_P_V_W, FS_P_V_B, FS_P_O_W, FS_P_O_B,
  FS_P_LN2_W, FS_P_LN2_B, FS_P_GATE_W, FS_P_UP_W, FS_P_UP_B, FS_P_DOWN_W, FS_P_DOWN_B,
  /* LoRA adapters, in the order of enum fs_lora_target: A (r, in) then B (out, r) */
  FS_P_LORA_A_Q, FS_P_LORA_A_K, FS_P_LORA_A_V, FS_P_LORA_A_O, FS_P_LORA_A_GATE, FS_P_LORA_A_UP, FS_P_LORA_A_DOWN,
  FS_P_LORA_B_Q, FS_P_LORA_B_K, FS_P_LORA_B_V, FS_P_LORA_B_O, FS_P_LORA_B_GATE, FS_P_LORA_B_UP, FS_P_LORA_B_DOWN,
  FS_P_ROLE_COUNT
};
#define FS_P_LORA_A(target) ((enum fs_param_role)(FS_P_LORA_A_Q + (int)(target)))
#define FS_P_LORA_B(target) ((enum fs_param_role)(FS_P_LORA_B_Q + (int)(target)))

/* tensor-parallel split: which dimension of the global shape is divided among TP ranks */
enum fs_tp_split {
  FS_TP_REPLICATED = 0, /* norms, biases of row-parallel layers, learned positions */
  FS_TP_COLUMN,         /* dim 0 (output features): q, k, v, gate, up and their biases */
  FS_TP_ROW,            /* dim 1 (input features): o, down */
  FS_TP_VOCAB           /* dim 0 over the padded vocabulary: embedding, output layer */
};

/* FS_INIT_LORA_A: PEFT's kaiming_uniform(a = sqrt(5)), i.e. uniform in +-1/sqrt(fan_in), fan_in = global columns */
enum fs_init_kind { FS_INIT_NORMAL, FS_INIT_SCALED_NORMAL, FS_INIT_NORM_WEIGHT, FS_INIT_ZERO, FS_INIT_LORA_A };

struct fs_param {
  char name[96];           /* canonical name, e.g. model.layers.3.self_attn.q_proj.weight */
  enum fs_param_role role;
  int layer;               /* transformer layer, -1 for embeddings / final norm / output layer */
  int ndim;                /* 1 or 2 */
  int64_t shape[2];        /* global shape; rows of vocab tensors are the padded vocabulary */
  int64_t n_elem;          /* global elements */
  enum fs_tp_split tp_split;
  enum fs_init_kind init;
  int weight_decay;        /* 1 for matrices; 0 for norms and biases (Megatron's rule) */
  int64_t offset;          /* element offset of this rank's slice in the flat parameter buffer */
  int64_t local_shape[2];  /* this rank's slice */
  int64_t local_n_elem;
  /* pipeline parallelism: held = 1 when this rank's stage holds the tensor (else no memory: local shape 0 x 0);
   * pp_copy = 1 for the tied embedding on the last stage, a copy of the first stage's (the output layer): it is not
   * written to checkpoints, counts once in the gradient norm, and its gradient is summed with the first stage's */
  int held, pp_copy;
  /* LoRA: frozen = 1 for every base tensor when the model has adapters (no gradient, no optimizer state, not in
   * the gradient norm); lora = 1 for the adapters */
  int frozen, lora;
};

struct fs_param_table {
  struct fs_param *p;      /* (n) */
  int n;
  int64_t n_local;         /* elements held by this rank: the size of the flat buffers */
  int64_t n_global;        /* elements of the whole model (padded vocabulary) */
  int by_role_layer0[FS_P_ROLE_COUNT]; /* index of the entry of each role in layer 0 (or global), -1 if absent */
  int n_per_layer;         /* entries per layer (layers are laid out one after another) */
  /* LoRA: the adapters follow all base tensors (layer by layer, n_lora_per_layer entries each), so the trainable
   * parameters are the contiguous flat range [trainable_offset, n_local); trainable_offset = 0 without LoRA */
  int n_lora_per_layer;
  int64_t trainable_offset;
  int tp, tp_rank;         /* tensor-parallel size and this rank's position */
  int pp, pp_rank;         /* pipeline stages and this rank's stage */
  int layer_begin, layer_end; /* this stage's layers [layer_begin, layer_end) = stage * L/pp .. */
};

/* builds the table for a finalized config, for tensor-parallel rank tp_rank of tp (1, 0 without TP) */
PetscErrorCode fs_param_table_create(const struct fs_model_config *cfg, int tp, int tp_rank,
                                     struct fs_param_table *t);
/* the same for stage pp_rank of pp pipeline stages: stage s holds layers [s*L/pp, (s+1)*L/pp), the first stage
 * the embeddings, the last the final norm and the output layer (with tied embeddings the embedding too, as a
 * pp_copy).  Every rank lists every tensor (collective checkpoint I/O walks the same list); tensors of other
 * stages have held = 0 and no elements.  pp must divide num_layers (a clear error otherwise). */
PetscErrorCode fs_param_table_create_pp(const struct fs_model_config *cfg, int tp, int tp_rank, int pp, int pp_rank,
                                        struct fs_param_table *t);
void fs_param_table_destroy(struct fs_param_table *t);
/* entry of a role in a layer (layer -1 for global tensors); NULL if the model has no such tensor */
const struct fs_param *fs_param_find(const struct fs_param_table *t, enum fs_param_role role, int layer);
/* entry by canonical name; NULL if absent */
const struct fs_param *fs_param_by_name(const struct fs_param_table *t, const char *name);

#endif
