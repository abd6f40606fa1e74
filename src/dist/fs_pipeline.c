/* fs_pipeline.c -- the 1F1B pipeline schedule over MPI point-to-point messages on pp_comm */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "fs_pipeline.h"

enum { TAG_ACT = 1, TAG_GRAD = 2 };

struct pipe {
  struct fs_model *m;
  int B, T, with_grad, first, last, S;
  int64_t n;            /* elements of one message: Nl * C */
  int32_t *tok, *tgt;   /* (S, B*T): the micro-batches in flight */
  int32_t *pos;         /* (S, B*T): their packed positions (fs_model_set_positions) */
  unsigned char *packed; /* (S): 1 where the slot's micro-batch has positions */
  float *gsend;         /* (S, n): gradients on their way back */
  MPI_Request *act_req, *grad_req; /* (S) */
  fs_pipeline_load_fn load;
  void *ctx;
  double loss;
};

/* the packed positions of the micro-batch in slot s (or none) for the model's next stage call */
static PetscErrorCode use_positions(struct pipe *p, int s)
{
  PetscFunctionBegin;
  PetscCall(fs_model_set_positions(p->m, p->packed[s] ? p->pos + (int64_t)s * p->B * p->T : NULL, p->B, p->T));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode forward_step(struct pipe *p, int64_t k)
{
  struct fs_model *m = p->m;
  const int s = (int)(k % p->S);
  const int64_t N = (int64_t)p->B * p->T;
  const int32_t *tok, *tgt, *pos = NULL;

  PetscFunctionBegin;
  PetscCall(p->load(p->ctx, k, &tok, &tgt, &pos));
  memcpy(p->tok + s * N, tok, N * sizeof(int32_t));
  memcpy(p->tgt + s * N, tgt, N * sizeof(int32_t));
  p->packed[s] = pos != NULL;
  if (pos) memcpy(p->pos + s * N, pos, N * sizeof(int32_t));
  if (!p->first)
    PetscCallMPI(MPI_Recv(fs_model_stage_input(m, s), (int)p->n, MPI_FLOAT, m->pp_rank - 1, TAG_ACT, m->pp_comm,
                          MPI_STATUS_IGNORE));
  /* the output of micro-batch k - S left this slot: its send must be done before the slot is overwritten */
  PetscCallMPI(MPI_Wait(&p->act_req[s], MPI_STATUS_IGNORE));
  PetscCall(use_positions(p, s));
  PetscCall(fs_model_stage_forward(m, s, p->tok + s * N, p->B, p->T));
  if (!p->last)
    PetscCallMPI(MPI_Isend(fs_model_stage_output(m, s), (int)p->n, MPI_FLOAT, m->pp_rank + 1, TAG_ACT, m->pp_comm,
                           &p->act_req[s]));
  else if (!p->with_grad) {
    double l;
    int64_t n_tok;
    PetscCall(fs_model_stage_loss(m, s, p->tgt + s * N, NULL, &l, &n_tok));
    p->loss += l;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode backward_step(struct pipe *p, int64_t k)
{
  struct fs_model *m = p->m;
  const int s = (int)(k % p->S);
  const int64_t N = (int64_t)p->B * p->T;
  double l = 0;
  int64_t n_tok;

  PetscFunctionBegin;
  if (!p->last)
    PetscCallMPI(MPI_Recv(fs_model_stage_grad(m), (int)p->n, MPI_FLOAT, m->pp_rank + 1, TAG_GRAD, m->pp_comm,
                          MPI_STATUS_IGNORE));
  PetscCall(use_positions(p, s));
  PetscCall(fs_model_stage_backward(m, s, p->tok + s * N, p->tgt + s * N, NULL, &l, &n_tok));
  if (p->last) p->loss += l;
  if (!p->first) {
    float *buf = p->gsend + s * p->n;
    PetscCallMPI(MPI_Wait(&p->grad_req[s], MPI_STATUS_IGNORE));
    memcpy(buf, fs_model_stage_grad(m), p->n * sizeof(float));
    PetscCallMPI(MPI_Isend(buf, (int)p->n, MPI_FLOAT, m->pp_rank - 1, TAG_GRAD, m->pp_comm, &p->grad_req[s]));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode schedule(struct pipe *p, int64_t M)
{
  struct fs_model *m = p->m;

  PetscFunctionBegin;
  if (!p->with_grad) {
    for (int64_t k = 0; k < M; k++) PetscCall(forward_step(p, k));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  const int64_t warmup = m->pp - m->pp_rank - 1 < M ? m->pp - m->pp_rank - 1 : M;
  for (int64_t k = 0; k < warmup; k++) PetscCall(forward_step(p, k));
  for (int64_t i = 0; i < M - warmup; i++) { /* steady state: 1F1B */
    PetscCall(forward_step(p, warmup + i));
    PetscCall(backward_step(p, i));
  }
  for (int64_t i = M - warmup; i < M; i++) PetscCall(backward_step(p, i)); /* cool-down */
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_pipeline_run(struct fs_model *m, int64_t n_micro, int B, int T, int with_grad,
                               fs_pipeline_load_fn load, void *ctx, double *loss_sum)
{
  struct pipe p = {0};

  PetscFunctionBegin;
  PetscCall(fs_model_set_batch(m, B, T));
  p.m = m, p.B = B, p.T = T, p.with_grad = with_grad, p.load = load, p.ctx = ctx;
  p.first = m->pp_rank == 0, p.last = m->pp_rank == m->pp - 1, p.S = m->n_slots;
  p.n = m->Nl * m->cfg.hidden_size;
  FSCheck(p.n < INT_MAX, PETSC_COMM_SELF, PETSC_ERR_SUP,
          "pipeline message of %lld elements (micro-batch x sequence x hidden): above 2^31, lower -micro_batch_size",
          (long long)p.n);
  const int64_t N = (int64_t)B * T;
  FSMalloc(p.S * N * sizeof(int32_t), &p.tok);
  FSMalloc(p.S * N * sizeof(int32_t), &p.tgt);
  FSMalloc(p.S * N * sizeof(int32_t), &p.pos);
  FSCalloc(p.S, &p.packed);
  FSMalloc(p.S * sizeof(MPI_Request), &p.act_req);
  FSMalloc(p.S * sizeof(MPI_Request), &p.grad_req);
  for (int s = 0; s < p.S; s++) p.act_req[s] = p.grad_req[s] = MPI_REQUEST_NULL;
  if (with_grad && !p.first) FSMalloc(p.S * p.n * sizeof(float), &p.gsend);
  PetscErrorCode ierr = schedule(&p, n_micro);
  if (!ierr) ierr = MPI_Waitall(p.S, p.act_req, MPI_STATUSES_IGNORE);
  if (!ierr) ierr = MPI_Waitall(p.S, p.grad_req, MPI_STATUSES_IGNORE);
  PetscErrorCode ierr2 = fs_model_set_positions(m, NULL, B, T); /* the buffers below go away */
  if (!ierr) ierr = ierr2;
  free(p.tok), free(p.tgt), free(p.pos), free(p.packed), free(p.act_req), free(p.grad_req), free(p.gsend);
  PetscCall(ierr);
  if (with_grad) PetscCall(fs_pipeline_sync_tied_grads(m));
  /* the loss lives on the last stage */
  PetscCallMPI(MPI_Bcast(&p.loss, 1, MPI_DOUBLE, m->pp - 1, m->pp_comm));
  *loss_sum = p.loss;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_pipeline_sync_tied_grads(struct fs_model *m)
{
  const struct fs_param *p = fs_param_find(&m->table, FS_P_EMBED, -1);
  float *other;

  PetscFunctionBegin;
  if (m->pp == 1 || m->cfg.untie_embeddings_and_output_weights || m->cfg.lora_rank > 0) /* LoRA: frozen */
    PetscFunctionReturn(PETSC_SUCCESS);
  if (m->pp_rank != 0 && m->pp_rank != m->pp - 1) PetscFunctionReturn(PETSC_SUCCESS);
  FSCheck(p && p->held && p->local_n_elem < INT_MAX, PETSC_COMM_SELF, PETSC_ERR_PLIB,
          "tied embedding missing on stage %d", m->pp_rank);
  const int peer = m->pp_rank == 0 ? m->pp - 1 : 0;
  float *g = fs_model_grad_at(m, p->offset);
  FSMalloc(p->local_n_elem * sizeof(float), &other);
  PetscErrorCode ierr = MPI_Sendrecv(g, (int)p->local_n_elem, MPI_FLOAT, peer, 3, other, (int)p->local_n_elem,
                                     MPI_FLOAT, peer, 3, m->pp_comm, MPI_STATUS_IGNORE);
  /* a + b == b + a in floating point: both stages get bit-identical sums */
  if (!ierr) m->ops->add(g, g, other, p->local_n_elem);
  free(other);
  PetscCallMPI(ierr);
  PetscFunctionReturn(PETSC_SUCCESS);
}
