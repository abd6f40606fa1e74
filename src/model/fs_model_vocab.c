/* fs_model_vocab.c -- the vocabulary-parallel parts (Megatron's VocabParallelEmbedding and vocab-parallel
 * cross-entropy).  Rank r holds rows v0 = r*Vl .. v0+Vl-1 of the padded vocabulary; of those only the first Vv are
 * true rows (ids < vocab_size).  Padding rows never enter the softmax, as at TP = 1, so the losses do not depend
 * on the layout.  The logits are never held for all rows: rows go in chunks, and each rank holds (chunk, Vl). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fs_model_impl.h"
#include "fs_collectives.h"

static const float *embed_weight(const struct fs_model *m)
{
  const struct fs_param *p = fs_param_find(&m->table, FS_P_EMBED, -1);
  return m->params + p->offset;
}

void fs_vocab_embedding_forward(const struct fs_model *m, float *out, const int32_t *tokens, int64_t N)
{
  struct fs_model_dims d;
  fs_model_dims(m, 1, 1, &d);
  const float *w = embed_weight(m);
  for (int64_t n = 0; n < N; n++) {
    int64_t t = (int64_t)tokens[n] - d.v0;
    if (t >= 0 && t < d.Vl) memcpy(out + n * d.C, w + t * d.C, d.C * sizeof(float));
    else memset(out + n * d.C, 0, d.C * sizeof(float));
  }
}

void fs_vocab_embedding_backward(const struct fs_model *m, float *dwte, const float *dout, const int32_t *tokens,
                                 int64_t N)
{
  struct fs_model_dims d;
  fs_model_dims(m, 1, 1, &d);
  for (int64_t n = 0; n < N; n++) {
    int64_t t = (int64_t)tokens[n] - d.v0;
    if (t < 0 || t >= d.Vl) continue;
    float *g = dwte + t * d.C;
    const float *s = dout + n * d.C;
    for (int64_t j = 0; j < d.C; j++) g[j] += s[j];
  }
}

/* rows per chunk: the same on every rank (the chunks are collective), about 1M logits held */
static int64_t chunk_rows(const struct fs_model_dims *d, int64_t N)
{
  int64_t R = ((int64_t)1 << 20) / (d->Vl > 0 ? d->Vl : 1);
  return R < 1 ? 1 : R > N ? N : R;
}

PetscErrorCode fs_vocab_xent(const struct fs_model *m, float *losses, float *dinp, float *dweight, const float *inp,
                             const float *weight, const int32_t *targets, const float *row_weight, int64_t N)
{
  struct fs_model_dims d;
  float *lg = NULL, *mx = NULL;
  double *st = NULL;

  PetscFunctionBegin;
  fs_model_dims(m, 1, 1, &d);
  const int64_t C = d.C, Vv = d.Vv, R = chunk_rows(&d, N);
  FSMalloc(R * (Vv > 0 ? Vv : 1) * sizeof(float), &lg);
  FSMalloc(R * sizeof(float), &mx);
  FSMalloc(2 * R * sizeof(double), &st); /* sum of exp, target logit */
  for (int64_t r0 = 0; r0 < N; r0 += R) {
    const int64_t nr = N - r0 < R ? N - r0 : R;
    const float *x = inp + r0 * C;
    if (Vv > 0) m->ops->lmhead_logits(lg, x, weight, nr, (int)C, (int)Vv);
    for (int64_t i = 0; i < nr; i++) {
      float v = -INFINITY;
      for (int64_t j = 0; j < Vv; j++) v = fmaxf(v, lg[i * Vv + j]);
      mx[i] = v;
    }
    PetscCall(fs_allreduce_max(m->tp_comm, mx, nr));
    double *se = st, *tl = st + nr;
    for (int64_t i = 0; i < nr; i++) {
      double s = 0;
      for (int64_t j = 0; j < Vv; j++) s += exp((double)(lg[i * Vv + j] - mx[i]));
      int64_t t = (int64_t)targets[r0 + i] - d.v0;
      se[i] = s;
      tl[i] = targets[r0 + i] >= 0 && t >= 0 && t < Vv ? (double)lg[i * Vv + t] : 0.0;
    }
    PetscCall(fs_allreduce_sum_double(m->tp_comm, st, 2 * nr));
    for (int64_t i = 0; i < nr; i++)
      losses[r0 + i] = targets[r0 + i] >= 0 ? (float)(log(se[i]) + mx[i] - tl[i]) : 0.0f;
    if (!dinp) continue;
    /* dlogits = w * (softmax - onehot(target)), in place over the logits */
    for (int64_t i = 0; i < nr; i++) {
      const int64_t n = r0 + i, t = (int64_t)targets[n] - d.v0;
      const float w = targets[n] >= 0 ? row_weight[n] : 0.0f, inv = (float)(1.0 / se[i]);
      float *g = lg + i * Vv;
      for (int64_t j = 0; j < Vv; j++) g[j] = w * expf(g[j] - mx[i]) * inv;
      if (targets[n] >= 0 && t >= 0 && t < Vv) g[t] -= w;
    }
    if (Vv > 0) m->ops->matmul_backward(dinp + r0 * C, dweight, NULL, lg, x, weight, nr, (int)C, (int)Vv);
    else memset(dinp + r0 * C, 0, nr * C * sizeof(float));
  }
  free(lg), free(mx), free(st);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_vocab_logits(const struct fs_model *m, float *logits, const float *inp, const float *weight,
                               int64_t N)
{
  struct fs_model_dims d;
  float *lg = NULL, *all = NULL;

  PetscFunctionBegin;
  fs_model_dims(m, 1, 1, &d);
  const int64_t C = d.C, Vl = d.Vl, R = chunk_rows(&d, N), V = m->cfg.vocab_size;
  FSCheck(R * Vl <= 0x7fffffff, PETSC_COMM_SELF, PETSC_ERR_SUP, "logits chunk too large");
  FSCalloc(R * Vl * sizeof(float), &lg);
  FSMalloc((size_t)m->tp * R * Vl * sizeof(float), &all);
  for (int64_t r0 = 0; r0 < N; r0 += R) {
    const int64_t nr = N - r0 < R ? N - r0 : R;
    if (d.Vv > 0) m->ops->lmhead_logits(lg, inp + r0 * C, weight, nr, (int)C, d.Vv);
    /* rank q's block (nr, Vl) of row-major (nr, Vv) results; padding columns stay unused */
    PetscCallMPI(MPI_Allgather(lg, (int)(nr * Vl), MPI_FLOAT, all, (int)(nr * Vl), MPI_FLOAT, m->tp_comm));
    for (int q = 0; q < m->tp; q++) {
      int64_t c0 = (int64_t)q * Vl, nv = V - c0 < Vl ? V - c0 : Vl;
      for (int64_t i = 0; i < nr && nv > 0; i++)
        memcpy(logits + (r0 + i) * V + c0, all + (int64_t)q * nr * Vl + i * nv, nv * sizeof(float));
    }
  }
  free(lg), free(all);
  PetscFunctionReturn(PETSC_SUCCESS);
}
