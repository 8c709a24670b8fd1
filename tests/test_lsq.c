/* Restricted least squares, both paths, against LAPACK dgels on one rank. The
 * replicated path is driven through a sequence of supports so that its
 * factorization updates (columns leaving and entering) are what is checked. */
#include "testutil.h"

#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static int cmp_i64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* k distinct sorted indices: a cluster of neighbours (ill-conditioned on deconv)
 * and the rest random. */
static void make_support(int64_t n, int64_t k, int cluster, sprec_rng *g, int64_t *S)
{
  int64_t c = 0;
  int64_t base = (int64_t)(sprec_rng_next(g) % (uint64_t)(n - cluster * 3));
  for (; c < cluster && c < k; c++) S[c] = base + 3 * c;
  while (c < k) {
    int64_t j = (int64_t)(sprec_rng_next(g) % (uint64_t)n), dup = 0;
    for (int64_t t = 0; t < c; t++) dup |= S[t] == j;
    if (!dup) S[c++] = j;
  }
  qsort(S, (size_t)k, sizeof *S, cmp_i64);
}

static double objective(int64_t m, const double *r)
{
  double f = 0;
  for (int64_t i = 0; i < m; i++) f += r[i] * r[i];
  return 0.5 * f;
}

/* Solves a sequence of supports with the given path; compares each with dgels. Two
 * least-squares solutions on one support (the path's and dgels'): each objective is
 * within excess + fit_err of the exact minimum, each coefficient vector within zerr
 * of the exact solution (tu_lsq: backward stability and κ(A_S) from LAPACK's SVD). On
 * deconvolution clusters of neighbouring bumps κ is large and the coefficients are
 * determined only to about κ²·η; the objective still to rounding. */
static int check_path(sprec_problem_kind kind, sprec_lsq_method method)
{
  sprec_problem P = tu_problem(kind, 120, 300, 8, 20, 11);
  sprec_ctx ctx;
  sprec_op A;
  double *y, *Aref, *yref;
  sprec_sparse xt = {0}, xr = {0};
  sprec_ctx_create(MPI_COMM_WORLD, &ctx);
  sprec_problem_generate(ctx, &P, &A, &y, &xt);
  tu_reference_problem(&P, &Aref, &yref, &xr);

  int64_t kmax = 30, S[30];
  double z[30], zref[30], r[120], worst_f = 0, worst_z = 0, kmax_seen = 0;
  sprec_lsq l;
  int ok = sprec_lsq_create(A, y, kmax, method, &l) == SPREC_OK;
  sprec_rng g;
  sprec_rng_seed(&g, 5, 0, 0);
  int64_t prevS[30], kprev = 0;
  for (int trial = 0; ok && trial < 40; trial++) {
    int64_t k = 1 + (int64_t)(sprec_rng_next(&g) % (uint64_t)kmax);
    if (trial % 3 == 1 && kprev > 1) { /* a small change: swap one, keep the rest */
      k = kprev;
      memcpy(S, prevS, sizeof(int64_t) * k);
      int64_t j;
      int dup;
      do {
        j = (int64_t)(sprec_rng_next(&g) % (uint64_t)P.n);
        dup = 0;
        for (int64_t t = 0; t < k; t++) dup |= S[t] == j;
      } while (dup);
      S[sprec_rng_next(&g) % (uint64_t)k] = j;
      qsort(S, (size_t)k, sizeof *S, cmp_i64);
    } else make_support(P.n, k, kind == SPREC_PROBLEM_DECONV ? 4 : 0, &g, S);
    if (sprec_lsq_solve(l, k, S, z, r) != SPREC_OK) {
      ok = 0;
      break;
    }
    double fref = tu_dgels(P.m, Aref, yref, k, S, zref), f = objective(P.m, r);
    tu_lsq_bounds b = tu_lsq(P.m, Aref, yref, k, S, z), bref = tu_lsq(P.m, Aref, yref, k, S, zref);
    double df = fabs(f - fref), dz = 0;
    for (int64_t t = 0; t < k; t++) dz = fmax(dz, fabs(z[t] - zref[t]));
    double fb = b.fit.fit_err + bref.fit.fit_err + fmax(b.excess, bref.excess), zb = b.zerr + bref.zerr;
    ok &= tu_within("objective against dgels", df, fb);
    ok &= tu_within("coefficients against dgels", dz, zb);
    worst_f = fmax(worst_f, df / fb);
    worst_z = fmax(worst_z, dz / zb);
    kmax_seen = fmax(kmax_seen, b.kappa);
    memcpy(prevS, S, sizeof(int64_t) * k);
    kprev = k;
  }
  int pass = tu_all(ok);
  if (ctx->rank == 0 && !pass)
    fprintf(stderr, "kind %d method %d: ok %d, objective error/bound %.3g, coef error/bound %.3g "
            "(largest κ(A_S) %.3g)\n", kind, method, ok, worst_f, worst_z, kmax_seen);
  sprec_lsq_destroy(&l);
  sprec_op_destroy(&A);
  sprec_ctx_destroy(&ctx);
  free(y);
  free(Aref);
  free(yref);
  sprec_sparse_free(&xt);
  sprec_sparse_free(&xr);
  return pass;
}

START_TEST(replicated_gaussian) { ck_assert(check_path(SPREC_PROBLEM_GAUSSIAN, SPREC_LSQ_REPLICATED)); }
END_TEST
START_TEST(scalapack_gaussian) { ck_assert(check_path(SPREC_PROBLEM_GAUSSIAN, SPREC_LSQ_SCALAPACK)); }
END_TEST
START_TEST(replicated_deconv) { ck_assert(check_path(SPREC_PROBLEM_DECONV, SPREC_LSQ_REPLICATED)); }
END_TEST
START_TEST(scalapack_deconv) { ck_assert(check_path(SPREC_PROBLEM_DECONV, SPREC_LSQ_SCALAPACK)); }
END_TEST

/* A column repeated in the support: the replicated path gives it coefficient 0 and
 * the same residual as dgels on the support without it. */
START_TEST(dependent_column)
{
  sprec_ctx ctx;
  sprec_ctx_create(MPI_COMM_WORLD, &ctx);
  int64_t m = 20, n = 8, p = ctx->size;
  double Afull[20 * 8], y[20];
  sprec_rng g;
  sprec_rng_seed(&g, 3, 0, 0);
  for (int64_t t = 0; t < m * n; t++) Afull[t] = sprec_rng_normal(&g);
  memcpy(Afull + 5 * m, Afull + 1 * m, sizeof(double) * m); /* column 5 = column 1 */
  for (int64_t i = 0; i < m; i++) y[i] = sprec_rng_normal(&g);
  int64_t c0 = sprec_block_start(n, p, ctx->rank), nl = sprec_block_size(n, p, ctx->rank);
  double *Al = malloc(sizeof(double) * m * nl);
  memcpy(Al, Afull + c0 * m, sizeof(double) * m * nl);
  sprec_op A;
  sprec_lsq l;
  sprec_op_create_dense(ctx, m, n, Al, &A);
  sprec_lsq_create(A, y, 4, SPREC_LSQ_REPLICATED, &l);
  int64_t S[4] = {0, 1, 5, 7}, Sr[3] = {0, 1, 7};
  double z[4], zr[3], r[20];
  int ok = sprec_lsq_solve(l, 4, S, z, r) == SPREC_OK;
  double fref = tu_dgels(m, Afull, y, 3, Sr, zr);
  /* Both least squares on {0, 1, 7} (column 5 contributes 0): tolerances as in
   * check_path, from the reduced support. */
  double zs[3] = {z[0], z[1], z[3]};
  tu_lsq_bounds b = tu_lsq(m, Afull, y, 3, Sr, zs), bref = tu_lsq(m, Afull, y, 3, Sr, zr);
  ok = ok && z[2] == 0 &&
       tu_within("objective against dgels", fabs(objective(m, r) - fref),
                 b.fit.fit_err + bref.fit.fit_err + fmax(b.excess, bref.excess));
  for (int t = 0; t < 3; t++)
    ok = ok && tu_within("coefficients against dgels", fabs(zs[t] - zr[t]), b.zerr + bref.zerr);
  /* Then the repeated column leaves: a plain least squares again. */
  int64_t S2[3] = {0, 5, 7};
  double fref2 = tu_dgels(m, Afull, y, 3, S2, zr);
  ok = ok && sprec_lsq_solve(l, 3, S2, z, r) == SPREC_OK;
  b = tu_lsq(m, Afull, y, 3, S2, z), bref = tu_lsq(m, Afull, y, 3, S2, zr);
  ok = ok && tu_within("objective against dgels", fabs(objective(m, r) - fref2),
                       b.fit.fit_err + bref.fit.fit_err + fmax(b.excess, bref.excess));
  ck_assert_all(ok, "dependent column handled wrongly");
  sprec_lsq_destroy(&l);
  sprec_op_destroy(&A);
  sprec_ctx_destroy(&ctx);
}
END_TEST

/* ‖A‖₂² by power iteration against LAPACK's largest singular value. */
START_TEST(norm_estimate)
{
  sprec_problem P = tu_problem(SPREC_PROBLEM_GAUSSIAN, 40, 90, 3, INFINITY, 1);
  sprec_ctx ctx;
  sprec_op A;
  double *y, *Aref, *yref, L;
  sprec_sparse xt = {0}, xr = {0};
  sprec_ctx_create(MPI_COMM_WORLD, &ctx);
  sprec_problem_generate(ctx, &P, &A, &y, &xt);
  tu_reference_problem(&P, &Aref, &yref, &xr);
  int ok = sprec_op_norm2_est(A, &L) == SPREC_OK;
  double s[40], sup[1], vt[1];
  LAPACKE_dgesvd(LAPACK_COL_MAJOR, 'N', 'N', 40, 90, Aref, 40, s, sup, 1, vt, 1, (double[40]){0});
  double L2 = s[0] * s[0];
  /* ‖Av‖² with ‖v‖ = 1 never exceeds ‖A‖₂², up to rounding: the estimate's mε, its
   * rounding to float (2⁻²⁴) and LAPACK's relative error in σ (twice, squared).
   * From below, 1e-2 is the accuracy the power iteration (stopped when an
   * iteration changes the estimate by at most 1e-4) reaches on this matrix:
   * a property of the estimator, the same bits on every CPU, not of rounding. */
  double up = L2 * (0x1p-24 + 4 * (double)(40 + 90) * DBL_EPSILON);
  ck_assert_all(ok && tu_within("norm estimate below ‖A‖₂²", L - L2, up) && L >= L2 * (1 - 1e-2),
                "norm estimate %.6g, LAPACK %.6g", L, L2);
  sprec_op_destroy(&A);
  sprec_ctx_destroy(&ctx);
  free(y);
  free(Aref);
  free(yref);
  sprec_sparse_free(&xt);
  sprec_sparse_free(&xr);
}
END_TEST

TU_MAIN("lsq", 120, NULL, replicated_gaussian, scalapack_gaussian, replicated_deconv,
        scalapack_deconv, dependent_column, norm_estimate)
