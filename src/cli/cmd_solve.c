/* sprec solve: load or generate a problem, run one algorithm, report. */
#include "cli.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char help[] =
    "usage: sprec solve (--A FILE --y FILE | --kernel FILE --y FILE |\n"
    "                    --problem gaussian|deconv|hadamard -m M -n N | --problem spikes -n N)\n"
    "                   -k K [options]\n"
    "Problem:\n"
    "  --A FILE --y FILE     dictionary (m x n) and observation (m), .npy float64/float32;\n"
    "                        or FILE.h5:/DATASET (HDF5; :F at the end for a dataset stored\n"
    "                        column-major, n x m in the file), also for --init and --truth\n"
    "                        or a sparse A: .npz (scipy.sparse.save_npz, CSC) or .mtx\n"
    "                        an m x b --y holds b problems sharing A, solved together (one\n"
    "                        pass over A serves them all); --init FILE, --truth and --x-out\n"
    "                        are then n x b, one column per problem\n"
    "  --kernel FILE --y FILE  convolution: the columns are the shifts of the kernel (a vector\n"
    "                        of L taps), y = K * x ('full': n = len(y) - L + 1); nothing m x n\n"
    "                        is stored\n"
    "  --problem NAME        generate in memory as 'sprec gen' does (-m -n -k --snr --seed --width;\n"
    "                        spikes: -n -k --sigma --taps --min-sep, a convolution problem)\n"
    "                        hadamard: the implicit A = sqrt(n/m)*R*H*D, n a power of two, m <= n,\n"
    "                        each pass a fast transform of length n shared by the ranks\n"
    "  --implicit            deconv: compute the columns from their formula on every pass\n"
    "                        instead of storing them (O(m) memory, the same result)\n"
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
  const char *Af, *yf, *kernel, *problem, *algo, *init, *lsq, *topk, *truth, *out, *xout, *step_rule;
  const char *checkpoint, *resume;
  const char *dtype;     /* "float64" or "float32"                 */
  int quiet, single;     /* single: --dtype float32                */
  int monitor, checkpoint_every;
  int b;                 /* problems: the columns of --y          */
} solve_args;

/* SIGTERM (preemption, time limit, scancel) and SIGUSR1 (#SBATCH --signal, and what
 * scripts/mpirun.sh makes of a stop signal): the solver sees the flag at the end of the
 * iteration. */
static volatile sig_atomic_t stop_requested = 0;
static void request_stop(int sig)
{
  (void)sig;
  stop_requested = 1;
}

/* A progress line on stdout that never holds up a stop. Under mpirun stdout is a
 * terminal that mpirun drains; mpirun signalled itself drains nothing more (it sleeps
 * before killing the ranks), and rank 0 blocked in write() (restarted after the handler:
 * SA_RESTART) would never reach the end of its iteration: killed, its state unsaved.
 * So the line waits for room in poll() (a signal ends the wait; the timeout covers one
 * that comes just before it), and is dropped once a stop is requested. A closed or
 * failed stdout drops it too, as printf would have. */
static void put_line(const char *s, size_t n)
{
  fflush(stdout); /* whatever stdio holds goes first */
  while (n > 0 && !stop_requested) {
    struct pollfd p = {STDOUT_FILENO, POLLOUT, 0};
    int r = poll(&p, 1, 200);
    if (r < 0 && errno != EINTR) return;
    if (r <= 0) continue;
    if (p.revents & (POLLERR | POLLHUP | POLLNVAL)) return;
    ssize_t w = write(STDOUT_FILENO, s, n);
    if (w < 0 && errno != EINTR) return;
    if (w > 0) s += w, n -= (size_t)w;
  }
}

static void monitor(void *ctx, int iter, double obj, int64_t changes, double elapsed)
{
  char line[256];
  (void)ctx;
  int n = snprintf(line, sizeof line,
                   "iter %6d  objective %.10e  support changes %4lld  elapsed %.3f s\n", iter, obj,
                   (long long)changes, elapsed);
  if (n > 0) put_line(line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* The flags into the options and the solver's run control, which the library checks
 * (sprec_solver_create, its setters) before any file is touched; the sizes are checked
 * once the dictionary's header is read. */
static sprec_err solve_options(sprec_ctx ctx, solve_args *a, const cli_opt *opts, int nopts,
                               sprec_opts *o, sprec_problem *P, sprec_solver *s)
{
  SPREC_CALL(sprec_opts_set(o, "lsq", a->lsq));
  SPREC_CALL(sprec_opts_set(o, "topk", a->topk));
  if (a->step_rule) SPREC_CALL(sprec_opts_set(o, "step_rule", a->step_rule));
  SPREC_CALL(sprec_opts_set(o, "algo", a->algo));
  if (sprec_algo_class_of(o->algo) == SPREC_ALGO_L1 && !cli_seen(opts, nopts, "--tol"))
    o->tol = 1e-10; /* the command's default for the Lasso */
  if (a->init && sprec_algo_find(a->init)) { /* --init ALGO: the library runs ALGO first */
    o->init_algo = sprec_algo_find(a->init); /* (a chain, whose checkpoints know its phase) */
    a->init = NULL;
  }
  /* A solver option on the command line is the user's value, never "the default" that
   * the options write as 0 (--step 0 is refused like any other step <= 0). */
  for (const char *const *n = sprec_opts_names(); *n; n++) {
    char flag[64];
    snprintf(flag, sizeof flag, "%s%s", (*n)[1] ? "--" : "-", *n); /* k: -k */
    for (char *c = flag; *c; c++) *c = *c == '_' ? '-' : *c;
    if (cli_seen(opts, nopts, flag)) SPREC_CALL(sprec_opts_check_given(o, *n));
  }
  SPREC_CALL(sprec_solver_create(ctx, o, s));
  SPREC_CALL(sprec_solver_set_monitor(*s, a->monitor, a->quiet ? NULL : monitor, NULL));
  SPREC_CALL(sprec_solver_set_checkpoint(*s, a->checkpoint, a->checkpoint_every));
  SPREC_CALL(sprec_solver_set_resume(*s, a->resume));
  SPREC_CALL(sprec_solver_set_stop_flag(*s, &stop_requested));
  SPREC_CHECK(!!a->Af + !!a->kernel + !!a->problem == 1 && !a->yf == !!a->problem,
              SPREC_ERR_ARG,
              "solve: give either --A FILE and --y FILE, --kernel FILE and --y FILE, or --problem NAME");
  if (a->problem) {
    SPREC_CALL(cli_problem_kind(a->problem, &P->kind));
    SPREC_CHECK((cli_seen(opts, nopts, "-m") || P->kind == SPREC_PROBLEM_SPIKES) &&
                    cli_seen(opts, nopts, "-n") && cli_seen(opts, nopts, "-k"),
                SPREC_ERR_ARG, "solve: --problem needs -m, -n and -k (spikes: -n and -k)");
    P->k = o->k;
  }
  static const char *const dtype_names[] = {"float64", "float32", NULL};
  SPREC_CALL(cli_pick("--dtype", a->dtype, dtype_names, &a->single));
  P->single = a->single;
  return SPREC_OK;
}

/* What a solve produced: per problem (b of them), and for the batch as a whole. */
typedef struct {
  sprec_sparse *x, *truth; /* truth: NULL without one                  */
  sprec_stats *st, all;    /* all: the batch's (the problem's if b = 1) */
  double *tm;              /* 3 truth metrics per problem               */
  double *init_fit;        /* --init ALGO: its data fit, per problem    */
} solve_out;

static void out_free(solve_out *r, int b)
{
  for (int p = 0; r->x && p < b; p++) sprec_sparse_free(&r->x[p]);
  for (int p = 0; r->truth && p < b; p++) sprec_sparse_free(&r->truth[p]);
  free(r->x);
  free(r->truth);
  free(r->st);
  free(r->tm);
  free(r->init_fit);
}

/* The file a spec names: FILE of FILE.h5:/dataset, else the spec itself (a .npy file,
 * or a name too long to split, which its loader refuses). */
static const char *spec_file(const char *spec, char *buf, size_t len)
{
  char dataset[1024];
  int h5 = 0;
  if (!spec || sprec_h5_spec(spec, buf, len, dataset, sizeof dataset, &h5) || !h5) return spec;
  return buf;
}

/* --kernel K --y Y: a convolution operator, n = len(y) − len(K) + 1. The kernel is read
 * as a one-problem "y" of its own length (every value checked finite), the headers
 * first so that the sizes are checked before any data is read. */
static sprec_err load_conv(sprec_ctx ctx, solve_args *a, const sprec_opts *o, sprec_op *A,
                           double **y)
{
  MPI_Comm comm = sprec_ctx_comm(ctx);
  int nk, ny, bk = 0;
  int64_t sk[2], sy[2];
  double *K = NULL;
  char fk[4096], fy[4096];
  const char *kf = spec_file(a->kernel, fk, sizeof fk), *yf = spec_file(a->yf, fy, sizeof fy);
  SPREC_CALL(cli_file_error(sprec_spec_shape(comm, a->kernel, &nk, sk), "--kernel", kf));
  SPREC_CALL(cli_file_error(sprec_spec_shape(comm, a->yf, &ny, sy), "--y", yf));
  int64_t len = nk == 1 || sk[1] == 1 ? sk[0] : -1;
  SPREC_CHECK(len > 0, SPREC_ERR_FORMAT, "--kernel %s: has shape %lld x %lld, not a vector",
              a->kernel, (long long)sk[0], (long long)sk[1]);
  SPREC_CHECK(len <= sy[0], SPREC_ERR_ARG,
              "--kernel %s: %lld taps, longer than --y %s (%lld entries)", a->kernel,
              (long long)len, a->yf, (long long)sy[0]);
  int64_t n = sy[0] - len + 1;
  SPREC_CALL(sprec_opts_check(o, sy[0], n));
  SPREC_CALL(cli_file_error(sprec_y_load(ctx, a->kernel, len, &bk, &K), "--kernel", kf));
  sprec_err err = sprec_op_create_conv(ctx, n, len, K, A); /* takes K */
  if (err) return cli_error_prefix(err, "--kernel", a->kernel);
  SPREC_CALL(cli_file_error(sprec_y_load(ctx, a->yf, sy[0], &a->b, y), "--y", yf));
  return SPREC_OK;
}

/* The problem: generated (--problem: x_true is its truth), or A and y read from files
 * (A's header first, so that the sizes are checked before any data is read). */
static sprec_err load_problem(sprec_ctx ctx, solve_args *a, const sprec_opts *o,
                              const sprec_problem *P, sprec_op *A, double **y,
                              sprec_sparse *truth)
{
  a->b = 1;
  if (a->problem) return sprec_problem_generate(ctx, P, A, y, truth);
  if (a->kernel) return load_conv(ctx, a, o, A, y);
  if (sprec_csc_path(a->Af)) { /* sparse dictionary: .npz (SciPy) or .mtx */
    SPREC_CHECK(!a->single, SPREC_ERR_ARG, "--dtype float32 applies to a dense --A only");
    SPREC_CALL(cli_file_error(sprec_op_load_csc(ctx, a->Af, A), "--A", a->Af));
    SPREC_CALL(sprec_opts_check(o, sprec_op_rows(*A), sprec_op_cols(*A)));
    char fy[4096];
    return cli_file_error(sprec_y_load(ctx, a->yf, sprec_op_rows(*A), &a->b, y), "--y",
                          spec_file(a->yf, fy, sizeof fy));
  }
  int nd;
  int64_t shape[2];
  char fa[4096], fy[4096];
  SPREC_CALL(cli_file_error(sprec_spec_shape(sprec_ctx_comm(ctx), a->Af, &nd, shape), "--A",
                            spec_file(a->Af, fa, sizeof fa)));
  if (nd == 2) { /* (a 1-D --A is refused by the loader) */
    SPREC_CALL(sprec_opts_check(o, shape[0], shape[1]));
    SPREC_CALL(cli_file_error(sprec_y_load(ctx, a->yf, shape[0], &a->b, y), "--y",
                              spec_file(a->yf, fy, sizeof fy)));
  }
  sprec_dtype dt = a->single ? SPREC_FLOAT32 : SPREC_FLOAT64;
  SPREC_CALL(cli_file_error(sprec_op_load(ctx, a->Af, dt, A), "--A", fa));
  return SPREC_OK;
}

/* --init FILE and --truth FILE (n x b); the result arrays. */
static sprec_err load_vectors(sprec_ctx ctx, const solve_args *a, sprec_op A, double **init,
                              solve_out *r, sprec_sparse *gen_truth)
{
  MPI_Comm comm = sprec_ctx_comm(ctx);
  int b = a->b;
  r->x = calloc((size_t)b, sizeof *r->x);
  r->st = calloc((size_t)b, sizeof *r->st);
  r->truth = calloc((size_t)b, sizeof *r->truth);
  r->tm = calloc((size_t)b * 3, sizeof *r->tm);
  r->init_fit = calloc((size_t)b, sizeof *r->init_fit);
  int ok = r->x && r->st && r->truth && r->tm && r->init_fit;
  if (ok) r->truth[0] = *gen_truth; /* --problem: the generated x is the truth */
  else sprec_sparse_free(gen_truth);
  *gen_truth = (sprec_sparse){0};
  SPREC_CALL(sprec_agree(comm, ok ? SPREC_OK : SPREC_ERROR(SPREC_ERR_MEM, "out of memory")));
  char f[4096];
  if (a->init)
    SPREC_CALL(cli_file_error(sprec_x_load(A, a->init, b, init), "--init",
                              spec_file(a->init, f, sizeof f)));
  if (!a->truth) return SPREC_OK;
  double *xd = NULL;
  int64_t nl = sprec_op_local_cols(A);
  SPREC_CALL(cli_file_error(sprec_x_load(A, a->truth, b, &xd), "--truth",
                            spec_file(a->truth, f, sizeof f)));
  sprec_err err = SPREC_OK;
  for (int p = 0; p < b && !err; p++) {
    sprec_sparse_free(&r->truth[p]); /* --truth overrides --problem's */
    err = sprec_dense_to_sparse(ctx, sprec_op_cols(A), xd + p * nl, &r->truth[p]);
  }
  sprec_free(xd);
  return err;
}

/* One problem (b = 1) or a batch; fills r->x, r->st and r->all. */
static sprec_err run_solver(sprec_solver s, sprec_op A, int b, const double *y, const double *init,
                            solve_out *r)
{
  sprec_err err = b == 1 ? sprec_solver_solve(s, A, y, init, &r->x[0])
                         : sprec_solver_solve_batch(s, A, b, y, init, r->x, r->st);
  sprec_solver_get_stats(s, &r->all);
  if (b == 1) r->st[0] = r->all;
  for (int p = 0; p < b; p++) r->init_fit[p] = r->st[p].init_data_fit;
  return err;
}

/* A signal stopped the run: no result, exit status 3, rank 0 says where the state is. */
static void report_interrupted(const solve_args *a, const solve_out *r)
{
  if (a->b > 1)
    fprintf(stderr, "sprec solve: stopped by a signal; %s%s%s\n",
            a->checkpoint ? "the state of every problem saved in "
                          : "nothing saved (no --checkpoint given)",
            a->checkpoint ? a->checkpoint : "", a->checkpoint ? " (continue with --resume)" : "");
  else if (a->checkpoint)
    fprintf(stderr, "sprec solve: stopped by a signal after iteration %d; state saved in %s "
                    "(continue with --resume %s)\n",
            r->st[0].iterations, a->checkpoint, a->checkpoint);
  else
    fprintf(stderr, "sprec solve: stopped by a signal after iteration %d; nothing saved (no "
                    "--checkpoint given)\n",
            r->st[0].iterations);
}

/* Rank 0 writes the result (sprec_result_json) to file; path is the --out path. */
static sprec_err write_json_file(sprec_ctx ctx, const char *path, const char *file,
                                 const solve_args *a, const sprec_opts *o, sprec_op A,
                                 const solve_out *r, double t_io)
{
  sprec_result res = {a->b, r->x, r->st, &r->all, r->truth ? r->tm : NULL,
                      o->init_algo, r->init_fit, t_io, cli_peak_rss_mib(sprec_ctx_comm(ctx))};
  sprec_err err = SPREC_OK;
  if (sprec_ctx_rank(ctx) == 0) {
    char *text = sprec_result_json(ctx, o, A, &res, -1);
    FILE *f = text ? fopen(file, "w") : NULL;
    int bad = !f;
    if (f) {
      fputs(text, f);
      fputc('\n', f);
      bad = ferror(f);
      bad |= fclose(f) != 0;
    }
    sprec_free(text);
    if (bad) err = SPREC_ERROR(SPREC_ERR_IO, "--out %s: cannot write the result", path);
  }
  return sprec_agree(sprec_ctx_comm(ctx), err);
}

/* --x-out and --out: both, or neither (written as partial files, renamed together). */
static sprec_err write_outputs(sprec_ctx ctx, const solve_args *a, const sprec_opts *o,
                               sprec_op A, const solve_out *r, double t_io)
{
  cli_outset outs = {0};
  sprec_err err = SPREC_OK;
  if (a->xout) {
    err = sprec_x_save_npy(A, cli_out_add(&outs, a->xout), a->b, r->x);
    if (err) err = cli_error_prefix(err, "--x-out", a->xout);
  }
  if (a->out && !err)
    err = write_json_file(ctx, a->out, cli_out_add(&outs, a->out), a, o, A, r, t_io);
  return cli_out_commit(sprec_ctx_comm(ctx), &outs, err);
}

static void print_summary(const solve_args *a, const sprec_opts *o, sprec_ctx ctx, sprec_op A,
                          const solve_out *r, double t_io)
{
  int nprow, npcol;
  sprec_ctx_grid(ctx, &nprow, &npcol);
  printf("sprec solve: algo=%s m=%lld n=%lld k=%lld ranks=%d grid=%dx%d", sprec_algo_name(o->algo),
         (long long)sprec_op_rows(A), (long long)sprec_op_cols(A), (long long)o->k,
         sprec_ctx_size(ctx), nprow, npcol);
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
  if (r->truth && a->b == 1)
    printf(" f1=%.4f rel_error=%.3e recovered=%s", r->tm[1], r->tm[2], r->tm[0] ? "yes" : "no");
  else if (r->truth) {
    int rec = 0;
    double f1 = 0;
    for (int p = 0; p < a->b; p++) rec += r->tm[3 * p] != 0, f1 += r->tm[3 * p + 1];
    printf(" recovered=%d/%d mean_f1=%.4f", rec, a->b, f1 / a->b);
  }
  printf("\n");
}

/* Collective. Every file the command names, checked before any work. */
static sprec_err check_files(MPI_Comm comm, const solve_args *a)
{
  char fa[4096], fy[4096], fk[4096], fi[4096], ft[4096]; /* the files of FILE.h5:/dataset specs */
  cli_path files[] = {
      {"--A", spec_file(a->Af, fa, sizeof fa), 0, 0, NULL, NULL},
      {"--y", spec_file(a->yf, fy, sizeof fy), 0, 0, NULL, NULL},
      {"--kernel", spec_file(a->kernel, fk, sizeof fk), 0, 0, NULL, NULL},
      {"--init", spec_file(a->init, fi, sizeof fi), 0, 0, NULL, NULL},
      {"--truth", spec_file(a->truth, ft, sizeof ft), 0, 0, NULL, NULL},
      {"--resume", a->resume, 0, 0, NULL, NULL},
      {"--out", a->out, 1, 0, NULL, NULL},
      {"--x-out", a->xout, 1, 0, NULL, NULL},
      {"--checkpoint", a->checkpoint, 1, 0, "--resume", NULL},
  };
  return cli_check_paths(comm, files, (int)(sizeof files / sizeof *files));
}

/* From the files to the outputs, on the context. */
static sprec_err solve_run(sprec_ctx ctx, sprec_solver s, solve_args *a, sprec_opts *o,
                           const sprec_problem *P)
{
  MPI_Comm comm = sprec_ctx_comm(ctx);
  sprec_op A = NULL;
  double *y = NULL, *init = NULL, t_io, t0;
  sprec_sparse gen_truth = {0};
  solve_out r = {0};
  sprec_err err;
  SPREC_TRY(check_files(comm, a), done);
  t0 = MPI_Wtime();
  SPREC_TRY(load_problem(ctx, a, o, P, &A, &y, &gen_truth), done);
  SPREC_TRY(load_vectors(ctx, a, A, &init, &r, &gen_truth), done);
  t_io = MPI_Wtime() - t0;
  SPREC_TRY(run_solver(s, A, a->b, y, init, &r), done);
  for (int p = 0; p < a->b; p++) cli_interrupted |= !strcmp(r.st[p].stop_reason, "interrupted");
  if (cli_interrupted) { /* no result: exit status 3 */
    if (sprec_ctx_rank(ctx) == 0) report_interrupted(a, &r);
    goto done;
  }
  if (!a->problem && !a->truth) { /* no truth: no "truth" in the result */
    free(r.truth);
    r.truth = NULL;
  }
  for (int p = 0; r.truth && p < a->b; p++) sprec_truth_metrics(&r.x[p], &r.truth[p], r.tm + 3 * p);
  t0 = MPI_Wtime();
  SPREC_TRY(write_outputs(ctx, a, o, A, &r, t_io), done);
  t_io += MPI_Wtime() - t0;
  if (!a->quiet && sprec_ctx_rank(ctx) == 0) print_summary(a, o, ctx, A, &r, t_io);
done:
  sprec_free(y);
  sprec_free(init);
  sprec_sparse_free(&gen_truth);
  out_free(&r, a->b);
  sprec_op_destroy(&A);
  return err;
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
  int npos;
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
      {"--monitor", OPT_INT, &a.monitor, 0}, {"--quiet", OPT_FLAG, &a.quiet, 0},
      {"--lambda", OPT_DBL, &o.lambda, 0}, {"--lambda-ratio", OPT_DBL, &o.lambda_ratio, 0},
      {"--continuation", OPT_INT, &o.continuation, 0}, {"--restart", OPT_FLAG, &o.restart, 0},
      {"--debias", OPT_FLAG, &o.debias, 0}, {"--dtype", OPT_STR, &a.dtype, 0},
      {"--checkpoint", OPT_STR, &a.checkpoint, 0}, {"--resume", OPT_STR, &a.resume, 0},
      {"--checkpoint-every", OPT_INT, &a.checkpoint_every, 0},
      {"--kernel", OPT_STR, &a.kernel, 0}, {"--sigma", OPT_DBL, &P.sigma, 0},
      {"--taps", OPT_I64, &P.taps, 0},     {"--min-sep", OPT_I64, &P.min_sep, 0},
      {"--implicit", OPT_FLAG, &P.implicit, 0},
  };
  int nopts = (int)(sizeof opts / sizeof opts[0]);
  if (cli_help(argc, argv, help)) return SPREC_OK;
  SPREC_CALL(cli_parse("solve", argc, argv, opts, nopts, pos, 0, &npos));
  sprec_ctx ctx = NULL;
  sprec_solver s = NULL;
  sprec_err err = sprec_ctx_create(MPI_COMM_WORLD, &ctx);
  if (!err) err = solve_options(ctx, &a, opts, nopts, &o, &P, &s);
  if (err) {
    sprec_solver_destroy(&s);
    sprec_ctx_destroy(&ctx);
    return err;
  }

  /* From here on a signal does not kill the run: the solver stops at the end of an
   * iteration (a signal during the set-up stops it after its first). */
  struct sigaction on_stop;
  memset(&on_stop, 0, sizeof on_stop);
  on_stop.sa_handler = request_stop;
  sigemptyset(&on_stop.sa_mask);
  on_stop.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &on_stop, NULL);
  sigaction(SIGUSR1, &on_stop, NULL);
  err = solve_run(ctx, s, &a, &o, &P);
  sprec_solver_destroy(&s);
  sprec_ctx_destroy(&ctx);
  /* The handlers stay to the exit: a stop that comes late (a repeated signal, mpirun's
   * own SIGTERM after its wait) must not kill a rank that is finalizing, the job then
   * ending with a signal's status although its state or result is written. */
  return err;
}
