/* ISTA, FISTA (with and without restart), continuation and OISTA against independent
 * serial computations on the reference matrix: the Lasso optimality conditions, one
 * common optimal objective, honest objective and duality-gap certificates, λ ≥ λ_max,
 * debiasing, warm starts, and the same answer on every rank count (1 .. P, on
 * sub-communicators of the world). */
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  const char *algo;
  int restart, continuation;
  const char *label;
} method;

static const method METHODS[] = {
    {"ista", 0, 0, "ista"},
    {"fista", 0, 0, "fista"},
    {"fista", 1, 0, "fista+restart"},
    {"ista", 0, 5, "ista+continuation"},
    {"fista", 0, 5, "fista+continuation"},
    {"fista", 1, 4, "fista+restart+continuation"},
    {"oista", 0, 0, "oista"},
};
#define NMETHODS ((int)(sizeof METHODS / sizeof METHODS[0]))

typedef struct {
  double lambda, lambda_ratio, tol;
  int iters, debias;
  const double *init; /* dense n-vector (global), or NULL */
} l1_args;

typedef tu_result run_result;

static sprec_opts lasso_opts(const method *M, const l1_args *a)
{
  sprec_opts o;
  sprec_opts_default(&o);
  o.algo = sprec_algo_find(M->algo);
  o.restart = M->restart;
  o.continuation = M->continuation;
  o.lambda = a->lambda;
  o.lambda_ratio = a->lambda_ratio;
  o.tol = a->tol;
  o.iters = a->iters;
  o.debias = a->debias;
  return o;
}

static run_result solve(MPI_Comm comm, const sprec_problem *P, const method *M, const l1_args *a)
{
  sprec_opts o = lasso_opts(M, a);
  sprec_sparse init = {0};
  if (a->init) { /* the dense start as a sparse vector */
    sprec_sparse_init(&init, P->n);
    for (int64_t j = 0; j < P->n; j++)
      if (a->init[j] != 0) init.idx[init.nnz] = j, init.val[init.nnz++] = a->init[j];
  }
  run_result res = tu_solve(comm, P, &o, a->init ? &init : NULL);
  sprec_sparse_free(&init);
  return res;
}

typedef struct {
  double F, fit;     /* Lasso objective and ½‖r‖² of x                          */
  double off, on;    /* max KKT violations off / on the support, relative to λ */
  double gap;        /* F(x) − D(θ), θ = r/max(1, ‖Aᵀr‖∞/λ), ½‖y‖² − ½‖y−θ‖²   */
  double lsq;        /* max_{j∈S} |a_jᵀr| / (‖y‖)                               */
  /* Rounding bounds (tu_fit, tu_lasso_err, tu_lasso_gap_err; ε = DBL_EPSILON):
   * F_err: of F and of fit (fit_err) evaluated in any order;
   * gap_err: of the gap as evaluated here, F − (½‖y‖² − ½‖y − θ‖²): F's, mε·½‖y‖²,
   *   and ‖y − θ‖·δθ + (m+2)ε·½‖y − θ‖², δθ >= ‖θ̂ − θ‖ from r's D and the error of
   *   s = max(1, ‖Aᵀr‖∞/λ) (max_j ‖a_j‖·grad_err / λ), as in tu_lasso_gap_err;
   * gap_err_lib: of the gap as the library evaluates it (tu_lasso_gap_err). */
  double F_err, fit_err, gap_err, gap_err_lib;
  double amax;       /* max_j ‖a_j‖                                             */
} ref_eval;

/* Everything serially from the reference matrix. */
static ref_eval reference(int64_t m, int64_t n, const double *A, const double *y,
                          const sprec_sparse *x, double lam)
{
  ref_eval e;
  memset(&e, 0, sizeof e);
  double *r = malloc(sizeof(double) * (size_t)m), yn = 0, l1 = 0, gmax = 0;
  memcpy(r, y, sizeof(double) * (size_t)m);
  for (int64_t t = 0; t < x->nnz; t++) {
    for (int64_t i = 0; i < m; i++) r[i] -= A[i + x->idx[t] * m] * x->val[t];
    l1 += fabs(x->val[t]);
  }
  for (int64_t i = 0; i < m; i++) e.fit += 0.5 * r[i] * r[i], yn += y[i] * y[i];
  e.F = e.fit + lam * l1;
  for (int64_t j = 0, t = 0; j < n; j++) {
    double c = 0, an = 0;
    for (int64_t i = 0; i < m; i++) c += A[i + j * m] * r[i], an += A[i + j * m] * A[i + j * m];
    e.amax = fmax(e.amax, sqrt(an));
    gmax = fmax(gmax, fabs(c));
    if (t < x->nnz && x->idx[t] == j) {
      double sg = x->val[t] > 0 ? 1.0 : -1.0;
      e.on = fmax(e.on, fabs(c - lam * sg) / lam);
      e.lsq = fmax(e.lsq, fabs(c) / sqrt(yn));
      t++;
    } else
      e.off = fmax(e.off, (fabs(c) - lam) / lam);
  }
  double s = fmax(1.0, gmax / lam), d = 0, th2 = 0;
  for (int64_t i = 0; i < m; i++) {
    d += (y[i] - r[i] / s) * (y[i] - r[i] / s);
    th2 += (r[i] / s) * (r[i] / s);
  }
  e.gap = e.F - (0.5 * yn - 0.5 * d);
  free(r);
  const double eps = DBL_EPSILON;
  tu_fit_bounds fb = tu_fit_x(m, A, y, x);
  e.fit_err = fb.fit_err;
  e.F_err = tu_lasso_err(&fb, lam);
  double ds = (e.amax * fb.grad_err / lam + eps * s); /* >= the error of s (0 if s is 1 on both sides) */
  double dth = fb.D / s + sqrt(th2) * ds / s + eps * sqrt(th2);
  e.gap_err = e.F_err + 0.5 * (double)m * eps * yn + sqrt(d) * dth + 0.5 * dth * dth +
              0.5 * (double)(m + 2) * eps * d + 2 * eps * (e.F + 0.5 * yn);
  e.gap_err_lib = tu_lasso_gap_err(m, n, A, y, x, lam);
  return e;
}

static sprec_problem gaussian_problem(void)
{
  sprec_problem P = tu_problem(SPREC_PROBLEM_GAUSSIAN, 64, 128, 5, 20, 3);
  return P;
}

static sprec_problem deconv_problem(void)
{
  sprec_problem P = tu_problem(SPREC_PROBLEM_DECONV, 64, 128, 4, INFINITY, 1);
  P.width = 0.01;
  P.snr_db = 30;
  P.seed = 5;
  return P;
}

/* All methods on P at λ = ratio·λ_max, run to machine precision (tol 0, a fixed
 * budget): the optimality conditions to 1e-8 relative, one common objective (within
 * the methods' certified gaps), the reported objective is that of the returned x.
 * Then with the default-like tolerance 1e-10: stop reason "gap", and the reported
 * relative gap is honest. */
static void optimality(const sprec_problem *P, double ratio, int iters)
{
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  double *A, *y;
  sprec_sparse xt = {0};
  tu_reference_problem(P, &A, &y, &xt);
  int bad = 0;
  double Fref = 0, Gref = 0, Eref = 0; /* ISTA's objective, certified gap, rounding bound */
  for (int a = 0; a < NMETHODS; a++) {
    l1_args args = {0, ratio, 0, iters, 0, NULL};
    run_result res = solve(MPI_COMM_WORLD, P, &METHODS[a], &args);
    double lam = res.st.lambda;
    ref_eval e = reference(P->m, P->n, A, y, &res.x, lam);
    /* The certified gap G (reported, relative, times F, plus its rounding) bounds
     * F(x) − F*; two results within their gaps of F* agree to the larger gap. */
    double G = res.st.gap * e.F + e.gap_err_lib;
    if (a == 0) Fref = e.F, Gref = G, Eref = e.F_err;
    /* KKT to 1e-8 and gap to 1e-12 after `iters` iterations are convergence claims
     * about these iterations (the same bits on every CPU; OISTA's LAPACK step may
     * differ in its last bits), not rounding: measured and printed below. */
    int ok = res.err == SPREC_OK && res.x.nnz > 0 && e.off <= 1e-8 && e.on <= 1e-8 &&
             tu_within("all methods agree within their certified gaps", fabs(e.F - Fref),
                       fmax(G, Gref) + e.F_err + Eref) &&
             tu_within("honest objective", fabs(e.F - res.st.objective), 2 * e.F_err) &&
             tu_within("honest data fit", fabs(e.fit - res.st.data_fit), 2 * e.fit_err) &&
             res.st.iterations == iters && !strcmp(res.st.stop_reason, "iterations") &&
             res.st.gap <= 1e-12 &&
             res.st.lambda == ratio * res.st.lambda_max; /* exact: the library's own product */
    if (!ok) {
      bad++;
      if (rank == 0)
        fprintf(stderr, "%s ratio %g: err %d nnz %lld kkt off %.3g on %.3g F %.17g ref %.17g "
                "reported %.17g gap %.3g it %d %s\n",
                METHODS[a].label, ratio, (int)res.err, (long long)res.x.nnz, e.off, e.on, e.F,
                Fref, res.st.objective, res.st.gap, res.st.iterations, res.st.stop_reason);
    }
    sprec_sparse_free(&res.x);
    double kkt = fmax(e.off, e.on);

    /* Stopping on the relative duality gap. */
    args.tol = 1e-10;
    args.iters = 100000;
    res = solve(MPI_COMM_WORLD, P, &METHODS[a], &args);
    e = reference(P->m, P->n, A, y, &res.x, lam);
    /* ISTA and OISTA certify x with θ from x's own residual: the textbook gap. FISTA
     * uses θ from its extrapolated point: still an upper bound of F(x) − F*. Each
     * FISTA continuation stage starts with one pass at x. The run stopped at
     * gap <= fl(tol·F); the relative gap reported, fl(gap/F), is within two roundings
     * of that. F(x) − F* <= G, and Fref >= F* up to its rounding. */
    int stages = METHODS[a].continuation > 0 ? METHODS[a].continuation : 1;
    int64_t passes = res.st.apply_T_passes - res.st.iterations;
    G = res.st.gap * e.F + e.gap_err_lib;
    ok = res.err == SPREC_OK && !strcmp(res.st.stop_reason, "gap") &&
         res.st.gap <= args.tol * (1 + 2 * DBL_EPSILON) &&
         tu_within("the reported gap bounds the suboptimality", e.F - Fref, G + e.F_err + Eref) &&
         tu_within("all methods agree within their certified gaps", fabs(e.F - Fref),
                   fmax(G, Gref) + e.F_err + Eref) &&
         passes >= 1 && passes <= (strcmp(METHODS[a].algo, "fista") ? 1 : stages);
    if (strcmp(METHODS[a].algo, "fista")) /* the same gap, evaluated two ways */
      ok &= tu_within("the reported gap against the serial gap", fabs(e.gap - res.st.gap * e.F),
                      e.gap_err + e.gap_err_lib + res.st.gap * 2 * e.F_err);
    if (!ok) {
      bad++;
      if (rank == 0)
        fprintf(stderr, "%s ratio %g tol 1e-10: err %d %s gap %.3g ref gap %.3g F %.17g ref %.17g passes %lld it %d\n",
                METHODS[a].label, ratio, (int)res.err, res.st.stop_reason, res.st.gap,
                e.gap / e.F, e.F, Fref, (long long)res.st.apply_T_passes, res.st.iterations);
    }
    if (rank == 0)
      fprintf(stderr, "[lasso] %s %s ratio %.1f: %d iterations to relative gap 1e-10, nnz %lld; "
              "KKT %.1e after %d\n",
              P->kind == SPREC_PROBLEM_DECONV ? "deconv" : "gaussian", METHODS[a].label, ratio,
              res.st.iterations, (long long)res.x.nnz, kkt, iters);
    sprec_sparse_free(&res.x);
  }
  free(A);
  free(y);
  sprec_sparse_free(&xt);
  ck_assert_all(bad == 0, "%d Lasso results failed a check (see stderr)", bad);
}

START_TEST(optimality_gaussian)
{
  sprec_problem P = gaussian_problem();
  optimality(&P, 0.1, 800);
  optimality(&P, 0.5, 800);
}
END_TEST

START_TEST(optimality_deconv)
{
  sprec_problem P = deconv_problem();
  optimality(&P, 0.1, 800);
  optimality(&P, 0.5, 800);
}
END_TEST

/* A short run stops on the budget, and its reported gap still bounds the true
 * suboptimality F(x) − F* (F* from a run to machine precision). ISTA's certificate is
 * the textbook one, recomputed serially. */
START_TEST(certificate_after_a_short_run)
{
  sprec_problem P = gaussian_problem();
  double *A, *y;
  sprec_sparse xt = {0};
  tu_reference_problem(&P, &A, &y, &xt);
  l1_args args = {0, 0.1, 0, 800, 0, NULL};
  run_result ref = solve(MPI_COMM_WORLD, &P, &METHODS[0], &args);
  double Fs = ref.st.objective, Es = reference(P.m, P.n, A, y, &ref.x, ref.st.lambda).F_err;
  int bad = 0;
  for (int a = 0; a < NMETHODS; a++) {
    args.iters = 15;
    args.tol = 1e-10;
    run_result res = solve(MPI_COMM_WORLD, &P, &METHODS[a], &args);
    ref_eval e = reference(P.m, P.n, A, y, &res.x, res.st.lambda);
    /* Not optimal yet (by more than the rounding of the two objectives), and the gap,
     * with its rounding, bounds F(x) − F* <= F(x) − Fs up to Fs's rounding. */
    int ok = res.err == SPREC_OK && res.st.iterations == 15 &&
             !strcmp(res.st.stop_reason, "iterations") &&
             tu_within("a short run is not optimal: rounding against the margin", e.F_err + Es,
                       e.F - Fs) &&
             tu_within("the reported gap bounds the suboptimality", e.F - Fs,
                       res.st.gap * e.F + e.gap_err_lib + e.F_err + Es) &&
             tu_within("honest objective", fabs(e.F - res.st.objective), 2 * e.F_err);
    if (!strcmp(METHODS[a].algo, "ista") && !METHODS[a].continuation)
      ok &= tu_within("the reported gap against the serial gap", fabs(res.st.gap * e.F - e.gap),
                      e.gap_err + e.gap_err_lib + res.st.gap * 2 * e.F_err);
    if (!ok) {
      bad++;
      fprintf(stderr, "%s: %s subopt %.3g reported gap %.3g (ref %.3g)\n", METHODS[a].label,
              res.st.stop_reason, (e.F - Fs) / e.F, res.st.gap, e.gap / e.F);
    }
    sprec_sparse_free(&res.x);
  }
  sprec_sparse_free(&ref.x);
  free(A);
  free(y);
  sprec_sparse_free(&xt);
  ck_assert_all(bad == 0, "%d certificates failed", bad);
}
END_TEST

/* λ ≥ λ_max: x = 0 at once (iteration 0, exactly zero gap), for any tol. */
START_TEST(lambda_max_gives_zero)
{
  sprec_problem P = gaussian_problem();
  double *A, *y;
  sprec_sparse xt = {0};
  tu_reference_problem(&P, &A, &y, &xt);
  /* λ_max = max_j |a_jᵀy|: each a_jᵀy, here and in the library, within
   * mε·Σ_i|a_ij y_i| of the exact value; ½‖y‖² within tu_fit's bound for x = 0. */
  double lmax = 0, yy = 0, lerr = 0;
  for (int64_t j = 0; j < P.n; j++) {
    double c = 0, ca = 0;
    for (int64_t i = 0; i < P.m; i++) c += A[i + j * P.m] * y[i], ca += fabs(A[i + j * P.m] * y[i]);
    lmax = fmax(lmax, fabs(c));
    lerr = fmax(lerr, (double)P.m * DBL_EPSILON * ca);
  }
  for (int64_t i = 0; i < P.m; i++) yy += y[i] * y[i];
  sprec_sparse zero = {0};
  double yerr = tu_fit_x(P.m, A, y, &zero).fit_err;
  int bad = 0;
  for (int a = 0; a < NMETHODS; a++)
    for (int v = 0; v < 3; v++) {
      /* v = 0: λ given, at least the library's λ_max whatever its rounding. */
      l1_args args = {v == 0 ? lmax + 2 * lerr : 0, v == 1 ? 1.0 : v == 2 ? 2.5 : 0,
                      v == 2 ? 0 : 1e-10, 0, 0, NULL};
      run_result res = solve(MPI_COMM_WORLD, &P, &METHODS[a], &args);
      int ok = res.err == SPREC_OK && res.x.nnz == 0 && res.st.iterations == 0 &&
               !strcmp(res.st.stop_reason, "gap") && res.st.gap == 0 &&
               tu_within("objective of x = 0", fabs(res.st.objective - 0.5 * yy), 2 * yerr) &&
               tu_within("lambda_max", fabs(res.st.lambda_max - lmax), 2 * lerr);
      if (!ok) {
        bad++;
        fprintf(stderr, "%s variant %d: nnz %lld it %d %s\n", METHODS[a].label, v,
                (long long)res.x.nnz, res.st.iterations, res.st.stop_reason);
      }
      sprec_sparse_free(&res.x);
    }
  free(A);
  free(y);
  sprec_sparse_free(&xt);
  ck_assert_all(bad == 0, "%d runs at lambda >= lambda_max did not return 0", bad);
}
END_TEST

/* --debias: least squares on the Lasso support (A_Sᵀ r = 0), the same support, and
 * the reported objective is the Lasso objective of the returned x. */
START_TEST(debias_is_least_squares_on_the_support)
{
  sprec_problem P = gaussian_problem();
  double *A, *y;
  sprec_sparse xt = {0};
  tu_reference_problem(&P, &A, &y, &xt);
  int bad = 0;
  for (int a = 0; a < NMETHODS; a++) {
    l1_args args = {0, 0.1, 1e-10, 100000, 0, NULL};
    run_result plain = solve(MPI_COMM_WORLD, &P, &METHODS[a], &args);
    args.debias = 1;
    run_result res = solve(MPI_COMM_WORLD, &P, &METHODS[a], &args);
    ref_eval e = reference(P.m, P.n, A, y, &res.x, res.st.lambda);
    ref_eval ep = reference(P.m, P.n, A, y, &plain.x, plain.st.lambda);
    /* Least squares on the support (tu_lsq's KKT bound, here relative to ‖y‖ alone);
     * its fit below the Lasso's by more than the rounding of the two evaluations;
     * the gap and iterations are the same run's, bit for bit. */
    int ok = res.err == SPREC_OK && res.x.nnz == plain.x.nnz && res.x.nnz > 0 &&
             tu_within("debiased: least squares on the support (KKT)", e.lsq,
                       tu_lsq_x(P.m, A, y, &res.x).kkt * e.amax) &&
             tu_within("honest objective", fabs(e.F - res.st.objective), 2 * e.F_err) &&
             tu_within("honest data fit", fabs(e.fit - res.st.data_fit), 2 * e.fit_err) &&
             tu_within("debiased fit below the Lasso's: rounding against the margin",
                       e.fit_err + ep.fit_err, plain.st.data_fit - e.fit) &&
             res.st.gap == plain.st.gap && res.st.iterations == plain.st.iterations;
    for (int64_t t = 0; ok && t < res.x.nnz; t++) ok = res.x.idx[t] == plain.x.idx[t];
    if (!ok) {
      bad++;
      fprintf(stderr, "%s debias: nnz %lld/%lld lsq %.3g F %.17g reported %.17g\n",
              METHODS[a].label, (long long)res.x.nnz, (long long)plain.x.nnz, e.lsq, e.F,
              res.st.objective);
    }
    sprec_sparse_free(&res.x);
    sprec_sparse_free(&plain.x);
  }
  free(A);
  free(y);
  sprec_sparse_free(&xt);
  ck_assert_all(bad == 0, "%d debiased results failed", bad);
}
END_TEST

/* Started from a solution, every method stops at iteration 0: OISTA's answer has a
 * relative gap <= 1e-12, evaluated again at iteration 0 to within rounding (about
 * 1e-15 relative: gap_err_lib) of that, far below the 1e-10 asked. */
START_TEST(warm_start_from_a_solution)
{
  sprec_problem P = deconv_problem();
  l1_args args = {0, 0.1, 1e-12, 100000, 0, NULL};
  run_result ref = solve(MPI_COMM_WORLD, &P, &METHODS[6], &args);
  double *x0 = calloc((size_t)P.n, sizeof *x0);
  for (int64_t t = 0; t < ref.x.nnz; t++) x0[ref.x.idx[t]] = ref.x.val[t];
  int bad = 0;
  for (int a = 0; a < NMETHODS; a++) {
    if (METHODS[a].continuation) continue; /* continuation starts at λ_max on purpose */
    l1_args w = {0, 0.1, 1e-10, 100000, 0, x0};
    run_result res = solve(MPI_COMM_WORLD, &P, &METHODS[a], &w);
    int ok = res.err == SPREC_OK && res.st.iterations == 0 && !strcmp(res.st.stop_reason, "gap") &&
             res.x.nnz == ref.x.nnz;
    if (!ok) {
      bad++;
      fprintf(stderr, "%s warm: it %d %s\n", METHODS[a].label, res.st.iterations, res.st.stop_reason);
    }
    sprec_sparse_free(&res.x);
  }
  free(x0);
  sprec_sparse_free(&ref.x);
  ck_assert_all(bad == 0, "%d warm starts did not stop at once", bad);
}
END_TEST

/* The world's first q ranks solve, for q = 1 .. P; rank 0 takes part in all and
 * compares every result with the one-rank result: same iterations, support, values
 * and objective, bit for bit. */
static void same_on_every_rank_count(const sprec_problem *P, double ratio)
{
  l1_args args = {0, ratio, 1e-10, 100000, 0, NULL};
  sprec_opts o[NMETHODS];
  const char *labels[NMETHODS];
  for (int a = 0; a < NMETHODS; a++) o[a] = lasso_opts(&METHODS[a], &args), labels[a] = METHODS[a].label;
  tu_same_on_every_rank_count(P, NMETHODS, o, labels);
}

START_TEST(same_answer_any_rank_count_gaussian)
{
  sprec_problem P = tu_problem(SPREC_PROBLEM_GAUSSIAN, 60, 203, 8, 20, 4);
  same_on_every_rank_count(&P, 0.1);
}
END_TEST

START_TEST(same_answer_any_rank_count_deconv)
{
  sprec_problem P = deconv_problem();
  P.n = 257;
  same_on_every_rank_count(&P, 0.2);
}
END_TEST

TU_MAIN("lasso", 300, NULL, optimality_gaussian, optimality_deconv, certificate_after_a_short_run,
        lambda_max_gives_zero, debias_is_least_squares_on_the_support, warm_start_from_a_solution,
        same_answer_any_rank_count_gaussian, same_answer_any_rank_count_deconv)
