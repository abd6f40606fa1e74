/* tokenizer_bench.c -- tokens/s of fs_tokenizer_encode on a jsonl corpus, one thread.  Only the encoding is timed
 * (documents are read into memory first).  The first pass starts with an empty word cache, as a fresh process
 * would; the later passes show the warm cache.  Prints "ours <name> cold_tok_per_s=... warm_tok_per_s=...". */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "fs_app.h"
#include "fs_opt.h"
#include "fs_timer.h"
#include "fs_tokenizer.h"

struct doc {
  char *text;
  size_t n_bytes;
};

static PetscErrorCode read_docs(const char *path, struct doc **docs, int64_t *n)
{
  FILE *f = fopen(path, "rb");
  char *line = NULL;
  size_t cap = 0, n_cap = 256;
  ssize_t len;

  PetscFunctionBegin;
  FSCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open %s: %s", path, strerror(errno));
  *n = 0;
  FSMalloc(n_cap * sizeof **docs, docs);
  while ((len = getline(&line, &cap, f)) > 0) {
    json_error_t err;
    json_t *j = json_loadb(line, (size_t)len, JSON_ALLOW_NUL, &err), *v;
    FSCheck(j, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s line %" PRId64 ": %s", path, *n + 1, err.text);
    v = json_object_get(j, "text");
    FSCheck(json_is_string(v), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s line %" PRId64 ": no \"text\"", path,
            *n + 1);
    if ((size_t)*n == n_cap) {
      void *p = realloc(*docs, 2 * n_cap * sizeof **docs);
      FSCheck(p, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory");
      *docs = p;
      n_cap *= 2;
    }
    (*docs)[*n].n_bytes = json_string_length(v);
    FSMalloc((*docs)[*n].n_bytes + 1, &(*docs)[*n].text);
    memcpy((*docs)[*n].text, json_string_value(v), (*docs)[*n].n_bytes + 1);
    (*n)++;
    json_decref(j);
  }
  free(line);
  fclose(f);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode run(MPI_Comm comm, const char *app, const char *summary)
{
  char name[FS_OPT_STRLEN], input[FS_OPT_STRLEN];
  int64_t repeat, n_docs, n_tokens = 0;
  PetscBool stop;
  struct doc *docs;
  struct fs_tokenizer *tok = NULL;
  struct fs_tokens ids = {0};
  double cold = 0, warm = 1e30;
  size_t n_bytes = 0;

  PetscFunctionBegin;
  fs_opt_section("Tokenizer benchmark");
  PetscCall(fs_opt_string("-tokenizer", "gpt2", "bundled name (gpt2, aquila) or directory", name, NULL));
  PetscCall(fs_opt_string("-input", NULL, "jsonl corpus ({\"text\": ...} per line)", input, NULL));
  PetscCall(fs_opt_int("-repeat", 3, "passes over the corpus (the first one cold)", &repeat, NULL));
  PetscCall(fs_opt_finish(comm, app, summary, &stop));
  if (stop) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(read_docs(input, &docs, &n_docs));
  PetscCall(fs_tokenizer_create_named(name, &tok));
  for (int64_t r = 0; r < repeat; r++) {
    struct fs_timer t = {0};
    int64_t n = 0;
    fs_timer_start(&t);
    for (int64_t d = 0; d < n_docs; d++) {
      fs_tokens_clear(&ids);
      PetscCall(fs_tokenizer_encode(tok, docs[d].text, docs[d].n_bytes, &ids));
      n += ids.n;
    }
    fs_timer_stop(&t);
    if (r == 0) cold = t.total;
    else if (t.total < warm) warm = t.total;
    n_tokens = n;
  }
  for (int64_t d = 0; d < n_docs; d++) n_bytes += docs[d].n_bytes;
  while (strlen(name) > 1 && name[strlen(name) - 1] == '/') name[strlen(name) - 1] = 0;
  PetscCall(PetscPrintf(comm, "ours %s docs=%" PRId64 " bytes=%zu tokens=%" PRId64 " cold_s=%.3f cold_tok_per_s=%.0f "
                        "warm_tok_per_s=%.0f\n", strrchr(name, '/') ? strrchr(name, '/') + 1 : name, n_docs, n_bytes, n_tokens, cold, n_tokens / cold,
                        repeat > 1 ? n_tokens / warm : 0.0));
  for (int64_t d = 0; d < n_docs; d++) free(docs[d].text);
  free(docs);
  fs_tokens_free(&ids);
  PetscCall(fs_tokenizer_destroy(&tok));
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv)
{
  return fs_app_main(argc, argv, "tokenizer_bench", "tokens/s of the BPE tokenizer on a jsonl corpus", run);
}
