/* fs_serve_app.c -- flagscale-serve: options, loading, the HTTP daemon, signals and an orderly shutdown
 * (stop accepting, finish the requests in flight, exit 0) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>
#include "fs_log.h"
#include "fs_model_io.h"
#include "fs_opt.h"
#include "fs_serve_app.h"
#include "fs_serve_http.h"
#include "fs_checkpoint_info.h"
#include "fs_tokenizer.h"

struct serve_args {
  char load[FS_OPT_STRLEN], tokenizer[FS_OPT_STRLEN], host[FS_OPT_STRLEN], model_name[FS_OPT_STRLEN];
  PetscBool has_tokenizer, has_name;
  int64_t port, max_queue, max_conn, recycle;
  int chat; /* 0 auto, 1 aquila, 2 chatml */
  struct fs_engine_opts eng;
};

static volatile sig_atomic_t n_signals;

static void on_signal(int sig)
{
  if (++n_signals > 1) _exit(1); /* a second Ctrl-C: do not wait for the requests in flight */
}

static PetscErrorCode read_args(struct serve_args *a)
{
  PetscFunctionBegin;
  fs_opt_section("Model");
  PetscCall(fs_opt_string("-load", NULL, "checkpoint directory (latest iteration) or .h5 file written by "
                          "flagscale-pretrain -save or flagscale-convert", a->load, NULL));
  PetscCall(fs_opt_string("-tokenizer", NULL, "tokenizer name (gpt2, aquila) or folder; default: the one the "
                          "checkpoint names", a->tokenizer, &a->has_tokenizer));
  PetscCall(fs_opt_string("-model_name", NULL, "the name clients see (/v1/models, model_info); default: the "
                          "-load folder's name", a->model_name, &a->has_name));
  PetscCall(fs_opt_enum("-chat_template", "auto|aquila|chatml", 0, "chat template of /v1/chat/completions (auto: "
                        "ChatML when the checkpoint's chat_template uses <|im_start|>, else aquila for the aquila "
                        "tokenizer, chatml otherwise)", &a->chat, NULL));
  fs_opt_section("HTTP (served by rank 0 only in this release)");
  PetscCall(fs_opt_string("-host", "127.0.0.1", "address to listen on (0.0.0.0: every interface)", a->host, NULL));
  PetscCall(fs_opt_int("-port", 8080, "TCP port (0: any free port, printed at start)", &a->port, NULL));
  PetscCall(fs_opt_int("-max_queue", 256, "prompts queued or running at most; more are refused with 503",
                       &a->max_queue, NULL));
  PetscCall(fs_opt_int("-max_connections", 128, "open connections at most", &a->max_conn, NULL));
  PetscCall(fs_engine_options(&a->eng));
  PetscCall(fs_opt_int("-engine_recycle", 1000, "an idle engine is recreated after this many prompts (it keeps "
                       "every result until then)", &a->recycle, NULL));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode load(const struct serve_args *a, struct fs_serve *s)
{
  char *tmpl = NULL;

  PetscFunctionBegin;
  PetscCall(fs_checkpoint_info(a->load, s->tokenizer_name, sizeof s->tokenizer_name, &tmpl));
  if (a->has_tokenizer) snprintf(s->tokenizer_name, sizeof s->tokenizer_name, "%s", a->tokenizer);
  FSCheck(s->tokenizer_name[0], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "%s names no tokenizer this release knows (gpt2bpe, aquila): give -tokenizer gpt2|aquila|DIR", a->load);
  s->chat = a->chat == 1 ? FS_CHAT_AQUILA : a->chat == 2 ? FS_CHAT_CHATML
                                                          : fs_chat_template_auto(tmpl, s->tokenizer_name);
  free(tmpl);
  PetscCall(fs_tokenizer_create_named(s->tokenizer_name, &s->tok));
  PetscCall(fs_model_create_from_checkpoint(PETSC_COMM_SELF, a->load, &fs_ops_cpu, &s->m));
  PetscCall(fs_model_lora_merge_in_place(&s->m)); /* a LoRA checkpoint: W + (alpha/r) B A */
  FSCheck(fs_tokenizer_vocab_size(s->tok) <= s->m->cfg.vocab_size, PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP,
          "tokenizer %s has %d tokens, the model only %d: wrong -tokenizer?", s->tokenizer_name,
          fs_tokenizer_vocab_size(s->tok), s->m->cfg.vocab_size);
  s->eod = fs_tokenizer_eod(s->tok);
  fs_model_config_describe(&s->m->cfg, s->model_desc, sizeof s->model_desc);
  if (a->has_name) snprintf(s->model_name, sizeof s->model_name, "%s", a->model_name);
  else {
    char buf[FS_OPT_STRLEN];
    snprintf(buf, sizeof buf, "%s", a->load);
    size_t n = strlen(buf);
    while (n > 1 && buf[n - 1] == '/') buf[--n] = 0;
    const char *base = strrchr(buf, '/');
    snprintf(s->model_name, sizeof s->model_name, "%s", base ? base + 1 : buf);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void sleep_ms(int ms)
{
  struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&t, NULL);
}

/* rank 0: serves until a signal */
static PetscErrorCode serve(const struct serve_args *a)
{
  struct fs_serve s = {0};
  struct MHD_Daemon *d = NULL;
  char err[512];
  int port = 0;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  pthread_mutex_init(&s.lock, NULL);
  pthread_cond_init(&s.work, NULL);
  pthread_cond_init(&s.progress, NULL);
  s.eopts = a->eng;
  s.max_queue = (int)a->max_queue;
  s.recycle_after = (int)a->recycle;
  s.t_start = fs_serve_now();
  ierr = load(a, &s);
  if (!ierr) {
    FSCheck(!fs_serve_start(&s), PETSC_COMM_SELF, PETSC_ERR_LIB, "cannot start the engine (see above)");
    d = fs_serve_http_start(&s, a->host, (int)a->port, (int)a->max_conn, &port, err, sizeof err);
    if (!d) {
      fs_serve_stop(&s);
      ierr = PETSC_ERR_LIB;
      fs_log_warn("%s", err);
    }
  }
  if (!ierr) {
    fs_log_info("model %s: %s; tokenizer %s; chat template %s", s.model_name, s.model_desc, s.tokenizer_name,
                fs_chat_template_name(s.chat));
    fs_log_info("listening on http://%s:%d (KV cache %lld tokens, batch %d)", a->host, port,
                (long long)s.max_prompt_tokens, s.eopts.max_batch_size);
    fflush(stdout);
    while (!n_signals) sleep_ms(100);
    fs_log_info("signal received: no new connections; finishing the requests in flight");
    fflush(stdout);
    MHD_socket fd = MHD_quiesce_daemon(d);
    if (fd != MHD_INVALID_SOCKET) close(fd);
    pthread_mutex_lock(&s.lock);
    s.stopping = 1; /* requests on open connections are refused (503) from here */
    while (s.n_http_active > 0) pthread_cond_wait(&s.progress, &s.lock); /* replies in flight, streams included */
    pthread_mutex_unlock(&s.lock);
    MHD_stop_daemon(d); /* closes idle keep-alive connections */
    fs_serve_stop(&s);
    fs_log_info("served %llu prompts (%llu tokens generated); bye", (unsigned long long)s.jobs_done,
                (unsigned long long)s.completion_tokens);
  }
  if (s.e) PetscCall(fs_engine_destroy(&s.e));
  if (s.m) PetscCall(fs_model_destroy(&s.m));
  PetscCall(fs_tokenizer_destroy(&s.tok));
  pthread_cond_destroy(&s.work);
  pthread_cond_destroy(&s.progress);
  pthread_mutex_destroy(&s.lock);
  PetscCall(ierr);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_serve_run(MPI_Comm comm, const char *app, const char *summary)
{
  struct serve_args a = {0};
  PetscBool stop;
  int rank, done = 0;

  PetscFunctionBegin;
  PetscCall(read_args(&a));
  PetscCall(fs_opt_finish(comm, app, summary, &stop));
  if (stop) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  FSCheck(a.load[0], comm, PETSC_ERR_ARG_WRONG, "%s needs -load DIR|FILE (a checkpoint of flagscale-pretrain -save)",
          app);
  FSCheck(a.port >= 0 && a.port <= 65535, comm, PETSC_ERR_ARG_OUTOFRANGE, "-port %lld: must be in [0, 65535]",
          (long long)a.port);
  FSCheck(a.max_queue >= 1 && a.max_conn >= 1 && a.recycle >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE,
          "-max_queue, -max_connections and -engine_recycle must be >= 1");
  FSCheck(a.eng.max_batch_size >= 1 && a.eng.max_step_tokens >= 1 && a.eng.block_size >= 1 &&
          a.eng.kv_cache_bytes > 0, comm, PETSC_ERR_ARG_OUTOFRANGE,
          "-max_batch_size, -max_step_tokens, -kv_block_size and -kv_cache_mb must be > 0");
  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  MPI_Request req;
  if (rank == 0) {
    PetscErrorCode ierr = serve(&a);
    PetscCall(ierr);
    done = 1;
    PetscCallMPI(MPI_Ibcast(&done, 1, MPI_INT, 0, comm, &req));
    PetscCallMPI(MPI_Wait(&req, MPI_STATUS_IGNORE));
  } else { /* this release serves from rank 0: wait for it without spinning */
    int flag = 0;
    PetscCallMPI(MPI_Ibcast(&done, 1, MPI_INT, 0, comm, &req));
    while (!flag) {
      PetscCallMPI(MPI_Test(&req, &flag, MPI_STATUS_IGNORE));
      if (!flag) sleep_ms(200);
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
