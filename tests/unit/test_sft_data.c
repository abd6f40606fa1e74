/* test_sft_data.c -- SFT samples: what is masked and what is trained for both templates and both line formats,
 * truncation and padding, the cyclic order, malformed lines, packing several conversations to a sample */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fs_sft.h"
#include "fs_test.h"

/* decodes the tokens of buf whose flag equals `trained` (concatenated) */
static char *decode_part(struct fs_tokenizer *tok, const struct fs_sft_buf *b, int trained)
{
  int32_t *ids = malloc((size_t)(b->ids.n + 1) * sizeof *ids);
  int64_t n = 0;
  char *s = NULL;
  for (int64_t i = 0; i < b->ids.n; i++)
    if (b->trained[i] == trained) ids[n++] = b->ids.ids[i];
  if (fs_tokenizer_decode(tok, ids, n, &s, NULL)) s = strdup("(decode failed)");
  free(ids);
  return s;
}

static void check_line(struct fs_tokenizer *tok, enum fs_chat_template tmpl, const char *json, const char *masked,
                       const char *trained)
{
  struct fs_sft_opts o = {FS_SFT_CONVO, tmpl, 64, 0};
  struct fs_sft_buf b = {0};
  FS_EXPECT_OK(fs_sft_encode_line(json, "test", &o, tok, &b));
  char *m = decode_part(tok, &b, 0), *t = decode_part(tok, &b, 1);
  FS_EXPECT(!strcmp(m, masked), "%s: masked text [%s], expected [%s]", json, m, masked);
  FS_EXPECT(!strcmp(t, trained), "%s: trained text [%s], expected [%s]", json, t, trained);
  free(m), free(t);
  fs_sft_buf_free(&b);
}

static void test_templates(struct fs_tokenizer *gpt2, struct fs_tokenizer *aquila)
{
  const char *sys = "A chat between a curious human and an artificial intelligence assistant. The assistant gives "
                    "helpful, detailed, and polite answers to the human's questions.";
  char masked[1024];
  /* ChatML, OpenAI format, two replies: user turns and headers masked, replies + <|im_end|> trained */
  check_line(gpt2, FS_CHAT_CHATML,
             "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": "
             "\"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello there\"}, {\"role\": \"user\", \"content\": "
             "\"Bye\"}, {\"role\": \"assistant\", \"content\": \"Bye!\"}, {\"role\": \"user\", \"content\": \"x\"}]}",
             "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
             "\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n",
             "Hello there<|im_end|>Bye!<|im_end|>");
  /* Aquila, original format: [CLS] + system + turns masked; "reply\n" per turn and </s> trained */
  snprintf(masked, sizeof masked, "[CLS]%s\n\n### Human: What is 2+2?\n### Assistant: ### Human: And 3+3?\n"
           "### Assistant: ", sys);
  check_line(aquila, FS_CHAT_AQUILA,
             "{\"instruction\": \"\", \"conversations\": [{\"from\": \"human\", \"value\": \"What is 2+2?\"}, "
             "{\"from\": \"gpt\", \"value\": \"4\"}, {\"from\": \"human\", \"value\": \"And 3+3?\"}, {\"from\": "
             "\"gpt\", \"value\": \"6\"}]}",
             masked, "4\n6\n</s>");
  /* an instruction follows the default system text */
  snprintf(masked, sizeof masked, "[CLS]%s\nAnswer in French.\n\n### Human: Hi\n### Assistant: ", sys);
  check_line(aquila, FS_CHAT_AQUILA,
             "{\"instruction\": \"Answer in French.\", \"conversations\": [{\"from\": \"human\", \"value\": \"Hi\"}, "
             "{\"from\": \"gpt\", \"value\": \"Salut\"}]}",
             masked, "Salut\n</s>");
}

static void test_errors(struct fs_tokenizer *tok)
{
  struct fs_sft_opts o = {FS_SFT_CONVO, FS_CHAT_CHATML, 64, 0};
  const char *bad[] = {"{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}", /* not JSON */
                       "[1, 2]",
                       "{\"messages\": [{\"role\": \"user\", \"content\": \"only a question\"}]}",
                       "{\"messages\": [{\"role\": \"assistant\", \"content\": \"no prompt\"}]}",
                       "{\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}",
                       "{\"conversations\": [{\"from\": \"human\", \"value\": 3}]}",
                       "{\"text\": \"plain text is not a conversation\"}"};
  PetscPushErrorHandler(PetscReturnErrorHandler, NULL);
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    struct fs_sft_buf b = {0};
    FS_EXPECT(fs_sft_encode_line(bad[i], "bad", &o, tok, &b) != 0, "accepted: %s", bad[i]);
    fs_sft_buf_free(&b);
  }
  PetscPopErrorHandler();
}

static void test_dataset(struct fs_tokenizer *tok)
{
  char path[] = "/tmp/test_sft_dataXXXXXX";
  int fd = mkstemp(path);
  FILE *f = fdopen(fd, "w");
  fprintf(f, "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": "
             "\"Hello\"}]}\n\n");
  for (int i = 0; i < 6; i++)
    fprintf(f, "{\"messages\": [{\"role\": \"user\", \"content\": \"Tell me a long story number %d, please, with "
               "many words in it, many many words, so many words that the prompt alone fills the whole sequence "
               "and more\"}, {\"role\": \"assistant\", \"content\": \"Once upon a time\"}]}\n", i);
  fclose(f);
  /* seq 40: the long prompts leave no reply token inside 41 tokens: dropped */
  struct fs_sft_opts o = {FS_SFT_CONVO, FS_CHAT_CHATML, 40, 0};
  struct fs_sft_dataset *ds = NULL;
  FS_EXPECT_OK(fs_sft_load(path, &o, tok, &ds));
  if (ds) {
    FS_EXPECT(ds->n == 1 && ds->n_dropped == 6 && ds->n_lines == 7, "n %lld dropped %lld lines %lld",
              (long long)ds->n, (long long)ds->n_dropped, (long long)ds->n_lines);
    FS_EXPECT(ds->n_truncated == 0, "truncated %lld", (long long)ds->n_truncated);
  }
  fs_sft_destroy(&ds);
  /* seq 64: every sample kept, the long ones truncated; padded tail masked, each mask bit = the trained flag of its
   * target */
  o.seq_length = 64;
  FS_EXPECT_OK(fs_sft_load(path, &o, tok, &ds));
  if (ds) {
    FS_EXPECT(ds->n == 7 && ds->n_dropped == 0 && ds->n_truncated == 6, "n %lld truncated %lld", (long long)ds->n,
              (long long)ds->n_truncated);
    int32_t tokens[65];
    uint8_t mask[64];
    fs_sft_sample(ds, 0, tokens, mask);
    int64_t len = ds->offset[1] - ds->offset[0], n_mask = 0;
    for (int j = 0; j < 64; j++) n_mask += mask[j];
    FS_EXPECT(len < 64 && tokens[len] == 0 && tokens[64] == 0 && !mask[len - 1] && !mask[63],
              "padding: len %lld", (long long)len);
    int64_t expect = 0;
    for (int64_t j = 1; j < len; j++) expect += ds->trained[ds->offset[0] + j];
    FS_EXPECT(n_mask == expect && n_mask > 0 && mask[len - 2], "mask count %lld expected %lld (last target trained)",
              (long long)n_mask, (long long)expect);
    /* cyclic order: each epoch a permutation of all samples, epochs differ, the same k gives the same sample */
    int64_t seen[3][7], i;
    for (int e = 0; e < 3; e++) {
      int hit[7] = {0};
      for (int j = 0; j < 7; j++) {
        FS_EXPECT_OK(fs_sft_cyclic_index(ds, 42, 7 * e + j, &i));
        seen[e][j] = i, hit[i]++;
      }
      for (int j = 0; j < 7; j++) FS_EXPECT(hit[j] == 1, "epoch %d: sample %d seen %d times", e, j, hit[j]);
    }
    FS_EXPECT(memcmp(seen[0], seen[1], sizeof seen[0]) || memcmp(seen[1], seen[2], sizeof seen[0]),
              "every epoch has the same order");
    FS_EXPECT_OK(fs_sft_cyclic_index(ds, 42, 3, &i));
    FS_EXPECT(i == seen[0][3], "order not reproducible after another epoch was cached");
  }
  fs_sft_destroy(&ds);
  /* a malformed line is an error (tests/mpi/test_sft.sh checks that its message names the line) */
  f = fopen(path, "a");
  fprintf(f, "{\"messages\": oops}\n");
  fclose(f);
  PetscPushErrorHandler(PetscReturnErrorHandler, NULL);
  FS_EXPECT(fs_sft_load(path, &o, tok, &ds) != 0 && !ds, "a malformed line was accepted");
  PetscPopErrorHandler();
  /* cpt: plain text, every token trained but the first (nothing predicts it) */
  f = fopen(path, "w");
  fprintf(f, "{\"text\": \"The quick brown fox\"}\n");
  fclose(f);
  o.type = FS_SFT_CPT;
  FS_EXPECT_OK(fs_sft_load(path, &o, tok, &ds));
  if (ds) {
    int32_t tokens[65];
    uint8_t mask[64];
    fs_sft_sample(ds, 0, tokens, mask);
    int64_t len = ds->offset[1], n_mask = 0;
    for (int j = 0; j < 64; j++) n_mask += mask[j];
    FS_EXPECT(n_mask == len - 1 && tokens[len - 1] == fs_tokenizer_eod(tok), "cpt: %lld trained of %lld tokens",
              (long long)n_mask, (long long)len);
  }
  fs_sft_destroy(&ds);
  unlink(path);
}

/* packing: every conversation exactly once, in file order inside a sample, at most seq_length + 1 tokens; each
 * packed sample is its conversations' unpacked samples laid end to end (tokens, masks, positions restarting at 0),
 * the target across each boundary masked, padding a document of its own; the trained targets over all samples are
 * those of the unpacked data; deterministic; efficiency = tokens / (samples x (seq_length + 1)) */
static void test_packing(struct fs_tokenizer *tok)
{
  enum { T = 128, LINES = 13 };
  char path[] = "/tmp/test_sft_packXXXXXX";
  FILE *f = fdopen(mkstemp(path), "w");
  for (int i = 0; i < LINES; i++) {
    fprintf(f, "{\"messages\": [");
    for (int k = 0; k <= (i * 7) % 3; k++)
      fprintf(f, "%s{\"role\": \"user\", \"content\": \"Question %d?\"}, {\"role\": \"assistant\", \"content\": "
                 "\"Answer %d%s\"}", k ? ", " : "", i, k, i == 5 ? " and a very long story that does not fit into "
                 "a sample of a hundred and twenty eight tokens at all, not even close, because it goes on and on and on " "and on and on, and then on and on and on and on and on, and more and more and more and more words" : "");
    fprintf(f, "]}\n");
  }
  fclose(f);
  struct fs_sft_opts o = {FS_SFT_CONVO, FS_CHAT_CHATML, T, 0};
  struct fs_sft_dataset *plain = NULL, *ds = NULL, *again = NULL;
  FS_EXPECT_OK(fs_sft_load(path, &o, tok, &plain));
  FS_EXPECT_OK(fs_sft_load(path, &o, tok, &ds));
  FS_EXPECT_OK(fs_sft_load(path, &o, tok, &again));
  if (!plain || !ds || !again) return;
  FS_EXPECT_OK(fs_sft_pack(ds));
  FS_EXPECT_OK(fs_sft_pack(again));
  FS_EXPECT(plain->n == LINES && ds->n_docs == LINES && ds->n < LINES && plain->n_truncated == 1,
            "%lld conversations (1 truncated: %lld) in %lld packed samples", (long long)ds->n_docs,
            (long long)plain->n_truncated, (long long)ds->n);
  FS_EXPECT(ds->n == again->n && !memcmp(ds->pack_item, again->pack_item, LINES * sizeof(int64_t)) &&
              !memcmp(ds->pack_offset, again->pack_offset, (ds->n + 1) * sizeof(int64_t)),
            "packing is not deterministic");
  int seen[LINES] = {0};
  int64_t trained = 0, tokens_used = 0;
  for (int64_t i = 0; i < ds->n; i++) {
    int32_t tk[T + 1], pt[T + 1], pos[T], ppos[T];
    uint8_t mk[T], pm[T];
    int ok = 1, at = 0;
    fs_sft_sample_pos(ds, i, tk, mk, pos);
    for (int64_t e = ds->pack_offset[i]; e < ds->pack_offset[i + 1]; e++) {
      const int64_t d = ds->pack_item[e], n = plain->offset[d + 1] - plain->offset[d];
      seen[d]++;
      ok &= e == ds->pack_offset[i] || d > ds->pack_item[e - 1];
      ok &= at + n <= T + 1;
      fs_sft_sample_pos(plain, d, pt, pm, ppos);
      for (int u = 0; u < n && at + u <= T; u++) {
        ok &= tk[at + u] == pt[u];
        if (at + u < T) ok &= pos[at + u] == u && ppos[u] == u;
        if (at + u > 0) ok &= mk[at + u - 1] == (u > 0 ? pm[u - 1] : 0);
      }
      if (n == T + 1) ok &= ds->pack_offset[i + 1] - ds->pack_offset[i] == 1; /* a truncated one fills a sample */
      at += (int)n;
      tokens_used += n;
    }
    for (int j = at, p = 0; j <= T; j++, p++) { /* padding */
      ok &= tk[j] == 0 && (j == 0 || !mk[j - 1]);
      if (j < T) ok &= pos[j] == p;
    }
    for (int j = 0; j < T; j++) trained += mk[j];
    FS_EXPECT(ok, "packed sample %lld is not its conversations end to end", (long long)i);
  }
  for (int d = 0; d < LINES; d++) FS_EXPECT(seen[d] == 1, "conversation %d packed %d times", d, seen[d]);
  FS_EXPECT(trained == plain->n_trained && trained == ds->n_trained, "%lld trained targets packed, %lld unpacked",
            (long long)trained, (long long)plain->n_trained);
  const double eff = (double)tokens_used / ((double)ds->n * (T + 1));
  FS_EXPECT(fabs(fs_sft_efficiency(ds) - eff) < 1e-12 && eff > fs_sft_efficiency(plain), "efficiency %g (%g), unpacked %g",
            fs_sft_efficiency(ds), eff, fs_sft_efficiency(plain));
  printf("packing: %d conversations in %lld samples, efficiency %.1f%% (unpacked %.1f%%)\n", LINES,
         (long long)ds->n, 100 * eff, 100 * fs_sft_efficiency(plain));
  fs_sft_destroy(&plain), fs_sft_destroy(&ds), fs_sft_destroy(&again);
  unlink(path);
}

int main(int argc, char **argv)
{
  char dir[4096];
  struct fs_tokenizer *gpt2 = NULL, *aquila = NULL;
  PetscInitialize(&argc, &argv, NULL, NULL);
  snprintf(dir, sizeof dir, "%s/share/flagscale", getenv("top_srcdir") ? getenv("top_srcdir") : "..");
  setenv("FLAGSCALE_DATA_DIR", dir, 0);
  FS_EXPECT_OK(fs_tokenizer_create_named("gpt2", &gpt2));
  FS_EXPECT_OK(fs_tokenizer_create_named("aquila", &aquila));
  if (gpt2 && aquila) {
    test_templates(gpt2, aquila);
    test_errors(gpt2);
    test_dataset(gpt2);
    test_packing(gpt2);
  }
  fs_tokenizer_destroy(&gpt2);
  fs_tokenizer_destroy(&aquila);
  int rc = fs_test_done("test_sft_data");
  PetscFinalize();
  return rc;
}
