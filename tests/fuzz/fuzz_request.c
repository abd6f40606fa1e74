/* fuzz_request.c -- libFuzzer target over flagscale-serve's request handling without a socket or a model: the
 * input is "METHOD URL\n" then the body; fs_serve_route parses it (the double-encoded body, every endpoint's
 * fields, chat messages, stop strings) and builds the jobs, which a server whose queue holds nothing refuses with
 * 503 -- so every parse path and its clean-up run, and no engine is needed.  Built and run by `make fuzz`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fs_serve_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static struct fs_serve s;
  static int ready;
  if (!ready) {
    pthread_mutex_init(&s.lock, NULL);
    pthread_cond_init(&s.work, NULL);
    pthread_cond_init(&s.progress, NULL);
    snprintf(s.model_name, sizeof s.model_name, "fuzz");
    s.max_queue = 0; /* every submission is refused: parsing only */
    s.chat = FS_CHAT_CHATML;
    ready = 1;
  }
  /* "METHOD URL\n" (at most 255 bytes each) then the body */
  char method[256] = "POST", url[256] = "/batch_func";
  const uint8_t *nl = memchr(data, '\n', size);
  const char *body = (const char *)data;
  size_t n_body = size;
  if (nl) {
    size_t n_line = (size_t)(nl - data);
    const uint8_t *sp = memchr(data, ' ', n_line);
    if (sp) {
      size_t nm = (size_t)(sp - data), nu = n_line - nm - 1;
      if (nm < sizeof method && nu < sizeof url) {
        memcpy(method, data, nm), method[nm] = 0;
        memcpy(url, sp + 1, nu), url[nu] = 0;
        body = (const char *)nl + 1, n_body = size - n_line - 1;
      }
    }
  }
  struct fs_reply rep = {0};
  fs_serve_route(&s, method, url, body, n_body, &rep);
  if (!rep.body && !rep.stream) abort(); /* every request gets an answer */
  if (rep.status < 200 || rep.status > 599) abort();
  fs_stream_free(rep.stream);
  free(rep.body);
  return 0;
}
