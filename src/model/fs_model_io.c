/* fs_model_io.c -- model tensors <-> checkpoint */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "fs_model_io.h"
#include "fs_log.h"

int64_t fs_model_stored_rows(const struct fs_model *m, const struct fs_param *p)
{
  return p->tp_split == FS_TP_VOCAB ? m->cfg.vocab_size : p->shape[0];
}

/* the block of the stored (global) tensor that this rank's tensor-parallel slice of its stage covers: rows g0 .. g0+n_rows,
 * columns c0 .. c0+local_shape[1].  Replicated tensors: the whole tensor (to read), written by tp_rank 0 only. */
static void tp_block(const struct fs_model *m, const struct fs_param *p, int for_write, int64_t *g0, int64_t *n_rows,
                     int64_t *c0)
{
  const int64_t rows = fs_model_stored_rows(m, p), lr = p->local_shape[0], r = m->table.tp_rank;
  *g0 = 0, *c0 = 0, *n_rows = lr;
  /* pipeline parallelism: other stages' tensors are not here; the tied embedding's copy on the last stage is
   * read but written by the first stage only */
  if (!p->held || (for_write && p->pp_copy)) {
    *n_rows = 0;
    return;
  }
  switch (p->tp_split) {
  case FS_TP_COLUMN: *g0 = r * lr; break;
  case FS_TP_VOCAB:
    *g0 = r * lr;
    *n_rows = rows - *g0 < 0 ? 0 : rows - *g0 < lr ? rows - *g0 : lr; /* true vocabulary rows only */
    break;
  case FS_TP_ROW: *c0 = r * p->local_shape[1]; break;
  case FS_TP_REPLICATED: *n_rows = for_write && r ? 0 : rows; break;
  }
}

void fs_model_tp_block(const struct fs_model *m, const struct fs_param *p, int64_t *g0, int64_t *n_rows, int64_t *c0)
{
  tp_block(m, p, 0, g0, n_rows, c0);
}

PetscErrorCode fs_model_write_tensor(struct fs_ckpt_writer *w, const struct fs_model *m, const struct fs_param *p,
                                     const char *name, enum fs_dtype file_dtype, const float *data, int part,
                                     int n_parts)
{
  int64_t g0, nloc, c0;

  PetscFunctionBegin;
  tp_block(m, p, 1, &g0, &nloc, &c0);
  /* the data-parallel ranks of this slice share its rows */
  const int64_t base = nloc / n_parts, extra = nloc % n_parts, lc = p->local_shape[1];
  const int64_t r0 = part * base + (part < extra ? part : extra), nr = base + (part < extra);
  int64_t shape[2] = {fs_model_stored_rows(m, p), p->shape[1]}, start[2] = {g0 + r0, c0}, count[2] = {nr, lc};
  PetscCall(fs_ckpt_write(w, name, file_dtype, p->ndim, shape, start, count, data + r0 * lc));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_model_write(struct fs_ckpt_writer *w, const struct fs_model *m, enum fs_dtype file_dtype, int part,
                              int n_parts)
{
  char name[256], *cfg = NULL;

  PetscFunctionBegin;
  PetscCall(fs_model_config_to_json(&m->cfg, &cfg));
  PetscErrorCode ierr = fs_ckpt_set_attr_string(w, "model_config", cfg);
  free(cfg);
  PetscCall(ierr);
  for (int i = 0; i < m->table.n; i++) {
    const struct fs_param *p = &m->table.p[i];
    snprintf(name, sizeof name, "/model/%s", p->name);
    PetscCall(fs_model_write_tensor(w, m, p, name, file_dtype, m->params + p->offset, part, n_parts));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_model_read_tensor(struct fs_ckpt_reader *r, const struct fs_model *m, const struct fs_param *p,
                                    const char *name, float *data)
{
  int64_t g0, nloc, c0;

  PetscFunctionBegin;
  tp_block(m, p, 0, &g0, &nloc, &c0);
  const int64_t lc = p->local_shape[1];
  int64_t shape[2] = {fs_model_stored_rows(m, p), p->shape[1]}, start[2] = {g0, c0}, count[2] = {nloc, lc};
  PetscCall(fs_ckpt_read(r, name, p->ndim, shape, start, count, data));
  memset(data + nloc * lc, 0, (p->local_shape[0] - nloc) * lc * sizeof(float)); /* padding rows */
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_model_read_config(struct fs_ckpt_reader *r, struct fs_model_config *cfg)
{
  char *json = NULL;

  PetscFunctionBegin;
  PetscCall(fs_ckpt_get_attr_string(r, "model_config", &json));
  PetscErrorCode ierr = fs_model_config_from_json(cfg, json);
  free(json);
  PetscCall(ierr);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_model_read(struct fs_ckpt_reader *r, struct fs_model *m, const char *path)
{
  struct fs_model_config k;
  const struct fs_model_config *c = &m->cfg;
  char name[256];

  PetscFunctionBegin;
  PetscCall(fs_model_read_config(r, &k));
#define SAME(f) (k.f == c->f)
  FSCheck(SAME(num_layers) && SAME(hidden_size) && SAME(num_attention_heads) && SAME(num_query_groups) &&
            SAME(ffn_hidden_size) && SAME(vocab_size) && SAME(normalization) && SAME(position_embedding_type) &&
            SAME(swiglu) && SAME(add_bias_linear) && SAME(untie_embeddings_and_output_weights),
          PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP,
          "%s holds another model: %d layers, hidden %d, heads %d/%d, ffn %d, vocab %d; the options give %d layers, "
          "hidden %d, heads %d/%d, ffn %d, vocab %d (and norm/position/MLP/bias/tying must match too)",
          path, k.num_layers, k.hidden_size, k.num_attention_heads, k.num_query_groups, k.ffn_hidden_size, k.vocab_size,
          c->num_layers, c->hidden_size, c->num_attention_heads, c->num_query_groups, c->ffn_hidden_size, c->vocab_size);
  /* LoRA: a checkpoint without adapters is a base model (its adapters keep their initialization); one with
   * adapters must have the model's */
  FSCheck(!k.lora_rank || (SAME(lora_rank) && SAME(lora_targets)), PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP,
          "%s holds LoRA adapters of rank %d on other layers or of another rank than this model's (rank %d): drop "
          "the -lora_* options (the checkpoint's apply), or merge the adapters first (flagscale-convert)", path,
          k.lora_rank, c->lora_rank);
#undef SAME
  if (c->lora_rank > 0 && !k.lora_rank) fs_log_info("%s has no LoRA adapters: they start from their initialization", path);
  for (int i = 0; i < m->table.n; i++) {
    const struct fs_param *p = &m->table.p[i];
    if (p->lora && !k.lora_rank) continue;
    snprintf(name, sizeof name, "/model/%s", p->name);
    PetscCall(fs_model_read_tensor(r, m, p, name, m->params + p->offset));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_model_checkpoint_file(MPI_Comm comm, const char *dir_or_file, char *path, size_t n_bytes)
{
  struct stat st;
  int64_t iteration;
  PetscBool found;

  PetscFunctionBegin;
  FSCheck(stat(dir_or_file, &st) == 0, comm, PETSC_ERR_FILE_OPEN, "%s: %s", dir_or_file, strerror(errno));
  if (!S_ISDIR(st.st_mode)) {
    FSCheck(strlen(dir_or_file) < n_bytes, comm, PETSC_ERR_ARG_SIZ, "path too long: %s", dir_or_file);
    snprintf(path, n_bytes, "%s", dir_or_file);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(fs_ckpt_read_tracker(comm, dir_or_file, &iteration, &found));
  FSCheck(found, comm, PETSC_ERR_FILE_OPEN, "%s has no %s: not a checkpoint directory", dir_or_file, FS_CKPT_TRACKER);
  PetscCall(fs_ckpt_path(path, n_bytes, dir_or_file, iteration));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_model_create_from_checkpoint_tp(MPI_Comm comm, MPI_Comm tp_comm, const char *dir_or_file,
                                                  const struct fs_ops *ops, struct fs_model **m)
{
  char path[4096];
  struct fs_ckpt_reader *r = NULL;
  struct fs_model_config cfg;
  int tp = 1;

  PetscFunctionBegin;
  *m = NULL;
  if (tp_comm != MPI_COMM_NULL) PetscCallMPI(MPI_Comm_size(tp_comm, &tp));
  PetscCall(fs_model_checkpoint_file(comm, dir_or_file, path, sizeof path));
  PetscCall(fs_ckpt_open(comm, path, &r));
  PetscErrorCode ierr = fs_model_read_config(r, &cfg);
  if (!ierr) ierr = fs_model_config_finalize(&cfg, tp);
  if (!ierr) ierr = fs_model_create_tp(&cfg, ops, tp_comm, m);
  if (!ierr) ierr = fs_model_read(r, *m, path);
  PetscErrorCode ierr2 = fs_ckpt_close(&r);
  if (ierr) fs_model_destroy(m);
  PetscCall(ierr);
  PetscCall(ierr2);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_model_create_from_checkpoint(MPI_Comm comm, const char *dir_or_file, const struct fs_ops *ops,
                                               struct fs_model **m)
{
  return fs_model_create_from_checkpoint_tp(comm, MPI_COMM_NULL, dir_or_file, ops, m);
}
