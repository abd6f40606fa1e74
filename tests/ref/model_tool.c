/* model_tool.c -- drives the model for the PyTorch parity test (tests/ref/model_vs_torch.py): builds a model from
 * the model options, initializes it from -seed, draws a batch (some targets masked), and writes to -out DIR:
 *   meta.json     configuration, parameter table (name, shape, offset), tokens, targets, losses of each step
 *   params0.bin   initial parameters (flat fp32, table layout)   grads0.bin  gradients of step 1
 *   logits0.bin   (B*T, vocab) logits of the initial model (padding rows of the vocabulary excluded)
 * then runs -steps AdamW steps at constant -lr (no clipping) and records each step's loss; params1.bin holds the
 * parameters after them.  With -lora_rank the adapters' B (zero-initialized) is drawn normal(0, -lora_b_std) so
 * that the gradients of A are not zero, and AdamW covers the adapters only. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "fs_app.h"
#include "fs_opt.h"
#include "fs_model.h"
#include "fs_optimizer.h"
#include "fs_rng.h"

static PetscErrorCode write_floats(const char *dir, const char *name, const float *x, int64_t n)
{
  char path[FS_OPT_STRLEN + 64];
  PetscFunctionBegin;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  FSCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s", path);
  FSCheck(fwrite(x, sizeof(float), (size_t)n, f) == (size_t)n && !fclose(f), PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE,
          "short write to %s", path);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* the gradients in the parameter layout: zeros for frozen tensors (LoRA), which have none */
static PetscErrorCode write_grads(const char *dir, const char *name, const struct fs_model *m)
{
  float *g;
  PetscFunctionBegin;
  FSCalloc(m->table.n_local * sizeof(float), &g);
  memcpy(g + m->grad_offset, m->grads, fs_model_grad_n(m) * sizeof(float));
  PetscErrorCode ierr = write_floats(dir, name, g, m->table.n_local);
  free(g);
  PetscCall(ierr);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode run(MPI_Comm comm, const char *app, const char *summary)
{
  struct fs_model_config cfg;
  struct fs_model *m = NULL;
  struct fs_adamw *opt = NULL;
  int64_t B, T, steps, seed, vocab;
  double lr, wd, loss;
  char out[FS_OPT_STRLEN];
  int backend;
  PetscBool stop;

  PetscFunctionBegin;
  fs_model_config_default(&cfg);
  PetscCall(fs_model_config_from_options(&cfg));
  PetscCall(fs_model_lora_options(&cfg));
  double b_std;
  fs_opt_section("Tool");
  PetscCall(fs_opt_real("-lora_b_std", 0.05, "std of the adapters' B at the start", &b_std, NULL));
  PetscCall(fs_opt_int("-vocab_size", 101, "vocabulary", &vocab, NULL));
  PetscCall(fs_opt_int("-micro_batch_size", 2, "batch B", &B, NULL));
  PetscCall(fs_opt_int("-steps", 10, "AdamW steps", &steps, NULL));
  PetscCall(fs_opt_int("-seed", 1234, "init seed", &seed, NULL));
  PetscCall(fs_opt_real("-lr", 1e-3, "learning rate", &lr, NULL));
  PetscCall(fs_opt_real("-weight_decay", 0.1, "weight decay", &wd, NULL));
  PetscCall(fs_opt_enum("-ops", "cpu-ref|cpu", 1, "backend", &backend, NULL));
  PetscCall(fs_opt_string("-out", ".", "output folder", out, NULL));
  PetscCall(fs_opt_finish(comm, app, summary, &stop));
  if (stop) PetscFunctionReturn(PETSC_SUCCESS);
  cfg.vocab_size = (int)vocab;
  PetscCall(fs_model_config_finalize(&cfg, 1));
  T = cfg.seq_length;
  PetscCall(fs_model_create(&cfg, backend ? &fs_ops_cpu : &fs_ops_cpu_ref, &m));
  PetscCall(fs_model_init_params(m, (uint64_t)seed));
  for (int i = 0; i < m->table.n; i++)
    if (m->table.p[i].lora && m->table.p[i].init == FS_INIT_ZERO)
      fs_rng_fill_normal(m->params + m->table.p[i].offset, m->table.p[i].local_n_elem, fs_rng_key((uint64_t)seed, "B"), 0,
                         0.0f, (float)b_std);
  const int64_t first = m->table.trainable_offset;
  PetscCall(fs_adamw_create_range(m, 0.9, 0.95, 1e-8, wd, first, m->table.n_local - first, &opt));

  int64_t N = B * T, V = cfg.vocab_size;
  int32_t *tokens, *targets;
  float *logits;
  FSMalloc(N * sizeof(int32_t), &tokens);
  FSMalloc(N * sizeof(int32_t), &targets);
  FSMalloc(N * V * sizeof(float), &logits);
  struct fs_rng_key k = fs_rng_key((uint64_t)seed, "batch");
  for (int64_t n = 0; n < N; n++) {
    tokens[n] = (int32_t)(fs_rng_uniform(k, 2 * n) * cfg.vocab_size);
    targets[n] = n % 7 == 3 ? -1 : (int32_t)(fs_rng_uniform(k, 2 * n + 1) * cfg.vocab_size);
  }
  PetscCall(fs_model_logits(m, tokens, (int)B, (int)T, logits));
  PetscCall(write_floats(out, "logits0.bin", logits, N * V));
  PetscCall(write_floats(out, "params0.bin", m->params, m->table.n_local));
  json_t *losses = json_array();
  for (int64_t s = 0; s < steps; s++) {
    int64_t n_tok;
    fs_model_zero_grad(m);
    PetscCall(fs_model_forward_backward(m, tokens, targets, NULL, (int)B, (int)T, &loss, &n_tok));
    if (s == 0) PetscCall(write_grads(out, "grads0.bin", m));
    json_array_append_new(losses, json_real(loss));
    PetscCall(fs_adamw_step(opt, m, lr));
  }
  PetscCall(write_floats(out, "params1.bin", m->params, m->table.n_local));
  json_t *params = json_array(), *tok = json_array(), *tgt = json_array();
  for (int i = 0; i < m->table.n; i++) {
    const struct fs_param *p = &m->table.p[i];
    json_array_append_new(params, json_pack("{s:s,s:[I,I],s:i,s:I,s:b,s:b}", "name", p->name, "shape",
                                            (json_int_t)p->shape[0], (json_int_t)p->shape[1], "ndim", p->ndim,
                                            "offset", (json_int_t)p->offset, "decay", p->weight_decay, "trainable",
                                            !p->frozen));
  }
  for (int64_t n = 0; n < N; n++) {
    json_array_append_new(tok, json_integer(tokens[n]));
    json_array_append_new(tgt, json_integer(targets[n]));
  }
  json_t *meta = json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:f,s:f,s:i,s:i,s:b,s:b,s:I,s:I,s:f,s:f,s:o,s:o,s:o,s:o}",
    "num_layers", cfg.num_layers, "hidden_size", cfg.hidden_size, "heads", cfg.num_attention_heads, "kv_heads",
    cfg.num_query_groups, "ffn", cfg.ffn_hidden_size, "vocab", cfg.vocab_size, "padded_vocab", cfg.padded_vocab_size,
    "seq", cfg.seq_length, "max_pos", cfg.max_position_embeddings, "eps", (double)cfg.norm_epsilon, "rope_base",
    (double)cfg.rotary_base, "layernorm", cfg.normalization == FS_NORM_LAYERNORM, "learned_pos",
    cfg.position_embedding_type == FS_POS_LEARNED, "swiglu", cfg.swiglu, "tied", !cfg.untie_embeddings_and_output_weights,
    "B", (json_int_t)B, "T", (json_int_t)T, "lr", lr, "weight_decay", wd, "params", params, "tokens", tok, "targets", tgt,
    "losses", losses);
  FSCheck(meta, PETSC_COMM_SELF, PETSC_ERR_LIB, "json_pack failed");
  json_object_set_new(meta, "lora_rank", json_integer(cfg.lora_rank));
  json_object_set_new(meta, "lora_alpha", json_real(cfg.lora_alpha));
  char path[FS_OPT_STRLEN + 64];
  snprintf(path, sizeof path, "%s/meta.json", out);
  FSCheck(json_dump_file(meta, path, JSON_INDENT(1)) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write %s", path);
  json_decref(meta);
  free(tokens), free(targets), free(logits);
  PetscCall(fs_adamw_destroy(&opt));
  PetscCall(fs_model_destroy(&m));
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv) { return fs_app_main(argc, argv, "model_tool", "model parity tool", run); }
