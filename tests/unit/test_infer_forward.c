/* test_infer_forward.c -- the decode forward over the paged KV cache against the full forward of the model:
 * several sequences of different lengths in one batch, each fed as a prompt chunk then chunks of various sizes
 * and single tokens; the logits at every position must equal fs_model_logits of the whole sequence (1e-5 of the
 * row's largest logit).  LLaMA with GQA (RoPE, RMSNorm, SwiGLU, untied) and GPT-2 (learned positions, LayerNorm,
 * GELU, biases, tied), on both CPU op tables; a small block size so that sequences span many blocks.
 * Under mpiexec -n P the decode forward runs tensor-parallel over the P ranks (each rank's cache holds its kv
 * heads) and is compared with the same full forward of a TP = 1 model built on every rank (same weights: the
 * initialization does not depend on the layout). */
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "fs_test.h"
#include "fs_infer_forward.h"
#include "fs_rng.h"

enum { NSEQ = 3 };

static double row_err(const float *a, const float *b, int V)
{
  double mx = 0, scale = 0;
  for (int i = 0; i < V; i++) {
    double d = fabs((double)a[i] - b[i]);
    if (d > mx) mx = d;
    if (fabs(b[i]) > scale) scale = fabs(b[i]);
  }
  return mx / (scale > 0 ? scale : 1);
}

static void run(const char *label, struct fs_model_config cfg, const struct fs_ops *ops)
{
  struct fs_model *m = NULL, *ref_m = NULL;
  struct fs_model_config ref_cfg = cfg;
  int tp;
  struct fs_kv_cache *kc = NULL;
  struct fs_infer_ws ws = {0};
  const int len[NSEQ] = {23, 9, 17};
  int32_t *tok[NSEQ];
  float *ref[NSEQ];
  int seq[NSEQ], done[NSEQ] = {0};
  double worst = 0;

  MPI_Comm_size(PETSC_COMM_WORLD, &tp);
  FS_EXPECT_OK(fs_model_config_finalize(&ref_cfg, 1));
  FS_EXPECT_OK(fs_model_create(&ref_cfg, ops, &ref_m));
  FS_EXPECT_OK(fs_model_config_finalize(&cfg, tp));
  if (tp == 1) FS_EXPECT_OK(fs_model_create(&cfg, ops, &m));
  else FS_EXPECT_OK(fs_model_create_tp(&cfg, ops, PETSC_COMM_WORLD, &m));
  FS_EXPECT_OK(fs_model_init_params(m, 99));
  FS_EXPECT_OK(fs_model_init_params(ref_m, 99));
  /* init_params's small weights make near-uniform logits; make them more varied */
  for (int64_t i = 0; i < m->table.n_local; i++) m->params[i] *= 4.0f;
  for (int64_t i = 0; i < ref_m->table.n_local; i++) ref_m->params[i] *= 4.0f;
  const int V = cfg.vocab_size;
  struct fs_rng_key key = fs_rng_key(5, "tokens");
  for (int s = 0; s < NSEQ; s++) {
    tok[s] = malloc(len[s] * sizeof(int32_t));
    ref[s] = malloc((size_t)len[s] * V * sizeof(float));
    for (int t = 0; t < len[s]; t++) tok[s][t] = (int32_t)(fs_rng_uniform(key, 100 * s + t) * V);
    FS_EXPECT_OK(fs_model_logits(ref_m, tok[s], 1, len[s], ref[s]));
  }
  FS_EXPECT_OK(fs_infer_cache_create(m, 64 * fs_kv_cache_block_bytes(&cfg, 4), 4, &kc));
  FS_EXPECT(kc && kc->n_kv_heads == cfg.num_query_groups / tp, "%s: cache of %d kv heads at TP %d", label,
            kc ? kc->n_kv_heads : -1, tp);
  for (int s = 0; s < NSEQ; s++) FS_EXPECT_OK(fs_kv_cache_seq_open(kc, &seq[s]));
  /* chunk schedule: step 0 = prompts of 5, 9 (whole), 3 tokens; then 1, 2, 1, 3, 1, 1 ... */
  const int chunks[] = {5, 1, 2, 1, 3, 1, 1, 4, 1};
  for (int step = 0; step < 64; step++) {
    int b_seq[NSEQ], n_new[NSEQ], all[NSEQ], ns = 0, n_tok = 0, which[NSEQ];
    int32_t buf[64];
    for (int s = 0; s < NSEQ; s++) {
      if (done[s] >= len[s]) continue;
      int want = step == 0 ? (s == 1 ? len[s] : s == 0 ? 5 : 3) : chunks[(step + s) % 9];
      if (want > len[s] - done[s]) want = len[s] - done[s];
      int ok;
      FS_EXPECT_OK(fs_kv_cache_reserve(kc, seq[s], done[s] + want, &ok));
      FS_EXPECT(ok, "reserve %d tokens", done[s] + want);
      memcpy(buf + n_tok, tok[s] + done[s], want * sizeof(int32_t));
      b_seq[ns] = seq[s], n_new[ns] = want, all[ns] = 1, which[ns] = s, ns++;
      n_tok += want;
    }
    if (!ns) break;
    struct fs_infer_batch b = {ns, b_seq, n_new, buf, all};
    float *logits;
    int64_t R;
    FS_EXPECT_OK(fs_infer_forward(&ws, m, kc, &b, &logits, &R));
    FS_EXPECT(R == n_tok, "rows %lld, tokens %d", (long long)R, n_tok);
    for (int i = 0, r = 0; i < ns; i++) {
      int s = which[i];
      for (int j = 0; j < n_new[i]; j++, r++) {
        double e = row_err(logits + (int64_t)r * V, ref[s] + (int64_t)(done[s] + j) * V, V);
        if (e > worst) worst = e;
        FS_EXPECT(e < 1e-5, "%s: sequence %d position %d: relative error %.3g", label, s, done[s] + j, e);
      }
      done[s] += n_new[i];
    }
  }
  for (int s = 0; s < NSEQ; s++) {
    FS_EXPECT(done[s] == len[s] && kc->seq[seq[s]].len == len[s], "%s: sequence %d at %d", label, s, done[s]);
    fs_kv_cache_seq_close(kc, seq[s]);
  }
  FS_EXPECT(kc->n_free == kc->n_blocks, "%s: %lld of %lld blocks returned", label, (long long)kc->n_free,
            (long long)kc->n_blocks);
  /* last-token-only rows: one row per sequence, the same values */
  {
    int s0;
    FS_EXPECT_OK(fs_kv_cache_seq_open(kc, &s0));
    int ok, n = len[0];
    FS_EXPECT_OK(fs_kv_cache_reserve(kc, s0, n, &ok));
    struct fs_infer_batch b = {1, &s0, &n, tok[0], NULL};
    float *logits;
    int64_t R;
    FS_EXPECT_OK(fs_infer_forward(&ws, m, kc, &b, &logits, &R));
    FS_EXPECT(R == 1, "rows %lld", (long long)R);
    double e = row_err(logits, ref[0] + (int64_t)(n - 1) * V, V);
    FS_EXPECT(e < 1e-5, "%s: last-row logits relative error %.3g", label, e);
    /* a forward without reserved room is an error, not a write out of bounds */
    int one = 1;
    int32_t t1 = 0;
    struct fs_infer_batch b2 = {1, &s0, &one, &t1, NULL};
    PetscPushErrorHandler(PetscReturnErrorHandler, NULL);
    FS_EXPECT(fs_infer_forward(&ws, m, kc, &b2, &logits, &R) != 0 || kc->seq[s0].n_blocks * 4 > n,
              "%s: unreserved forward accepted", label);
    PetscPopErrorHandler();
    fs_kv_cache_seq_close(kc, s0);
  }
  printf("%s (%s, TP %d): worst relative error %.3g\n", label, ops->name, tp, worst);
  for (int s = 0; s < NSEQ; s++) free(tok[s]), free(ref[s]);
  fs_infer_ws_free(&ws);
  fs_kv_cache_destroy(&kc);
  fs_model_destroy(&m);
  fs_model_destroy(&ref_m);
}

int main(int argc, char **argv)
{
  PetscInitialize(&argc, &argv, NULL, NULL);
#ifdef _OPENMP
  omp_set_num_threads(2);
#endif
  struct fs_model_config llama, gpt2;
  fs_model_config_default(&llama);
  llama.hidden_size = 48, llama.num_attention_heads = 6, llama.num_query_groups = 2, llama.ffn_hidden_size = 72;
  llama.vocab_size = 101, llama.make_vocab_size_divisible_by = 8, llama.seq_length = 32;
  fs_model_config_default(&gpt2);
  gpt2.hidden_size = 32, gpt2.num_attention_heads = 4, gpt2.seq_length = 32, gpt2.vocab_size = 97;
  gpt2.make_vocab_size_divisible_by = 1, gpt2.normalization = FS_NORM_LAYERNORM;
  gpt2.position_embedding_type = FS_POS_LEARNED, gpt2.swiglu = 0, gpt2.add_bias_linear = 1;
  gpt2.untie_embeddings_and_output_weights = 0, gpt2.ffn_hidden_size = 128;
  run("llama-gqa", llama, &fs_ops_cpu_ref);
  run("llama-gqa", llama, &fs_ops_cpu);
  run("gpt2", gpt2, &fs_ops_cpu_ref);
  run("gpt2", gpt2, &fs_ops_cpu);
  int rc = fs_test_done("test_infer_forward");
  PetscFinalize();
  return rc;
}
