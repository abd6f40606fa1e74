/* fs_model.c -- allocation (parameters of this rank's tensor-parallel slice, activations), initialization,
 * memory accounting.  The layer sequence is in fs_model_layers.c, the vocabulary-parallel parts in
 * fs_model_vocab.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fs_model_impl.h"
#include "fs_collectives.h"
#include "fs_log.h"
#include "fs_rng.h"

PetscErrorCode fs_model_create_pp(const struct fs_model_config *cfg, const struct fs_ops *ops, MPI_Comm tp_comm,
                                  MPI_Comm pp_comm, struct fs_model **out)
{
  struct fs_model *m;
  int tp = 1, tp_rank = 0, pp = 1, pp_rank = 0;

  PetscFunctionBegin;
  *out = NULL;
  if (tp_comm != MPI_COMM_NULL) {
    PetscCallMPI(MPI_Comm_size(tp_comm, &tp));
    PetscCallMPI(MPI_Comm_rank(tp_comm, &tp_rank));
  }
  if (pp_comm != MPI_COMM_NULL) {
    PetscCallMPI(MPI_Comm_size(pp_comm, &pp));
    PetscCallMPI(MPI_Comm_rank(pp_comm, &pp_rank));
  }
  FSCheck(cfg->num_attention_heads % tp == 0 && cfg->num_query_groups % tp == 0, PETSC_COMM_SELF,
          PETSC_ERR_ARG_INCOMP,
          "tensor-parallel size %d must divide the attention heads (%d) and the query groups (%d): each rank computes "
          "whole heads; choose -tensor_model_parallel_size among the common divisors", tp, cfg->num_attention_heads,
          cfg->num_query_groups);
  FSCheck(cfg->ffn_hidden_size % tp == 0, PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP,
          "tensor-parallel size %d must divide -ffn_hidden_size %d", tp, cfg->ffn_hidden_size);
  FSCheck(cfg->padded_vocab_size % tp == 0, PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP,
          "padded vocabulary %d is not divisible by the tensor-parallel size %d: finalize the configuration with "
          "tp = %d", cfg->padded_vocab_size, tp, tp);
  FSCalloc(sizeof *m, &m);
  m->cfg = *cfg;
  m->ops = ops;
  m->tp_comm = tp > 1 ? tp_comm : MPI_COMM_SELF;
  m->tp = tp, m->tp_rank = tp_rank;
  m->sp = cfg->sequence_parallel && tp > 1; /* Megatron too turns it off without tensor parallelism */
  m->pp_comm = pp > 1 ? pp_comm : MPI_COMM_SELF;
  m->pp = pp, m->pp_rank = pp_rank, m->n_slots = pp - pp_rank;
  PetscErrorCode ierr = fs_param_table_create_pp(&m->cfg, tp, tp_rank, pp, pp_rank, &m->table);
  if (ierr) {
    free(m);
    PetscCall(ierr);
  }
  m->layer_begin = m->table.layer_begin, m->layer_end = m->table.layer_end;
  FSCalloc(m->table.n_local * sizeof(float), &m->params);
  m->grad_offset = m->table.trainable_offset; /* LoRA: no gradients for the frozen base tensors */
  FSCalloc(fs_model_grad_n(m) * sizeof(float), &m->grads);
  *out = m;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_model_create_tp(const struct fs_model_config *cfg, const struct fs_ops *ops, MPI_Comm tp_comm,
                                  struct fs_model **out)
{
  return fs_model_create_pp(cfg, ops, tp_comm, MPI_COMM_NULL, out);
}

PetscErrorCode fs_model_create(const struct fs_model_config *cfg, const struct fs_ops *ops, struct fs_model **out)
{
  return fs_model_create_tp(cfg, ops, MPI_COMM_NULL, out);
}

static void free_acts(struct fs_model *m)
{
  FSFree(&m->act_block);
  if (m->slots)
    for (int k = 0; k < m->n_slots; k++) FSFree(&m->slots[k].layer);
  FSFree(&m->slots);
  m->layer = NULL;
  FSFree(&m->recomputed);
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
    case FS_INIT_NORMAL: case FS_INIT_LORA_A: break;
    }
    /* global element index of each local element: the slice this rank holds of the global tensor */
    struct fs_rng_key key = fs_rng_key(seed, p->name);
    int64_t lr = p->local_shape[0], lc = p->local_shape[1];
    int64_t r0 = p->tp_split == FS_TP_COLUMN || p->tp_split == FS_TP_VOCAB ? t->tp_rank * lr : 0;
    int64_t c0 = p->tp_split == FS_TP_ROW ? t->tp_rank * lc : 0;
    const float bound = 1.0f / sqrtf((float)p->shape[1]); /* LoRA A: kaiming_uniform(a = sqrt(5)) */
    for (int64_t r = 0; r < lr; r++) {
      const uint64_t first = (uint64_t)((r0 + r) * p->shape[1] + c0);
      if (p->init == FS_INIT_LORA_A) fs_rng_fill_uniform(w + r * lc, lc, key, first, -bound, bound);
      else fs_rng_fill_normal(w + r * lc, lc, key, first, 0.0f, std);
    }
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
  return p && !p->frozen ? fs_model_grad_at(m, p->offset) : NULL;
}

void fs_model_zero_grad(struct fs_model *m) { memset(m->grads, 0, fs_model_grad_n(m) * sizeof(float)); }

void fs_model_release_grads(struct fs_model *m)
{
  FSFree(&m->grads);
  for (int i = 0; i < m->table.n; i++) m->table.p[i].frozen = 1;
  m->grad_offset = m->table.n_local;
}


void fs_model_dims(const struct fs_model *m, int B, int T, struct fs_model_dims *d)
{
  const struct fs_model_config *c = &m->cfg;
  d->N = (int64_t)B * T;
  d->Nl = m->sp ? d->N / m->tp : d->N;
  d->C = c->hidden_size;
  d->Fl = c->ffn_hidden_size / m->tp;
  d->NHl = c->num_attention_heads / m->tp, d->NKVl = c->num_query_groups / m->tp, d->D = c->head_dim;
  d->Ql = d->NHl * d->D, d->KVl = d->NKVl * d->D;
  d->Vl = c->padded_vocab_size / m->tp, d->v0 = m->tp_rank * d->Vl;
  int true_rows = c->vocab_size - d->v0;
  d->Vv = true_rows < 0 ? 0 : true_rows > d->Vl ? d->Vl : true_rows;
}

void fs_model_use_slot(struct fs_model *m, int k)
{
  struct fs_act_slot *s = &m->slots[k];
  m->xs = s->xs, m->layer = s->layer;
  m->lnf = s->lnf, m->lnf_mean = s->lnf_mean, m->lnf_rstd = s->lnf_rstd, m->losses = s->losses;
}

/* LoRA adapters per layer */
static int n_lora_targets(const struct fs_model_config *c)
{
  int n = 0;
  for (int g = 0; g < FS_LORA_N_TARGETS; g++) n += c->lora_rank > 0 && c->lora_targets >> g & 1;
  return n;
}

/* elements of one layer's activations; selective recomputation shares att and lse instead */
static int64_t layer_elems(const struct fs_model *m, const struct fs_model_dims *d, int B, int T, int with_att)
{
  const int64_t N = d->N, Nl = d->Nl, C = d->C;
  int64_t n = 2 * (N * C + 2 * Nl) + N * d->Ql + 2 * N * d->KVl + Nl * C + 3 * N * d->Fl;
  n += n_lora_targets(&m->cfg) * N * m->cfg.lora_rank;
  if (with_att) n += N * d->Ql + (int64_t)B * d->NHl * T;
  return n;
}

/* scratch for backward: dx, dln_s, xrec (Nl,C); dfull, dtmp, dln (N,C); dq, datt (N,Ql); dk, dv (N,KVl);
 * dgate, dup, dh (N,Fl) */
static int64_t scratch_elems(const struct fs_model_dims *d)
{
  return 3 * d->Nl * d->C + 3 * d->N * d->C + 2 * d->N * d->Ql + 2 * d->N * d->KVl + 3 * d->N * d->Fl;
}

static int is_recomputed(const struct fs_model_config *c, int l)
{
  if (c->recompute_granularity != FS_RECOMPUTE_FULL) return 0;
  /* uniform: every layer (each layer's input is kept, so the group size changes nothing here);
   * block: the first recompute_num_layers layers, the others keep their activations */
  return c->recompute_method == FS_RECOMPUTE_UNIFORM || l < c->recompute_num_layers;
}

PetscErrorCode fs_model_set_positions(struct fs_model *m, const int32_t *pos, int B, int T)
{
  PetscFunctionBegin;
  m->pos = NULL;
  for (int64_t b = 0; pos && b < B; b++)
    for (int64_t t = 0; t < T; t++) {
      const int32_t p = pos[b * T + t];
      FSCheck(p == 0 || (t > 0 && p == pos[b * T + t - 1] + 1), PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
              "packed position %d at row %lld, token %lld: a document starts at 0 and counts up by 1", p,
              (long long)b, (long long)t);
    }
  m->pos = pos;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_model_set_batch(struct fs_model *m, int B, int T)
{
  const struct fs_model_config *c = &m->cfg;
  struct fs_model_dims d;

  PetscFunctionBegin;
  if (m->B == B && m->T == T) PetscFunctionReturn(PETSC_SUCCESS);
  FSCheck(B >= 1 && T >= 1 && T <= c->max_position_embeddings, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
          "batch %d x %d: sequence must be 1..%d", B, T, c->max_position_embeddings);
  FSCheck(!m->sp || ((int64_t)B * T) % m->tp == 0, PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP,
          "sequence parallelism splits the %d x %d tokens of a micro-batch over %d tensor-parallel ranks: make "
          "-micro_batch_size x -seq_length divisible by %d", B, T, m->tp, m->tp);
  free_acts(m);
  fs_model_dims(m, B, T, &d);
  const int L = m->layer_end - m->layer_begin, S = m->n_slots; /* this stage's layers, micro-batches in flight */
  const int64_t N = d.N, Nl = d.Nl, C = d.C, Fl = d.Fl;
  const int selective = c->recompute_granularity == FS_RECOMPUTE_SELECTIVE;
  FSCalloc(L > 0 ? L : 1, &m->recomputed);
  FSCalloc(S * sizeof *m->slots, &m->slots);
  for (int k = 0; k < S; k++) FSCalloc((L > 0 ? L : 1) * sizeof *m->slots[k].layer, &m->slots[k].layer);
  int n_kept = 0, any_full = 0;
  for (int l = 0; l < L; l++) {
    m->recomputed[l] = (unsigned char)is_recomputed(c, l); /* block: the first layers of each stage (Megatron) */
    n_kept += !m->recomputed[l];
    any_full |= m->recomputed[l];
  }
  int64_t shared = any_full ? layer_elems(m, &d, B, T, 1) : selective ? layer_elems(m, &d, B, T, 1) - layer_elems(m, &d, B, T, 0) : 0;
  /* per slot: the residual stream, the kept layers, lnf, lnf_mean, lnf_rstd, losses; shared: recomputation
   * buffers, fwd_tmp, scratch */
  int64_t per_slot = (L + 1) * Nl * C + n_kept * layer_elems(m, &d, B, T, !selective) + N * C + 2 * Nl + N;
  int64_t wide = C > d.Ql ? C : d.Ql, lora_tmp = c->lora_rank > 0 ? N * ((wide > Fl ? wide : Fl) + c->lora_rank) : 0;
  int64_t total = S * per_slot + shared + N * C + Nl * C + scratch_elems(&d) + lora_tmp;
  FSMalloc(total * sizeof(float), &m->act_block);
  float *p = m->act_block;
#define TAKE(ptr, n) ((ptr) = p, p += (n))
  struct fs_layer_acts *r = &m->recompute_acts;
  memset(r, 0, sizeof *r);
  if (any_full || selective) TAKE(r->att, N * d.Ql), TAKE(r->lse, (int64_t)B * d.NHl * T);
  if (any_full) {
    TAKE(r->ln1, N * C), TAKE(r->ln1_mean, Nl), TAKE(r->ln1_rstd, Nl);
    TAKE(r->q, N * d.Ql), TAKE(r->k, N * d.KVl), TAKE(r->v, N * d.KVl);
    TAKE(r->x_mid, Nl * C);
    TAKE(r->ln2, N * C), TAKE(r->ln2_mean, Nl), TAKE(r->ln2_rstd, Nl);
    TAKE(r->gate, N * Fl), TAKE(r->up, N * Fl), TAKE(r->h, N * Fl);
    for (int g = 0; g < FS_LORA_N_TARGETS; g++)
      if (c->lora_rank > 0 && c->lora_targets >> g & 1) TAKE(r->lora[g], N * c->lora_rank);
  }
  for (int k = 0; k < S; k++) {
    struct fs_act_slot *sl = &m->slots[k];
    TAKE(sl->xs, (L + 1) * Nl * C);
    for (int l = 0; l < L; l++) {
      struct fs_layer_acts *a = &sl->layer[l];
      if (m->recomputed[l]) {
        *a = *r;
        continue;
      }
      TAKE(a->ln1, N * C), TAKE(a->ln1_mean, Nl), TAKE(a->ln1_rstd, Nl);
      TAKE(a->q, N * d.Ql), TAKE(a->k, N * d.KVl), TAKE(a->v, N * d.KVl);
      if (selective) a->att = r->att, a->lse = r->lse;
      else TAKE(a->att, N * d.Ql), TAKE(a->lse, (int64_t)B * d.NHl * T);
      TAKE(a->x_mid, Nl * C);
      TAKE(a->ln2, N * C), TAKE(a->ln2_mean, Nl), TAKE(a->ln2_rstd, Nl);
      TAKE(a->gate, N * Fl), TAKE(a->up, N * Fl), TAKE(a->h, N * Fl);
      for (int g = 0; g < FS_LORA_N_TARGETS; g++)
        if (c->lora_rank > 0 && c->lora_targets >> g & 1) TAKE(a->lora[g], N * c->lora_rank);
    }
    TAKE(sl->lnf, N * C), TAKE(sl->lnf_mean, Nl), TAKE(sl->lnf_rstd, Nl), TAKE(sl->losses, N);
  }
  TAKE(m->fwd_tmp, N * C + Nl * C);
  TAKE(m->scratch, scratch_elems(&d));
  m->lora_tmp = NULL;
  if (lora_tmp) TAKE(m->lora_tmp, lora_tmp);
#undef TAKE
  FSCheck(p == m->act_block + total, PETSC_COMM_SELF, PETSC_ERR_PLIB, "activation layout mismatch");
  m->act_n_elem = total;
  m->B = B, m->T = T, m->Nl = Nl;
  fs_model_use_slot(m, 0);
  PetscFunctionReturn(PETSC_SUCCESS);
}

void fs_model_memory_bytes(const struct fs_model *m, struct fs_model_memory *mem)
{
  mem->params = (double)m->table.n_local * sizeof(float);
  mem->grads = (double)fs_model_grad_n(m) * sizeof(float);
  mem->activations = (double)m->act_n_elem * sizeof(float);
}

PetscErrorCode fs_model_grad_sum_squares(const struct fs_model *m, double *sum)
{
  double s[2] = {0, 0}; /* split tensors (summed over ranks), replicated (the same on every rank) */

  PetscFunctionBegin;
  for (int i = 0; i < m->table.n; i++) {
    const struct fs_param *p = &m->table.p[i];
    if (p->pp_copy || p->frozen) continue; /* the first stage counts the tied embedding */
    s[p->tp_split != FS_TP_REPLICATED] += m->ops->sum_squares(fs_model_grad_at(m, p->offset), p->local_n_elem);
  }
  PetscCall(fs_allreduce_sum_double(m->tp_comm, &s[1], 1));
  *sum = s[0] + s[1];
  PetscCall(fs_allreduce_sum_double(m->pp_comm, sum, 1)); /* the stages' parts */
  PetscFunctionReturn(PETSC_SUCCESS);
}

double fs_model_tp_sum_squares(const struct fs_model *m, int64_t first, int64_t n)
{
  double s = 0;
  for (int i = 0; i < m->table.n; i++) {
    const struct fs_param *p = &m->table.p[i];
    int64_t a = p->offset > first ? p->offset : first, b = p->offset + p->local_n_elem;
    if (b > first + n) b = first + n;
    if (a >= b || (p->tp_split == FS_TP_REPLICATED && m->tp_rank) || p->pp_copy || p->frozen) continue;
    s += m->ops->sum_squares(fs_model_grad_at(m, a), b - a);
  }
  return s;
}
