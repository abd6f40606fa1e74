/* fs_safetensors_model.c -- a Hugging Face checkpoint folder: one model.safetensors, or the shards named by
 * model.safetensors.index.json, searchable by tensor name across files (fs_safetensors.h) */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <jansson.h>
#include "fs_safetensors.h"

static int ends_with(const char *s, const char *suffix)
{
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && !strcmp(s + n - m, suffix);
}

static int is_dir(const char *p)
{
  struct stat sb;
  return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int is_file(const char *p)
{
  struct stat sb;
  return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int cmp_tensor_name(const void *a, const void *b)
{
  return strcmp((*(const struct fs_st_tensor *const *)a)->name, (*(const struct fs_st_tensor *const *)b)->name);
}

static PetscErrorCode add_file(struct fs_st_model *m, const char *path)
{
  PetscFunctionBegin;
  for (int i = 0; i < m->n_files; i++)
    if (!strcmp(m->files[i]->path, path)) PetscFunctionReturn(PETSC_SUCCESS);
  struct fs_safetensors **f = realloc(m->files, (size_t)(m->n_files + 1) * sizeof *f);
  FSCheck(f, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory");
  m->files = f;
  PetscCall(fs_safetensors_open(path, &m->files[m->n_files]));
  m->n_files++;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* opens every shard the index names and checks that each mapped tensor is where the index says */
static PetscErrorCode open_index(struct fs_st_model *m, const char *index_path)
{
  json_error_t jerr;
  json_t *root, *wm, *v;
  const char *k;
  char path[4096], msg[8192] = "";
  PetscErrorCode ierr = PETSC_SUCCESS;

  PetscFunctionBegin;
  root = json_load_file(index_path, JSON_REJECT_DUPLICATES, &jerr);
  FSCheck(root, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "safetensors index %s: %s (line %d, column %d)",
          index_path, jerr.text, jerr.line, jerr.column);
  wm = json_object_get(root, "weight_map");
  if (!json_is_object(wm)) {
    json_decref(root);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
            "safetensors index %s has no \"weight_map\" object {tensor name: file name}", index_path);
  }
  json_object_foreach(wm, k, v)
  {
    if (!json_is_string(v) || strchr(json_string_value(v), '/')) {
      snprintf(msg, sizeof msg, "safetensors index %s: weight_map[\"%s\"] must be a file name in the same folder",
               index_path, k);
      break;
    }
    snprintf(path, sizeof path, "%s/%s", m->dir, json_string_value(v));
    ierr = add_file(m, path);
    if (ierr) break;
  }
  /* second pass once all files are open: each name is in the file the index names */
  json_object_foreach(wm, k, v)
  {
    const struct fs_st_tensor *t = NULL;
    if (ierr || msg[0]) break;
    snprintf(path, sizeof path, "%s/%s", m->dir, json_string_value(v));
    for (int i = 0; i < m->n_files && !t; i++)
      if (!strcmp(m->files[i]->path, path)) ierr = fs_safetensors_find(m->files[i], k, &t);
    if (!t && !ierr) {
      snprintf(msg, sizeof msg,
               "safetensors index %s maps tensor '%s' to %s, which has no such tensor (incomplete download or a "
               "stale index?)",
               index_path, k, path);
      break;
    }
  }
  json_decref(root);
  PetscCall(ierr);
  FSCheck(!msg[0], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s", msg);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode open_folder(struct fs_st_model *m)
{
  char path[4096], found[4096] = "";
  int n_found = 0;
  DIR *d;
  struct dirent *e;

  PetscFunctionBegin;
  snprintf(path, sizeof path, "%s/%s", m->dir, FS_ST_INDEX_NAME);
  if (is_file(path)) PetscCall(open_index(m, path));
  else {
    snprintf(path, sizeof path, "%s/%s", m->dir, FS_ST_SINGLE_NAME);
    if (is_file(path)) PetscCall(add_file(m, path));
    else {
      d = opendir(m->dir);
      FSCheck(d, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open folder %s: %s", m->dir, strerror(errno));
      while ((e = readdir(d)))
        if (ends_with(e->d_name, ".safetensors")) {
          n_found++;
          snprintf(found, sizeof found, "%s/%s", m->dir, e->d_name);
        }
      closedir(d);
      FSCheck(n_found == 1, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN,
              "folder %s has no %s and %d *.safetensors files: give the index or one file (expected a Hugging Face "
              "checkpoint folder)",
              m->dir, FS_ST_INDEX_NAME, n_found);
      PetscCall(add_file(m, found));
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode open_model(struct fs_st_model *m, const char *path)
{
  int64_t k = 0;

  PetscFunctionBegin;
  if (is_dir(path)) {
    m->dir = strdup(path);
    PetscCall(open_folder(m));
  } else {
    const char *slash = strrchr(path, '/');
    m->dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
    if (ends_with(path, ".json")) PetscCall(open_index(m, path));
    else PetscCall(add_file(m, path));
  }
  for (int i = 0; i < m->n_files; i++) m->n_tensors += m->files[i]->n_tensors;
  FSCalloc((size_t)m->n_tensors * sizeof *m->sorted + 1, &m->sorted);
  for (int i = 0; i < m->n_files; i++)
    for (int j = 0; j < m->files[i]->n_tensors; j++) m->sorted[k++] = &m->files[i]->tensors[j];
  qsort(m->sorted, (size_t)m->n_tensors, sizeof *m->sorted, cmp_tensor_name);
  for (int64_t i = 1; i < m->n_tensors; i++)
    FSCheck(strcmp(m->sorted[i - 1]->name, m->sorted[i]->name), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
            "tensor '%s' is in both %s and %s: which one is meant?", m->sorted[i]->name, m->sorted[i - 1]->file,
            m->sorted[i]->file);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_st_model_open(const char *path, struct fs_st_model **out)
{
  struct fs_st_model *m;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  *out = NULL;
  FSCalloc(sizeof *m, &m);
  ierr = open_model(m, path);
  if (ierr) {
    PetscCall(fs_st_model_close(&m));
    PetscCall(ierr);
  }
  *out = m;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_st_model_close(struct fs_st_model **pm)
{
  struct fs_st_model *m = *pm;

  PetscFunctionBegin;
  if (!m) PetscFunctionReturn(PETSC_SUCCESS);
  for (int i = 0; i < m->n_files; i++) PetscCall(fs_safetensors_close(&m->files[i]));
  free(m->files);
  free(m->sorted);
  free(m->dir);
  free(m);
  *pm = NULL;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_st_model_find(const struct fs_st_model *m, const char *name, const struct fs_st_tensor **t)
{
  struct fs_st_tensor key = {.name = (char *)name};
  const struct fs_st_tensor *pkey = &key, *const *hit;

  PetscFunctionBegin;
  hit = bsearch(&pkey, m->sorted, (size_t)m->n_tensors, sizeof *m->sorted, cmp_tensor_name);
  *t = hit ? *hit : NULL;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_st_model_read_f32(const struct fs_st_model *m, const char *name, int64_t n_elem, float *out)
{
  const struct fs_st_tensor *t;
  char shp[256] = "";
  int len = 0;

  PetscFunctionBegin;
  PetscCall(fs_st_model_find(m, name, &t));
  FSCheck(t, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "checkpoint %s has no tensor '%s' (%" PRId64 " tensors in %d files)",
          m->dir, name, m->n_tensors, m->n_files);
  for (int d = 0; d < t->ndim; d++)
    len += snprintf(shp + len, sizeof shp - (size_t)len, "%s%" PRId64, d ? ", " : "", t->shape[d]);
  FSCheck(t->n_elem == n_elem, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ,
          "tensor '%s' in %s has shape [%s] = %" PRId64 " elements, but %" PRId64 " were expected (wrong model "
          "config for this checkpoint?)",
          name, t->file, shp, t->n_elem, n_elem);
  PetscCall(fs_safetensors_read_f32(t, out));
  PetscFunctionReturn(PETSC_SUCCESS);
}
