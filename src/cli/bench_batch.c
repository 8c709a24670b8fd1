/* sprec bench (g): batched right-hand sides. SEA problems per second when b problems
 * sharing A are solved together (sprec_solver_solve_batch, one pass over A per round),
 * and the speedup over b = 1. */
#include "bench.h"

#include <math.h>
#include <string.h>

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

/* One batched SEA run of b problems (Y's first b columns), iters iterations each, step
 * 1/L; *all: the batch's statistics. An error if a problem stopped early. */
static sprec_err batch_run(sprec_ctx ctx, sprec_op A, int b, const double *Y, int64_t k,
                           int iters, double L, sprec_sparse *x, sprec_stats *st,
                           sprec_stats *all)
{
  sprec_opts so;
  sprec_solver s = NULL;
  sprec_opts_default(&so);
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

/* For each b of bs, SEA on the first b columns of the
 * right-hand sides, --iters iterations per problem (tol 0: the whole budget), the step
 * 1/‖A‖₂² estimated once beforehand (the value the solver would estimate itself), so
 * that every run times iterations only. Each b runs at least once, and again (best
 * time kept) while it has taken less than `budget` seconds and fewer than reps runs.
 * Problems per second = b / the batch's t_total (slowest rank). */
sprec_err bench_batch(bench_sink *o, sprec_ctx ctx, sprec_op A, int64_t k, int iters, int reps,
                      int nbs, const int *bs, double budget)
{
  int bmax = 0;
  MPI_Comm comm = sprec_ctx_comm(ctx);
  int64_t m = sprec_op_rows(A), nl = sprec_op_local_cols(A);
  double *Y = NULL, L = 0, pps1 = 0;
  sprec_sparse *x = NULL;
  sprec_stats *st = NULL;
  sprec_err err;
  for (int q = 0; q < nbs; q++) bmax = bs[q] > bmax ? bs[q] : bmax;

  /* Memory guard: SEA holds two vectors of the block's length per problem (the
   * exploration vector and the gradient), plus its residual and least squares. Every b
   * whose share would pass half of this node's memory, split over its ranks, is
   * skipped. */
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
      if (sprec_ctx_rank(ctx) == 0)
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
    bench_put(o, name, pps, "problems/s (SEA, fixed budget)");
    if (pps1 > 0) {
      snprintf(name, sizeof name, "batch_b%d_speedup", b);
      bench_put(o, name, pps / pps1, "problems/s over b=1's (same run)");
    }
    snprintf(name, sizeof name, "batch_b%d_pass_seconds_per_problem", b);
    bench_put(o, name, pass, "s (t_apply_T / (rounds * b))");
  }
done:
  free(Y);
  free(x);
  free(st);
  return err;
}

