/* sprec serve: the dictionary loaded once across the ranks, solve requests queued,
 * batched and answered over HTTP, nothing lost when the job dies.
 *
 * Every rank holds its block of A and the norm estimate, made once. Rank 0 runs the
 * HTTP server (http.c, its own threads) and the dispatch: it takes the next
 * micro-batch of queued requests that can share passes over A (same algorithm and
 * options, up to --max-batch, waiting at most --max-wait-ms for more), broadcasts it,
 * every rank solves it with sprec_solver_solve_batch, and rank 0 stores each result.
 * The other ranks wait for the next batch in a non-blocking broadcast, tested every
 * millisecond, not spinning. SIGTERM or SIGUSR1 (a SLURM time limit): new requests get
 * 503, the running batch finishes, every rank exits 0; queued requests wait in the
 * state directory for the next start. */
#include "serve.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char help[] =
    "usage: sprec serve (--A FILE.npy|FILE.h5:/DSET | --problem gaussian|deconv|hadamard -m M -n N [--seed S]\n"
    "                   [--width W]) --state DIR [--listen HOST:PORT] [--max-batch B]\n"
    "                   [--max-wait-ms T] [--max-queue Q] [--max-body BYTES] [--max-k K]\n"
    "                   [--dtype float64|float32]\n"
    "Serves solve requests against one dictionary, held by the ranks for the whole run.\n"
    "  --state DIR      requests and results (SQLite), DIR/endpoint.json (URL and token,\n"
    "                   mode 0600); a restart on the same DIR runs what was left queued\n"
    "  --listen H:P     default 127.0.0.1:0 (loopback, any free port; see endpoint.json)\n"
    "  --max-batch B    requests solved together, sharing passes over A (default 64)\n"
    "  --max-wait-ms T  how long a lone request waits for others to batch with (default 20);\n"
    "                   while they keep coming (gaps under T/2), up to 4 T\n"
    "  --max-queue Q    queued requests accepted (default 100000; more: 429)\n"
    "  --max-body N     request body limit in bytes (default 67108864)\n"
    "  --max-k K        largest k accepted (default min(m, n))\n"
    "  --dtype T        float64 (default) or float32: A held in single precision (half the\n"
    "                   memory and bandwidth; results as sprec solve --dtype float32's)\n";

static volatile sig_atomic_t stopping = 0;
static void on_stop(int sig)
{
  (void)sig;
  stopping = 1;
}

static double now_s(void)
{
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct {
  const char *A, *problem, *state, *listen, *dtype;
  int64_t m, n, max_k, max_queue;
  uint64_t seed;
  double width;
  int max_batch, max_wait_ms;
  size_t max_body;
} serve_args;

/* --name value pairs (the service has few options: no need for the CLI's table). */
static sprec_err parse_args(int argc, char **argv, serve_args *a)
{
  *a = (serve_args){.listen = "127.0.0.1:0", .dtype = "float64", .max_batch = 64, .max_wait_ms = 20,
                    .max_queue = 100000, .max_body = (size_t)64 << 20, .seed = 1, .width = 0.02};
  for (int i = 1; i < argc; i++) {
    const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    char *end = NULL;
    errno = 0;
    SPREC_CHECK(v, SPREC_ERR_ARG, "serve: option %s needs a value", f);
    i++;
    if (!strcmp(f, "--A")) a->A = v;
    else if (!strcmp(f, "--problem")) a->problem = v;
    else if (!strcmp(f, "--state")) a->state = v;
    else if (!strcmp(f, "--listen")) a->listen = v;
    else if (!strcmp(f, "-m")) a->m = strtoll(v, &end, 10);
    else if (!strcmp(f, "-n")) a->n = strtoll(v, &end, 10);
    else if (!strcmp(f, "--seed")) a->seed = strtoull(v, &end, 10);
    else if (!strcmp(f, "--width")) a->width = strtod(v, &end);
    else if (!strcmp(f, "--max-batch")) a->max_batch = (int)strtol(v, &end, 10);
    else if (!strcmp(f, "--max-wait-ms")) a->max_wait_ms = (int)strtol(v, &end, 10);
    else if (!strcmp(f, "--max-queue")) a->max_queue = strtoll(v, &end, 10);
    else if (!strcmp(f, "--max-body")) a->max_body = (size_t)strtoull(v, &end, 10);
    else if (!strcmp(f, "--max-k")) a->max_k = strtoll(v, &end, 10);
    else if (!strcmp(f, "--dtype")) a->dtype = v;
    else return SPREC_ERROR(SPREC_ERR_ARG, "serve: unknown option '%s' (see 'sprec serve --help')", f);
    SPREC_CHECK(!end || (!*end && !errno && *v), SPREC_ERR_ARG, "serve: %s: '%s' is not a number", f, v);
  }
  SPREC_CHECK(a->state, SPREC_ERR_ARG, "serve: --state DIR is required");
  SPREC_CHECK(!a->A != !a->problem, SPREC_ERR_ARG, "serve: give --A FILE or --problem NAME");
  SPREC_CHECK(!a->problem || !strcmp(a->problem, "gaussian") || !strcmp(a->problem, "deconv") ||
                  !strcmp(a->problem, "hadamard"),
              SPREC_ERR_ARG, "serve: --problem: unknown problem '%s' (gaussian, deconv or hadamard)",
              a->problem);
  SPREC_CHECK(!strcmp(a->dtype, "float64") || !strcmp(a->dtype, "float32"), SPREC_ERR_ARG,
              "serve: --dtype: unknown type '%s' (float64 or float32)", a->dtype);
  SPREC_CHECK(!a->problem || (a->m >= 1 && a->n >= 1), SPREC_ERR_ARG,
              "serve: --problem needs -m and -n");
  SPREC_CHECK(a->max_batch >= 1 && a->max_wait_ms >= 0 && a->max_queue >= 1 && a->max_body >= 1024,
              SPREC_ERR_ARG,
              "serve: --max-batch, --max-queue must be >= 1, --max-wait-ms >= 0, --max-body >= 1024");
  return SPREC_OK;
}

/* The dictionary, every rank its block. */
static sprec_err load_dictionary(sprec_ctx ctx, const serve_args *a, sprec_op *A)
{
  if (a->problem) {
    sprec_problem P;
    sprec_problem_default(&P);
    P.kind = !strcmp(a->problem, "deconv")     ? SPREC_PROBLEM_DECONV
             : !strcmp(a->problem, "hadamard") ? SPREC_PROBLEM_HADAMARD
                                               : SPREC_PROBLEM_GAUSSIAN;
    P.m = a->m, P.n = a->n, P.k = 1, P.seed = a->seed, P.width = a->width;
    P.single = !strcmp(a->dtype, "float32");
    double *y = NULL;
    sprec_sparse xt = {0};
    sprec_err err = sprec_problem_generate(ctx, &P, A, &y, &xt);
    sprec_free(y);
    sprec_sparse_free(&xt);
    return err;
  }
  /* As sprec solve loads it (.npy, FILE.h5:/dataset, ...): each rank its block of columns, on huge pages (2 MiB
   * aligned: the passes over A read it 15-30% faster than from plain malloc'ed memory
   * where THP is 'madvise'), every value checked finite. */
  return sprec_op_load(ctx, a->A, strcmp(a->dtype, "float32") ? SPREC_FLOAT64 : SPREC_FLOAT32, A);
}

/* What rank 0 broadcasts for each round: the batch (count > 0), idle (never sent), or
 * the end (count < 0). */
typedef struct {
  int64_t count, opts_len;
} round_head;

/* A non-blocking broadcast from rank 0, completed by testing every millisecond: an
 * idle rank sleeps instead of spinning in the MPI progress loop. */
static void bcast_wait(void *buf, int count, MPI_Datatype t, MPI_Comm comm)
{
  MPI_Request rq;
  int done = 0;
  MPI_Ibcast(buf, count, t, 0, comm, &rq);
  const struct timespec ms = {0, 1000000};
  for (;;) {
    MPI_Test(&rq, &done, MPI_STATUS_IGNORE);
    if (done) break;
    nanosleep(&ms, NULL);
  }
}

/* Rank 0: the next batch to solve (*count, options, Y), or *count 0 when the queue
 * stays empty for a while (then it is asked again). The oldest queued request waits
 * max_wait_ms for companions with its options; while they are still arriving (one
 * within the last max_wait_ms / 2: a burst from many clients), the batch goes on
 * filling, up to max_batch requests or 4 max_wait_ms. (Starting at max_wait_ms alone
 * cut bursts of 64 in two batches, 14 + 50 or 35 + 29: a second round of passes over A,
 * +10% measured at m = 1000, n = 200000.) */
static sprec_err next_batch(serve_store *st, serve_shared *sh, const serve_args *a, int64_t m,
                            char (*ids)[33], char **opts, double **Y, int *count)
{
  const double wait = a->max_wait_ms / 1e3, quiet = wait / 2, cap = 4 * wait;
  *count = 0;
  for (int tries = 0; tries < 50 && !stopping; tries++) {
    double age, newest, oldest;
    int same, queued;
    /* A queue that cannot be peeked at is looked at again, like an empty one: only
     * taking from it can fail the service. */
    if (serve_store_peek(st, now_s(), &age, &same, &newest, &queued) != SPREC_OK) queued = 0;
    double wait_s = 0.05; /* nothing queued: look again soon (a submission wakes us) */
    if (queued) {
      wait_s = fmax(wait - age, quiet - newest);
      if (wait_s > cap - age) wait_s = cap - age;
      if (same >= a->max_batch || wait_s <= 0)
        return serve_store_take(st, a->max_batch, m, ids, opts, Y, &oldest, count);
    }
    if (wait_s > 0.1) wait_s = 0.1; /* and look at the stop flag at least that often */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    double t = (double)until.tv_sec + 1e-9 * (double)until.tv_nsec + wait_s;
    until.tv_sec = (time_t)t;
    until.tv_nsec = (long)((t - floor(t)) * 1e9);
    pthread_mutex_lock(&sh->mu);
    pthread_cond_timedwait(&sh->submitted, &sh->mu, &until);
    pthread_mutex_unlock(&sh->mu);
  }
  return SPREC_OK;
}

/* Every rank: solve a batch; rank 0 stores the results (or the error, for each). */
static void solve_round(sprec_ctx ctx, sprec_op A, serve_store *st, serve_shared *sh,
                        const char *opts_json, int b, const double *Y, char (*ids)[33])
{
  sprec_opts o;
  sprec_sparse *x = calloc((size_t)b, sizeof *x);
  sprec_stats *stt = calloc((size_t)b, sizeof *stt), all;
  char why[512] = "";
  int rank = sprec_ctx_rank(ctx);
  sprec_err err = x && stt ? SPREC_OK : SPREC_ERROR(SPREC_ERR_MEM, "out of memory (a batch of %d)", b);
  /* The stored options are {name: text}: set each, check them (as when submitted). */
  cJSON *oj = err ? NULL : cJSON_Parse(opts_json);
  if (!err && !oj) err = SPREC_ERROR(SPREC_ERR_FORMAT, "the stored options are not JSON");
  if (!err) {
    serve_run_fields rf = {0, 0};
    sprec_opts_default(&o);
    for (const cJSON *it = oj->child; it && !err; it = it->next)
      err = cJSON_IsString(it) ? serve_opts_set(&o, &rf, it->string, it->valuestring)
                               : SPREC_ERROR(SPREC_ERR_FORMAT, "the stored option %s is not text",
                                             it->string);
    if (!err) err = serve_opts_check(&o, &rf, sprec_op_rows(A), sprec_op_cols(A));
  }
  cJSON_Delete(oj);
  double t0 = now_s();
  sprec_solver s = NULL;
  if (!err) err = sprec_solver_create(ctx, &o, &s);
  if (!err) err = sprec_solver_solve_batch(s, A, b, Y, NULL, x, stt);
  if (s) sprec_solver_get_stats(s, &all);
  sprec_solver_destroy(&s);
  double dt = now_s() - t0;
  if (err) snprintf(why, sizeof why, "%s", sprec_errmsg()); /* before the store's calls */
  if (rank == 0) {
    sprec_result r = {.b = b, .x = x, .st = stt, .all = &all};
    int done = 0, failed = 0;
    char **texts = calloc((size_t)b, sizeof *texts);
    for (int p = 0; texts && p < b; p++) {
      texts[p] = err ? NULL : sprec_result_json(ctx, &o, A, &r, p);
      if (texts[p]) done++;
      else failed++;
    }
    /* One transaction for the batch: one sync to disk for its b results. */
    if (!texts || serve_store_finish_batch(st, b, ids, texts, err ? why : "cannot write the result") != SPREC_OK) {
      fprintf(stderr, "sprec serve: error: cannot store the results of a batch of %d: they will be "
                      "solved again at the next start\n", b);
      done = failed = 0;
    }
    for (int p = 0; texts && p < b; p++) sprec_free(texts[p]);
    free(texts);
    pthread_mutex_lock(&sh->mu);
    sh->done += (uint64_t)done;
    sh->failed += (uint64_t)failed;
    sh->batches++;
    sh->passes += err ? 0 : (uint64_t)all.apply_T_passes;
    int bucket = 0;
    while (bucket < 7 && b >= (2 << bucket)) bucket++;
    sh->batch_sizes[bucket]++;
    int h = 0;
    while (h < 11 && dt > serve_solve_buckets[h]) h++;
    sh->solve_hist[h] += (uint64_t)b;
    sh->solve_sum += dt * b;
    pthread_cond_broadcast(&sh->finished);
    pthread_mutex_unlock(&sh->mu);
  }
  for (int p = 0; x && p < b; p++) sprec_sparse_free(&x[p]);
  free(x);
  free(stt);
}

/* 503 from now on, and every ?wait answered at once: the service stops taking work. */
static void set_draining(serve_shared *sh)
{
  pthread_mutex_lock(&sh->mu);
  sh->draining = 1;
  pthread_cond_broadcast(&sh->finished);
  pthread_mutex_unlock(&sh->mu);
}

/* Collective: rank 0 takes each batch from the queue and broadcasts it, every rank
 * solves it; until a stop signal has come and the running batch is done. */
static void serve_loop(sprec_ctx ctx, sprec_op A, serve_store *st, serve_shared *sh,
                       const serve_args *a)
{
  MPI_Comm comm = sprec_ctx_comm(ctx);
  int rank = sprec_ctx_rank(ctx);
  int64_t m = sprec_op_rows(A);
  char(*ids)[33] = malloc((size_t)a->max_batch * sizeof *ids);
  for (;;) {
    round_head hd = {0, 0};
    char *opts = NULL;
    double *Y = NULL;
    if (rank == 0) {
      int b = 0;
      sprec_err err = SPREC_OK;
      while (!err && b == 0 && !stopping) err = next_batch(st, sh, a, m, ids, &opts, &Y, &b);
      if (err) fprintf(stderr, "sprec serve: error: cannot read the queue\n"), stopping = 1;
      if (stopping && b <= 0) set_draining(sh);
      hd.count = stopping && b <= 0 ? -1 : b;
      hd.opts_len = opts ? (int64_t)strlen(opts) + 1 : 0;
    }
    bcast_wait(&hd, 2, MPI_INT64_T, comm);
    if (hd.count < 0) break;
    if (rank != 0) {
      opts = malloc((size_t)hd.opts_len);
      Y = malloc(sizeof(double) * (size_t)(m * hd.count));
    }
    MPI_Bcast(opts, (int)hd.opts_len, MPI_CHAR, 0, comm);
    MPI_Bcast(Y, (int)(m * hd.count), MPI_DOUBLE, 0, comm);
    solve_round(ctx, A, st, sh, opts, (int)hd.count, Y, ids);
    free(opts);
    free(Y);
    if (stopping && rank == 0) set_draining(sh); /* finish what runs, accept nothing new */
  }
  free(ids);
}

int serve_main(int argc, char **argv)
{
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      if (rank == 0) fputs(help, stdout);
      return 0;
    }
  serve_args a;
  sprec_err err = parse_args(argc, argv, &a);
  struct stat sb;
  if (!err && rank == 0 && (stat(a.state, &sb) != 0 || !S_ISDIR(sb.st_mode)) && mkdir(a.state, 0700) != 0)
    err = SPREC_ERROR(SPREC_ERR_IO, "serve: --state %s: cannot create directory: %s", a.state,
                      strerror(errno));
  int bad = err ? 2 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (bad) {
    if (rank == 0) fprintf(stderr, "sprec serve: error: %s\n", err ? sprec_errmsg() : "bad arguments");
    return bad;
  }
  struct sigaction sa = {0};
  sa.sa_handler = on_stop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);

  sprec_ctx ctx = NULL;
  sprec_op A = NULL;
  double L;
  err = sprec_ctx_create(MPI_COMM_WORLD, &ctx);
  if (!err) err = load_dictionary(ctx, &a, &A);
  if (!err) err = sprec_op_norm2_est(A, &L); /* once: every batch reuses it */
  if (err) {
    if (rank == 0) fprintf(stderr, "sprec serve: error: %s\n", sprec_errmsg());
    sprec_op_destroy(&A);
    sprec_ctx_destroy(&ctx);
    return err == SPREC_ERR_ARG || err == SPREC_ERR_IO || err == SPREC_ERR_FORMAT ? 2 : 1;
  }
  MPI_Comm comm = sprec_ctx_comm(ctx);
  int64_t m = sprec_op_rows(A), n = sprec_op_cols(A);

  serve_store *st = NULL;
  serve_http *http = NULL;
  serve_shared sh = {0};
  sh.stop_signal = &stopping;
  pthread_mutex_init(&sh.mu, NULL);
  pthread_cond_init(&sh.submitted, NULL);
  pthread_cond_init(&sh.finished, NULL);
  int fail = 0;
  if (rank == 0) {
    serve_http_conf conf = {a.state, a.listen, m, n, a.max_body, a.max_queue,
                            a.max_k > 0 ? a.max_k : (m < n ? m : n)};
    err = serve_store_open(a.state, 1, &st);
    if (!err) err = serve_http_start(&conf, &sh, &http);
    fail = err != SPREC_OK;
    if (fail) fprintf(stderr, "sprec serve: error: %s\n", sprec_errmsg());
    else {
      printf("sprec serve: m=%lld n=%lld on %d ranks, state %s/ (endpoint.json)\n",
             (long long)m, (long long)n, sprec_ctx_size(ctx), a.state);
      fflush(stdout);
    }
  }
  MPI_Allreduce(MPI_IN_PLACE, &fail, 1, MPI_INT, MPI_MAX, comm);

  if (!fail) serve_loop(ctx, A, st, &sh, &a);
  serve_http_stop(&http);
  serve_store_close(&st);
  sprec_op_destroy(&A);
  sprec_ctx_destroy(&ctx);
  if (rank == 0 && !fail) printf("sprec serve: stopped\n");
  return fail ? 1 : 0;
}
