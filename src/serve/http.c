/* The service's HTTP/1.1 API on rank 0 (libmicrohttpd, a thread per connection): it
 * parses, checks, stores and answers, and never touches A or MPI.
 *
 *   POST   /v1/solves          {"y": [...], "k": 10, "algo": "sea", ...options}, or the
 *                              y as a .npy body (application/x-npy) with the options in
 *                              the query; 202 {"id", "status": "queued"} once stored
 *   GET    /v1/solves/ID       status; when done, the result (?wait=S: up to S seconds)
 *   DELETE /v1/solves/ID       cancels a queued request
 *   GET    /v1/health          no token needed
 *   GET    /metrics            Prometheus text format
 *
 * Every call but health needs "Authorization: Bearer TOKEN" (the token is in
 * DIR/endpoint.json, mode 0600; compared in constant time). A malformed request gets
 * 400 with a JSON error naming the field (request.c says what a request must be); a
 * body over the limit 413, from its Content-Length before it is read; an
 * Idempotency-Key sent before with another request 422. The service goes on. Who may
 * hold a connection, and for how long when idle: conns.c. */
#include "conns.h"
#include "serve.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct serve_http {
  struct MHD_Daemon *d;
  serve_store *st; /* the HTTP threads' connection (serialized) */
  serve_shared *sh;
  serve_conns *conns; /* who may connect */
  serve_http_conf conf;
  char token[65];
};

const double serve_solve_buckets[11] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05,
                                        0.1,   0.5,   1,     10,   100};

/* ---------------------------------------------------------------- replies -- */
static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *type,
                             const char *body, const char *hname, const char *hvalue)
{
  struct MHD_Response *r =
      MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
  if (!r) return MHD_NO;
  MHD_add_response_header(r, "Content-Type", type);
  if (hname) MHD_add_response_header(r, hname, hvalue);
  enum MHD_Result ok = MHD_queue_response(c, code, r);
  MHD_destroy_response(r);
  return ok;
}

static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned code, cJSON *j)
{
  char *text = cJSON_PrintUnformatted(j);
  enum MHD_Result ok = reply(c, code, "application/json", text ? text : "{}", NULL, NULL);
  free(text);
  cJSON_Delete(j);
  return ok;
}

/* {"error": message, "field": field} */
static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned code, const char *field,
                                   const char *msg)
{
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "error", msg);
  if (field) cJSON_AddStringToObject(j, "field", field);
  if (code == MHD_HTTP_UNAUTHORIZED) {
    char *text = cJSON_PrintUnformatted(j);
    enum MHD_Result ok = reply(c, code, "application/json", text, "WWW-Authenticate", "Bearer");
    free(text);
    cJSON_Delete(j);
    return ok;
  }
  return reply_json(c, code, j);
}

/* The service is stopping (a signal came, or the dispatch has ended, or the launcher is
 * gone: the job is being killed, guard.c): new requests get 503 at once, also while
 * the batch that runs finishes. */
static int stopping(const serve_http *h)
{
  pthread_mutex_lock(&h->sh->mu);
  int s = h->sh->draining || (h->sh->stop_signal && *h->sh->stop_signal) ||
          (h->sh->launcher && getppid() != h->sh->launcher);
  pthread_mutex_unlock(&h->sh->mu);
  return s;
}

/* -------------------------------------------------------------- requests -- */
typedef struct {
  char *body;
  size_t len, cap;
} upload;

static int authorized(const serve_http *h, struct MHD_Connection *c)
{
  const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
  if (!a || strncmp(a, "Bearer ", 7)) return 0;
  a += 7;
  size_t n = strlen(a), t = strlen(h->token);
  unsigned char diff = (unsigned char)(n != t);
  for (size_t i = 0; i < t; i++) diff |= (unsigned char)(h->token[i] ^ (i < n ? a[i] : 0));
  return diff == 0;
}

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *k,
                                     const char *v)
{
  (void)kind;
  cJSON *o = cls;
  if (!v) v = "";
  char *end;
  double d = strtod(v, &end);
  if (*v && !*end) cJSON_AddNumberToObject(o, k, d);
  else if (!strcmp(v, "true") || !strcmp(v, "false")) cJSON_AddBoolToObject(o, k, !strcmp(v, "true"));
  else cJSON_AddStringToObject(o, k, v);
  return MHD_YES;
}

/* The number of requests in status s, or -1 when the state cannot be read (as the
 * metrics have always shown it; to the queue limit, a queue that is not full). */
static int64_t count_of(const serve_http *h, serve_status s)
{
  int64_t c;
  return serve_store_count(h->st, s, &c) == SPREC_OK ? c : -1;
}

/* A message for a reply: the last error of this thread (sprec_errmsg() is per thread:
 * each connection has its own), cut where the replies always cut it. */
static const char *reply_message(char why[512])
{
  snprintf(why, 512, "%s", sprec_errmsg());
  return why;
}

static void count_rejected(serve_http *h)
{
  pthread_mutex_lock(&h->sh->mu);
  h->sh->rejected++;
  pthread_mutex_unlock(&h->sh->mu);
}

static enum MHD_Result count_key(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
  (void)kind, (void)v;
  if (!strcasecmp(k, "Idempotency-Key")) ++*(int *)cls;
  return MHD_YES;
}

/* The request's Idempotency-Key into *idem (NULL: none), or a 400 (a key given twice,
 * or not of the form serve_idem_key_check takes). */
static enum MHD_Result take_key(serve_http *h, struct MHD_Connection *c, const char **idem, int *refused)
{
  char why[512];
  int n = 0;
  MHD_get_connection_values(c, MHD_HEADER_KIND, count_key, &n);
  *idem = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
  *refused = 1;
  if (n > 1) {
    count_rejected(h);
    return reply_error(c, MHD_HTTP_BAD_REQUEST, "Idempotency-Key", "Idempotency-Key: given more than once");
  }
  if (*idem && serve_idem_key_check(*idem)) {
    count_rejected(h);
    return reply_error(c, MHD_HTTP_BAD_REQUEST, "Idempotency-Key", reply_message(why));
  }
  *refused = 0;
  return MHD_YES;
}

/* 422: the Idempotency-Key is stored for another request (payment APIs answer so): the
 * first request's id would give this client a result for data it did not send. */
static enum MHD_Result key_reused(serve_http *h, struct MHD_Connection *c, const char *idem)
{
  char why[512];
  count_rejected(h);
  snprintf(why, sizeof why,
           "Idempotency-Key '%s' was sent before with another y or other options: a retry must send "
           "the same request, another request needs a new key", idem);
  return reply_error(c, 422, "Idempotency-Key", why);
}

static enum MHD_Result post_solve(serve_http *h, struct MHD_Connection *c, const upload *u)
{
  char why[512] = "", field[64] = "", key[1024], hash[65] = "", id[33], *opts = NULL;
  const char *idem;
  int refused;
  if (stopping(h)) return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, "the service is stopping");
  enum MHD_Result ok = take_key(h, c, &idem, &refused);
  if (refused) return ok;
  const char *ctype = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
  cJSON *query = cJSON_CreateObject(); /* the options of a .npy body */
  if (query) MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_query, query);
  double *y = malloc(sizeof(double) * (size_t)h->conf.m);
  sprec_err err = y && query ? serve_read_request(ctype, u->body, u->len, query, h->conf.m, h->conf.n,
                                                  h->conf.max_k, key, sizeof key, &opts, y, field)
                             : SPREC_ERROR(SPREC_ERR_MEM, "out of memory");
  cJSON_Delete(query);
  if (err) {
    free(y);
    count_rejected(h);
    return reply_error(c, MHD_HTTP_BAD_REQUEST, field, reply_message(why));
  }
  /* A retry of a request already stored adds nothing to the queue: it gets its id back
   * even when the queue is full; any other submission counts against max-queue (an
   * unreadable key counts as new). */
  serve_idem seen = SERVE_IDEM_NEW;
  if (idem && (err = serve_request_hash(key, y, h->conf.m, hash))) {
    free(y);
    free(opts);
    return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, reply_message(why));
  }
  if (idem && serve_store_find_idem(h->st, idem, hash, &seen) != SPREC_OK) seen = SERVE_IDEM_NEW;
  if (seen == SERVE_IDEM_OTHER) {
    free(y);
    free(opts);
    return key_reused(h, c, idem);
  }
  if (seen == SERVE_IDEM_NEW && count_of(h, ST_QUEUED) >= h->conf.max_queue) {
    free(y);
    free(opts);
    snprintf(why, sizeof why, "the queue is full (%lld requests): retry later", (long long)h->conf.max_queue);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "error", why);
    char *text = cJSON_PrintUnformatted(j);
    ok = reply(c, MHD_HTTP_TOO_MANY_REQUESTS, "application/json", text, "Retry-After", "1");
    free(text);
    cJSON_Delete(j);
    return ok;
  }
  err = serve_store_add(h->st, key, opts, y, h->conf.m, idem, hash, id, &seen);
  free(opts);
  free(y);
  if (err) return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, reply_message(why));
  if (seen == SERVE_IDEM_OTHER) return key_reused(h, c, idem); /* stored meanwhile by another */
  pthread_mutex_lock(&h->sh->mu);
  if (seen == SERVE_IDEM_NEW) h->sh->accepted++;
  pthread_cond_broadcast(&h->sh->submitted);
  pthread_mutex_unlock(&h->sh->mu);
  serve_request r;
  int found = 0;
  if (serve_store_get(h->st, id, &r, &found) != SPREC_OK) found = 0; /* stored: "queued" */
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "id", id);
  cJSON_AddStringToObject(j, "status", found ? serve_status_name(r.status) : "queued");
  free(r.result);
  return reply_json(c, MHD_HTTP_ACCEPTED, j);
}

static int terminal(serve_status s) { return s == ST_DONE || s == ST_FAILED || s == ST_CANCELLED; }

static enum MHD_Result get_solve(serve_http *h, struct MHD_Connection *c, const char *id)
{
  const char *w = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "wait");
  double wait = w ? strtod(w, NULL) : 0;
  if (!(wait >= 0)) wait = 0;
  if (wait > 600) wait = 600;
  serve_request r;
  int found = 0;
  sprec_err err = serve_store_get(h->st, id, &r, &found);
  if (!err && found && !terminal(r.status) && wait > 0) { /* until a result or the time is up */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    double t = (double)until.tv_sec + 1e-9 * (double)until.tv_nsec + wait;
    until.tv_sec = (time_t)t;
    until.tv_nsec = (long)((t - floor(t)) * 1e9);
    pthread_mutex_lock(&h->sh->mu);
    /* A stopping service answers at once (the status as it is): a waiter would hold up
     * the end of the HTTP server, and so the drain, for as long as it waits. */
    while (!err && found && !terminal(r.status) && !h->sh->draining) {
      if (pthread_cond_timedwait(&h->sh->finished, &h->sh->mu, &until) == ETIMEDOUT) break;
      free(r.result);
      err = serve_store_get(h->st, id, &r, &found);
    }
    pthread_mutex_unlock(&h->sh->mu);
  }
  if (err || !found) return reply_error(c, err ? MHD_HTTP_INTERNAL_SERVER_ERROR : MHD_HTTP_NOT_FOUND,
                                        "id", err ? "cannot read the state" : "no such request");
  /* The status fields; for a result, spliced into its stored text as the last members
   * (printing it again would round its numbers). */
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "id", r.id);
  cJSON_AddStringToObject(j, "status", serve_status_name(r.status));
  if (r.started > 0) cJSON_AddNumberToObject(j, "queued_seconds", r.started - r.created);
  if (r.finished > 0 && r.started > 0) cJSON_AddNumberToObject(j, "solve_seconds", r.finished - r.started);
  if (r.status == ST_FAILED && r.result) cJSON_AddStringToObject(j, "error", r.result);
  char *st = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  const char *close = r.status == ST_DONE && r.result ? strrchr(r.result, '}') : NULL;
  char *text = NULL;
  if (st && close && asprintf(&text, "%.*s,%s", (int)(close - r.result), r.result, st + 1) < 0)
    text = NULL;
  enum MHD_Result ok = reply(c, MHD_HTTP_OK, "application/json", text ? text : st ? st : "{}", NULL, NULL);
  free(text);
  free(st);
  free(r.result);
  return ok;
}

static enum MHD_Result delete_solve(serve_http *h, struct MHD_Connection *c, const char *id)
{
  serve_request r;
  int cancelled = 0;
  /* An unknown id, or one that cannot be read: 404 either way, as it always was. */
  if (serve_store_cancel(h->st, id, &r, &cancelled) != SPREC_OK)
    return reply_error(c, MHD_HTTP_NOT_FOUND, "id", "no such request");
  free(r.result);
  if (!cancelled) {
    char why[128];
    snprintf(why, sizeof why, "the request is %s: only a queued request can be cancelled",
             serve_status_name(r.status));
    return reply_error(c, MHD_HTTP_CONFLICT, "id", why);
  }
  pthread_mutex_lock(&h->sh->mu);
  h->sh->cancelled++;
  pthread_cond_broadcast(&h->sh->finished);
  pthread_mutex_unlock(&h->sh->mu);
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "id", id);
  cJSON_AddStringToObject(j, "status", "cancelled");
  return reply_json(c, MHD_HTTP_OK, j);
}

static enum MHD_Result metrics(serve_http *h, struct MHD_Connection *c)
{
  serve_shared s;
  pthread_mutex_lock(&h->sh->mu);
  s = *h->sh;
  pthread_mutex_unlock(&h->sh->mu);
  char *b = malloc(16384);
  if (!b) return MHD_NO;
  size_t n = 0, cap = 16384;
#define OUT(...) n += (size_t)snprintf(b + n, n < cap ? cap - n : 0, __VA_ARGS__)
  OUT("# HELP sprec_queue_depth Requests waiting to be solved.\n# TYPE sprec_queue_depth gauge\n");
  OUT("sprec_queue_depth %lld\n", (long long)count_of(h, ST_QUEUED));
  OUT("# TYPE sprec_running gauge\nsprec_running %lld\n", (long long)count_of(h, ST_RUNNING));
  OUT("# HELP sprec_requests_total Requests by outcome since the service started.\n");
  OUT("# TYPE sprec_requests_total counter\n");
  OUT("sprec_requests_total{outcome=\"accepted\"} %llu\n", (unsigned long long)s.accepted);
  OUT("sprec_requests_total{outcome=\"done\"} %llu\n", (unsigned long long)s.done);
  OUT("sprec_requests_total{outcome=\"failed\"} %llu\n", (unsigned long long)s.failed);
  OUT("sprec_requests_total{outcome=\"cancelled\"} %llu\n", (unsigned long long)s.cancelled);
  OUT("sprec_requests_total{outcome=\"rejected\"} %llu\n", (unsigned long long)s.rejected);
  uint64_t open, refused;
  serve_conns_counts(h->conns, &open, &refused);
  OUT("# HELP sprec_connections HTTP connections open.\n# TYPE sprec_connections gauge\n");
  OUT("sprec_connections %llu\n", (unsigned long long)open);
  OUT("# HELP sprec_connections_refused_total Connections refused by the limits.\n");
  OUT("# TYPE sprec_connections_refused_total counter\nsprec_connections_refused_total %llu\n",
      (unsigned long long)refused);
  OUT("# HELP sprec_batches_total Batches solved.\n# TYPE sprec_batches_total counter\n");
  OUT("sprec_batches_total %llu\n", (unsigned long long)s.batches);
  OUT("# HELP sprec_passes_total Passes over A (one per round of a batch).\n");
  OUT("# TYPE sprec_passes_total counter\nsprec_passes_total %llu\n", (unsigned long long)s.passes);
  OUT("# HELP sprec_batch_size Requests per batch.\n# TYPE sprec_batch_size histogram\n");
  uint64_t cum = 0;
  for (int i = 0; i < 7; i++) {
    cum += s.batch_sizes[i];
    OUT("sprec_batch_size_bucket{le=\"%d\"} %llu\n", (1 << (i + 1)) - 1, (unsigned long long)cum);
  }
  cum += s.batch_sizes[7];
  OUT("sprec_batch_size_bucket{le=\"+Inf\"} %llu\nsprec_batch_size_count %llu\n",
      (unsigned long long)cum, (unsigned long long)s.batches);
  OUT("# HELP sprec_solve_seconds Time from start to result, per request.\n");
  OUT("# TYPE sprec_solve_seconds histogram\n");
  cum = 0;
  for (int i = 0; i < 11; i++) {
    cum += s.solve_hist[i];
    OUT("sprec_solve_seconds_bucket{le=\"%g\"} %llu\n", serve_solve_buckets[i], (unsigned long long)cum);
  }
  cum += s.solve_hist[11];
  OUT("sprec_solve_seconds_bucket{le=\"+Inf\"} %llu\nsprec_solve_seconds_sum %.6f\n"
      "sprec_solve_seconds_count %llu\n",
      (unsigned long long)cum, s.solve_sum, (unsigned long long)cum);
#undef OUT
  enum MHD_Result ok = reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4", b, NULL, NULL);
  free(b);
  return ok;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *data_size, void **state)
{
  (void)version;
  serve_http *h = cls;
  upload *u = *state;
  if (!u) { /* the headers: a body over the limit is refused before it is read */
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    char *end, why[128];
    errno = 0;
    unsigned long long n = cl ? strtoull(cl, &end, 10) : 0;
    if (cl && *cl && !*end && (n > h->conf.max_body || errno == ERANGE)) {
      count_rejected(h);
      snprintf(why, sizeof why, "the body is larger than %zu bytes", h->conf.max_body);
      return reply_error(c, 413, "body", why); /* (queued now, libmicrohttpd reads no body) */
    }
    if (!(u = calloc(1, sizeof *u))) return MHD_NO;
    *state = u;
    return MHD_YES;
  }
  if (*data_size) { /* a piece of the body */
    /* Past the limit only without a Content-Length (chunked): no reply can be queued
     * while a body comes in, and reading on has no end; the connection is closed. */
    if (u->len + *data_size > h->conf.max_body) return MHD_NO;
    if (u->len + *data_size + 1 > u->cap) {
      size_t cap = 2 * (u->len + *data_size) + 1;
      char *p = realloc(u->body, cap);
      if (!p) return MHD_NO;
      u->body = p;
      u->cap = cap;
    }
    memcpy(u->body + u->len, data, *data_size);
    u->len += *data_size;
    u->body[u->len] = '\0';
    *data_size = 0;
    return MHD_YES;
  }
  if (!strcmp(url, "/v1/health") && !strcmp(method, "GET")) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "status", stopping(h) ? "stopping" : "ok");
    cJSON_AddNumberToObject(j, "m", (double)h->conf.m);
    cJSON_AddNumberToObject(j, "n", (double)h->conf.n);
    cJSON_AddStringToObject(j, "sprec_version", sprec_version());
    return reply_json(c, MHD_HTTP_OK, j);
  }
  if (!authorized(h, c)) return reply_error(c, MHD_HTTP_UNAUTHORIZED, "Authorization", "a valid bearer token is needed");
  if (!strcmp(url, "/metrics") && !strcmp(method, "GET")) return metrics(h, c);
  if (!strcmp(url, "/v1/solves") && !strcmp(method, "POST")) return post_solve(h, c, u);
  if (!strncmp(url, "/v1/solves/", 11) && url[11] && !strchr(url + 11, '/')) {
    if (!strcmp(method, "GET")) return get_solve(h, c, url + 11);
    if (!strcmp(method, "DELETE")) return delete_solve(h, c, url + 11);
    return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, NULL, "GET or DELETE");
  }
  if (!strcmp(url, "/v1/solves")) return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, NULL, "POST");
  return reply_error(c, MHD_HTTP_NOT_FOUND, "url", "no such endpoint");
}

static void done_request(void *cls, struct MHD_Connection *c, void **state,
                         enum MHD_RequestTerminationCode why)
{
  (void)cls, (void)c, (void)why;
  upload *u = *state;
  if (u) free(u->body);
  free(u);
  *state = NULL;
}

/* ------------------------------------------------------------ start, stop -- */
/* DIR/endpoint.json, mode 0600 from the start (created so, then renamed into place). */
static sprec_err write_endpoint(const serve_http *h, const char *host, int port)
{
  char path[4096], tmp[4200];
  snprintf(path, sizeof path, "%s/endpoint.json", h->conf.state_dir);
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  cJSON *j = cJSON_CreateObject();
  char url[512];
  snprintf(url, sizeof url, "http://%s:%d", host, port);
  cJSON_AddStringToObject(j, "url", url);
  cJSON_AddStringToObject(j, "token", h->token);
  cJSON_AddStringToObject(j, "host", host);
  cJSON_AddNumberToObject(j, "port", port);
  cJSON_AddNumberToObject(j, "pid", (double)getpid());
  cJSON_AddNumberToObject(j, "m", (double)h->conf.m);
  cJSON_AddNumberToObject(j, "n", (double)h->conf.n);
  char *text = cJSON_Print(j);
  cJSON_Delete(j);
  int fd = text ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_EXCL, 0600) : -1;
  int ok = fd >= 0;
  if (ok) {
    size_t n = strlen(text);
    ok = write(fd, text, n) == (ssize_t)n && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    ok &= close(fd) == 0;
    ok = ok && rename(tmp, path) == 0;
    if (!ok) unlink(tmp);
  }
  free(text);
  SPREC_CHECK(ok, SPREC_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
  return SPREC_OK;
}

sprec_err serve_http_start(const serve_http_conf *conf, serve_shared *sh, serve_http **out)
{
  serve_http *h = calloc(1, sizeof *h);
  *out = NULL;
  SPREC_CHECK(h, SPREC_ERR_MEM, "out of memory");
  h->conf = *conf;
  h->sh = sh;
  unsigned char r[32];
  if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
    free(h);
    return SPREC_ERROR(SPREC_ERR_IO, "no random bytes for the token: %s", strerror(errno));
  }
  for (int i = 0; i < 32; i++) snprintf(h->token + 2 * i, 3, "%02x", r[i]);
  /* listen: HOST:PORT (HOST a name or an IPv4 address). */
  char host[256];
  int port = 0;
  const char *colon = strrchr(conf->listen, ':');
  if (!colon || colon == conf->listen || (size_t)(colon - conf->listen) >= sizeof host ||
      sscanf(colon + 1, "%d", &port) != 1 || port < 0 || port > 65535) {
    free(h);
    return SPREC_ERROR(SPREC_ERR_ARG, "listen %s: expected HOST:PORT", conf->listen);
  }
  memcpy(host, conf->listen, (size_t)(colon - conf->listen));
  host[colon - conf->listen] = '\0';
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai = NULL;
  if (getaddrinfo(host, NULL, &hints, &ai) != 0 || !ai) {
    free(h);
    return SPREC_ERROR(SPREC_ERR_ARG, "listen %s: unknown host %s", conf->listen, host);
  }
  struct sockaddr_in sa;
  memcpy(&sa, ai->ai_addr, sizeof sa);
  freeaddrinfo(ai);
  sa.sin_port = htons((uint16_t)port);
  sprec_err err = serve_store_open(conf->state_dir, 0, &h->st);
  if (!err) err = serve_conns_create(&h->conns);
  if (err) {
    serve_store_close(&h->st);
    free(h);
    return err;
  }
  /* The limits are the accept policy's (conns.h); libmicrohttpd's own connection limit,
   * a little above, only backs it up (it would log every refusal). The idle timeout
   * never cuts a long poll or a slow store: it counts from the last byte moved, and a
   * reply queued after a wait counts as one. */
  h->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                              MHD_USE_ITC | MHD_USE_ERROR_LOG,
                          0, serve_conns_accept, h->conns, handle, h, MHD_OPTION_SOCK_ADDR,
                          (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, done_request, h,
                          MHD_OPTION_NOTIFY_CONNECTION, serve_conns_notify, h->conns,
                          MHD_OPTION_CONNECTION_LIMIT, (unsigned)(SERVE_CONN_MAX + 16),
                          MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SERVE_CONN_IDLE_S, MHD_OPTION_END);
  if (!h->d) {
    serve_store_close(&h->st);
    serve_conns_destroy(&h->conns);
    free(h);
    return SPREC_ERROR(SPREC_ERR_IO, "listen %s: cannot listen (address in use?)", conf->listen);
  }
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
  int bound = di ? di->port : port;
  char shown[256];
  snprintf(shown, sizeof shown, "%s", host);
  if (!strcmp(host, "0.0.0.0")) gethostname(shown, sizeof shown); /* reachable by its name */
  if ((err = write_endpoint(h, shown, bound))) {
    serve_http_stop(&h);
    return err;
  }
  *out = h;
  return SPREC_OK;
}

void serve_http_stop(serve_http **h)
{
  if (!h || !*h) return;
  if ((*h)->d) {
    /* No new connections; those in progress (a waiter the drain woke, the results of
     * the last batch) send their replies first, for at most 2 s: MHD_stop_daemon
     * closes every connection at once. */
    MHD_socket ls = MHD_quiesce_daemon((*h)->d);
    const struct timespec tick = {0, 10000000};
    for (int i = 0; i < 200; i++) {
      const union MHD_DaemonInfo *di = MHD_get_daemon_info((*h)->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
      if (!di || di->num_connections == 0) break;
      nanosleep(&tick, NULL);
    }
    MHD_stop_daemon((*h)->d);
    if (ls != MHD_INVALID_SOCKET) close(ls);
  }
  serve_store_close(&(*h)->st);
  serve_conns_destroy(&(*h)->conns);
  free(*h);
  *h = NULL;
}
