/* fs_train_ckpt.c -- training state <-> checkpoint */
#include <config.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include "fs_train_ckpt.h"
#include "fs_ckpt.h"
#include "fs_model_io.h"
#include "fs_log.h"

static PetscErrorCode write_all(struct fs_ckpt_writer *w, struct fs_trainer *t)
{
  struct fs_model *m = t->model;
  char name[256];

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
  for (int i = 0; i < m->table.n; i++) {
    const struct fs_param *p = &m->table.p[i];
    snprintf(name, sizeof name, "/optimizer/%s/exp_avg", p->name);
    PetscCall(fs_model_write_tensor(w, m, p, name, FS_DTYPE_F32, t->opt->exp_avg + p->offset, t->dp_rank, t->dp_size));
    snprintf(name, sizeof name, "/optimizer/%s/exp_avg_sq", p->name);
    PetscCall(fs_model_write_tensor(w, m, p, name, FS_DTYPE_F32, t->opt->exp_avg_sq + p->offset, t->dp_rank,
                                    t->dp_size));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_train_save(struct fs_trainer *t, const char *dir, int keep)
{
  char path[4096];
  struct fs_ckpt_writer *w = NULL;

  PetscFunctionBegin;
  if (!t->dp_rank) FSCallSys(mkdir(dir, 0755) && errno != EEXIST ? -1 : 0, dir);
  PetscCallMPI(MPI_Barrier(t->comm));
  PetscCall(fs_ckpt_path(path, sizeof path, dir, t->iteration));
  fs_log_info("saving checkpoint at iteration %lld to %s", (long long)t->iteration, path);
  PetscCall(fs_ckpt_create(t->comm, path, &w));
  PetscErrorCode ierr = write_all(w, t);
  if (ierr) {
    fs_ckpt_abort(&w);
    PetscCall(ierr);
  }
  PetscCall(fs_ckpt_finish(&w));
  PetscCall(fs_ckpt_write_tracker(t->comm, dir, t->iteration));
  if (keep > 0) PetscCall(fs_ckpt_prune(t->comm, dir, keep, NULL));
  t->last_saved_iteration = t->iteration;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode read_all(struct fs_ckpt_reader *r, struct fs_trainer *t, const struct fs_load_flags *f,
                               const char *path)
{
  struct fs_model *m = t->model;
  char name[256];
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
  for (int i = 0; i < m->table.n; i++) {
    const struct fs_param *p = &m->table.p[i];
    snprintf(name, sizeof name, "/optimizer/%s/exp_avg", p->name);
    PetscCall(fs_model_read_tensor(r, m, p, name, t->opt->exp_avg + p->offset));
    snprintf(name, sizeof name, "/optimizer/%s/exp_avg_sq", p->name);
    PetscCall(fs_model_read_tensor(r, m, p, name, t->opt->exp_avg_sq + p->offset));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_train_load(struct fs_trainer *t, const char *dir, const struct fs_load_flags *f, PetscBool *loaded)
{
  char path[4096];
  int64_t iteration;
  struct fs_ckpt_reader *r = NULL;

  PetscFunctionBegin;
  PetscCall(fs_ckpt_read_tracker(t->comm, dir, &iteration, loaded));
  if (!*loaded) {
    fs_log_warn("-load %s: no %s there, starting from scratch", dir, FS_CKPT_TRACKER);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(fs_ckpt_path(path, sizeof path, dir, iteration));
  fs_log_info("loading checkpoint %s%s", path, f->finetune ? " (weights only: -finetune)" : f->no_load_optim ? " (no optimizer state)" : "");
  PetscCall(fs_ckpt_open(t->comm, path, &r));
  PetscErrorCode ierr = read_all(r, t, f, path);
  PetscErrorCode ierr2 = fs_ckpt_close(&r);
  PetscCall(ierr);
  PetscCall(ierr2);
  fs_log_info("loaded: iteration %lld, %lld samples consumed", (long long)t->iteration,
              (long long)t->consumed_train_samples);
  PetscFunctionReturn(PETSC_SUCCESS);
}
