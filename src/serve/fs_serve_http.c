/* fs_serve_http.c -- libmicrohttpd: one thread per connection, request bodies gathered, routed to the endpoints,
 * replies as JSON bodies or streams (chunked transfer) */
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include "fs_serve_app.h"
#include "fs_serve_http.h"

#define FS_MAX_BODY ((size_t)16 << 20)

void fs_reply_json(struct fs_reply *rep, int status, json_t *o)
{
  rep->status = status;
  rep->ctype = "application/json";
  rep->body = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
  json_decref(o);
  if (!rep->body) { /* out of memory */
    rep->status = 500;
    rep->body = strdup("{\"error\":{\"message\":\"cannot format the reply\",\"type\":\"server_error\"}}");
  }
  rep->n_body = rep->body ? strlen(rep->body) : 0;
}

void fs_reply_error(struct fs_reply *rep, int status, const char *fmt, ...)
{
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  free(rep->body);
  const char *type = status == 503 ? "overloaded" : status >= 500 ? "server_error" : status == 404 ? "not_found"
                                                                                                   : "invalid_request_error";
  json_t *o = json_pack("{s:{s:s%,s:s,s:i}}", "error", "message", msg, strlen(msg), "type", type, "code", status);
  if (!o) o = json_pack("{s:{s:s,s:s,s:i}}", "error", "message", "(message not valid UTF-8)", "type", type, "code",
                        status);
  fs_reply_json(rep, status, o);
}

static enum fs_serve_endpoint endpoint_of(const char *url)
{
  static const struct {
    const char *path;
    enum fs_serve_endpoint ep;
  } t[] = {{"/batch_func", FS_EP_BATCH},         {"/stream_func", FS_EP_STREAM}, {"/api", FS_EP_API},
           {"/v1/completions", FS_EP_COMPLETIONS}, {"/v1/chat/completions", FS_EP_CHAT},
           {"/v1/models", FS_EP_MODELS},         {"/health", FS_EP_HEALTH},    {"/metrics", FS_EP_METRICS}};
  size_t n = strlen(url);
  while (n > 1 && url[n - 1] == '/') n--; /* "/health/" is "/health" */
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (strlen(t[i].path) == n && !strncmp(t[i].path, url, n)) return t[i].ep;
  return FS_EP_OTHER;
}

/* the request object: a JSON object, or a JSON string that holds one (the original's clients encode twice) */
static json_t *parse_body(const char *body, size_t n, struct fs_reply *rep)
{
  json_error_t e;
  if (!n) {
    fs_reply_error(rep, 400, "the request has no body: send a JSON object");
    return NULL;
  }
  json_t *o = json_loadb(body, n, JSON_DECODE_ANY, &e);
  if (!o) {
    fs_reply_error(rep, 400, "malformed JSON in the request body, line %d column %d: %s", e.line, e.column, e.text);
    return NULL;
  }
  if (json_is_string(o)) {
    json_t *inner = json_loadb(json_string_value(o), json_string_length(o), 0, &e);
    json_decref(o);
    if (!inner) {
      fs_reply_error(rep, 400, "the body is a JSON string, but its content is not a JSON object (line %d column "
                     "%d: %s)", e.line, e.column, e.text);
      return NULL;
    }
    o = inner;
  }
  if (!json_is_object(o)) {
    json_decref(o);
    fs_reply_error(rep, 400, "the request body must be a JSON object (or a JSON string holding one)");
    return NULL;
  }
  return o;
}

void fs_serve_route(struct fs_serve *s, const char *method, const char *url, const char *body, size_t n_body,
                    struct fs_reply *rep)
{
  enum fs_serve_endpoint ep = endpoint_of(url);
  int get = !strcmp(method, "GET") || !strcmp(method, "HEAD"), post = !strcmp(method, "POST");
  int put = !strcmp(method, "PUT");
  rep->ep = ep;
  pthread_mutex_lock(&s->lock);
  s->requests[ep]++;
  pthread_mutex_unlock(&s->lock);
  switch (ep) {
  case FS_EP_HEALTH:
  case FS_EP_METRICS:
  case FS_EP_MODELS:
    if (!get) {
      fs_reply_error(rep, 405, "%s takes GET", url);
      return;
    }
    if (ep == FS_EP_METRICS) fs_api_metrics(s, rep);
    else if (ep == FS_EP_MODELS) fs_api_models(s, rep);
    else {
      pthread_mutex_lock(&s->lock);
      int dead = s->engine_dead, stopping = s->stopping;
      pthread_mutex_unlock(&s->lock);
      json_t *o = json_pack("{s:s,s:s}", "status", dead ? "engine failed" : stopping ? "stopping" : "ok", "model",
                            s->model_name);
      fs_reply_json(rep, dead || stopping ? 503 : 200, o);
    }
    return;
  case FS_EP_OTHER:
    fs_reply_error(rep, 404, "no such path: %s %s (try POST /batch_func, /stream_func, /v1/completions, "
                   "/v1/chat/completions, PUT /api, GET /health, /metrics, /v1/models)", method, url);
    return;
  default: break;
  }
  if (!(post || (put && ep == FS_EP_API))) {
    fs_reply_error(rep, 405, "%s takes %s", url, ep == FS_EP_API ? "PUT" : "POST");
    return;
  }
  json_t *req = parse_body(body, n_body, rep);
  if (!req) return;
  switch (ep) {
  case FS_EP_BATCH: fs_api_batch(s, req, rep); break;
  case FS_EP_STREAM: fs_api_stream(s, req, rep); break;
  case FS_EP_API: fs_api_megatron(s, req, rep); break;
  case FS_EP_COMPLETIONS: fs_api_completions(s, req, rep, 0); break;
  case FS_EP_CHAT: fs_api_completions(s, req, rep, 1); break;
  default: fs_reply_error(rep, 500, "unrouted endpoint");
  }
  json_decref(req);
}

/* ---- libmicrohttpd */
static __thread int t_client_fd = -1;

void fs_serve_set_client(int fd) { t_client_fd = fd; }

/* end of stream or an error on the socket; data (a pipelined request) or nothing yet is not "gone" */
int fs_serve_client_gone(void)
{
  char b;
  if (t_client_fd < 0) return 0;
  ssize_t n = recv(t_client_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}


struct conn {
  char *body;
  size_t n, cap;
  int too_big;
};

static ssize_t stream_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
  ssize_t n = fs_stream_read(cls, buf, max);
  return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : n;
}

static void stream_free_cb(void *cls) { fs_stream_free(cls); }

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *n_upload, void **con_cls)
{
  struct fs_serve *s = cls;
  struct conn *cc = *con_cls;
  if (!cc) {
    cc = calloc(1, sizeof *cc);
    if (!cc) return MHD_NO;
    *con_cls = cc;
    pthread_mutex_lock(&s->lock);
    s->n_http_active++; /* until on_completed: shutdown waits for it */
    pthread_mutex_unlock(&s->lock);
    return MHD_YES;
  }
  if (*n_upload) {
    if (cc->n + *n_upload > FS_MAX_BODY) cc->too_big = 1;
    if (!cc->too_big && cc->n + *n_upload + 1 > cc->cap) {
      size_t cap = 2 * (cc->n + *n_upload) + 1024;
      char *t = realloc(cc->body, cap);
      if (t) cc->body = t, cc->cap = cap;
      else cc->too_big = 1;
    }
    if (!cc->too_big) memcpy(cc->body + cc->n, upload, *n_upload), cc->n += *n_upload;
    *n_upload = 0;
    return MHD_YES;
  }
  struct fs_reply rep = {0};
  if (cc->too_big) fs_reply_error(&rep, 413, "the request body is larger than %zu bytes", FS_MAX_BODY);
  else {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    fs_serve_set_client(ci ? (int)ci->connect_fd : -1);
    fs_serve_route(s, method, url, cc->body, cc->n, &rep);
    fs_serve_set_client(-1);
  }
  if (rep.status >= 400) {
    pthread_mutex_lock(&s->lock);
    if (rep.status >= 500) s->errors5xx++;
    else s->errors4xx++;
    pthread_mutex_unlock(&s->lock);
  }
  struct MHD_Response *r;
  if (rep.stream) {
    r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_cb, rep.stream, stream_free_cb);
    if (!r) fs_stream_free(rep.stream);
  } else {
    r = MHD_create_response_from_buffer(rep.n_body, rep.body, MHD_RESPMEM_MUST_FREE);
    if (!r) free(rep.body);
  }
  if (!r) return MHD_NO;
  MHD_add_response_header(r, "Content-Type", rep.ctype ? rep.ctype : "application/json");
  if (rep.stream && rep.stream->kind != FS_STREAM_PLAIN) MHD_add_response_header(r, "Cache-Control", "no-cache");
  if (rep.status == 503) MHD_add_response_header(r, "Retry-After", "1"); /* busy or stopping: clients back off */
  enum MHD_Result ret = MHD_queue_response(c, rep.status ? (unsigned)rep.status : 200, r);
  MHD_destroy_response(r);
  return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t)
{
  struct fs_serve *s = cls;
  struct conn *cc = *con_cls;
  if (cc) {
    free(cc->body), free(cc);
    pthread_mutex_lock(&s->lock);
    s->n_http_active--;
    pthread_cond_broadcast(&s->progress);
    pthread_mutex_unlock(&s->lock);
  }
  *con_cls = NULL;
}

struct MHD_Daemon *fs_serve_http_start(struct fs_serve *s, const char *host, int port, int max_conn, int *bound,
                                       char *err, size_t n_err)
{
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai = NULL;
  char ports[16];
  snprintf(ports, sizeof ports, "%d", port);
  int rc = getaddrinfo(host, ports, &hints, &ai);
  if (rc) {
    snprintf(err, n_err, "cannot resolve -host %s: %s", host, gai_strerror(rc));
    return NULL;
  }
  unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
  if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
  struct MHD_Daemon *d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
                                          ai->ai_addr, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                                          MHD_OPTION_CONNECTION_LIMIT, (unsigned)max_conn,
                                          MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_END);
  freeaddrinfo(ai);
  if (!d) {
    snprintf(err, n_err, "cannot listen on %s:%d (port in use? another -port, or -port 0 for any free one)", host,
             port);
    return NULL;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  *bound = info ? info->port : port;
  return d;
}
