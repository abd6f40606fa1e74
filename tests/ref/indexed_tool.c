/* indexed_tool.c -- the C side of indexed_ref.py:
 *   indexed_tool write PREFIX DTYPE < spec   spec: one line per sequence (ids separated by blanks; an empty line
 *                                            is an empty sequence) or "E" for a document end
 *   indexed_tool dump PREFIX                 prints "dtype n_seqs n_doc_idx", "doc_idx ...", then one line of ids
 *                                            per sequence, read through fs_indexed_get */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include "fs_indexed.h"

static PetscErrorCode write_spec(const char *prefix, int dtype)
{
  struct fs_indexed_writer *w;
  static char line[1 << 20];
  int32_t *ids;
  int64_t cap = 1 << 18;

  PetscFunctionBegin;
  FSMalloc(cap * sizeof *ids, &ids);
  PetscCall(fs_indexed_writer_create(prefix, dtype, &w));
  while (fgets(line, sizeof line, stdin)) {
    if (line[0] == 'E') {
      PetscCall(fs_indexed_writer_end_document(w));
      continue;
    }
    int64_t n = 0;
    char *p = line, *end;
    for (;;) {
      long v = strtol(p, &end, 10);
      if (end == p) break;
      FSCheck(n < cap, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "sequence too long for indexed_tool");
      ids[n++] = (int32_t)v;
      p = end;
    }
    PetscCall(fs_indexed_writer_add(w, ids, n));
  }
  PetscCall(fs_indexed_writer_finish(&w));
  free(ids);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode dump(const char *prefix)
{
  struct fs_indexed *ds;
  int32_t *ids = NULL;

  PetscFunctionBegin;
  PetscCall(fs_indexed_open(prefix, &ds));
  printf("%d %" PRId64 " %" PRId64 "\ndoc_idx", ds->dtype, ds->n_seqs, ds->n_doc_idx);
  for (int64_t i = 0; i < ds->n_doc_idx; i++) printf(" %" PRId64, ds->doc_idx[i]);
  printf("\n");
  for (int64_t i = 0; i < ds->n_seqs; i++) {
    ids = realloc(ids, ((size_t)ds->sizes[i] + 1) * sizeof *ids);
    PetscCall(fs_indexed_get(ds, i, 0, ds->sizes[i], ids));
    for (int32_t k = 0; k < ds->sizes[i]; k++) printf(k ? " %" PRId32 : "%" PRId32, ids[k]);
    printf("\n");
  }
  free(ids);
  PetscCall(fs_indexed_close(&ds));
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv)
{
  PetscErrorCode ierr;

  if (argc < 3 || (!strcmp(argv[1], "write") && argc < 4)) {
    fprintf(stderr, "usage: %s write PREFIX DTYPE < spec | %s dump PREFIX\n", argv[0], argv[0]);
    return 2;
  }
  PetscInitializeNoArguments();
  if (!strcmp(argv[1], "write")) ierr = write_spec(argv[2], atoi(argv[3]));
  else ierr = dump(argv[2]);
  PetscFinalize();
  return ierr ? 1 : 0;
}
