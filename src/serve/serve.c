/* sprec serve: the dictionary loaded once across the ranks, solve requests queued,
 * batched and answered over HTTP, nothing lost when the job dies.
 *
 * Every rank holds its block of A and the norm estimate, made once. Rank 0 runs the
 * HTTP server (http.c, its own threads) and keeps the state (store*.c); every rank runs
 * the dispatch loop (dispatch.c). SIGTERM or SIGUSR1 (a SLURM time limit): new requests
 * get 503, the running batch finishes, every rank exits 0; queued requests wait in the
 * state directory for the next start.
 *
 * The start-up, in this order, so that a refusal costs no reading of A and changes
 * nothing: the state directory's lock (guard.c: one service per state, waited for up
 * to --start-wait), the state's integrity (state.c), then A and its fingerprint, the
 * fingerprint against the state's (store.c), the listening port (waited for too),
 * and only then endpoint.json. */
#include "serve.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char help[] =
    "usage: sprec serve (--A FILE.npy|FILE.h5:/DSET | --problem gaussian|deconv|hadamard -m M -n N [--seed S]\n"
    "                   [--width W]) --state DIR [--listen HOST:PORT] [--max-batch B]\n"
    "                   [--max-wait-ms T] [--max-queue Q] [--max-body BYTES] [--max-k K]\n"
    "                   [--dtype float64|float32] [--new-dictionary] [--start-wait S]\n"
    "                   [--checkpoint-every N] [--backup-every S] [--backup-keep K]\n"
    "       sprec serve --recover DIR\n"
    "Serves solve requests against one dictionary, held by the ranks for the whole run.\n"
    "  --state DIR      requests and results (SQLite), DIR/endpoint.json (URL and token,\n"
    "                   mode 0600); a restart on the same DIR runs what was left queued.\n"
    "                   One service per DIR (DIR/lock); DIR is for the dictionary it was\n"
    "                   made with: another one is refused\n"
    "  --listen H:P     default 127.0.0.1:0 (loopback, any free port; see endpoint.json)\n"
    "  --max-batch B    requests solved together, sharing passes over A (default 64)\n"
    "  --max-wait-ms T  how long a lone request waits for others to batch with (default 20);\n"
    "                   while they keep coming (gaps under T/2), up to 4 T\n"
    "  --max-queue Q    queued requests accepted (default 100000; more: 429)\n"
    "  --max-body N     request body limit in bytes (default 67108864)\n"
    "  --max-k K        largest k accepted (default min(m, n))\n"
    "  --dtype T        float64 (default) or float32: A held in single precision (half the\n"
    "                   memory and bandwidth; results as sprec solve --dtype float32's)\n"
    "  --new-dictionary serve another dictionary than DIR's: the requests still waiting\n"
    "                   fail (never solved against it), and DIR is for this one from now on\n"
    "  --start-wait S   how long a start waits for DIR's lock (a service that is stopping)\n"
    "                   and for the --listen port (default 10)\n"
    "  --checkpoint-every N  a batch whose iteration budget is above N writes a checkpoint\n"
    "                   (DIR/batch-ID.ckpt) every N iterations: a restart resumes it\n"
    "                   (default 100; 0: none)\n"
    "  --backup-every S a copy of the state every S seconds when it has changed, in\n"
    "                   DIR/backups/state-TIME.sqlite (default 0: none); --backup-keep K:\n"
    "                   the newest K kept (default 3)\n"
    "  --recover DIR    copy every readable request and result of a damaged\n"
    "                   DIR/state.sqlite into a fresh one (the damaged file kept beside it)\n"
    "                   and list what was lost; one rank, no dictionary\n";

static void on_stop(int sig)
{
  (void)sig;
  serve_stopping = 1;
}

/* --name value pairs (the service has few options: no need for the CLI's table). */
static sprec_err parse_args(int argc, char **argv, serve_args *a)
{
  *a = (serve_args){.listen = "127.0.0.1:0", .dtype = "float64", .max_batch = 64, .max_wait_ms = 20,
                    .max_queue = 100000, .max_body = (size_t)64 << 20, .seed = 1, .width = 0.02,
                    .start_wait = 10, .checkpoint_every = 100, .backup_keep = 3};
  for (int i = 1; i < argc; i++) {
    const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    char *end = NULL;
    errno = 0;
    if (!strcmp(f, "--new-dictionary")) { /* (the one flag without a value) */
      a->new_dictionary = 1;
      continue;
    }
    SPREC_CHECK(v, SPREC_ERR_ARG, "serve: option %s needs a value", f);
    i++;
    if (!strcmp(f, "--A")) a->A = v;
    else if (!strcmp(f, "--problem")) a->problem = v;
    else if (!strcmp(f, "--state")) a->state = v;
    else if (!strcmp(f, "--recover")) a->recover = v;
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
    else if (!strcmp(f, "--start-wait")) a->start_wait = strtod(v, &end);
    else if (!strcmp(f, "--checkpoint-every")) a->checkpoint_every = (int)strtol(v, &end, 10);
    else if (!strcmp(f, "--backup-every")) a->backup_every = strtod(v, &end);
    else if (!strcmp(f, "--backup-keep")) a->backup_keep = (int)strtol(v, &end, 10);
    else return SPREC_ERROR(SPREC_ERR_ARG, "serve: unknown option '%s' (see 'sprec serve --help')", f);
    SPREC_CHECK(!end || (!*end && !errno && *v), SPREC_ERR_ARG, "serve: %s: '%s' is not a number", f, v);
  }
  if (a->recover) return SPREC_OK; /* (no other option applies) */
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
  SPREC_CHECK(a->start_wait >= 0 && a->start_wait <= 86400 && a->checkpoint_every >= 0 &&
                  (a->backup_every == 0 || (a->backup_every >= 1 && a->backup_every <= 1e7)) &&
                  a->backup_keep >= 1,
              SPREC_ERR_ARG,
              "serve: --start-wait must be in [0, 86400], --checkpoint-every >= 0, --backup-every 0 "
              "or in [1, 1e7] seconds, --backup-keep >= 1");
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

/* Rank 0, before anything is read or written: DIR made, its lock taken (waited for
 * while another service holds it), its state checked. *lock: the lock's descriptor. */
static sprec_err claim_state(const serve_args *a, int *lock)
{
  struct stat sb;
  if ((stat(a->state, &sb) != 0 || !S_ISDIR(sb.st_mode)) && mkdir(a->state, 0700) != 0)
    return SPREC_ERROR(SPREC_ERR_IO, "serve: --state %s: cannot create directory: %s", a->state,
                       strerror(errno));
  SPREC_CALL(serve_lock_take(a->state, a->start_wait, lock));
  return serve_state_check(a->state);
}

/* Rank 0, once A is loaded: the state opened, its dictionary checked (refused: exit 2),
 * the HTTP server started (the port waited for up to --start-wait), the backups. */
static sprec_err open_service(const serve_args *a, sprec_op A, const char *fp, serve_shared *sh,
                              serve_store **st, serve_http **http, serve_backup **bk)
{
  int64_t m = sprec_op_rows(A), n = sprec_op_cols(A), failed = 0;
  serve_http_conf conf = {a->state, a->listen, m, n, a->max_body, a->max_queue,
                          a->max_k > 0 ? a->max_k : (m < n ? m : n)};
  SPREC_CALL(serve_store_open(a->state, 1, st));
  SPREC_CALL(serve_store_dictionary(*st, fp, a->new_dictionary, &failed));
  if (failed)
    printf("sprec serve: --new-dictionary: %lld requests still waiting for the dictionary DIR was "
           "made for failed (not solved)\n", (long long)failed);
  if (!serve_store_resume_pending(*st)) serve_remove_checkpoints(a->state); /* of no batch */
  struct timespec tick = {0, 100000000};
  double waited = 0;
  sprec_err err;
  while ((err = serve_http_start(&conf, sh, http)) == SPREC_ERR_IO && waited < a->start_wait) {
    if (waited == 0)
      printf("sprec serve: %s: %s; waiting up to %g s\n", a->listen, sprec_errmsg(), a->start_wait);
    fflush(stdout);
    nanosleep(&tick, NULL);
    waited += 0.1;
  }
  SPREC_CALL(err);
  if (a->backup_every > 0) SPREC_CALL(serve_backup_start(a->state, a->backup_every, a->backup_keep, bk));
  return SPREC_OK;
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
  int lock = -1;
  sprec_err err = parse_args(argc, argv, &a);
  if (!err && a.recover) { /* rank 0 alone: no dictionary, no MPI */
    int rc = rank == 0 ? serve_state_recover(a.recover) : 0;
    MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return rc;
  }
  if (!err && rank == 0) err = claim_state(&a, &lock);
  int bad = err ? 2 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (bad) {
    if (rank == 0) fprintf(stderr, "sprec serve: error: %s\n", err ? sprec_errmsg() : "bad arguments");
    if (lock >= 0) close(lock);
    return bad;
  }
  struct sigaction sa = {0};
  sa.sa_handler = on_stop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);
  serve_shared sh = {0};
  sh.stop_signal = &serve_stopping;
  pthread_mutex_init(&sh.mu, NULL);
  pthread_cond_init(&sh.submitted, NULL);
  pthread_cond_init(&sh.finished, NULL);
  serve_watch_launcher(&sh, rank);

  sprec_ctx ctx = NULL;
  sprec_op A = NULL;
  double L;
  char fp[SPREC_FINGERPRINT_LEN];
  err = sprec_ctx_create(MPI_COMM_WORLD, &ctx);
  if (!err) err = load_dictionary(ctx, &a, &A);
  if (!err) err = sprec_op_norm2_est(A, &L); /* once: every batch reuses it */
  if (!err) err = sprec_op_fingerprint(A, fp, sizeof fp);
  if (err) {
    if (rank == 0) fprintf(stderr, "sprec serve: error: %s\n", sprec_errmsg());
    sprec_op_destroy(&A);
    sprec_ctx_destroy(&ctx);
    if (lock >= 0) close(lock);
    return err == SPREC_ERR_ARG || err == SPREC_ERR_IO || err == SPREC_ERR_FORMAT ? 2 : 1;
  }
  MPI_Comm comm = sprec_ctx_comm(ctx);
  serve_store *st = NULL;
  serve_http *http = NULL;
  serve_backup *bk = NULL;
  int fail = 0;
  if (rank == 0) {
    err = open_service(&a, A, fp, &sh, &st, &http, &bk);
    fail = err == SPREC_ERR_ARG ? 2 : err ? 1 : 0; /* (another dictionary: bad input) */
    if (fail) fprintf(stderr, "sprec serve: error: %s\n", sprec_errmsg());
    else
      printf("sprec serve: m=%lld n=%lld on %d ranks, state %s/ (endpoint.json)\n",
             (long long)sprec_op_rows(A), (long long)sprec_op_cols(A), sprec_ctx_size(ctx), a.state);
    fflush(stdout);
  }
  MPI_Allreduce(MPI_IN_PLACE, &fail, 1, MPI_INT, MPI_MAX, comm);

  if (!fail) serve_loop(ctx, A, st, &sh, &a);
  serve_http_stop(&http);
  serve_backup_stop(&bk);
  serve_store_close(&st);
  sprec_op_destroy(&A);
  sprec_ctx_destroy(&ctx);
  if (rank == 0 && !fail) printf("sprec serve: stopped\n");
  if (lock >= 0) close(lock); /* (last: no other service touches DIR before we are done) */
  return fail;
}
