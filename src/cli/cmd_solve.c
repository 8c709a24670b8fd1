/* sprec solve: load or generate a problem, run one algorithm, report. */
#include "cli.h"
#include "io/json.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char help[] =
    "usage: sprec solve (--A FILE.npy --y FILE.npy | --problem gaussian|deconv -m M -n N)\n"
    "                   -k K [options]\n"
    "Problem:\n"
    "  --A FILE --y FILE     dictionary (m x n) and observation (m), .npy float64/float32\n"
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
    "Output:\n"
    "  --truth FILE.npy      true x (n entries): report support recovery, F1, relative error\n"
    "  --out RESULT.json     write the result\n"
    "  --x-out X.npy         write the solution as a dense n-vector\n"
    "  --monitor N           progress every N iterations (rank 0, stdout)\n"
    "  --quiet               print nothing but errors\n";

typedef struct {
  const char *Af, *yf, *problem, *algo, *init, *lsq, *topk, *truth, *out, *xout, *step_rule;
  const char *dtype; /* "float64" or "float32" */
  int quiet, single; /* single: --dtype float32 */
  const char *init_algo; /* --init named an algorithm            */
  double init_objective; /* its objective                         */
} solve_args;

static void monitor(void *ctx, int iter, double obj, int64_t changes, double elapsed)
{
  (void)ctx;
  printf("iter %6d  objective %.10e  support changes %4lld  elapsed %.3f s\n", iter, obj,
         (long long)changes, elapsed);
  fflush(stdout);
}

static sprec_err pick(const char *flag, const char *v, const char *const *names, int *out)
{
  for (int i = 0; names[i]; i++)
    if (!strcmp(v, names[i])) {
      *out = i;
      return SPREC_OK;
    }
  return SPREC_ERROR(SPREC_ERR_ARG, "%s: unknown value '%s'", flag, v);
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
  sprec_err err = sprec_calloc((size_t)(m * nl), sizeof *Af, &Af, "the local block of A");
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

static sprec_err load_files(sprec_ctx ctx, const solve_args *a, int64_t k, sprec_op *A, double **y)
{
  sprec_npy_info ia;
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
  SPREC_CALL(sprec_agree(comm, sprec_calloc((size_t)m, sizeof **y, y, "y")));
  SPREC_CALL(read_vector(comm, "--y", a->yf, m, 0, m, *y));
  int64_t c0 = sprec_block_start(n, ctx->size, ctx->rank), nl = sprec_block_size(n, ctx->size, ctx->rank);
  if (a->single) return load_block_f32(ctx, a->Af, &ia, m, n, c0, nl, A);
  double *Al = NULL;
  SPREC_CALL(sprec_agree(comm, sprec_calloc((size_t)(m * nl), sizeof *Al, &Al, "the local block of A")));
  sprec_err err = sprec_npy_read_cols(comm, a->Af, &ia, c0, nl, Al);
  if (!err) err = cli_check_finite(comm, a->Af, m, nl, c0, Al);
  if (!err) err = sprec_op_create_dense(ctx, m, n, Al, A);
  if (err) free(Al);
  return err;
}

static void write_result(FILE *f, const solve_args *a, sprec_ctx ctx, const sprec_opts *o, sprec_op A,
                         const sprec_stats *st, const sprec_sparse *x, double t_io,
                         const sprec_sparse *truth, const double *tm, double peak_rss_mib)
{
  sprec_json j;
  char grid[32];
  snprintf(grid, sizeof grid, "%dx%d", ctx->nprow, ctx->npcol);
  sprec_json_begin(&j, f);
  sprec_json_str(&j, "algo", o->algo);
  sprec_json_int(&j, "m", A->m);
  sprec_json_int(&j, "n", A->n);
  if (st->lambda > 0) {
    sprec_json_null(&j, "k");
    sprec_json_num(&j, "lambda", st->lambda);
    sprec_json_num(&j, "lambda_max", st->lambda_max);
  } else {
    sprec_json_int(&j, "k", o->k);
    sprec_json_null(&j, "lambda");
  }
  sprec_json_str(&j, "dtype", a->single ? "float32" : "float64");
  sprec_json_int(&j, "ranks", ctx->size);
  sprec_json_str(&j, "grid", grid);
  sprec_json_int(&j, "iterations", st->iterations);
  sprec_json_int(&j, "best_iteration", st->best_iteration);
  sprec_json_str(&j, "stop_reason", st->stop_reason);
  sprec_json_num(&j, "objective", st->objective);
  sprec_json_num(&j, "data_fit", st->data_fit);
  if (st->lambda > 0) sprec_json_num(&j, "gap", st->gap);
  if (a->init_algo) {
    sprec_json_object(&j, "init");
    sprec_json_str(&j, "algo", a->init_algo);
    sprec_json_num(&j, "data_fit", a->init_objective);
    sprec_json_close(&j);
  }
  sprec_json_num(&j, "rel_residual", st->rel_residual);
  sprec_json_num(&j, "step", st->step);
  if (st->L > 0) sprec_json_num(&j, "norm2_estimate", st->L);
  sprec_json_str(&j, "lsq", st->lsq_scalapack ? "scalapack" : "replicated");
  sprec_json_int_array(&j, "support", x->nnz, x->idx);
  sprec_json_num_array(&j, "coef", x->nnz, x->val);
  sprec_json_object(&j, "perf");
  sprec_json_int(&j, "apply_T_passes", st->apply_T_passes);
  sprec_json_num(&j, "apply_T_seconds", st->t_apply_T);
  double bytes = (a->single ? 4.0 : 8.0) * (double)A->m * (double)A->n; /* one pass over A */
  sprec_json_num(&j, "apply_T_GBps", st->t_apply_T > 0 ? bytes * (double)st->apply_T_passes /
                                                             st->t_apply_T / 1e9
                                                       : 0.0);
  sprec_json_num(&j, "iteration_seconds_median", st->iteration_seconds_median);
  sprec_json_num(&j, "peak_rss_MiB", peak_rss_mib);
  sprec_json_close(&j);
  sprec_json_object(&j, "time");
  sprec_json_num(&j, "total", st->t_total + t_io);
  sprec_json_num(&j, "setup", st->t_setup);
  sprec_json_num(&j, "io", t_io);
  sprec_json_num(&j, "apply_T", st->t_apply_T);
  sprec_json_num(&j, "topk", st->t_topk);
  sprec_json_num(&j, "lsq", st->t_lsq);
  sprec_json_num(&j, "comm", st->t_comm);
  sprec_json_close(&j);
  if (truth) {
    sprec_json_object(&j, "truth");
    sprec_json_bool(&j, "support_recovered", tm[0] != 0);
    sprec_json_num(&j, "f1", tm[1]);
    sprec_json_num(&j, "rel_error", tm[2]);
    sprec_json_close(&j);
  }
  sprec_json_end(&j);
}

/* Rank 0 writes through a temporary name and renames: no partial file. */
static sprec_err write_json_file(MPI_Comm comm, const char *path, const solve_args *a, sprec_ctx ctx,
                                 const sprec_opts *o, sprec_op A, const sprec_stats *st,
                                 const sprec_sparse *x, double t_io, const sprec_sparse *truth,
                                 const double *tm)
{
  double peak = cli_peak_rss_mib(comm);
  sprec_err err = SPREC_OK;
  if (ctx->rank == 0) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (f) {
      write_result(f, a, ctx, o, A, st, x, t_io, truth, tm, peak);
      int bad = ferror(f);
      bad |= fclose(f) != 0;
      if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        f = NULL;
      }
    }
    if (!f) err = SPREC_ERROR(SPREC_ERR_IO, "--out %s: cannot write the result", path);
  }
  return sprec_agree(comm, err);
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
  SPREC_CALL(pick("--dtype", a.dtype, dtype_names, &a.single));
  P.single = a.single;
  SPREC_CALL(pick("--lsq", a.lsq, lsq_names, &v));
  o.lsq = (sprec_lsq_method)v;
  SPREC_CALL(pick("--topk", a.topk, topk_names, &v));
  o.topk = (sprec_topk_method)v;
  if (a.step_rule) {
    SPREC_CALL(pick("--step-rule", a.step_rule, rule_names, &v));
    o.step_rule = (sprec_step_rule)v;
  }
  SPREC_CHECK(o.iters >= 0, SPREC_ERR_ARG, "--iters must be >= 0 (got %d)", o.iters);
  SPREC_CHECK(o.tol >= 0, SPREC_ERR_ARG, "--tol must be >= 0 (got %g)", o.tol);
  SPREC_CHECK(o.step >= 0 && isfinite(o.step) && (o.step > 0 || !cli_seen(opts, nopts, "--step")),
              SPREC_ERR_ARG, "--step must be a positive number (got %g)", o.step);
  SPREC_CHECK(o.monitor >= 0, SPREC_ERR_ARG, "--monitor must be >= 0 (got %d)", o.monitor);
  if (!a.quiet && o.monitor > 0) o.monitor_fn = monitor;
  else o.monitor = 0;

  sprec_ctx ctx = NULL;
  sprec_op A = NULL;
  sprec_solver s = NULL;
  double *y = NULL, *init = NULL, *xd = NULL, t_io = 0, tm[3] = {0, 0, 0};
  sprec_sparse x = {0}, truth = {0};
  int have_truth = 0;
  sprec_err err;
  SPREC_TRY(sprec_ctx_create(MPI_COMM_WORLD, &ctx), done);
  MPI_Comm comm = ctx->comm;
  if (a.out) SPREC_TRY(cli_probe_output(comm, "--out", a.out), done);
  if (a.xout) SPREC_TRY(cli_probe_output(comm, "--x-out", a.xout), done);

  double t0 = MPI_Wtime();
  if (a.problem) {
    SPREC_TRY(sprec_problem_generate(ctx, &P, &A, &y, &truth), done);
    have_truth = !a.truth;
  } else SPREC_TRY(load_files(ctx, &a, l1 ? 1 : o.k, &A, &y), done);
  int64_t n = A->n, nl = A->n_local, c0 = A->col_start;
  if (a.init) {
    SPREC_TRY(sprec_agree(comm, sprec_calloc((size_t)nl, sizeof *init, &init, "--init")), done);
    SPREC_TRY(read_vector(comm, "--init", a.init, n, c0, nl, init), done);
  }
  if (a.init_algo) { /* run ALGO first; its x is where the main algorithm starts */
    sprec_opts oi = o;
    sprec_stats si;
    strcpy(oi.algo, a.init_algo);
    oi.iters = 0;
    oi.monitor = 0;
    if (sprec_algorithm_kind(a.init_algo) == 0) oi.tol = 0;
    SPREC_TRY(sprec_solver_create(ctx, &oi, &s), done);
    SPREC_TRY(sprec_solver_solve(s, A, y, NULL, &x), done);
    sprec_solver_get_stats(s, &si);
    sprec_solver_destroy(&s);
    a.init_objective = si.data_fit;
    SPREC_TRY(sprec_agree(comm, sprec_calloc((size_t)nl, sizeof *init, &init, "--init")), done);
    for (int64_t t = 0; t < x.nnz; t++)
      if (x.idx[t] >= c0 && x.idx[t] < c0 + nl) init[x.idx[t] - c0] = x.val[t];
    sprec_sparse_free(&x);
  }
  if (a.truth) {
    SPREC_TRY(sprec_agree(comm, sprec_calloc((size_t)nl, sizeof *xd, &xd, "--truth")), done);
    SPREC_TRY(read_vector(comm, "--truth", a.truth, n, c0, nl, xd), done);
    SPREC_TRY(sprec_dense_to_sparse(ctx, n, xd, &truth), done);
    have_truth = 1;
  }
  t_io = MPI_Wtime() - t0;

  SPREC_TRY(sprec_solver_create(ctx, &o, &s), done);
  SPREC_TRY(sprec_solver_solve(s, A, y, init, &x), done);
  sprec_stats st;
  sprec_solver_get_stats(s, &st);
  if (have_truth) cli_truth_metrics(&x, &truth, tm);

  t0 = MPI_Wtime();
  if (a.xout) {
    free(xd);
    xd = NULL;
    SPREC_TRY(sprec_agree(comm, sprec_calloc((size_t)nl, sizeof *xd, &xd, "x")), done);
    for (int64_t t = 0; t < x.nnz; t++)
      if (x.idx[t] >= c0 && x.idx[t] < c0 + nl) xd[x.idx[t] - c0] = x.val[t];
    SPREC_TRY(sprec_npy_write_cols(comm, a.xout, 1, 1, n, c0, nl, xd), done);
  }
  if (a.out) {
    err = write_json_file(comm, a.out, &a, ctx, &o, A, &st, &x, t_io, have_truth ? &truth : NULL, tm);
    if (err) {
      if (a.xout && ctx->rank == 0) remove(a.xout);
      goto done;
    }
  }
  t_io += MPI_Wtime() - t0;
  if (!a.quiet && ctx->rank == 0) {
    printf("sprec solve: algo=%s m=%lld n=%lld k=%lld ranks=%d grid=%dx%d iterations=%d "
           "best_iteration=%d stop=%s objective=%.10e rel_residual=%.3e time=%.3f",
           o.algo, (long long)A->m, (long long)n, (long long)o.k, ctx->size, ctx->nprow,
           ctx->npcol, st.iterations, st.best_iteration, st.stop_reason, st.objective,
           st.rel_residual, st.t_total + t_io);
    if (a.single) printf(" dtype=float32");
    if (have_truth) printf(" f1=%.4f rel_error=%.3e recovered=%s", tm[1], tm[2], tm[0] ? "yes" : "no");
    printf("\n");
  }
done:
  free(y);
  free(init);
  free(xd);
  sprec_sparse_free(&x);
  sprec_sparse_free(&truth);
  sprec_solver_destroy(&s);
  sprec_op_destroy(&A);
  sprec_ctx_destroy(&ctx);
  return err;
}
