/* fs_optimizer.c -- AdamW, gradient norm, clipping */
#include <math.h>
#include <stdlib.h>
#include "fs_optimizer.h"

PetscErrorCode fs_adamw_create(const struct fs_model *m, double beta1, double beta2, double eps, double weight_decay,
                               struct fs_adamw **out)
{
  struct fs_adamw *o;

  PetscFunctionBegin;
  FSCheck(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && eps > 0 && weight_decay >= 0, PETSC_COMM_SELF,
          PETSC_ERR_ARG_OUTOFRANGE, "AdamW needs 0 <= beta1, beta2 < 1, eps > 0, weight_decay >= 0 (got %g %g %g %g)",
          beta1, beta2, eps, weight_decay);
  FSCalloc(sizeof *o, &o);
  o->beta1 = beta1, o->beta2 = beta2, o->eps = eps, o->weight_decay = weight_decay;
  FSCalloc(m->table.n_local * sizeof(float), &o->exp_avg);
  FSCalloc(m->table.n_local * sizeof(float), &o->exp_avg_sq);
  *out = o;
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

double fs_grad_norm(const struct fs_model *m) { return sqrt(m->ops->sum_squares(m->grads, m->table.n_local)); }

double fs_clip_grad(struct fs_model *m, double clip)
{
  double norm = fs_grad_norm(m);
  double coeff = clip / (norm + 1e-6); /* Megatron's rule */
  if (clip > 0 && coeff < 1.0 && isfinite(norm)) m->ops->scale(m->grads, (float)coeff, m->table.n_local);
  return norm;
}

PetscErrorCode fs_adamw_step(struct fs_adamw *o, struct fs_model *m, double lr)
{
  PetscFunctionBegin;
  o->step++;
  for (int i = 0; i < m->table.n; i++) {
    const struct fs_param *p = &m->table.p[i];
    m->ops->adamw_update(m->params + p->offset, o->exp_avg + p->offset, o->exp_avg_sq + p->offset,
                         m->grads + p->offset, p->local_n_elem, (float)lr, (float)o->beta1, (float)o->beta2,
                         (float)o->eps, p->weight_decay ? (float)o->weight_decay : 0.0f, o->step);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
