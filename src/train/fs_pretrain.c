/* fs_pretrain.c -- the pretraining app's logic */
#include <string.h>
#include "fs_pretrain.h"
#include "fs_app_common.h"
#include "fs_gpt_data.h"
#include "fs_log.h"
#include "fs_model.h"
#include "fs_opt.h"
#include "fs_tokenizer_options.h"
#include "fs_trainer.h"
#include "fs_train_ckpt.h"

struct split_ctx {
  const struct fs_gpt_data *data;
  int split;
};

static PetscErrorCode get_sample(void *ctx, int64_t k, int32_t *tokens)
{
  const struct split_ctx *c = ctx;
  PetscFunctionBegin;
  PetscCall(fs_gpt_data_sample(c->data, c->split, k, tokens));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_pretrain_run(MPI_Comm comm, const char *app, const char *summary)
{
  struct fs_model_config cfg;
  struct fs_train_args targs;
  struct fs_tokenizer_opts topts;
  struct fs_parallel_opts po;
  struct fs_tokenizer *tok = NULL;
  struct fs_model *m = NULL;
  struct fs_trainer *t = NULL;
  struct fs_gpt_data *data = NULL;
  struct fs_layout *layout = NULL;
  char data_path[FS_OPT_STRLEN], split[FS_OPT_STRLEN], cache[FS_OPT_STRLEN], desc[512];
  PetscBool stop;

  PetscFunctionBegin;
  fs_model_config_default(&cfg);
  cfg.num_layers = 0, cfg.hidden_size = 0, cfg.num_attention_heads = 0; /* must be given */
  PetscCall(fs_model_config_from_options(&cfg));
  PetscCall(fs_model_lora_options(&cfg));
  PetscCall(fs_tokenizer_options(&topts));
  fs_opt_section("Data");
  PetscCall(fs_opt_string("-data_path", NULL, "dataset prefix, or \"W1 PREFIX1 W2 PREFIX2 ...\" to blend (Megatron .bin/.idx)",
                          data_path, NULL));
  PetscCall(fs_opt_string("-split", "969,30,1", "train,valid,test proportions of the documents", split, NULL));
  PetscCall(fs_opt_string("-data_cache_path", "", "where sample indices are cached (default: beside the data)", cache, NULL));
  PetscCall(fs_train_args_from_options(&targs));
  PetscCall(fs_parallel_options(&po));
  PetscCall(fs_opt_finish(comm, app, summary, &stop));
  if (stop) PetscFunctionReturn(PETSC_SUCCESS);

  FSCheck(data_path[0], comm, PETSC_ERR_ARG_WRONG, "%s needs -data_path (a preprocessed dataset prefix)", app);
  FSCheck(cfg.num_layers > 0 && cfg.hidden_size > 0 && cfg.num_attention_heads > 0, comm, PETSC_ERR_ARG_WRONG,
          "give the model: -num_layers, -hidden_size, -num_attention_heads (or an option file from share/flagscale/configs)");
  PetscCall(fs_parallel_setup(comm, &po, &cfg, &layout));
  PetscCall(fs_tokenizer_create_from_opts(&topts, &tok));
  cfg.vocab_size = fs_tokenizer_vocab_size(tok);
  PetscCall(fs_tokenizer_destroy(&tok));
  PetscCall(fs_model_config_finalize(&cfg, (int)po.tp));
  fs_model_config_describe(&cfg, desc, sizeof desc);
  fs_log_info("%s: %s", app, desc);
  PetscCall(fs_app_model_create(&cfg, layout, &m));
  PetscCall(fs_model_init_params(m, (uint64_t)targs.seed));
  PetscCall(fs_trainer_create(layout->dp_comm, m, &targs, &t));
  t->world = layout->world; /* checkpoints and stop decisions involve every TP, PP and DP rank */
  snprintf(t->tokenizer_json, sizeof t->tokenizer_json, "{\"type\": \"%s\", \"vocab_size\": %d}",
           topts.type == FS_TOKENIZER_AQUILA ? "aquila" : "gpt2bpe", cfg.vocab_size);
  if (targs.load[0]) {
    struct fs_load_flags lf = {targs.no_load_optim, targs.finetune};
    PetscBool loaded;
    PetscCall(fs_train_load(t, targs.load, &lf, &loaded));
  }
  PetscCall(fs_model_set_batch(m, (int)t->args.micro_batch_size, cfg.seq_length));

  struct fs_gpt_data_args da = {data_path, split, cache, {t->total_samples, fs_train_valid_samples(&t->args), 0},
                                cfg.seq_length, (uint32_t)targs.seed};
  PetscCall(fs_gpt_data_create(comm, &da, &data));
  fs_log_info("data: %lld train samples, %lld validation samples of %d tokens", (long long)data->n_samples[0],
              (long long)data->n_samples[1], cfg.seq_length);
  struct split_ctx tc = {data, FS_SPLIT_TRAIN}, vc = {data, FS_SPLIT_VALID};
  struct fs_sample_source train = {get_sample, &tc, data->n_samples[0], NULL, NULL},
                          valid = {get_sample, &vc, data->n_samples[1], NULL, NULL};
  PetscCall(fs_trainer_run(t, &train, da.num_samples[1] > 0 ? &valid : NULL));
  if (!t->exit_requested)
    fs_log_info("training done: %lld iterations, %lld samples, last loss %.4f", (long long)t->iteration,
                (long long)t->consumed_train_samples, t->last_loss);
  PetscCall(fs_gpt_data_destroy(&data));
  PetscCall(fs_trainer_destroy(&t));
  PetscCall(fs_model_destroy(&m));
  PetscCall(fs_layout_destroy(&layout));
  PetscFunctionReturn(PETSC_SUCCESS);
}
