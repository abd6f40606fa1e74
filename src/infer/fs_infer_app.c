/* fs_infer_app.c -- flagscale-infer: loads a checkpoint and its tokenizer, runs prompts through the engine,
 * prints the completions and the prefill / decode throughput, optionally writes them as JSONL.
 * Under mpirun with several ranks the model is split tensor-parallel over them (fs_infer_load.h): every rank reads
 * the prompts, runs the same engine (same scheduling, same sampling: every rank gets the full logits), and rank 0
 * prints and writes the output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "fs_ckpt.h"
#include "fs_engine.h"
#include "fs_checkpoint_info.h"
#include "fs_infer_app.h"
#include "fs_infer_load.h"
#include "fs_infer_prompts.h"
#include "fs_log.h"
#include "fs_model_io.h"
#include "fs_opt.h"

struct infer_args {
  char load[FS_OPT_STRLEN], prompt[FS_OPT_STRLEN], prompts_file[FS_OPT_STRLEN], output[FS_OPT_STRLEN];
  char tokenizer[FS_OPT_STRLEN];
  PetscBool has_prompt, has_file, has_tokenizer, stop_on_eod, stream;
  struct fs_prompt def;
  char **stop;
  int n_stop;
  struct fs_engine_opts eng;
  struct fs_infer_layout layout;
};

static PetscErrorCode read_args(struct infer_args *a)
{
  int64_t v;

  PetscFunctionBegin;
  fs_opt_section("Input");
  PetscCall(fs_opt_string("-load", NULL, "checkpoint directory (latest iteration) or .h5 file written by "
                          "flagscale-pretrain -save", a->load, NULL));
  PetscCall(fs_opt_string("-prompt", NULL, "one prompt", a->prompt, &a->has_prompt));
  PetscCall(fs_opt_string("-prompts_file", NULL, "JSONL, one {\"prompt\": ...} per line; optional per-line "
                          "max_new_tokens, temperature, top_k, top_p, seed, stop", a->prompts_file, &a->has_file));
  PetscCall(fs_opt_string("-tokenizer", NULL, "tokenizer name (gpt2, aquila) or folder; default: the one the "
                          "checkpoint names", a->tokenizer, &a->has_tokenizer));
  fs_opt_section("Generation (defaults of the original FlagScale server)");
  PetscCall(fs_opt_int("-max_new_tokens", 64, "tokens to generate per prompt (0: score the prompt: "
                       "log-probabilities of its tokens)", &a->def.max_new_tokens, NULL));
  PetscCall(fs_opt_real("-temperature", 0.9, "sampling temperature (0: greedy); applied after top-p and top-k",
                        &a->def.sampling.temperature, NULL));
  PetscCall(fs_opt_int("-top_k", 20, "keep the k most likely tokens (0: off; 1: greedy)", &v, NULL));
  a->def.sampling.top_k = (int)v;
  PetscCall(fs_opt_real("-top_p", 0.9, "keep the most likely tokens up to this probability (0 or 1: off)",
                        &a->def.sampling.top_p, NULL));
  PetscCall(fs_opt_int("-seed", 123, "sampling seed of each request (same seed, same output in any batch)", &v,
                       NULL));
  a->def.sampling.seed = (uint64_t)v;
  PetscCall(fs_opt_bool("-stop_on_eod", PETSC_TRUE, "stop at the tokenizer's end-of-document token", &a->stop_on_eod,
                        NULL));
  PetscCall(fs_opt_string_list("-stop", NULL, "stop strings (comma-separated), cut from the output", &a->stop,
                               &a->n_stop, NULL));
  PetscCall(fs_engine_options(&a->eng));
  PetscCall(fs_infer_layout_options(&a->layout));
  fs_opt_section("Output");
  PetscCall(fs_opt_string("-output", NULL, "write the completions as JSONL (prompt, text, tokens, logprobs, "
                          "finish_reason; rank 0 writes)", a->output, NULL));
  PetscCall(fs_opt_bool("-stream", PETSC_FALSE, "print the text as it is generated (one prompt)", &a->stream, NULL));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void on_token(void *ctx, int64_t id, int32_t token, const char *bytes, size_t n, int finished)
{
  fwrite(bytes, 1, n, stdout);
  if (finished) fputc('\n', stdout);
  fflush(stdout);
}

/* JSON needs valid UTF-8: a completion may end inside a character; invalid bytes become U+FFFD (as Python's
 * decode(errors="replace")).  out holds 3 * n + 1 bytes. */
static size_t utf8_sanitize(char *out, const char *in, size_t n)
{
  size_t o = 0;
  for (size_t i = 0; i < n;) {
    unsigned char c = (unsigned char)in[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    int ok = len > 0 && i + len <= n && !(len == 2 && c < 0xC2);
    for (size_t k = 1; ok && k < len; k++) ok = ((unsigned char)in[i + k] & 0xC0) == 0x80;
    if (ok) {
      memcpy(out + o, in + i, len), o += len, i += len;
    } else {
      memcpy(out + o, "\xEF\xBF\xBD", 3), o += 3, i++;
    }
  }
  out[o] = 0;
  return o;
}

static PetscErrorCode write_result(FILE *f, const struct fs_prompt *p, const struct fs_tokens *enc,
                                  const struct fs_result *r)
{
  PetscFunctionBegin;
  json_t *o = json_object(), *toks = json_array(), *lps = json_array(), *pids = json_array();
  for (int64_t i = 0; i < enc->n; i++) json_array_append_new(pids, json_integer(enc->ids[i]));
  for (int64_t i = 0; i < r->n_tokens; i++) {
    json_array_append_new(toks, json_integer(r->tokens[i]));
    json_array_append_new(lps, json_real(r->logprobs[i]));
  }
  json_object_set_new(o, "prompt", json_string(p->text));
  char *clean;
  FSMalloc(3 * r->n_text + 1, &clean);
  size_t n_clean = utf8_sanitize(clean, r->text, r->n_text);
  json_object_set_new(o, "text", json_stringn(clean, n_clean));
  free(clean);
  json_object_set_new(o, "tokens", toks);
  json_object_set_new(o, "logprobs", lps);
  json_object_set_new(o, "finish_reason", json_string(fs_finish_name(r->finish)));
  json_object_set_new(o, "prompt_tokens", json_integer(r->n_prompt));
  json_object_set_new(o, "prompt_ids", pids);
  char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
  json_decref(o);
  FSCheck(s, PETSC_COMM_SELF, PETSC_ERR_MEM, "cannot format a result as JSON");
  int bad = fprintf(f, "%s\n", s) < 0;
  free(s);
  FSCheck(!bad, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write the output file");
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* every rank runs the engine on its slice; rank 0 (root) prints and writes */
static PetscErrorCode generate(MPI_Comm comm, const struct infer_args *a, struct fs_prompt *p, int n, int root)
{
  struct fs_model *m = NULL;
  struct fs_tokenizer *tok = NULL;
  struct fs_engine *e = NULL;
  char tname[FS_OPT_STRLEN];
  struct fs_tokens *enc;
  int64_t *ids;

  PetscFunctionBegin;
  if (a->has_tokenizer) snprintf(tname, sizeof tname, "%s", a->tokenizer);
  else {
    PetscCall(fs_checkpoint_info(a->load, tname, sizeof tname, NULL));
    FSCheck(tname[0], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
            "%s names no tokenizer this release knows: give -tokenizer gpt2|aquila|DIR", a->load);
  }
  PetscCall(fs_tokenizer_create_named(tname, &tok));
  PetscCall(fs_infer_model_load(comm, &a->layout, a->load, &m));
  FSCheck(fs_tokenizer_vocab_size(tok) <= m->cfg.vocab_size, PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP,
          "tokenizer %s has %d tokens, the model only %d: wrong -tokenizer?", tname, fs_tokenizer_vocab_size(tok),
          m->cfg.vocab_size);
  char desc[512];
  fs_model_config_describe(&m->cfg, desc, sizeof desc);
  fs_log_info("model: %s; tokenizer %s; %d tensor-parallel rank%s", desc, tname, m->tp, m->tp > 1 ? "s" : "");
  PetscCall(fs_engine_create(m, tok, &a->eng, &e));
  int stream = a->stream && n == 1 && root;
  if (stream) fs_engine_set_callback(e, on_token, NULL);
  FSCalloc((size_t)n * sizeof *enc, &enc);
  FSMalloc((size_t)n * sizeof *ids, &ids);
  int32_t eod = fs_tokenizer_eod(tok);
  for (int i = 0; i < n; i++) {
    PetscCall(fs_tokenizer_encode(tok, p[i].text, strlen(p[i].text), &enc[i]));
    FSCheck(enc[i].n > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "prompt %d is empty", i + 1);
    struct fs_request r = {.prompt = enc[i].ids, .n_prompt = enc[i].n, .max_new_tokens = p[i].max_new_tokens,
                           .sampling = p[i].sampling, .stop_ids = &eod, .n_stop_ids = a->stop_on_eod && eod >= 0};
    r.stop_strings = (const char *const *)(p[i].n_stop ? p[i].stop : a->stop);
    r.n_stop_strings = p[i].n_stop ? p[i].n_stop : a->n_stop;
    PetscCall(fs_engine_submit(e, &r, &ids[i]));
  }
  if (stream) fputs(p[0].text, stdout);
  double t0 = MPI_Wtime();
  PetscCall(fs_engine_run(e));
  double wall = MPI_Wtime() - t0;
  FILE *f = NULL;
  if (a->output[0] && root) {
    f = fopen(a->output, "w");
    FSCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s: %s", a->output, strerror(errno));
  }
  for (int i = 0; i < n; i++) {
    const struct fs_result *r = fs_engine_result(e, ids[i]);
    if (!stream && root) {
      if (r->finish == FS_FINISH_SCORED) {
        double sum = 0;
        for (int64_t t = 0; t < r->n_tokens; t++) sum += r->logprobs[t];
        printf("== [%d] scored %lld tokens: sum of log-probabilities %.6f\n%s\n", i + 1, (long long)r->n_tokens,
               sum, p[i].text);
      } else
        printf("== [%d] %s, %lld tokens\n%s%s\n", i + 1, fs_finish_name(r->finish), (long long)r->n_tokens,
               p[i].text, r->text);
    }
    if (f) PetscCall(write_result(f, &p[i], &enc[i], r));
  }
  if (f) {
    int bad = ferror(f); /* a write that failed earlier (disk full) leaves only this flag */
    bad |= fclose(f) != 0;
    FSCheck(!bad, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write %s (disk full?)", a->output);
  }
  struct fs_engine_stats st;
  fs_engine_get_stats(e, &st);
  if (root) printf("prefill: %lld tokens, %.1f tokens/s; decode: %lld tokens, %.1f tokens/s; %lld steps, up to %d sequences "
         "at once, %lld preemptions, %.3f s\n", (long long)st.prefill_tokens,
         st.prefill_s > 0 ? st.prefill_tokens / st.prefill_s : 0.0, (long long)st.decode_tokens,
         st.decode_s > 0 ? st.decode_tokens / st.decode_s : 0.0, (long long)st.steps, st.max_running,
         (long long)st.preemptions, wall);
  for (int i = 0; i < n; i++) fs_tokens_free(&enc[i]);
  free(enc);
  free(ids);
  PetscCall(fs_engine_destroy(&e));
  PetscCall(fs_model_destroy(&m));
  PetscCall(fs_tokenizer_destroy(&tok));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_infer_run(MPI_Comm comm, const char *app, const char *summary)
{
  struct infer_args a = {0};
  PetscBool stop;
  int rank;
  struct fs_prompt *p = NULL;
  int n = 0;

  PetscFunctionBegin;
  PetscCall(read_args(&a));
  PetscCall(fs_opt_finish(comm, app, summary, &stop));
  if (stop) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  FSCheck(a.load[0], comm, PETSC_ERR_ARG_WRONG, "%s needs -load DIR|FILE (a checkpoint of flagscale-pretrain -save)",
          app);
  FSCheck(a.has_prompt != a.has_file, comm, PETSC_ERR_ARG_WRONG, "%s needs exactly one of -prompt TEXT and "
          "-prompts_file FILE.jsonl", app);
  PetscCall(fs_sampling_check(&a.def.sampling));
  FSCheck(a.def.max_new_tokens >= 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "-max_new_tokens must be >= 0");
  /* every rank reads the same prompts (a shared file system) and runs the engine */
  if (a.has_file) PetscCall(fs_prompts_read(a.prompts_file, &a.def, &p, &n));
  else {
    FSCalloc(sizeof *p, &p);
    p[0] = a.def;
    p[0].text = strdup(a.prompt);
    p[0].stop = NULL, p[0].n_stop = 0;
    n = 1;
  }
  PetscErrorCode ierr = generate(comm, &a, p, n, rank == 0);
  fs_prompts_free(&p, n);
  PetscCall(ierr);
  fs_opt_free_list(&a.stop, a.n_stop);
  PetscCallMPI(MPI_Barrier(comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}
