/* fs_pretrain.c -- the pretraining app's logic */
#include <string.h>
#include "fs_pretrain.h"
#include "fs_gpt_data.h"
#include "fs_log.h"
#include "fs_model.h"
#include "fs_opt.h"
#include "fs_tokenizer_options.h"
#include "fs_trainer.h"
#include "fs_train_ckpt.h"
#include "fs_layout.h"

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
  struct fs_tokenizer *tok = NULL;
  struct fs_model *m = NULL;
  struct fs_trainer *t = NULL;
  struct fs_gpt_data *data = NULL;
  struct fs_layout *layout = NULL;
  char data_path[FS_OPT_STRLEN], split[FS_OPT_STRLEN], cache[FS_OPT_STRLEN], desc[512];
  PetscBool stop;
  int device;

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
  fs_opt_section("Parallelism and precision");
  int64_t tp, pp;
  double initial_scale, min_scale;
  PetscBool sp, bf16, fp16;
  PetscCall(fs_opt_int("-tensor_model_parallel_size", 1, "tensor-parallel ranks (Megatron: heads, FFN and vocabulary split; keep within a node)", &tp, NULL));
  PetscCall(fs_opt_int("-pipeline_model_parallel_size", 1, "pipeline stages (layers split evenly, 1F1B schedule; must divide -num_layers)", &pp, NULL));
  PetscCall(fs_opt_bool("-sequence_parallel", PETSC_FALSE, "sequence parallelism (needs tensor parallelism)", &sp, NULL));
  PetscCall(fs_opt_bool("-bf16", PETSC_FALSE, "bf16 mixed precision (GPU backend; the CPU backend trains in fp32)", &bf16, NULL));
  PetscCall(fs_opt_bool("-fp16", PETSC_FALSE, "fp16 mixed precision with dynamic loss scaling (GPU backend)", &fp16, NULL));
  PetscCall(fs_opt_real("-initial_loss_scale", 4294967296.0, "fp16: initial loss scale", &initial_scale, NULL));
  PetscCall(fs_opt_real("-min_loss_scale", 1.0, "fp16: smallest loss scale", &min_scale, NULL));
  fs_opt_section("System");
  PetscCall(fs_opt_enum("-device", "cpu", 0, "compute device (the CUDA backend is not wired into training yet)", &device,
                        NULL));
  PetscCall(fs_opt_finish(comm, app, summary, &stop));
  if (stop) PetscFunctionReturn(PETSC_SUCCESS);

  FSCheck(pp >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "-pipeline_model_parallel_size must be >= 1 (got %lld)",
          (long long)pp);
  FSCheck(tp >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "-tensor_model_parallel_size must be >= 1 (got %lld)", (long long)tp);
  if (sp && tp == 1) fs_log_warn("-sequence_parallel needs -tensor_model_parallel_size > 1: ignored");
  cfg.sequence_parallel = sp && tp > 1;
  FSCheck(!bf16 && !fp16, comm, PETSC_ERR_SUP,
          "-bf16/-fp16 need the GPU backend, which training cannot use yet; the CPU backend trains in fp32: drop the "
          "option");
  FSCheck(data_path[0], comm, PETSC_ERR_ARG_WRONG, "%s needs -data_path (a preprocessed dataset prefix)", app);
  FSCheck(cfg.num_layers > 0 && cfg.hidden_size > 0 && cfg.num_attention_heads > 0, comm, PETSC_ERR_ARG_WRONG,
          "give the model: -num_layers, -hidden_size, -num_attention_heads (or an option file from share/flagscale/configs)");
  PetscCall(fs_layout_create(comm, (int)tp, (int)pp, &layout));
  PetscCall(fs_tokenizer_create_from_opts(&topts, &tok));
  cfg.vocab_size = fs_tokenizer_vocab_size(tok);
  PetscCall(fs_tokenizer_destroy(&tok));
  PetscCall(fs_model_config_finalize(&cfg, (int)tp));
  fs_model_config_describe(&cfg, desc, sizeof desc);
  fs_log_info("%s: %s", app, desc);
  FSCheck(cfg.num_layers % pp == 0, comm, PETSC_ERR_ARG_INCOMP,
          "-pipeline_model_parallel_size %lld must divide -num_layers %d: every stage holds the same number of layers",
          (long long)pp, cfg.num_layers);
  PetscCall(fs_model_create_pp(&cfg, &fs_ops_cpu, layout->tp_comm, layout->pp_comm, &m));
  fs_log_info("parameters: %lld (%lld with the padded vocabulary)", (long long)(m->table.n_global -
              (int64_t)(cfg.padded_vocab_size - cfg.vocab_size) * cfg.hidden_size *
              (cfg.untie_embeddings_and_output_weights ? 2 : 1)), (long long)m->table.n_global);
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
