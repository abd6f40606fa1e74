/* fs_serve_fields.c -- reading request fields with clear 400 errors (name, expected type, range) */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fs_serve_http.h"

int fs_field_int(json_t *o, const char *key, int64_t def, int required, int64_t lo, int64_t hi, int64_t *v,
                 struct fs_reply *rep)
{
  json_t *x = json_object_get(o, key);
  if (!x || json_is_null(x)) {
    if (required) {
      fs_reply_error(rep, 400, "missing field \"%s\" (an integer)", key);
      return 1;
    }
    *v = def;
    return 0;
  }
  double r = json_is_integer(x) ? (double)json_integer_value(x) : json_is_real(x) ? json_real_value(x) : NAN;
  if (!isfinite(r) || r != floor(r)) {
    fs_reply_error(rep, 400, "field \"%s\" must be an integer", key);
    return 1;
  }
  if (r < (double)lo || r > (double)hi) {
    fs_reply_error(rep, 400, "field \"%s\" is %.0f: must be in [%lld, %lld]", key, r, (long long)lo, (long long)hi);
    return 1;
  }
  *v = json_is_integer(x) ? (int64_t)json_integer_value(x) : (int64_t)r;
  return 0;
}

int fs_field_real(json_t *o, const char *key, double def, double lo, double hi, double *v, struct fs_reply *rep)
{
  json_t *x = json_object_get(o, key);
  if (!x || json_is_null(x)) {
    *v = def;
    return 0;
  }
  if (!json_is_number(x)) {
    fs_reply_error(rep, 400, "field \"%s\" must be a number", key);
    return 1;
  }
  double r = json_number_value(x);
  if (!isfinite(r) || r < lo || r > hi) {
    fs_reply_error(rep, 400, "field \"%s\" is %g: must be in [%g, %g]", key, r, lo, hi);
    return 1;
  }
  *v = r;
  return 0;
}

int fs_field_bool(json_t *o, const char *key, int def, int *v, struct fs_reply *rep)
{
  json_t *x = json_object_get(o, key);
  if (!x || json_is_null(x)) {
    *v = def;
    return 0;
  }
  if (json_is_boolean(x)) *v = json_is_true(x);
  else if (json_is_integer(x) && (json_integer_value(x) == 0 || json_integer_value(x) == 1))
    *v = (int)json_integer_value(x);
  else {
    fs_reply_error(rep, 400, "field \"%s\" must be true or false", key);
    return 1;
  }
  return 0;
}

int fs_field_strings(json_t *o, const char *key, int required, const char ***items, int *n, struct fs_reply *rep)
{
  json_t *x = json_object_get(o, key);
  *items = NULL, *n = 0;
  if (!x || json_is_null(x)) {
    if (required) fs_reply_error(rep, 400, "missing field \"%s\" (a string or a list of strings)", key);
    return required;
  }
  size_t m = json_is_array(x) ? json_array_size(x) : 1;
  if (!(json_is_string(x) || json_is_array(x)) || m == 0 || m > 1024) {
    fs_reply_error(rep, 400, "field \"%s\" must be a string or a non-empty list of at most 1024 strings", key);
    return 1;
  }
  const char **it = calloc(m, sizeof *it);
  if (!it) {
    fs_reply_error(rep, 500, "out of memory");
    return 1;
  }
  for (size_t i = 0; i < m; i++) {
    json_t *e = json_is_array(x) ? json_array_get(x, i) : x;
    if (!json_is_string(e)) {
      free(it);
      fs_reply_error(rep, 400, "field \"%s\": item %zu is not a string", key, i);
      return 1;
    }
    it[i] = json_string_value(e);
  }
  *items = it, *n = (int)m;
  return 0;
}

int fs_job_add_stop(struct fs_serve_job *j, const char *stop)
{
  if (!stop || !stop[0]) return 0;
  char **t = realloc(j->stop, (size_t)(j->n_stop + 1) * sizeof *t);
  if (!t) return 1;
  j->stop = t;
  if (!(j->stop[j->n_stop] = strdup(stop))) return 1;
  j->n_stop++;
  return 0;
}

int fs_field_stop(json_t *o, const char *key, struct fs_serve_job *j, struct fs_reply *rep)
{
  const char **it;
  int n;
  if (fs_field_strings(o, key, 0, &it, &n, rep)) return 1;
  if (n > 16) {
    free(it);
    fs_reply_error(rep, 400, "field \"%s\": at most 16 stop strings", key);
    return 1;
  }
  for (int i = 0; i < n; i++)
    if (fs_job_add_stop(j, it[i])) {
      free(it);
      fs_reply_error(rep, 500, "out of memory");
      return 1;
    }
  free(it);
  return 0;
}

int fs_api_submit(struct fs_serve *s, struct fs_serve_job **jobs, int n, struct fs_reply *rep)
{
  int st = fs_serve_submit(s, jobs, n);
  if (st == 400)
    fs_reply_error(rep, 400, "the request has %d prompts (choices included); this server takes at most %d at once "
                   "(-max_queue)", n, s->max_queue);
  else if (st)
    fs_reply_error(rep, st, "the server is busy (%d prompts queued or running at most) or stopping: retry later",
                   s->max_queue);
  return st != 0;
}

int fs_api_run(struct fs_serve *s, struct fs_serve_job **jobs, int n, struct fs_reply *rep)
{
  if (fs_api_submit(s, jobs, n, rep)) return 1;
  int st = fs_serve_wait(s, jobs, n);
  if (st) {
    for (int i = 0; i < n; i++)
      if (jobs[i]->state == FS_JOB_FAILED) {
        fs_reply_error(rep, st, "prompt %d: %s", i, jobs[i]->err);
        break;
      }
    return 1;
  }
  return 0;
}

void fs_api_release(struct fs_serve *s, struct fs_serve_job **jobs, int n)
{
  if (!jobs) return;
  for (int i = 0; i < n; i++) fs_serve_job_release(s, jobs[i]);
  free(jobs);
}
