/* sprec serve: the resident solver service (a front end, like src/cli/: it uses only
 * include/sprec.h). Rank 0 holds the durable state (SQLite, store.c) and runs the HTTP
 * server (http.c) on its own thread; every rank runs the dispatch loop (serve.c). */
#ifndef SPREC_SERVE_H
#define SPREC_SERVE_H

#include <pthread.h>
#include <signal.h>
#include <sprec.h>
#include <stdint.h>

/* ------------------------------------------------------------------ store -- */
/* Requests and results in SQLite (WAL, synchronous FULL): a request is stored before
 * it is acknowledged, a result before its status reads done. A connection may be
 * shared by threads (serialized mode: the HTTP server's threads share one). */
typedef struct serve_store serve_store;

typedef enum { ST_QUEUED, ST_RUNNING, ST_DONE, ST_FAILED, ST_CANCELLED } serve_status;
const char *serve_status_name(serve_status s);

/* Every function that can fail returns sprec_err, with the message where sprec_errmsg()
 * reads it on the calling thread. */

/* Opens (creates) DIR/state.sqlite. requeue: requests left running by a previous
 * process go back to the queue (call once, at start-up, before serving). */
sprec_err serve_store_open(const char *dir, int requeue, serve_store **st);
void serve_store_close(serve_store **st);

/* An Idempotency-Key against the stored ones: not stored, stored for the same request
 * (the same hash, or stored without one before keys were bound: a retry), or stored
 * for another request (other y or options). */
typedef enum { SERVE_IDEM_NEW, SERVE_IDEM_SAME, SERVE_IDEM_OTHER } serve_idem;

/* A new request. key: the options that must agree for requests to share a batch
 * (canonical text); opts: the options as JSON; y: m doubles. idem: the
 * Idempotency-Key or NULL; hash: what the request asks for (serve_request_hash), kept
 * with the key. On success *existing says whether idem was stored before; *id receives
 * the new request's id (33 bytes), or the stored one (SERVE_IDEM_SAME, and nothing is
 * added), or, for SERVE_IDEM_OTHER, the other request's (nothing added: refuse it).
 * Returns once the request is on disk (committed with the others submitted meanwhile,
 * by a writer thread of its own). */
sprec_err serve_store_add(serve_store *st, const char *key, const char *opts, const double *y,
                          int64_t m, const char *idem, const char *hash, char id[33],
                          serve_idem *existing);

/* *match: whether a request with this Idempotency-Key is stored, and for the request
 * of this hash (SERVE_IDEM_NEW on error). */
sprec_err serve_store_find_idem(serve_store *st, const char *idem, const char *hash, serve_idem *match);

typedef struct {
  char id[33];
  serve_status status;
  double created, started, finished; /* seconds since the epoch; 0: not yet    */
  char *result;                      /* JSON text (done) or error message (failed) */
} serve_request;
/* *found: 1, or 0 for an unknown id. Free r->result (NULL unless found). */
sprec_err serve_store_get(serve_store *st, const char *id, serve_request *r, int *found);
/* Cancels a queued request: *cancelled 1, or 0 when it is not queued (r->status says
 * what it is); an unknown id is SPREC_ERR_ARG. Free r->result. */
sprec_err serve_store_cancel(serve_store *st, const char *id, serve_request *r, int *cancelled);

/* The next batch: the oldest queued request and up to max - 1 more queued with the
 * same key, oldest first, marked running. ids: max x 33 bytes; opts: the first one's
 * options (malloc'ed); Y: m x count doubles (malloc'ed). *count: how many (0: queue
 * empty; 0 and nothing marked on error). oldest: created time of the oldest queued
 * request. */
sprec_err serve_store_take(serve_store *st, int max, int64_t m, char (*ids)[33], char **opts,
                           double **Y, double *oldest, int *count);
/* The age (seconds since created) of the oldest queued request, the number of queued
 * requests with its key and the age of the newest of them; *found 1, or 0 if the
 * queue is empty. */
sprec_err serve_store_peek(serve_store *st, double now, double *age, int *same_key,
                           double *newest_age, int *found);
/* Stores the outcome of a running request: JSON result (done) or message (failed). */
sprec_err serve_store_finish(serve_store *st, const char *id, int ok, const char *text);
/* The outcomes of a batch in one transaction (one sync to disk, not one per request):
 * texts[p] the JSON result of ids[p], or NULL: failed with message why. On error
 * nothing is stored (the requests stay running: queued again at the next start). */
sprec_err serve_store_finish_batch(serve_store *st, int b, char (*ids)[33], char *const *texts,
                                   const char *why);
/* Requests by status (queue depth for the metrics and the queue limit); *count -1 on
 * error. */
sprec_err serve_store_count(serve_store *st, serve_status s, int64_t *count);

/* ------------------------------------------------------------------- http -- */
typedef struct serve_http serve_http;

typedef struct {
  const char *state_dir;
  const char *listen;   /* "127.0.0.1:0" by default: HOST:PORT, port 0 = any      */
  int64_t m, n;         /* the dictionary's shape                                 */
  size_t max_body;      /* bytes                                                  */
  int64_t max_queue;    /* queued requests; more: 429                             */
  int64_t max_k;        /* k above this: 400                                      */
} serve_http_conf;

/* Shared between the HTTP thread and the dispatch loop (rank 0). */
typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t submitted; /* a request was stored                         */
  pthread_cond_t finished;  /* a result was stored                          */
  int draining;             /* no new requests: 503; waiters answered       */
  const volatile sig_atomic_t *stop_signal; /* set by SIGTERM/SIGUSR1: 503 at once,
                                             * while the running batch finishes     */
  /* metrics */
  uint64_t accepted, done, failed, cancelled, rejected, batches, passes;
  uint64_t batch_sizes[8];  /* 1, 2-3, 4-7, ..., 64-127, 128+                 */
  uint64_t solve_hist[12];  /* seconds: <= 0.001, 0.002, 0.005, ... 100, +Inf */
  double solve_sum;
} serve_shared;

extern const double serve_solve_buckets[11];

/* Starts the server (its own threads) on conf->listen, writes DIR/endpoint.json
 * (mode 0600: URL and a fresh 256-bit token). */
sprec_err serve_http_start(const serve_http_conf *conf, serve_shared *sh, serve_http **h);
void serve_http_stop(serve_http **h);

/* --------------------------------------------------------------- requests -- */
/* What a request's body and headers must be (request.c). */
#define SERVE_IDEM_MAX 255 /* an Idempotency-Key: 1 to 255 characters, ! to ~ */
/* An Idempotency-Key as the service takes it (the client checks it before sending). */
sprec_err serve_idem_key_check(const char *key);
struct cJSON;
/* *name: the member of a JSON object given more than once (the first repeat in the
 * text), or NULL. A request must not say k twice: cJSON keeps both, and which one
 * counts would depend on who reads it. */
sprec_err serve_request_repeated(const struct cJSON *obj, const char **name);
/* A solve request: its body (JSON with y and the options as members, or a .npy of y,
 * by ctype) and, for a .npy, the options as JSON members (query: the query string's;
 * kept by the caller). Into key (the options' canonical key, serve_request_options),
 * *opts (their stored text, malloc'ed) and y (m values); on error field names what is
 * wrong: Content-Type, body, y or the option. */
sprec_err serve_read_request(const char *ctype, const char *body, size_t len, struct cJSON *query, int64_t m,
                             int64_t n, int64_t max_k, char *key, size_t keylen, char **opts, double *y,
                             char field[64]);
/* y from the JSON member "y" (m finite numbers), or from a .npy body (m float64 or
 * float32 values, 1-D or m x 1) into y. */
sprec_err serve_y_from_json(const struct cJSON *obj, int64_t m, double *y);
sprec_err serve_y_from_npy(const char *body, size_t len, int64_t m, double *y);
/* The hash of what a request asks for, its canonical options key and its y as solved
 * (m doubles): SHA-256 in hex (65 bytes with the NUL). */
sprec_err serve_request_hash(const char *key, const double *y, int64_t m, char hex[65]);

/* ---------------------------------------------------------------- options -- */
/* The run-control fields a request may carry beside its options (options.c): monitor
 * (>= 0, no effect) and checkpoint_every (0 only). */
typedef struct {
  int monitor, checkpoint_every;
} serve_run_fields;
/* One field of a request: an option (sprec_opts_set) or one of the run-control fields. */
sprec_err serve_opts_set(sprec_opts *o, serve_run_fields *rf, const char *name, const char *value);
/* sprec_opts_check, then the run-control fields, with the messages of sprec_opts_check. */
sprec_err serve_opts_check(const sprec_opts *o, const serve_run_fields *rf, int64_t m, int64_t n);
/* The options of a request (a JSON object: every member but "y" is an option or a
 * run-control field) for a dictionary m x n, k at most max_k, into o; key: their
 * canonical text (requests with the same key share a batch), canon: the same as a JSON
 * object {name: text} (what is stored). On error, field names the member at fault. */
sprec_err serve_request_options(const struct cJSON *obj, int64_t m, int64_t n, int64_t max_k,
                                sprec_opts *o, char *key, size_t keylen, struct cJSON *canon,
                                char *field, size_t flen);

/* sprec serve: its exit status (it prints its own messages: "sprec serve: error: ..."). */
int serve_main(int argc, char **argv);

#endif
