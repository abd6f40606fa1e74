/* fs_serve_util.c -- UTF-8 helpers for JSON output and streamed chunks */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "fs_serve.h"

/* length of the UTF-8 character starting with byte c (0: not a start byte) */
static size_t utf8_len(unsigned char c)
{
  return c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
}

size_t fs_utf8_sanitize(char *out, const char *in, size_t n)
{
  size_t o = 0;
  for (size_t i = 0; i < n;) {
    unsigned char c = (unsigned char)in[i];
    size_t len = utf8_len(c);
    int ok = len > 0 && i + len <= n && !(len == 2 && c < 0xC2);
    for (size_t k = 1; ok && k < len; k++) ok = ((unsigned char)in[i + k] & 0xC0) == 0x80;
    if (ok) memcpy(out + o, in + i, len), o += len, i += len;
    else memcpy(out + o, "\xEF\xBF\xBD", 3), o += 3, i++;
  }
  out[o] = 0;
  return o;
}

size_t fs_utf8_complete(const char *in, size_t n)
{
  /* look back at most 3 bytes for the start of a character that runs past the end */
  for (size_t back = 1; back <= 4 && back <= n; back++) {
    unsigned char c = (unsigned char)in[n - back];
    if ((c & 0xC0) == 0x80) continue; /* continuation byte */
    size_t len = utf8_len(c);
    return len > back ? n - back : n; /* cut an incomplete character; invalid bytes go out (sanitized) */
  }
  return n;
}

json_t *fs_json_text(const char *in, size_t n)
{
  char *clean = malloc(3 * n + 1);
  if (!clean) return NULL;
  size_t m = fs_utf8_sanitize(clean, in, n);
  json_t *s = json_stringn(clean, m);
  free(clean);
  return s;
}

double fs_serve_now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void fs_serve_timedwait(pthread_cond_t *c, pthread_mutex_t *m, double seconds)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += (time_t)seconds;
  ts.tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
  if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
  pthread_cond_timedwait(c, m, &ts);
}

json_t *fs_job_piece(const struct fs_serve_job *j, int64_t i)
{
  return fs_json_text(j->pieces + j->piece_off[i], j->piece_off[i + 1] - j->piece_off[i]);
}
