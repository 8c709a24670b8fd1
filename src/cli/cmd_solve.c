/* sprec solve: load or generate a problem, run one algorithm, report. */
#include "cli.h"
#include "io/json.h"

#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char help[] =
    "usage: sprec solve (--A FILE.npy --y FILE.npy | --problem gaussian|deconv -m M -n N)\n"
    "                   -k K [options]\n"
    "Problem:\n"
    "  --A FILE --y FILE     dictionary (m x n) and observation (m), .npy float64/float32;\n"
    "                        an m x b --y holds b problems sharing A, solved together (one\n"
    "                        pass over A serves them all); --init FILE, --truth and --x-out\n"
    "                        are then n x b, one column per problem\n"
    "  --problem NAME        generate in memory as 'sprec gen' does (-m -n -k --snr --seed --width)\n"
    "  --dtype T             float64 (default) or float32: store A in single precision (half\n"
    "                        the memory and bandwidth; products accumulate in double)\n"
    "Algorithm:\n"
    "  --algo NAME           l0: sea (default), htp, iht, omp, ompr, els, cosamp, sp\n"
    "                        l1 (Lasso): ista, fista, oista\n"
    "  -k K                  sparsity, 1 <= K <= min(m, n) (l0 methods)\n"
    "  --lambda L            Lasso weight (l1 methods)\n"
    "  --lambda-ratio R      Lasso weight R * lambda_max, lambda_max = ||A'y||_inf\n"
    "  --iters T             iteration budget (default: sea 1000, omp k, ompr and els k + 500,\n"
    "                        l1 10000, others 500)\n"
    "  --tol TOL             l0: stop when ||Ax-y||/||y|| <= TOL (default 0: never early);\n"
    "                        l1: stop when the relative duality gap <= TOL (default 1e-10)\n"
    "  --step ETA            step (default: sea, iht, ompr 1/||A||^2, htp 1)\n"
    "  --step-rule R         fixed|adaptive (htp: fixed = HTP, adaptive = NHTP; iht: adaptive = NIHT)\n"
    "  --continuation N      ista/fista/oista: N stages of homotopy continuation on lambda\n"
    "  --restart             fista: adaptive restart\n"
    "  --debias              l1: least squares on the final support\n"
    "  --init FILE.npy|ALGO  start from this x (n entries), or from the result of ALGO\n"
    "  --lsq P               auto|scalapack|replicated restricted least squares (default auto)\n"
    "  --topk P              auto|gather|threshold collective top-k (default auto)\n"
    "Preemption (every algorithm, --init ALGO, batches):\n"
    "  --checkpoint FILE     on SIGTERM or SIGUSR1, finish the iteration, save the run's state\n"
    "                        to FILE (atomically) and exit with status 3\n"
    "  --checkpoint-every N  also save it every N iterations\n"
    "  --resume FILE         continue the run saved in FILE (same problem and options, any\n"
    "                        number of ranks): the result is that of an uninterrupted run\n"
    "Output:\n"
    "  --truth FILE.npy      true x (n entries): report support recovery, F1, relative error\n"
    "  --out RESULT.json     write the result\n"
    "  --x-out X.npy         write the solution as a dense n-vector\n"
    "  --monitor N           progress every N iterations (rank 0, stdout; of the first\n"
    "                        problem of a batch)\n"
    "  --quiet               print nothing but errors\n";

typedef struct {
  const char *Af, *yf, *problem, *algo, *init, *lsq, *topk, *truth, *out, *xout, *step_rule;
  const char *checkpoint, *resume;
  const char *dtype; /* "float64" or "float32" */
  int quiet, single; /* single: --dtype float32 */
  const char *init_algo; /* --init named an algorithm            */
  double *init_objective; /* its objective, per problem           */
  int b;                 /* problems: the columns of --y          */
} solve_args;

static void monitor(void *ctx, int iter, double obj, int64_t changes, double elapsed)
{
  (void)ctx;
  printf("iter %6d  objective %.10e  support changes %4lld  elapsed %.3f s\n", iter, obj,
         (long long)changes, elapsed);
  fflush(stdout);
}

/* Reads a 1-D vector of length n (or an n x 1 matrix): this rank's block. */
static sprec_err read_vector(MPI_Comm comm, const char *flag, const char *path, int64_t n,
                             int64_t c0, int64_t nc, double *buf)
{
  sprec_npy_info in;
  SPREC_CALL(sprec_npy_inspect(comm, path, &in));
  int64_t len = in.ndim == 1 ? in.shape[0] : in.shape[1] == 1 ? in.shape[0] : -1;
  SPREC_CHECK(len == n, SPREC_ERR_FORMAT, "%s %s: has shape %lld%s%lld but %lld entries are needed",
              flag, path, (long long)in.shape[0], in.ndim == 2 ? " x " : "",
              in.ndim == 2 ? (long long)in.shape[1] : 0LL, (long long)n);
  in.ndim = 1; /* an n x 1 matrix is stored like a vector, whatever its order */
  SPREC_CALL(sprec_npy_read_cols(comm, path, &in, c0, nc, buf));
  SPREC_CALL(cli_check_finite(comm, path, 1, nc, c0, buf));
  return SPREC_OK;
}

/* Rows [c0, c0+nc) of an n x b array, either order, into buf: nc x b column-major
 * (column p is problem p's slice). With b = 1, an n-vector as read_vector reads it.
 * The rows of an n x b array are the columns of the same bytes read as the b x n
 * array of the other order. */
static sprec_err read_rows(MPI_Comm comm, const char *flag, const char *path, int64_t n, int b,
                           int64_t c0, int64_t nc, double *buf)
{
  if (b == 1) return read_vector(comm, flag, path, n, c0, nc, buf);
  sprec_npy_info in;
  SPREC_CALL(sprec_npy_inspect(comm, path, &in));
  SPREC_CHECK(in.ndim == 2 && in.shape[0] == n && in.shape[1] == b, SPREC_ERR_FORMAT,
              "%s %s: has shape %lld%s%lld but %lld x %d is needed (one column per problem)",
              flag, path, (long long)in.shape[0], in.ndim == 2 ? " x " : "",
              in.ndim == 2 ? (long long)in.shape[1] : 0LL, (long long)n, b);
  sprec_npy_info t = in;
  t.shape[0] = b;
  t.shape[1] = n;
  t.fortran_order = !in.fortran_order;
  double *tmp = NULL;
  SPREC_CALL(sprec_agree(comm, sprec_calloc((size_t)(nc * b) + 1, sizeof *tmp, &tmp, flag)));
  sprec_err err = sprec_npy_read_cols(comm, path, &t, c0, nc, tmp);
  for (int64_t j = 0; j < nc && !err; j++)
    for (int p = 0; p < b; p++) {
      buf[j + p * nc] = tmp[p + j * b];
      if (!isfinite(buf[j + p * nc])) {
        err = SPREC_ERROR(SPREC_ERR_FORMAT, "%s: contains NaN or Inf (row %lld, column %d)", path,
                          (long long)(c0 + j), p);
        break;
      }
    }
  free(tmp);
  return sprec_agree(comm, err);
}

/* --dtype float32: the block [c0, c0+nl) of A read as double a chunk of columns at a
 * time (at most SPREC_READ_CHUNK_BYTES of doubles, 64 MiB), checked, and rounded to
 * float, so that the peak memory stays near the float block. Every rank makes the
 * same number of (collective) reads; a rank whose block is used up reads nothing. */
#ifndef SPREC_READ_CHUNK_BYTES
#define SPREC_READ_CHUNK_BYTES ((int64_t)64 << 20)
#endif
static sprec_err load_block_f32(sprec_ctx ctx, const char *path, const sprec_npy_info *ia,
                                int64_t m, int64_t n, int64_t c0, int64_t nl, sprec_op *A)
{
  MPI_Comm comm = ctx->comm;
  int64_t cc = SPREC_READ_CHUNK_BYTES / (8 * m), nlmax = sprec_block_size(n, ctx->size, 0);
  if (cc < 1) cc = 1;
  if (cc > nlmax) cc = nlmax;
  float *Af = NULL;
  double *tmp = NULL;
  sprec_err err = sprec_alloc_block((size_t)(m * nl), sizeof *Af, &Af, "the local block of A");
  if (!err) err = sprec_calloc((size_t)(m * cc), sizeof *tmp, &tmp, "a chunk of A");
  for (int64_t j = 0; j < nlmax; j += cc) { /* the first rank's block is the largest */
    int64_t nc = j >= nl ? 0 : (nl - j < cc ? nl - j : cc);
    SPREC_TRY(sprec_agree(comm, err), done);
    SPREC_TRY(sprec_npy_read_cols(comm, path, ia, c0 + j, nc, tmp), done);
    SPREC_TRY(cli_check_finite(comm, path, m, nc, c0 + j, tmp), done);
    for (int64_t t = 0; t < nc && !err; t++)
      for (int64_t i = 0; i < m; i++) {
        double v = tmp[i + t * m];
        if (fabs(v) > FLT_MAX) {
          err = SPREC_ERROR(SPREC_ERR_FORMAT,
                            "%s: value %g (row %lld, column %lld) is out of the float32 range "
                            "(use --dtype float64)",
                            path, v, (long long)i, (long long)(c0 + j + t));
          break;
        }
        Af[i + (j + t) * m] = (float)v;
      }
  }
  SPREC_TRY(sprec_agree(comm, err), done);
  free(tmp);
  tmp = NULL;
  SPREC_TRY(sprec_op_create_dense_f32(ctx, m, n, Af, A), done);
  Af = NULL;
done:
  free(tmp);
  free(Af);
  return err;
}

static sprec_err load_files(sprec_ctx ctx, solve_args *a, int64_t k, sprec_op *A, double **y)
{
  sprec_npy_info ia, iy;
  MPI_Comm comm = ctx->comm;
  SPREC_CALL(sprec_npy_inspect(comm, a->Af, &ia));
  SPREC_CHECK(ia.ndim == 2, SPREC_ERR_FORMAT, "--A %s: must be a 2-D array (m x n), has 1 dimension",
              a->Af);
  int64_t m = ia.shape[0], n = ia.shape[1];
  SPREC_CHECK(k >= 1 && k <= (m < n ? m : n), SPREC_ERR_ARG,
              "-k %lld is out of range: need 1 <= k <= min(m, n) = %lld", (long long)k,
              (long long)(m < n ? m : n));
  SPREC_CHECK(n >= ctx->size, SPREC_ERR_ARG,
              "%d ranks but %s has only %lld columns: every rank needs at least one column",
              ctx->size, a->Af, (long long)n);
  SPREC_CALL(sprec_npy_inspect(comm, a->yf, &iy));
  SPREC_CHECK(iy.shape[0] == m, SPREC_ERR_FORMAT, "--y %s: has %lld rows but --A %s has m = %lld",
              a->yf, (long long)iy.shape[0], a->Af, (long long)m);
  SPREC_CHECK(iy.shape[1] <= 1 << 20, SPREC_ERR_ARG, "--y %s: %lld problems, at most %d at once",
              a->yf, (long long)iy.shape[1], 1 << 20);
  a->b = (int)iy.shape[1];
  SPREC_CALL(sprec_agree(comm, sprec_calloc((size_t)(m * a->b), sizeof **y, y, "y")));
  if (a->b == 1) SPREC_CALL(read_vector(comm, "--y", a->yf, m, 0, m, *y));
  else {
    SPREC_CALL(sprec_npy_read_cols(comm, a->yf, &iy, 0, a->b, *y));
    SPREC_CALL(cli_check_finite(comm, a->yf, m, a->b, 0, *y));
  }
  int64_t c0 = sprec_block_start(n, ctx->size, ctx->rank), nl = sprec_block_size(n, ctx->size, ctx->rank);
  if (a->single) return load_block_f32(ctx, a->Af, &ia, m, n, c0, nl, A);
  double *Al = NULL;
  SPREC_CALL(sprec_agree(comm, sprec_alloc_block((size_t)(m * nl), sizeof *Al, &Al, "the local block of A")));
  sprec_err err = sprec_npy_read_cols(comm, a->Af, &ia, c0, nl, Al);
  if (!err) err = cli_check_finite(comm, a->Af, m, nl, c0, Al);
  if (!err) err = sprec_op_create_dense(ctx, m, n, Al, A);
  if (err) free(Al);
  return err;
}

/* SIGTERM (preemption, time limit, scancel) and SIGUSR1 (#SBATCH --signal): the solver
 * sees the flag at the end of the iteration. */
static volatile sig_atomic_t stop_requested = 0;
static void request_stop(int sig)
{
  (void)sig;
  stop_requested = 1;
}

/* What a solve produced: per problem (b of them), and for the batch as a whole. */
typedef struct {
  sprec_sparse *x, *truth; /* truth: NULL without one                  */
  sprec_stats *st, all;    /* all: the batch's (the problem's if b = 1) */
  double *tm;              /* 3 truth metrics per problem               */
} solve_out;

/* A problem's own fields: at the top level for one problem, in "problems" for a batch. */
static void put_problem(sprec_json *j, const solve_args *a, const solve_out *r, int p)
{
  const sprec_stats *st = &r->st[p];
  sprec_json_int(j, "iterations", st->iterations);
  sprec_json_int(j, "best_iteration", st->best_iteration);
  sprec_json_str(j, "stop_reason", st->stop_reason);
  sprec_json_num(j, "objective", st->objective);
  sprec_json_num(j, "data_fit", st->data_fit);
  if (st->lambda > 0) {
    if (a->b > 1) {
      sprec_json_num(j, "lambda", st->lambda);
      sprec_json_num(j, "lambda_max", st->lambda_max);
    }
    sprec_json_num(j, "gap", st->gap);
  }
  if (a->init_algo) {
    sprec_json_object(j, "init");
    sprec_json_str(j, "algo", a->init_algo);
    sprec_json_num(j, "data_fit", a->init_objective[p]);
    sprec_json_close(j);
  }
  sprec_json_num(j, "rel_residual", st->rel_residual);
  sprec_json_num(j, "step", st->step);
  sprec_json_int_array(j, "support", r->x[p].nnz, r->x[p].idx);
  sprec_json_num_array(j, "coef", r->x[p].nnz, r->x[p].val);
  if (r->truth) {
    sprec_json_object(j, "truth");
    sprec_json_bool(j, "support_recovered", r->tm[3 * p] != 0);
    sprec_json_num(j, "f1", r->tm[3 * p + 1]);
    sprec_json_num(j, "rel_error", r->tm[3 * p + 2]);
    sprec_json_close(j);
  }
}

static void write_result(FILE *f, const solve_args *a, sprec_ctx ctx, const sprec_opts *o, sprec_op A,
                         const solve_out *r, double t_io, double peak_rss_mib)
{
  const sprec_stats *all = &r->all;
  int b = a->b, l1 = sprec_algorithm_kind(o->algo) == 1;
  sprec_json j;
  char grid[32];
  snprintf(grid, sizeof grid, "%dx%d", ctx->nprow, ctx->npcol);
  sprec_json_begin(&j, f);
  sprec_json_str(&j, "sprec_version", sprec_version());
  sprec_json_str(&j, "algo", o->algo);
  sprec_json_int(&j, "m", A->m);
  sprec_json_int(&j, "n", A->n);
  if (l1) {
    sprec_json_null(&j, "k");
    if (b == 1) {
      sprec_json_num(&j, "lambda", all->lambda);
      sprec_json_num(&j, "lambda_max", all->lambda_max);
    } else if (o->lambda > 0) sprec_json_num(&j, "lambda", o->lambda);
    else { /* each problem has its own λ */
      sprec_json_null(&j, "lambda");
      sprec_json_num(&j, "lambda_ratio", o->lambda_ratio);
    }
  } else {
    sprec_json_int(&j, "k", o->k);
    sprec_json_null(&j, "lambda");
  }
  sprec_json_str(&j, "dtype", a->single ? "float32" : "float64");
  sprec_json_int(&j, "ranks", ctx->size);
  sprec_json_str(&j, "grid", grid);
  if (all->L > 0) sprec_json_num(&j, "norm2_estimate", all->L);
  sprec_json_str(&j, "lsq", r->st[0].lsq_scalapack ? "scalapack" : "replicated");
  double topk = 0, lsq = 0, comm = 0, setup = 0;
  if (b == 1) {
    put_problem(&j, a, r, 0);
    if (all->resumed_iteration >= 0) sprec_json_int(&j, "resumed_iteration", all->resumed_iteration);
  }
  else {
    sprec_json_int(&j, "batch", b);
    sprec_json_array(&j, "problems");
    for (int p = 0; p < b; p++) {
      sprec_json_object(&j, NULL);
      put_problem(&j, a, r, p);
      sprec_json_close(&j);
    }
    sprec_json_array_close(&j);
  }
  for (int p = 0; p < b; p++) { /* each phase summed over the problems */
    topk += r->st[p].t_topk;
    lsq += r->st[p].t_lsq;
    comm += r->st[p].t_comm;
    setup += r->st[p].t_setup;
  }
  sprec_json_object(&j, "perf");
  sprec_json_str(&j, "kernel", sprec_kernel_variant());
  sprec_json_int(&j, "apply_T_passes", all->apply_T_passes);
  sprec_json_num(&j, "apply_T_seconds", all->t_apply_T);
  double bytes = (a->single ? 4.0 : 8.0) * (double)A->m * (double)A->n; /* one pass over A */
  sprec_json_num(&j, "apply_T_GBps", all->t_apply_T > 0 ? bytes * (double)all->apply_T_passes /
                                                              all->t_apply_T / 1e9
                                                        : 0.0);
  if (b == 1) sprec_json_num(&j, "iteration_seconds_median", all->iteration_seconds_median);
  else sprec_json_num(&j, "problems_per_second", all->t_total > 0 ? b / all->t_total : 0.0);
  sprec_json_num(&j, "peak_rss_MiB", peak_rss_mib);
  sprec_json_close(&j);
  sprec_json_object(&j, "time");
  sprec_json_num(&j, "total", all->t_total + t_io);
  sprec_json_num(&j, "setup", setup);
  sprec_json_num(&j, "io", t_io);
  sprec_json_num(&j, "apply_T", all->t_apply_T);
  sprec_json_num(&j, "topk", topk);
  sprec_json_num(&j, "lsq", lsq);
  sprec_json_num(&j, "comm", comm);
  sprec_json_close(&j);
  sprec_json_end(&j);
}

/* Rank 0 writes the result to file (the --out path is path, for the message). */
static sprec_err write_json_file(MPI_Comm comm, const char *path, const char *file,
                                 const solve_args *a, sprec_ctx ctx, const sprec_opts *o, sprec_op A,
                                 const solve_out *r, double t_io)
{
  double peak = cli_peak_rss_mib(comm);
  sprec_err err = SPREC_OK;
  if (ctx->rank == 0) {
    FILE *f = fopen(file, "w");
    int bad = !f;
    if (f) {
      write_result(f, a, ctx, o, A, r, t_io, peak);
      bad = ferror(f);
      bad |= fclose(f) != 0;
    }
    if (bad) err = SPREC_ERROR(SPREC_ERR_IO, "--out %s: cannot write the result", path);
  }
  return sprec_agree(comm, err);
}

/* One problem (b = 1) or a batch; fills r->x, r->st and r->all. */
static sprec_err run_solver(sprec_ctx ctx, const sprec_opts *o, sprec_op A, int b, const double *y,
                            const double *init, solve_out *r)
{
  sprec_solver s = NULL;
  SPREC_CALL(sprec_solver_create(ctx, o, &s));
  sprec_err err = b == 1 ? sprec_solver_solve(s, A, y, init, &r->x[0])
                         : sprec_solver_solve_batch(s, A, b, y, init, r->x, r->st);
  sprec_solver_get_stats(s, &r->all);
  if (b == 1) r->st[0] = r->all;
  sprec_solver_destroy(&s);
  return err;
}

static void print_summary(const solve_args *a, const sprec_opts *o, sprec_ctx ctx, sprec_op A,
                          const solve_out *r, int have_truth, double t_io)
{
  printf("sprec solve: algo=%s m=%lld n=%lld k=%lld ranks=%d grid=%dx%d", o->algo,
         (long long)A->m, (long long)A->n, (long long)o->k, ctx->size, ctx->nprow, ctx->npcol);
  if (a->b == 1) {
    const sprec_stats *st = &r->st[0];
    printf(" iterations=%d best_iteration=%d stop=%s objective=%.10e rel_residual=%.3e",
           st->iterations, st->best_iteration, st->stop_reason, st->objective, st->rel_residual);
  } else {
    int itmin = r->st[0].iterations, itmax = itmin;
    for (int p = 1; p < a->b; p++) {
      itmin = r->st[p].iterations < itmin ? r->st[p].iterations : itmin;
      itmax = r->st[p].iterations > itmax ? r->st[p].iterations : itmax;
    }
    printf(" problems=%d iterations=%d..%d passes=%lld problems_per_second=%.4g", a->b, itmin,
           itmax, (long long)r->all.apply_T_passes, r->all.t_total > 0 ? a->b / r->all.t_total : 0.0);
  }
  printf(" time=%.3f", r->all.t_total + t_io);
  if (a->single) printf(" dtype=float32");
  if (have_truth && a->b == 1)
    printf(" f1=%.4f rel_error=%.3e recovered=%s", r->tm[1], r->tm[2], r->tm[0] ? "yes" : "no");
  else if (have_truth) {
    int rec = 0;
    double f1 = 0;
    for (int p = 0; p < a->b; p++) rec += r->tm[3 * p] != 0, f1 += r->tm[3 * p + 1];
    printf(" recovered=%d/%d mean_f1=%.4f", rec, a->b, f1 / a->b);
  }
  printf("\n");
}

sprec_err cmd_solve(int argc, char **argv)
{
  solve_args a = {0};
  sprec_opts o;
  sprec_problem P;
  sprec_opts_default(&o);
  sprec_problem_default(&P);
  a.algo = "sea";
  a.lsq = "auto";
  a.topk = "auto";
  a.dtype = "float64";
  const char *pos[1];
  int npos, rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  cli_opt opts[] = {
      {"--A", OPT_STR, &a.Af, 0},          {"--y", OPT_STR, &a.yf, 0},
      {"--problem", OPT_STR, &a.problem, 0}, {"-m", OPT_I64, &P.m, 0},
      {"-n", OPT_I64, &P.n, 0},            {"-k", OPT_I64, &o.k, 0},
      {"--snr", OPT_DBL, &P.snr_db, 0},    {"--seed", OPT_U64, &P.seed, 0},
      {"--width", OPT_DBL, &P.width, 0},   {"--algo", OPT_STR, &a.algo, 0},
      {"--iters", OPT_INT, &o.iters, 0},   {"--tol", OPT_DBL, &o.tol, 0},
      {"--step", OPT_DBL, &o.step, 0},     {"--step-rule", OPT_STR, &a.step_rule, 0},
      {"--init", OPT_STR, &a.init, 0},     {"--lsq", OPT_STR, &a.lsq, 0},
      {"--topk", OPT_STR, &a.topk, 0},     {"--truth", OPT_STR, &a.truth, 0},
      {"--out", OPT_STR, &a.out, 0},       {"--x-out", OPT_STR, &a.xout, 0},
      {"--monitor", OPT_INT, &o.monitor, 0}, {"--quiet", OPT_FLAG, &a.quiet, 0},
      {"--lambda", OPT_DBL, &o.lambda, 0}, {"--lambda-ratio", OPT_DBL, &o.lambda_ratio, 0},
      {"--continuation", OPT_INT, &o.continuation, 0}, {"--restart", OPT_FLAG, &o.restart, 0},
      {"--debias", OPT_FLAG, &o.debias, 0}, {"--dtype", OPT_STR, &a.dtype, 0},
      {"--checkpoint", OPT_STR, &a.checkpoint, 0}, {"--resume", OPT_STR, &a.resume, 0},
      {"--checkpoint-every", OPT_INT, &o.checkpoint_every, 0},
  };
  int nopts = (int)(sizeof opts / sizeof opts[0]);
  if (cli_help_requested(argc, argv)) {
    if (rank == 0) fputs(help, stdout);
    return SPREC_OK;
  }
  SPREC_CALL(cli_parse("solve", argc, argv, opts, nopts, pos, 0, &npos));

  /* Usage checks: the same on every rank, before any file is touched. */
  int l1 = sprec_algorithm_kind(a.algo);
  SPREC_CHECK(l1 >= 0, SPREC_ERR_ARG, "--algo: unknown algorithm '%s' (see 'sprec solve --help')",
              a.algo);
  strcpy(o.algo, a.algo);
  if (l1) {
    SPREC_CHECK(cli_seen(opts, nopts, "--lambda") != cli_seen(opts, nopts, "--lambda-ratio"),
                SPREC_ERR_ARG, "--algo %s solves the Lasso: give --lambda L or --lambda-ratio R",
                a.algo);
    SPREC_CHECK(o.lambda > 0 || o.lambda_ratio > 0, SPREC_ERR_ARG,
                "--lambda and --lambda-ratio must be positive");
    if (!cli_seen(opts, nopts, "--tol")) o.tol = 1e-10;
  } else
    SPREC_CHECK(cli_seen(opts, nopts, "-k"), SPREC_ERR_ARG, "solve: -k K is required");
  SPREC_CHECK(o.continuation >= 0, SPREC_ERR_ARG, "--continuation must be >= 0");
  if (a.init && sprec_algorithm_kind(a.init) >= 0) { /* --init ALGO */
    SPREC_CHECK(sprec_algorithm_kind(a.init) == 0 || o.lambda > 0 || o.lambda_ratio > 0,
                SPREC_ERR_ARG, "--init %s solves the Lasso: give --lambda or --lambda-ratio", a.init);
    SPREC_CHECK(cli_seen(opts, nopts, "-k"), SPREC_ERR_ARG, "--init %s: -k K is required", a.init);
    a.init_algo = a.init;
    a.init = NULL;
  }
  SPREC_CHECK((a.Af && a.yf) != !!a.problem, SPREC_ERR_ARG,
              "solve: give either --A FILE and --y FILE, or --problem NAME");
  SPREC_CHECK(!a.Af == !a.yf, SPREC_ERR_ARG, "solve: --A and --y go together");
  if (a.problem) {
    SPREC_CALL(cli_problem_kind(a.problem, &P.kind));
    SPREC_CHECK(cli_seen(opts, nopts, "-m") && cli_seen(opts, nopts, "-n") &&
                    cli_seen(opts, nopts, "-k"),
                SPREC_ERR_ARG, "solve: --problem needs -m, -n and -k");
    P.k = o.k;
  }
  static const char *const lsq_names[] = {"auto", "scalapack", "replicated", NULL};
  static const char *const topk_names[] = {"auto", "gather", "threshold", NULL};
  static const char *const rule_names[] = {"default", "fixed", "adaptive", NULL};
  static const char *const dtype_names[] = {"float64", "float32", NULL};
  int v = 0;
  SPREC_CALL(cli_pick("--dtype", a.dtype, dtype_names, &a.single));
  P.single = a.single;
  SPREC_CALL(cli_pick("--lsq", a.lsq, lsq_names, &v));
  o.lsq = (sprec_lsq_method)v;
  SPREC_CALL(cli_pick("--topk", a.topk, topk_names, &v));
  o.topk = (sprec_topk_method)v;
  if (a.step_rule) {
    SPREC_CALL(cli_pick("--step-rule", a.step_rule, rule_names, &v));
    o.step_rule = (sprec_step_rule)v;
  }
  SPREC_CHECK(o.iters >= 0, SPREC_ERR_ARG, "--iters must be >= 0 (got %d)", o.iters);
  SPREC_CHECK(o.tol >= 0, SPREC_ERR_ARG, "--tol must be >= 0 (got %g)", o.tol);
  SPREC_CHECK(o.step >= 0 && isfinite(o.step) && (o.step > 0 || !cli_seen(opts, nopts, "--step")),
              SPREC_ERR_ARG, "--step must be a positive number (got %g)", o.step);
  SPREC_CHECK(o.monitor >= 0, SPREC_ERR_ARG, "--monitor must be >= 0 (got %d)", o.monitor);
  if (!a.quiet && o.monitor > 0) o.monitor_fn = monitor;
  else o.monitor = 0;
  SPREC_CHECK(o.checkpoint_every >= 0, SPREC_ERR_ARG, "--checkpoint-every must be >= 0 (got %d)",
              o.checkpoint_every);
  SPREC_CHECK(!o.checkpoint_every || a.checkpoint, SPREC_ERR_ARG,
              "--checkpoint-every needs --checkpoint FILE");
  o.checkpoint = a.checkpoint;
  o.resume = a.resume;
  o.stop_flag = &stop_requested;

  sprec_ctx ctx = NULL;
  sprec_op A = NULL;
  double *y = NULL, *init = NULL, *xd = NULL, t_io = 0;
  solve_out r = {0};
  sprec_err err;
  a.b = 1;
  /* From here on a signal does not kill the run: the solver stops at the end of an
   * iteration (a signal during the set-up stops it after its first). */
  struct sigaction on_stop, old_term, old_usr1;
  memset(&on_stop, 0, sizeof on_stop);
  on_stop.sa_handler = request_stop;
  sigemptyset(&on_stop.sa_mask);
  on_stop.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &on_stop, &old_term);
  sigaction(SIGUSR1, &on_stop, &old_usr1);
  SPREC_TRY(sprec_ctx_create(MPI_COMM_WORLD, &ctx), done);
  MPI_Comm comm = ctx->comm;
  {
    cli_path files[] = {
        {"--A", a.Af, 0, 0, NULL},          {"--y", a.yf, 0, 0, NULL},
        {"--init", a.init, 0, 0, NULL},     {"--truth", a.truth, 0, 0, NULL},
        {"--resume", a.resume, 0, 0, NULL}, {"--out", a.out, 1, 0, NULL},
        {"--x-out", a.xout, 1, 0, NULL},    {"--checkpoint", a.checkpoint, 1, 0, "--resume"},
    };
    SPREC_TRY(cli_check_paths(comm, files, (int)(sizeof files / sizeof *files)), done);
  }

  double t0 = MPI_Wtime();
  sprec_sparse gen_truth = {0};
  if (a.problem) SPREC_TRY(sprec_problem_generate(ctx, &P, &A, &y, &gen_truth), done);
  else SPREC_TRY(load_files(ctx, &a, l1 ? 1 : o.k, &A, &y), done);
  int b = a.b;
  int64_t n = A->n, nl = A->n_local, c0 = A->col_start;
  err = sprec_calloc((size_t)b, sizeof *r.x, &r.x, "solutions");
  if (!err) err = sprec_calloc((size_t)b, sizeof *r.st, &r.st, "statistics");
  if (!err) err = sprec_calloc((size_t)b, sizeof *r.truth, &r.truth, "true x");
  if (!err) err = sprec_calloc((size_t)b * 3, sizeof *r.tm, &r.tm, "truth metrics");
  if (!err) err = sprec_calloc((size_t)b, sizeof *a.init_objective, &a.init_objective, "init");
  if (!err) r.truth[0] = gen_truth; /* --problem: the generated x is the truth */
  else sprec_sparse_free(&gen_truth);
  SPREC_TRY(sprec_agree(comm, err), done);
  int have_truth = a.problem && !a.truth;
  if (a.init) {
    SPREC_TRY(sprec_agree(comm, sprec_calloc((size_t)(nl * b) + 1, sizeof *init, &init, "--init")), done);
    SPREC_TRY(read_rows(comm, "--init", a.init, n, b, c0, nl, init), done);
  }
  /* --init ALGO: the library runs ALGO first and the main algorithm from its result (a
   * chain, which checkpoints know the phase of). */
  if (a.init_algo) snprintf(o.init_algo, sizeof o.init_algo, "%s", a.init_algo);
  if (a.truth) {
    SPREC_TRY(sprec_agree(comm, sprec_calloc((size_t)(nl * b) + 1, sizeof *xd, &xd, "--truth")), done);
    SPREC_TRY(read_rows(comm, "--truth", a.truth, n, b, c0, nl, xd), done);
    for (int p = 0; p < b; p++) {
      sprec_sparse_free(&r.truth[p]); /* --truth overrides --problem's */
      SPREC_TRY(sprec_dense_to_sparse(ctx, n, xd + p * nl, &r.truth[p]), done);
    }
    have_truth = 1;
  }
  t_io = MPI_Wtime() - t0;

  SPREC_TRY(run_solver(ctx, &o, A, b, y, init, &r), done);
  for (int p = 0; p < b; p++) a.init_objective[p] = r.st[p].init_data_fit;
  for (int p = 0; p < b; p++) cli_interrupted |= !strcmp(r.st[p].stop_reason, "interrupted");
  if (cli_interrupted) { /* no result: exit status 3 */
    if (ctx->rank == 0) {
      if (b > 1)
        fprintf(stderr, "sprec solve: stopped by a signal; %s%s%s\n",
                a.checkpoint ? "the state of every problem saved in " : "nothing saved (no "
                               "--checkpoint given)", a.checkpoint ? a.checkpoint : "",
                a.checkpoint ? " (continue with --resume)" : "");
      else if (a.checkpoint)
        fprintf(stderr, "sprec solve: stopped by a signal after iteration %d; state saved in %s "
                        "(continue with --resume %s)\n", r.st[0].iterations, a.checkpoint,
                a.checkpoint);
      else
        fprintf(stderr, "sprec solve: stopped by a signal after iteration %d; nothing saved (no "
                        "--checkpoint given)\n", r.st[0].iterations);
    }
    goto done;
  }
  if (have_truth)
    for (int p = 0; p < b; p++) cli_truth_metrics(&r.x[p], &r.truth[p], r.tm + 3 * p);
  if (!have_truth) { /* no "truth" in the result */
    for (int p = 0; p < b; p++) sprec_sparse_free(&r.truth[p]);
    free(r.truth);
    r.truth = NULL;
  }

  t0 = MPI_Wtime();
  cli_outset outs = {0}; /* both outputs, or neither */
  if (a.xout) { /* n x b: row j holds x_j of every problem */
    const char *tmp = cli_out_add(&outs, a.xout);
    free(xd);
    xd = NULL;
    err = sprec_agree(comm, sprec_calloc((size_t)(nl * b) + 1, sizeof *xd, &xd, "x"));
    for (int p = 0; p < b && !err; p++)
      for (int64_t t = 0; t < r.x[p].nnz; t++)
        if (r.x[p].idx[t] >= c0 && r.x[p].idx[t] < c0 + nl)
          xd[(r.x[p].idx[t] - c0) * b + p] = r.x[p].val[t];
    if (!err && b == 1) err = sprec_npy_write_cols(comm, tmp, 1, 1, n, c0, nl, xd);
    else if (!err) err = sprec_npy_write_rows(comm, tmp, n, b, c0, nl, xd);
    if (err) err = cli_error_prefix(err, "--x-out", a.xout);
  }
  if (a.out && !err) err = write_json_file(comm, a.out, cli_out_add(&outs, a.out), &a, ctx, &o, A, &r, t_io);
  SPREC_TRY(cli_out_commit(comm, &outs, err), done);
  t_io += MPI_Wtime() - t0;
  if (!a.quiet && ctx->rank == 0) print_summary(&a, &o, ctx, A, &r, have_truth, t_io);
done:
  free(y);
  free(init);
  free(xd);
  for (int p = 0; r.x && p < a.b; p++) sprec_sparse_free(&r.x[p]);
  for (int p = 0; r.truth && p < a.b; p++) sprec_sparse_free(&r.truth[p]);
  free(r.x);
  free(r.truth);
  free(r.st);
  free(r.tm);
  free(a.init_objective);
  sprec_op_destroy(&A);
  sprec_ctx_destroy(&ctx);
  sigaction(SIGTERM, &old_term, NULL);
  sigaction(SIGUSR1, &old_usr1, NULL);
  return err;
}
