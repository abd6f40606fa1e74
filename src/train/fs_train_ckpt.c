/* fs_train_ckpt.c -- training state <-> checkpoint */
#include <config.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include "fs_train_ckpt.h"
#include "fs_ckpt.h"
#include "fs_log.h"

/* rows stored for a parameter: the true vocabulary for vocabulary-split tensors */
static int64_t stored_rows(const struct fs_model *m, const struct fs_param *p)
{
  return p->tp_split == FS_TP_VOCAB ? m->cfg.vocab_size : p->shape[0];
}

/* this data-parallel rank's share of the rows: [*r0, *r0 + *nr) */
static void my_rows(int64_t rows, int rank, int size, int64_t *r0, int64_t *nr)
{
  int64_t base = rows / size, extra = rows % size;
  *r0 = rank * base + (rank < extra ? rank : extra);
  *nr = base + (rank < extra);
}

static PetscErrorCode write_tensor(struct fs_ckpt_writer *w, const struct fs_trainer *t, const struct fs_param *p,
                                   const char *name, const float *data)
{
  int64_t rows = stored_rows(t->model, p), r0, nr;

  PetscFunctionBegin;
  my_rows(rows, t->dp_rank, t->dp_size, &r0, &nr);
  int64_t shape[2] = {rows, p->shape[1]}, start[2] = {r0, 0}, count[2] = {nr, p->shape[1]};
  PetscCall(fs_ckpt_write(w, name, FS_DTYPE_F32, p->ndim, shape, start, count, data + r0 * p->shape[1]));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode write_all(struct fs_ckpt_writer *w, struct fs_trainer *t)
{
  struct fs_model *m = t->model;
  char name[256], *cfg = NULL;

  PetscFunctionBegin;
  PetscCall(fs_ckpt_set_attr_int64(w, "iteration", t->iteration));
  PetscCall(fs_ckpt_set_attr_int64(w, "consumed_train_samples", t->consumed_train_samples));
  PetscCall(fs_ckpt_set_attr_int64(w, "consumed_valid_samples", t->consumed_valid_samples));
  PetscCall(fs_ckpt_set_attr_int64(w, "skipped_iterations", t->skipped_iters));
  PetscCall(fs_ckpt_set_attr_int64(w, "nan_iterations", t->nan_iters));
  PetscCall(fs_ckpt_set_attr_int64(w, "optimizer_step", t->opt->step));
  PetscCall(fs_ckpt_set_attr_int64(w, "seed", t->args.seed));
  PetscCall(fs_ckpt_set_attr_string(w, "library_version", PACKAGE_VERSION));
  PetscCall(fs_model_config_to_json(&m->cfg, &cfg));
  PetscErrorCode ierr = fs_ckpt_set_attr_string(w, "model_config", cfg);
  free(cfg);
  PetscCall(ierr);
  for (int i = 0; i < m->table.n; i++) {
    const struct fs_param *p = &m->table.p[i];
    snprintf(name, sizeof name, "/model/%s", p->name);
    PetscCall(write_tensor(w, t, p, name, m->params + p->offset));
    snprintf(name, sizeof name, "/optimizer/%s/exp_avg", p->name);
    PetscCall(write_tensor(w, t, p, name, t->opt->exp_avg + p->offset));
    snprintf(name, sizeof name, "/optimizer/%s/exp_avg_sq", p->name);
    PetscCall(write_tensor(w, t, p, name, t->opt->exp_avg_sq + p->offset));
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

static PetscErrorCode read_tensor(struct fs_ckpt_reader *r, const struct fs_trainer *t, const struct fs_param *p,
                                  const char *name, float *data)
{
  int64_t rows = stored_rows(t->model, p);

  PetscFunctionBegin;
  int64_t shape[2] = {rows, p->shape[1]}, start[2] = {0, 0}, count[2] = {rows, p->shape[1]};
  PetscCall(fs_ckpt_read(r, name, p->ndim, shape, start, count, data));
  /* padding rows of the vocabulary: not stored, never used by the output layer */
  memset(data + rows * p->shape[1], 0, (p->shape[0] - rows) * p->shape[1] * sizeof(float));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* the checkpoint's model must be the one the options describe */
static PetscErrorCode check_config(struct fs_ckpt_reader *r, const struct fs_model_config *c, const char *path)
{
  char *json = NULL;
  struct fs_model_config k;

  PetscFunctionBegin;
  PetscCall(fs_ckpt_get_attr_string(r, "model_config", &json));
  PetscErrorCode ierr = fs_model_config_from_json(&k, json);
  free(json);
  PetscCall(ierr);
#define SAME(f) (k.f == c->f)
  FSCheck(SAME(num_layers) && SAME(hidden_size) && SAME(num_attention_heads) && SAME(num_query_groups) &&
            SAME(ffn_hidden_size) && SAME(vocab_size) && SAME(normalization) && SAME(position_embedding_type) &&
            SAME(swiglu) && SAME(add_bias_linear) && SAME(untie_embeddings_and_output_weights),
          PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP,
          "%s holds another model: %d layers, hidden %d, heads %d/%d, ffn %d, vocab %d; the options give %d layers, "
          "hidden %d, heads %d/%d, ffn %d, vocab %d (and norm/position/MLP/bias/tying must match too)",
          path, k.num_layers, k.hidden_size, k.num_attention_heads, k.num_query_groups, k.ffn_hidden_size, k.vocab_size,
          c->num_layers, c->hidden_size, c->num_attention_heads, c->num_query_groups, c->ffn_hidden_size, c->vocab_size);
#undef SAME
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode read_all(struct fs_ckpt_reader *r, struct fs_trainer *t, const struct fs_load_flags *f,
                               const char *path)
{
  struct fs_model *m = t->model;
  char name[256];
  int64_t v;

  PetscFunctionBegin;
  PetscCall(check_config(r, &m->cfg, path));
  for (int i = 0; i < m->table.n; i++) {
    const struct fs_param *p = &m->table.p[i];
    snprintf(name, sizeof name, "/model/%s", p->name);
    PetscCall(read_tensor(r, t, p, name, m->params + p->offset));
  }
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
    PetscCall(read_tensor(r, t, p, name, t->opt->exp_avg + p->offset));
    snprintf(name, sizeof name, "/optimizer/%s/exp_avg_sq", p->name);
    PetscCall(read_tensor(r, t, p, name, t->opt->exp_avg_sq + p->offset));
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
