/* fs_trainer.c -- the training loop */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "fs_trainer.h"
#include "fs_log.h"
#include "fs_pipeline.h"
#include "fs_timer.h"
#include "fs_train_ckpt.h"
#include "fs_train_signal.h"

static PetscLogEvent ev_fwdbwd, ev_allreduce, ev_optimizer, ev_data, ev_allgather;

/* model FLOPs per trained token: 2 per matmul parameter forward, 2 for the input gradient, 2 for the weight
 * gradient -- which frozen weights (LoRA's base) do not have -- plus attention (QK^T and AV, counted in full) */
static double model_flops_per_token(const struct fs_model *m)
{
  const struct fs_model_config *c = &m->cfg;
  double flops = 0;
  int embed_frozen = 0;
  for (int i = 0; i < m->table.n; i++) {
    const struct fs_param *p = &m->table.p[i];
    if (p->role == FS_P_EMBED) embed_frozen = p->frozen;
    if (p->ndim == 2 && p->role != FS_P_EMBED && p->role != FS_P_POS_EMBED)
      flops += (p->frozen ? 4.0 : 6.0) * (double)p->n_elem;
  }
  if (!c->untie_embeddings_and_output_weights) /* the tied output layer */
    flops += (embed_frozen ? 4.0 : 6.0) * (double)c->padded_vocab_size * c->hidden_size;
  return flops + 12.0 * c->num_layers * (double)c->hidden_size * c->seq_length;
}

PetscErrorCode fs_trainer_create(MPI_Comm comm, struct fs_model *m, const struct fs_train_args *a,
                                 struct fs_trainer **out)
{
  struct fs_trainer *t;
  static int registered;

  PetscFunctionBegin;
  if (!registered) {
    PetscClassId cls;
    PetscCall(PetscClassIdRegister("FlagScale", &cls));
    PetscCall(PetscLogEventRegister("FwdBwd", cls, &ev_fwdbwd));
    PetscCall(PetscLogEventRegister("GradAllreduce", cls, &ev_allreduce));
    PetscCall(PetscLogEventRegister("Optimizer", cls, &ev_optimizer));
    PetscCall(PetscLogEventRegister("DataLoad", cls, &ev_data));
    PetscCall(PetscLogEventRegister("ParamAllgather", cls, &ev_allgather));
    registered = 1;
  }
  FSCalloc(sizeof *t, &t);
  t->comm = comm, t->world = comm;
  PetscCallMPI(MPI_Comm_rank(comm, &t->dp_rank));
  PetscCallMPI(MPI_Comm_size(comm, &t->dp_size));
  t->args = *a;
  t->model = m;
  struct fs_train_args *g = &t->args;
  FSCheck(g->micro_batch_size >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "-micro_batch_size must be >= 1");
  if (g->global_batch_size <= 0) g->global_batch_size = g->micro_batch_size * t->dp_size;
  t->batch = (struct fs_batch_schedule){g->global_batch_size, g->micro_batch_size * t->dp_size, g->rampup_start,
                                        g->rampup_increment, g->rampup_samples};
  PetscCall(fs_batch_schedule_check(&t->batch));
  FSCheck(g->train_iters > 0 || g->train_samples > 0, comm, PETSC_ERR_ARG_WRONG,
          "give the length of training: -train_iters N or -train_samples N");
  FSCheck(!(g->rampup_samples > 0 && g->train_samples <= 0), comm, PETSC_ERR_ARG_WRONG,
          "-rampup_batch_size needs -train_samples (iterations are not fixed while the batch grows)");
  t->total_samples = fs_train_total_samples(g);
  /* schedule in samples, as Megatron's: iteration-based options are converted with the final batch size */
  int64_t decay = g->lr_decay_samples > 0 ? g->lr_decay_samples
                  : g->lr_decay_iters > 0 ? g->lr_decay_iters * g->global_batch_size
                                          : t->total_samples;
  int64_t warmup = g->lr_warmup_samples > 0 ? g->lr_warmup_samples
                   : g->lr_warmup_iters > 0 ? g->lr_warmup_iters * g->global_batch_size
                                            : (int64_t)(g->lr_warmup_fraction * (double)decay);
  FSCheck(warmup <= decay || g->lr_decay_style == FS_LR_CONSTANT, comm, PETSC_ERR_ARG_INCOMP,
          "learning-rate warmup (%lld samples) is longer than the decay (%lld samples)", (long long)warmup,
          (long long)decay);
  t->lr = (struct fs_lr_schedule){g->lr, g->min_lr, warmup, decay, g->lr_decay_style};
  /* the trainable parameters: all, or (LoRA) the adapters at the end of the flat buffers */
  const int64_t first = m->table.trainable_offset, n_train = m->table.n_local - first;
  if (g->use_distributed_optimizer && t->dp_size > 1) {
    PetscCall(fs_dist_opt_create_range(comm, first, n_train, &t->dist));
    PetscCall(fs_adamw_create_range(m, g->adam_beta1, g->adam_beta2, g->adam_eps, g->weight_decay, t->dist->lo,
                                    t->dist->hi - t->dist->lo, &t->opt));
  } else
    PetscCall(fs_adamw_create_range(m, g->adam_beta1, g->adam_beta2, g->adam_eps, g->weight_decay, first, n_train,
                                    &t->opt));
  int64_t T = m->cfg.seq_length, mbs = g->micro_batch_size;
  FSMalloc(mbs * (T + 1) * sizeof(int32_t), &t->tokens);
  FSMalloc(mbs * T * sizeof(int32_t), &t->inputs);
  FSMalloc(mbs * T * sizeof(int32_t), &t->targets);
  FSMalloc(mbs * T * sizeof(int32_t), &t->positions);
  t->flops_per_token = model_flops_per_token(m);
  t->start_time = fs_time_now();
  t->last_saved_iteration = -1;
  FSCheck(g->save_interval >= 0 && g->save_keep >= 0 && g->exit_interval >= 0, comm, PETSC_ERR_ARG_OUTOFRANGE,
          "-save_interval, -save_keep and -exit_interval must be >= 0");
  FSCheck(!(g->save_interval > 0 && !g->save[0]), comm, PETSC_ERR_ARG_WRONG, "-save_interval needs -save DIR");
  fs_train_signals_install();
  if (t->dist)
    fs_log_info("distributed optimizer: %lld parameters in %d shards of <= %lld (optimizer state %.1f MB per rank)",
                (long long)n_train, t->dp_size, (long long)t->dist->counts[0],
                (double)t->opt->state_bytes / 1048576.0);
  *out = t;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_trainer_destroy(struct fs_trainer **t)
{
  PetscFunctionBegin;
  if (!*t) PetscFunctionReturn(PETSC_SUCCESS);
  if ((*t)->metrics) fclose((*t)->metrics);
  PetscCall(fs_tb_close(&(*t)->tb));
  PetscCall(fs_adamw_destroy(&(*t)->opt));
  PetscCall(fs_dist_opt_destroy(&(*t)->dist));
  free((*t)->tokens), free((*t)->inputs), free((*t)->targets), free((*t)->positions);
  FSFree(t);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* micro-batch of this rank: samples first .. first + mbs of the source, split into inputs and targets */
static PetscErrorCode load_micro_batch(struct fs_trainer *t, struct fs_sample_source *src, int64_t first)
{
  const int64_t T = t->model->cfg.seq_length, mbs = t->args.micro_batch_size;

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(ev_data, 0, 0, 0, 0));
  for (int64_t i = 0; i < mbs; i++) {
    FSCheck(first + i < src->n_samples, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
            "the dataset has %lld samples, sample %lld was asked for", (long long)src->n_samples,
            (long long)(first + i));
    if (src->get_masked || src->get_packed) { /* targets[j] = tokens[1 + j] with a 0 in the mask become -1 */
      uint8_t *mask = (uint8_t *)(t->targets + i * T); /* T bytes fit in the T int32 targets: read before written */
      int32_t *tok = t->tokens + i * (T + 1);
      if (src->get_packed) PetscCall(src->get_packed(src->ctx, first + i, tok, mask, t->positions + i * T));
      else PetscCall(src->get_masked(src->ctx, first + i, tok, mask));
      for (int64_t j = T - 1; j >= 0; j--) t->targets[i * T + j] = mask[j] ? t->tokens[i * (T + 1) + 1 + j] : -1;
    } else {
      PetscCall(src->get(src->ctx, first + i, t->tokens + i * (T + 1)));
      memcpy(t->targets + i * T, t->tokens + i * (T + 1) + 1, T * sizeof(int32_t));
    }
    memcpy(t->inputs + i * T, t->tokens + i * (T + 1), T * sizeof(int32_t));
  }
  t->packed = src->get_packed != NULL;
  PetscCall(PetscLogEventEnd(ev_data, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* the pipeline schedule's view of the micro-batches of a global batch (pp > 1) */
struct pp_feed {
  struct fs_trainer *t;
  struct fs_sample_source *src;
  int64_t start;
};

static PetscErrorCode pp_load(void *ctx, int64_t mb, const int32_t **tokens, const int32_t **targets,
                              const int32_t **positions)
{
  struct pp_feed *f = ctx;
  struct fs_trainer *t = f->t;

  PetscFunctionBegin;
  PetscCall(load_micro_batch(t, f->src, f->start + mb * t->args.micro_batch_size * t->dp_size +
                                          t->dp_rank * t->args.micro_batch_size));
  *tokens = t->inputs, *targets = t->targets, *positions = t->packed ? t->positions : NULL;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* loss over one global batch starting at sample `start`; with grads, accumulates the averaged gradient.
 * Each micro-batch's loss is its token mean (Megatron), weighted 1 / (micro-batches x data-parallel ranks). */
static PetscErrorCode global_batch(struct fs_trainer *t, struct fs_sample_source *src, int64_t start, int64_t gbs,
                                   int with_grad, double *loss)
{
  struct fs_model *m = t->model;
  const int64_t mbs = t->args.micro_batch_size, T = m->cfg.seq_length;
  const int64_t n_micro = gbs / (mbs * t->dp_size);
  double local = 0;

  PetscFunctionBegin;
  if (m->pp > 1) { /* 1F1B over the stages; the last stage's loss sum comes back on every stage */
    struct pp_feed f = {t, src, start};
    PetscCall(PetscLogEventBegin(ev_fwdbwd, 0, 0, 0, 0));
    PetscCall(fs_pipeline_run(m, n_micro, (int)mbs, (int)T, with_grad, pp_load, &f, &local));
    PetscCall(PetscLogEventEnd(ev_fwdbwd, 0, 0, 0, 0));
  }
  for (int64_t mb = 0; mb < n_micro && m->pp == 1; mb++) {
    double l;
    int64_t n_tok;
    PetscCall(load_micro_batch(t, src, start + mb * mbs * t->dp_size + t->dp_rank * mbs));
    PetscCall(PetscLogEventBegin(ev_fwdbwd, 0, 0, 0, 0));
    PetscCall(fs_model_set_positions(m, t->packed ? t->positions : NULL, (int)mbs, (int)T));
    if (with_grad) PetscCall(fs_model_forward_backward(m, t->inputs, t->targets, NULL, (int)mbs, (int)T, &l, &n_tok));
    else PetscCall(fs_model_forward_loss(m, t->inputs, t->targets, NULL, (int)mbs, (int)T, &l, &n_tok));
    PetscCall(fs_model_set_positions(m, NULL, (int)mbs, (int)T));
    PetscCall(PetscLogEventEnd(ev_fwdbwd, 0, 0, 0, 0));
    local += l;
  }
  double scale = 1.0 / (double)(n_micro * t->dp_size);
  if (with_grad) {
    /* gradients of the mean over micro-batches and ranks (of the trainable parameters: LoRA freezes the others);
     * the distributed optimizer needs only its shard */
    const int64_t first = m->table.trainable_offset, n_train = m->table.n_local - first;
    m->ops->scale(fs_model_grad_at(m, first), (float)scale, n_train);
    PetscCall(PetscLogEventBegin(ev_allreduce, 0, 0, 0, 0));
    if (t->dist) PetscCall(fs_dist_opt_reduce_scatter(t->dist, m));
    else if (t->dp_size > 1)
      PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, fs_model_grad_at(m, first), (int)n_train, MPI_FLOAT, MPI_SUM, t->comm));
    PetscCall(PetscLogEventEnd(ev_allreduce, 0, 0, 0, 0));
  }
  local *= scale;
  PetscCallMPI(MPI_Allreduce(&local, loss, 1, MPI_DOUBLE, MPI_SUM, t->comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_trainer_step(struct fs_trainer *t, struct fs_sample_source *src)
{
  struct fs_model *m = t->model;
  const int64_t gbs = fs_batch_schedule_gbs(&t->batch, t->consumed_train_samples);
  double loss;

  PetscFunctionBegin;
  FSCheck(fs_model_grad_n(m) < INT32_MAX, t->comm, PETSC_ERR_SUP,
          "gradient buffer above 2^31 elements needs chunked all-reduce");
  t->last_lr = fs_lr_at(&t->lr, t->consumed_train_samples);
  fs_model_zero_grad(m);
  PetscCall(global_batch(t, src, t->consumed_train_samples, gbs, 1, &loss));
  double norm;
  if (t->dist) PetscCall(fs_dist_opt_grad_norm(t->dist, m, &norm));
  else { /* the data-parallel replicas hold the same reduced gradients: the norm is over tensor parallelism only */
    PetscCall(fs_model_grad_sum_squares(m, &norm));
    norm = sqrt(norm);
  }
  t->iteration++;
  t->consumed_train_samples += gbs;
  t->last_loss = loss, t->last_grad_norm = norm;
  if (!isfinite(loss) || !isfinite(norm)) {
    t->nan_iters++;
    FSCheck(t->args.on_nan == FS_NAN_SKIP, t->comm, PETSC_ERR_FP,
            "iteration %lld: loss %g, gradient norm %g -- not finite. Lower -lr, check the data, or pass "
            "-on_nan skip to skip such steps", (long long)t->iteration, loss, norm);
    t->skipped_iters++;
    fs_log_warn("iteration %lld: loss %g, grad norm %g not finite: step skipped", (long long)t->iteration, loss, norm);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(PetscLogEventBegin(ev_optimizer, 0, 0, 0, 0));
  if (t->dist) fs_clip_grad_range(m, norm, t->args.clip_grad, t->dist->lo, t->dist->hi - t->dist->lo);
  else fs_clip_grad_range(m, norm, t->args.clip_grad, t->opt->lo, t->opt->n);
  PetscCall(fs_adamw_step(t->opt, m, t->last_lr));
  PetscCall(PetscLogEventEnd(ev_optimizer, 0, 0, 0, 0));
  if (t->dist) { /* every rank needs the whole updated parameters for the next forward */
    PetscCall(PetscLogEventBegin(ev_allgather, 0, 0, 0, 0));
    PetscCall(fs_dist_opt_allgather(t->dist, m->params));
    PetscCall(PetscLogEventEnd(ev_allgather, 0, 0, 0, 0));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_trainer_evaluate(struct fs_trainer *t, struct fs_sample_source *src, double *loss)
{
  const int64_t gbs = t->args.global_batch_size;

  PetscFunctionBegin;
  double sum = 0;
  for (int64_t i = 0; i < t->args.eval_iters; i++) {
    double l;
    PetscCall(global_batch(t, src, t->consumed_valid_samples, gbs, 0, &l));
    t->consumed_valid_samples += gbs;
    sum += l;
  }
  *loss = sum / (double)(t->args.eval_iters > 0 ? t->args.eval_iters : 1);
  t->last_valid_loss = *loss;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* a JSON number, or null when not finite (JSON has no NaN/Inf) */
static const char *jnum(char *buf, double x)
{
  if (isfinite(x)) snprintf(buf, 32, "%.17g", x); /* round-trips: resume tests compare bits */
  else snprintf(buf, 32, "null");
  return buf;
}

static PetscErrorCode report(struct fs_trainer *t, double ms_per_iter, int64_t gbs)
{
  const double tokens_s = (double)gbs * t->model->cfg.seq_length / (ms_per_iter * 1e-3);
  char b1[32], b2[32];
  int wsize;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_size(t->world, &wsize)); /* every rank of the layout shares the work: TP, PP and DP */
  const double tflops = tokens_s * t->flops_per_token / wsize / 1e12;
  fs_log_info(" iteration %8lld/%8lld | consumed samples: %10lld | elapsed time per iteration (ms): %.1f | learning rate: "
              "%.6E | global batch size: %5lld | lm loss: %.6E | grad norm: %.3f | number of skipped iterations: %3lld | "
              "number of nan iterations: %3lld | tokens/s: %.0f | TFLOP/s per rank: %.3f",
              (long long)t->iteration, (long long)(t->args.train_iters > 0 ? t->args.train_iters : 0),
              (long long)t->consumed_train_samples, ms_per_iter, t->last_lr, (long long)gbs, t->last_loss,
              t->last_grad_norm, (long long)t->skipped_iters, (long long)t->nan_iters, tokens_s, tflops);
  if (t->metrics) {
    fprintf(t->metrics,
            "{\"iteration\": %lld, \"consumed_samples\": %lld, \"lr\": %.9g, \"global_batch_size\": %lld, \"loss\": %s, "
            "\"grad_norm\": %s, \"skipped_iterations\": %lld, \"nan_iterations\": %lld, \"ms_per_iteration\": %.3f, "
            "\"tokens_per_s\": %.1f, \"tflops_per_rank\": %.5f}\n",
            (long long)t->iteration, (long long)t->consumed_train_samples, t->last_lr, (long long)gbs,
            jnum(b1, t->last_loss), jnum(b2, t->last_grad_norm), (long long)t->skipped_iters, (long long)t->nan_iters, ms_per_iter, tokens_s, tflops);
    fflush(t->metrics);
  }
  if (t->tb) {
    PetscCall(fs_tb_scalar(t->tb, "lm loss", t->last_loss, t->iteration));
    PetscCall(fs_tb_scalar(t->tb, "learning-rate", t->last_lr, t->iteration));
    PetscCall(fs_tb_scalar(t->tb, "grad-norm", t->last_grad_norm, t->iteration));
    PetscCall(fs_tb_scalar(t->tb, "batch-size", (double)gbs, t->iteration));
    PetscCall(fs_tb_scalar(t->tb, "tokens-per-second", tokens_s, t->iteration));
    PetscCall(fs_tb_scalar(t->tb, "memory-activations-MB",
                           (double)t->model->act_n_elem * 4.0 / 1048576.0, t->iteration));
    PetscCall(fs_tb_flush(t->tb));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode validate(struct fs_trainer *t, struct fs_sample_source *valid)
{
  double loss;
  PetscFunctionBegin;
  PetscCall(fs_trainer_evaluate(t, valid, &loss));
  fs_log_info(" validation loss at iteration %lld | lm loss value: %.6E | lm loss PPL: %.6E", (long long)t->iteration,
              loss, exp(fmin(loss, 700.0)));
  if (t->metrics) {
    char b[32];
    fprintf(t->metrics, "{\"iteration\": %lld, \"valid_loss\": %s}\n", (long long)t->iteration, jnum(b, loss));
    fflush(t->metrics);
  }
  if (t->tb) {
    PetscCall(fs_tb_scalar(t->tb, "lm loss validation", loss, t->iteration));
    PetscCall(fs_tb_flush(t->tb));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* peak resident set of this process in bytes: VmHWM, else getrusage's maximum RSS */
static double peak_rss_bytes(void)
{
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  double kb = -1;
  if (f) {
    while (fgets(line, sizeof line, f))
      if (!strncmp(line, "VmHWM:", 6)) kb = atof(line + 6);
    fclose(f);
  }
  if (kb < 0) {
    struct rusage u;
    kb = getrusage(RUSAGE_SELF, &u) == 0 ? (double)u.ru_maxrss : 0;
  }
  return kb * 1024.0;
}

PetscErrorCode fs_trainer_memory_report(struct fs_trainer *t)
{
  const struct fs_model *m = t->model;
  const double MB = 1048576.0;
  /* parameters, gradients, optimizer state, activations, peak RSS: bytes on this rank, then max and min over ranks */
  struct fs_model_memory mem;
  fs_model_memory_bytes(m, &mem); /* LoRA: gradients of the adapters only */
  double mine[5] = {mem.params, mem.grads, (double)t->opt->state_bytes, mem.activations, peak_rss_bytes()}, hi[5],
         lo[5];

  int wsize;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_size(t->world, &wsize));
  PetscCallMPI(MPI_Allreduce(mine, hi, 5, MPI_DOUBLE, MPI_MAX, t->world));
  PetscCallMPI(MPI_Allreduce(mine, lo, 5, MPI_DOUBLE, MPI_MIN, t->world));
  fs_log_info("memory per rank (MB, max over %d rank(s), %d data-parallel x %d tensor-parallel x %d pipeline): "
              "parameters %.2f | "
              "gradients %.2f | optimizer state %.2f (%s) | activations %.2f (estimated, micro-batch %d x %d) | total "
              "%.2f | peak RSS measured %.1f (min over ranks %.1f)", wsize, t->dp_size, m->tp, m->pp, hi[0] / MB, hi[1] / MB, hi[2] / MB,
              t->dist ? "distributed optimizer: this rank's shard" : "replicated", hi[3] / MB, m->B, m->T,
              (hi[0] + hi[1] + hi[2] + hi[3]) / MB, hi[4] / MB, lo[4] / MB);
  /* exact bytes for scripts: the optimizer state allocated per rank (max and min over the ranks) */
  fs_log_info("optimizer state bytes per rank: max %.0f min %.0f (%d rank(s), %s)", hi[2], lo[2], t->dp_size,
              t->dist ? "sharded" : "replicated");
  fs_log_info("model FLOPs per token: %.6e (6 per trained matmul weight, 4 per frozen one, attention 12 L C T; the "
              "TFLOP/s figures use it)", t->flops_per_token);
  if (m->cfg.lora_rank > 0) {
    int64_t n_lora = 0;
    char targets[128];
    for (int i = 0; i < m->table.n; i++) n_lora += m->table.p[i].lora ? m->table.p[i].n_elem : 0;
    fs_lora_targets_string(m->cfg.lora_targets, targets, sizeof targets);
    fs_log_info("LoRA rank %d, alpha %g on %s: trainable parameters %lld (%.3f%%), %lld base parameters frozen",
                m->cfg.lora_rank, (double)m->cfg.lora_alpha, targets, (long long)n_lora,
                100.0 * (double)n_lora / (double)m->table.n_global, (long long)(m->table.n_global - n_lora));
  }
  if (m->pp > 1) { /* the stages differ (embeddings on the first, output layer on the last): one line each */
    double *st;
    FSCalloc(5 * m->pp * sizeof(double), &st);
    memcpy(st + 5 * m->pp_rank, mine, sizeof mine);
    PetscErrorCode ierr = MPI_Allreduce(MPI_IN_PLACE, st, 5 * m->pp, MPI_DOUBLE, MPI_MAX, t->world);
    for (int s = 0; s < m->pp && !ierr; s++)
      fs_log_info("  pipeline stage %d (layers %d-%d of %d, max over its ranks, MB): parameters %.2f | gradients "
                  "%.2f | optimizer state %.2f | activations %.2f (%d micro-batches in flight) | total %.2f | peak RSS "
                  "%.1f", s, s * (m->cfg.num_layers / m->pp), (s + 1) * (m->cfg.num_layers / m->pp) - 1,
                  m->cfg.num_layers, st[5 * s] / MB, st[5 * s + 1] / MB, st[5 * s + 2] / MB, st[5 * s + 3] / MB,
                  m->pp - s, (st[5 * s] + st[5 * s + 1] + st[5 * s + 2] + st[5 * s + 3]) / MB, st[5 * s + 4] / MB);
    free(st);
    PetscCallMPI(ierr);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* should the run stop now?  all ranks agree: a signal on any rank, or the time limit measured on rank 0 */
static PetscErrorCode stop_requested(struct fs_trainer *t, const char **why)
{
  int flags[2] = {fs_train_signal_received(), 0}, all[2];

  PetscFunctionBegin;
  int wrank;
  PetscCallMPI(MPI_Comm_rank(t->world, &wrank));
  if (!wrank && t->args.exit_duration_in_mins > 0)
    flags[1] = (fs_time_now() - t->start_time) / 60.0 >= t->args.exit_duration_in_mins;
  PetscCallMPI(MPI_Allreduce(flags, all, 2, MPI_INT, MPI_MAX, t->world));
  *why = all[0] ? "a stop signal (SIGTERM/SIGUSR1)" : all[1] ? "-exit_duration_in_mins"
       : t->args.exit_interval > 0 && t->iteration % t->args.exit_interval == 0 ? "-exit_interval" : NULL;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* metrics and TensorBoard files: written by world rank 0 only (tensor-parallel ranks hold the same figures);
 * opened here, once the caller has set t->world */
static PetscErrorCode open_outputs(struct fs_trainer *t)
{
  const struct fs_train_args *g = &t->args;
  int wrank;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(t->world, &wrank));
  if (wrank || t->metrics || t->tb) PetscFunctionReturn(PETSC_SUCCESS);
  if (g->metrics_file[0]) {
    t->metrics = fopen(g->metrics_file, "a");
    FSCheck(t->metrics, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open -metrics_file %s: %s", g->metrics_file,
            strerror(errno));
  }
  if (g->tensorboard_dir[0]) PetscCall(fs_tb_open(g->tensorboard_dir, &t->tb));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_trainer_run(struct fs_trainer *t, struct fs_sample_source *train, struct fs_sample_source *valid)
{
  struct fs_timer timer = {0};
  int64_t interval_iters = 0, last_gbs = 0;
  int reported = 0;
  const struct fs_train_args *g = &t->args;
  const char *why;

  PetscFunctionBegin;
  PetscCall(open_outputs(t));
  fs_timer_start(&timer);
  while (t->consumed_train_samples < t->total_samples) {
    last_gbs = fs_batch_schedule_gbs(&t->batch, t->consumed_train_samples);
    PetscCall(fs_trainer_step(t, train));
    interval_iters++;
    if (!reported) { /* after the first step, as Megatron: activations and optimizer state have been touched */
      PetscCall(fs_trainer_memory_report(t));
      reported = 1;
    }
    if (t->iteration % g->log_interval == 0 || t->consumed_train_samples >= t->total_samples) {
      double dt = fs_timer_stop(&timer);
      PetscCall(report(t, 1e3 * dt / (double)interval_iters, last_gbs));
      interval_iters = 0;
      fs_timer_start(&timer);
    }
    if (valid && g->eval_interval > 0 && g->eval_iters > 0 && t->iteration % g->eval_interval == 0)
      PetscCall(validate(t, valid));
    if (g->save[0] && g->save_interval > 0 && t->iteration % g->save_interval == 0)
      PetscCall(fs_train_save(t, g->save, (int)g->save_keep));
    PetscCall(stop_requested(t, &why));
    if (why) {
      if (g->save[0] && t->last_saved_iteration != t->iteration) PetscCall(fs_train_save(t, g->save, (int)g->save_keep));
      fs_log_info("stopping at iteration %lld because of %s%s", (long long)t->iteration, why,
                  g->save[0] ? " (checkpoint saved)" : " (no -save: nothing saved)");
      t->exit_requested = 1;
      PetscFunctionReturn(PETSC_SUCCESS);
    }
  }
  if (valid && g->eval_iters > 0 && (g->eval_interval <= 0 || t->iteration % g->eval_interval))
    PetscCall(validate(t, valid));
  if (g->save[0] && t->last_saved_iteration != t->iteration) PetscCall(fs_train_save(t, g->save, (int)g->save_keep));
  PetscFunctionReturn(PETSC_SUCCESS);
}
