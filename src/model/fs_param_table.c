/* fs_param_table.c -- builds the parameter table from the configuration */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include "fs_param_table.h"

/* the per-layer tensors in order: role, HF suffix, shape kind, split, init, needs-bias/needs-gate condition */
enum shape_kind { SK_C, SK_Q, SK_KV, SK_O, SK_FC, SK_DOWN, SK_F, SK_QB, SK_KVB };
struct layer_spec {
  enum fs_param_role role;
  const char *suffix;
  enum shape_kind shape;
  enum fs_tp_split split;
  enum fs_init_kind init;
  int when; /* 0 always, 1 only with biases, 2 only with LayerNorm (norm bias), 3 only with SwiGLU */
};
static const struct layer_spec k_layer[] = {
  {FS_P_LN1_W, "input_layernorm.weight", SK_C, FS_TP_REPLICATED, FS_INIT_NORM_WEIGHT, 0},
  {FS_P_LN1_B, "input_layernorm.bias", SK_C, FS_TP_REPLICATED, FS_INIT_ZERO, 2},
  {FS_P_Q_W, "self_attn.q_proj.weight", SK_Q, FS_TP_COLUMN, FS_INIT_NORMAL, 0},
  {FS_P_Q_B, "self_attn.q_proj.bias", SK_QB, FS_TP_COLUMN, FS_INIT_ZERO, 1},
  {FS_P_K_W, "self_attn.k_proj.weight", SK_KV, FS_TP_COLUMN, FS_INIT_NORMAL, 0},
  {FS_P_K_B, "self_attn.k_proj.bias", SK_KVB, FS_TP_COLUMN, FS_INIT_ZERO, 1},
  {FS_P_V_W, "self_attn.v_proj.weight", SK_KV, FS_TP_COLUMN, FS_INIT_NORMAL, 0},
  {FS_P_V_B, "self_attn.v_proj.bias", SK_KVB, FS_TP_COLUMN, FS_INIT_ZERO, 1},
  {FS_P_O_W, "self_attn.o_proj.weight", SK_O, FS_TP_ROW, FS_INIT_SCALED_NORMAL, 0},
  {FS_P_O_B, "self_attn.o_proj.bias", SK_C, FS_TP_REPLICATED, FS_INIT_ZERO, 1},
  {FS_P_LN2_W, "post_attention_layernorm.weight", SK_C, FS_TP_REPLICATED, FS_INIT_NORM_WEIGHT, 0},
  {FS_P_LN2_B, "post_attention_layernorm.bias", SK_C, FS_TP_REPLICATED, FS_INIT_ZERO, 2},
  {FS_P_GATE_W, "mlp.gate_proj.weight", SK_FC, FS_TP_COLUMN, FS_INIT_NORMAL, 3},
  {FS_P_UP_W, "mlp.up_proj.weight", SK_FC, FS_TP_COLUMN, FS_INIT_NORMAL, 0},
  {FS_P_UP_B, "mlp.up_proj.bias", SK_F, FS_TP_COLUMN, FS_INIT_ZERO, 1},
  {FS_P_DOWN_W, "mlp.down_proj.weight", SK_DOWN, FS_TP_ROW, FS_INIT_SCALED_NORMAL, 0},
  {FS_P_DOWN_B, "mlp.down_proj.bias", SK_C, FS_TP_REPLICATED, FS_INIT_ZERO, 1},
};

/* the linear layer each LoRA target adapts (enum fs_lora_target order) */
static const struct {
  const char *module;
  enum shape_kind shape;
  enum fs_tp_split split;
} k_lora[FS_LORA_N_TARGETS] = {
  {"self_attn.q_proj", SK_Q, FS_TP_COLUMN}, {"self_attn.k_proj", SK_KV, FS_TP_COLUMN},
  {"self_attn.v_proj", SK_KV, FS_TP_COLUMN}, {"self_attn.o_proj", SK_O, FS_TP_ROW},
  {"mlp.gate_proj", SK_FC, FS_TP_COLUMN}, {"mlp.up_proj", SK_FC, FS_TP_COLUMN}, {"mlp.down_proj", SK_DOWN, FS_TP_ROW},
};

static int wanted(const struct fs_model_config *c, int when)
{
  switch (when) {
  case 1: return c->add_bias_linear;
  case 2: return c->normalization == FS_NORM_LAYERNORM;
  case 3: return c->swiglu;
  default: return 1;
  }
}

static void shape_of(const struct fs_model_config *c, enum shape_kind k, int64_t s[2], int *ndim)
{
  int64_t C = c->hidden_size, D = c->head_dim, F = c->ffn_hidden_size;
  int64_t q = (int64_t)c->num_attention_heads * D, kv = (int64_t)c->num_query_groups * D;
  *ndim = 2;
  switch (k) {
  case SK_C: s[0] = C, s[1] = 1, *ndim = 1; break;
  case SK_Q: s[0] = q, s[1] = C; break;
  case SK_KV: s[0] = kv, s[1] = C; break;
  case SK_O: s[0] = C, s[1] = q; break;
  case SK_FC: s[0] = F, s[1] = C; break;
  case SK_DOWN: s[0] = C, s[1] = F; break;
  case SK_F: s[0] = F, s[1] = 1, *ndim = 1; break;
  case SK_QB: s[0] = q, s[1] = 1, *ndim = 1; break;
  case SK_KVB: s[0] = kv, s[1] = 1, *ndim = 1; break;
  }
}

/* does this stage hold a tensor of `layer` (-1: embeddings when first, final norm / output layer when last)?
 * 2 = held as a copy of the first stage's (the tied embedding on the last stage) */
static int stage_holds(const struct fs_param_table *t, enum fs_param_role role, int layer, int tied)
{
  const int first = t->pp_rank == 0, last = t->pp_rank == t->pp - 1;
  if (layer >= 0) return layer >= t->layer_begin && layer < t->layer_end;
  if (role == FS_P_EMBED) return first ? 1 : last && tied ? 2 : 0;
  if (role == FS_P_POS_EMBED) return first;
  return last; /* final norm, output layer */
}

static PetscErrorCode add(struct fs_param_table *t, int cap, const char *name, enum fs_param_role role, int layer,
                          int ndim, const int64_t shape[2], enum fs_tp_split split, enum fs_init_kind init, int tp,
                          int tp_rank, int tied)
{
  PetscFunctionBegin;
  FSCheck(t->n < cap, PETSC_COMM_SELF, PETSC_ERR_PLIB, "parameter table overflow");
  struct fs_param *p = &t->p[t->n++];
  memset(p, 0, sizeof *p);
  snprintf(p->name, sizeof p->name, "%s", name);
  p->role = role, p->layer = layer, p->ndim = ndim, p->tp_split = split, p->init = init;
  p->shape[0] = shape[0], p->shape[1] = ndim == 2 ? shape[1] : 1;
  p->n_elem = p->shape[0] * p->shape[1];
  p->weight_decay = ndim == 2; /* matrices only: no decay on norms and biases */
  p->local_shape[0] = p->shape[0], p->local_shape[1] = p->shape[1];
  int dim = split == FS_TP_ROW ? 1 : split == FS_TP_REPLICATED ? -1 : 0;
  if (dim >= 0 && tp > 1) {
    FSCheck(p->shape[dim] % tp == 0, PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP,
            "%s: dimension %d (%lld) is not divisible by the tensor-parallel size %d", name, dim,
            (long long)p->shape[dim], tp);
    p->local_shape[dim] = p->shape[dim] / tp;
  }
  (void)tp_rank;
  int holds = stage_holds(t, role, layer, tied);
  p->held = holds > 0, p->pp_copy = holds == 2;
  if (!p->held) p->local_shape[0] = p->local_shape[1] = 0;
  p->local_n_elem = p->local_shape[0] * p->local_shape[1];
  p->offset = t->n_local;
  t->n_local += p->local_n_elem;
  t->n_global += p->n_elem;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* the adapters of every layer after all base tensors, which become frozen.  A column-parallel layer's W (out, in)
 * is split by rows: its A (r, in) is replicated and its B (out, r) split by rows the same way; a row-parallel
 * layer's W is split by columns: its A split by columns the same way and its B replicated. */
static PetscErrorCode add_lora(struct fs_param_table *t, int cap, const struct fs_model_config *c, int tp, int tp_rank,
                               int tied)
{
  int64_t s[2], as[2], bs[2];
  int ndim;
  char name[96];

  PetscFunctionBegin;
  for (int i = 0; i < t->n; i++) t->p[i].frozen = 1;
  t->trainable_offset = t->n_local;
  const int first = t->n;
  for (int l = 0; l < c->num_layers; l++) {
    for (int g = 0; g < FS_LORA_N_TARGETS; g++) {
      if (!(c->lora_targets >> g & 1)) continue;
      const int column = k_lora[g].split == FS_TP_COLUMN;
      shape_of(c, k_lora[g].shape, s, &ndim);
      as[0] = c->lora_rank, as[1] = s[1], bs[0] = s[0], bs[1] = c->lora_rank;
      snprintf(name, sizeof name, "model.layers.%d.%s.lora_A.weight", l, k_lora[g].module);
      PetscCall(add(t, cap, name, FS_P_LORA_A(g), l, 2, as, column ? FS_TP_REPLICATED : FS_TP_ROW, FS_INIT_LORA_A, tp,
                    tp_rank, tied));
      t->p[t->n - 1].lora = 1;
      snprintf(name, sizeof name, "model.layers.%d.%s.lora_B.weight", l, k_lora[g].module);
      PetscCall(add(t, cap, name, FS_P_LORA_B(g), l, 2, bs, column ? FS_TP_COLUMN : FS_TP_REPLICATED, FS_INIT_ZERO, tp,
                    tp_rank, tied));
      t->p[t->n - 1].lora = 1;
    }
    if (l == 0) t->n_lora_per_layer = t->n - first;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_param_table_create(const struct fs_model_config *c, int tp, int tp_rank, struct fs_param_table *t)
{
  return fs_param_table_create_pp(c, tp, tp_rank, 1, 0, t);
}

PetscErrorCode fs_param_table_create_pp(const struct fs_model_config *c, int tp, int tp_rank, int pp, int pp_rank,
                                        struct fs_param_table *t)
{
  const int n_layer_specs = (int)(sizeof k_layer / sizeof k_layer[0]);
  const int cap = 6 + c->num_layers * (n_layer_specs + 2 * FS_LORA_N_TARGETS);
  int64_t s[2];
  int ndim;
  char name[96];

  PetscFunctionBegin;
  memset(t, 0, sizeof *t);
  t->tp = tp, t->tp_rank = tp_rank;
  FSCheck(pp >= 1 && pp_rank >= 0 && pp_rank < pp && c->num_layers % pp == 0, PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP,
          "pipeline-parallel size %d must divide -num_layers %d (each stage holds the same number of layers): choose "
          "-pipeline_model_parallel_size among the divisors of %d", pp, c->num_layers, c->num_layers);
  t->pp = pp, t->pp_rank = pp_rank;
  t->layer_begin = pp_rank * (c->num_layers / pp), t->layer_end = t->layer_begin + c->num_layers / pp;
  const int tied = !c->untie_embeddings_and_output_weights;
  FSCalloc(cap * sizeof *t->p, &t->p);
  FSCheck(c->head_dim > 0 && c->padded_vocab_size > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONGSTATE,
          "model configuration not finalized");
  if (tp > 1)
    FSCheck(c->num_query_groups % tp == 0 && c->num_attention_heads % tp == 0, PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP,
            "heads %d and query groups %d must be divisible by the tensor-parallel size %d", c->num_attention_heads,
            c->num_query_groups, tp);
  s[0] = c->padded_vocab_size, s[1] = c->hidden_size;
  PetscCall(add(t, cap, "model.embed_tokens.weight", FS_P_EMBED, -1, 2, s, FS_TP_VOCAB, FS_INIT_NORMAL, tp, tp_rank,
                tied));
  if (c->position_embedding_type == FS_POS_LEARNED) {
    s[0] = c->max_position_embeddings;
    PetscCall(add(t, cap, "model.embed_positions.weight", FS_P_POS_EMBED, -1, 2, s, FS_TP_REPLICATED, FS_INIT_NORMAL,
                  tp, tp_rank, tied));
  }
  int first_layer_entry = t->n;
  for (int l = 0; l < c->num_layers; l++) {
    for (int i = 0; i < n_layer_specs; i++) {
      const struct layer_spec *ls = &k_layer[i];
      if (!wanted(c, ls->when)) continue;
      shape_of(c, ls->shape, s, &ndim);
      snprintf(name, sizeof name, "model.layers.%d.%s", l, ls->suffix);
      PetscCall(add(t, cap, name, ls->role, l, ndim, s, ls->split, ls->init, tp, tp_rank, tied));
    }
    if (l == 0) t->n_per_layer = t->n - first_layer_entry;
  }
  shape_of(c, SK_C, s, &ndim);
  PetscCall(add(t, cap, "model.norm.weight", FS_P_FINAL_NORM_W, -1, 1, s, FS_TP_REPLICATED, FS_INIT_NORM_WEIGHT, tp,
                tp_rank, tied));
  if (c->normalization == FS_NORM_LAYERNORM)
    PetscCall(add(t, cap, "model.norm.bias", FS_P_FINAL_NORM_B, -1, 1, s, FS_TP_REPLICATED, FS_INIT_ZERO, tp, tp_rank,
                  tied));
  if (c->untie_embeddings_and_output_weights) {
    s[0] = c->padded_vocab_size, s[1] = c->hidden_size;
    PetscCall(add(t, cap, "lm_head.weight", FS_P_LM_HEAD, -1, 2, s, FS_TP_VOCAB, FS_INIT_NORMAL, tp, tp_rank, tied));
  }
  if (c->lora_rank > 0) PetscCall(add_lora(t, cap, c, tp, tp_rank, tied));
  for (int r = 0; r < FS_P_ROLE_COUNT; r++) t->by_role_layer0[r] = -1;
  for (int i = 0; i < t->n; i++)
    if (t->p[i].layer <= 0 && t->by_role_layer0[t->p[i].role] < 0) t->by_role_layer0[t->p[i].role] = i;
  PetscFunctionReturn(PETSC_SUCCESS);
}

void fs_param_table_destroy(struct fs_param_table *t)
{
  free(t->p);
  memset(t, 0, sizeof *t);
}

const struct fs_param *fs_param_find(const struct fs_param_table *t, enum fs_param_role role, int layer)
{
  int i = t->by_role_layer0[role];
  if (i < 0) return NULL;
  if (t->p[i].layer < 0) return layer < 0 ? &t->p[i] : NULL;
  if (layer < 0) return NULL;
  i += layer * (role >= FS_P_LORA_A_Q ? t->n_lora_per_layer : t->n_per_layer);
  return i < t->n && t->p[i].role == role && t->p[i].layer == layer ? &t->p[i] : NULL;
}

const struct fs_param *fs_param_by_name(const struct fs_param_table *t, const char *name)
{
  for (int i = 0; i < t->n; i++)
    if (!strcmp(t->p[i].name, name)) return &t->p[i];
  return NULL;
}
