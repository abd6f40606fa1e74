/* sft_mask_tool.c -- drives the trainer on SFT samples for tests/ref/test_sft_mask.sh: a tiny model from -seed,
 * one global batch of -data (jsonl conversations, ChatML, GPT-2 tokenizer, samples in file order) through
 * fs_trainer_step with a zero learning rate, so the parameters stay and m->grads holds the batch's gradient.
 * -perturb changes sample tokens before the trainer sees them:
 *   none         as loaded
 *   last_masked  tokens[T] (only a target, never an input) of samples whose last target is masked
 *   last_any     tokens[T] of every sample (a negative control: trained last targets change the loss)
 *   masked       every token whose target position is masked (also an input of the next position)
 * Writes to -out DIR: meta.json (configuration, parameter table, the tokens and masks the trainer got, the loss),
 * params.bin and grads.bin (flat fp32, table layout). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "fs_app.h"
#include "fs_opt.h"
#include "fs_model.h"
#include "fs_sft.h"
#include "fs_trainer.h"
#include "ref_tool.h"

struct ctx {
  struct fs_sft_dataset *ds;
  int perturb; /* 0 none, 1 last_masked, 2 last_any, 3 masked */
  int64_t T, vocab, n_seen;
  json_t *tokens, *masks;
};

static PetscErrorCode get_masked(void *vc, int64_t k, int32_t *tokens, uint8_t *mask)
{
  struct ctx *c = vc;
  const int64_t T = c->T;

  PetscFunctionBegin;
  fs_sft_sample(c->ds, k % c->ds->n, tokens, mask);
  if ((c->perturb == 1 && !mask[T - 1]) || c->perturb == 2) tokens[T] = (int32_t)((tokens[T] + 1000) % c->vocab);
  if (c->perturb == 3)
    for (int64_t j = 0; j < T; j++)
      if (!mask[j]) tokens[j + 1] = (int32_t)((tokens[j + 1] + 1000) % c->vocab);
  json_t *tk = json_array(), *mk = json_array();
  for (int64_t j = 0; j <= T; j++) json_array_append_new(tk, json_integer(tokens[j]));
  for (int64_t j = 0; j < T; j++) json_array_append_new(mk, json_integer(mask[j]));
  json_array_append_new(c->tokens, tk), json_array_append_new(c->masks, mk);
  c->n_seen++;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode get(void *vc, int64_t k, int32_t *tokens)
{
  uint8_t mask[4096];
  PetscFunctionBegin;
  PetscCall(get_masked(vc, k, tokens, mask));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode run(MPI_Comm comm, const char *app, const char *summary)
{
  struct fs_model_config cfg;
  struct fs_train_args a;
  struct fs_model *m = NULL;
  struct fs_trainer *t = NULL;
  struct fs_tokenizer *tok = NULL;
  char out[FS_OPT_STRLEN], data[FS_OPT_STRLEN];
  int perturb;
  PetscBool stop;

  PetscFunctionBegin;
  fs_model_config_default(&cfg);
  PetscCall(fs_model_config_from_options(&cfg));
  PetscCall(fs_train_args_from_options(&a));
  fs_opt_section("Tool");
  PetscCall(fs_opt_string("-data", NULL, "jsonl conversations", data, NULL));
  PetscCall(fs_opt_enum("-perturb", "none|last_masked|last_any|masked", 0, "token changes", &perturb, NULL));
  PetscCall(fs_opt_string("-out", ".", "output folder", out, NULL));
  PetscCall(fs_opt_finish(comm, app, summary, &stop));
  if (stop) PetscFunctionReturn(PETSC_SUCCESS);
  a.lr = 0, a.min_lr = 0, a.clip_grad = 0, a.weight_decay = 0, a.train_iters = 1, a.eval_iters = 0;
  a.lr_decay_style = FS_LR_CONSTANT;

  PetscCall(fs_tokenizer_create_named("gpt2", &tok));
  cfg.vocab_size = fs_tokenizer_vocab_size(tok);
  PetscCall(fs_model_config_finalize(&cfg, 1));
  FSCheck(cfg.lora_rank == 0, comm, PETSC_ERR_SUP, "grads.bin is written in the parameter layout: no LoRA here");
  PetscCall(fs_model_create(&cfg, &fs_ops_cpu, &m));
  PetscCall(fs_model_init_params(m, (uint64_t)a.seed));
  PetscCall(fs_trainer_create(comm, m, &a, &t));
  PetscCall(fs_model_set_batch(m, (int)a.micro_batch_size, cfg.seq_length));
  struct fs_sft_opts so = {FS_SFT_CONVO, FS_CHAT_CHATML, cfg.seq_length, 0};
  struct ctx c = {NULL, perturb, cfg.seq_length, cfg.vocab_size, 0, json_array(), json_array()};
  PetscCall(fs_sft_load(data, &so, tok, &c.ds));
  struct fs_sample_source src = {get, &c, INT64_MAX, get_masked, NULL};
  PetscCall(fs_ref_write_floats(out, "params.bin", m->params, m->table.n_local));
  PetscCall(fs_trainer_step(t, &src));
  PetscCall(fs_ref_write_floats(out, "grads.bin", m->grads, m->table.n_local));

  char loss[64];
  snprintf(loss, sizeof loss, "%.17g", t->last_loss); /* exact: the perturbation checks compare bits */
  json_t *meta = json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:f,s:f,s:I,s:I,s:s,s:o,s:o,s:o}", "num_layers",
                           cfg.num_layers, "hidden_size", cfg.hidden_size, "heads", cfg.num_attention_heads,
                           "kv_heads", cfg.num_query_groups, "ffn", cfg.ffn_hidden_size, "vocab", cfg.vocab_size,
                           "eps", (double)cfg.norm_epsilon, "rope_base", (double)cfg.rotary_base, "micro_batch_size",
                           (json_int_t)a.micro_batch_size, "T", (json_int_t)cfg.seq_length, "loss", loss, "params",
                           fs_ref_params_json(&m->table), "tokens", c.tokens, "masks", c.masks);
  FSCheck(cfg.swiglu && cfg.normalization == FS_NORM_RMSNORM && cfg.position_embedding_type == FS_POS_ROPE &&
            !cfg.add_bias_linear && cfg.untie_embeddings_and_output_weights,
          PETSC_COMM_SELF, PETSC_ERR_SUP, "the PyTorch reference covers the untied LLaMA structure only");
  PetscCall(fs_ref_write_meta(out, meta));
  printf("loss %s over %lld samples (%lld conversations)\n", loss, (long long)c.n_seen, (long long)c.ds->n);
  PetscCall(fs_sft_destroy(&c.ds));
  PetscCall(fs_trainer_destroy(&t));
  PetscCall(fs_model_destroy(&m));
  PetscCall(fs_tokenizer_destroy(&tok));
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv) { return fs_app_main(argc, argv, "sft_mask_tool", "SFT loss-mask tool", run); }
