/* fs_optimizer.c -- AdamW, gradient norm, clipping */
#include <math.h>
#include <stdlib.h>
#include "fs_optimizer.h"

PetscErrorCode fs_adamw_create_range(const struct fs_model *m, double beta1, double beta2, double eps,
                                     double weight_decay, int64_t lo, int64_t n, struct fs_adamw **out)
{
  struct fs_adamw *o;

  PetscFunctionBegin;
  FSCheck(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && eps > 0 && weight_decay >= 0, PETSC_COMM_SELF,
          PETSC_ERR_ARG_OUTOFRANGE, "AdamW needs 0 <= beta1, beta2 < 1, eps > 0, weight_decay >= 0 (got %g %g %g %g)",
          beta1, beta2, eps, weight_decay);
  FSCheck(lo >= m->grad_offset && n >= 0 && lo + n <= m->table.n_local, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
          "AdamW range [%lld, %lld) is outside the trainable parameters [%lld, %lld)", (long long)lo,
          (long long)(lo + n), (long long)m->grad_offset, (long long)m->table.n_local);
  FSCalloc(sizeof *o, &o);
  o->beta1 = beta1, o->beta2 = beta2, o->eps = eps, o->weight_decay = weight_decay;
  o->lo = lo, o->n = n;
  /* at least one element so that an empty shard still has valid pointers */
  FSCalloc((n > 0 ? n : 1) * sizeof(float), &o->exp_avg);
  FSCalloc((n > 0 ? n : 1) * sizeof(float), &o->exp_avg_sq);
  o->state_bytes = 2 * n * (int64_t)sizeof(float);
  *out = o;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_adamw_create(const struct fs_model *m, double beta1, double beta2, double eps, double weight_decay,
                               struct fs_adamw **out)
{
  PetscFunctionBegin;
  PetscCall(fs_adamw_create_range(m, beta1, beta2, eps, weight_decay, m->grad_offset, fs_model_grad_n(m), out));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_adamw_destroy(struct fs_adamw **o)
{
  PetscFunctionBegin;
  if (*o) {
    free((*o)->exp_avg);
    free((*o)->exp_avg_sq);
    FSFree(o);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

double fs_grad_norm(const struct fs_model *m) { return sqrt(m->ops->sum_squares(m->grads, fs_model_grad_n(m))); }

double fs_clip_grad(struct fs_model *m, double clip)
{
  double norm = fs_grad_norm(m);
  double coeff = clip / (norm + 1e-6); /* Megatron's rule */
  if (clip > 0 && coeff < 1.0 && isfinite(norm)) m->ops->scale(m->grads, (float)coeff, fs_model_grad_n(m));
  return norm;
}

void fs_clip_grad_range(struct fs_model *m, double norm, double clip, int64_t first, int64_t n)
{
  double coeff = clip / (norm + 1e-6); /* Megatron's rule */
  if (clip > 0 && coeff < 1.0 && isfinite(norm) && n > 0) m->ops->scale(fs_model_grad_at(m, first), (float)coeff, n);
}

PetscErrorCode fs_adamw_step(struct fs_adamw *o, struct fs_model *m, double lr)
{
  const int64_t lo = o->lo, hi = o->lo + o->n;

  PetscFunctionBegin;
  o->step++;
  for (int i = 0; i < m->table.n; i++) {
    const struct fs_param *p = &m->table.p[i];
    /* the part of this tensor inside the range: AdamW is element-wise, so a tensor cut by shard boundaries
     * gets exactly the update it would get whole; the weight-decay flag is the tensor's */
    int64_t a = p->offset > lo ? p->offset : lo, b = p->offset + p->local_n_elem < hi ? p->offset + p->local_n_elem : hi;
    if (a >= b) continue;
    m->ops->adamw_update(m->params + a, o->exp_avg + (a - lo), o->exp_avg_sq + (a - lo), fs_model_grad_at(m, a), b - a,
                         (float)lr, (float)o->beta1, (float)o->beta2, (float)o->eps,
                         p->weight_decay ? (float)o->weight_decay : 0.0f, o->step);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
