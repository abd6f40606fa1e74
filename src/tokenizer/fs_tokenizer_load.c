/* fs_tokenizer_load.c -- builds a tokenizer from vocab.json, merges.txt and special_tokens.txt with the rules of
 * Hugging Face tokenizers (BPE.from_file + add_special_tokens), so that our ids equal theirs:
 *   - merges: an optional "#version" line, then "left right" per line; rank = position; a repeated pair keeps
 *     its last rank (HF collects them into a hash map);
 *   - a special already in the vocabulary keeps its id; the others get ids max_id+1, ... in file order. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <jansson.h>
#include "fs_tok_impl.h"

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68 bytes get code points
 * 256.. in byte order, so that every byte is a visible character in vocab.json. */
static int byte_to_cp[256];
static int cp_to_byte[256 + 68];
static pthread_once_t byte_tables_once = PTHREAD_ONCE_INIT; /* tokenizers may be created on several threads */

static void byte_tables(void)
{
  int n = 0;
  for (int b = 0; b < 256; b++) {
    int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    byte_to_cp[b] = printable ? b : 256 + n++;
  }
  for (int c = 0; c < 256 + 68; c++) cp_to_byte[c] = -1;
  for (int b = 0; b < 256; b++) cp_to_byte[byte_to_cp[b]] = b;
}

/* the raw bytes a vocab spelling stands for: as HF's ByteLevel decoder, a token with any character outside the
 * byte alphabet is taken as its own UTF-8 bytes.  out needs n_bytes bytes; returns the length. */
static size_t spelling_to_bytes(const char *s, size_t n_bytes, char *out)
{
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0, k = 0;
  while (i < n_bytes) {
    int cp = -1;
    if (p[i] < 0x80) cp = p[i], i += 1;
    else if ((p[i] & 0xE0) == 0xC0 && i + 1 < n_bytes) cp = (p[i] & 0x1F) << 6 | (p[i + 1] & 0x3F), i += 2;
    if (cp < 0 || cp >= 256 + 68 || cp_to_byte[cp] < 0) {
      memcpy(out, s, n_bytes);
      return n_bytes;
    }
    out[k++] = (char)cp_to_byte[cp];
  }
  return k;
}

static size_t byte_spelling(int b, char out[2])
{
  int cp = byte_to_cp[b];
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  out[0] = (char)(0xC0 | cp >> 6);
  out[1] = (char)(0x80 | (cp & 0x3F));
  return 2;
}

/* whole file into a NUL-terminated buffer */
static PetscErrorCode read_text_file(const char *path, const char *role, char **text, size_t *n_bytes)
{
  FILE *f;
  struct stat st;
  char what[FILENAME_MAX + 128];

  PetscFunctionBegin;
  snprintf(what, sizeof what, "cannot read the tokenizer %s file '%s'", role, path);
  f = fopen(path, "rb");
  FSCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "%s: %s (check the path; the bundled tokenizers are in %s/tokenizers)",
          what, strerror(errno), FS_DATADIR);
  if (fstat(fileno(f), &st) < 0) {
    fclose(f);
    FSCallSys(-1, what);
  }
  *n_bytes = (size_t)st.st_size;
  *text = malloc(*n_bytes + 1);
  if (!*text) fclose(f);
  FSCheck(*text, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory reading %s (%zu bytes)", path, *n_bytes);
  if (fread(*text, 1, *n_bytes, f) != *n_bytes) {
    fclose(f);
    FSFree(text);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: short read", what);
  }
  fclose(f);
  (*text)[*n_bytes] = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* the next line of text[*pos..n) without its "\n" or "\r\n"; returns 0 at the end */
static int next_line(const char *text, size_t n, size_t *pos, const char **line, size_t *len)
{
  const char *nl;
  if (*pos >= n) return 0;
  *line = text + *pos;
  nl = memchr(*line, '\n', n - *pos);
  *len = nl ? (size_t)(nl - *line) : n - *pos;
  *pos += *len + (nl != NULL);
  if (*len && (*line)[*len - 1] == '\r') (*len)--;
  return 1;
}

static PetscErrorCode read_specials(const char *path, struct fs_tokenizer *tok)
{
  char *text;
  size_t n, pos = 0, len;
  const char *line;
  int cap = 8;

  PetscFunctionBegin;
  PetscCall(read_text_file(path, "special-tokens", &text, &n));
  FSMalloc(cap * sizeof *tok->specials, &tok->specials);
  while (next_line(text, n, &pos, &line, &len)) {
    int dup = 0;
    if (!len) continue;
    for (int i = 0; i < tok->n_specials; i++)
      if (tok->specials[i].n_bytes == len && !memcmp(tok->specials[i].text, line, len)) dup = 1;
    if (dup) continue; /* HF ignores a token added twice */
    if (tok->n_specials == cap) {
      void *p = realloc(tok->specials, 2 * cap * sizeof *tok->specials);
      FSCheck(p, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory reading %s", path);
      tok->specials = p;
      cap *= 2;
    }
    FSMalloc(len + 1, &tok->specials[tok->n_specials].text);
    memcpy(tok->specials[tok->n_specials].text, line, len);
    tok->specials[tok->n_specials].text[len] = 0;
    tok->specials[tok->n_specials].n_bytes = len;
    tok->specials[tok->n_specials].id = -1;
    tok->n_specials++;
  }
  free(text);
  FSCheck(tok->n_specials > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "special-tokens file '%s' has no tokens (expected one token per line)", path);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode read_vocab(const char *path, struct fs_tokenizer *tok, int32_t *max_id)
{
  json_t *root, *value;
  json_error_t err;
  const char *key;

  PetscFunctionBegin;
  root = json_load_file(path, 0, &err);
  FSCheck(root, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "cannot read the vocabulary '%s': line %d column %d: %s (expected a JSON object {\"token\": id, ...} as "
          "Hugging Face's vocab.json)", path, err.line, err.column, err.text);
  if (!json_is_object(root) || json_object_size(root) == 0) {
    json_decref(root);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
            "vocabulary '%s' is not a non-empty JSON object {\"token\": id, ...}", path);
  }
  PetscCall(fs_tok_strmap_init(&tok->vocab, json_object_size(root)));
  *max_id = -1;
  json_object_foreach(root, key, value) {
    json_int_t id = json_is_integer(value) ? json_integer_value(value) : -1;
    size_t len = strlen(key);
    uint64_t h = fs_tok_hash(key, len);
    if (id < 0 || id >= INT32_MAX / 2) {
      char shown[96];
      snprintf(shown, sizeof shown, "%s", key); /* key dies with root */
      json_decref(root);
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
              "vocabulary '%s': the id of token \"%s\" is not an integer in [0, 2^30)", path, shown);
    }
    PetscCall(fs_tok_strmap_add(&tok->vocab, key, len, h, (uint32_t)id, 0));
    if (id > *max_id) *max_id = (int32_t)id;
  }
  json_decref(root);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode vocab_id(const struct fs_tokenizer *tok, const char *s, size_t n, int32_t *id)
{
  const struct fs_tok_slot *slot = fs_tok_strmap_find(&tok->vocab, s, n, fs_tok_hash(s, n));
  PetscFunctionBegin;
  *id = slot ? (int32_t)slot->a : -1;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* id -> raw bytes for every vocab entry and special; an id given twice is an error */
static PetscErrorCode build_decoder(const char *vocab_path, struct fs_tokenizer *tok)
{
  size_t pool_n = 0, pool_cap = tok->vocab.pool_n + 1;
  const struct fs_tok_strmap *v = &tok->vocab;

  PetscFunctionBegin;
  for (int i = 0; i < tok->n_specials; i++) pool_cap += tok->specials[i].n_bytes;
  FSMalloc(pool_cap, &tok->dec_pool);
  FSMalloc(tok->n_ids * sizeof *tok->dec_off, &tok->dec_off);
  FSMalloc(tok->n_ids * sizeof *tok->dec_len, &tok->dec_len);
  for (int32_t i = 0; i < tok->n_ids; i++) tok->dec_len[i] = UINT32_MAX;
  for (size_t i = 0; i < v->cap; i++) {
    const struct fs_tok_slot *s = &v->slots[i];
    if (!s->hash) continue;
    FSCheck(tok->dec_len[s->a] == UINT32_MAX, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
            "vocabulary '%s': id %u is given to two tokens (\"%.*s\" and another)", vocab_path, s->a,
            (int)s->key_len, v->pool + s->key_off);
    tok->dec_off[s->a] = (uint32_t)pool_n;
    tok->dec_len[s->a] = (uint32_t)spelling_to_bytes(v->pool + s->key_off, s->key_len, tok->dec_pool + pool_n);
    pool_n += tok->dec_len[s->a];
  }
  for (int i = 0; i < tok->n_specials; i++) { /* a special decodes to its text even when it reuses a vocab id */
    tok->dec_off[tok->specials[i].id] = (uint32_t)pool_n;
    tok->dec_len[tok->specials[i].id] = (uint32_t)tok->specials[i].n_bytes;
    memcpy(tok->dec_pool + pool_n, tok->specials[i].text, tok->specials[i].n_bytes);
    pool_n += tok->specials[i].n_bytes;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode merges_add(struct fs_tok_merges *m, uint64_t key, uint32_t rank, int32_t id)
{
  size_t mask = m->cap - 1, i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & mask;

  PetscFunctionBegin;
  FSCheck(2 * (m->n + 1) <= m->cap, PETSC_COMM_SELF, PETSC_ERR_PLIB, "merge table full");
  for (;; i = (i + 1) & mask) {
    if (m->slots[i].key == key) break; /* a repeated pair: the last rank wins, as in HF */
    if (m->slots[i].key == UINT64_MAX) {
      m->n++;
      break;
    }
  }
  m->slots[i].key = key;
  m->slots[i].rank = rank;
  m->slots[i].id = id;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode read_merges(const char *path, struct fs_tokenizer *tok)
{
  char *text, *joined = NULL, shown[96]; /* the bad line, for the message */
  size_t n, pos = 0, len, n_lines = 0, joined_cap = 0;
  const char *line;
  uint32_t rank = 0;
  int64_t line_no = 0;

  PetscFunctionBegin;
  PetscCall(read_text_file(path, "merges", &text, &n));
  for (size_t i = 0; i < n; i++) n_lines += text[i] == '\n';
  tok->merges.cap = 64;
  while (tok->merges.cap < 2 * (n_lines + 1)) tok->merges.cap *= 2;
  FSMalloc(tok->merges.cap * sizeof *tok->merges.slots, &tok->merges.slots);
  memset(tok->merges.slots, 0xFF, tok->merges.cap * sizeof *tok->merges.slots);
  while (next_line(text, n, &pos, &line, &len)) {
    const char *sp;
    int32_t a, b, c;
    line_no++;
    if (len >= 8 && !memcmp(line, "#version", 8)) continue;
    sp = memchr(line, ' ', len);
    if (!sp || sp == line || sp == line + len - 1 || memchr(sp + 1, ' ', (size_t)(line + len - sp - 1))) {
      snprintf(shown, sizeof shown, "%.*s", (int)len, line);
      free(text);
      free(joined);
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
              "merges file '%s' line %" PetscInt64_FMT ": expected two tokens separated by one space, got \"%s\"",
              path, line_no, shown);
    }
    if (len + 1 > joined_cap) {
      free(joined);
      joined_cap = 2 * len + 16;
      FSMalloc(joined_cap, &joined);
    }
    PetscCall(vocab_id(tok, line, (size_t)(sp - line), &a));
    PetscCall(vocab_id(tok, sp + 1, (size_t)(line + len - sp - 1), &b));
    memcpy(joined, line, (size_t)(sp - line));
    memcpy(joined + (sp - line), sp + 1, (size_t)(line + len - sp - 1));
    PetscCall(vocab_id(tok, joined, len - 1, &c));
    if (a < 0 || b < 0 || c < 0) {
      snprintf(shown, sizeof shown, "%.*s", (int)len, line);
      free(text);
      free(joined);
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
              "merges file '%s' line %" PetscInt64_FMT ": \"%s\" uses a token missing from the vocabulary (are "
              "vocab.json and merges.txt from the same tokenizer?)", path, line_no, shown);
    }
    PetscCall(merges_add(&tok->merges, fs_tok_pair_key(a, b), rank++, c));
  }
  free(text);
  free(joined);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode load(const char *vocab_file, const char *merge_file, const char *special_tokens_file,
                           struct fs_tokenizer *tok)
{
  int32_t max_id;

  PetscFunctionBegin;
  tok->eod = -1;
  if (special_tokens_file) PetscCall(read_specials(special_tokens_file, tok));
  PetscCall(read_vocab(vocab_file, tok, &max_id));
  tok->n_ids = max_id + 1;
  /* Byte-level start symbols.  Some vocabularies (e.g. SmolLM2's) leave out a few control bytes; like Hugging
   * Face's BPE without an unknown token, such bytes are dropped when encoding (byte_id -1). */
  int n_bytes_found = 0;
  for (int b = 0; b < 256; b++) {
    char s[2];
    size_t n = byte_spelling(b, s);
    PetscCall(vocab_id(tok, s, n, &tok->byte_id[b]));
    n_bytes_found += tok->byte_id[b] >= 0;
  }
  FSCheck(n_bytes_found >= 128, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "vocabulary '%s' has only %d of the 256 byte-level tokens: not a byte-level BPE vocabulary", vocab_file,
          n_bytes_found);
  if (!special_tokens_file) { /* GPT-2: <|endoftext|> is its one special token, as in HF's gpt2 tokenizer */
    int32_t id;
    PetscCall(vocab_id(tok, "<|endoftext|>", 13, &id));
    if (id >= 0) {
      FSMalloc(sizeof *tok->specials, &tok->specials);
      FSMalloc(14, &tok->specials[0].text);
      memcpy(tok->specials[0].text, "<|endoftext|>", 14);
      tok->specials[0].n_bytes = 13;
      tok->n_specials = 1;
      tok->specials[0].id = -1;
    }
  }
  for (int i = 0; i < tok->n_specials; i++) {
    struct fs_tok_special *s = &tok->specials[i];
    PetscCall(vocab_id(tok, s->text, s->n_bytes, &s->id));
    if (s->id < 0) s->id = tok->n_ids++;
    tok->first_byte[(unsigned char)s->text[0]] = 1;
  }
  for (int i = 0; i < tok->n_specials; i++)
    if (!strcmp(tok->specials[i].text, "</s>")) tok->eod = tok->specials[i].id;
  for (int i = 0; i < tok->n_specials && tok->eod < 0; i++)
    if (!strcmp(tok->specials[i].text, "<|endoftext|>")) tok->eod = tok->specials[i].id;
  PetscCall(build_decoder(vocab_file, tok));
  PetscCall(read_merges(merge_file, tok));
  PetscCall(fs_tok_strmap_init(&tok->cache, 1 << 14));
  PetscCall(fs_tok_regex_create(tok));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_tokenizer_create(const char *vocab_file, const char *merge_file, const char *special_tokens_file,
                                   struct fs_tokenizer **tok_out)
{
  struct fs_tokenizer *tok;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  FSCheck(vocab_file && merge_file && tok_out, PETSC_COMM_SELF, PETSC_ERR_ARG_NULL,
          "fs_tokenizer_create needs a vocab.json and a merges.txt path");
  *tok_out = NULL;
  pthread_once(&byte_tables_once, byte_tables);
  FSCalloc(sizeof *tok, &tok);
  ierr = load(vocab_file, merge_file, special_tokens_file, tok);
  if (ierr) PetscCall(fs_tokenizer_destroy(&tok)); /* a half-built object is freed, *tok_out stays NULL */
  PetscCall(ierr);
  *tok_out = tok;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_tokenizer_destroy(struct fs_tokenizer **tok_p)
{
  struct fs_tokenizer *tok;

  PetscFunctionBegin;
  if (!tok_p || !*tok_p) PetscFunctionReturn(PETSC_SUCCESS);
  tok = *tok_p;
  fs_tok_strmap_free(&tok->vocab);
  fs_tok_strmap_free(&tok->cache);
  free(tok->merges.slots);
  free(tok->dec_off);
  free(tok->dec_len);
  free(tok->dec_pool);
  for (int i = 0; i < tok->n_specials; i++) free(tok->specials[i].text);
  free(tok->specials);
  if (tok->md) pcre2_match_data_free(tok->md);
  if (tok->mctx) pcre2_match_context_free(tok->mctx);
  if (tok->jit_stack) pcre2_jit_stack_free(tok->jit_stack);
  if (tok->re) pcre2_code_free(tok->re);
  free(tok->cache_ids);
  free(tok->syms);
  free(tok->heap);
  FSFree(tok_p);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode file_exists(const char *path, PetscBool *yes)
{
  struct stat st;
  PetscFunctionBegin;
  *yes = stat(path, &st) == 0 ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_tokenizer_create_from_dir(const char *dir, struct fs_tokenizer **tok)
{
  char vocab[FILENAME_MAX], merges[FILENAME_MAX], special[FILENAME_MAX];
  PetscBool has_special;

  PetscFunctionBegin;
  FSCheck(dir, PETSC_COMM_SELF, PETSC_ERR_ARG_NULL, "fs_tokenizer_create_from_dir needs a directory");
  snprintf(vocab, sizeof vocab, "%s/vocab.json", dir);
  snprintf(merges, sizeof merges, "%s/merges.txt", dir);
  snprintf(special, sizeof special, "%s/special_tokens.txt", dir);
  PetscCall(file_exists(special, &has_special));
  PetscCall(fs_tokenizer_create(vocab, merges, has_special ? special : NULL, tok));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_tokenizer_create_named(const char *name, struct fs_tokenizer **tok)
{
  char dir[FILENAME_MAX];
  const char *base = getenv("FLAGSCALE_DATA_DIR");

  PetscFunctionBegin;
  FSCheck(name && *name, PETSC_COMM_SELF, PETSC_ERR_ARG_NULL, "fs_tokenizer_create_named needs a name or directory");
  if (strchr(name, '/')) PetscCall(fs_tokenizer_create_from_dir(name, tok));
  else {
    snprintf(dir, sizeof dir, "%s/tokenizers/%s", base && *base ? base : FS_DATADIR, name);
    PetscCall(fs_tokenizer_create_from_dir(dir, tok));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
