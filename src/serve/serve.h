/* sprec serve: the resident solver service (a front end, like src/cli/: it uses only
 * include/sprec.h). Rank 0 holds the durable state (SQLite: store.c and store_batch.c;
 * checked, recovered and backed up: state.c, backup.c), guarded by its
 * lock (guard.c), and runs the HTTP server (http.c) on its own thread; every rank runs
 * the dispatch loop (dispatch.c); serve.c starts them. */
#ifndef SPREC_SERVE_H
#define SPREC_SERVE_H

#include <pthread.h>
#include <signal.h>
#include <sprec.h>
#include <stdint.h>
#include <sys/types.h>

/* ------------------------------------------------------------------ store -- */
/* Requests and results in SQLite (WAL, synchronous FULL): a request is stored before
 * it is acknowledged, a result before its status reads done. A connection may be
 * shared by threads (serialized mode: the HTTP server's threads share one). */
typedef struct serve_store serve_store;

typedef enum { ST_QUEUED, ST_RUNNING, ST_DONE, ST_FAILED, ST_CANCELLED } serve_status;
const char *serve_status_name(serve_status s);

/* Every function that can fail returns sprec_err, with the message where sprec_errmsg()
 * reads it on the calling thread. */

/* Opens (creates) DIR/state.sqlite. requeue: the start-up's open (once, before
 * serving): the tables made, or upgraded from the previous version's; the requests a
 * killed process left running in a batch are kept for the next take (that batch
 * resumed), those of no recorded batch go back to the queue. */
sprec_err serve_store_open(const char *dir, int requeue, serve_store **st);
void serve_store_close(serve_store **st);

/* An Idempotency-Key against the stored ones: not stored, stored for the same request
 * (the same hash, or stored without one before keys were bound: a retry), or stored
 * for another request (other y or options). */
typedef enum { SERVE_IDEM_NEW, SERVE_IDEM_SAME, SERVE_IDEM_OTHER } serve_idem;

/* At start-up, the dictionary's fingerprint (sprec_op_fingerprint) against the state's:
 * the same, nothing to do; none recorded (a new state, or the previous version's,
 * which recorded none: its requests adopt this one), recorded now. Another: with
 * replace (--new-dictionary), every queued or running request fails with the reason,
 * never solved (*failed: how many), in the transaction that records the new one;
 * without, SPREC_ERR_ARG naming both, nothing changed. Every request stored from then
 * on carries it. */
sprec_err serve_store_dictionary(serve_store *st, const char *fp, int replace, int64_t *failed);

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
 * same key, oldest first, marked running, recorded as the members of a new batch
 * (batch: its id) in this order. ids: max x 33 bytes; opts: the first one's options
 * (malloc'ed); Y: m x count doubles (malloc'ed). *count: how many (0: queue empty; 0
 * and nothing marked on error). oldest: created time of the oldest queued request.
 * The first take after a start whose state holds a batch a killed process left
 * running (serve_store_resume_pending) returns that batch instead, its members in
 * their order, with its id and *resumed = 1 (a batch of more than max members is
 * queued again instead). */
sprec_err serve_store_take(serve_store *st, int max, int64_t m, char (*ids)[33], char **opts,
                           double **Y, double *oldest, int *count, char batch[33], int *resumed);
/* 1 if the next take returns a batch a killed process left running. */
int serve_store_resume_pending(const serve_store *st);
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
  pid_t launcher; /* the MPI launcher's pid (our parent), 0 if none: once our parent
                   * is another, the job is dying: 503 at once (guard.c)            */
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

/* ---------------------------------------------------------------- serve.c -- */
typedef struct {
  const char *A, *problem, *state, *listen, *dtype;
  const char *recover; /* --recover DIR: that instead of serving                   */
  int64_t m, n, max_k, max_queue;
  uint64_t seed;
  double width;
  int max_batch, max_wait_ms;
  size_t max_body;
  int new_dictionary;   /* serve another dictionary than DIR's (store.c)         */
  double start_wait;    /* seconds a start waits for DIR's lock and the port          */
  int checkpoint_every; /* iterations between a long batch's checkpoints (0: none)    */
  double backup_every;  /* seconds between backups of the state (0: none)             */
  int backup_keep;      /* backups kept                                                */
} serve_args;

/* ------------------------------------------------------------- dispatch.c -- */
/* Set by SIGTERM and SIGUSR1: drain and stop. */
extern volatile sig_atomic_t serve_stopping;
/* Collective: rank 0 takes each batch from the queue and broadcasts it, every rank
 * solves it; until a stop signal has come and the running batch is done. */
void serve_loop(sprec_ctx ctx, sprec_op A, serve_store *st, serve_shared *sh, const serve_args *a);
/* Rank 0: the batches' checkpoint files in DIR (DIR/batch-*) removed. */
void serve_remove_checkpoints(const char *dir);

/* ---------------------------------------------------------------- guard.c -- */
/* One service per state directory: an exclusive lock (fcntl) on DIR/lock, which the
 * kernel releases when the process ends, however it ends. Waits up to wait_s seconds
 * while another process holds it (saying so once, on stdout); then SPREC_ERR_ARG
 * naming the holder (its pid, host and URL). *fd: the lock, held until closed. */
sprec_err serve_lock_take(const char *dir, double wait_s, int *fd);
/* When started by an MPI launcher (mpirun, srun): a thread that ends this process at
 * once when the launcher is gone (our parent changes), and sh->launcher set so that the
 * HTTP server answers 503 from that moment: a job being killed accepts nothing more. */
void serve_watch_launcher(serve_shared *sh, int rank);

/* ---------------------------------------------------------------- state.c -- */
/* DIR/state.sqlite checked (PRAGMA quick_check) without changing it; none yet is fine.
 * Damage: SPREC_ERR_FORMAT naming the file and the first fault, and --recover. */
sprec_err serve_state_check(const char *dir);
/* sprec serve --recover DIR: every readable request and result of DIR/state.sqlite
 * copied into a fresh state that replaces it (the old file kept as
 * DIR/state.sqlite.damaged-TIME), the lost ones listed on stdout ("lost ID (seq N)").
 * Its exit status: 0, 2 for a DIR that is in use or holds no state, 1 on failure. */
int serve_state_recover(const char *dir);
/* Periodic backups (SQLite's online backup API, on a thread of its own): every `every`
 * seconds, when the state has changed, DIR/backups/state-TIME.sqlite, a complete
 * database (rollback journal mode: copy it to DIR/state.sqlite to restore it); the
 * newest `keep` kept. A failed backup is reported on stderr; the service goes on. */
typedef struct serve_backup serve_backup;
sprec_err serve_backup_start(const char *dir, double every, int keep, serve_backup **b);
void serve_backup_stop(serve_backup **b);

/* ---------------------------------------------------------------- options -- */
/* The run-control fields a request may carry beside its options (options.c): monitor
 * (>= 0, no effect) and checkpoint_every (0 only). */
typedef struct {
  int monitor, checkpoint_every;
} serve_run_fields;
/* One field of a request: an option (sprec_opts_set) or one of the run-control fields.
 * given: a client's value (a request's member, a flag of submit), which must not be one
 * the options keep for their default (sprec_opts_check_given: step 0); 0 for the
 * stored options, read back by name. */
sprec_err serve_opts_set(sprec_opts *o, serve_run_fields *rf, const char *name, const char *value, int given);
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
