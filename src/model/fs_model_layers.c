/* fs_model_layers.c -- the layer sequence: forward as a flat list of op calls, backward as the same list in
 * reverse, with Megatron's tensor-parallel mappings between them:
 *   column-parallel q/k/v/gate/up: input copied (forward), input gradient summed over tp_comm (backward);
 *   row-parallel o/down: partial outputs summed over tp_comm (forward), bias added once after the sum;
 *   sequence parallelism: norms and residual adds on this rank's Nl tokens, all-gather before the column-parallel
 *   layers and reduce-scatter after the row-parallel ones (and the conjugates in backward).
 * The output layer uses only the true vocabulary rows: Megatron's padding rows (which depend on the
 * tensor-parallel size) never enter the softmax, so losses and checkpoints do not depend on the layout.
 * At TP = 1 the op calls are exactly those of the single-rank model (no collective, same order). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fs_model_impl.h"
#include "fs_collectives.h"

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

/* this rank's Nl rows inside a gathered (N,C) buffer */
static float *mine(const struct fs_model *m, float *full, const struct fs_model_dims *d)
{
  return m->sp ? full + m->tp_rank * d->Nl * d->C : full;
}

/* all tokens of a (N,C) buffer whose own rows are filled (sequence parallelism; else nothing to do) */
static PetscErrorCode gather_rows(const struct fs_model *m, float *full, const struct fs_model_dims *d)
{
  PetscFunctionBegin;
  if (m->sp) PetscCall(fs_allgather_inplace(m->tp_comm, full, d->Nl * d->C));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* slice (Nl,C) = sum over ranks of partial (N,C): all-reduce (slice is partial) or reduce-scatter (sequence
 * parallel).  Nothing at TP = 1. */
static PetscErrorCode reduce_rows(const struct fs_model *m, float *slice, float *partial, const struct fs_model_dims *d)
{
  PetscFunctionBegin;
  if (m->sp) PetscCall(fs_reduce_scatter(m->tp_comm, slice, partial, d->Nl * d->C));
  else PetscCall(fs_allreduce_sum(m->tp_comm, partial, d->N * d->C));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* row-parallel linear: out (Nl,C) = sum over ranks of inp (N,K) @ W^T (+ LoRA target g's share), + bias once.
 * Uses m->fwd_tmp. */
static PetscErrorCode row_parallel_forward(struct fs_model *m, float **out, const float *inp, const float *w,
                                           const float *b, int K, const struct fs_model_dims *d, int l,
                                           enum fs_lora_target g, float *lora_ts)
{
  float *part = m->fwd_tmp, *slice = m->sp ? m->fwd_tmp + d->N * d->C : part;

  PetscFunctionBegin;
  m->ops->matmul_forward(part, inp, w, m->tp == 1 ? b : NULL, d->N, K, (int)d->C);
  fs_lora_forward(m, l, g, part, inp, lora_ts, d->N); /* this rank's share, summed with the partial outputs */
  if (m->tp > 1) {
    PetscCall(reduce_rows(m, slice, part, d));
    if (b)
      for (int64_t n = 0; n < d->Nl; n++)
        for (int64_t j = 0; j < d->C; j++) slice[n * d->C + j] += b[j];
  }
  *out = slice;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* one layer: x_out (Nl,C) = layer(x (Nl,C)); activations into a */
static PetscErrorCode layer_forward(struct fs_model *m, int l, struct fs_layer_acts *a, const float *x, float *x_out,
                                    const struct fs_model_dims *d)
{
  const struct fs_model_config *c = &m->cfg;
  const struct fs_ops *o = m->ops;
  const int B = m->B, T = m->T, C = (int)d->C, Fl = (int)d->Fl;
  const int64_t N = d->N, Nl = d->Nl;
  float *y;

  PetscFunctionBegin;
  norm_forward(m, mine(m, a->ln1, d), a->ln1_mean, a->ln1_rstd, x, P(FS_P_LN1_W, l), P(FS_P_LN1_B, l), Nl);
  PetscCall(gather_rows(m, a->ln1, d));
  o->matmul_forward(a->q, a->ln1, P(FS_P_Q_W, l), P(FS_P_Q_B, l), N, C, d->Ql);
  o->matmul_forward(a->k, a->ln1, P(FS_P_K_W, l), P(FS_P_K_B, l), N, C, d->KVl);
  o->matmul_forward(a->v, a->ln1, P(FS_P_V_W, l), P(FS_P_V_B, l), N, C, d->KVl);
  fs_lora_forward(m, l, FS_LORA_Q, a->q, a->ln1, a->lora[FS_LORA_Q], N);
  fs_lora_forward(m, l, FS_LORA_K, a->k, a->ln1, a->lora[FS_LORA_K], N);
  fs_lora_forward(m, l, FS_LORA_V, a->v, a->ln1, a->lora[FS_LORA_V], N);
  if (c->position_embedding_type == FS_POS_ROPE) {
    o->rope_forward(a->q, B, T, d->NHl, d->D, c->rotary_base, 0, m->pos);
    o->rope_forward(a->k, B, T, d->NKVl, d->D, c->rotary_base, 0, m->pos);
  }
  o->attention_forward(a->att, a->lse, a->q, a->k, a->v, B, T, d->NHl, d->NKVl, d->D, m->pos);
  PetscCall(row_parallel_forward(m, &y, a->att, P(FS_P_O_W, l), P(FS_P_O_B, l), d->Ql, d, l, FS_LORA_O,
                                 a->lora[FS_LORA_O]));
  o->add(a->x_mid, x, y, Nl * C);
  norm_forward(m, mine(m, a->ln2, d), a->ln2_mean, a->ln2_rstd, a->x_mid, P(FS_P_LN2_W, l), P(FS_P_LN2_B, l), Nl);
  PetscCall(gather_rows(m, a->ln2, d));
  o->matmul_forward(a->up, a->ln2, P(FS_P_UP_W, l), P(FS_P_UP_B, l), N, C, Fl);
  fs_lora_forward(m, l, FS_LORA_UP, a->up, a->ln2, a->lora[FS_LORA_UP], N);
  if (c->swiglu) {
    o->matmul_forward(a->gate, a->ln2, P(FS_P_GATE_W, l), NULL, N, C, Fl);
    fs_lora_forward(m, l, FS_LORA_GATE, a->gate, a->ln2, a->lora[FS_LORA_GATE], N);
    o->swiglu_forward(a->h, a->gate, a->up, N * Fl);
  } else o->gelu_forward(a->h, a->up, N * Fl);
  PetscCall(row_parallel_forward(m, &y, a->h, P(FS_P_DOWN_W, l), P(FS_P_DOWN_B, l), Fl, d, l, FS_LORA_DOWN,
                                 a->lora[FS_LORA_DOWN]));
  o->add(x_out, a->x_mid, y, Nl * C);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static int first_stage(const struct fs_model *m) { return m->pp_rank == 0; }
static int last_stage(const struct fs_model *m) { return m->pp_rank == m->pp - 1; }

/* the embeddings (first stage): xs[0] (Nl,C) */
static PetscErrorCode embed_forward(struct fs_model *m, const int32_t *tokens, const struct fs_model_dims *d)
{
  const struct fs_model_config *c = &m->cfg;
  const struct fs_ops *o = m->ops;
  const int B = m->B, T = m->T, V = c->vocab_size, rope = c->position_embedding_type == FS_POS_ROPE;
  const int64_t N = d->N, Nl = d->Nl, C = d->C;

  PetscFunctionBegin;
  for (int64_t n = 0; n < N; n++)
    FSCheck(tokens[n] >= 0 && tokens[n] < V, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
            "token id %d at position %lld is outside the vocabulary (0..%d)", tokens[n], (long long)n, V - 1);
  if (m->tp == 1) {
    o->embedding_forward(m->xs, tokens, P(FS_P_EMBED, -1), N, (int)C);
    if (!rope) o->position_forward(m->xs, P(FS_P_POS_EMBED, -1), B, T, (int)C, m->pos);
  } else if (!m->sp) {
    fs_vocab_embedding_forward(m, m->xs, tokens, N);
    PetscCall(fs_allreduce_sum(m->tp_comm, m->xs, N * C));
    if (!rope) o->position_forward(m->xs, P(FS_P_POS_EMBED, -1), B, T, (int)C, m->pos);
  } else {
    fs_vocab_embedding_forward(m, m->fwd_tmp, tokens, N);
    PetscCall(fs_reduce_scatter(m->tp_comm, m->xs, m->fwd_tmp, Nl * C));
    const float *wpe = P(FS_P_POS_EMBED, -1);
    if (!rope)
      for (int64_t n = 0; n < Nl; n++) {
        const int64_t tok = m->tp_rank * Nl + n;
        const float *pe = wpe + (m->pos ? m->pos[tok] : tok % T) * C;
        for (int64_t j = 0; j < C; j++) m->xs[n * C + j] += pe[j];
      }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* this stage's part of the forward into the activations of `slot`: the embeddings (first stage; the others find
 * their input in xs[0]), the stage's layers, the final norm and the gathered lnf (last stage) */
static PetscErrorCode stage_forward(struct fs_model *m, int slot, const int32_t *tokens, int B, int T,
                                    struct fs_model_dims *d)
{
  const int Ls = m->layer_end - m->layer_begin;

  PetscFunctionBegin;
  PetscCall(fs_model_set_batch(m, B, T));
  FSCheck(slot >= 0 && slot < m->n_slots, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
          "activation slot %d: stage %d has %d", slot, m->pp_rank, m->n_slots);
  fs_model_use_slot(m, slot);
  fs_model_dims(m, B, T, d);
  const int64_t Nl = d->Nl, C = d->C;
  if (first_stage(m)) PetscCall(embed_forward(m, tokens, d));
  for (int i = 0; i < Ls; i++)
    PetscCall(layer_forward(m, m->layer_begin + i, &m->layer[i], m->xs + i * Nl * C, m->xs + (i + 1) * Nl * C, d));
  if (last_stage(m)) {
    norm_forward(m, mine(m, m->lnf, d), m->lnf_mean, m->lnf_rstd, m->xs + Ls * Nl * C, P(FS_P_FINAL_NORM_W, -1),
                 P(FS_P_FINAL_NORM_B, -1), Nl);
    PetscCall(gather_rows(m, m->lnf, d));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* the whole model on one stage (pp = 1) */
static PetscErrorCode forward_body(struct fs_model *m, const int32_t *tokens, int B, int T, struct fs_model_dims *d)
{
  PetscFunctionBegin;
  FSCheck(m->pp == 1, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONGSTATE,
          "this model is stage %d of a %d-stage pipeline: run it through the pipeline schedule (fs_pipeline_run)",
          m->pp_rank, m->pp);
  PetscCall(stage_forward(m, 0, tokens, B, T, d));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static float *output_weight(struct fs_model *m)
{
  float *w = P(FS_P_LM_HEAD, -1);
  return w ? w : P(FS_P_EMBED, -1);
}

static float *output_grad(struct fs_model *m)
{
  float *g = G(FS_P_LM_HEAD, -1);
  return g ? g : G(FS_P_EMBED, -1);
}

/* output layer + cross-entropy on the gathered lnf; dln (N,C) = this rank's partial input gradient */
static PetscErrorCode output_loss(struct fs_model *m, float *dln, const int32_t *targets, const float *rw, int64_t N)
{
  PetscFunctionBegin;
  if (m->tp == 1)
    m->ops->lmhead_xent(m->losses, dln, dln ? output_grad(m) : NULL, m->lnf, output_weight(m), targets, rw, N,
                        m->cfg.hidden_size, m->cfg.vocab_size);
  else PetscCall(fs_vocab_xent(m, m->losses, dln, dln ? output_grad(m) : NULL, m->lnf, output_weight(m), targets, rw, N));
  PetscFunctionReturn(PETSC_SUCCESS);
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

/* the loss of the micro-batch whose lnf is current (last stage), without gradients */
static PetscErrorCode loss_only(struct fs_model *m, const int32_t *targets, const float *row_weight, double *loss,
                                int64_t *n_tokens)
{
  const int64_t N = (int64_t)m->B * m->T;
  float *rw_own;

  PetscFunctionBegin;
  PetscCall(make_row_weight(targets, row_weight, N, &rw_own, n_tokens));
  const float *rw = row_weight ? row_weight : rw_own;
  PetscErrorCode ierr = output_loss(m, NULL, targets, rw, N);
  if (!ierr) *loss = weighted_loss(m->losses, targets, rw, N);
  free(rw_own);
  PetscCall(ierr);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_model_forward_loss(struct fs_model *m, const int32_t *tokens, const int32_t *targets,
                                     const float *row_weight, int B, int T, double *loss, int64_t *n_tokens)
{
  struct fs_model_dims d;

  PetscFunctionBegin;
  PetscCall(forward_body(m, tokens, B, T, &d));
  PetscCall(loss_only(m, targets, row_weight, loss, n_tokens));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Gradients that are partial sums over tp_comm: under sequence parallelism each rank's norm-weight gradients cover
 * only its tokens; LoRA adapters replicated over tensor parallelism get each rank's share (fs_model_lora.c).  They
 * are summed over tp_comm after backward.  Only this micro-batch's part is summed (the accumulated part is set
 * aside). */
static int norm_role(enum fs_param_role r)
{
  return r == FS_P_LN1_W || r == FS_P_LN1_B || r == FS_P_LN2_W || r == FS_P_LN2_B || r == FS_P_FINAL_NORM_W ||
         r == FS_P_FINAL_NORM_B;
}

static int partial_grad(const struct fs_model *m, const struct fs_param *p)
{
  return (m->sp && norm_role(p->role) && !p->frozen) || fs_lora_partial_grad(m, p);
}

static PetscErrorCode tp_partial_grads(struct fs_model *m, float **saved, int begin)
{
  const struct fs_param_table *t = &m->table;
  int64_t k = 0;

  PetscFunctionBegin;
  if (begin) {
    int64_t n = 0;
    for (int i = 0; i < t->n; i++) n += partial_grad(m, &t->p[i]) ? t->p[i].local_n_elem : 0;
    FSMalloc((n > 0 ? n : 1) * sizeof(float), saved);
  }
  for (int i = 0; i < t->n; i++) {
    const struct fs_param *p = &t->p[i];
    if (!partial_grad(m, p)) continue;
    float *g = fs_model_grad_at(m, p->offset), *s = *saved + k;
    if (begin) {
      memcpy(s, g, p->local_n_elem * sizeof(float));
      memset(g, 0, p->local_n_elem * sizeof(float));
    } else {
      PetscCall(fs_allreduce_sum(m->tp_comm, g, p->local_n_elem));
      m->ops->add(g, g, s, p->local_n_elem);
    }
    k += p->local_n_elem;
  }
  if (!begin) FSFree(saved);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* the backward of this stage's layers, from dx = dL/dxs[Ls] (Nl,C) down to dL/dxs[0] in dx */
static PetscErrorCode backward_layers(struct fs_model *m, const struct fs_model_dims *d, float *dx, float *dln_s,
                                      float *xrec, float *dfull, float *dtmp, float *dln, float *dq, float *datt,
                                      float *dk, float *dv, float *dgate, float *dup, float *dh)
{
  const struct fs_model_config *c = &m->cfg;
  const struct fs_ops *o = m->ops;
  const int B = m->B, T = m->T, C = (int)d->C, Fl = (int)d->Fl, Ql = d->Ql, KVl = d->KVl;
  const int64_t N = d->N, Nl = d->Nl;
  const int rope = c->position_embedding_type == FS_POS_ROPE;

  PetscFunctionBegin;
  for (int i = m->layer_end - m->layer_begin - 1; i >= 0; i--) {
    const int l = m->layer_begin + i; /* the parameters' layer; activations by the stage's index i */
    struct fs_layer_acts *a = &m->layer[i];
    const float *x = m->xs + i * Nl * C;
    if (m->recomputed[i]) PetscCall(layer_forward(m, l, a, x, xrec, d)); /* full recomputation */
    /* MLP: x_out = x_mid + down(act(ln2(x_mid))); dx holds dL/dx_out; dfull all tokens of it */
    if (m->sp) memcpy(mine(m, dfull, d), dx, Nl * C * sizeof(float));
    PetscCall(gather_rows(m, dfull, d));
    o->matmul_backward(dh, G(FS_P_DOWN_W, l), G(FS_P_DOWN_B, l), dfull, a->h, P(FS_P_DOWN_W, l), N, Fl, C);
    fs_lora_backward(m, l, FS_LORA_DOWN, dh, dfull, a->h, a->lora[FS_LORA_DOWN], N);
    if (c->swiglu) o->swiglu_backward(dgate, dup, dh, a->gate, a->up, N * Fl);
    else o->gelu_backward(dup, dh, a->up, N * Fl);
    o->matmul_backward(dln, G(FS_P_UP_W, l), G(FS_P_UP_B, l), dup, a->ln2, P(FS_P_UP_W, l), N, C, Fl);
    fs_lora_backward(m, l, FS_LORA_UP, dln, dup, a->ln2, a->lora[FS_LORA_UP], N);
    if (c->swiglu) {
      o->matmul_backward(dtmp, G(FS_P_GATE_W, l), NULL, dgate, a->ln2, P(FS_P_GATE_W, l), N, C, Fl);
      o->add(dln, dln, dtmp, N * C);
      fs_lora_backward(m, l, FS_LORA_GATE, dln, dgate, a->ln2, a->lora[FS_LORA_GATE], N);
    }
    PetscCall(reduce_rows(m, dln_s, dln, d)); /* the input gradient of column-parallel layers */
    norm_backward(m, dtmp, G(FS_P_LN2_W, l), G(FS_P_LN2_B, l), dln_s, a->x_mid, P(FS_P_LN2_W, l), a->ln2_mean,
                  a->ln2_rstd, Nl);
    o->add(dx, dx, dtmp, Nl * C); /* dL/dx_mid */
    /* attention: x_mid = x + o_proj(attn(rope(q), rope(k), v)) */
    if (m->sp) memcpy(mine(m, dfull, d), dx, Nl * C * sizeof(float));
    PetscCall(gather_rows(m, dfull, d));
    if (c->recompute_granularity == FS_RECOMPUTE_SELECTIVE) /* the attention core again: out and lse */
      o->attention_forward(a->att, a->lse, a->q, a->k, a->v, B, T, d->NHl, d->NKVl, d->D, m->pos);
    o->matmul_backward(datt, G(FS_P_O_W, l), G(FS_P_O_B, l), dfull, a->att, P(FS_P_O_W, l), N, Ql, C);
    fs_lora_backward(m, l, FS_LORA_O, datt, dfull, a->att, a->lora[FS_LORA_O], N);
    o->attention_backward(dq, dk, dv, datt, a->q, a->k, a->v, a->att, a->lse, B, T, d->NHl, d->NKVl, d->D, m->pos);
    if (rope) {
      o->rope_backward(dq, B, T, d->NHl, d->D, c->rotary_base, 0, m->pos);
      o->rope_backward(dk, B, T, d->NKVl, d->D, c->rotary_base, 0, m->pos);
    }
    o->matmul_backward(dln, G(FS_P_Q_W, l), G(FS_P_Q_B, l), dq, a->ln1, P(FS_P_Q_W, l), N, C, Ql);
    o->matmul_backward(dtmp, G(FS_P_K_W, l), G(FS_P_K_B, l), dk, a->ln1, P(FS_P_K_W, l), N, C, KVl);
    o->add(dln, dln, dtmp, N * C);
    o->matmul_backward(dtmp, G(FS_P_V_W, l), G(FS_P_V_B, l), dv, a->ln1, P(FS_P_V_W, l), N, C, KVl);
    o->add(dln, dln, dtmp, N * C);
    fs_lora_backward(m, l, FS_LORA_Q, dln, dq, a->ln1, a->lora[FS_LORA_Q], N);
    fs_lora_backward(m, l, FS_LORA_K, dln, dk, a->ln1, a->lora[FS_LORA_K], N);
    fs_lora_backward(m, l, FS_LORA_V, dln, dv, a->ln1, a->lora[FS_LORA_V], N);
    PetscCall(reduce_rows(m, dln_s, dln, d));
    norm_backward(m, dtmp, G(FS_P_LN1_W, l), G(FS_P_LN1_B, l), dln_s, x, P(FS_P_LN1_W, l), a->ln1_mean,
                  a->ln1_rstd, Nl);
    o->add(dx, dx, dtmp, Nl * C); /* dL/dx */
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* this stage's backward for the micro-batch whose activations are current: on the last stage the fused output
 * layer + loss first (*loss, *n_tokens), else from dL/d(output) in the scratch's first Nl*C elements; on the first
 * stage down to the embeddings, else dL/d(input) is left there */
static PetscErrorCode stage_backward(struct fs_model *m, const int32_t *tokens, const int32_t *targets,
                                     const float *row_weight, double *loss, int64_t *n_tokens)
{
  const struct fs_model_config *c = &m->cfg;
  const struct fs_ops *o = m->ops;
  const int rope = c->position_embedding_type == FS_POS_ROPE, B = m->B, T = m->T;
  const int Ls = m->layer_end - m->layer_begin;
  struct fs_model_dims d;
  float *saved = NULL;

  PetscFunctionBegin;
  fs_model_dims(m, B, T, &d);
  const int64_t N = d.N, Nl = d.Nl, C = d.C;
  /* backward buffers (see scratch_elems in fs_model.c) */
  float *dx = m->scratch, *dln_s = dx + Nl * C, *xrec = dln_s + Nl * C, *dfull = xrec + Nl * C;
  float *dtmp = dfull + N * C, *dln = dtmp + N * C, *dq = dln + N * C, *datt = dq + N * d.Ql;
  float *dk = datt + N * d.Ql, *dv = dk + N * d.KVl, *dgate = dv + N * d.KVl, *dup = dgate + N * d.Fl;
  float *dh = dup + N * d.Fl;
  if (!m->sp) dln_s = dln, dfull = dx; /* all tokens are here: no gather, and the reduction is in place */
  const int partial = m->sp || (m->tp > 1 && c->lora_rank > 0);
  if (partial) PetscCall(tp_partial_grads(m, &saved, 1));
  if (last_stage(m)) {
    float *rw_own;
    PetscCall(make_row_weight(targets, row_weight, N, &rw_own, n_tokens));
    const float *rw = row_weight ? row_weight : rw_own;
    /* output layer + cross-entropy, fused: its backward runs here, dln = dL/dlnf */
    PetscErrorCode ierr = output_loss(m, dln, targets, rw, N);
    if (!ierr) *loss = weighted_loss(m->losses, targets, rw, N);
    free(rw_own);
    PetscCall(ierr);
    PetscCall(reduce_rows(m, dln_s, dln, &d));
    norm_backward(m, dx, G(FS_P_FINAL_NORM_W, -1), G(FS_P_FINAL_NORM_B, -1), dln_s, m->xs + Ls * Nl * C,
                  P(FS_P_FINAL_NORM_W, -1), m->lnf_mean, m->lnf_rstd, Nl);
  }
  PetscCall(backward_layers(m, &d, dx, dln_s, xrec, dfull, dtmp, dln, dq, datt, dk, dv, dgate, dup, dh));
  if (first_stage(m)) {
    if (m->sp) memcpy(mine(m, dfull, &d), dx, Nl * C * sizeof(float));
    PetscCall(gather_rows(m, dfull, &d));
    if (!rope && G(FS_P_POS_EMBED, -1)) o->position_backward(G(FS_P_POS_EMBED, -1), dfull, B, T, (int)C, m->pos);
    if (!G(FS_P_EMBED, -1)) { /* frozen (LoRA): nothing to do */
    } else if (m->tp == 1) o->embedding_backward(G(FS_P_EMBED, -1), dx, tokens, N, (int)C);
    else fs_vocab_embedding_backward(m, G(FS_P_EMBED, -1), dfull, tokens, N);
  }
  if (partial) PetscCall(tp_partial_grads(m, &saved, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_model_forward_backward(struct fs_model *m, const int32_t *tokens, const int32_t *targets,
                                         const float *row_weight, int B, int T, double *loss, int64_t *n_tokens)
{
  struct fs_model_dims d;

  PetscFunctionBegin;
  PetscCall(forward_body(m, tokens, B, T, &d));
  PetscCall(stage_backward(m, tokens, targets, row_weight, loss, n_tokens));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* pipeline stage pieces (fs_model.h) */
float *fs_model_stage_input(struct fs_model *m, int slot) { return m->slots[slot].xs; }

float *fs_model_stage_output(struct fs_model *m, int slot)
{
  return m->slots[slot].xs + (int64_t)(m->layer_end - m->layer_begin) * m->Nl * m->cfg.hidden_size;
}

float *fs_model_stage_grad(struct fs_model *m) { return m->scratch; }

PetscErrorCode fs_model_stage_forward(struct fs_model *m, int slot, const int32_t *tokens, int B, int T)
{
  struct fs_model_dims d;

  PetscFunctionBegin;
  PetscCall(stage_forward(m, slot, tokens, B, T, &d));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_model_stage_loss(struct fs_model *m, int slot, const int32_t *targets, const float *row_weight,
                                   double *loss, int64_t *n_tokens)
{
  PetscFunctionBegin;
  FSCheck(last_stage(m), PETSC_COMM_SELF, PETSC_ERR_ARG_WRONGSTATE, "the loss is computed on the last stage only");
  fs_model_use_slot(m, slot);
  PetscCall(loss_only(m, targets, row_weight, loss, n_tokens));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_model_stage_backward(struct fs_model *m, int slot, const int32_t *tokens, const int32_t *targets,
                                       const float *row_weight, double *loss, int64_t *n_tokens)
{
  PetscFunctionBegin;
  FSCheck(m->B > 0 && slot >= 0 && slot < m->n_slots, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONGSTATE,
          "stage backward of slot %d before its forward", slot);
  fs_model_use_slot(m, slot);
  PetscCall(stage_backward(m, tokens, targets, row_weight, loss, n_tokens));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_model_logits(struct fs_model *m, const int32_t *tokens, int B, int T, float *logits)
{
  struct fs_model_dims d;

  PetscFunctionBegin;
  PetscCall(forward_body(m, tokens, B, T, &d));
  if (m->tp == 1)
    m->ops->lmhead_logits(logits, m->lnf, output_weight(m), d.N, m->cfg.hidden_size, m->cfg.vocab_size);
  else PetscCall(fs_vocab_logits(m, logits, m->lnf, output_weight(m), d.N));
  PetscFunctionReturn(PETSC_SUCCESS);
}
