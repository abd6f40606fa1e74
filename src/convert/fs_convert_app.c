/* fs_convert_app.c -- flagscale-convert: load (flagscale | hf) -> model -> save (flagscale | hf) */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <limits.h>
#include <jansson.h>
#include "fs_convert.h"
#include "fs_ckpt.h"
#include "fs_hf.h"
#include "fs_gguf_model.h"
#include "fs_log.h"
#include "fs_model_io.h"
#include "fs_opt.h"
#include "fs_peft.h"
#include "fs_tokenizer_options.h"

enum { FMT_FLAGSCALE = 0, FMT_HF = 1, FMT_GGUF = 2, FMT_PEFT = 3 };
static const char *const k_fmt[] = {"flagscale", "hf", "gguf", "peft"};
enum { DT_FP32 = 0, DT_BF16 = 1, DT_FP16 = 2 };

struct convert_opts {
  char load[FS_OPT_STRLEN], save[FS_OPT_STRLEN], adapter[FS_OPT_STRLEN], peft_base[FS_OPT_STRLEN];
  int load_format, save_format, save_dtype;
  PetscBool drop_optimizer, merge_lora;
  int64_t max_shard_mb;
};

/* what a converted model carries along besides its weights */
struct source {
  char tokenizer_json[PATH_MAX + 64]; /* {"type": "gpt2bpe"|"aquila"|"dir", "path": ...} or "" */
  char ckpt_path[4096];               /* the flagscale file, when loaded from one (for the optimizer state) */
  int64_t iteration;
  char *chat_template;                /* from a GGUF file or a checkpoint, or NULL */
  int new_model;                      /* LoRA adapters were merged or attached: the optimizer state and iteration
                                         no longer apply */
};

static PetscErrorCode read_options(struct convert_opts *o)
{
  PetscFunctionBegin;
  fs_opt_section("Conversion");
  PetscCall(fs_opt_string("-load", NULL,
                          "what to read: a checkpoint directory or file, a Hugging Face folder, or a .gguf file", o->load,
                          NULL));
  PetscCall(fs_opt_enum("-load_format", "flagscale|hf|gguf", FMT_FLAGSCALE, "format of -load", &o->load_format, NULL));
  PetscCall(fs_opt_string("-load_adapter", "", "a PEFT LoRA adapter folder (adapter_config.json + "
                          "adapter_model.safetensors) to put on the -load model (\"\" = none)", o->adapter, NULL));
  PetscCall(fs_opt_string("-save", NULL, "output directory (gguf: DIR/model.gguf)", o->save, NULL));
  PetscCall(fs_opt_enum("-save_format", "flagscale|hf|gguf|peft", FMT_HF,
                        "format to write (peft: the LoRA adapters alone, as a PEFT adapter folder)", &o->save_format,
                        NULL));
  PetscCall(fs_opt_string("-peft_base_model", "", "peft: base_model_name_or_path of adapter_config.json (the base "
                          "model's Hugging Face folder or hub name; \"\" = null)", o->peft_base, NULL));
  PetscCall(fs_opt_enum("-save_dtype", "fp32|bf16|fp16", DT_FP32,
                        "weights on disk (flagscale: fp32 or bf16; hf: any; gguf: fp32 or fp16); the optimizer state "
                        "stays fp32", &o->save_dtype, NULL));
  PetscCall(fs_opt_bool("-drop_optimizer", PETSC_FALSE, "flagscale -> flagscale: write the weights only",
                        &o->drop_optimizer, NULL));
  PetscCall(fs_opt_bool("-merge_lora", PETSC_TRUE,
                        "a model with LoRA adapters: write W + (alpha/r) B A and no adapters (false: keep the "
                        "adapters; flagscale output only; a peft output always holds the adapters alone)",
                        &o->merge_lora, NULL));
  PetscCall(fs_opt_int("-max_shard_size_mb", 5000, "hf: largest safetensors shard in MB (more tensors -> index file)",
                       &o->max_shard_mb, NULL));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static enum fs_dtype file_dtype(int d) { return d == DT_BF16 ? FS_DTYPE_BF16 : d == DT_FP16 ? FS_DTYPE_F16 : FS_DTYPE_F32; }

/* 1 when the two files have the same bytes */
static int same_file(const char *a, const char *b)
{
  FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
  int same = fa && fb;
  while (same) {
    int ca = fgetc(fa), cb = fgetc(fb);
    if (ca != cb) same = 0;
    if (ca == EOF || cb == EOF) break;
  }
  if (fa) fclose(fa);
  if (fb) fclose(fb);
  return same;
}

/* a Hugging Face folder's tokenizer: one of the shipped ones when its vocab.json is byte-identical, else the folder */
static void hf_tokenizer(const char *dir, char *json, size_t n)
{
  char v[4200], ship[4200], abs[PATH_MAX];
  snprintf(v, sizeof v, "%s/vocab.json", dir);
  const char *names[] = {"gpt2", "aquila"}, *types[] = {"gpt2bpe", "aquila"};
  json[0] = 0;
  for (int i = 0; i < 2; i++) {
    snprintf(ship, sizeof ship, "%s/tokenizers/%s/vocab.json", fs_data_dir(), names[i]);
    if (same_file(v, ship)) {
      snprintf(json, n, "{\"type\": \"%s\"}", types[i]);
      return;
    }
  }
  if (access(v, R_OK) == 0 && realpath(dir, abs)) snprintf(json, n, "{\"type\": \"dir\", \"path\": \"%s\"}", abs);
}

/* the tokenizer folder and end-of-document token of a tokenizer description */
static PetscErrorCode tokenizer_dir(const char *json, char *dir, size_t n, const char **eos)
{
  json_error_t err;
  json_t *o = json_loads(json, 0, &err);
  PetscFunctionBegin;
  FSCheck(o, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "bad tokenizer description: %s", err.text);
  const char *type = json_string_value(json_object_get(o, "type")), *path = json_string_value(json_object_get(o, "path"));
  *eos = type && !strcmp(type, "aquila") ? "</s>" : "<|endoftext|>";
  if (type && !strcmp(type, "dir") && path) snprintf(dir, n, "%s", path);
  else snprintf(dir, n, "%s/tokenizers/%s", fs_data_dir(), type && !strcmp(type, "aquila") ? "aquila" : "gpt2");
  json_decref(o);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode load_model(MPI_Comm self, const struct convert_opts *o, struct fs_model **m, struct source *src)
{
  PetscFunctionBegin;
  memset(src, 0, sizeof *src);
  if (o->load_format == FMT_FLAGSCALE) {
    struct fs_ckpt_reader *r = NULL;
    char *tok = NULL;
    PetscBool has;
    PetscCall(fs_model_checkpoint_file(self, o->load, src->ckpt_path, sizeof src->ckpt_path));
    PetscCall(fs_model_create_from_checkpoint(self, src->ckpt_path, &fs_ops_cpu, m));
    PetscCall(fs_ckpt_open(self, src->ckpt_path, &r));
    PetscCall(fs_ckpt_has_attr(r, "tokenizer", &has));
    if (has) {
      PetscCall(fs_ckpt_get_attr_string(r, "tokenizer", &tok));
      snprintf(src->tokenizer_json, sizeof src->tokenizer_json, "%s", tok);
      free(tok);
    }
    PetscCall(fs_ckpt_has_attr(r, "iteration", &has));
    if (has) PetscCall(fs_ckpt_get_attr_int64(r, "iteration", &src->iteration));
    PetscCall(fs_ckpt_has_attr(r, "chat_template", &has));
    if (has) PetscCall(fs_ckpt_get_attr_string(r, "chat_template", &src->chat_template));
    PetscCall(fs_ckpt_close(&r));
  } else if (o->load_format == FMT_GGUF) {
    char tdir[FS_OPT_STRLEN + 16], abs[PATH_MAX];
    snprintf(tdir, sizeof tdir, "%s/tokenizer", o->save);
    PetscCall(fs_gguf_import(o->load, tdir, m, &src->chat_template));
    if (access(tdir, R_OK) == 0 && realpath(tdir, abs))
      snprintf(src->tokenizer_json, sizeof src->tokenizer_json, "{\"type\": \"dir\", \"path\": \"%s\"}", abs);
  } else {
    struct fs_model_config cfg;
    PetscCall(fs_hf_read_config(o->load, &cfg));
    PetscCall(fs_model_create(&cfg, &fs_ops_cpu, m));
    PetscCall(fs_hf_read_weights(o->load, *m));
    hf_tokenizer(o->load, src->tokenizer_json, sizeof src->tokenizer_json);
  }
  if (o->adapter[0]) PetscCall(fs_peft_attach(o->adapter, m));
  /* adapters: merged for every output but a PEFT folder (the adapters alone) and, asked, a flagscale checkpoint */
  const int lora = (*m)->cfg.lora_rank > 0;
  FSCheck(!lora || o->merge_lora || o->save_format == FMT_FLAGSCALE || o->save_format == FMT_PEFT, self,
          PETSC_ERR_ARG_INCOMP, "%s has LoRA adapters: %s export needs them merged (drop -merge_lora false)", o->load,
          k_fmt[o->save_format]);
  const int merge = lora && o->merge_lora && o->save_format != FMT_PEFT;
  src->new_model = merge || o->adapter[0];
  if (merge) PetscCall(fs_model_lora_merge_in_place(m));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* flagscale -> flagscale keeps the counters and, unless dropped, the optimizer moments */
static PetscErrorCode copy_training_state(struct fs_ckpt_writer *w, const struct fs_model *m, const struct source *src,
                                          PetscBool drop, MPI_Comm self)
{
  static const char *const counters[] = {"consumed_train_samples", "consumed_valid_samples", "skipped_iterations",
                                         "nan_iterations", "optimizer_step", "seed"};
  struct fs_ckpt_reader *r = NULL;
  float *buf = NULL;
  char name[300];
  PetscBool has;

  PetscFunctionBegin;
  if (!src->ckpt_path[0]) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(fs_ckpt_open(self, src->ckpt_path, &r));
  for (size_t i = 0; i < sizeof counters / sizeof *counters && !drop; i++) {
    int64_t v;
    PetscCall(fs_ckpt_has_attr(r, counters[i], &has));
    if (!has) continue;
    PetscCall(fs_ckpt_get_attr_int64(r, counters[i], &v));
    PetscCall(fs_ckpt_set_attr_int64(w, counters[i], v));
  }
  if (!drop) {
    FSMalloc(m->table.n_local * sizeof(float), &buf);
    for (int i = 0; i < m->table.n; i++) {
      const struct fs_param *p = &m->table.p[i];
      const char *moments[] = {"exp_avg", "exp_avg_sq"};
      for (int k = 0; k < 2; k++) {
        snprintf(name, sizeof name, "/optimizer/%s/%s", p->name, moments[k]);
        PetscCall(fs_ckpt_has(r, name, &has));
        if (!has) continue;
        PetscCall(fs_model_read_tensor(r, m, p, name, buf));
        PetscCall(fs_model_write_tensor(w, m, p, name, FS_DTYPE_F32, buf, 0, 1));
      }
    }
    free(buf);
  }
  PetscCall(fs_ckpt_close(&r));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode save_flagscale(const struct convert_opts *o, const struct fs_model *m, const struct source *src,
                                     MPI_Comm self)
{
  char path[4096];
  struct fs_ckpt_writer *w = NULL;
  const int64_t iteration = o->drop_optimizer || src->new_model ? 0 : src->iteration;

  PetscFunctionBegin;
  FSCheck(o->save_dtype != DT_FP16, self, PETSC_ERR_SUP, "flagscale checkpoints store fp32 or bf16, not fp16");
  PetscCall(fs_ckpt_path(path, sizeof path, o->save, iteration));
  PetscCall(fs_ckpt_create(self, path, &w));
  PetscErrorCode ierr = fs_ckpt_set_attr_int64(w, "iteration", iteration);
  if (!ierr && src->tokenizer_json[0]) ierr = fs_ckpt_set_attr_string(w, "tokenizer", src->tokenizer_json);
  if (!ierr && src->chat_template) ierr = fs_ckpt_set_attr_string(w, "chat_template", src->chat_template);
  if (!ierr) ierr = fs_model_write(w, m, file_dtype(o->save_dtype), 0, 1);
  /* merged or attached adapters: the moments were of other trainable tensors, the weights are a new model's */
  if (!ierr) ierr = copy_training_state(w, m, src, o->drop_optimizer || src->new_model, self);
  if (ierr) {
    fs_ckpt_abort(&w);
    PetscCall(ierr);
  }
  PetscCall(fs_ckpt_finish(&w));
  PetscCall(fs_ckpt_write_tracker(self, o->save, iteration));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* the tokenizer folder, end-of-document token and its id of the source ("" / -1 when it names none) */
static PetscErrorCode source_tokenizer(const struct source *src, char *tdir, size_t n, const char **eos, int *eos_id)
{
  PetscFunctionBegin;
  tdir[0] = 0, *eos = "<|endoftext|>", *eos_id = -1;
  if (!src->tokenizer_json[0]) PetscFunctionReturn(PETSC_SUCCESS);
  struct fs_tokenizer *tok = NULL;
  PetscCall(tokenizer_dir(src->tokenizer_json, tdir, n, eos));
  PetscCall(fs_tokenizer_create_from_dir(tdir, &tok));
  *eos_id = fs_tokenizer_eod(tok);
  PetscCall(fs_tokenizer_destroy(&tok));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode save_hf(const struct convert_opts *o, const struct fs_model *m, const struct source *src)
{
  char tdir[4096];
  const char *eos;
  int eos_id;

  PetscFunctionBegin;
  PetscCall(source_tokenizer(src, tdir, sizeof tdir, &eos, &eos_id));
  if (!tdir[0]) fs_log_warn("the checkpoint names no tokenizer: the Hugging Face folder will have none");
  PetscCall(fs_hf_write_config(o->save, &m->cfg, eos_id, eos_id, file_dtype(o->save_dtype)));
  PetscCall(fs_hf_write_weights(o->save, m, file_dtype(o->save_dtype), (size_t)o->max_shard_mb << 20));
  if (tdir[0]) PetscCall(fs_hf_write_tokenizer(o->save, tdir, eos, m->cfg.max_position_embeddings));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode save_gguf(const struct convert_opts *o, const struct fs_model *m, const struct source *src)
{
  char tdir[4096], path[4200];
  const char *eos;
  int eos_id;

  PetscFunctionBegin;
  PetscCall(source_tokenizer(src, tdir, sizeof tdir, &eos, &eos_id));
  snprintf(path, sizeof path, "%s/model.gguf", o->save);
  PetscCall(fs_gguf_export(path, m, file_dtype(o->save_dtype), tdir[0] ? tdir : NULL, eos_id));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_convert_run(MPI_Comm comm, const char *app, const char *summary)
{
  struct convert_opts o;
  struct source src;
  struct fs_model *m = NULL;
  PetscBool stop;
  int rank;
  char desc[512];

  PetscFunctionBegin;
  PetscCall(read_options(&o));
  PetscCall(fs_opt_finish(comm, app, summary, &stop));
  if (stop) PetscFunctionReturn(PETSC_SUCCESS);
  FSCheck(o.load[0] && o.save[0], comm, PETSC_ERR_ARG_WRONG, "%s needs -load and -save", app);
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    if (mkdir(o.save, 0755) && errno != EEXIST) FSCallSys(-1, o.save);
    PetscCall(load_model(PETSC_COMM_SELF, &o, &m, &src));
    fs_model_config_describe(&m->cfg, desc, sizeof desc);
    fs_log_info("loaded %s (%s): %s", o.load, k_fmt[o.load_format], desc);
    if (o.save_format == FMT_HF) PetscCall(save_hf(&o, m, &src));
    else if (o.save_format == FMT_GGUF) PetscCall(save_gguf(&o, m, &src));
    else if (o.save_format == FMT_PEFT)
      PetscCall(fs_peft_write(o.save, m, file_dtype(o.save_dtype), o.peft_base[0] ? o.peft_base : NULL));
    else PetscCall(save_flagscale(&o, m, &src, PETSC_COMM_SELF));
    free(src.chat_template);
    fs_log_info("wrote %s (%s, %s)", o.save, k_fmt[o.save_format],
                o.save_dtype == DT_BF16 ? "bf16" : o.save_dtype == DT_FP16 ? "fp16" : "fp32");
    PetscCall(fs_model_destroy(&m));
  }
  PetscCallMPI(MPI_Barrier(comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}
