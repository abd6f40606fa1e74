/* test_infer_engine.c -- the generation engine and the sampler:
 *  - the same requests submitted together, one by one, interleaved with steps, and through a tiny cache with a
 *    batch cap and small prompt chunks (forcing queuing and preemption) give identical tokens and logprobs, for
 *    greedy and seeded sampling; every cache block is free at the end;
 *  - greedy output equals argmax decoding by recomputing fs_model_logits over the whole sequence each token;
 *  - scoring (max_new_tokens = 0) returns log_softmax of the full forward at every prompt token, and its top-5
 *    alternatives (top_logprobs) are the full forward's 5 most likely tokens in order;
 *  - fs_top_logprobs ranks like a brute-force scan, ties by lower id;
 *  - stop tokens and stop strings (cut from the text; streamed text never shows them);
 *  - cancellation (a waiting and a running request: finished "cancelled" at once, blocks returned, the callback
 *    told, the other requests' outputs unchanged) and release of finished results;
 *  - the sampler: greedy cases, the order top-p -> top-k -> temperature, frequencies of the draws. */
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "fs_test.h"
#include "fs_engine.h"
#include "fs_rng.h"

enum { NREQ = 6, MAXP = 40 };
static struct fs_model *g_m;
static struct fs_tokenizer *g_tok;
static int32_t g_prompt[NREQ][MAXP];
static const int g_np[NREQ] = {7, 31, 3, 18, 12, 25};
static const int g_max_new[NREQ] = {12, 6, 20, 9, 15, 11};

static struct fs_request make_req(int i)
{
  struct fs_request r = {.prompt = g_prompt[i], .n_prompt = g_np[i], .max_new_tokens = g_max_new[i]};
  if (i % 2) r.sampling = (struct fs_sampling){.temperature = 0.8, .top_k = 40, .top_p = 0.95, .seed = 100 + i};
  return r;
}

struct out {
  int32_t tok[NREQ][64];
  float lp[NREQ][64];
  int n[NREQ];
  enum fs_finish fin[NREQ];
  int64_t preempted;
};

static void collect(struct fs_engine *e, const int64_t *ids, struct out *o, const char *label)
{
  int64_t n_free, n_blocks;
  for (int i = 0; i < NREQ; i++) {
    const struct fs_result *r = fs_engine_result(e, ids[i]);
    FS_EXPECT(r != NULL, "%s: request %d not finished", label, i);
    if (!r) continue;
    o->n[i] = (int)r->n_tokens;
    o->fin[i] = r->finish;
    memcpy(o->tok[i], r->tokens, r->n_tokens * sizeof(int32_t));
    memcpy(o->lp[i], r->logprobs, r->n_tokens * sizeof(float));
  }
  fs_engine_cache_blocks(e, &n_free, &n_blocks);
  FS_EXPECT(n_free == n_blocks, "%s: %lld of %lld cache blocks free at the end", label, (long long)n_free,
            (long long)n_blocks);
  struct fs_engine_stats st;
  fs_engine_get_stats(e, &st);
  o->preempted = st.preemptions;
  printf("%s: %lld steps, %lld prefill + %lld decode tokens, max %d running, %lld preemptions\n", label,
         (long long)st.steps, (long long)st.prefill_tokens, (long long)st.decode_tokens, st.max_running,
         (long long)st.preemptions);
}

/* every request submitted at once to a new engine with options o, run to the end */
static void run_together(const struct fs_engine_opts *o, struct out *out, const char *label)
{
  struct fs_engine *e;
  int64_t ids[NREQ];
  FS_EXPECT_OK(fs_engine_create(g_m, g_tok, o, &e));
  for (int i = 0; i < NREQ; i++) {
    struct fs_request r = make_req(i);
    FS_EXPECT_OK(fs_engine_submit(e, &r, &ids[i]));
  }
  FS_EXPECT_OK(fs_engine_run(e));
  collect(e, ids, out, label);
  fs_engine_destroy(&e);
}

static void same(const struct out *a, const struct out *b, const char *label)
{
  for (int i = 0; i < NREQ; i++) {
    FS_EXPECT(a->n[i] == b->n[i] && a->fin[i] == b->fin[i], "%s: request %d: %d tokens (%s) vs %d (%s)", label, i,
              a->n[i], fs_finish_name(a->fin[i]), b->n[i], fs_finish_name(b->fin[i]));
    int n = a->n[i] < b->n[i] ? a->n[i] : b->n[i], bad = 0;
    for (int t = 0; t < n; t++) bad += a->tok[i][t] != b->tok[i][t] || fabsf(a->lp[i][t] - b->lp[i][t]) > 1e-4f;
    FS_EXPECT(!bad, "%s: request %d: %d tokens/logprobs differ", label, i, bad);
  }
}

static void test_batching(void)
{
  struct fs_engine_opts o;
  struct fs_engine *e;
  int64_t ids[NREQ];
  struct out together, alone, inter, tight;
  int busy;

  fs_engine_opts_default(&o);
  run_together(&o, &together, "together");

  FS_EXPECT_OK(fs_engine_create(g_m, g_tok, &o, &e));
  for (int i = NREQ - 1; i >= 0; i--) { /* reverse order, each alone */
    struct fs_request r = make_req(i);
    FS_EXPECT_OK(fs_engine_submit(e, &r, &ids[i]));
    FS_EXPECT_OK(fs_engine_run(e));
  }
  collect(e, ids, &alone, "one by one");
  same(&together, &alone, "one by one");
  fs_engine_destroy(&e);

  FS_EXPECT_OK(fs_engine_create(g_m, g_tok, &o, &e));
  for (int i = 0; i < NREQ; i++) {
    struct fs_request r = make_req(i);
    FS_EXPECT_OK(fs_engine_submit(e, &r, &ids[i]));
    for (int s = 0; s < 1 + i % 3; s++) FS_EXPECT_OK(fs_engine_step(e, &busy));
  }
  FS_EXPECT_OK(fs_engine_run(e));
  collect(e, ids, &inter, "interleaved");
  same(&together, &inter, "interleaved");
  fs_engine_destroy(&e);

  /* 12 blocks of 4 tokens = 48 tokens: the longest request needs 42; chunks of 5; 3 sequences at most */
  o.block_size = 4, o.max_batch_size = 3, o.max_step_tokens = 5;
  o.kv_cache_bytes = 12 * 2 * (size_t)g_m->cfg.num_layers * 4 * g_m->cfg.num_query_groups * g_m->cfg.head_dim *
                     sizeof(float);
  FS_EXPECT_OK(fs_engine_create(g_m, g_tok, &o, &e));
  for (int i = 0; i < NREQ; i++) {
    struct fs_request r = make_req(i);
    FS_EXPECT_OK(fs_engine_submit(e, &r, &ids[i]));
  }
  FS_EXPECT_OK(fs_engine_run(e));
  collect(e, ids, &tight, "tight cache");
  same(&together, &tight, "tight cache");
  FS_EXPECT(tight.preempted > 0, "the tight cache never preempted: the test does not test preemption");
  fs_engine_destroy(&e);

  /* greedy request 0 against argmax of the full forward, recomputed for every token */
  int V = g_m->cfg.vocab_size, n = g_np[0];
  int32_t seq[64];
  float *logits = malloc((size_t)64 * V * sizeof(float));
  memcpy(seq, g_prompt[0], n * sizeof(int32_t));
  for (int t = 0; t < together.n[0]; t++, n++) {
    FS_EXPECT_OK(fs_model_logits(g_m, seq, 1, n, logits));
    const float *row = logits + (int64_t)(n - 1) * V;
    int32_t best = 0;
    for (int j = 1; j < V; j++)
      if (row[j] > row[best]) best = j;
    FS_EXPECT(best == together.tok[0][t], "greedy token %d: engine %d, full forward %d", t, together.tok[0][t], best);
    seq[n] = best;
  }
  free(logits);
}

/* rank k's id of x by brute force: the k-th largest value, lower id first among equal values */
static int32_t nth_best(const float *x, int V, int k)
{
  int32_t best = -1;
  for (int r = 0; r <= k; r++) {
    int32_t b = -1;
    for (int32_t i = 0; i < V; i++) {
      int after = best < 0 || x[i] < x[best] || (x[i] == x[best] && i > best); /* ranked below the last pick */
      if (after && (b < 0 || x[i] > x[b])) b = i;
    }
    best = b;
  }
  return best;
}

/* fs_top_logprobs on logits with many exact ties: the ranking and values of a brute-force scan */
static void test_top_logprobs(void)
{
  enum { V = 997, N = 20 };
  float x[V];
  int32_t ids[N];
  float lps[N];
  for (int i = 0; i < V; i++) x[i] = (float)((i * 37) % 11) * 0.5f; /* 11 values, about 90 ids each */
  fs_top_logprobs(x, V, N, ids, lps);
  for (int k = 0; k < N; k++) {
    int32_t want = nth_best(x, V, k);
    FS_EXPECT(ids[k] == want && fabsf(lps[k] - fs_logprob(x, V, want)) < 1e-6f, "top %d: id %d (want %d)", k,
              ids[k], want);
  }
}

static void test_scoring(void)
{
  struct fs_engine_opts o;
  struct fs_engine *e;
  int64_t id;
  int V = g_m->cfg.vocab_size, n = g_np[1];
  fs_engine_opts_default(&o);
  o.max_step_tokens = 8; /* scored in chunks */
  FS_EXPECT_OK(fs_engine_create(g_m, NULL, &o, &e));
  struct fs_request r = make_req(1);
  r.max_new_tokens = 0;
  r.sampling.top_logprobs = 5;
  FS_EXPECT_OK(fs_engine_submit(e, &r, &id));
  FS_EXPECT_OK(fs_engine_run(e));
  const struct fs_result *res = fs_engine_result(e, id);
  float *logits = malloc((size_t)n * V * sizeof(float));
  FS_EXPECT_OK(fs_model_logits(g_m, g_prompt[1], 1, n, logits));
  FS_EXPECT(res && res->n_tokens == n - 1 && res->finish == FS_FINISH_SCORED, "scoring: %lld values",
            res ? (long long)res->n_tokens : -1LL);
  for (int p = 0; res && p < n - 1 && p < res->n_tokens; p++) {
    float want = fs_logprob(logits + (int64_t)p * V, V, g_prompt[1][p + 1]);
    FS_EXPECT(res->tokens[p] == g_prompt[1][p + 1] && fabsf(res->logprobs[p] - want) < 1e-4f,
              "scoring position %d: %g vs %g", p, res->logprobs[p], want);
    /* the alternatives: the full forward's top 5 in order (a swap only between values within rounding) */
    const float *row = logits + (int64_t)p * V;
    for (int k = 0; res->n_top == 5 && k < 5; k++) {
      int32_t got = res->top_ids[p * 5 + k], ref = nth_best(row, V, k);
      FS_EXPECT(fabsf(res->top_logprobs[p * 5 + k] - fs_logprob(row, V, ref)) < 1e-4f &&
                fabsf(fs_logprob(row, V, got) - fs_logprob(row, V, ref)) < 1e-4f,
                "position %d alternative %d: id %d (%g), reference id %d (%g)", p, k, got,
                res->top_logprobs[p * 5 + k], ref, fs_logprob(row, V, ref));
    }
  }
  FS_EXPECT(res && res->n_top == 5, "scoring: %d alternatives recorded, 5 asked", res ? res->n_top : -1);
  free(logits);
  fs_engine_destroy(&e);
}

struct streamed {
  char buf[4096];
  size_t n;
  int finished;
};
static void on_token(void *ctx, int64_t id, int32_t token, const char *b, size_t n, int finished)
{
  struct streamed *s = ctx;
  if (s->n + n < sizeof s->buf) memcpy(s->buf + s->n, b, n), s->n += n;
  s->finished += finished;
}

static void test_stops(void)
{
  struct fs_engine_opts o;
  struct fs_engine *e;
  int64_t id;
  fs_engine_opts_default(&o);
  /* a long greedy completion to cut */
  FS_EXPECT_OK(fs_engine_create(g_m, g_tok, &o, &e));
  struct fs_request r = make_req(2);
  r.max_new_tokens = 24;
  FS_EXPECT_OK(fs_engine_submit(e, &r, &id));
  FS_EXPECT_OK(fs_engine_run(e));
  const struct fs_result *full = fs_engine_result(e, id);
  FS_EXPECT(full && full->n_tokens == 24 && full->finish == FS_FINISH_LENGTH && full->n_text > 8,
            "full completion: %lld tokens, %zu bytes", full ? (long long)full->n_tokens : -1LL,
            full ? full->n_text : 0);
  if (!full || full->n_text <= 8) return;
  /* stop id: the 5th generated token (the output ends at its first occurrence, kept in tokens) */
  int32_t stop_id = full->tokens[4];
  int first = 0;
  while (full->tokens[first] != stop_id) first++;
  struct fs_engine *e2;
  FS_EXPECT_OK(fs_engine_create(g_m, g_tok, &o, &e2));
  r.stop_ids = &stop_id, r.n_stop_ids = 1;
  FS_EXPECT_OK(fs_engine_submit(e2, &r, &id));
  /* stop string: 3 bytes from the middle of the text */
  char stop[4];
  size_t at = full->n_text / 2;
  memcpy(stop, full->text + at, 3), stop[3] = 0;
  const char *ss[1] = {stop};
  struct fs_request r2 = make_req(2);
  r2.max_new_tokens = 24, r2.stop_strings = ss, r2.n_stop_strings = 1;
  int64_t id2;
  FS_EXPECT_OK(fs_engine_submit(e2, &r2, &id2));
  struct streamed st = {{0}, 0, 0};
  fs_engine_set_callback(e2, on_token, &st);
  FS_EXPECT_OK(fs_engine_run(e2));
  const struct fs_result *a = fs_engine_result(e2, id), *b = fs_engine_result(e2, id2);
  FS_EXPECT(a && a->finish == FS_FINISH_STOP && a->n_tokens == first + 1 && a->tokens[first] == stop_id,
            "stop id: %lld tokens, expected %d", a ? (long long)a->n_tokens : -1LL, first + 1);
  size_t cut = (size_t)(strstr(full->text, stop) - full->text);
  FS_EXPECT(b && b->finish == FS_FINISH_STOP && b->n_text == cut && !memcmp(b->text, full->text, cut),
            "stop string \"%s\": %zu bytes, expected %zu", stop, b ? b->n_text : 0, cut);
  FS_EXPECT(a && b && st.finished == 2, "finished callbacks: %d", st.finished);
  /* the stream interleaves both requests; request id2's bytes are what it streamed: check the stop string never
   * appears in the stream, and the total equals the two texts */
  FS_EXPECT(a && b && st.n == a->n_text + b->n_text, "streamed %zu bytes, texts %zu + %zu", st.n,
            a ? a->n_text : 0, b ? b->n_text : 0);
  fs_engine_destroy(&e2);
  fs_engine_destroy(&e);
}

struct cancel_seen {
  int finished[NREQ];
};

static void on_cancel_token(void *ctx, int64_t id, int32_t token, const char *b, size_t n, int finished)
{
  struct cancel_seen *c = ctx;
  if (finished && id >= 0 && id < NREQ) c->finished[id]++;
}

static void test_cancel(void)
{
  struct fs_engine_opts o;
  struct fs_engine *e;
  int64_t ids[NREQ], n_free0, n_free1, n_blocks;
  struct out ref, rest;
  struct cancel_seen seen = {{0}};
  int busy;
  enum { RUNNING = 1, WAITING = 4 }; /* with 2 sequences at most, 0 and 1 run first; 4 waits */

  fs_engine_opts_default(&o);
  o.max_batch_size = 2;
  run_together(&o, &ref, "reference for cancel");

  FS_EXPECT_OK(fs_engine_create(g_m, g_tok, &o, &e));
  fs_engine_set_callback(e, on_cancel_token, &seen);
  for (int i = 0; i < NREQ; i++) {
    struct fs_request r = make_req(i);
    FS_EXPECT_OK(fs_engine_submit(e, &r, &ids[i]));
  }
  for (int s = 0; s < 3; s++) FS_EXPECT_OK(fs_engine_step(e, &busy));
  FS_EXPECT(!fs_engine_result(e, ids[RUNNING]) && !fs_engine_result(e, ids[WAITING]), "requests finished early");
  fs_engine_cache_blocks(e, &n_free0, &n_blocks);
  FS_EXPECT_OK(fs_engine_cancel(e, ids[RUNNING]));
  fs_engine_cache_blocks(e, &n_free1, &n_blocks);
  FS_EXPECT(n_free1 > n_free0, "cancelling a running request freed no block (%lld -> %lld free)",
            (long long)n_free0, (long long)n_free1);
  FS_EXPECT_OK(fs_engine_cancel(e, ids[WAITING]));
  for (int k = 0; k < 2; k++) {
    int i = k ? WAITING : RUNNING;
    const struct fs_result *r = fs_engine_result(e, ids[i]);
    FS_EXPECT(r && r->finish == FS_FINISH_CANCELLED, "request %d: not finished as cancelled", i);
    FS_EXPECT(seen.finished[ids[i]] == 1, "request %d: the callback saw %d finishes", i, seen.finished[ids[i]]);
    if (r) FS_EXPECT(!strcmp(fs_finish_name(r->finish), "cancelled"), "finish name %s", fs_finish_name(r->finish));
  }
  FS_EXPECT(fs_engine_result(e, ids[RUNNING])->n_tokens < ref.n[RUNNING], "the running request was not cut");
  FS_EXPECT(fs_engine_result(e, ids[WAITING])->n_tokens == 0, "the waiting request has tokens");
  FS_EXPECT_OK(fs_engine_cancel(e, ids[RUNNING])); /* finished: nothing happens */
  FS_EXPECT(seen.finished[ids[RUNNING]] == 1, "a second cancel told the callback again");
  PetscPushErrorHandler(PetscReturnErrorHandler, NULL);
  FS_EXPECT(fs_engine_release(e, ids[0]) != 0, "releasing a running request accepted");
  FS_EXPECT(fs_engine_cancel(e, 99) != 0, "cancelling an unknown id accepted");
  PetscPopErrorHandler();
  FS_EXPECT_OK(fs_engine_release(e, ids[WAITING]));
  FS_EXPECT(!fs_engine_result(e, ids[WAITING]), "a released result is still there");
  FS_EXPECT_OK(fs_engine_run(e));
  /* the others are unchanged: compare them with the reference, the cancelled ones set equal */
  for (int i = 0; i < NREQ; i++) {
    const struct fs_result *r = i == WAITING || i == RUNNING ? NULL : fs_engine_result(e, ids[i]);
    rest.n[i] = r ? (int)r->n_tokens : ref.n[i], rest.fin[i] = r ? r->finish : ref.fin[i];
    memcpy(rest.tok[i], r ? r->tokens : ref.tok[i], rest.n[i] * sizeof(int32_t));
    memcpy(rest.lp[i], r ? r->logprobs : ref.lp[i], rest.n[i] * sizeof(float));
  }
  same(&ref, &rest, "after cancelling two");
  fs_engine_cache_blocks(e, &n_free0, &n_blocks);
  FS_EXPECT(n_free0 == n_blocks, "after cancel: %lld of %lld blocks free", (long long)n_free0, (long long)n_blocks);
  for (int i = 0; i < NREQ; i++)
    if (i != WAITING) FS_EXPECT_OK(fs_engine_release(e, ids[i]));
  PetscPushErrorHandler(PetscReturnErrorHandler, NULL);
  FS_EXPECT(fs_engine_release(e, ids[0]) != 0, "releasing twice accepted");
  PetscPopErrorHandler();
  /* the engine goes on after releases: a new request gives the reference's tokens */
  struct fs_request r = make_req(2);
  int64_t id;
  FS_EXPECT_OK(fs_engine_submit(e, &r, &id));
  FS_EXPECT_OK(fs_engine_run(e));
  const struct fs_result *res = fs_engine_result(e, id);
  FS_EXPECT(res && res->n_tokens == ref.n[2] && !memcmp(res->tokens, ref.tok[2], ref.n[2] * sizeof(int32_t)),
            "a request after releases differs");
  fs_engine_destroy(&e);
}

static void test_sampler(void)
{
  struct fs_sampler_ws ws = {0};
  const int V = 5;
  /* probabilities at temperature 1: 0.5, 0.3, 0.15, 0.04, 0.01 */
  float lg[5] = {logf(0.5f), logf(0.3f), logf(0.15f), logf(0.04f), logf(0.01f)};
  int32_t t;
  float lp;
  struct fs_sampling greedy = {0, 0, 0, 1, 0};
  FS_EXPECT_OK(fs_sample(&ws, lg, V, &greedy, 0, &t, &lp));
  FS_EXPECT(t == 0 && fabsf(lp - logf(0.5f)) < 1e-5f, "greedy %d %g", t, lp);
  /* top-p 0.7 keeps {0, 1} on the untempered distribution; temperature 3 then flattens only those two.  (Had
   * the temperature come first, top-p 0.7 of the flattened distribution would keep token 2 too.) */
  struct fs_sampling s = {3.0, 4, 0.7, 42, 0};
  int count[5] = {0}, N = 20000;
  for (int i = 0; i < N; i++) {
    FS_EXPECT_OK(fs_sample(&ws, lg, V, &s, i, &t, &lp));
    count[t]++;
  }
  double p0 = pow(0.5, 1 / 3.0) / (pow(0.5, 1 / 3.0) + pow(0.3, 1 / 3.0));
  FS_EXPECT(count[2] + count[3] + count[4] == 0, "top-p let tokens 2..4 through: %d %d %d", count[2], count[3],
            count[4]);
  FS_EXPECT(fabs(count[0] / (double)N - p0) < 0.015, "frequency of token 0: %g, expected %g", count[0] / (double)N,
            p0);
  /* top-k 3 after top-p 1: tokens 0..2 at temperature 1 */
  struct fs_sampling k3 = {1.0, 3, 1.0, 7, 0};
  memset(count, 0, sizeof count);
  for (int i = 0; i < N; i++) {
    FS_EXPECT_OK(fs_sample(&ws, lg, V, &k3, i, &t, &lp));
    count[t]++;
  }
  FS_EXPECT(count[3] + count[4] == 0 && fabs(count[2] / (double)N - 0.15 / 0.95) < 0.015,
            "top-k 3: counts %d %d %d %d %d", count[0], count[1], count[2], count[3], count[4]);
  /* the same (seed, index) gives the same draw; top_k 1 is greedy */
  int32_t t1, t2;
  FS_EXPECT_OK(fs_sample(&ws, lg, V, &k3, 77, &t1, &lp));
  FS_EXPECT_OK(fs_sample(&ws, lg, V, &k3, 77, &t2, &lp));
  struct fs_sampling k1 = {1.0, 1, 0, 7, 0};
  FS_EXPECT_OK(fs_sample(&ws, lg, V, &k1, 5, &t, &lp));
  FS_EXPECT(t1 == t2 && t == 0, "reproducible %d %d, top_k 1 -> %d", t1, t2, t);
  struct fs_sampling bad = {-1, 0, 0, 0, 0};
  PetscPushErrorHandler(PetscReturnErrorHandler, NULL);
  FS_EXPECT(fs_sampling_check(&bad) != 0, "negative temperature accepted");
  PetscPopErrorHandler();
  fs_sampler_ws_free(&ws);
}

int main(int argc, char **argv)
{
  char dir[4096];
  PetscInitialize(&argc, &argv, NULL, NULL);
#ifdef _OPENMP
  omp_set_num_threads(2);
#endif
  snprintf(dir, sizeof dir, "%s/share/flagscale", getenv("top_srcdir") ? getenv("top_srcdir") : "..");
  setenv("FLAGSCALE_DATA_DIR", dir, 0);
  FS_EXPECT_OK(fs_tokenizer_create_named("gpt2", &g_tok));
  struct fs_model_config cfg;
  fs_model_config_default(&cfg);
  cfg.hidden_size = 32, cfg.num_attention_heads = 4, cfg.num_query_groups = 2, cfg.seq_length = 64;
  cfg.vocab_size = g_tok ? fs_tokenizer_vocab_size(g_tok) : 50257;
  FS_EXPECT_OK(fs_model_config_finalize(&cfg, 1));
  FS_EXPECT_OK(fs_model_create(&cfg, &fs_ops_cpu, &g_m));
  FS_EXPECT_OK(fs_model_init_params(g_m, 3));
  for (int64_t i = 0; i < g_m->table.n_local; i++) g_m->params[i] *= 6.0f; /* peaked, varied logits */
  struct fs_rng_key key = fs_rng_key(11, "prompts");
  for (int i = 0; i < NREQ; i++)
    for (int t = 0; t < MAXP; t++) g_prompt[i][t] = (int32_t)(fs_rng_uniform(key, 100 * i + t) * 5000);
  if (g_tok) {
    test_sampler();
    test_top_logprobs();
    test_batching();
    test_scoring();
    test_stops();
    test_cancel();
  }
  fs_model_destroy(&g_m);
  fs_tokenizer_destroy(&g_tok);
  int rc = fs_test_done("test_infer_engine");
  PetscFinalize();
  return rc;
}
