/* test_tp_model.c -- tensor parallelism at the model level, under mpirun -np 2 or 4 (TP = 2, the rest data-
 * parallel copies).  For a LLaMA GQA model and a GPT-2-style one, against a TP = 1 model built on every rank:
 *   - loss and every gradient slice of TP = 2 (with and without sequence parallelism) match TP = 1 (1e-5);
 *   - gradients of replicated tensors (norms, row-parallel biases, positions) are bit-identical on the TP ranks;
 *   - recomputation (full uniform, full block, selective) gives bit-identical gradients to no recomputation;
 *   - logits gathered over the TP ranks match TP = 1;
 *   - a checkpoint written at TP = 2 reads at TP = 1 exactly, and one written at TP = 1 reads at TP = 2;
 *   - a head count that TP does not divide is a clear error;
 *   - all of it again for the LLaMA model with LoRA adapters on its seven linear layers (B drawn like the weights,
 *     not zero, so that every adapter gradient is non-zero; frozen tensors have no gradients), where the memory
 *     report's gradient bytes are 4 x the adapter elements this rank holds (counted from the layer shapes).
 * Usage: test_tp_model -dir DIR (scratch directory for the checkpoints) */
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "../unit/fs_test.h"
#include "fs_ckpt.h"
#include "fs_layout.h"
#include "fs_model.h"
#include "fs_model_io.h"

static struct fs_layout *g_lay;
static int g_rank;
static char g_dir[4096];
static double g_worst_loss, g_worst_grad, g_worst_logits;

/* global (row, col) of local element (i, j) of p at tp_rank r */
static void global_index(const struct fs_param *p, int r, int64_t i, int64_t j, int64_t *gi, int64_t *gj)
{
  *gi = i, *gj = j;
  if (p->tp_split == FS_TP_COLUMN || p->tp_split == FS_TP_VOCAB) *gi += r * p->local_shape[0];
  if (p->tp_split == FS_TP_ROW) *gj += r * p->local_shape[1];
}

/* max |a - ref| / max |ref| over the true rows of each tensor; worst over tensors.  Tensors whose gradient is
 * zero in exact arithmetic (the key bias: softmax ignores a shift common to all keys) hold only rounding noise,
 * so the scale is at least 1e-3 of the largest value of the model.  grads: va, vr are the models' gradient
 * buffers (trainable tensors only, from grad_offset); otherwise parameter buffers. */
static double compare_slices(const struct fs_model *a, const float *va, const struct fs_model *ref, const float *vr,
                             int grads, int exact, const char *label)
{
  double worst = 0, scale = 0;
  const int64_t base_a = grads ? a->grad_offset : 0, base_r = grads ? ref->grad_offset : 0;
  for (int64_t i = 0; i < ref->table.n_local - base_r; i++) scale = fmax(scale, fabs(vr[i]));
  for (int k = 0; k < a->table.n; k++) {
    const struct fs_param *p = &a->table.p[k], *q = fs_param_by_name(&ref->table, p->name);
    FS_EXPECT(q != NULL, "%s: %s missing at TP 1", label, p->name);
    if (!q || (grads && p->frozen)) continue;
    double dmax = 0, rmax = 0;
    for (int64_t i = 0; i < p->local_shape[0]; i++)
      for (int64_t j = 0; j < p->local_shape[1]; j++) {
        int64_t gi, gj;
        global_index(p, a->tp_rank, i, j, &gi, &gj);
        if (p->tp_split == FS_TP_VOCAB && gi >= a->cfg.vocab_size) continue; /* padding rows */
        double x = va[p->offset - base_a + i * p->local_shape[1] + j];
        double y = vr[q->offset - base_r + gi * q->shape[1] + gj];
        dmax = fmax(dmax, fabs(x - y)), rmax = fmax(rmax, fabs(y));
      }
    double rel = dmax / fmax(rmax, 1e-3 * scale);
    if (exact) FS_EXPECT(dmax == 0, "%s: %s differs by %g", label, p->name, dmax);
    else FS_EXPECT(rel <= 1e-5, "%s: %s relative difference %.3g", label, p->name, rel);
    worst = fmax(worst, rel);
  }
  return worst;
}

/* LoRA: the adapter elements a rank holds at tensor-parallel size tp, from the layer shapes (out, in): a
 * column-parallel layer's B (out, r) is split by rows and its A (r, in) replicated, a row-parallel layer's A split
 * by columns and its B replicated */
static int64_t lora_local_elems(const struct fs_model_config *c, int tp)
{
  const int64_t C = c->hidden_size, D = C / c->num_attention_heads, r = c->lora_rank, F = c->ffn_hidden_size;
  const int64_t q = c->num_attention_heads * D, kv = c->num_query_groups * D;
  /* q, k, v, o, gate, up, down: out, in, row-parallel */
  const int64_t lin[FS_LORA_N_TARGETS][3] = {{q, C, 0}, {kv, C, 0}, {kv, C, 0}, {C, q, 1},
                                             {F, C, 0}, {F, C, 0}, {C, F, 1}};
  int64_t n = 0;
  for (int g = 0; g < FS_LORA_N_TARGETS; g++)
    if (c->lora_targets >> g & 1)
      n += lin[g][2] ? r * (lin[g][1] / tp) + lin[g][0] * r : r * lin[g][1] + (lin[g][0] / tp) * r;
  return n * c->num_layers;
}

/* the memory report counts gradients of the trainable parameters only (LoRA: the adapters) */
static void check_grad_bytes(const struct fs_model *m, const struct fs_model_config *c, const char *what)
{
  struct fs_model_memory mem;
  fs_model_memory_bytes(m, &mem);
  const double want = 4.0 * (double)lora_local_elems(c, m->tp);
  FS_EXPECT(mem.grads == want, "%s: gradient bytes %.0f, want %.0f (4 x the adapter elements)", what, mem.grads, want);
  if (!g_rank)
    printf("%s: gradient bytes %.0f (4 x %.0f adapter elements), parameter bytes %.0f\n", what, mem.grads, want / 4,
           mem.params);
}

static void make_batch(int32_t *tok, int32_t *tgt, int64_t N, int V)
{
  uint64_t s = 88172645463325252ull;
  for (int64_t n = 0; n < N; n++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    tok[n] = (int32_t)(s % (uint64_t)V);
    tgt[n] = n % 7 == 3 ? -1 : (int32_t)((s >> 20) % (uint64_t)V);
  }
}

static struct fs_model *build(struct fs_model_config cfg, int tp, int sp, enum fs_recompute rc,
                              enum fs_recompute_method method, int n_layers)
{
  struct fs_model *m = NULL;
  cfg.sequence_parallel = sp, cfg.recompute_granularity = rc, cfg.recompute_method = method;
  cfg.recompute_num_layers = n_layers;
  FS_EXPECT_OK(fs_model_config_finalize(&cfg, tp));
  FS_EXPECT_OK(fs_model_create_tp(&cfg, &fs_ops_cpu, tp > 1 ? g_lay->tp_comm : MPI_COMM_NULL, &m));
  for (int i = 0; m && i < m->table.n; i++) /* LoRA's B: drawn (layout-independent) instead of zero */
    if (m->table.p[i].lora) m->table.p[i].init = FS_INIT_NORMAL;
  if (m) FS_EXPECT_OK(fs_model_init_params(m, 1234));
  return m;
}

static void step(struct fs_model *m, const int32_t *tok, const int32_t *tgt, int B, int T, double *loss)
{
  int64_t n_tok;
  fs_model_zero_grad(m);
  /* two micro-batches: gradients accumulate (+=), also under sequence parallelism */
  FS_EXPECT_OK(fs_model_forward_backward(m, tok, tgt, NULL, B, T, loss, &n_tok));
  FS_EXPECT_OK(fs_model_forward_backward(m, tok + B * T, tgt + B * T, NULL, B, T, loss, &n_tok));
}

/* replicated gradients: rank 0's copy equals every other TP rank's, bit for bit */
static void check_replicated(const struct fs_model *m, const char *label)
{
  for (int k = 0; k < m->table.n; k++) {
    const struct fs_param *p = &m->table.p[k];
    if (p->tp_split != FS_TP_REPLICATED || p->frozen) continue;
    const float *g = fs_model_grad_at(m, p->offset);
    float *copy = malloc(p->local_n_elem * sizeof(float));
    memcpy(copy, g, p->local_n_elem * sizeof(float));
    MPI_Bcast(copy, (int)p->local_n_elem, MPI_FLOAT, 0, m->tp_comm);
    int same = !memcmp(copy, g, p->local_n_elem * sizeof(float)), all;
    MPI_Allreduce(&same, &all, 1, MPI_INT, MPI_MIN, m->tp_comm);
    FS_EXPECT(all, "%s: gradient of replicated %s differs between TP ranks", label, p->name);
    free(copy);
  }
}

static void checkpoint_round_trip(const char *label, struct fs_model_config cfg, struct fs_model *ref,
                                  struct fs_model *tpm)
{
  char path[4200];
  struct fs_ckpt_writer *w = NULL;
  struct fs_ckpt_reader *r = NULL;
  struct fs_model *back = NULL;
  const int dp = g_lay->dp, dp_rank = g_lay->dp_rank;

  /* TP = 2 writes (each slice's rows shared by its data-parallel copies); TP = 1 reads */
  snprintf(path, sizeof path, "%s/%s_tp2.h5", g_dir, label);
  FS_EXPECT_OK(fs_ckpt_create(MPI_COMM_WORLD, path, &w));
  FS_EXPECT_OK(fs_model_write(w, tpm, FS_DTYPE_F32, dp_rank, dp));
  FS_EXPECT_OK(fs_ckpt_finish(&w));
  back = build(cfg, 1, 0, FS_RECOMPUTE_NONE, FS_RECOMPUTE_UNIFORM, 1);
  memset(back->params, 0, back->table.n_local * sizeof(float));
  FS_EXPECT_OK(fs_ckpt_open(MPI_COMM_WORLD, path, &r));
  FS_EXPECT_OK(fs_model_read(r, back, path));
  FS_EXPECT_OK(fs_ckpt_close(&r));
  compare_slices(back, back->params, ref, ref->params, 0, 1, "checkpoint TP 2 -> TP 1");
  fs_model_destroy(&back);
  /* TP = 1 writes (every rank holds it all: rows split over all ranks); TP = 2 reads */
  snprintf(path, sizeof path, "%s/%s_tp1.h5", g_dir, label);
  FS_EXPECT_OK(fs_ckpt_create(MPI_COMM_WORLD, path, &w));
  FS_EXPECT_OK(fs_model_write(w, ref, FS_DTYPE_F32, g_rank, g_lay->world_size));
  FS_EXPECT_OK(fs_ckpt_finish(&w));
  back = build(cfg, 2, 0, FS_RECOMPUTE_NONE, FS_RECOMPUTE_UNIFORM, 1);
  memset(back->params, 0, back->table.n_local * sizeof(float));
  FS_EXPECT_OK(fs_ckpt_open(MPI_COMM_WORLD, path, &r));
  FS_EXPECT_OK(fs_model_read(r, back, path));
  FS_EXPECT_OK(fs_ckpt_close(&r));
  compare_slices(back, back->params, ref, ref->params, 0, 1, "checkpoint TP 1 -> TP 2");
  fs_model_destroy(&back);
}

static void run(const char *label, struct fs_model_config cfg)
{
  const int B = 2, T = 16, V = cfg.vocab_size;
  int32_t *tok = malloc(2 * B * T * sizeof(int32_t)), *tgt = malloc(2 * B * T * sizeof(int32_t));
  double l_ref, l;
  make_batch(tok, tgt, 2 * B * T, V);
  struct fs_model *ref = build(cfg, 1, 0, FS_RECOMPUTE_NONE, FS_RECOMPUTE_UNIFORM, 1);
  step(ref, tok, tgt, B, T, &l_ref);
  char what[128];
  snprintf(what, sizeof what, "%s TP 1", label);
  if (cfg.lora_rank > 0) check_grad_bytes(ref, &cfg, what);
  for (int sp = 0; sp <= 1; sp++) {
    snprintf(what, sizeof what, "%s TP 2%s", label, sp ? " SP" : "");
    struct fs_model *m = build(cfg, 2, sp, FS_RECOMPUTE_NONE, FS_RECOMPUTE_UNIFORM, 1);
    step(m, tok, tgt, B, T, &l);
    if (cfg.lora_rank > 0) check_grad_bytes(m, &cfg, what);
    double rel = fabs(l - l_ref) / fabs(l_ref);
    FS_EXPECT(rel <= 1e-5, "%s: loss %.9g vs %.9g at TP 1", what, l, l_ref);
    g_worst_loss = fmax(g_worst_loss, rel);
    g_worst_grad = fmax(g_worst_grad, compare_slices(m, m->grads, ref, ref->grads, 1, 0, what));
    check_replicated(m, what);
    /* the global gradient norm^2: whole-model helper and the shard helper summed over the TP ranks */
    double s_ref, s_tp, s_part;
    FS_EXPECT_OK(fs_model_grad_sum_squares(ref, &s_ref));
    FS_EXPECT_OK(fs_model_grad_sum_squares(m, &s_tp));
    const int64_t half = m->grad_offset + fs_model_grad_n(m) / 2; /* LoRA: frozen tensors before (skipped) */
    s_part = fs_model_tp_sum_squares(m, 0, half) + fs_model_tp_sum_squares(m, half, m->table.n_local - half);
    MPI_Allreduce(MPI_IN_PLACE, &s_part, 1, MPI_DOUBLE, MPI_SUM, m->tp_comm);
    FS_EXPECT(fabs(s_tp - s_ref) <= 1e-5 * s_ref && fabs(s_part - s_ref) <= 1e-5 * s_ref,
              "%s: gradient norm^2 %.9g / %.9g vs %.9g at TP 1", what, s_tp, s_part, s_ref);
    /* recomputation: the same gradients, bit for bit */
    const struct { enum fs_recompute g; enum fs_recompute_method me; int n; const char *name; } rc[] = {
      {FS_RECOMPUTE_FULL, FS_RECOMPUTE_UNIFORM, 1, "full uniform"},
      {FS_RECOMPUTE_FULL, FS_RECOMPUTE_BLOCK, 2, "full block 2"},
      {FS_RECOMPUTE_SELECTIVE, FS_RECOMPUTE_UNIFORM, 1, "selective"}};
    for (int i = 0; i < 3; i++) {
      double lr;
      struct fs_model *mr = build(cfg, 2, sp, rc[i].g, rc[i].me, rc[i].n);
      step(mr, tok, tgt, B, T, &lr);
      FS_EXPECT(lr == l, "%s recompute %s: loss %.17g vs %.17g", what, rc[i].name, lr, l);
      FS_EXPECT(!memcmp(mr->grads, m->grads, fs_model_grad_n(m) * sizeof(float)),
                "%s recompute %s: gradients differ", what, rc[i].name);
      FS_EXPECT(mr->act_n_elem < m->act_n_elem, "%s recompute %s: activations %lld not below %lld", what,
                rc[i].name, (long long)mr->act_n_elem, (long long)m->act_n_elem);
      fs_model_destroy(&mr);
    }
    /* logits gathered over the TP ranks */
    float *lg = malloc((size_t)B * T * V * sizeof(float)), *lr1 = malloc((size_t)B * T * V * sizeof(float));
    FS_EXPECT_OK(fs_model_logits(m, tok, B, T, lg));
    FS_EXPECT_OK(fs_model_logits(ref, tok, B, T, lr1));
    double dmax = 0, rmax = 0;
    for (int64_t i = 0; i < (int64_t)B * T * V; i++) dmax = fmax(dmax, fabs(lg[i] - lr1[i])), rmax = fmax(rmax, fabs(lr1[i]));
    FS_EXPECT(dmax / rmax <= 1e-5, "%s: logits relative difference %.3g", what, dmax / rmax);
    g_worst_logits = fmax(g_worst_logits, dmax / rmax);
    free(lg), free(lr1);
    if (!sp) checkpoint_round_trip(label, cfg, ref, m);
    fs_model_destroy(&m);
  }
  fs_model_destroy(&ref);
  free(tok), free(tgt);
}

int main(int argc, char **argv)
{
  PetscInitialize(&argc, &argv, NULL, NULL);
  PetscBool set;
  PetscOptionsGetString(NULL, NULL, "-dir", g_dir, sizeof g_dir, &set);
  if (!set) snprintf(g_dir, sizeof g_dir, ".");
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  FS_EXPECT_OK(fs_layout_create(MPI_COMM_WORLD, 2, 1, &g_lay));
  struct fs_model_config llama, gpt2;
  fs_model_config_default(&llama);
  llama.num_layers = 3, llama.hidden_size = 32, llama.num_attention_heads = 4, llama.num_query_groups = 2;
  llama.ffn_hidden_size = 48, llama.vocab_size = 101, llama.make_vocab_size_divisible_by = 8, llama.seq_length = 16;
  fs_model_config_default(&gpt2);
  gpt2.num_layers = 3, gpt2.hidden_size = 32, gpt2.num_attention_heads = 4, gpt2.seq_length = 16;
  gpt2.vocab_size = 97, gpt2.make_vocab_size_divisible_by = 4, gpt2.normalization = FS_NORM_LAYERNORM;
  gpt2.position_embedding_type = FS_POS_LEARNED, gpt2.swiglu = 0, gpt2.add_bias_linear = 1;
  gpt2.untie_embeddings_and_output_weights = 0, gpt2.ffn_hidden_size = 128;
  run("llama", llama);
  run("gpt2", gpt2);
  struct fs_model_config lora = llama;
  lora.lora_rank = 4, lora.lora_alpha = 8, lora.lora_targets = (1 << FS_LORA_N_TARGETS) - 1;
  run("llama-lora", lora);
  /* heads not divisible by TP: a clear error, not a crash */
  struct fs_model_config bad = llama;
  struct fs_model *m = NULL;
  bad.num_attention_heads = 3, bad.num_query_groups = 3, bad.hidden_size = 24;
  FS_EXPECT_OK(fs_model_config_finalize(&bad, 2));
  PetscPushErrorHandler(PetscReturnErrorHandler, NULL);
  FS_EXPECT(fs_model_create_tp(&bad, &fs_ops_cpu, g_lay->tp_comm, &m) != 0 && !m, "3 heads accepted at TP 2");
  PetscPopErrorHandler();
  if (!g_rank)
    printf("TP 2 vs TP 1: worst relative difference loss %.2e, gradients %.2e, logits %.2e\n", g_worst_loss,
           g_worst_grad, g_worst_logits);
  int failed = fs_test_done("test_tp_model"), any;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  fs_layout_destroy(&g_lay);
  PetscFinalize();
  return any;
}
