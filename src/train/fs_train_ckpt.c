/* fs_train_ckpt.c -- training state <-> checkpoint */
#include <config.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include "fs_train_ckpt.h"
#include "fs_ckpt.h"
#include "fs_model_io.h"
#include "fs_log.h"

/* the optimizer state of tensor p as the full local tensor: a view into the replicated state, or (distributed
 * optimizer) gathered from the shards into tmp -- a shard may cut the tensor anywhere, even inside a row, so the
 * whole tensor is assembled before fs_model_write_tensor writes this rank's rows of it */
static PetscErrorCode state_of(struct fs_trainer *t, const struct fs_param *p, const float *state, float *tmp,
                               const float **out)
{
  PetscFunctionBegin;
  if (t->dist) {
    PetscCall(fs_dist_opt_gather_range(t->dist, state, p->offset, p->local_n_elem, tmp));
    *out = tmp;
  } else *out = state + (p->offset - t->opt->lo);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static int64_t largest_tensor(const struct fs_model *m)
{
  int64_t n = 1;
  for (int i = 0; i < m->table.n; i++)
    if (m->table.p[i].local_n_elem > n) n = m->table.p[i].local_n_elem;
  return n;
}

static PetscErrorCode write_optimizer(struct fs_ckpt_writer *w, struct fs_trainer *t)
{
  struct fs_model *m = t->model;
  char name[256];
  float *tmp = NULL;
  const float *data = NULL;
  PetscErrorCode ierr = PETSC_SUCCESS;

  PetscFunctionBegin;
  if (t->dist) FSMalloc(largest_tensor(m) * sizeof(float), &tmp);
  for (int i = 0; i < m->table.n && !ierr; i++) {
    const struct fs_param *p = &m->table.p[i];
    const float *states[2] = {t->opt->exp_avg, t->opt->exp_avg_sq};
    const char *what[2] = {"exp_avg", "exp_avg_sq"};
    if (p->frozen) continue; /* LoRA: no optimizer state */
    for (int k = 0; k < 2 && !ierr; k++) {
      snprintf(name, sizeof name, "/optimizer/%s/%s", p->name, what[k]);
      ierr = state_of(t, p, states[k], tmp, &data);
      if (!ierr) ierr = fs_model_write_tensor(w, m, p, name, FS_DTYPE_F32, data, t->dp_rank, t->dp_size);
    }
  }
  free(tmp);
  PetscCall(ierr);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* reads /optimizer/<name>/... of every tensor (global tensors: any data-parallel size and either optimizer wrote
 * them) and keeps the part in this rank's state range (all of it without the distributed optimizer) */
static PetscErrorCode read_optimizer(struct fs_ckpt_reader *r, struct fs_trainer *t)
{
  struct fs_model *m = t->model;
  struct fs_adamw *o = t->opt;
  char name[256];
  float *tmp = NULL;
  PetscErrorCode ierr = PETSC_SUCCESS;

  PetscFunctionBegin;
  if (t->dist) FSMalloc(largest_tensor(m) * sizeof(float), &tmp);
  for (int i = 0; i < m->table.n && !ierr; i++) {
    const struct fs_param *p = &m->table.p[i];
    float *states[2] = {o->exp_avg, o->exp_avg_sq};
    const char *what[2] = {"exp_avg", "exp_avg_sq"};
    int64_t a = p->offset > o->lo ? p->offset : o->lo;
    int64_t b = p->offset + p->local_n_elem < o->lo + o->n ? p->offset + p->local_n_elem : o->lo + o->n;
    if (p->frozen) continue;
    for (int k = 0; k < 2 && !ierr; k++) {
      snprintf(name, sizeof name, "/optimizer/%s/%s", p->name, what[k]);
      /* collective: every rank reads, also when its shard misses this tensor */
      ierr = fs_model_read_tensor(r, m, p, name, t->dist ? tmp : states[k] + (p->offset - o->lo));
      if (!ierr && t->dist && a < b)
        memcpy(states[k] + (a - o->lo), tmp + (a - p->offset), (size_t)(b - a) * sizeof(float));
    }
  }
  free(tmp);
  PetscCall(ierr);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode write_all(struct fs_ckpt_writer *w, struct fs_trainer *t)
{
  struct fs_model *m = t->model;

  PetscFunctionBegin;
  PetscCall(fs_ckpt_set_attr_int64(w, "iteration", t->iteration));
  PetscCall(fs_ckpt_set_attr_int64(w, "consumed_train_samples", t->consumed_train_samples));
  PetscCall(fs_ckpt_set_attr_int64(w, "consumed_valid_samples", t->consumed_valid_samples));
  PetscCall(fs_ckpt_set_attr_int64(w, "skipped_iterations", t->skipped_iters));
  PetscCall(fs_ckpt_set_attr_int64(w, "nan_iterations", t->nan_iters));
  PetscCall(fs_ckpt_set_attr_int64(w, "optimizer_step", t->opt->step));
  PetscCall(fs_ckpt_set_attr_int64(w, "seed", t->args.seed));
  PetscCall(fs_ckpt_set_attr_string(w, "library_version", PACKAGE_VERSION));
  if (t->tokenizer_json[0]) PetscCall(fs_ckpt_set_attr_string(w, "tokenizer", t->tokenizer_json));
  PetscCall(fs_model_write(w, m, FS_DTYPE_F32, t->dp_rank, t->dp_size));
  PetscCall(write_optimizer(w, t));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_train_save(struct fs_trainer *t, const char *dir, int keep)
{
  char path[4096];
  struct fs_ckpt_writer *w = NULL;

  PetscFunctionBegin;
  int wrank;
  PetscCallMPI(MPI_Comm_rank(t->world, &wrank));
  if (!wrank) FSCallSys(mkdir(dir, 0755) && errno != EEXIST ? -1 : 0, dir);
  PetscCallMPI(MPI_Barrier(t->world));
  PetscCall(fs_ckpt_path(path, sizeof path, dir, t->iteration));
  fs_log_info("saving checkpoint at iteration %lld to %s", (long long)t->iteration, path);
  PetscCall(fs_ckpt_create(t->world, path, &w));
  PetscErrorCode ierr = write_all(w, t);
  if (ierr) {
    fs_ckpt_abort(&w);
    PetscCall(ierr);
  }
  PetscCall(fs_ckpt_finish(&w));
  PetscCall(fs_ckpt_write_tracker(t->world, dir, t->iteration));
  if (keep > 0) PetscCall(fs_ckpt_prune(t->world, dir, keep, NULL));
  t->last_saved_iteration = t->iteration;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode read_all(struct fs_ckpt_reader *r, struct fs_trainer *t, const struct fs_load_flags *f,
                               const char *path)
{
  struct fs_model *m = t->model;
  int64_t v;

  PetscFunctionBegin;
  PetscCall(fs_model_read(r, m, path));
  if (f->finetune) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(fs_ckpt_get_attr_int64(r, "iteration", &t->iteration));
  PetscCall(fs_ckpt_get_attr_int64(r, "consumed_train_samples", &t->consumed_train_samples));
  PetscCall(fs_ckpt_get_attr_int64(r, "consumed_valid_samples", &t->consumed_valid_samples));
  PetscCall(fs_ckpt_get_attr_int64(r, "skipped_iterations", &t->skipped_iters));
  PetscCall(fs_ckpt_get_attr_int64(r, "nan_iterations", &t->nan_iters));
  t->last_saved_iteration = t->iteration;
  if (f->no_load_optim) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(fs_ckpt_get_attr_int64(r, "optimizer_step", &v));
  t->opt->step = v;
  PetscCall(read_optimizer(r, t));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_train_load(struct fs_trainer *t, const char *dir, const struct fs_load_flags *f, PetscBool *loaded)
{
  char path[4096];
  int64_t iteration;
  struct fs_ckpt_reader *r = NULL;

  PetscFunctionBegin;
  PetscCall(fs_ckpt_read_tracker(t->world, dir, &iteration, loaded));
  if (!*loaded) {
    fs_log_warn("-load %s: no %s there, starting from scratch", dir, FS_CKPT_TRACKER);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(fs_ckpt_path(path, sizeof path, dir, iteration));
  fs_log_info("loading checkpoint %s%s", path, f->finetune ? " (weights only: -finetune)" : f->no_load_optim ? " (no optimizer state)" : "");
  PetscCall(fs_ckpt_open(t->world, path, &r));
  PetscErrorCode ierr = read_all(r, t, f, path);
  PetscErrorCode ierr2 = fs_ckpt_close(&r);
  PetscCall(ierr);
  PetscCall(ierr2);
  fs_log_info("loaded: iteration %lld, %lld samples consumed", (long long)t->iteration,
              (long long)t->consumed_train_samples);
  PetscFunctionReturn(PETSC_SUCCESS);
}
