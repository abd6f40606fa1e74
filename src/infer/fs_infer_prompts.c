/* fs_infer_prompts.c -- the prompts file (format: fs_infer_prompts.h); errors name the file and line */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "fs_infer_prompts.h"

void fs_prompts_free(struct fs_prompt **p, int n)
{
  if (!*p) return;
  for (int i = 0; i < n; i++) {
    free((*p)[i].text);
    for (int j = 0; j < (*p)[i].n_stop; j++) free((*p)[i].stop[j]);
    free((*p)[i].stop);
  }
  FSFree(p);
}

static PetscErrorCode parse_line(json_t *o, const char *path, int64_t line, struct fs_prompt *p)
{
  json_t *v;

  PetscFunctionBegin;
  FSCheck(json_is_object(o) && json_is_string(json_object_get(o, "prompt")), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "%s:%lld: each line must be a JSON object with a string \"prompt\"", path, (long long)line);
  p->text = strdup(json_string_value(json_object_get(o, "prompt")));
  FSCheck(p->text, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory");
#define NUM(key, dst, conv) \
  if ((v = json_object_get(o, key))) { \
    FSCheck(json_is_number(v), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s:%lld: \"%s\" must be a number", \
            path, (long long)line, key); \
    dst = conv(json_number_value(v)); \
  }
  NUM("max_new_tokens", p->max_new_tokens, (int64_t));
  NUM("temperature", p->sampling.temperature, (double));
  NUM("top_k", p->sampling.top_k, (int));
  NUM("top_p", p->sampling.top_p, (double));
  NUM("seed", p->sampling.seed, (uint64_t));
#undef NUM
  FSCheck(p->max_new_tokens >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "%s:%lld: max_new_tokens must be >= 0 (0 = score the prompt)", path, (long long)line);
  PetscErrorCode ierr = fs_sampling_check(&p->sampling);
  FSCheck(!ierr, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s:%lld: bad sampling settings (see above)", path,
          (long long)line);
  if ((v = json_object_get(o, "stop"))) {
    json_t *list = json_is_string(v) ? json_pack("[O]", v) : json_incref(v);
    FSCheck(json_is_array(list), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
            "%s:%lld: \"stop\" must be a string or a list of strings", path, (long long)line);
    p->n_stop = 0;
    p->stop = calloc(json_array_size(list) + 1, sizeof *p->stop);
    FSCheck(p->stop, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory");
    for (size_t i = 0; i < json_array_size(list); i++) {
      const char *s = json_string_value(json_array_get(list, i));
      FSCheck(s && s[0], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s:%lld: \"stop\" entries must be non-empty "
              "strings", path, (long long)line);
      p->stop[p->n_stop++] = strdup(s);
    }
    json_decref(list);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_prompts_read(const char *path, const struct fs_prompt *def, struct fs_prompt **out, int *n_out)
{
  FILE *f;
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  int n = 0, nalloc = 0;
  int64_t lineno = 0;
  struct fs_prompt *p = NULL;

  PetscFunctionBegin;
  *out = NULL, *n_out = 0;
  f = fopen(path, "r");
  FSCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open the prompts file %s: %s", path, strerror(errno));
  while ((len = getline(&line, &cap, f)) >= 0) {
    lineno++;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ')) line[--len] = 0;
    if (!len) continue;
    json_error_t err;
    json_t *o = json_loads(line, 0, &err);
    PetscErrorCode ierr = PETSC_SUCCESS;
    if (n == nalloc) {
      nalloc = nalloc ? 2 * nalloc : 16;
      struct fs_prompt *q = realloc(p, (size_t)nalloc * sizeof *q);
      if (!q) ierr = PETSC_ERR_MEM;
      else p = q;
    }
    if (!ierr && o) {
      p[n] = *def;
      p[n].text = NULL, p[n].stop = NULL, p[n].n_stop = 0;
      ierr = parse_line(o, path, lineno, &p[n]);
      n++;
    }
    json_decref(o);
    if (!o || ierr) {
      fclose(f);
      free(line);
      fs_prompts_free(&p, n);
      FSCheck(o, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s:%lld: not valid JSON: %s (column %d)", path,
              (long long)lineno, err.text, err.column);
      PetscCall(ierr);
    }
  }
  fclose(f);
  free(line);
  FSCheck(n > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "the prompts file %s has no prompt", path);
  *out = p, *n_out = n;
  PetscFunctionReturn(PETSC_SUCCESS);
}
