/* fs_model_lora.c -- LoRA adapters (PEFT's convention): y = x W^T + s (x A^T) B^T with s = alpha / r, A (r, in),
 * B (out, r).  The layer sequence calls fs_lora_forward / fs_lora_backward after each adapted linear layer; with
 * tensor parallelism they work on this rank's slices (fs_param_table.c): a column-parallel layer adds its rows of
 * the output (A replicated, the gradient of A partial over tp_comm), a row-parallel layer adds its share to the
 * partial output that is summed over tp_comm anyway (B replicated, the gradient of B partial).  Merging folds the
 * adapters into the base weights for inference and export. */
#include <stdlib.h>
#include <string.h>
#include "fs_model_impl.h"
#include "fs_log.h"

static float lora_scale(const struct fs_model_config *c) { return c->lora_alpha / (float)c->lora_rank; }

void fs_lora_forward(struct fs_model *m, int l, enum fs_lora_target g, float *out, const float *inp, float *ts,
                     int64_t N)
{
  const struct fs_param *pa = fs_param_find(&m->table, FS_P_LORA_A(g), l), *pb = fs_param_find(&m->table, FS_P_LORA_B(g), l);
  if (!pa) return;
  const int r = m->cfg.lora_rank, in = (int)pa->local_shape[1], od = (int)pb->local_shape[0];
  float *u = m->lora_tmp + N * r;
  m->ops->matmul_forward(ts, inp, m->params + pa->offset, NULL, N, in, r);
  m->ops->scale(ts, lora_scale(&m->cfg), N * r);
  m->ops->matmul_forward(u, ts, m->params + pb->offset, NULL, N, r, od);
  m->ops->add(out, out, u, N * od);
}

void fs_lora_backward(struct fs_model *m, int l, enum fs_lora_target g, float *dinp, const float *dout,
                      const float *inp, const float *ts, int64_t N)
{
  const struct fs_param *pa = fs_param_find(&m->table, FS_P_LORA_A(g), l), *pb = fs_param_find(&m->table, FS_P_LORA_B(g), l);
  if (!pa) return;
  const int r = m->cfg.lora_rank, in = (int)pa->local_shape[1], od = (int)pb->local_shape[0];
  float *dts = m->lora_tmp, *dx = m->lora_tmp + N * r;
  /* ts = s x A^T: dB += dout^T ts, d(ts) = dout B; d(x A^T) = s d(ts): dA += that^T x, dx += that A */
  m->ops->matmul_backward(dts, fs_model_grad_at(m, pb->offset), NULL, dout, ts, m->params + pb->offset, N, r, od);
  m->ops->scale(dts, lora_scale(&m->cfg), N * r);
  m->ops->matmul_backward(dx, fs_model_grad_at(m, pa->offset), NULL, dts, inp, m->params + pa->offset, N, in, r);
  m->ops->add(dinp, dinp, dx, N * in);
}

int fs_lora_partial_grad(const struct fs_model *m, const struct fs_param *p)
{
  return m->tp > 1 && p->lora && p->tp_split == FS_TP_REPLICATED;
}

/* the base weight each target adapts */
static const enum fs_param_role k_base[FS_LORA_N_TARGETS] = {FS_P_Q_W,    FS_P_K_W,  FS_P_V_W,   FS_P_O_W,
                                                             FS_P_GATE_W, FS_P_UP_W, FS_P_DOWN_W};

PetscErrorCode fs_model_lora_merged(const struct fs_model *m, struct fs_model **out)
{
  struct fs_model_config c = m->cfg;
  struct fs_model *w = NULL;
  float *at = NULL, *prod = NULL;

  PetscFunctionBegin;
  *out = NULL;
  FSCheck(m->pp == 1, PETSC_COMM_SELF, PETSC_ERR_SUP, "LoRA merge needs the whole layer stack on each rank");
  c.lora_rank = 0, c.lora_alpha = 0, c.lora_targets = 0;
  /* with tensor parallelism each rank merges its slices: a column-parallel layer's rows of B times the replicated
   * A, a row-parallel layer's replicated B times its columns of A -- exactly its slice of W's update */
  PetscCall(fs_model_create_tp(&c, m->ops, m->tp > 1 ? m->tp_comm : MPI_COMM_NULL, &w));
  FSCheck(w->table.n_local == m->table.trainable_offset, PETSC_COMM_SELF, PETSC_ERR_PLIB, "LoRA merge: layout mismatch");
  memcpy(w->params, m->params, w->table.n_local * sizeof(float)); /* the base tensors come first, in the same order */
  const float s = lora_scale(&m->cfg);
  const int r = m->cfg.lora_rank;
  int64_t max_in = 1, max_w = 1;
  for (int i = 0; i < m->table.n; i++) {
    const struct fs_param *p = &m->table.p[i];
    if (p->lora && p->local_shape[1] > max_in && p->role < FS_P_LORA_B_Q) max_in = p->local_shape[1];
    if (!p->lora && p->ndim == 2 && p->local_n_elem > max_w) max_w = p->local_n_elem;
  }
  PetscErrorCode ierr = fs_malloc_((size_t)(max_in * r) * sizeof(float), (void **)&at, "at");
  if (!ierr) ierr = fs_malloc_((size_t)max_w * sizeof(float), (void **)&prod, "prod");
  for (int i = 0; i < m->table.n && !ierr; i++) {
    const struct fs_param *pa = &m->table.p[i];
    if (!pa->lora || pa->role >= FS_P_LORA_B_Q) continue;
    const enum fs_lora_target g = (enum fs_lora_target)(pa->role - FS_P_LORA_A_Q);
    const struct fs_param *pb = fs_param_find(&m->table, FS_P_LORA_B(g), pa->layer);
    const struct fs_param *pw = fs_param_find(&w->table, k_base[g], pa->layer);
    const int64_t od = pb->local_shape[0], in = pa->local_shape[1];
    const float *A = m->params + pa->offset, *B = m->params + pb->offset;
    float *W = w->params + pw->offset;
    for (int k = 0; k < r; k++) /* A^T (in, r), so that B A = B (A^T)^T is one matmul_forward */
      for (int64_t j = 0; j < in; j++) at[j * r + k] = A[k * in + j];
    m->ops->matmul_forward(prod, B, at, NULL, od, r, (int)in);
    m->ops->scale(prod, s, od * in);
    m->ops->add(W, W, prod, od * in);
  }
  free(at), free(prod);
  if (ierr) fs_model_destroy(&w);
  PetscCall(ierr);
  *out = w;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_model_lora_merge_in_place(struct fs_model **m)
{
  struct fs_model *merged;
  char targets[128];

  PetscFunctionBegin;
  if ((*m)->cfg.lora_rank <= 0) PetscFunctionReturn(PETSC_SUCCESS);
  fs_lora_targets_string((*m)->cfg.lora_targets, targets, sizeof targets);
  PetscCall(fs_model_lora_merged(*m, &merged));
  fs_log_info("LoRA adapters (rank %d, alpha %g, %s) merged into the base weights", (*m)->cfg.lora_rank,
              (double)(*m)->cfg.lora_alpha, targets);
  PetscCall(fs_model_destroy(m));
  *m = merged;
  PetscFunctionReturn(PETSC_SUCCESS);
}
