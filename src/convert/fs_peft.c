/* fs_peft.c -- PEFT LoRA adapter folders <-> a model's adapters (fs_peft.h) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "fs_hf.h"
#include "fs_log.h"
#include "fs_model_io.h"
#include "fs_peft.h"
#include "fs_safetensors.h"

#define PEFT_PREFIX "base_model.model."
#define PEFT_CONFIG "adapter_config.json"
#define PEFT_WEIGHTS "adapter_model.safetensors"

/* a module name of target_modules ("q_proj", or a path ending in it) -> its bit */
static PetscErrorCode target_bit(const char *name, const char *path, int *mask)
{
  const char *leaf = strrchr(name, '.');
  leaf = leaf ? leaf + 1 : name;
  PetscFunctionBegin;
  for (int t = 0; t < FS_LORA_N_TARGETS; t++)
    if (!strcmp(leaf, fs_lora_target_name((enum fs_lora_target)t))) {
      *mask |= 1 << t;
      PetscFunctionReturn(PETSC_SUCCESS);
    }
  SETERRQ(PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: target module '%s' cannot be adapted here (LoRA adapts q_proj, k_proj, "
          "v_proj, o_proj, gate_proj, up_proj, down_proj)", path, name);
}

/* a key that must be absent, false, null, empty or equal to `ok` (a string) */
static PetscErrorCode refuse_set(json_t *o, const char *key, const char *ok, const char *what, const char *path)
{
  json_t *v = json_object_get(o, key);
  int unset = !v || json_is_null(v) || json_is_false(v) || (json_is_object(v) && !json_object_size(v)) ||
              (json_is_array(v) && !json_array_size(v)) ||
              (ok && json_is_string(v) && !strcmp(json_string_value(v), ok));
  PetscFunctionBegin;
  FSCheck(unset, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: \"%s\" is set: %s is not supported", path, key, what);
  PetscFunctionReturn(PETSC_SUCCESS);
}

#define PEFT_ERROR(code, ...) \
  PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, code, PETSC_ERROR_INITIAL, __VA_ARGS__)

PetscErrorCode fs_peft_read_config(const char *dir, struct fs_model_config *cfg)
{
  char path[4200];
  json_error_t err;

  PetscFunctionBegin;
  snprintf(path, sizeof path, "%s/" PEFT_CONFIG, dir);
  json_t *o = json_load_file(path, 0, &err);
  FSCheck(o && json_is_object(o), PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "%s: %s (line %d): not a PEFT adapter folder?",
          path, o ? "not a JSON object" : err.text, o ? 0 : err.line);
  const char *type = json_string_value(json_object_get(o, "peft_type"));
  json_t *r = json_object_get(o, "r"), *alpha = json_object_get(o, "lora_alpha");
  json_t *targets = json_object_get(o, "target_modules");
  PetscErrorCode ierr = PETSC_SUCCESS;
  int mask = 0;
  if (!type || strcmp(type, "LORA"))
    ierr = PEFT_ERROR(PETSC_ERR_SUP, "%s: peft_type %s: only LORA adapters are supported", path,
                      type ? type : "(missing)");
  else if (!json_is_integer(r) || json_integer_value(r) < 1 || json_integer_value(r) > 65536 ||
           (alpha && !json_is_number(alpha)))
    ierr = PEFT_ERROR(PETSC_ERR_FILE_UNEXPECTED, "%s: \"r\" must be a positive integer and \"lora_alpha\" a number",
                      path);
  else if (!json_is_array(targets) || !json_array_size(targets))
    ierr = PEFT_ERROR(PETSC_ERR_SUP, "%s: \"target_modules\" must list module names (a regular expression or "
                      "\"all-linear\" is not supported)", path);
  for (size_t i = 0; !ierr && i < json_array_size(targets); i++) {
    const char *name = json_string_value(json_array_get(targets, i));
    ierr = name ? target_bit(name, path, &mask)
                : PEFT_ERROR(PETSC_ERR_FILE_UNEXPECTED, "%s: target_modules holds a non-string", path);
  }
  if (!ierr) ierr = refuse_set(o, "use_dora", NULL, "DoRA", path);
  if (!ierr) ierr = refuse_set(o, "bias", "none", "training biases", path);
  if (!ierr) ierr = refuse_set(o, "fan_in_fan_out", NULL, "a Conv1D (GPT-2) layout", path);
  if (!ierr) ierr = refuse_set(o, "modules_to_save", NULL, "training whole modules", path);
  if (!ierr) ierr = refuse_set(o, "layers_to_transform", NULL, "adapting only some layers", path);
  if (!ierr) ierr = refuse_set(o, "rank_pattern", NULL, "a rank per module", path);
  if (!ierr) ierr = refuse_set(o, "alpha_pattern", NULL, "an alpha per module", path);
  if (!ierr) {
    const int rank = (int)json_integer_value(r);
    const double a = alpha ? json_number_value(alpha) : 8.0;
    /* rsLoRA scales by alpha / sqrt(r): the same as alpha sqrt(r) / r */
    cfg->lora_rank = rank;
    cfg->lora_alpha = (float)(json_is_true(json_object_get(o, "use_rslora")) ? a * sqrt((double)rank) : a);
    cfg->lora_targets = mask;
  }
  json_decref(o);
  PetscCall(ierr);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* reads the adapter tensors of st into m (this rank's slices of them); every tensor of the file must be one of
 * m's adapters */
static PetscErrorCode read_adapters(const struct fs_safetensors *st, struct fs_model *m, const char *path)
{
  char name[160];
  int found = 0;
  float *buf = NULL;
  int64_t max_elem = 1;

  PetscFunctionBegin;
  for (int i = 0; i < st->n_tensors; i++) {
    const struct fs_st_tensor *t = &st->tensors[i];
    const char *own = strncmp(t->name, PEFT_PREFIX, strlen(PEFT_PREFIX)) ? t->name : t->name + strlen(PEFT_PREFIX);
    const struct fs_param *p = fs_param_by_name(&m->table, own);
    FSCheck(p && p->lora, PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP,
            "%s: tensor %s is not an adapter of this model (%d layers; targets from adapter_config.json): an "
            "adapter of another base model?", path, t->name, m->cfg.num_layers);
    if (p->n_elem > max_elem) max_elem = p->n_elem;
  }
  FSMalloc((size_t)max_elem * sizeof(float), &buf);
  PetscErrorCode ierr = PETSC_SUCCESS;
  for (int i = 0; i < m->table.n && !ierr; i++) {
    const struct fs_param *p = &m->table.p[i];
    const struct fs_st_tensor *t = NULL;
    if (!p->lora) continue;
    snprintf(name, sizeof name, PEFT_PREFIX "%s", p->name);
    ierr = fs_safetensors_find(st, name, &t);
    if (!ierr && !t) ierr = fs_safetensors_find(st, p->name, &t);
    if (ierr) break;
    if (!t)
      ierr = PEFT_ERROR(PETSC_ERR_FILE_UNEXPECTED, "%s: %s is missing: an adapter of another base model (this one has "
                        "%d layers)?", path, name, m->cfg.num_layers);
    else if (t->ndim != 2 || t->shape[0] != p->shape[0] || t->shape[1] != p->shape[1])
      ierr = PEFT_ERROR(PETSC_ERR_ARG_INCOMP, "%s: %s is %lld x %lld, the model needs %lld x %lld: an adapter of "
                        "another base model?", path, name, (long long)t->shape[0],
                        (long long)(t->ndim > 1 ? t->shape[1] : 1), (long long)p->shape[0], (long long)p->shape[1]);
    if (!ierr) ierr = fs_safetensors_read_f32(t, buf);
    if (ierr) break;
    int64_t g0, n_rows, c0; /* this rank's block of the global tensor */
    const int64_t lc = p->local_shape[1];
    fs_model_tp_block(m, p, &g0, &n_rows, &c0);
    for (int64_t r = 0; r < n_rows; r++)
      memcpy(m->params + p->offset + r * lc, buf + (g0 + r) * p->shape[1] + c0, (size_t)lc * sizeof(float));
    found++;
  }
  free(buf);
  PetscCall(ierr);
  fs_log_info("%s: %d adapter tensors read", path, found);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_peft_load(const char *dir, struct fs_model *m)
{
  struct fs_model_config c = m->cfg;
  struct fs_safetensors *st = NULL;
  char path[4200];

  PetscFunctionBegin;
  PetscCall(fs_peft_read_config(dir, &c));
  FSCheck(c.lora_rank == m->cfg.lora_rank && c.lora_alpha == m->cfg.lora_alpha && c.lora_targets == m->cfg.lora_targets,
          PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP, "%s has rank %d, alpha %g, the model rank %d, alpha %g (or other "
          "target modules): drop the -lora_* options, the adapter's apply", dir, c.lora_rank, (double)c.lora_alpha,
          m->cfg.lora_rank, (double)m->cfg.lora_alpha);
  snprintf(path, sizeof path, "%s/" PEFT_WEIGHTS, dir);
  PetscCall(fs_safetensors_open(path, &st));
  PetscErrorCode ierr = read_adapters(st, m, path);
  fs_safetensors_close(&st);
  PetscCall(ierr);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_peft_attach(const char *dir, struct fs_model **pm)
{
  struct fs_model *base = *pm, *m = NULL;
  struct fs_model_config c = base->cfg;
  struct fs_safetensors *st = NULL;
  char path[4200], targets[256];

  PetscFunctionBegin;
  FSCheck(!c.lora_rank, PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP,
          "the model already has LoRA adapters: merge them first (flagscale-convert), then add %s", dir);
  FSCheck(base->tp == 1 && base->pp == 1, PETSC_COMM_SELF, PETSC_ERR_SUP, "adapters attach to a whole model");
  PetscCall(fs_peft_read_config(dir, &c));
  snprintf(path, sizeof path, "%s/" PEFT_WEIGHTS, dir);
  PetscCall(fs_safetensors_open(path, &st));
  PetscErrorCode ierr = fs_model_create(&c, base->ops, &m);
  if (!ierr && m->table.trainable_offset != base->table.n_local)
    ierr = PEFT_ERROR(PETSC_ERR_PLIB, "adapter layout mismatch");
  if (!ierr) memcpy(m->params, base->params, base->table.n_local * sizeof(float)); /* base tensors come first */
  if (!ierr) ierr = read_adapters(st, m, path);
  fs_safetensors_close(&st);
  if (ierr) fs_model_destroy(&m);
  PetscCall(ierr);
  fs_lora_targets_string(c.lora_targets, targets, sizeof targets);
  fs_log_info("LoRA adapters of %s attached (rank %d, alpha %g, %s)", dir, c.lora_rank, (double)c.lora_alpha, targets);
  PetscCall(fs_model_destroy(pm));
  *pm = m;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_peft_write(const char *dir, const struct fs_model *m, enum fs_dtype file_dtype, const char *base_name)
{
  const struct fs_model_config *c = &m->cfg;
  struct fs_st_writer *w = NULL;
  char name[160];

  PetscFunctionBegin;
  FSCheck(c->lora_rank > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
          "the model has no LoRA adapters: a PEFT adapter folder needs a checkpoint fine-tuned with -lora_rank");
  FSCheck(c->normalization == FS_NORM_RMSNORM && c->position_embedding_type == FS_POS_ROPE && c->swiglu &&
            !c->add_bias_linear, PETSC_COMM_SELF, PETSC_ERR_SUP,
          "PEFT adapters are written for the LLaMA structure (their base is a Hugging Face LLaMA); this model is "
          "GPT-2-style");
  FSCheck(m->tp == 1 && m->pp == 1, PETSC_COMM_SELF, PETSC_ERR_SUP, "PEFT export needs the whole model");
  json_t *targets = json_array();
  for (int t = 0; t < FS_LORA_N_TARGETS; t++)
    if (c->lora_targets >> t & 1)
      json_array_append_new(targets, json_string(fs_lora_target_name((enum fs_lora_target)t)));
  const double alpha = (double)c->lora_alpha;
  json_t *o = json_pack("{s:s,s:s,s:i,s:o,s:o,s:f,s:s,s:b,s:b,s:b,s:b,s:b,s:n,s:n,s:n,s:{},s:{}}", "peft_type", "LORA",
                        "task_type", "CAUSAL_LM", "r", c->lora_rank, "lora_alpha",
                        alpha == floor(alpha) ? json_integer((json_int_t)alpha) : json_real(alpha), "target_modules",
                        targets, "lora_dropout", 0.0, "bias", "none", "fan_in_fan_out", 0, "inference_mode", 1,
                        "use_rslora", 0, "use_dora", 0, "init_lora_weights", 1, "modules_to_save",
                        "layers_to_transform", "layers_pattern", "rank_pattern", "alpha_pattern");
  FSCheck(o, PETSC_COMM_SELF, PETSC_ERR_LIB, "json_pack failed for " PEFT_CONFIG);
  json_object_set_new(o, "base_model_name_or_path", base_name ? json_string(base_name) : json_null());
  PetscErrorCode ierr = fs_st_writer_create(dir, file_dtype, 0, &w);
  if (!ierr) ierr = fs_st_writer_set_stem(w, "adapter_model");
  for (int i = 0; i < m->table.n && !ierr; i++) {
    const struct fs_param *p = &m->table.p[i];
    if (!p->lora) continue;
    snprintf(name, sizeof name, PEFT_PREFIX "%s", p->name);
    ierr = fs_st_writer_add(w, name, p->ndim, p->shape, m->params + p->offset);
  }
  if (ierr) {
    json_decref(o);
    fs_st_writer_abort(&w);
    PetscCall(ierr);
  }
  PetscCall(fs_st_writer_finish(&w));
  PetscCall(fs_hf_write_json(o, dir, PEFT_CONFIG)); /* last: a folder with a config is complete */
  PetscFunctionReturn(PETSC_SUCCESS);
}
