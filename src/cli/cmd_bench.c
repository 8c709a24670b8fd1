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
 *   (f) peak memory per rank against its block of A;
 *   (g) batched right-hand sides: SEA problems per second when b problems sharing A
 *       are solved together (sprec_solver_solve_batch, one pass over A per round),
 *       for b = 1, 8, 64, 256 (--quick: 1, 4, 16), and the speedup over b = 1;
 *   (h) the batched product AᵀR alone against OpenBLAS dgemm on the same shapes.
 * (a), (b) and (h) time every kernel variant this CPU runs, in turns with the
 * references.
 * Bandwidths are aggregates: bytes of A over all ranks / the slowest rank's time.
 *
 * The peak memory (f) is a high-water mark that cannot be reset, so it is taken
 * before the batched runs (b = 256 holds 2·256 vectors of the block's length for
 * SEA): it stays the figure of the single-problem solvers and the least squares.
 *
 * --dtype float32 runs everything on a single-precision A (bytes = 4·m·n in its
 * bandwidths) and keeps the reference on a double matrix of the same shape, so that
 * sprec's float Aᵀr is judged against the same streaming reference; it also times
 * the double Aᵀr side by side and reports the ratio of columns per second. The double
 * matrix is made after the solver runs, once the peak memory has been taken, so that
 * the memory figures are those of the float run (this is why the bandwidth figures
 * come last in that mode).
 *
 * Each benchmark is a file of its own (bench.h says which); this file holds the
 * command: its options, the problem, the order of the runs and the outputs. */
#include "bench.h"

#include <string.h>

static const char help[] =
    "usage: sprec bench [-m M] [-n N] [-k K] [--iters T] [--reps R] [--dtype float64|float32]\n"
    "                   [--out DIR] [--quick]\n"
    "  defaults: m=1000, n=200000, k=50, 20 iterations per algorithm, best of 5 passes\n"
    "  --dtype float32: A in single precision; the reference and a float64 Aᵀr are timed\n"
    "                   on a double copy of the same shape (made after the solver runs)\n"
    "  --quick: m=200, n=20000, k=10 (seconds; used by the tests)\n"
    "  --operator KIND: seconds per pass against n for one kind of operator instead\n"
    "                   (sprec bench --operator dense --help)\n"
    "  --comm: communication constants, pass rates and least squares for the scaling\n"
    "                   model instead (sprec bench --comm --help)\n"
    "  batched right-hand sides: SEA, --iters iterations each, b = 1, 8, 64, 256\n"
    "                   (--quick: 1, 4, 16); a b whose vectors would not fit in half\n"
    "                   the node's memory is skipped\n"
    "Writes DIR/bench.csv and DIR/bench.json (default DIR: build/bench).\n";

/* The run's line on stdout and its first metrics. es: bytes per entry of A. */
static void put_header(bench_sink *o, sprec_ctx ctx, sprec_op A, int64_t k, double es,
                       const char *dtype)
{
  int64_t m = sprec_op_rows(A), n = sprec_op_cols(A), nl = sprec_op_local_cols(A);
  if (o->rank == 0)
    printf("sprec bench: m=%lld n=%lld k=%lld, %d ranks, A = %.1f MB (%.1f MB per rank), %s, "
           "kernels %s\n",
           (long long)m, (long long)n, (long long)k, sprec_ctx_size(ctx),
           es * (double)m * (double)n / 1e6, es * (double)m * (double)nl / 1e6, dtype,
           sprec_kernel_variant());
  bench_put(o, "ranks", sprec_ctx_size(ctx), "");
  bench_put(o, "m", (double)m, "");
  bench_put(o, "n", (double)n, "");
  bench_put(o, "k", (double)k, "");
  bench_put(o, "element_bytes", es, "bytes per entry of A (8 float64, 4 float32)");
}


/* --dtype float32, at the end: the double matrix of the same shape (P in double), the
 * streaming reference on it and sprec's float Aᵀr against that reference, then a
 * float64 Aᵀr beside the float one (t_at: the float pass time, measured again here). */
static sprec_err float64_reference(bench_sink *o, sprec_ctx ctx, sprec_problem *P, sprec_op A,
                                   const double *y, double *g, int reps, double bytes,
                                   double t_at, double *keep)
{
  sprec_op Aref = NULL;
  double *yref = NULL;
  sprec_sparse xtref = {0};
  sprec_err err;
  P->single = 0;
  SPREC_TRY(sprec_problem_generate(ctx, P, &Aref, &yref, &xtref), done);
  SPREC_TRY(bench_stream(o, ctx, Aref, A, y, g, reps, bytes, &t_at, keep), done);
  SPREC_TRY(bench_float64(o, ctx, Aref, A, y, g, reps, t_at), done);
done:
  sprec_free(yref);
  sprec_sparse_free(&xtref);
  sprec_op_destroy(&Aref);
  return err;
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
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--operator")) return bench_operator(argc, argv);
    else if (!strcmp(argv[i], "--comm")) return bench_comm(argc, argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (cli_help(argc, argv, help)) return SPREC_OK;
  SPREC_CALL(cli_parse("bench", argc, argv, opts, (int)(sizeof opts / sizeof *opts), pos, 0, &npos));
  if (quick) m = 200, n = 20000, k = 10, reps = 2;
  SPREC_CHECK(iters >= 1 && reps >= 1, SPREC_ERR_ARG, "--iters and --reps must be >= 1");
  SPREC_CHECK(!strcmp(dtype, "float64") || !strcmp(dtype, "float32"), SPREC_ERR_ARG,
              "--dtype: unknown value '%s' (float64 or float32)", dtype);
  const int single = !strcmp(dtype, "float32");

  sprec_ctx ctx = NULL;
  sprec_op A = NULL;
  double *y = NULL, *g = NULL;
  sprec_sparse xt = {0};
  bench_sink o = {NULL, NULL, 1, rank, 0};
  cli_outset outs = {0};
  char paths[2][4096]; /* the outputs' names (outs refers to them) */
  sprec_err err;
  sprec_problem P;
  sprec_problem_default(&P);
  P.m = m, P.n = n, P.k = k, P.snr_db = 40, P.single = single;
  SPREC_TRY(sprec_ctx_create(MPI_COMM_WORLD, &ctx), done);
  MPI_Comm comm = sprec_ctx_comm(ctx);
  SPREC_TRY(bench_open_sinks(comm, out, &o, &outs, paths), done);
  SPREC_TRY(sprec_problem_generate(ctx, &P, &A, &y, &xt), done);
  int64_t nl = sprec_op_local_cols(A);
  SPREC_TRY(sprec_agree(comm, cli_alloc((size_t)nl, sizeof *g, &g, "gradient")), done);
  const double es = single ? 4.0 : 8.0; /* bytes per entry of A */
  double bytes = es * (double)m * (double)n, t_at, keep = 0;
  put_header(&o, ctx, A, k, es, dtype);

  if (!single) SPREC_TRY(bench_stream(&o, ctx, A, A, y, g, reps, bytes, &t_at, &keep), done);
  else BEST_TIME(t_at, reps, comm, sprec_op_apply_T(A, y, g)); /* for the ratios below */

  SPREC_TRY(bench_solvers(&o, ctx, A, y, k, iters, t_at), done); /* (c), (d) */
  SPREC_TRY(bench_lsq(&o, ctx, A, y), done);                     /* (e)      */
  /* (f) taken here, before the batched runs and the float32 mode's double copy. */
  double rss = cli_peak_rss_mib(comm), block = es * (double)m * (double)nl / 1048576.0;
  double blockmax = block;
  MPI_Allreduce(MPI_IN_PLACE, &blockmax, 1, MPI_DOUBLE, MPI_MAX, comm);
  if (!single) { /* (h) */
    static const int bs_full[] = {64, 256}, bs_quick[] = {16, 64};
    SPREC_TRY(bench_kernel(&o, ctx, A, quick ? 2000 : 20000, 2, quick ? bs_quick : bs_full,
                           quick ? 2 : 3),
              done);
  }
  {
    static const int bs_full[] = {1, 8, 64, 256}, bs_quick[] = {1, 4, 16};
    SPREC_TRY(bench_batch(&o, ctx, A, k, iters, reps, quick ? 3 : 4, quick ? bs_quick : bs_full,
                          quick ? 0.2 : 2.0),
              done);
  }
  if (single) /* now the double reference, of the same shape */
    SPREC_TRY(float64_reference(&o, ctx, &P, A, y, g, reps, bytes, t_at, &keep), done);
  bench_put(&o, "peak_rss_MiB_per_rank", rss, "MiB (max over ranks)");
  bench_put(&o, "block_MiB_per_rank", blockmax, "MiB");
  bench_put(&o, "peak_rss_over_block", rss / blockmax, "ratio (target <= 1.1 + O(mk))");
  if (keep == 12345.678) bench_put(&o, "unlikely", keep, ""); /* keep the reads alive */
done:
  if (ctx) err = bench_close_sinks(sprec_ctx_comm(ctx), out, &o, &outs, err);
  sprec_free(y);
  free(g);
  sprec_sparse_free(&xt);
  sprec_op_destroy(&A);
  sprec_ctx_destroy(&ctx);
  return err;
}
