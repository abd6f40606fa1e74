/* tokenizer_tool.c -- encodes each line of a jsonl file ({"text": ...}) and writes its ids, space-separated, one
 * line per document, for tests/unit/test_tokenizer_hf.sh to compare with Hugging Face tokenizers.  Checks
 * decode(encode(x)) == x on every document and fails otherwise. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "fs_app.h"
#include "fs_opt.h"
#include "fs_tokenizer.h"

static PetscErrorCode write_ids(FILE *f, const struct fs_tokens *t)
{
  PetscFunctionBegin;
  for (int64_t i = 0; i < t->n; i++) FSCallSys(fprintf(f, i ? " %d" : "%d", (int)t->ids[i]), "writing ids");
  FSCallSys(fputc('\n', f) == EOF ? -1 : 0, "writing ids");
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode run(MPI_Comm comm, const char *app, const char *summary)
{
  char vocab[FS_OPT_STRLEN], merges[FS_OPT_STRLEN], special[FS_OPT_STRLEN], input[FS_OPT_STRLEN],
    output[FS_OPT_STRLEN], key[FS_OPT_STRLEN];
  PetscBool has_special, stop;
  struct fs_tokenizer *tok = NULL;
  struct fs_tokens ids = {0};
  FILE *in, *out;
  char *line = NULL, *back;
  size_t cap = 0, n_back;
  ssize_t len;
  int64_t line_no = 0, n_tokens = 0;

  PetscFunctionBegin;
  fs_opt_section("Tokenizer tool");
  PetscCall(fs_opt_string("-vocab_file", NULL, "vocab.json", vocab, NULL));
  PetscCall(fs_opt_string("-merge_file", NULL, "merges.txt", merges, NULL));
  PetscCall(fs_opt_string("-special_tokens_file", NULL, "special_tokens.txt (Aquila)", special, &has_special));
  PetscCall(fs_opt_string("-input", NULL, "jsonl input", input, NULL));
  PetscCall(fs_opt_string("-output", NULL, "ids output, one line per document", output, NULL));
  PetscCall(fs_opt_string("-json_key", "text", "the document's field", key, NULL));
  PetscCall(fs_opt_finish(comm, app, summary, &stop));
  if (stop) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(fs_tokenizer_create(vocab, merges, has_special ? special : NULL, &tok));
  in = fopen(input, "rb");
  FSCheck(in, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open %s: %s", input, strerror(errno));
  out = fopen(output, "wb");
  FSCheck(out, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot create %s: %s", output, strerror(errno));
  while ((len = getline(&line, &cap, in)) > 0) {
    json_error_t err;
    json_t *doc, *v;
    line_no++;
    doc = json_loadb(line, (size_t)len, JSON_ALLOW_NUL, &err);
    FSCheck(doc, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s:%" PRId64 ": %s", input, line_no, err.text);
    v = json_object_get(doc, key);
    FSCheck(json_is_string(v), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s:%" PRId64 ": no string \"%s\"",
            input, line_no, key);
    fs_tokens_clear(&ids);
    PetscCall(fs_tokenizer_encode(tok, json_string_value(v), json_string_length(v), &ids));
    PetscCall(fs_tokenizer_decode(tok, ids.ids, ids.n, &back, &n_back));
    FSCheck(n_back == json_string_length(v) && !memcmp(back, json_string_value(v), n_back), PETSC_COMM_SELF,
            PETSC_ERR_PLIB, "%s:%" PRId64 ": decode(encode(text)) differs from the text", input, line_no);
    free(back);
    json_decref(doc);
    PetscCall(write_ids(out, &ids));
    n_tokens += ids.n;
  }
  free(line);
  fclose(in);
  FSCheck(fclose(out) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write %s", output);
  PetscCall(PetscPrintf(comm, "%s: %" PRId64 " documents, %" PRId64 " tokens, round trip exact\n", app, line_no,
                        n_tokens));
  fs_tokens_free(&ids);
  PetscCall(fs_tokenizer_destroy(&tok));
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv)
{
  return fs_app_main(argc, argv, "tokenizer_tool", "jsonl -> token ids, one line per document", run);
}
