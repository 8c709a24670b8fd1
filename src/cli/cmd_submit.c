/* sprec submit, sprec status: the service's client (libcurl). The endpoint file that
 * `sprec serve` writes (DIR/endpoint.json: URL and bearer token) says where to go; y
 * travels as its .npy file (application/x-npy), the options in the query string. Runs
 * on one process (rank 0 of however many are started).
 *
 * A service that restarts (a SLURM job that drained and resubmitted itself) comes back
 * on another node and port: while it is away (no connection, 503 while it drains, 429
 * while its queue is full) the client waits a little longer each time, up to 10 s,
 * reads endpoint.json again and retries, for up to --retry seconds. Submissions carry
 * an Idempotency-Key (a random one unless given), so that a retried POST whose first
 * reply was lost is stored once.
 *
 * No try waits without bound: a host that does not complete the connection, or a
 * service that takes it and never answers (hung, stopped, a port some other program
 * holds), costs a try at most min(--retry, 10 s) to connect and W + 10 s of silence
 * (W: the wait the service was asked to hold the reply, ?wait=W; 0 for a submission),
 * so --retry 0 gives up within about 10 s and --retry S about S + 10 s after the
 * start. */
#include "cli.h"
#include "../serve/serve.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char help_submit[] =
    "usage: sprec submit --endpoint DIR/endpoint.json --y y.npy [options] [--wait [S]]\n"
    "                    [--out result.json] [--idempotency-key KEY] [--retry S]\n"
    "Sends one solve request to a running 'sprec serve' and prints its id; with --wait,\n"
    "waits (up to S seconds, default 600) for the result and writes it to --out (the\n"
    "object 'sprec solve --out' writes, plus queued_seconds and solve_seconds).\n"
    "Options: the solver's (--algo, -k, --iters, --tol, --step, --step-rule, --lsq, --topk,\n"
    "--lambda, --lambda-ratio, --continuation, --restart, --debias), as for 'sprec solve'.\n"
    "While the service is away (restarting, draining, its queue full) it retries, reading\n"
    "the endpoint file again, for up to --retry S seconds (default 60); a try waits at most\n"
    "min(S, 10 s) (at least 2 s) to connect and 10 s for a reply that does not come.\n"
    "--idempotency-key: 1 to 255 characters from ! to ~ (a random one if not given).\n";

static const char help_status[] =
    "usage: sprec status ID --endpoint DIR/endpoint.json [--wait [S]] [--out result.json]\n"
    "Prints the status of request ID (queued, running, done, failed, cancelled); with\n"
    "--wait, waits up to S seconds (default 600) for it to end; --out writes the reply.\n"
    "While the service is away it retries for up to --retry S seconds (default 60); a try\n"
    "waits at most min(S, 10 s) (at least 2 s) to connect, and 10 s past the poll's wait\n"
    "(at most 60 s) for a reply that does not come.\n";

typedef struct {
  char *p;
  size_t len;
} buffer;

static size_t gather(char *data, size_t size, size_t n, void *cls)
{
  buffer *b = cls;
  char *q = realloc(b->p, b->len + size * n + 1);
  if (!q) return 0;
  b->p = q;
  memcpy(b->p + b->len, data, size * n);
  b->len += size * n;
  b->p[b->len] = '\0';
  return size * n;
}

typedef struct {
  char url[512], auth[128];
  const char *path; /* the endpoint file, read again before a retry */
  double retry_s;   /* how long to retry while the service is away  */
} endpoint;

/* A try's reply is given up when nothing has come or gone for W + QUIET_S seconds (W:
 * how long the service was asked to hold it): a store takes milliseconds, and a
 * service that is slower than that is restarting, hung, or not a service. */
enum { QUIET_S = 10 };

/* The connection: min(--retry, 10 s), at least 2 s (a first SYN that is lost is sent
 * again after 1 s). */
static long connect_ms(double retry_s)
{
  return 1000L * (retry_s < 2 ? 2 : retry_s > 10 ? 10 : (long)retry_s);
}

typedef struct {
  double last, quiet_s; /* when a byte last moved; how long silence may last */
  curl_off_t moved;
  int silent;           /* the try was given up for silence */
} watch;

static double now_mono(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* libcurl's progress call (at least once a second): a body sent or received slowly
 * but steadily goes on, silence ends the try. */
static int still_moving(void *cls, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
  (void)dltotal, (void)ultotal;
  watch *w = cls;
  double now = now_mono();
  if (dlnow + ulnow != w->moved) w->moved = dlnow + ulnow, w->last = now;
  return w->silent = now - w->last > w->quiet_s;
}

static sprec_err read_endpoint(const char *path, endpoint *e)
{
  FILE *f = fopen(path, "rb");
  SPREC_CHECK(f, SPREC_ERR_IO, "--endpoint %s: %s", path, strerror(errno));
  char text[8192];
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = '\0';
  cJSON *j = cJSON_Parse(text);
  const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "url"), *t = cJSON_GetObjectItemCaseSensitive(j, "token");
  int ok = cJSON_IsString(u) && cJSON_IsString(t);
  if (ok) {
    snprintf(e->url, sizeof e->url, "%s", u->valuestring);
    snprintf(e->auth, sizeof e->auth, "Authorization: Bearer %s", t->valuestring);
    e->path = path;
  }
  cJSON_Delete(j);
  SPREC_CHECK(ok, SPREC_ERR_FORMAT, "--endpoint %s: not an endpoint file of sprec serve", path);
  return SPREC_OK;
}

/* One HTTP call; *code the HTTP status, *reply the body (malloc'ed). wait_s: how long
 * the service was asked to hold the reply. */
static sprec_err call(const endpoint *e, const char *method, const char *path, const char *ctype,
                      const char *body, size_t len, const char *extra, long *code, char **reply,
                      double wait_s)
{
  watch w = {now_mono(), wait_s + QUIET_S, -1, 0};
  char url[4096];
  buffer b = {NULL, 0};
  CURL *c = curl_easy_init();
  SPREC_CHECK(c, SPREC_ERR_MEM, "cannot start libcurl");
  snprintf(url, sizeof url, "%s%s", e->url, path);
  struct curl_slist *h = curl_slist_append(NULL, e->auth);
  char ct[128];
  if (ctype) {
    snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
    h = curl_slist_append(h, ct);
  }
  if (extra) h = curl_slist_append(h, extra);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, gather);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms(e->retry_s));
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, still_moving);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &w);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  }
  CURLcode rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  if (rc != CURLE_OK) {
    free(b.p);
    if (w.silent)
      return SPREC_ERROR(SPREC_ERR_IO, "%s %s: no reply (nothing came for %.0f s)", method, url, w.quiet_s);
    return SPREC_ERROR(SPREC_ERR_IO, "%s %s: %s", method, url, curl_easy_strerror(rc));
  }
  *reply = b.p ? b.p : strdup("");
  return SPREC_OK;
}

/* call, retried while the service is away (no connection, 503, 429) until the later of
 * deadline and now + e->retry_s. On return *code is the last answer's status. */
static sprec_err call_retry(endpoint *e, const char *method, const char *path, const char *ctype,
                            const char *body, size_t len, const char *extra, long *code,
                            char **reply, time_t deadline, double wait_s)
{
  time_t until = time(NULL) + (time_t)e->retry_s;
  if (deadline > until) until = deadline;
  for (unsigned delay = 1;; delay = delay < 5 ? 2 * delay : 10) {
    *code = 0;
    *reply = NULL;
    sprec_err err = call(e, method, path, ctype, body, len, extra, code, reply, wait_s);
    if (!err && *code != 503 && *code != 429) return SPREC_OK;
    if (time(NULL) + (time_t)delay > until) return err;
    free(*reply);
    sleep(delay);
    endpoint again = *e; /* the restarted service's address, if it has written it */
    if (read_endpoint(e->path, &again) == SPREC_OK) again.retry_s = e->retry_s, *e = again;
  }
}

/* The service's error message from a reply, or the reply itself. */
static sprec_err http_error(long code, const char *reply)
{
  cJSON *j = cJSON_Parse(reply);
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "error");
  sprec_err err = SPREC_ERROR(code >= 500 || code == 429 ? SPREC_ERR_IO : SPREC_ERR_ARG,
                              "the service answered %ld: %s", code,
                              cJSON_IsString(m) ? m->valuestring : reply);
  cJSON_Delete(j);
  return err;
}

/* Waits up to wait_s seconds for request id to end; writes the last reply to out (if
 * given), prints its status. */
static sprec_err wait_and_report(endpoint *e, const char *id, double wait_s, const char *out)
{
  char path[256], *reply = NULL;
  long code = 0;
  time_t end = time(NULL) + (time_t)wait_s;
  const char *status = "";
  cJSON *j = NULL;
  for (;;) {
    long left = (long)(end - time(NULL)), w = left > 0 ? (left < 60 ? left : 60) : 0;
    snprintf(path, sizeof path, "/v1/solves/%s?wait=%ld", id, w);
    free(reply);
    reply = NULL;
    SPREC_CALL(call_retry(e, "GET", path, NULL, NULL, 0, NULL, &code, &reply, end, (double)w));
    if (code != 200) {
      sprec_err err = http_error(code, reply);
      free(reply);
      return err;
    }
    cJSON_Delete(j);
    j = cJSON_Parse(reply);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "status");
    status = cJSON_IsString(s) ? s->valuestring : "?";
    if (strcmp(status, "queued") && strcmp(status, "running")) break;
    if (time(NULL) >= end) break;
  }
  sprec_err err = SPREC_OK;
  if (out) { /* to a partial name, renamed once complete (rank 0 alone runs this) */
    cli_outset outs = {0};
    FILE *f = fopen(cli_out_add(&outs, out), "w");
    int bad = !f || fputs(reply, f) < 0;
    if (f) bad |= fclose(f) != 0;
    if (bad) err = SPREC_ERROR(SPREC_ERR_IO, "--out %s: cannot write: %s", out, strerror(errno));
    err = cli_out_commit(MPI_COMM_SELF, &outs, err);
  }
  if (!err) {
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(j, "objective");
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "support");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "error");
    printf("%s %s", id, status);
    if (cJSON_IsNumber(o)) printf(" objective=%.10e nnz=%d", o->valuedouble, cJSON_GetArraySize(k));
    if (cJSON_IsString(m)) printf(" error=%s", m->valuestring);
    printf("\n");
    if (!strcmp(status, "failed")) err = SPREC_ERROR(SPREC_ERR_NUMERIC, "request %s failed", id);
  }
  cJSON_Delete(j);
  free(reply);
  return err;
}

/* Collective. The client's files, checked as solve checks its own before any request
 * is sent: --endpoint and --y are inputs, --out is written. The endpoint file's
 * directory, when it holds the service's database, is the service's state: --out
 * must stay out of it (replacing state.sqlite, its -wal or endpoint.json would lose
 * the service's history or its address). */
static sprec_err check_files(const char *ep, const char *yf, const char *out)
{
  char copy[4096], dir[4096], db[4200];
  struct stat sb;
  snprintf(copy, sizeof copy, "%s", ep ? ep : "");
  snprintf(dir, sizeof dir, "%s", dirname(copy));
  snprintf(db, sizeof db, "%s/state.sqlite", dir);
  int state = ep && stat(db, &sb) == 0 && S_ISREG(sb.st_mode);
  cli_path files[] = {
      {"--endpoint", ep, 0, 0, NULL, NULL},
      {"--y", yf, 0, 0, NULL, NULL},
      {"--out", out, 1, 0, NULL, NULL},
      {"--endpoint", state ? dir : NULL, 0, 0, NULL, "the service's state directory"},
  };
  return cli_check_paths(MPI_COMM_WORLD, files, (int)(sizeof files / sizeof *files));
}

/* --wait [S]: its value if the next argument is a number. */
static int take_wait(int argc, char **argv, int *i, double *wait_s)
{
  char *end;
  *wait_s = 600;
  if (*i + 1 < argc) {
    double v = strtod(argv[*i + 1], &end);
    if (*argv[*i + 1] && !*end && v >= 0) *wait_s = v, (*i)++;
  }
  return 1;
}

/* --retry S: seconds, a number >= 0. */
static sprec_err take_retry(const char *v, double *retry_s)
{
  char *end;
  double s = strtod(v, &end);
  SPREC_CHECK(*v && !*end && s >= 0 && s <= 86400, SPREC_ERR_ARG,
              "--retry must be a number of seconds in [0, 86400] (got '%s')", v);
  *retry_s = s;
  return SPREC_OK;
}

/* "Idempotency-Key: " and 128 random bits in hex. */
static sprec_err random_key(char *hdr, size_t len)
{
  unsigned char r[16];
  FILE *f = fopen("/dev/urandom", "rb");
  int ok = f && fread(r, 1, sizeof r, f) == sizeof r;
  if (f) fclose(f);
  SPREC_CHECK(ok, SPREC_ERR_IO, "cannot read /dev/urandom for an idempotency key");
  int n = snprintf(hdr, len, "Idempotency-Key: ");
  for (int i = 0; i < 16; i++) n += snprintf(hdr + n, len - (size_t)n, "%02x", r[i]);
  return SPREC_OK;
}

/* A solver option (--step-rule → step_rule), checked as the service will check it,
 * added to the request's query. */
static sprec_err take_option(const char *f, const char *v, sprec_opts *o, serve_run_fields *rf, char *query,
                             size_t qlen)
{
  char name[64];
  SPREC_CHECK(f[0] == '-' && strlen(f) < sizeof name, SPREC_ERR_ARG, "submit: unexpected argument '%s'", f);
  snprintf(name, sizeof name, "%s", f + (f[1] == '-' ? 2 : 1));
  for (char *c = name; *c; c++)
    if (*c == '-') *c = '_';
  if (serve_opts_set(o, rf, name, v, 1)) return SPREC_ERROR(SPREC_ERR_ARG, "submit: %s: %s", f, sprec_errmsg());
  char *ev = curl_easy_escape(NULL, v, 0);
  snprintf(query + strlen(query), qlen - strlen(query), "%s%s=%s", *query ? "&" : "?", name, ev ? ev : v);
  curl_free(ev);
  return SPREC_OK;
}

sprec_err cmd_submit(int argc, char **argv)
{
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (cli_help(argc, argv, help_submit)) return SPREC_OK;
  const char *ep = NULL, *yf = NULL, *out = NULL, *idem = NULL;
  int wait = 0;
  double wait_s = 0, retry_s = 60;
  char query[2048] = "";
  sprec_opts o;
  serve_run_fields rf = {0, 0};
  sprec_opts_default(&o);
  for (int i = 1; i < argc; i++) {
    const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(f, "--wait")) {
      wait = take_wait(argc, argv, &i, &wait_s);
      continue;
    }
    SPREC_CHECK(v, SPREC_ERR_ARG, "submit: option %s needs a value", f);
    i++;
    if (!strcmp(f, "--endpoint")) ep = v;
    else if (!strcmp(f, "--y")) yf = v;
    else if (!strcmp(f, "--out")) out = v;
    else if (!strcmp(f, "--idempotency-key")) {
      idem = v; /* checked here as the service checks it: refused before anything is sent */
      if (serve_idem_key_check(idem))
        return SPREC_ERROR(SPREC_ERR_ARG, "submit: --idempotency-key: %s", sprec_errmsg() + strlen("Idempotency-Key: "));
    } else if (!strcmp(f, "--retry")) SPREC_CALL(take_retry(v, &retry_s));
    else SPREC_CALL(take_option(f, v, &o, &rf, query, sizeof query));
  }
  SPREC_CHECK(ep && yf, SPREC_ERR_ARG, "submit: --endpoint FILE and --y FILE are required");
  SPREC_CALL(serve_opts_check(&o, &rf, 0, 0));
  SPREC_CALL(check_files(ep, yf, wait ? out : NULL));
  if (rank != 0) return SPREC_OK;
  endpoint e;
  SPREC_CALL(read_endpoint(ep, &e));
  e.retry_s = retry_s;
  FILE *f = fopen(yf, "rb");
  SPREC_CHECK(f, SPREC_ERR_IO, "--y %s: %s", yf, strerror(errno));
  buffer y = {NULL, 0};
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    if (!gather(chunk, 1, n, &y)) break;
  fclose(f);
  sprec_npy_info in;
  sprec_err err = y.p ? sprec_npy_parse(yf, y.p, y.len, &in) : SPREC_ERROR(SPREC_ERR_IO, "--y %s: empty", yf);
  char path[2200], hdr[300], *reply = NULL, id[64] = "";
  long code = 0;
  snprintf(path, sizeof path, "/v1/solves%s", query);
  if (idem) snprintf(hdr, sizeof hdr, "Idempotency-Key: %s", idem);
  else if (!err) err = random_key(hdr, sizeof hdr);
  if (!err)
    err = call_retry(&e, "POST", path, "application/x-npy", y.p, y.len, hdr, &code, &reply, 0, 0);
  free(y.p);
  if (!err && code != 202) err = http_error(code, reply);
  if (!err) {
    cJSON *j = cJSON_Parse(reply);
    const cJSON *i = cJSON_GetObjectItemCaseSensitive(j, "id");
    if (cJSON_IsString(i)) snprintf(id, sizeof id, "%s", i->valuestring);
    cJSON_Delete(j);
    if (!*id) err = SPREC_ERROR(SPREC_ERR_IO, "the service's reply has no id: %s", reply);
  }
  free(reply);
  if (err) return err;
  if (!wait) {
    printf("%s\n", id);
    return SPREC_OK;
  }
  return wait_and_report(&e, id, wait_s, out);
}

sprec_err cmd_status(int argc, char **argv)
{
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (cli_help(argc, argv, help_status)) return SPREC_OK;
  const char *ep = NULL, *out = NULL, *id = NULL;
  double wait_s = 0, retry_s = 60;
  for (int i = 1; i < argc; i++) {
    const char *f = argv[i];
    if (!strcmp(f, "--wait")) take_wait(argc, argv, &i, &wait_s);
    else if (!strcmp(f, "--endpoint") && i + 1 < argc) ep = argv[++i];
    else if (!strcmp(f, "--out") && i + 1 < argc) out = argv[++i];
    else if (!strcmp(f, "--retry") && i + 1 < argc) SPREC_CALL(take_retry(argv[++i], &retry_s));
    else if (f[0] != '-' && !id) id = f;
    else return SPREC_ERROR(SPREC_ERR_ARG, "status: unexpected argument '%s'", f);
  }
  SPREC_CHECK(id && ep, SPREC_ERR_ARG, "status: give the request ID and --endpoint FILE");
  SPREC_CHECK(strspn(id, "0123456789abcdef") == strlen(id) && strlen(id) <= 32, SPREC_ERR_ARG,
              "status: '%s' is not a request id", id);
  SPREC_CALL(check_files(ep, NULL, out));
  if (rank != 0) return SPREC_OK;
  endpoint e;
  SPREC_CALL(read_endpoint(ep, &e));
  e.retry_s = retry_s;
  return wait_and_report(&e, id, wait_s, out);
}
