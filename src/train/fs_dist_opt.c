/* fs_dist_opt.c -- ZeRO-1 sharding of the optimizer over the data-parallel ranks */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fs_dist_opt.h"

PetscErrorCode fs_dist_opt_create(MPI_Comm comm, int64_t n, struct fs_dist_opt **out)
{
  return fs_dist_opt_create_range(comm, 0, n, out);
}

PetscErrorCode fs_dist_opt_create_range(MPI_Comm comm, int64_t first, int64_t n, struct fs_dist_opt **out)
{
  struct fs_dist_opt *d;

  PetscFunctionBegin;
  FSCheck(n >= 0 && n < INT32_MAX, comm, PETSC_ERR_SUP,
          "the distributed optimizer needs fewer than 2^31 parameters per rank (got %lld): use tensor parallelism",
          (long long)n);
  FSCalloc(sizeof *d, &d);
  d->comm = comm, d->first = first, d->n = n;
  PetscCallMPI(MPI_Comm_rank(comm, &d->rank));
  PetscCallMPI(MPI_Comm_size(comm, &d->size));
  FSMalloc(d->size * sizeof(int), &d->counts);
  FSMalloc(d->size * sizeof(int), &d->displs);
  const int64_t S = (n + d->size - 1) / d->size;
  for (int r = 0; r < d->size; r++) {
    int64_t a = r * S < n ? r * S : n, b = (r + 1) * S < n ? (r + 1) * S : n;
    d->displs[r] = (int)a, d->counts[r] = (int)(b - a);
  }
  d->lo = first + d->displs[d->rank], d->hi = d->lo + d->counts[d->rank];
  *out = d;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_dist_opt_destroy(struct fs_dist_opt **d)
{
  PetscFunctionBegin;
  if (*d) {
    free((*d)->counts);
    free((*d)->displs);
    FSFree(d);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_dist_opt_reduce_scatter(const struct fs_dist_opt *d, struct fs_model *m)
{
  PetscFunctionBegin;
  FSCheck(d->first >= m->grad_offset && d->first + d->n <= m->table.n_local, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
          "distributed optimizer range [%lld, %lld) is outside the trainable parameters", (long long)d->first,
          (long long)(d->first + d->n));
  float *g = fs_model_grad_at(m, d->first);
  /* in place: the input is the whole range, the result lands at its start; move it to the shard's place */
  PetscCallMPI(MPI_Reduce_scatter(MPI_IN_PLACE, g, d->counts, MPI_FLOAT, MPI_SUM, d->comm));
  if (d->lo > d->first) memmove(g + (d->lo - d->first), g, (size_t)(d->hi - d->lo) * sizeof(float));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_dist_opt_grad_norm(const struct fs_dist_opt *d, const struct fs_model *m, double *norm)
{
  double local = fs_model_tp_sum_squares(m, d->lo, d->hi - d->lo), sum;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Allreduce(&local, &sum, 1, MPI_DOUBLE, MPI_SUM, d->comm));
  if (m->tp > 1) PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &sum, 1, MPI_DOUBLE, MPI_SUM, m->tp_comm));
  if (m->pp > 1) PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &sum, 1, MPI_DOUBLE, MPI_SUM, m->pp_comm)); /* stages */
  *norm = sqrt(sum);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_dist_opt_allgather(const struct fs_dist_opt *d, float *params)
{
  PetscFunctionBegin;
  PetscCallMPI(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, params + d->first, d->counts, d->displs, MPI_FLOAT,
                              d->comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_dist_opt_gather_range(const struct fs_dist_opt *d, const float *shard, int64_t off, int64_t len,
                                        float *out)
{
  int *cnt, *dsp;

  PetscFunctionBegin;
  FSMalloc(d->size * sizeof(int), &cnt);
  FSMalloc(d->size * sizeof(int), &dsp);
  /* rank r contributes the intersection of [off, off + len) with its shard, at its place in out */
  for (int r = 0; r < d->size; r++) {
    const int64_t s0 = d->first + d->displs[r];
    int64_t a = s0 > off ? s0 : off;
    int64_t b = s0 + d->counts[r] < off + len ? s0 + d->counts[r] : off + len;
    cnt[r] = b > a ? (int)(b - a) : 0;
    dsp[r] = b > a ? (int)(a - off) : 0;
  }
  const float *mine = cnt[d->rank] ? shard + (off + dsp[d->rank] - d->lo) : shard;
  PetscErrorCode ierr = MPI_Allgatherv(mine, cnt[d->rank], MPI_FLOAT, out, cnt, dsp, MPI_FLOAT, d->comm);
  free(cnt), free(dsp);
  PetscCallMPI(ierr);
  PetscFunctionReturn(PETSC_SUCCESS);
}
