/* test_pack_model.c -- packed sequences at the model level (fs_model_set_positions), for a LLaMA GQA model (RoPE)
 * and a GPT-2-style one (learned positions), on every rank:
 *   - no leak: the loss and every gradient of a packed micro-batch (two rows of several documents, odd lengths, a
 *     one-token document, a document cut by the row's end) equal the sums over the same documents run one per
 *     row (padded, padding masked) with the same per-token weights -- a model that attended across documents, or
 *     gave a document the wrong positions, fails this;
 *   - changing the tokens of one document does not change one bit of the logits of the next document in its row,
 *     while it does change its own;
 *   - full and selective recomputation give the same gradients, bit for bit;
 *   - a position list that is not made of documents counting up from 0 is a clear error.
 * Under mpirun -np 2 also TP 2 (with and without sequence parallelism) against TP 1, packed: loss and gradient
 * slices within 1e-5.  Prints the worst relative differences. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "../unit/fs_test.h"
#include "fs_layout.h"
#include "fs_model.h"

enum { B = 2, T = 24, MAX_DOCS = 8 };
/* documents per row (lengths sum to T; the last of row 1 would continue past the row) */
static const int doc_len[B][MAX_DOCS] = {{7, 1, 10, 6}, {13, 11}};
static struct fs_layout *g_lay;
static double g_worst_leak, g_worst_tp;
static int g_rank;

static void make_packed(int32_t *tok, int32_t *tgt, int32_t *pos, int V)
{
  uint64_t s = 88172645463325252ull;
  for (int b = 0; b < B; b++)
    for (int d = 0, t = 0; d < MAX_DOCS && doc_len[b][d]; d++)
      for (int u = 0; u < doc_len[b][d]; u++, t++) {
        const int n = b * T + t, last = u == doc_len[b][d] - 1;
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        tok[n] = (int32_t)(s % (uint64_t)V);
        pos[n] = u;
        /* a document's last token never predicts the next document's first; some prompt tokens are masked */
        tgt[n] = (last && !(b == 1 && d == 1)) || n % 5 == 2 ? -1 : (int32_t)((s >> 20) % (uint64_t)V);
      }
}

/* max |a - b| / max |b| over one tensor; the worst over the model's tensors (scale floor: 1e-3 of the largest) */
static double compare_grads(const struct fs_model *m, const float *a, const float *b)
{
  double worst = 0, scale = 0;
  for (int64_t i = 0; i < m->table.n_local; i++) scale = fmax(scale, fabs(b[i]));
  for (int k = 0; k < m->table.n; k++) {
    const struct fs_param *p = &m->table.p[k];
    double dmax = 0, rmax = 0;
    for (int64_t i = 0; i < p->local_n_elem; i++)
      dmax = fmax(dmax, fabs(a[p->offset + i] - b[p->offset + i])), rmax = fmax(rmax, fabs(b[p->offset + i]));
    worst = fmax(worst, dmax / fmax(rmax, 1e-3 * scale));
  }
  return worst;
}

static struct fs_model *build(struct fs_model_config cfg, int tp, int sp, enum fs_recompute rc)
{
  struct fs_model *m = NULL;
  cfg.sequence_parallel = sp, cfg.recompute_granularity = rc;
  FS_EXPECT_OK(fs_model_config_finalize(&cfg, tp));
  FS_EXPECT_OK(fs_model_create_tp(&cfg, &fs_ops_cpu, tp > 1 ? g_lay->tp_comm : MPI_COMM_NULL, &m));
  if (m) FS_EXPECT_OK(fs_model_init_params(m, 4321));
  return m;
}

/* loss and gradients of the packed micro-batch with row weights rw */
static double packed_step(struct fs_model *m, const int32_t *tok, const int32_t *tgt, const int32_t *pos,
                          const float *rw)
{
  double loss = 0;
  int64_t n_tok;
  fs_model_zero_grad(m);
  FS_EXPECT_OK(fs_model_set_positions(m, pos, B, T));
  FS_EXPECT_OK(fs_model_forward_backward(m, tok, tgt, rw, B, T, &loss, &n_tok));
  FS_EXPECT_OK(fs_model_set_positions(m, NULL, B, T));
  return loss;
}

/* the same documents one per row (1 x T, padded with token 0, padding masked), gradients summed */
static double unpacked_steps(struct fs_model *m, const int32_t *tok, const int32_t *tgt, const float *rw)
{
  int32_t rt[T], rg[T];
  float rr[T];
  double sum = 0;
  fs_model_zero_grad(m);
  for (int b = 0; b < B; b++)
    for (int d = 0, t0 = 0; d < MAX_DOCS && doc_len[b][d]; t0 += doc_len[b][d++]) {
      for (int u = 0; u < T; u++) {
        const int in = u < doc_len[b][d], n = b * T + t0 + u;
        rt[u] = in ? tok[n] : 0, rg[u] = in ? tgt[n] : -1, rr[u] = in ? rw[n] : 0;
      }
      double l;
      int64_t n_tok;
      FS_EXPECT_OK(fs_model_forward_backward(m, rt, rg, rr, 1, T, &l, &n_tok));
      sum += l;
    }
  return sum;
}

static void run(const char *label, struct fs_model_config cfg)
{
  const int V = cfg.vocab_size;
  int32_t tok[B * T], tgt[B * T], pos[B * T];
  float rw[B * T];
  int count = 0;
  make_packed(tok, tgt, pos, V);
  for (int n = 0; n < B * T; n++) count += tgt[n] >= 0;
  for (int n = 0; n < B * T; n++) rw[n] = tgt[n] >= 0 ? 1.0f / (float)count : 0.0f;

  /* 1. packed == unpacked, loss and gradients */
  struct fs_model *m = build(cfg, 1, 0, FS_RECOMPUTE_NONE);
  const double lp = packed_step(m, tok, tgt, pos, rw);
  float *gp = malloc(m->table.n_local * sizeof(float));
  memcpy(gp, m->grads, m->table.n_local * sizeof(float));
  const double lu = unpacked_steps(m, tok, tgt, rw);
  const double rel_loss = fabs(lp - lu) / fabs(lu), rel_grad = compare_grads(m, gp, m->grads);
  if (!g_rank)
    printf("%s: packed loss %.9f, unpacked %.9f (relative %.2e); gradients relative %.2e\n", label, lp, lu, rel_loss,
           rel_grad);
  FS_EXPECT(rel_loss <= 1e-6, "%s: packed loss %.9g vs %.9g one document per row", label, lp, lu);
  FS_EXPECT(rel_grad <= 2e-6, "%s: packed gradients differ by %.3g from one document per row", label, rel_grad);
  g_worst_leak = fmax(g_worst_leak, fmax(rel_loss, rel_grad));

  /* 2. the default (NULL) is the plain causal model: a packed batch gives a different loss without positions */
  double lplain;
  int64_t n_tok;
  FS_EXPECT_OK(fs_model_forward_loss(m, tok, tgt, rw, B, T, &lplain, &n_tok));
  FS_EXPECT(fabs(lplain - lp) > 1e-6 * fabs(lp), "%s: positions changed nothing (%.9g)", label, lp);

  /* 3. doc 0 of row 0 changed: doc 1 and 2 logits identical (bits), doc 0's own differ */
  const int64_t nl = (int64_t)B * T * V;
  float *la = malloc(nl * sizeof(float)), *lb = malloc(nl * sizeof(float));
  int32_t tok2[B * T];
  memcpy(tok2, tok, sizeof tok);
  for (int t = 0; t < doc_len[0][0]; t++) tok2[t] = (tok2[t] + 1 + t) % V;
  FS_EXPECT_OK(fs_model_set_positions(m, pos, B, T));
  FS_EXPECT_OK(fs_model_logits(m, tok, B, T, la));
  FS_EXPECT_OK(fs_model_logits(m, tok2, B, T, lb));
  FS_EXPECT_OK(fs_model_set_positions(m, NULL, B, T));
  const int64_t first = (int64_t)doc_len[0][0] * V;
  FS_EXPECT(!memcmp(la + first, lb + first, (nl - first) * sizeof(float)),
            "%s: changing document 0 changed the logits of the documents after it", label);
  FS_EXPECT(memcmp(la, lb, first * sizeof(float)), "%s: changing document 0 did not change its logits", label);
  free(la), free(lb);

  /* 4. recomputation: the same gradients, bit for bit */
  const enum fs_recompute rcs[] = {FS_RECOMPUTE_FULL, FS_RECOMPUTE_SELECTIVE};
  for (int i = 0; i < 2; i++) {
    struct fs_model *mr = build(cfg, 1, 0, rcs[i]);
    double lr = packed_step(mr, tok, tgt, pos, rw);
    FS_EXPECT(lr == lp && !memcmp(mr->grads, gp, m->table.n_local * sizeof(float)),
              "%s: recomputation %d changes the packed loss or gradients", label, i);
    fs_model_destroy(&mr);
  }

  /* 5. TP 2 (and + SP) against TP 1, packed */
  for (int sp = 0; sp <= 1 && g_lay->tp == 2; sp++) {
    struct fs_model *mt = build(cfg, 2, sp, FS_RECOMPUTE_NONE), *ref = m;
    double lt = packed_step(mt, tok, tgt, pos, rw), worst = fabs(lt - lp) / fabs(lp), scale = 0;
    for (int64_t i = 0; i < ref->table.n_local; i++) scale = fmax(scale, fabs(gp[i]));
    FS_EXPECT(worst <= 1e-5, "%s TP 2%s: packed loss %.9g vs %.9g at TP 1", label, sp ? " SP" : "", lt, lp);
    /* gradient slices against the TP 1 gradients of the same global elements */
    for (int k = 0; k < mt->table.n; k++) {
      const struct fs_param *p = &mt->table.p[k], *q = fs_param_by_name(&ref->table, p->name);
      double dmax = 0, rmax = 0;
      for (int64_t i = 0; i < p->local_shape[0]; i++)
        for (int64_t j = 0; j < p->local_shape[1]; j++) {
          int64_t gi = i, gj = j;
          if (p->tp_split == FS_TP_COLUMN || p->tp_split == FS_TP_VOCAB) gi += mt->tp_rank * p->local_shape[0];
          if (p->tp_split == FS_TP_ROW) gj += mt->tp_rank * p->local_shape[1];
          if (p->tp_split == FS_TP_VOCAB && gi >= V) continue;
          double x = mt->grads[p->offset + i * p->local_shape[1] + j], y = gp[q->offset + gi * q->shape[1] + gj];
          dmax = fmax(dmax, fabs(x - y)), rmax = fmax(rmax, fabs(y));
        }
      /* the key bias's gradient is zero in exact arithmetic (rounding noise only): scale floor as compare_grads */
      worst = fmax(worst, dmax / fmax(rmax, 1e-3 * scale));
    }
    if (!g_rank) printf("%s TP 2%s packed vs TP 1: worst relative difference %.2e\n", label, sp ? " SP" : "", worst);
    FS_EXPECT(worst <= 1e-5, "%s TP 2%s: packed gradients differ from TP 1 by %.3g", label, sp ? " SP" : "", worst);
    g_worst_tp = fmax(g_worst_tp, worst);
    fs_model_destroy(&mt);
  }

  /* 6. positions that are no documents */
  int32_t bad[B * T];
  memcpy(bad, pos, sizeof pos);
  bad[3] = 5;
  PetscPushErrorHandler(PetscReturnErrorHandler, NULL);
  FS_EXPECT(fs_model_set_positions(m, bad, B, T) != 0 && !m->pos, "%s: positions 0 1 2 5 accepted", label);
  bad[3] = 3, bad[0] = 1;
  FS_EXPECT(fs_model_set_positions(m, bad, B, T) != 0, "%s: a row starting at position 1 accepted", label);
  PetscPopErrorHandler();
  free(gp);
  fs_model_destroy(&m);
}

int main(int argc, char **argv)
{
  int size;
  PetscInitialize(&argc, &argv, NULL, NULL);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  FS_EXPECT_OK(fs_layout_create(MPI_COMM_WORLD, size >= 2 ? 2 : 1, 1, &g_lay));
  struct fs_model_config llama, gpt2;
  fs_model_config_default(&llama);
  llama.num_layers = 2, llama.hidden_size = 32, llama.num_attention_heads = 4, llama.num_query_groups = 2;
  llama.ffn_hidden_size = 48, llama.vocab_size = 101, llama.make_vocab_size_divisible_by = 8, llama.seq_length = T;
  fs_model_config_default(&gpt2);
  gpt2.num_layers = 2, gpt2.hidden_size = 32, gpt2.num_attention_heads = 4, gpt2.seq_length = T;
  gpt2.vocab_size = 97, gpt2.make_vocab_size_divisible_by = 4, gpt2.normalization = FS_NORM_LAYERNORM;
  gpt2.position_embedding_type = FS_POS_LEARNED, gpt2.swiglu = 0, gpt2.add_bias_linear = 1;
  gpt2.untie_embeddings_and_output_weights = 0, gpt2.ffn_hidden_size = 128, gpt2.max_position_embeddings = T;
  run("llama", llama);
  run("gpt2", gpt2);
  if (!g_rank) printf("packed vs one document per row: worst relative difference %.2e; TP 2 vs TP 1 packed: %.2e\n", g_worst_leak,
         g_worst_tp);
  int failed = fs_test_done("test_pack_model"), any;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  fs_layout_destroy(&g_lay);
  PetscFinalize();
  return any;
}
