/* sprec bench: how close one iteration comes to the machine's memory bandwidth, all
 * measured in one run (the machine is shared and noisy, so the figures that count are
 * ratios of quantities measured side by side):
 *   (a) streaming read bandwidth: a read kernel with independent accumulators, and
 *       OpenBLAS dgemv (transposed) on a matrix of the block's shape; the higher of
 *       the two is the reference;
 *   (b) sprec's Aᵀr pass;
 *   (c) the median iteration time of SEA, HTP, IHT, OMP and FISTA, against one pass;
 *   (d) the per-phase breakdown of those runs;
 *   (e) the restricted least squares per iteration (one column swapped) against k,
 *       for both paths;
 *   (f) peak memory per rank against its block of A.
 * Bandwidths are aggregates: bytes of A over all ranks / the slowest rank's time.
 *
 * --dtype float32 runs everything on a single-precision A (bytes = 4·m·n in its
 * bandwidths) and keeps the reference on a double matrix of the same shape, so that
 * sprec's float Aᵀr is judged against the same streaming reference; it also times
 * the double Aᵀr side by side and reports the ratio of columns per second. The double
 * matrix is made after the solver runs, once the peak memory has been taken, so that
 * the memory figures are those of the float run (this is why the bandwidth figures
 * come last in that mode). */
#include "cli.h"

#include <cblas.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char help[] =
    "usage: sprec bench [-m M] [-n N] [-k K] [--iters T] [--reps R] [--dtype float64|float32]\n"
    "                   [--out DIR] [--quick]\n"
    "  defaults: m=1000, n=200000, k=50, 20 iterations per algorithm, best of 5 passes\n"
    "  --dtype float32: A in single precision; the reference and a float64 Aᵀr are timed\n"
    "                   on a double copy of the same shape (made after the solver runs)\n"
    "  --quick: m=200, n=20000, k=10 (seconds; used by the tests)\n"
    "Writes DIR/bench.csv and DIR/bench.json (default DIR: build/bench).\n";

/* The plain streaming read: eight independent sums, so that the additions do not
 * wait on each other and the loop is limited by memory alone. */
static double read_kernel(const double *a, int64_t len)
{
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= len; i += 8)
    for (int l = 0; l < 8; l++) s[l] += a[i + l];
  for (; i < len; i++) s[0] += a[i];
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

/* Best over reps of the slowest rank's time of fn. */
#define BEST_TIME(out, reps, comm, stmt)                                                   \
  do {                                                                                   \
    out = 1e300;                                                                         \
    for (int rep_ = 0; rep_ < (reps); rep_++) {                                          \
      MPI_Barrier(comm);                                                                 \
      double t0_ = MPI_Wtime();                                                          \
      stmt;                                                                              \
      double t_ = MPI_Wtime() - t0_;                                                     \
      MPI_Allreduce(MPI_IN_PLACE, &t_, 1, MPI_DOUBLE, MPI_MAX, comm);                    \
      if (t_ < out) out = t_;                                                            \
    }                                                                                    \
  } while (0)

typedef struct {
  FILE *csv, *json;
  int first;
} sink;

static void put(sink *o, int rank, const char *metric, double v, const char *unit)
{
  if (rank) return;
  printf("  %-44s %14.6g %s\n", metric, v, unit);
  if (o->csv) fprintf(o->csv, "%s,%.9g,%s\n", metric, v, unit);
  if (o->json) fprintf(o->json, "%s\n  \"%s\": %.9g", o->first ? "" : ",", metric, v);
  o->first = 0;
}

/* (a) and (b): the streaming reference on the double matrix Aref (its block read by
 * the read kernel and by dgemv), then sprec's Aᵀr on A (Aref itself, or the float
 * matrix), whose bandwidth counts `bytes` (the bytes of A). *t_at: the pass time. */
static sprec_err bandwidth(sink *o, int rank, MPI_Comm comm, sprec_op Aref, sprec_op A,
                           const double *y, double *g, int reps, double bytes, double *t_at,
                           double *sink_)
{
  int64_t m = Aref->m, nl = Aref->n_local;
  double bytes_ref = 8.0 * (double)m * (double)Aref->n, t_read, t_gemv;
  const double *Ad = Aref->data;
  SPREC_CHECK(!sprec_op_is_dense_f32(Aref), SPREC_ERR_ARG, "bench: the reference must be double");
  BEST_TIME(t_read, reps, comm, *sink_ += read_kernel(Ad, m * nl));
  BEST_TIME(t_gemv, reps, comm,
            cblas_dgemv(CblasColMajor, CblasTrans, (int)m, (int)nl, 1.0, Ad, (int)m, y, 1, 0.0, g, 1));
  BEST_TIME(*t_at, reps, comm, sprec_op_apply_T(A, y, g));
  double ref = bytes_ref / (t_read < t_gemv ? t_read : t_gemv) / 1e9;
  put(o, rank, "stream_read_GBps", bytes_ref / t_read / 1e9, "GB/s");
  put(o, rank, "dgemv_GBps", bytes_ref / t_gemv / 1e9, "GB/s");
  put(o, rank, "reference_GBps", ref, "GB/s");
  put(o, rank, "apply_T_GBps", bytes / *t_at / 1e9, "GB/s");
  put(o, rank, "apply_T_over_reference", bytes / *t_at / 1e9 / ref, "ratio (target >= 0.90)");
  put(o, rank, "apply_T_pass_seconds", *t_at, "s");
  put(o, rank, "apply_T_columns_per_second", (double)A->n / *t_at, "columns/s");
  return SPREC_OK;
}

sprec_err cmd_bench(int argc, char **argv)
{
  int64_t m = 1000, n = 200000, k = 50;
  int iters = 20, reps = 5, quick = 0, npos, rank;
  const char *out = "build/bench", *pos[1], *dtype = "float64";
  cli_opt opts[] = {
      {"-m", OPT_I64, &m, 0},         {"-n", OPT_I64, &n, 0},        {"-k", OPT_I64, &k, 0},
      {"--iters", OPT_INT, &iters, 0}, {"--reps", OPT_INT, &reps, 0}, {"--out", OPT_STR, &out, 0},
      {"--quick", OPT_FLAG, &quick, 0}, {"--dtype", OPT_STR, &dtype, 0},
  };
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (cli_help_requested(argc, argv)) {
    if (rank == 0) fputs(help, stdout);
    return SPREC_OK;
  }
  SPREC_CALL(cli_parse("bench", argc, argv, opts, (int)(sizeof opts / sizeof *opts), pos, 0, &npos));
  if (quick) m = 200, n = 20000, k = 10, reps = 2;
  SPREC_CHECK(iters >= 1 && reps >= 1, SPREC_ERR_ARG, "--iters and --reps must be >= 1");
  SPREC_CHECK(!strcmp(dtype, "float64") || !strcmp(dtype, "float32"), SPREC_ERR_ARG,
              "--dtype: unknown value '%s' (float64 or float32)", dtype);
  const int single = !strcmp(dtype, "float32");

  sprec_ctx ctx = NULL;
  sprec_op A = NULL, Aref = NULL; /* Aref: the double reference matrix (float32 mode) */
  double *y = NULL, *g = NULL, *yref = NULL;
  sprec_sparse xt = {0}, xtref = {0};
  sink o = {NULL, NULL, 1};
  char path[4096];
  sprec_err err;
  sprec_problem P;
  sprec_problem_default(&P);
  P.m = m, P.n = n, P.k = k, P.snr_db = 40, P.single = single;
  SPREC_TRY(sprec_ctx_create(MPI_COMM_WORLD, &ctx), done);
  MPI_Comm comm = ctx->comm;
  if (rank == 0) {
    snprintf(path, sizeof path, "mkdir -p '%s'", out);
    if (system(path) == 0) {
      snprintf(path, sizeof path, "%s/bench.csv", out);
      o.csv = fopen(path, "w");
      snprintf(path, sizeof path, "%s/bench.json", out);
      o.json = fopen(path, "w");
    }
  }
  SPREC_TRY(sprec_agree(comm, rank == 0 && !(o.csv && o.json)
                                  ? SPREC_ERROR(SPREC_ERR_IO, "--out %s: cannot write", out)
                                  : SPREC_OK),
            done);
  if (rank == 0) {
    fprintf(o.csv, "metric,value,unit\n");
    fputc('{', o.json);
  }
  SPREC_TRY(sprec_problem_generate(ctx, &P, &A, &y, &xt), done);
  int64_t nl = A->n_local;
  SPREC_TRY(sprec_agree(comm, sprec_calloc((size_t)nl, sizeof *g, &g, "gradient")), done);
  const double es = single ? 4.0 : 8.0; /* bytes per entry of A */
  double bytes = es * (double)m * (double)n, t_at, sink_ = 0;
  if (rank == 0)
    printf("sprec bench: m=%lld n=%lld k=%lld, %d ranks, A = %.1f MB (%.1f MB per rank), %s\n",
           (long long)m, (long long)n, (long long)k, ctx->size, bytes / 1e6,
           es * (double)m * (double)nl / 1e6, dtype);
  put(&o, rank, "ranks", ctx->size, "");
  put(&o, rank, "m", (double)m, "");
  put(&o, rank, "n", (double)n, "");
  put(&o, rank, "k", (double)k, "");
  put(&o, rank, "element_bytes", es, "bytes per entry of A (8 float64, 4 float32)");

  if (!single) SPREC_TRY(bandwidth(&o, rank, comm, A, A, y, g, reps, bytes, &t_at, &sink_), done);
  else BEST_TIME(t_at, reps, comm, sprec_op_apply_T(A, y, g)); /* for the ratios below */

  static const char *const algos[] = {"sea", "htp", "iht", "omp", "fista"};
  for (int a = 0; a < 5; a++) {
    sprec_opts so;
    sprec_stats st;
    sprec_solver s = NULL;
    sprec_sparse x = {0};
    sprec_opts_default(&so);
    strcpy(so.algo, algos[a]);
    so.k = k;
    so.iters = !strcmp(algos[a], "omp") ? (int)k : iters;
    if (!strcmp(algos[a], "fista")) so.lambda_ratio = 0.1, so.tol = 0;
    SPREC_TRY(sprec_solver_create(ctx, &so, &s), done);
    err = sprec_solver_solve(s, A, y, NULL, &x);
    sprec_solver_get_stats(s, &st);
    sprec_solver_destroy(&s);
    sprec_sparse_free(&x);
    if (err) goto done;
    char name[64];
    /* Against the passes of the same run: both sides see the same machine state. */
    double it = st.iteration_seconds_median, tot = st.t_total - st.t_setup;
    double pass = st.apply_T_passes ? st.t_apply_T / (double)st.apply_T_passes : t_at;
    snprintf(name, sizeof name, "%s_iteration_seconds", algos[a]);
    put(&o, rank, name, it, "s (median)");
    snprintf(name, sizeof name, "%s_iteration_over_apply_T", algos[a]);
    put(&o, rank, name, it / pass, "ratio to its own mean pass (target <= 1.2 for sea, htp)");
    if (tot > 0) {
      snprintf(name, sizeof name, "%s_share_apply_T", algos[a]);
      put(&o, rank, name, st.t_apply_T / tot, "of the iterations");
      snprintf(name, sizeof name, "%s_share_topk", algos[a]);
      put(&o, rank, name, st.t_topk / tot, "of the iterations");
      snprintf(name, sizeof name, "%s_share_lsq", algos[a]);
      put(&o, rank, name, st.t_lsq / tot, "of the iterations");
      snprintf(name, sizeof name, "%s_share_comm", algos[a]);
      put(&o, rank, name, st.t_comm / tot, "of the iterations (inside the others)");
    }
  }

  /* (e) Least squares per iteration with one column swapped, against k. */
  static const int64_t ks[] = {10, 50, 200, 800};
  for (int q = 0; q < 4; q++) {
    int64_t kk = ks[q];
    if (kk > m || kk > n) continue;
    for (int path_ = 0; path_ < 2; path_++) {
      sprec_lsq l = NULL;
      int64_t *S = malloc(sizeof(int64_t) * (size_t)kk);
      double *z = malloc(sizeof(double) * (size_t)kk), *r = malloc(sizeof(double) * (size_t)m);
      for (int64_t t = 0; t < kk; t++) S[t] = t * (n / kk);
      SPREC_TRY(sprec_lsq_create(A, y, kk, path_ ? SPREC_LSQ_SCALAPACK : SPREC_LSQ_REPLICATED, &l), done);
      err = sprec_lsq_solve(l, kk, S, z, r); /* the first solve factors everything */
      double t_l = 0;
      int swaps = 10;
      MPI_Barrier(comm);
      double t0 = MPI_Wtime();
      for (int sw = 0; !err && sw < swaps; sw++) {
        S[sw % kk] += 1; /* one column leaves, its neighbour enters; S stays sorted */
        err = sprec_lsq_solve(l, kk, S, z, r);
      }
      t_l = (MPI_Wtime() - t0) / swaps;
      MPI_Allreduce(MPI_IN_PLACE, &t_l, 1, MPI_DOUBLE, MPI_MAX, comm);
      sprec_lsq_destroy(&l);
      free(S);
      free(z);
      free(r);
      if (err) goto done;
      char name[64];
      snprintf(name, sizeof name, "lsq_%s_k%lld_seconds", path_ ? "scalapack" : "replicated",
               (long long)kk);
      put(&o, rank, name, t_l, "s per iteration, one column swapped");
    }
  }
  double rss = cli_peak_rss_mib(comm), block = es * (double)m * (double)nl / 1048576.0;
  double blockmax = block;
  MPI_Allreduce(MPI_IN_PLACE, &blockmax, 1, MPI_DOUBLE, MPI_MAX, comm);
  if (single) { /* now the double reference, of the same shape */
    P.single = 0;
    SPREC_TRY(sprec_problem_generate(ctx, &P, &Aref, &yref, &xtref), done);
    SPREC_TRY(bandwidth(&o, rank, comm, Aref, A, y, g, reps, bytes, &t_at, &sink_), done);
    double t_at64;
    BEST_TIME(t_at64, reps, comm, sprec_op_apply_T(Aref, y, g));
    put(&o, rank, "apply_T_float64_pass_seconds", t_at64, "s (the double matrix)");
    put(&o, rank, "apply_T_float64_columns_per_second", (double)n / t_at64, "columns/s");
    put(&o, rank, "apply_T_float32_over_float64", t_at64 / t_at,
        "ratio of columns per second (2 = the bandwidth saved)");
  }
  put(&o, rank, "peak_rss_MiB_per_rank", rss, "MiB (max over ranks)");
  put(&o, rank, "block_MiB_per_rank", blockmax, "MiB");
  put(&o, rank, "peak_rss_over_block", rss / blockmax, "ratio (target <= 1.1 + O(mk))");
  if (sink_ == 12345.678) put(&o, rank, "unlikely", sink_, ""); /* keep the reads alive */
done:
  if (o.json) {
    fputs("\n}\n", o.json);
    fclose(o.json);
  }
  if (o.csv) fclose(o.csv);
  free(y);
  free(g);
  free(yref);
  sprec_sparse_free(&xt);
  sprec_sparse_free(&xtref);
  sprec_op_destroy(&A);
  sprec_op_destroy(&Aref);
  sprec_ctx_destroy(&ctx);
  return err;
}
