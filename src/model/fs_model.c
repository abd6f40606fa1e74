/* fs_model.c -- allocation, initialization and the layer sequence (forward as a flat list of op calls, backward
 * as the same list in reverse).
 * The output layer uses only the true vocabulary rows: Megatron's padding rows (which depend on the tensor-parallel
 * size) never enter the softmax, so losses and checkpoints do not depend on the layout. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fs_model.h"
#include "fs_rng.h"

PetscErrorCode fs_model_create(const struct fs_model_config *cfg, const struct fs_ops *ops, struct fs_model **out)
{
  struct fs_model *m;

  PetscFunctionBegin;
  FSCalloc(sizeof *m, &m);
  m->cfg = *cfg;
  m->ops = ops;
  PetscCall(fs_param_table_create(&m->cfg, 1, 0, &m->table));
  FSCalloc(m->table.n_local * sizeof(float), &m->params);
  FSCalloc(m->table.n_local * sizeof(float), &m->grads);
  *out = m;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void free_acts(struct fs_model *m)
{
  FSFree(&m->act_block);
  FSFree(&m->layer);
  m->B = m->T = 0;
}

PetscErrorCode fs_model_destroy(struct fs_model **m)
{
  PetscFunctionBegin;
  if (!*m) PetscFunctionReturn(PETSC_SUCCESS);
  free_acts(*m);
  free((*m)->params);
  free((*m)->grads);
  fs_param_table_destroy(&(*m)->table);
  FSFree(m);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_model_init_params(struct fs_model *m, uint64_t seed)
{
  const struct fs_model_config *c = &m->cfg;
  const struct fs_param_table *t = &m->table;

  PetscFunctionBegin;
  for (int i = 0; i < t->n; i++) {
    const struct fs_param *p = &t->p[i];
    float *w = m->params + p->offset;
    float std = c->init_method_std;
    switch (p->init) {
    case FS_INIT_ZERO: memset(w, 0, p->local_n_elem * sizeof(float)); continue;
    case FS_INIT_NORM_WEIGHT:
      for (int64_t j = 0; j < p->local_n_elem; j++) w[j] = c->norm_init_weight;
      continue;
    case FS_INIT_SCALED_NORMAL: std = c->init_method_std / sqrtf(2.0f * (float)c->num_layers); break;
    case FS_INIT_NORMAL: break;
    }
    /* global element index of each local element: the slice this rank holds of the global tensor */
    struct fs_rng_key key = fs_rng_key(seed, p->name);
    int64_t lr = p->local_shape[0], lc = p->local_shape[1];
    int64_t r0 = p->tp_split == FS_TP_COLUMN || p->tp_split == FS_TP_VOCAB ? t->tp_rank * lr : 0;
    int64_t c0 = p->tp_split == FS_TP_ROW ? t->tp_rank * lc : 0;
    for (int64_t r = 0; r < lr; r++)
      fs_rng_fill_normal(w + r * lc, lc, key, (uint64_t)((r0 + r) * p->shape[1] + c0), 0.0f, std);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

float *fs_model_param(struct fs_model *m, enum fs_param_role role, int layer)
{
  const struct fs_param *p = fs_param_find(&m->table, role, layer);
  return p ? m->params + p->offset : NULL;
}

float *fs_model_grad(struct fs_model *m, enum fs_param_role role, int layer)
{
  const struct fs_param *p = fs_param_find(&m->table, role, layer);
  return p ? m->grads + p->offset : NULL;
}

void fs_model_zero_grad(struct fs_model *m) { memset(m->grads, 0, m->table.n_local * sizeof(float)); }

/* scratch for backward: dx, dtmp, dln (N,C); dq/datt (N,Q); dk, dv (N,KV); dgate, dup, dh (N,F) */
static int64_t scratch_elems(const struct fs_model_config *c, int64_t N)
{
  int64_t C = c->hidden_size, Q = (int64_t)c->num_attention_heads * c->head_dim;
  int64_t KV = (int64_t)c->num_query_groups * c->head_dim, F = c->ffn_hidden_size;
  return N * (3 * C + 2 * Q + 2 * KV + 3 * F);
}

PetscErrorCode fs_model_set_batch(struct fs_model *m, int B, int T)
{
  const struct fs_model_config *c = &m->cfg;

  PetscFunctionBegin;
  if (m->B == B && m->T == T) PetscFunctionReturn(PETSC_SUCCESS);
  FSCheck(B >= 1 && T >= 1 && T <= c->max_position_embeddings, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
          "batch %d x %d: sequence must be 1..%d", B, T, c->max_position_embeddings);
  free_acts(m);
  int64_t N = (int64_t)B * T, C = c->hidden_size, L = c->num_layers, F = c->ffn_hidden_size;
  int64_t Q = (int64_t)c->num_attention_heads * c->head_dim, KV = (int64_t)c->num_query_groups * c->head_dim;
  int64_t per_layer = N * (2 * C + 2 + Q + 2 * KV + Q + C + 2 + 3 * F) + (int64_t)B * c->num_attention_heads * T;
  int64_t total = (L + 1) * N * C + L * per_layer + N * (C + 3) + scratch_elems(c, N);
  FSMalloc(total * sizeof(float), &m->act_block);
  FSCalloc(L * sizeof *m->layer, &m->layer);
  float *p = m->act_block;
#define TAKE(ptr, n) ((ptr) = p, p += (n))
  TAKE(m->xs, (L + 1) * N * C);
  for (int l = 0; l < L; l++) {
    struct fs_layer_acts *a = &m->layer[l];
    TAKE(a->ln1, N * C), TAKE(a->ln1_mean, N), TAKE(a->ln1_rstd, N);
    TAKE(a->q, N * Q), TAKE(a->k, N * KV), TAKE(a->v, N * KV);
    TAKE(a->att, N * Q), TAKE(a->lse, (int64_t)B * c->num_attention_heads * T);
    TAKE(a->x_mid, N * C);
    TAKE(a->ln2, N * C), TAKE(a->ln2_mean, N), TAKE(a->ln2_rstd, N);
    TAKE(a->gate, N * F), TAKE(a->up, N * F), TAKE(a->h, N * F);
  }
  TAKE(m->lnf, N * C), TAKE(m->lnf_mean, N), TAKE(m->lnf_rstd, N), TAKE(m->losses, N);
  TAKE(m->scratch, scratch_elems(c, N));
#undef TAKE
  m->act_n_elem = total;
  m->B = B, m->T = T;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void norm_forward(const struct fs_model *m, float *out, float *mean, float *rstd, const float *inp,
                         const float *w, const float *b, int64_t N)
{
  const struct fs_model_config *c = &m->cfg;
  if (c->normalization == FS_NORM_RMSNORM) m->ops->rmsnorm_forward(out, rstd, inp, w, N, c->hidden_size, c->norm_epsilon);
  else m->ops->layernorm_forward(out, mean, rstd, inp, w, b, N, c->hidden_size, c->norm_epsilon);
}

static void norm_backward(const struct fs_model *m, float *dinp, float *dw, float *db, const float *dout,
                          const float *inp, const float *w, const float *mean, const float *rstd, int64_t N)
{
  const struct fs_model_config *c = &m->cfg;
  if (c->normalization == FS_NORM_RMSNORM) m->ops->rmsnorm_backward(dinp, dw, dout, inp, w, rstd, N, c->hidden_size);
  else m->ops->layernorm_backward(dinp, dw, db, dout, inp, w, mean, rstd, N, c->hidden_size);
}

#define P(role, l) fs_model_param(m, (role), (l))
#define G(role, l) fs_model_grad(m, (role), (l))

/* embeddings and all layers up to the final norm: fills the activations, returns lnf */
static PetscErrorCode forward_body(struct fs_model *m, const int32_t *tokens, int B, int T)
{
  const struct fs_model_config *c = &m->cfg;
  const struct fs_ops *o = m->ops;
  const int64_t N = (int64_t)B * T, C = c->hidden_size, F = c->ffn_hidden_size;
  const int NH = c->num_attention_heads, NKV = c->num_query_groups, D = c->head_dim;
  const int Q = NH * D, KV = NKV * D, V = c->vocab_size;
  const int rope = c->position_embedding_type == FS_POS_ROPE;

  PetscFunctionBegin;
  PetscCall(fs_model_set_batch(m, B, T));
  for (int64_t n = 0; n < N; n++)
    FSCheck(tokens[n] >= 0 && tokens[n] < V, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
            "token id %d at position %lld is outside the vocabulary (0..%d)", tokens[n], (long long)n, V - 1);
  float *tmp = m->scratch; /* (N,C) */
  o->embedding_forward(m->xs, tokens, P(FS_P_EMBED, -1), N, (int)C);
  if (!rope) o->position_forward(m->xs, P(FS_P_POS_EMBED, -1), B, T, (int)C);
  for (int l = 0; l < c->num_layers; l++) {
    struct fs_layer_acts *a = &m->layer[l];
    float *x = m->xs + l * N * C, *x_out = m->xs + (l + 1) * N * C;
    norm_forward(m, a->ln1, a->ln1_mean, a->ln1_rstd, x, P(FS_P_LN1_W, l), P(FS_P_LN1_B, l), N);
    o->matmul_forward(a->q, a->ln1, P(FS_P_Q_W, l), P(FS_P_Q_B, l), N, (int)C, Q);
    o->matmul_forward(a->k, a->ln1, P(FS_P_K_W, l), P(FS_P_K_B, l), N, (int)C, KV);
    o->matmul_forward(a->v, a->ln1, P(FS_P_V_W, l), P(FS_P_V_B, l), N, (int)C, KV);
    if (rope) {
      o->rope_forward(a->q, B, T, NH, D, c->rotary_base, 0);
      o->rope_forward(a->k, B, T, NKV, D, c->rotary_base, 0);
    }
    o->attention_forward(a->att, a->lse, a->q, a->k, a->v, B, T, NH, NKV, D);
    o->matmul_forward(tmp, a->att, P(FS_P_O_W, l), P(FS_P_O_B, l), N, Q, (int)C);
    o->add(a->x_mid, x, tmp, N * C);
    norm_forward(m, a->ln2, a->ln2_mean, a->ln2_rstd, a->x_mid, P(FS_P_LN2_W, l), P(FS_P_LN2_B, l), N);
    o->matmul_forward(a->up, a->ln2, P(FS_P_UP_W, l), P(FS_P_UP_B, l), N, (int)C, (int)F);
    if (c->swiglu) {
      o->matmul_forward(a->gate, a->ln2, P(FS_P_GATE_W, l), NULL, N, (int)C, (int)F);
      o->swiglu_forward(a->h, a->gate, a->up, N * F);
    } else o->gelu_forward(a->h, a->up, N * F);
    o->matmul_forward(tmp, a->h, P(FS_P_DOWN_W, l), P(FS_P_DOWN_B, l), N, (int)F, (int)C);
    o->add(x_out, a->x_mid, tmp, N * C);
  }
  norm_forward(m, m->lnf, m->lnf_mean, m->lnf_rstd, m->xs + c->num_layers * N * C, P(FS_P_FINAL_NORM_W, -1),
               P(FS_P_FINAL_NORM_B, -1), N);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static const float *output_weight(struct fs_model *m)
{
  float *w = P(FS_P_LM_HEAD, -1);
  return w ? w : P(FS_P_EMBED, -1);
}

static float *output_grad(struct fs_model *m)
{
  float *g = G(FS_P_LM_HEAD, -1);
  return g ? g : G(FS_P_EMBED, -1);
}

/* default row weights 1/count over unmasked targets; returns the count */
static PetscErrorCode make_row_weight(const int32_t *targets, const float *row_weight, int64_t N, float **rw_out,
                                      int64_t *count)
{
  PetscFunctionBegin;
  *count = 0;
  for (int64_t n = 0; n < N; n++) *count += targets[n] >= 0;
  *rw_out = NULL;
  if (row_weight) PetscFunctionReturn(PETSC_SUCCESS);
  FSMalloc(N * sizeof(float), rw_out);
  for (int64_t n = 0; n < N; n++) (*rw_out)[n] = targets[n] >= 0 && *count ? 1.0f / (float)*count : 0.0f;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static double weighted_loss(const float *losses, const int32_t *targets, const float *rw, int64_t N)
{
  double L = 0;
  for (int64_t n = 0; n < N; n++)
    if (targets[n] >= 0) L += (double)rw[n] * losses[n];
  return L;
}

PetscErrorCode fs_model_forward_loss(struct fs_model *m, const int32_t *tokens, const int32_t *targets,
                                     const float *row_weight, int B, int T, double *loss, int64_t *n_tokens)
{
  const int64_t N = (int64_t)B * T;
  float *rw_own;

  PetscFunctionBegin;
  PetscCall(forward_body(m, tokens, B, T));
  PetscCall(make_row_weight(targets, row_weight, N, &rw_own, n_tokens));
  const float *rw = row_weight ? row_weight : rw_own;
  m->ops->lmhead_xent(m->losses, NULL, NULL, m->lnf, output_weight(m), targets, rw, N, m->cfg.hidden_size,
                      m->cfg.vocab_size);
  *loss = weighted_loss(m->losses, targets, rw, N);
  free(rw_own);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_model_forward_backward(struct fs_model *m, const int32_t *tokens, const int32_t *targets,
                                         const float *row_weight, int B, int T, double *loss, int64_t *n_tokens)
{
  const struct fs_model_config *c = &m->cfg;
  const struct fs_ops *o = m->ops;
  const int64_t N = (int64_t)B * T, C = c->hidden_size, F = c->ffn_hidden_size;
  const int NH = c->num_attention_heads, NKV = c->num_query_groups, D = c->head_dim;
  const int Q = NH * D, KV = NKV * D;
  const int rope = c->position_embedding_type == FS_POS_ROPE;
  float *rw_own;

  PetscFunctionBegin;
  PetscCall(forward_body(m, tokens, B, T));
  PetscCall(make_row_weight(targets, row_weight, N, &rw_own, n_tokens));
  const float *rw = row_weight ? row_weight : rw_own;
  /* backward buffers (see scratch_elems) */
  float *dx = m->scratch, *dtmp = dx + N * C, *dln = dtmp + N * C, *dq = dln + N * C, *datt = dq + N * Q;
  float *dk = datt + N * Q, *dv = dk + N * KV, *dgate = dv + N * KV, *dup = dgate + N * F, *dh = dup + N * F;
  /* output layer + cross-entropy, fused: its backward runs here, dln = dL/dlnf */
  o->lmhead_xent(m->losses, dln, output_grad(m), m->lnf, output_weight(m), targets, rw, N, (int)C, c->vocab_size);
  *loss = weighted_loss(m->losses, targets, rw, N);
  free(rw_own);
  norm_backward(m, dx, G(FS_P_FINAL_NORM_W, -1), G(FS_P_FINAL_NORM_B, -1), dln, m->xs + c->num_layers * N * C,
                P(FS_P_FINAL_NORM_W, -1), m->lnf_mean, m->lnf_rstd, N);
  for (int l = c->num_layers - 1; l >= 0; l--) {
    struct fs_layer_acts *a = &m->layer[l];
    const float *x = m->xs + l * N * C;
    /* MLP: x_out = x_mid + down(act(ln2(x_mid))); dx holds dL/dx_out */
    o->matmul_backward(dh, G(FS_P_DOWN_W, l), G(FS_P_DOWN_B, l), dx, a->h, P(FS_P_DOWN_W, l), N, (int)F, (int)C);
    if (c->swiglu) o->swiglu_backward(dgate, dup, dh, a->gate, a->up, N * F);
    else o->gelu_backward(dup, dh, a->up, N * F);
    o->matmul_backward(dln, G(FS_P_UP_W, l), G(FS_P_UP_B, l), dup, a->ln2, P(FS_P_UP_W, l), N, (int)C, (int)F);
    if (c->swiglu) {
      o->matmul_backward(dtmp, G(FS_P_GATE_W, l), NULL, dgate, a->ln2, P(FS_P_GATE_W, l), N, (int)C, (int)F);
      o->add(dln, dln, dtmp, N * C);
    }
    norm_backward(m, dtmp, G(FS_P_LN2_W, l), G(FS_P_LN2_B, l), dln, a->x_mid, P(FS_P_LN2_W, l), a->ln2_mean,
                  a->ln2_rstd, N);
    o->add(dx, dx, dtmp, N * C); /* dL/dx_mid */
    /* attention: x_mid = x + o_proj(attn(rope(q), rope(k), v)) */
    o->matmul_backward(datt, G(FS_P_O_W, l), G(FS_P_O_B, l), dx, a->att, P(FS_P_O_W, l), N, Q, (int)C);
    o->attention_backward(dq, dk, dv, datt, a->q, a->k, a->v, a->att, a->lse, B, T, NH, NKV, D);
    if (rope) {
      o->rope_backward(dq, B, T, NH, D, c->rotary_base, 0);
      o->rope_backward(dk, B, T, NKV, D, c->rotary_base, 0);
    }
    o->matmul_backward(dln, G(FS_P_Q_W, l), G(FS_P_Q_B, l), dq, a->ln1, P(FS_P_Q_W, l), N, (int)C, Q);
    o->matmul_backward(dtmp, G(FS_P_K_W, l), G(FS_P_K_B, l), dk, a->ln1, P(FS_P_K_W, l), N, (int)C, KV);
    o->add(dln, dln, dtmp, N * C);
    o->matmul_backward(dtmp, G(FS_P_V_W, l), G(FS_P_V_B, l), dv, a->ln1, P(FS_P_V_W, l), N, (int)C, KV);
    o->add(dln, dln, dtmp, N * C);
    norm_backward(m, dtmp, G(FS_P_LN1_W, l), G(FS_P_LN1_B, l), dln, x, P(FS_P_LN1_W, l), a->ln1_mean, a->ln1_rstd, N);
    o->add(dx, dx, dtmp, N * C); /* dL/dx */
  }
  if (!rope) o->position_backward(G(FS_P_POS_EMBED, -1), dx, B, T, (int)C);
  o->embedding_backward(G(FS_P_EMBED, -1), dx, tokens, N, (int)C);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_model_logits(struct fs_model *m, const int32_t *tokens, int B, int T, float *logits)
{
  PetscFunctionBegin;
  PetscCall(forward_body(m, tokens, B, T));
  m->ops->lmhead_logits(logits, m->lnf, output_weight(m), (int64_t)B * T, m->cfg.hidden_size, m->cfg.vocab_size);
  PetscFunctionReturn(PETSC_SUCCESS);
}
