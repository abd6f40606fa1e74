/* fs_finetune.c -- the fine-tuning app's logic (fs_finetune.h) */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "fs_app_common.h"
#include "fs_checkpoint_info.h"
#include "fs_ckpt.h"
#include "fs_finetune.h"
#include "fs_log.h"
#include "fs_model_io.h"
#include "fs_opt.h"
#include "fs_peft.h"
#include "fs_sft.h"
#include "fs_tokenizer_options.h"
#include "fs_train_ckpt.h"
#include "fs_trainer.h"

/* a sample source over an SFT dataset: training cycles through shuffled epochs; validation reads the samples in
 * file order and starts over every `period` samples, so each validation sees the same ones */
struct sft_ctx {
  struct fs_sft_dataset *ds;
  uint32_t seed;
  int shuffle;
  int64_t period; /* validation: samples per validation (0 = none) */
  uint8_t *scratch;
};

/* sample k with its loss mask and, when pos is not NULL, the positions inside its conversations (packed data) */
static PetscErrorCode sft_get_packed(void *ctx, int64_t k, int32_t *tokens, uint8_t *loss_mask, int32_t *pos)
{
  struct sft_ctx *c = ctx;
  int64_t i;

  PetscFunctionBegin;
  if (c->shuffle) PetscCall(fs_sft_cyclic_index(c->ds, c->seed, k, &i));
  else i = (c->period > 0 ? k % c->period : k) % c->ds->n;
  fs_sft_sample_pos(c->ds, i, tokens, loss_mask, pos);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode sft_get_masked(void *ctx, int64_t k, int32_t *tokens, uint8_t *loss_mask)
{
  PetscFunctionBegin;
  PetscCall(sft_get_packed(ctx, k, tokens, loss_mask, NULL));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode sft_get(void *ctx, int64_t k, int32_t *tokens)
{
  struct sft_ctx *c = ctx;
  PetscFunctionBegin;
  PetscCall(sft_get_masked(ctx, k, tokens, c->scratch));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* options given on the command line must describe the checkpoint's model; only how it runs (sequence length,
 * recomputation, sequence parallelism, initialization and vocabulary padding) may differ */
static PetscErrorCode check_agrees(MPI_Comm comm, const struct fs_model_config *c, const struct fs_model_config *k,
                                   const char *load)
{
  PetscFunctionBegin;
#define AGREE(field, opt)                                                                                          \
  FSCheck(c->field == k->field, comm, PETSC_ERR_ARG_INCOMP,                                                        \
          "%s %g disagrees with the checkpoint %s (%g): drop the option, the model comes from the checkpoint", opt, \
          (double)c->field, load, (double)k->field)
  AGREE(num_layers, "-num_layers");
  AGREE(hidden_size, "-hidden_size");
  AGREE(num_attention_heads, "-num_attention_heads");
  AGREE(num_query_groups, "-num_query_groups");
  AGREE(ffn_hidden_size, "-ffn_hidden_size");
  AGREE(norm_epsilon, "-norm_epsilon");
  AGREE(rotary_base, "-rotary_base");
  AGREE(normalization, "-normalization");
  AGREE(position_embedding_type, "-position_embedding_type");
  AGREE(swiglu, "-swiglu");
  AGREE(add_bias_linear, "-add_bias_linear");
  AGREE(untie_embeddings_and_output_weights, "-untie_embeddings_and_output_weights");
  if (k->position_embedding_type == FS_POS_LEARNED) AGREE(max_position_embeddings, "-max_position_embeddings");
  if (k->lora_rank > 0) { /* resuming LoRA: the adapters are the checkpoint's */
    AGREE(lora_rank, "-lora_rank");
    AGREE(lora_alpha, "-lora_alpha");
    AGREE(lora_targets, "-lora_target_modules (as a bit mask)");
  }
#undef AGREE
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* the configuration stored in the checkpoint DIR (or file) load */
static PetscErrorCode read_checkpoint_config(MPI_Comm comm, const char *load, struct fs_model_config *cfg)
{
  char path[4096];
  struct fs_ckpt_reader *r = NULL;

  PetscFunctionBegin;
  PetscCall(fs_model_checkpoint_file(comm, load, path, sizeof path));
  PetscCall(fs_ckpt_open(comm, path, &r));
  PetscErrorCode ierr = fs_model_read_config(r, cfg);
  PetscCall(fs_ckpt_close(&r));
  PetscCall(ierr);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscBool option_given(const char *name)
{
  PetscBool has = PETSC_FALSE;
  if (PetscOptionsHasName(NULL, NULL, name, &has)) return PETSC_FALSE;
  return has;
}

struct ft_opts {
  char train_path[FS_OPT_STRLEN], valid_path[FS_OPT_STRLEN], tokenizer[FS_OPT_STRLEN];
  int type, tmpl; /* enum fs_sft_type; 0 auto, 1 aquila, 2 chatml */
  PetscBool has_tokenizer, pack;
};

static PetscErrorCode data_options(struct ft_opts *o)
{
  PetscFunctionBegin;
  fs_opt_section("Fine-tuning data");
  PetscCall(fs_opt_string("-train_data_path", NULL, "training conversations (jsonl: {\"instruction\", \"conversations\"}"
                          " of the original FlagScale, or OpenAI {\"messages\"}; {\"text\"} for cpt)", o->train_path,
                          NULL));
  PetscCall(fs_opt_string("-valid_data_path", "", "validation conversations, the same format (\"\" = no validation)",
                          o->valid_path, NULL));
  PetscCall(fs_opt_enum("-finetune_dataset_type", "convo|cpt", FS_SFT_CONVO,
                        "convo: loss on assistant turns only; cpt: plain text, every token trained", &o->type, NULL));
  PetscCall(fs_opt_enum("-chat_template", "auto|aquila|chatml", 0,
                        "how conversations are rendered (auto: the checkpoint's, else Aquila for the aquila tokenizer "
                        "and ChatML for others)", &o->tmpl, NULL));
  PetscCall(fs_opt_bool("-pack_sequences", PETSC_FALSE, "pack several whole training conversations into each "
                        "-seq_length sample (attention and positions stay inside each conversation; validation is "
                        "not packed)", &o->pack, NULL));
  PetscCall(fs_opt_string("-tokenizer", NULL, "tokenizer name (gpt2, aquila) or folder; default: the one the checkpoint "
                          "names (or the -tokenizer_type / -vocab_file options when given)", o->tokenizer,
                          &o->has_tokenizer));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* the tokenizer: -tokenizer, else the -tokenizer_type/-vocab_file family when any is given, else the checkpoint's.
 * json gets what checkpoints record of it; name its name for the chat template choice ("aquila" or other). */
static PetscErrorCode open_tokenizer(const struct ft_opts *o, const struct fs_tokenizer_opts *topts, const char *load,
                                     struct fs_tokenizer **tok, char *json, size_t n_json, char *name, size_t n_name,
                                     char **ckpt_template)
{
  char tname[FS_OPT_STRLEN];

  PetscFunctionBegin;
  PetscCall(fs_checkpoint_info(load, tname, sizeof tname, ckpt_template));
  if (option_given("-tokenizer_type") || option_given("-vocab_file") || option_given("-merge_file") ||
      option_given("-special_tokens_file")) {
    PetscCall(fs_tokenizer_create_from_opts(topts, tok));
    snprintf(name, n_name, "%s", topts->type == FS_TOKENIZER_AQUILA ? "aquila" : "gpt2");
  } else {
    if (o->has_tokenizer) snprintf(tname, sizeof tname, "%s", o->tokenizer);
    FSCheck(tname[0], PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
            "%s names no tokenizer this release knows: give -tokenizer gpt2|aquila|DIR", load);
    PetscCall(fs_tokenizer_create_named(tname, tok));
    snprintf(name, n_name, "%s", tname);
  }
  if (!strcmp(name, "aquila") || !strcmp(name, "gpt2"))
    snprintf(json, n_json, "{\"type\": \"%s\", \"vocab_size\": %d}", !strcmp(name, "aquila") ? "aquila" : "gpt2bpe",
             fs_tokenizer_vocab_size(*tok));
  else {
    char abs[PATH_MAX];
    int w = snprintf(json, n_json, "{\"type\": \"dir\", \"path\": \"%s\"}", realpath(name, abs) ? abs : name);
    FSCheck(w < (int)n_json, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "tokenizer folder path too long to record: %s", name);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_finetune_run(MPI_Comm comm, const char *app, const char *summary)
{
  struct fs_model_config cfg, ck;
  struct fs_train_args targs;
  struct fs_tokenizer_opts topts;
  struct fs_parallel_opts po;
  struct ft_opts fo;
  struct fs_tokenizer *tok = NULL;
  struct fs_model *m = NULL;
  struct fs_trainer *t = NULL;
  struct fs_layout *layout = NULL;
  struct fs_sft_dataset *train_ds = NULL, *valid_ds = NULL;
  char load[FS_OPT_STRLEN] = "", adapter[FS_OPT_STRLEN] = "", desc[512], tname[FS_OPT_STRLEN], *ckpt_template = NULL;
  PetscBool stop, has_load = PETSC_FALSE, has_adapter = PETSC_FALSE;
  const PetscBool finetune_given = option_given("-finetune");

  PetscFunctionBegin;
  /* the model comes from the checkpoint: its configuration is the default of every model option */
  fs_model_config_default(&ck);
  PetscCall(PetscOptionsGetString(NULL, NULL, "-load", load, sizeof load, &has_load));
  if (has_load && load[0] && !fs_opt_help_requested()) PetscCall(read_checkpoint_config(comm, load, &ck));
  /* a PEFT adapter folder to start from: its rank, alpha and targets are the LoRA options' defaults */
  PetscCall(PetscOptionsGetString(NULL, NULL, "-load_adapter", adapter, sizeof adapter, &has_adapter));
  if (has_adapter && adapter[0] && !fs_opt_help_requested()) {
    FSCheck(!ck.lora_rank, comm, PETSC_ERR_ARG_INCOMP, "-load %s already has LoRA adapters: -load_adapter %s needs a "
            "base without them", load, adapter);
    PetscCall(fs_peft_read_config(adapter, &ck));
  }
  cfg = ck;
  PetscCall(fs_model_config_from_options(&cfg));
  PetscCall(fs_model_lora_options(&cfg));
  PetscCall(fs_opt_string("-load_adapter", "", "a PEFT LoRA adapter folder (adapter_config.json + "
                          "adapter_model.safetensors) whose adapters start the training on the -load base (\"\" = "
                          "none; a resumed run has its own)", adapter, NULL));
  PetscCall(fs_tokenizer_options(&topts));
  PetscCall(data_options(&fo));
  PetscCall(fs_train_args_from_options(&targs));
  PetscCall(fs_parallel_options(&po));
  PetscCall(fs_opt_finish(comm, app, summary, &stop));
  if (stop) PetscFunctionReturn(PETSC_SUCCESS);

  FSCheck(targs.load[0], comm, PETSC_ERR_ARG_WRONG,
          "%s needs -load DIR: the checkpoint to fine-tune (flagscale-pretrain -save, or flagscale-convert)", app);
  FSCheck(fo.train_path[0], comm, PETSC_ERR_ARG_WRONG, "%s needs -train_data_path FILE.jsonl", app);
  PetscCall(check_agrees(comm, &cfg, &ck, targs.load));
  if (!finetune_given) targs.finetune = PETSC_TRUE; /* weights only, iteration 0 (Megatron's --finetune) */
  PetscCall(fs_parallel_setup(comm, &po, &cfg, &layout));

  /* tokenizer and template */
  char tok_json[sizeof t->tokenizer_json];
  PetscCall(open_tokenizer(&fo, &topts, targs.load, &tok, tok_json, sizeof tok_json, tname, sizeof tname,
                           &ckpt_template));
  FSCheck(fs_tokenizer_vocab_size(tok) <= cfg.vocab_size, comm, PETSC_ERR_ARG_INCOMP,
          "tokenizer %s has %d tokens, the checkpoint's model only %d: wrong tokenizer?", tname,
          fs_tokenizer_vocab_size(tok), cfg.vocab_size);
  enum fs_chat_template tmpl = fo.tmpl == 1 ? FS_CHAT_AQUILA : fo.tmpl == 2 ? FS_CHAT_CHATML
                               : fs_chat_template_auto(ckpt_template, tname);
  free(ckpt_template);

  /* model and trainer */
  PetscCall(fs_model_config_finalize(&cfg, (int)po.tp));
  fs_model_config_describe(&cfg, desc, sizeof desc);
  fs_log_info("%s: %s", app, desc);
  PetscCall(fs_app_model_create(&cfg, layout, &m));
  PetscCall(fs_model_init_params(m, (uint64_t)targs.seed)); /* overwritten by the checkpoint */
  PetscCall(fs_trainer_create(layout->dp_comm, m, &targs, &t));
  t->world = layout->world;
  snprintf(t->tokenizer_json, sizeof t->tokenizer_json, "%s", tok_json);
  /* a checkpoint of this run in -save (a preempted job) resumes with its full state; else -load's weights */
  int64_t it;
  PetscBool resumed = PETSC_FALSE, loaded;
  char rs[PATH_MAX], rl[PATH_MAX];
  if (targs.save[0] && !(realpath(targs.save, rs) && realpath(targs.load, rl) && !strcmp(rs, rl))) {
    PetscCall(fs_ckpt_read_tracker(t->world, targs.save, &it, &resumed));
    if (resumed) {
      struct fs_load_flags lf = {targs.no_load_optim, PETSC_FALSE};
      fs_log_info("resuming this fine-tuning run from -save %s (iteration %lld)", targs.save, (long long)it);
      PetscCall(fs_train_load(t, targs.save, &lf, &loaded));
    }
  }
  if (!resumed) {
    struct fs_load_flags lf = {targs.no_load_optim, targs.finetune};
    PetscCall(fs_train_load(t, targs.load, &lf, &loaded));
    FSCheck(loaded, comm, PETSC_ERR_FILE_OPEN, "-load %s holds no checkpoint (no %s)", targs.load, FS_CKPT_TRACKER);
    if (adapter[0]) {
      PetscCall(fs_peft_load(adapter, m));
      fs_log_info("LoRA adapters from %s (rank %d, alpha %g)", adapter, cfg.lora_rank, (double)cfg.lora_alpha);
    }
  }
  PetscCall(fs_model_set_batch(m, (int)t->args.micro_batch_size, cfg.seq_length));

  /* data */
  struct fs_sft_opts so = {(enum fs_sft_type)fo.type, tmpl, cfg.seq_length, 0};
  PetscCall(fs_sft_load(fo.train_path, &so, tok, &train_ds));
  if (fo.valid_path[0]) PetscCall(fs_sft_load(fo.valid_path, &so, tok, &valid_ds));
  const double eff_unpacked = fs_sft_efficiency(train_ds);
  if (fo.pack) {
    PetscCall(fs_sft_pack(train_ds));
    fs_log_info("packing: %lld training conversations in %lld samples of %d tokens, efficiency %.1f%% (tokens used / "
                "tokens available; %.1f%% unpacked)", (long long)train_ds->n_docs, (long long)train_ds->n,
                cfg.seq_length + 1, 100 * fs_sft_efficiency(train_ds), 100 * eff_unpacked);
  }
  fs_log_info("fine-tuning data (%s, template %s): %lld training conversations (%lld trained tokens, %lld truncated "
              "to %d tokens), %.2f epochs; %lld validation conversations", fo.type == FS_SFT_CPT ? "cpt" : "convo",
              fs_chat_template_name(tmpl), (long long)train_ds->n_docs, (long long)train_ds->n_trained,
              (long long)train_ds->n_truncated, cfg.seq_length + 1,
              (double)t->total_samples / (double)train_ds->n, valid_ds ? (long long)valid_ds->n : 0LL);
  int64_t period = t->args.eval_iters * t->args.global_batch_size;
  uint8_t *scratch;
  FSMalloc(cfg.seq_length, &scratch);
  struct sft_ctx tc = {train_ds, (uint32_t)targs.seed, 1, 0, scratch}, vc = {valid_ds, 0, 0, period, scratch};
  struct fs_sample_source train = {sft_get, &tc, INT64_MAX, sft_get_masked, fo.pack ? sft_get_packed : NULL};
  struct fs_sample_source valid = {sft_get, &vc, INT64_MAX, sft_get_masked, NULL};
  if (valid_ds && period > 0 && period != valid_ds->n)
    fs_log_info("each validation reads %lld samples (-eval_iters x -global_batch_size) of the %lld validation "
                "conversations%s", (long long)period, (long long)valid_ds->n, period > valid_ds->n ? ", some twice" : "");
  PetscErrorCode ierr = fs_trainer_run(t, &train, valid_ds ? &valid : NULL);
  free(scratch);
  PetscCall(ierr);
  if (!t->exit_requested)
    fs_log_info("fine-tuning done: %lld iterations, %lld samples, last loss %.4f%s", (long long)t->iteration,
                (long long)t->consumed_train_samples, t->last_loss, targs.save[0] ? "" : " (no -save: not saved)");
  PetscCall(fs_sft_destroy(&train_ds));
  PetscCall(fs_sft_destroy(&valid_ds));
  PetscCall(fs_tokenizer_destroy(&tok));
  PetscCall(fs_trainer_destroy(&t));
  PetscCall(fs_model_destroy(&m));
  PetscCall(fs_layout_destroy(&layout));
  PetscFunctionReturn(PETSC_SUCCESS);
}
