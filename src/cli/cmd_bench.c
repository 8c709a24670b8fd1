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
 * come last in that mode). */
#include "bench.h"

#include <cblas.h>
#include <math.h>
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
    "  --operator KIND: seconds per pass against n for one kind of operator instead\n"
    "                   (sprec bench --operator dense --help)\n"
    "  batched right-hand sides: SEA, --iters iterations each, b = 1, 8, 64, 256\n"
    "                   (--quick: 1, 4, 16); a b whose vectors would not fit in half\n"
    "                   the node's memory is skipped\n"
    "Writes DIR/bench.csv and DIR/bench.json (default DIR: build/bench).\n";

double cli_read_kernel(const double *a, int64_t len)
{
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= len; i += 8)
    for (int l = 0; l < 8; l++) s[l] += a[i + l];
  for (; i < len; i++) s[0] += a[i];
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

static int variant_count(MPI_Comm comm)
{
  int nv = 0;
  for (const char *const *v = sprec_kernel_variants(); *v; v++) nv++;
  MPI_Allreduce(MPI_IN_PLACE, &nv, 1, MPI_INT, MPI_MIN, comm);
  return nv < 8 ? nv : 8;
}

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
 * matrix), whose bandwidth counts `bytes` (the bytes of A), with the kernel variant in
 * use and with every other variant this CPU runs. The candidates take turns, one pass
 * each per round over reps rounds, and each keeps its best round: the drifts of a
 * shared machine hit them all alike. *t_at: the pass time of the variant in use. */
static sprec_err bandwidth(sink *o, int rank, MPI_Comm comm, sprec_op Aref, sprec_op A,
                           const double *y, double *g, int reps, double bytes, double *t_at,
                           double *sink_)
{
  int64_t m = sprec_op_rows(Aref), nl = sprec_op_local_cols(Aref);
  double bytes_ref = 8.0 * (double)m * (double)sprec_op_cols(Aref), t_read = 1e300, t_gemv = 1e300;
  double t_var[8];
  const double *Ad = sprec_op_local_block(Aref);
  const char *const *var = sprec_kernel_variants(), *in_use = sprec_kernel_variant();
  int nv = variant_count(comm);
  SPREC_CHECK(sprec_op_dtype(Aref) == SPREC_FLOAT64, SPREC_ERR_ARG, "bench: the reference must be double");
  for (int v = 0; v < nv; v++) t_var[v] = 1e300;
  for (int rep = 0; rep < reps; rep++) {
    TIME_ONCE(t_read, comm, *sink_ += cli_read_kernel(Ad, m * nl));
    TIME_ONCE(t_gemv, comm,
              cblas_dgemv(CblasColMajor, CblasTrans, (int)m, (int)nl, 1.0, Ad, (int)m, y, 1, 0.0, g, 1));
    for (int v = 0; v < nv; v++) {
      SPREC_CALL(sprec_kernel_select(var[v]));
      TIME_ONCE(t_var[v], comm, sprec_op_apply_T(A, y, g));
    }
  }
  SPREC_CALL(sprec_kernel_select(in_use));
  *t_at = 1e300;
  for (int v = 0; v < nv; v++)
    if (!strcmp(var[v], in_use)) *t_at = t_var[v];
  double ref = bytes_ref / (t_read < t_gemv ? t_read : t_gemv) / 1e9;
  put(o, rank, "stream_read_GBps", bytes_ref / t_read / 1e9, "GB/s");
  put(o, rank, "dgemv_GBps", bytes_ref / t_gemv / 1e9, "GB/s");
  put(o, rank, "reference_GBps", ref, "GB/s");
  put(o, rank, "apply_T_GBps", bytes / *t_at / 1e9, "GB/s");
  put(o, rank, "apply_T_over_reference", bytes / *t_at / 1e9 / ref, "ratio (target >= 0.90)");
  for (int v = 0; v < nv; v++) {
    char name[64];
    snprintf(name, sizeof name, "apply_T_%s_over_reference", var[v]);
    put(o, rank, name, bytes / t_var[v] / 1e9 / ref, "ratio, kernel variant forced");
  }
  put(o, rank, "apply_T_pass_seconds", *t_at, "s");
  put(o, rank, "apply_T_columns_per_second", (double)sprec_op_cols(A) / *t_at, "columns/s");
  return SPREC_OK;
}

/* (h) The batched product AᵀR against OpenBLAS dgemm on the same shapes, for b = 64
 * and 256 right-hand sides (--quick: 16 and 64): a block of min(n_r, ncols) columns of
 * A (a copy, made into an operator of its own) times R, m x b. Rates in flops
 * (2·m·columns·b over all ranks / the slowest rank's time), turns taken as in (a). */
static sprec_err batched_kernel_bench(sink *o, sprec_ctx ctx, sprec_op A, int64_t ncols,
                                      int nbs, const int *bs, int reps)
{
  MPI_Comm comm = sprec_ctx_comm(ctx);
  int rank = sprec_ctx_rank(ctx), p = sprec_ctx_size(ctx), nv = variant_count(comm);
  int64_t m = sprec_op_rows(A), nc = sprec_op_local_cols(A) < ncols ? sprec_op_local_cols(A) : ncols;
  MPI_Allreduce(MPI_IN_PLACE, &nc, 1, MPI_INT64_T, MPI_MIN, comm);
  const char *const *var = sprec_kernel_variants(), *in_use = sprec_kernel_variant();
  int bmax = bs[nbs - 1];
  double *blk = NULL, *R = NULL, *G = NULL;
  const double **r = NULL;
  double **g = NULL;
  sprec_op sub = NULL;
  sprec_err err = sprec_alloc_block((size_t)(m * nc), sizeof *blk, &blk, "bench block");
  if (!err) err = cli_alloc((size_t)(m * bmax), sizeof *R, &R, "bench right-hand sides");
  if (!err) err = cli_alloc((size_t)(nc * bmax), sizeof *G, &G, "bench products");
  if (!err) err = cli_alloc((size_t)bmax, sizeof *r, &r, "bench");
  if (!err) err = cli_alloc((size_t)bmax, sizeof *g, &g, "bench");
  SPREC_TRY(sprec_agree(comm, err), done);
  memcpy(blk, sprec_op_local_block(A), sizeof(double) * (size_t)(m * nc));
  SPREC_TRY(sprec_op_create_dense(ctx, m, nc * p, blk, &sub), done);
  blk = NULL; /* the operator owns it */
  sprec_rng rg;
  sprec_rng_seed(&rg, 20240002, 3, 0);
  for (int64_t i = 0; i < m * bmax; i++) R[i] = sprec_rng_normal(&rg);
  for (int q = 0; q < bmax; q++) r[q] = R + (size_t)q * (size_t)m, g[q] = G + (size_t)q * (size_t)nc;
  for (int u = 0; u < nbs; u++) {
    int b = bs[u];
    double flops = 2.0 * (double)m * (double)nc * (double)b * p, t_gemm = 1e300, t_var[8];
    for (int v = 0; v < nv; v++) t_var[v] = 1e300;
    for (int rep = 0; rep < reps; rep++) {
      TIME_ONCE(t_gemm, comm,
                cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)nc, b, (int)m, 1.0,
                            sprec_op_local_block(sub), (int)m, R, (int)m, 0.0, G, (int)nc));
      for (int v = 0; v < nv; v++) {
        SPREC_TRY(sprec_kernel_select(var[v]), done);
        TIME_ONCE(t_var[v], comm, err = sprec_op_apply_T_many(sub, b, r, g));
        SPREC_TRY(err, done);
      }
    }
    SPREC_TRY(sprec_kernel_select(in_use), done);
    char name[80];
    snprintf(name, sizeof name, "batch_kernel_b%d_dgemm_GFlops", b);
    put(o, rank, name, flops / t_gemm / 1e9, "GFlop/s (OpenBLAS, same shapes)");
    for (int v = 0; v < nv; v++) {
      int cur = !strcmp(var[v], in_use);
      snprintf(name, sizeof name, "batch_kernel_b%d_%s_over_dgemm", b, cur ? "apply_T_many" : var[v]);
      put(o, rank, name, t_gemm / t_var[v],
          cur ? "ratio of flop rates (target >= 0.80 for b >= 64)" : "ratio, kernel variant forced");
    }
  }
done:
  sprec_kernel_select(in_use);
  sprec_op_destroy(&sub);
  free(blk);
  free(R);
  free(G);
  free(r);
  free(g);
  return err;
}

/* The b right-hand sides of the batched runs, as the columns of Y (m x b): problem p
 * is y_p = A x_p + e_p, x_p with k distinct random indices and amplitudes ±(1 + |N|)
 * (as the generator's), e_p Gaussian at 40 dB. Deterministic, the same on every rank
 * (the random draws are replicated; A x_p is sprec_op_apply_sparse's, bit for bit the
 * same for any number of ranks). Collective. */
static sprec_err batch_rhs(MPI_Comm comm, sprec_op A, int64_t k, int b, double *Y)
{
  int64_t m = sprec_op_rows(A), n = sprec_op_cols(A);
  sprec_sparse x = {0};
  double *e = NULL;
  sprec_err err = sprec_sparse_init(&x, k);
  if (!err) err = cli_alloc((size_t)m, sizeof *e, &e, "noise");
  SPREC_TRY(sprec_agree(comm, err), done);
  for (int p = 0; p < b; p++) {
    sprec_rng g;
    sprec_rng_seed(&g, 20240001, 7, (uint64_t)p);
    x.nnz = 0;
    while (x.nnz < k) { /* a sorted set: insert t unless it is there (k <= n) */
      int64_t t = (int64_t)(sprec_rng_next(&g) % (uint64_t)n), q = x.nnz;
      int dup = 0;
      for (int64_t u = 0; u < x.nnz && !dup; u++) dup = x.idx[u] == t;
      if (dup) continue;
      while (q > 0 && x.idx[q - 1] > t) x.idx[q] = x.idx[q - 1], q--;
      x.idx[q] = t;
      x.nnz++;
    }
    for (int64_t t = 0; t < k; t++) {
      double sg = sprec_rng_uniform(&g) < 0.5 ? -1.0 : 1.0;
      x.val[t] = sg * (1.0 + fabs(sprec_rng_normal(&g)));
    }
    double *y = Y + (size_t)p * (size_t)m;
    SPREC_TRY(sprec_op_apply_sparse(A, &x, y), done);
    double e2 = 0, y2 = 0;
    for (int64_t i = 0; i < m; i++) y2 += y[i] * y[i];
    for (int64_t i = 0; i < m; i++) e[i] = sprec_rng_normal(&g), e2 += e[i] * e[i];
    double s = sqrt(y2 / e2) * pow(10.0, -40.0 / 20.0);
    for (int64_t i = 0; i < m; i++) y[i] += s * e[i];
  }
done:
  sprec_sparse_free(&x);
  free(e);
  return err;
}

/* Memory guard of the batched runs: SEA holds two vectors of the block's length per
 * problem (the exploration vector and the gradient), plus its residual and least
 * squares. Every b whose share would pass half of this node's memory, split over its
 * ranks, is skipped. */
double bench_memory_limit(MPI_Comm comm)
{
  MPI_Comm node;
  int on_node = 1;
  if (MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
    MPI_Comm_size(node, &on_node);
    MPI_Comm_free(&node);
  }
  double phys = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
  double limit = phys > 0 ? 0.5 * phys / on_node : 1e300;
  MPI_Allreduce(MPI_IN_PLACE, &limit, 1, MPI_DOUBLE, MPI_MIN, comm);
  return limit;
}

/* One batched SEA run of b problems (Y's first b columns), iters iterations each, step
 * 1/L; *all: the batch's statistics. An error if a problem stopped early. */
static sprec_err batch_run(sprec_ctx ctx, sprec_op A, int b, const double *Y, int64_t k,
                           int iters, double L, sprec_sparse *x, sprec_stats *st,
                           sprec_stats *all)
{
  sprec_opts so;
  sprec_solver s = NULL;
  sprec_opts_default(&so);
  strcpy(so.algo, "sea");
  so.k = k;
  so.iters = iters;
  so.tol = 0;
  so.step = 1.0 / L;
  SPREC_CALL(sprec_solver_create(ctx, &so, &s));
  MPI_Barrier(sprec_ctx_comm(ctx));
  sprec_err err = sprec_solver_solve_batch(s, A, b, Y, NULL, x, st);
  sprec_solver_get_stats(s, all);
  sprec_solver_destroy(&s);
  int full = 1;
  for (int p = 0; p < b; p++) {
    if (!err && st[p].iterations != iters) full = 0;
    sprec_sparse_free(&x[p]);
  }
  SPREC_CALL(err);
  return sprec_agree(sprec_ctx_comm(ctx),
                     full ? SPREC_OK
                          : SPREC_ERROR(SPREC_ERR_NUMERIC,
                                        "bench: a batched SEA problem stopped before its %d "
                                        "iterations (b=%d)",
                                        iters, b));
}

/* (g) Batched right-hand sides: for each b of bs, SEA on the first b columns of the
 * right-hand sides, --iters iterations per problem (tol 0: the whole budget), the step
 * 1/‖A‖₂² estimated once beforehand (the value the solver would estimate itself), so
 * that every run times iterations only. Each b runs at least once, and again (best
 * time kept) while it has taken less than `budget` seconds and fewer than reps runs.
 * Problems per second = b / the batch's t_total (slowest rank). */
static sprec_err batch_bench(sink *o, sprec_ctx ctx, sprec_op A, int64_t k, int iters, int reps,
                             int nbs, const int *bs, double budget)
{
  int rank = sprec_ctx_rank(ctx), bmax = 0;
  MPI_Comm comm = sprec_ctx_comm(ctx);
  int64_t m = sprec_op_rows(A), nl = sprec_op_local_cols(A);
  double *Y = NULL, L = 0, pps1 = 0;
  sprec_sparse *x = NULL;
  sprec_stats *st = NULL;
  sprec_err err;
  for (int q = 0; q < nbs; q++) bmax = bs[q] > bmax ? bs[q] : bmax;

  double per_problem = 8.0 * (2.0 * (double)nl + (double)m * (2.0 * (double)k + 8.0)) + 65536.0;
  double limit = bench_memory_limit(comm);

  err = cli_alloc((size_t)m * (size_t)bmax, sizeof *Y, &Y, "right-hand sides");
  if (!err) err = cli_alloc((size_t)bmax, sizeof *x, &x, "batch solutions");
  if (!err) err = cli_alloc((size_t)bmax, sizeof *st, &st, "batch statistics");
  SPREC_TRY(sprec_agree(comm, err), done);
  SPREC_TRY(batch_rhs(comm, A, k, bmax, Y), done);
  SPREC_TRY(sprec_op_norm2_est(A, &L), done);
  SPREC_TRY(sprec_agree(comm, L > 0 ? SPREC_OK
                                    : SPREC_ERROR(SPREC_ERR_ARG, "bench: the dictionary is zero")),
            done);
  for (int q = 0; q < nbs; q++) {
    int b = bs[q];
    char name[64];
    if ((double)b * per_problem > limit) {
      if (rank == 0)
        printf("  batch b=%d skipped: about %.0f MiB per rank, over the limit of %.0f MiB\n", b,
               (double)b * per_problem / 1048576.0, limit / 1048576.0);
      continue;
    }
    double best = 1e300, spent = 0, pass = 0;
    for (int rep = 0; rep < reps && (rep == 0 || spent < budget); rep++) {
      sprec_stats all;
      SPREC_TRY(batch_run(ctx, A, b, Y, k, iters, L, x, st, &all), done);
      spent += all.t_total;
      if (all.t_total < best) {
        best = all.t_total;
        pass = all.apply_T_passes ? all.t_apply_T / ((double)all.apply_T_passes * b) : 0;
      }
    }
    double pps = (double)b / best;
    if (b == 1) pps1 = pps;
    snprintf(name, sizeof name, "batch_b%d_problems_per_second", b);
    put(o, rank, name, pps, "problems/s (SEA, fixed budget)");
    if (pps1 > 0) {
      snprintf(name, sizeof name, "batch_b%d_speedup", b);
      put(o, rank, name, pps / pps1, "problems/s over b=1's (same run)");
    }
    snprintf(name, sizeof name, "batch_b%d_pass_seconds_per_problem", b);
    put(o, rank, name, pass, "s (t_apply_T / (rounds * b))");
  }
done:
  free(Y);
  free(x);
  free(st);
  return err;
}

/* (c) and (d): the median iteration time of SEA, HTP, IHT, OMP and FISTA against one
 * pass over A (t_at when a run made none), and each one's per-phase shares. */
static sprec_err solver_bench(sink *o, sprec_ctx ctx, sprec_op A, const double *y, int64_t k,
                              int iters, double t_at)
{
  static const char *const algos[] = {"sea", "htp", "iht", "omp", "fista"};
  int rank = sprec_ctx_rank(ctx);
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
    SPREC_CALL(sprec_solver_create(ctx, &so, &s));
    sprec_err err = sprec_solver_solve(s, A, y, NULL, &x);
    sprec_solver_get_stats(s, &st);
    sprec_solver_destroy(&s);
    sprec_sparse_free(&x);
    SPREC_CALL(err);
    char name[64];
    /* Against the passes of the same run: both sides see the same machine state. */
    double it = st.iteration_seconds_median, tot = st.t_total - st.t_setup;
    double pass = st.apply_T_passes ? st.t_apply_T / (double)st.apply_T_passes : t_at;
    snprintf(name, sizeof name, "%s_iteration_seconds", algos[a]);
    put(o, rank, name, it, "s (median)");
    snprintf(name, sizeof name, "%s_iteration_over_apply_T", algos[a]);
    put(o, rank, name, it / pass, "ratio to its own mean pass (target <= 1.2 for sea, htp)");
    if (tot > 0) {
      snprintf(name, sizeof name, "%s_share_apply_T", algos[a]);
      put(o, rank, name, st.t_apply_T / tot, "of the iterations");
      snprintf(name, sizeof name, "%s_share_topk", algos[a]);
      put(o, rank, name, st.t_topk / tot, "of the iterations");
      snprintf(name, sizeof name, "%s_share_lsq", algos[a]);
      put(o, rank, name, st.t_lsq / tot, "of the iterations");
      snprintf(name, sizeof name, "%s_share_comm", algos[a]);
      put(o, rank, name, st.t_comm / tot, "of the iterations (inside the others)");
    }
  }
  return SPREC_OK;
}

/* One least-squares path on kk columns: the mean time of a solve with one column
 * swapped (after a first solve that factors everything), slowest rank. */
static sprec_err lsq_swap_time(sprec_ctx ctx, sprec_op A, const double *y, int64_t kk,
                               sprec_lsq_method path, double *t_l)
{
  int64_t m = sprec_op_rows(A), n = sprec_op_cols(A);
  sprec_lsq l = NULL;
  int64_t *S = malloc(sizeof(int64_t) * (size_t)kk);
  double *z = malloc(sizeof(double) * (size_t)kk), *r = malloc(sizeof(double) * (size_t)m);
  sprec_err err = S && z && r ? SPREC_OK : SPREC_ERROR(SPREC_ERR_MEM, "bench: least squares");
  SPREC_TRY(sprec_agree(sprec_ctx_comm(ctx), err), done);
  for (int64_t t = 0; t < kk; t++) S[t] = t * (n / kk);
  SPREC_TRY(sprec_lsq_create(A, y, kk, path, &l), done);
  err = sprec_lsq_solve(l, kk, S, z, r); /* the first solve factors everything */
  int swaps = 10;
  MPI_Barrier(sprec_ctx_comm(ctx));
  double t0 = MPI_Wtime();
  for (int sw = 0; !err && sw < swaps; sw++) {
    S[sw % kk] += 1; /* one column leaves, its neighbour enters; S stays sorted */
    err = sprec_lsq_solve(l, kk, S, z, r);
  }
  *t_l = (MPI_Wtime() - t0) / swaps;
  MPI_Allreduce(MPI_IN_PLACE, t_l, 1, MPI_DOUBLE, MPI_MAX, sprec_ctx_comm(ctx));
done:
  sprec_lsq_destroy(&l);
  free(S);
  free(z);
  free(r);
  return err;
}

/* (e) Least squares per iteration with one column swapped, against k, both paths. */
static sprec_err lsq_bench(sink *o, sprec_ctx ctx, sprec_op A, const double *y)
{
  static const int64_t ks[] = {10, 50, 200, 800};
  for (int q = 0; q < 4; q++) {
    int64_t kk = ks[q];
    if (kk > sprec_op_rows(A) || kk > sprec_op_cols(A)) continue;
    for (int path_ = 0; path_ < 2; path_++) {
      double t_l = 0;
      SPREC_CALL(lsq_swap_time(ctx, A, y, kk, path_ ? SPREC_LSQ_SCALAPACK : SPREC_LSQ_REPLICATED,
                               &t_l));
      char name[64];
      snprintf(name, sizeof name, "lsq_%s_k%lld_seconds", path_ ? "scalapack" : "replicated",
               (long long)kk);
      put(o, sprec_ctx_rank(ctx), name, t_l, "s per iteration, one column swapped");
    }
  }
  return SPREC_OK;
}

/* --dtype float32, at the end: the streaming reference and a float64 Aᵀr on the double
 * matrix of the same shape (P in double), against the float pass time t_at. */
static sprec_err float64_reference(sink *o, sprec_ctx ctx, sprec_problem *P, sprec_op A,
                                   const double *y, double *g, int reps, double bytes,
                                   double t_at, double *sink_)
{
  MPI_Comm comm = sprec_ctx_comm(ctx);
  int rank = sprec_ctx_rank(ctx);
  sprec_op Aref = NULL;
  double *yref = NULL, t_at64;
  sprec_sparse xtref = {0};
  sprec_err err;
  P->single = 0;
  SPREC_TRY(sprec_problem_generate(ctx, P, &Aref, &yref, &xtref), done);
  SPREC_TRY(bandwidth(o, rank, comm, Aref, A, y, g, reps, bytes, &t_at, sink_), done);
  BEST_TIME(t_at64, reps, comm, sprec_op_apply_T(Aref, y, g));
  put(o, rank, "apply_T_float64_pass_seconds", t_at64, "s (the double matrix)");
  put(o, rank, "apply_T_float64_columns_per_second", (double)sprec_op_cols(A) / t_at64,
      "columns/s");
  put(o, rank, "apply_T_float32_over_float64", t_at64 / t_at,
      "ratio of columns per second (2 = the bandwidth saved)");
done:
  sprec_free(yref);
  sprec_sparse_free(&xtref);
  sprec_op_destroy(&Aref);
  return err;
}

/* Collective. DIR/bench.csv and DIR/bench.json opened on rank 0 (as partial files:
 * both complete, or neither), their headers written. path: room for both names (4096
 * characters each), which outs refers to until it is committed. */
static sprec_err open_sinks(MPI_Comm comm, int rank, const char *out, sink *o, cli_outset *outs,
                            char path[2][4096])
{
  char *path_csv = path[0], *path_json = path[1];
  SPREC_CALL(cli_make_dir(comm, "--out", out));
  snprintf(path_csv, 4096, "%s/bench.csv", out);
  snprintf(path_json, 4096, "%s/bench.json", out);
  cli_path files[] = {{"--out", path_csv, 1, 0, NULL}, {"--out", path_json, 1, 0, NULL}};
  SPREC_CALL(cli_check_paths(comm, files, 2));
  if (rank == 0) {
    o->csv = fopen(cli_out_add(outs, path_csv), "w");
    o->json = fopen(cli_out_add(outs, path_json), "w");
  }
  SPREC_CALL(sprec_agree(comm, rank == 0 && !(o->csv && o->json)
                                   ? SPREC_ERROR(SPREC_ERR_IO, "--out %s: cannot write", out)
                                   : SPREC_OK));
  if (rank == 0) {
    fprintf(o->csv, "metric,value,unit\n");
    fputc('{', o->json);
  }
  return SPREC_OK;
}

/* Collective. The files closed and, with no error, renamed into place. */
static sprec_err close_sinks(MPI_Comm comm, const char *out, sink *o, cli_outset *outs,
                             sprec_err err)
{
  if (o->json) {
    fputs("\n}\n", o->json);
    if ((ferror(o->json) | fclose(o->json)) && !err)
      err = SPREC_ERROR(SPREC_ERR_IO, "--out %s: cannot write", out);
  }
  if (o->csv && (ferror(o->csv) | fclose(o->csv)) && !err)
    err = SPREC_ERROR(SPREC_ERR_IO, "--out %s: cannot write", out);
  return cli_out_commit(comm, outs, sprec_agree(comm, err));
}

/* The run's line on stdout and its first metrics. es: bytes per entry of A. */
static void put_header(sink *o, sprec_ctx ctx, sprec_op A, int64_t k, double es,
                       const char *dtype)
{
  int rank = sprec_ctx_rank(ctx);
  int64_t m = sprec_op_rows(A), n = sprec_op_cols(A), nl = sprec_op_local_cols(A);
  if (rank == 0)
    printf("sprec bench: m=%lld n=%lld k=%lld, %d ranks, A = %.1f MB (%.1f MB per rank), %s, "
           "kernels %s\n",
           (long long)m, (long long)n, (long long)k, sprec_ctx_size(ctx),
           es * (double)m * (double)n / 1e6, es * (double)m * (double)nl / 1e6, dtype,
           sprec_kernel_variant());
  put(o, rank, "ranks", sprec_ctx_size(ctx), "");
  put(o, rank, "m", (double)m, "");
  put(o, rank, "n", (double)n, "");
  put(o, rank, "k", (double)k, "");
  put(o, rank, "element_bytes", es, "bytes per entry of A (8 float64, 4 float32)");
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
    if (!strcmp(argv[i], "--operator")) return cmd_bench_operator(argc, argv);
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
  sink o = {NULL, NULL, 1};
  cli_outset outs = {0};
  char paths[2][4096]; /* the outputs' names (outs refers to them) */
  sprec_err err;
  sprec_problem P;
  sprec_problem_default(&P);
  P.m = m, P.n = n, P.k = k, P.snr_db = 40, P.single = single;
  SPREC_TRY(sprec_ctx_create(MPI_COMM_WORLD, &ctx), done);
  MPI_Comm comm = sprec_ctx_comm(ctx);
  SPREC_TRY(open_sinks(comm, rank, out, &o, &outs, paths), done);
  SPREC_TRY(sprec_problem_generate(ctx, &P, &A, &y, &xt), done);
  int64_t nl = sprec_op_local_cols(A);
  SPREC_TRY(sprec_agree(comm, cli_alloc((size_t)nl, sizeof *g, &g, "gradient")), done);
  const double es = single ? 4.0 : 8.0; /* bytes per entry of A */
  double bytes = es * (double)m * (double)n, t_at, sink_ = 0;
  put_header(&o, ctx, A, k, es, dtype);

  if (!single) SPREC_TRY(bandwidth(&o, rank, comm, A, A, y, g, reps, bytes, &t_at, &sink_), done);
  else BEST_TIME(t_at, reps, comm, sprec_op_apply_T(A, y, g)); /* for the ratios below */

  SPREC_TRY(solver_bench(&o, ctx, A, y, k, iters, t_at), done); /* (c), (d) */
  SPREC_TRY(lsq_bench(&o, ctx, A, y), done);                      /* (e)      */
  /* (f) taken here, before the batched runs and the float32 mode's double copy. */
  double rss = cli_peak_rss_mib(comm), block = es * (double)m * (double)nl / 1048576.0;
  double blockmax = block;
  MPI_Allreduce(MPI_IN_PLACE, &blockmax, 1, MPI_DOUBLE, MPI_MAX, comm);
  if (!single) { /* (h) */
    static const int bs_full[] = {64, 256}, bs_quick[] = {16, 64};
    SPREC_TRY(batched_kernel_bench(&o, ctx, A, quick ? 2000 : 20000, 2, quick ? bs_quick : bs_full,
                                   quick ? 2 : 3),
              done);
  }
  {
    static const int bs_full[] = {1, 8, 64, 256}, bs_quick[] = {1, 4, 16};
    SPREC_TRY(batch_bench(&o, ctx, A, k, iters, reps, quick ? 3 : 4, quick ? bs_quick : bs_full,
                          quick ? 0.2 : 2.0),
              done);
  }
  if (single) /* now the double reference, of the same shape */
    SPREC_TRY(float64_reference(&o, ctx, &P, A, y, g, reps, bytes, t_at, &sink_), done);
  put(&o, rank, "peak_rss_MiB_per_rank", rss, "MiB (max over ranks)");
  put(&o, rank, "block_MiB_per_rank", blockmax, "MiB");
  put(&o, rank, "peak_rss_over_block", rss / blockmax, "ratio (target <= 1.1 + O(mk))");
  if (sink_ == 12345.678) put(&o, rank, "unlikely", sink_, ""); /* keep the reads alive */
done:
  if (ctx) err = close_sinks(sprec_ctx_comm(ctx), out, &o, &outs, err);
  sprec_free(y);
  free(g);
  sprec_sparse_free(&xt);
  sprec_op_destroy(&A);
  sprec_ctx_destroy(&ctx);
  return err;
}
