/* fs_infer_forward.c -- the layer sequence of fs_model.c forward_body, token-major over the new tokens of a
 * batch of sequences, attending to the paged KV cache.  Keep it in step with fs_model.c: the parity test
 * (tests/unit/test_infer_forward.c) compares the two at every position. */
#include <stdlib.h>
#include "fs_collectives.h"
#include "fs_infer_forward.h"
#include "fs_infer_kernels.h"
#include "fs_model_impl.h"

void fs_infer_ws_free(struct fs_infer_ws *ws)
{
  float **f[] = {&ws->x, &ws->ln, &ws->mean, &ws->rstd, &ws->q, &ws->k, &ws->v, &ws->att, &ws->tmp, &ws->gate,
                 &ws->up, &ws->h, &ws->rows, &ws->logits};
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) FSFree(f[i]);
  FSFree(&ws->tok_seq);
  FSFree(&ws->pos);
  FSFree(&ws->row_tok);
  ws->cap_tokens = ws->cap_rows = 0;
}

PetscErrorCode fs_infer_cache_create(const struct fs_model *m, size_t max_bytes, int block_size,
                                     struct fs_kv_cache **c)
{
  struct fs_model_config local = m->cfg;

  PetscFunctionBegin;
  local.num_query_groups /= m->tp;
  PetscCall(fs_kv_cache_create(&local, max_bytes, block_size, c));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* sizes of this rank's slice (TP = 1: the whole model) */
static PetscErrorCode ws_reserve(struct fs_infer_ws *ws, const struct fs_model *m, int64_t N, int64_t R)
{
  const struct fs_model_config *c = &m->cfg;
  struct fs_model_dims d;
  fs_model_dims(m, 1, 1, &d);
  const int64_t C = d.C, F = d.Fl, Q = d.Ql, KV = d.KVl;

  PetscFunctionBegin;
  if (N <= ws->cap_tokens && R <= ws->cap_rows) PetscFunctionReturn(PETSC_SUCCESS);
  if (N < ws->cap_tokens) N = ws->cap_tokens;
  if (R < ws->cap_rows) R = ws->cap_rows;
  fs_infer_ws_free(ws);
  FSMalloc(N * C * sizeof(float), &ws->x);
  FSMalloc(N * C * sizeof(float), &ws->ln);
  FSMalloc(N * sizeof(float), &ws->mean);
  FSMalloc(N * sizeof(float), &ws->rstd);
  FSMalloc(N * Q * sizeof(float), &ws->q);
  FSMalloc(N * KV * sizeof(float), &ws->k);
  FSMalloc(N * KV * sizeof(float), &ws->v);
  FSMalloc(N * Q * sizeof(float), &ws->att);
  FSMalloc(N * C * sizeof(float), &ws->tmp);
  FSMalloc(N * F * sizeof(float), &ws->gate);
  FSMalloc(N * F * sizeof(float), &ws->up);
  FSMalloc(N * F * sizeof(float), &ws->h);
  FSMalloc(N * sizeof(int), &ws->tok_seq);
  FSMalloc(N * sizeof(int64_t), &ws->pos);
  FSMalloc(R * C * sizeof(float), &ws->rows);
  FSMalloc(R * c->vocab_size * sizeof(float), &ws->logits);
  FSMalloc(R * sizeof(int64_t), &ws->row_tok);
  ws->cap_tokens = N, ws->cap_rows = R;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void norm(const struct fs_model *m, float *out, float *mean, float *rstd, const float *inp, const float *w,
                 const float *b, int64_t N)
{
  const struct fs_model_config *c = &m->cfg;
  if (c->normalization == FS_NORM_RMSNORM) m->ops->rmsnorm_forward(out, rstd, inp, w, N, c->hidden_size, c->norm_epsilon);
  else m->ops->layernorm_forward(out, mean, rstd, inp, w, b, N, c->hidden_size, c->norm_epsilon);
}

#define P(role, l) fs_model_param(m, (role), (l))

/* out (N,C) = inp (N,K) @ W^T + b for a row-parallel W: partial products summed over tp_comm, the bias once */
static PetscErrorCode row_parallel(struct fs_model *m, float *out, const float *inp, const float *w, const float *b,
                                   int64_t N, int K)
{
  const int64_t C = m->cfg.hidden_size;

  PetscFunctionBegin;
  m->ops->matmul_forward(out, inp, w, m->tp == 1 ? b : NULL, N, K, (int)C);
  if (m->tp > 1) {
    PetscCall(fs_allreduce_sum(m->tp_comm, out, N * C));
    if (b)
      for (int64_t n = 0; n < N; n++)
        for (int64_t j = 0; j < C; j++) out[n * C + j] += b[j];
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_infer_forward(struct fs_infer_ws *ws, struct fs_model *m, struct fs_kv_cache *kc,
                                const struct fs_infer_batch *b, float **logits, int64_t *n_rows)
{
  const struct fs_model_config *c = &m->cfg;
  const struct fs_ops *o = m->ops;
  struct fs_model_dims d;
  fs_model_dims(m, 1, 1, &d);
  const int64_t C = d.C, F = d.Fl;
  const int NH = d.NHl, NKV = d.NKVl, D = d.D; /* this rank's heads (all of them at TP = 1) */
  const int Q = d.Ql, KV = d.KVl, V = c->vocab_size;
  const int rope = c->position_embedding_type == FS_POS_ROPE;
  int64_t N = 0, R = 0;

  PetscFunctionBegin;
  FSCheck(m->pp == 1, PETSC_COMM_SELF, PETSC_ERR_SUP, "inference runs the whole layer stack on every rank: "
          "pipeline parallelism (pp = %d) is not supported", m->pp);
  FSCheck(kc->n_kv_heads == NKV, PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP, "the KV cache holds %d kv heads, this "
          "rank's slice %d: create it with fs_infer_cache_create", kc->n_kv_heads, NKV);
  for (int s = 0; s < b->n_seqs; s++) {
    const struct fs_kv_seq *q = &kc->seq[b->seq[s]];
    FSCheck(b->n_new[s] >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "sequence %d brings %d new tokens", s,
            b->n_new[s]);
    FSCheck(q->in_use && fs_kv_cache_blocks_for(kc, q->len + b->n_new[s]) <= q->n_blocks, PETSC_COMM_SELF,
            PETSC_ERR_ARG_WRONGSTATE, "KV cache sequence %d: room for %lld tokens was not reserved", b->seq[s],
            (long long)(q->len + b->n_new[s]));
    FSCheck(rope || q->len + b->n_new[s] <= c->max_position_embeddings, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
            "sequence of %lld tokens is longer than the model's %d learned positions",
            (long long)(q->len + b->n_new[s]), c->max_position_embeddings);
    N += b->n_new[s];
    R += b->all_logits && b->all_logits[s] ? b->n_new[s] : 1;
  }
  for (int64_t n = 0; n < N; n++)
    FSCheck(b->tokens[n] >= 0 && b->tokens[n] < V, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
            "token id %d is outside the model's vocabulary (0..%d)", b->tokens[n], V - 1);
  PetscCall(ws_reserve(ws, m, N, R));
  for (int s = 0, n = 0, r = 0; s < b->n_seqs; s++) {
    int64_t len = kc->seq[b->seq[s]].len;
    int all = b->all_logits && b->all_logits[s];
    for (int i = 0; i < b->n_new[s]; i++, n++) {
      ws->tok_seq[n] = b->seq[s], ws->pos[n] = len + i;
      if (all || i == b->n_new[s] - 1) ws->row_tok[r++] = n;
    }
  }

  float *x = ws->x, *tmp = ws->tmp;
  if (m->tp == 1) o->embedding_forward(x, b->tokens, P(FS_P_EMBED, -1), N, (int)C);
  else { /* vocabulary-parallel: each rank embeds the tokens of its rows, the sum has them all */
    fs_vocab_embedding_forward(m, x, b->tokens, N);
    PetscCall(fs_allreduce_sum(m->tp_comm, x, N * C));
  }
  if (!rope) fs_infer_position_add(x, P(FS_P_POS_EMBED, -1), ws->pos, N, (int)C);
  for (int l = 0; l < c->num_layers; l++) {
    norm(m, ws->ln, ws->mean, ws->rstd, x, P(FS_P_LN1_W, l), P(FS_P_LN1_B, l), N);
    o->matmul_forward(ws->q, ws->ln, P(FS_P_Q_W, l), P(FS_P_Q_B, l), N, (int)C, Q);
    o->matmul_forward(ws->k, ws->ln, P(FS_P_K_W, l), P(FS_P_K_B, l), N, (int)C, KV);
    o->matmul_forward(ws->v, ws->ln, P(FS_P_V_W, l), P(FS_P_V_B, l), N, (int)C, KV);
    if (rope) {
      fs_infer_rope(ws->q, ws->pos, N, NH, D, c->rotary_base);
      fs_infer_rope(ws->k, ws->pos, N, NKV, D, c->rotary_base);
    }
    fs_infer_kv_store(kc, ws->k, ws->v, ws->tok_seq, ws->pos, N, l);
    fs_infer_paged_attention(ws->att, ws->q, kc, ws->tok_seq, ws->pos, N, NH, l);
    PetscCall(row_parallel(m, tmp, ws->att, P(FS_P_O_W, l), P(FS_P_O_B, l), N, Q));
    o->add(x, x, tmp, N * C); /* x_mid: the residual stream is updated in place (no backward here) */
    norm(m, ws->ln, ws->mean, ws->rstd, x, P(FS_P_LN2_W, l), P(FS_P_LN2_B, l), N);
    o->matmul_forward(ws->up, ws->ln, P(FS_P_UP_W, l), P(FS_P_UP_B, l), N, (int)C, (int)F);
    if (c->swiglu) {
      o->matmul_forward(ws->gate, ws->ln, P(FS_P_GATE_W, l), NULL, N, (int)C, (int)F);
      o->swiglu_forward(ws->h, ws->gate, ws->up, N * F);
    } else o->gelu_forward(ws->h, ws->up, N * F);
    PetscCall(row_parallel(m, tmp, ws->h, P(FS_P_DOWN_W, l), P(FS_P_DOWN_B, l), N, (int)F));
    o->add(x, x, tmp, N * C);
  }
  /* the final norm and the output layer only on the rows whose logits are wanted */
  for (int64_t r = 0; r < R; r++)
    for (int64_t j = 0; j < C; j++) tmp[r * C + j] = x[ws->row_tok[r] * C + j];
  norm(m, ws->rows, ws->mean, ws->rstd, tmp, P(FS_P_FINAL_NORM_W, -1), P(FS_P_FINAL_NORM_B, -1), R);
  const float *w = P(FS_P_LM_HEAD, -1);
  if (m->tp == 1) o->lmhead_logits(ws->logits, ws->rows, w ? w : P(FS_P_EMBED, -1), R, (int)C, V);
  else PetscCall(fs_vocab_logits(m, ws->logits, ws->rows, w ? w : P(FS_P_EMBED, -1), R)); /* gathered: all V */
  for (int s = 0; s < b->n_seqs; s++) kc->seq[b->seq[s]].len += b->n_new[s];
  *logits = ws->logits;
  *n_rows = R;
  PetscFunctionReturn(PETSC_SUCCESS);
}
