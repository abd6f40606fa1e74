/* test_tokenizer.c -- the tokenizer without Python: known ids, special tokens and eod, byte-exact round trips
 * (invalid UTF-8 and NUL bytes included), the word cache giving the same ids, and bad files reported as errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fs_tokenizer.h"
#include "fs_test.h"

static char srcdir[2048];

static int ids_equal(const struct fs_tokens *t, const int32_t *want, int64_t n)
{
  return t->n == n && (n == 0 || !memcmp(t->ids, want, (size_t)n * sizeof *want));
}

static void encode(struct fs_tokenizer *tok, const char *s, size_t n, struct fs_tokens *t)
{
  fs_tokens_clear(t);
  FS_EXPECT_OK(fs_tokenizer_encode(tok, s, n, t));
}

/* decode(encode(s)) == s, and a second encode (from the word cache) gives the same ids */
static void round_trip(struct fs_tokenizer *tok, const char *name, const char *s, size_t n)
{
  struct fs_tokens a = {0}, b = {0};
  char *back = NULL;
  size_t n_back = 0;
  encode(tok, s, n, &a);
  encode(tok, s, n, &b);
  FS_EXPECT(a.n == b.n && (a.n == 0 || !memcmp(a.ids, b.ids, (size_t)a.n * sizeof *a.ids)),
            "%s: cached encoding differs for \"%.40s\"", name, s);
  FS_EXPECT_OK(fs_tokenizer_decode(tok, a.ids, a.n, &back, &n_back));
  FS_EXPECT(back && n_back == n && !memcmp(back, s, n), "%s: round trip of \"%.40s\" (%zu bytes) gave %zu bytes",
            name, s, n, n_back);
  free(back);
  fs_tokens_free(&a);
  fs_tokens_free(&b);
}

static void write_file(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  FS_EXPECT(f, "cannot write %s", path);
  if (!f) return;
  fputs(text, f);
  fclose(f);
}

/* a bad tokenizer must give an error code and a NULL object, never a crash */
static void expect_bad(const char *what, const char *vocab, const char *merges, const char *special)
{
  struct fs_tokenizer *tok = (struct fs_tokenizer *)1;
  PetscErrorCode ierr = fs_tokenizer_create(vocab, merges, special, &tok);
  FS_EXPECT(ierr != 0, "%s: not reported", what);
  FS_EXPECT(tok == NULL, "%s: object left behind", what);
  if (!ierr) fs_tokenizer_destroy(&tok);
}

static void bad_inputs(void)
{
  char dir[] = "/tmp/fs_tok_XXXXXX", vocab[256], bad[256], merges[256], bad_merges[256], special[256],
    good_vocab[8192], gpt2_merges[2300];
  size_t k;

  FS_EXPECT(mkdtemp(dir) != NULL, "mkdtemp");
  snprintf(vocab, sizeof vocab, "%s/vocab.json", dir);
  snprintf(bad, sizeof bad, "%s/bad.json", dir);
  snprintf(merges, sizeof merges, "%s/merges.txt", dir);
  snprintf(bad_merges, sizeof bad_merges, "%s/bad_merges.txt", dir);
  snprintf(special, sizeof special, "%s/special.txt", dir);
  snprintf(gpt2_merges, sizeof gpt2_merges, "%s/share/flagscale/tokenizers/gpt2/merges.txt", srcdir);

  /* a tiny but complete byte-level vocabulary: the 256 byte symbols, then "ab" */
  k = (size_t)snprintf(good_vocab, sizeof good_vocab, "{");
  for (int b = 0, n = 0; b < 256; b++) {
    int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    int cp = printable ? b : 256 + n++;
    if (cp == '"' || cp == '\\') k += (size_t)snprintf(good_vocab + k, sizeof good_vocab - k, "\"\\%c\":%d,", cp, b);
    else k += (size_t)snprintf(good_vocab + k, sizeof good_vocab - k, "\"\\u%04x\":%d,", cp, b);
  }
  snprintf(good_vocab + k, sizeof good_vocab - k, "\"ab\":256}");
  write_file(vocab, good_vocab);
  write_file(merges, "#version: 0.2\na b\n");
  {
    struct fs_tokenizer *tok = NULL;
    struct fs_tokens t = {0};
    int32_t want[] = {256, 256, 'c'};
    FS_EXPECT_OK(fs_tokenizer_create(vocab, merges, NULL, &tok));
    if (tok) {
      encode(tok, "ababc", 5, &t);
      FS_EXPECT(ids_equal(&t, want, 3), "tiny vocabulary: %" PetscInt64_FMT " ids", (PetscInt64)t.n);
      FS_EXPECT(fs_tokenizer_eod(tok) == -1, "no eod expected, got %d", fs_tokenizer_eod(tok));
      FS_EXPECT(fs_tokenizer_vocab_size(tok) == 257, "vocab size %d", fs_tokenizer_vocab_size(tok));
    }
    fs_tokens_free(&t);
    fs_tokenizer_destroy(&tok);
  }

  expect_bad("missing vocab file", "/nonexistent/vocab.json", merges, NULL);
  expect_bad("missing merges file", vocab, "/nonexistent/merges.txt", NULL);
  expect_bad("missing special-tokens file", vocab, merges, "/nonexistent/special_tokens.txt");
  write_file(bad, "{\"a\": 1,");
  expect_bad("truncated vocab.json", bad, merges, NULL);
  write_file(bad, "[1, 2, 3]");
  expect_bad("vocab.json not an object", bad, merges, NULL);
  write_file(bad, "{\"a\": \"one\"}");
  expect_bad("non-integer id", bad, merges, NULL);
  write_file(bad, "{\"a\": -4}");
  expect_bad("negative id", bad, merges, NULL);
  write_file(bad, "{\"a\": 0, \"b\": 1}");
  expect_bad("vocabulary without the byte symbols", bad, merges, NULL);
  write_file(bad, "");
  expect_bad("empty vocab.json", bad, merges, NULL);
  write_file(bad_merges, "a b c\n");
  expect_bad("merge line with three tokens", vocab, bad_merges, NULL);
  write_file(bad_merges, "ab\n");
  expect_bad("merge line with one token", vocab, bad_merges, NULL);
  write_file(bad_merges, "a zz\n");
  expect_bad("merge of an unknown token", vocab, bad_merges, NULL);
  expect_bad("merges of another vocabulary", vocab, gpt2_merges, NULL);
  write_file(special, "\n\n");
  expect_bad("empty special-tokens file", vocab, merges, special);
  {
    struct fs_tokenizer *tok = NULL;
    char *text = NULL;
    int32_t ids[2] = {0, 257};
    write_file(special, "<x>\n<x>\n</s>\n");
    FS_EXPECT_OK(fs_tokenizer_create(vocab, merges, special, &tok));
    if (tok) {
      FS_EXPECT(fs_tokenizer_token_id(tok, "<x>") == 257 && fs_tokenizer_token_id(tok, "</s>") == 258,
                "special ids %d %d", fs_tokenizer_token_id(tok, "<x>"), fs_tokenizer_token_id(tok, "</s>"));
      FS_EXPECT(fs_tokenizer_eod(tok) == 258, "eod %d", fs_tokenizer_eod(tok));
      ids[1] = 259;
      FS_EXPECT(fs_tokenizer_decode(tok, ids, 2, &text, NULL) != 0, "decoding id 259 not reported");
      ids[1] = -1;
      FS_EXPECT(fs_tokenizer_decode(tok, ids, 2, &text, NULL) != 0, "decoding id -1 not reported");
      free(text);
    }
    fs_tokenizer_destroy(&tok);
  }
  unlink(vocab);
  unlink(bad);
  unlink(merges);
  unlink(bad_merges);
  unlink(special);
  rmdir(dir);
}

static void hard_round_trips(struct fs_tokenizer *tok, const char *name)
{
  static const char *const texts[] = {
    "", " ", "Hello world", "  two  spaces\n\n\ttab \t\n", "I'm can't we'll they've DON'T",
    "caf\xc3\xa9 e\xcc\x81 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd 12345 3.14",
    "a</s>b<|endoftext|>c</s", "<|startofpiece|>[gMASK]<|endofpiece|>", "\xe1\xa0\x8e x \xe2\x80\x8b",
  };
  static const char invalid[] = "ok \xff\xfe bad \xc3 cut \xe4\xb8 half \x80 lone \xed\xa0\x80 surrogate";
  static const char with_nul[] = "a\0b \0\0 c";
  char *big = malloc(20001);
  for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) round_trip(tok, name, texts[i], strlen(texts[i]));
  round_trip(tok, name, invalid, sizeof invalid - 1);
  round_trip(tok, name, with_nul, sizeof with_nul - 1);
  for (int i = 0; i < 20000; i++) big[i] = " a1\n\xc3\xa9"[i % 6];
  round_trip(tok, name, big, 20000);
  memset(big, ' ', 20000);
  round_trip(tok, name, big, 20000);
  free(big);
}

int main(int argc, char **argv)
{
  struct fs_tokenizer *gpt2 = NULL, *aquila = NULL;
  struct fs_tokens t = {0};
  char dir[2300], env[2300];
  const char *top = getenv("top_srcdir");

  PetscInitialize(&argc, &argv, NULL, NULL);
  snprintf(srcdir, sizeof srcdir, "%s", top ? top : "..");
  PetscPushErrorHandler(PetscReturnErrorHandler, NULL); /* the failures below are expected: no tracebacks */

  /* GPT-2 by name through FLAGSCALE_DATA_DIR, Aquila by directory */
  snprintf(env, sizeof env, "%s/share/flagscale", srcdir);
  setenv("FLAGSCALE_DATA_DIR", env, 1);
  FS_EXPECT_OK(fs_tokenizer_create_named("gpt2", &gpt2));
  snprintf(dir, sizeof dir, "%s/share/flagscale/tokenizers/aquila", srcdir);
  FS_EXPECT_OK(fs_tokenizer_create_named(dir, &aquila));
  if (gpt2 && aquila) {
    const int32_t hello[] = {15496, 995}, eot[] = {50256};
    FS_EXPECT(fs_tokenizer_vocab_size(gpt2) == 50257, "gpt2 size %d", fs_tokenizer_vocab_size(gpt2));
    FS_EXPECT(fs_tokenizer_vocab_size(aquila) == 100008, "aquila size %d", fs_tokenizer_vocab_size(aquila));
    FS_EXPECT(fs_tokenizer_eod(gpt2) == 50256, "gpt2 eod %d", fs_tokenizer_eod(gpt2));
    FS_EXPECT(fs_tokenizer_eod(aquila) == 100007, "aquila eod %d", fs_tokenizer_eod(aquila));
    FS_EXPECT(fs_tokenizer_token_id(aquila, "<|startofpiece|>") == 100000, "<|startofpiece|>");
    FS_EXPECT(fs_tokenizer_token_id(aquila, "[CLS]") == 100006, "[CLS]");
    FS_EXPECT(fs_tokenizer_token_id(aquila, "</s>") == 100007, "</s>");
    FS_EXPECT(fs_tokenizer_token_id(gpt2, "</s>") == -1, "gpt2 has no </s>");
    FS_EXPECT(fs_tokenizer_token_id(gpt2, "\xc4\xa0the") == 262, "gpt2 \"Gthe\" %d",
              fs_tokenizer_token_id(gpt2, "\xc4\xa0the"));
    encode(gpt2, "Hello world", 11, &t);
    FS_EXPECT(ids_equal(&t, hello, 2), "gpt2 \"Hello world\": %" PetscInt64_FMT " ids", (PetscInt64)t.n);
    encode(gpt2, "<|endoftext|>", 13, &t);
    FS_EXPECT(ids_equal(&t, eot, 1), "gpt2 <|endoftext|> is not one special token");
    encode(aquila, "x</s></s>[MASK]]", 16, &t);
    FS_EXPECT(t.n >= 5 && t.ids[1] == 100007 && t.ids[2] == 100007 && t.ids[3] == 100003,
              "aquila specials not split out");
    encode(aquila, "", 0, &t);
    FS_EXPECT(t.n == 0, "empty text gave %" PetscInt64_FMT " ids", (PetscInt64)t.n);
    hard_round_trips(gpt2, "gpt2");
    hard_round_trips(aquila, "aquila");
  }
  {
    struct fs_tokenizer *none = NULL;
    FS_EXPECT(fs_tokenizer_create_named("no_such_tokenizer", &none) != 0 && !none, "unknown name not reported");
  }
  fs_tokens_free(&t);
  FS_EXPECT_OK(fs_tokenizer_destroy(&gpt2));
  FS_EXPECT_OK(fs_tokenizer_destroy(&aquila));
  FS_EXPECT(gpt2 == NULL && aquila == NULL, "destroy did not clear the handles");
  FS_EXPECT_OK(fs_tokenizer_destroy(&gpt2));
  bad_inputs();
  PetscPopErrorHandler();
  PetscFinalize();
  return fs_test_done("test_tokenizer");
}
