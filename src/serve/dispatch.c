/* The dispatch loop of sprec serve, on every rank: rank 0 takes the next micro-batch
 * of queued requests that can share passes over A (same algorithm and options, up to
 * --max-batch, waiting at most --max-wait-ms for more) and broadcasts it, every rank
 * solves it with sprec_solver_solve_batch, and rank 0 stores each result. The other
 * ranks wait for the next batch in a non-blocking broadcast, tested every millisecond,
 * not spinning.
 *
 * A batch that runs long writes the library's checkpoint every --checkpoint-every
 * iterations, to DIR/batch-ID.ckpt (ID: the batch's, recorded with its members in the
 * state). A service killed during the batch finds it at its next start: the same
 * members in the same order (the store keeps them), taken first, resumed from the
 * checkpoint, and ended exactly as an uninterrupted solve would have ended. */
#include "serve.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

volatile sig_atomic_t serve_stopping = 0;
#define stopping serve_stopping

static double now_s(void)
{
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* What rank 0 broadcasts for each round: the batch (count > 0), idle (never sent), or
 * the end (count < 0). */
typedef struct {
  int64_t count, opts_len;
  int64_t resume; /* 1: resume the batch from its checkpoint (rank 0 has seen the file) */
  char batch[40]; /* the batch's id: its checkpoint is DIR/batch-ID.ckpt             */
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
                            char (*ids)[33], char **opts, double **Y, int *count, round_head *hd)
{
  const double wait = a->max_wait_ms / 1e3, quiet = wait / 2, cap = 4 * wait;
  double oldest;
  int resumed = 0;
  *count = 0;
  if (serve_store_resume_pending(st)) { /* a batch a killed process left running: at once */
    SPREC_CALL(serve_store_take(st, a->max_batch, m, ids, opts, Y, &oldest, count, hd->batch, &resumed));
    hd->resume = resumed;
    return SPREC_OK;
  }
  for (int tries = 0; tries < 50 && !stopping; tries++) {
    double age, newest;
    int same, queued;
    /* A queue that cannot be peeked at is looked at again, like an empty one: only
     * taking from it can fail the service. */
    if (serve_store_peek(st, now_s(), &age, &same, &newest, &queued) != SPREC_OK) queued = 0;
    double wait_s = 0.05; /* nothing queued: look again soon (a submission wakes us) */
    if (queued) {
      wait_s = fmax(wait - age, quiet - newest);
      if (wait_s > cap - age) wait_s = cap - age;
      if (same >= a->max_batch || wait_s <= 0)
        return serve_store_take(st, a->max_batch, m, ids, opts, Y, &oldest, count, hd->batch, &resumed);
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

/* The stored options ({name: text}) set and checked, as when they were submitted. */
static sprec_err round_options(sprec_op A, const char *opts_json, sprec_opts *o)
{
  cJSON *oj = cJSON_Parse(opts_json);
  SPREC_CHECK(oj, SPREC_ERR_FORMAT, "the stored options are not JSON");
  serve_run_fields rf = {0, 0};
  sprec_err err = SPREC_OK;
  sprec_opts_default(o);
  for (const cJSON *it = oj->child; it && !err; it = it->next)
    err = cJSON_IsString(it) ? serve_opts_set(o, &rf, it->string, it->valuestring, 0)
                             : SPREC_ERROR(SPREC_ERR_FORMAT, "the stored option %s is not text", it->string);
  cJSON_Delete(oj);
  return err ? err : serve_opts_check(o, &rf, sprec_op_rows(A), sprec_op_cols(A));
}

/* Collective: the batch solved, with a checkpoint every `every` iterations to ck (0:
 * none), continuing the run saved in ck if resume. */
static sprec_err round_solve(sprec_ctx ctx, sprec_op A, const sprec_opts *o, int b, const double *Y,
                             const char *ck, int every, int resume, sprec_sparse *x, sprec_stats *stt,
                             sprec_stats *all)
{
  sprec_solver s = NULL;
  sprec_err err = sprec_solver_create(ctx, o, &s);
  if (!err && every) err = sprec_solver_set_checkpoint(s, ck, every);
  if (!err && resume) err = sprec_solver_set_resume(s, ck);
  if (!err) err = sprec_solver_solve_batch(s, A, b, Y, NULL, x, stt);
  if (s) sprec_solver_get_stats(s, all);
  sprec_solver_destroy(&s);
  return err;
}

/* Rank 0: every checkpoint file of a batch (DIR/batch-*: the file and a temporary one
 * a kill left) removed; one batch runs at a time, so none is wanted once it is done. */
void serve_remove_checkpoints(const char *dir)
{
  DIR *d = opendir(dir);
  struct dirent *e;
  char path[4400];
  while (d && (e = readdir(d)))
    if (!strncmp(e->d_name, "batch-", 6)) {
      snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
      unlink(path);
    }
  if (d) closedir(d);
}

/* Every rank: solve a batch; rank 0 stores the results (or the error, for each). */
static void solve_round(sprec_ctx ctx, sprec_op A, serve_store *st, serve_shared *sh, const serve_args *a,
                        const char *opts_json, int b, const double *Y, char (*ids)[33], const round_head *hd)
{
  sprec_opts o;
  sprec_sparse *x = calloc((size_t)b, sizeof *x);
  sprec_stats *stt = calloc((size_t)b, sizeof *stt), all;
  char why[512] = "", ck[4200];
  int rank = sprec_ctx_rank(ctx);
  sprec_err err = x && stt ? SPREC_OK : SPREC_ERROR(SPREC_ERR_MEM, "out of memory (a batch of %d)", b);
  if (!err) err = round_options(A, opts_json, &o);
  /* A checkpoint only where the budget may reach it (iters 0: the algorithm's
   * default, hundreds of iterations): each one written holds the state of b problems. */
  snprintf(ck, sizeof ck, "%s/batch-%s.ckpt", a->state, hd->batch);
  int every = !err && a->checkpoint_every > 0 && (o.iters == 0 || o.iters > a->checkpoint_every)
                  ? a->checkpoint_every
                  : 0;
  double t0 = now_s();
  if (!err) err = round_solve(ctx, A, &o, b, Y, ck, every, (int)hd->resume, x, stt, &all);
  if (err && hd->resume) { /* a checkpoint that cannot be resumed: the batch afresh */
    if (rank == 0)
      printf("sprec serve: batch %s: its checkpoint cannot be resumed (%s): solved from the start\n",
             hd->batch, sprec_errmsg());
    for (int p = 0; p < b; p++) sprec_sparse_free(&x[p]);
    err = round_solve(ctx, A, &o, b, Y, ck, every, 0, x, stt, &all);
  } else if (!err && hd->resume && rank == 0)
    printf("sprec serve: batch %s (%d requests) resumed from its checkpoint at iteration %d\n", hd->batch, b,
           stt[0].resumed_iteration);
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
    } else if (every || hd->resume)
      serve_remove_checkpoints(a->state); /* (stored: the checkpoint has served) */
    fflush(stdout);
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
void serve_loop(sprec_ctx ctx, sprec_op A, serve_store *st, serve_shared *sh, const serve_args *a)
{
  MPI_Comm comm = sprec_ctx_comm(ctx);
  int rank = sprec_ctx_rank(ctx);
  int64_t m = sprec_op_rows(A);
  char(*ids)[33] = malloc((size_t)a->max_batch * sizeof *ids);
  for (;;) {
    round_head hd = {0, 0, 0, ""};
    char *opts = NULL;
    double *Y = NULL;
    if (rank == 0) {
      int b = 0;
      sprec_err err = SPREC_OK;
      while (!err && b == 0 && !stopping) err = next_batch(st, sh, a, m, ids, &opts, &Y, &b, &hd);
      if (err) fprintf(stderr, "sprec serve: error: cannot read the queue\n"), stopping = 1;
      if (stopping && b <= 0) set_draining(sh);
      hd.count = stopping && b <= 0 ? -1 : b;
      hd.opts_len = opts ? (int64_t)strlen(opts) + 1 : 0;
      char ck[4200];
      snprintf(ck, sizeof ck, "%s/batch-%s.ckpt", a->state, hd.batch);
      if (hd.resume && b > 0 && access(ck, R_OK) != 0) {
        printf("sprec serve: batch %s (%d requests), left running by a killed service, had no "
               "checkpoint yet: solved from the start\n", hd.batch, b);
        fflush(stdout);
        hd.resume = 0;
      }
    }
    bcast_wait(&hd, (int)sizeof hd, MPI_BYTE, comm);
    if (hd.count < 0) break;
    if (rank != 0) {
      opts = malloc((size_t)hd.opts_len);
      Y = malloc(sizeof(double) * (size_t)(m * hd.count));
    }
    MPI_Bcast(opts, (int)hd.opts_len, MPI_CHAR, 0, comm);
    MPI_Bcast(Y, (int)(m * hd.count), MPI_DOUBLE, 0, comm);
    solve_round(ctx, A, st, sh, a, opts, (int)hd.count, Y, ids, &hd);
    free(opts);
    free(Y);
    if (stopping && rank == 0) set_draining(sh); /* finish what runs, accept nothing new */
  }
  free(ids);
}

