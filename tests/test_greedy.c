/* OMP, OMPR, ELS, CoSaMP and SP against independent serial computations: OMP's atom
 * order and coefficients against a textbook OMP (least squares re-solved from scratch
 * by dgels at every step), least-squares optimality and honest objectives, the exact
 * ℓ0 optimum by exhaustive search on tiny problems, ELS's and OMPR's fixed points
 * checked serially, exact recovery on an easy problem, the same answer on every rank
 * count (1 .. P on sub-communicators), and SEA started from each never doing worse. */
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define NG 5
static const char *const GREEDY[NG] = {"omp", "ompr", "els", "cosamp", "sp"};

typedef tu_result run_result;

typedef struct {
  int iters;
  double tol;
  sprec_lsq_method lsq;
  const sprec_sparse *init; /* replicated sparse start, or NULL */
  double step;              /* 0: the default */
} knobs;

static run_result solve(MPI_Comm comm, const sprec_problem *P, const char *algo, knobs kn)
{
  sprec_opts o;
  sprec_opts_default(&o);
  o.algo = sprec_algo_find(algo);
  o.k = P->k;
  o.iters = kn.iters;
  o.tol = kn.tol;
  o.lsq = kn.lsq;
  o.step = kn.step;
  return tu_solve(comm, P, &o, kn.init);
}

static const knobs DEFAULTS = {0, 0, SPREC_LSQ_AUTO, NULL, 0};

static int cmp_i64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* ELS at its fixed point, against every single swap S' = S − i + j solved by dgels.
 * ELS predicts the decrease of each swap, F(S) − F*(S'), from its QR of A_S and takes
 * the best one if it exceeds τF (τ = 1e-12, ELS_GAIN_TOL in src/algo/els.c) and the
 * least squares on S' really is lower. Its prediction, ½β_i² − ½(g_j + β_i d_ij)²/den_ij
 * with den_ij = ‖P⊥_{S−i} a_j‖², is a difference of terms of size ‖y‖²: to first order
 * its rounding is err_ij <= κ(A_S)·η·‖y‖²·(1 + 3ρ + 1.5ρ²), ρ = ‖a_j‖/√den_ij, η = m·k·ε
 * (the triangular solves for c_i lose κ(A_S)·η, the projections of a_j mε‖a_j‖; the
 * division by den_ij amplifies both). So at ELS's fixed point no swap's true decrease
 * exceeds τF + 2·max err (a swap ELS tried and refused: its decrease is below the
 * rounding of the two objectives ELS compared), and the computed values add their own
 * rounding (fit_err, excess: tu_lsq). Returns 1 iff min_S' f(S') >= f − that. */
static int no_better_swap(int64_t m, int64_t n, const double *A, const double *y,
                          const sprec_sparse *x, double f)
{
  int64_t k = x->nnz, *S = malloc(sizeof(int64_t) * (size_t)k);
  double *z = malloc(sizeof(double) * (size_t)k), best = INFINITY, errmax = 0, bmax = 0;
  tu_lsq_bounds bx = tu_lsq_x(m, A, y, x);
  for (int64_t i = 0; i < k; i++)
    for (int64_t j = 0; j < n; j++) {
      int in = 0;
      for (int64_t t = 0; t < k; t++) in |= x->idx[t] == j;
      if (in) continue;
      /* den_ij: the residual of a_j on S − i */
      double an = 0, den;
      for (int64_t q = 0; q < m; q++) an += A[q + j * m] * A[q + j * m];
      if (k == 1) den = an;
      else {
        int64_t R[3], nr = 0;
        for (int64_t t = 0; t < k; t++)
          if (t != i) R[nr++] = x->idx[t];
        den = 2 * tu_dgels(m, A, A + j * m, nr, R, z);
      }
      double rho = sqrt(an / den);
      errmax = fmax(errmax, bx.kappa * bx.eta * bx.fit.ynorm * bx.fit.ynorm *
                                (1 + 3 * rho + 1.5 * rho * rho));
      for (int64_t t = 0; t < k; t++) S[t] = t == i ? j : x->idx[t];
      qsort(S, (size_t)k, sizeof *S, cmp_i64);
      double fs = tu_dgels(m, A, y, k, S, z);
      tu_lsq_bounds bs = tu_lsq(m, A, y, k, S, z);
      best = fmin(best, fs);
      bmax = fmax(bmax, bs.fit.fit_err + bs.excess);
    }
  free(S);
  free(z);
  double tol = 1e-12 * f + 2 * errmax + 2 * (bx.fit.fit_err + bx.excess) + 2 * bmax;
  return tu_within("ELS fixed point: no better swap", f - best, tol);
}

/* OMPR's fixed point: j = argmax_{j∉S} |g_j| would leave again, η|g_j| <= min_{i∈S}
 * |x_i + ηg_i| (OMPR's own test, on its own g). Each g_j there and here is within
 * e_j = ‖a_j‖·grad_err (tu_fit) of the exact a_jᵀ(y − A x), so OMPR's test implies
 *   η·max_{j∉S}|g_j| <= min|x_i| + η(max_{i∈S}|g_i| + 2 e_in + 2 e_out)
 * here, up to one rounding of each side. */
static int is_ompr_fixed_point(int64_t m, int64_t n, const double *A, const double *y,
                               const double *r, const sprec_sparse *x, double eta)
{
  tu_fit_bounds fb = tu_fit_x(m, A, y, x);
  double gout = 0, gin = 0, xmin = INFINITY, ein = 0, eout = 0;
  for (int64_t j = 0, t = 0; j < n; j++) {
    double g = 0, an = 0;
    for (int64_t i = 0; i < m; i++) g += A[i + j * m] * r[i], an += A[i + j * m] * A[i + j * m];
    double e = sqrt(an) * fb.grad_err;
    if (t < x->nnz && x->idx[t] == j)
      xmin = fmin(xmin, fabs(x->val[t])), gin = fmax(gin, fabs(g)), ein = fmax(ein, e), t++;
    else gout = fmax(gout, fabs(g)), eout = fmax(eout, e);
  }
  double rhs = xmin + eta * (gin + 2 * ein + 2 * eout);
  return tu_within("OMPR fixed point", eta * gout - rhs, 2 * DBL_EPSILON * (rhs + eta * gout));
}

/* A textbook OMP: argmax |a_jᵀr| over j ∉ S (ties: smaller j), least squares from
 * scratch by dgels. order[t]: the atom added at step t; coef + t*k: the coefficients
 * after step t, in sorted-support order. Returns the number of steps. *decided: the
 * largest ratio over the steps of 2·(rounding bound of |a_jᵀr|) to the margin between
 * the two largest |a_jᵀr|: below 1, every choice is the same for any two least-squares
 * solvers within tu_lsq's bounds (the library's and this one), so the atom order is a
 * fair comparison. */
static int64_t serial_omp(int64_t m, int64_t n, int64_t k, const double *A, const double *y,
                          int64_t *order, double *coef, double *decided)
{
  int64_t *S = malloc(sizeof(int64_t) * (size_t)k);
  double *r = malloc(sizeof(double) * (size_t)m), *z = malloc(sizeof(double) * (size_t)k);
  memcpy(r, y, sizeof(double) * (size_t)m);
  int64_t t = 0;
  *decided = 0;
  for (; t < k; t++) {
    int64_t jbest = -1;
    double gbest = 0, gnext = 0, err = 0;
    if (t > 0) { /* each |a_jᵀr| within ‖a_j‖(dev + grad_err) of the exact one, ‖a_j‖ = 1 */
      tu_lsq_bounds b = tu_lsq(m, A, y, t, S, z);
      err = b.dev + b.fit.grad_err;
    }
    for (int64_t j = 0; j < n; j++) {
      int in = 0;
      for (int64_t s = 0; s < t; s++) in |= S[s] == j;
      if (in) continue;
      double g = 0;
      for (int64_t i = 0; i < m; i++) g += A[i + j * m] * r[i];
      if (fabs(g) > gbest) gnext = gbest, gbest = fabs(g), jbest = j;
      else gnext = fmax(gnext, fabs(g));
    }
    *decided = fmax(*decided, 2 * err / (gbest - gnext));
    if (jbest < 0) break;
    order[t] = jbest;
    S[t] = jbest;
    qsort(S, (size_t)t + 1, sizeof *S, cmp_i64);
    tu_dgels(m, A, y, t + 1, S, z);
    memcpy(coef + t * k, z, sizeof(double) * (size_t)(t + 1));
    memcpy(r, y, sizeof(double) * (size_t)m);
    for (int64_t s = 0; s <= t; s++)
      for (int64_t i = 0; i < m; i++) r[i] -= A[i + S[s] * m] * z[s];
  }
  free(S);
  free(r);
  free(z);
  return t;
}

static void check_omp_against_serial(const sprec_problem *P)
{
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  double *A, *y;
  sprec_sparse xt = {0};
  tu_reference_problem(P, &A, &y, &xt);
  int64_t k = P->k, order[16], sorted[16];
  double coef[16 * 16], worst = 0, worst_bound = 0, decided;
  int64_t steps = serial_omp(P->m, P->n, k, A, y, order, coef, &decided);
  int ok = steps == k;
  for (int64_t t = 1; t <= k; t++) { /* iters = t limits OMP to t atoms */
    knobs kn = DEFAULTS;
    kn.iters = (int)t;
    run_result res = solve(MPI_COMM_WORLD, P, "omp", kn);
    memcpy(sorted, order, sizeof(int64_t) * (size_t)t);
    qsort(sorted, (size_t)t, sizeof *sorted, cmp_i64);
    int same = res.err == SPREC_OK && res.x.nnz == t && res.st.iterations == t;
    for (int64_t s = 0; same && s < t; s++) same = res.x.idx[s] == sorted[s];
    /* Two least-squares solutions on one support: each within zerr = dev/σ_min of the
     * exact one (tu_lsq: backward stability and κ(A_S), σ from LAPACK). */
    double zmax = 0, dz = 0;
    for (int64_t s = 0; same && s < t; s++) {
      zmax = fmax(zmax, fabs(coef[(t - 1) * k + s]));
      dz = fmax(dz, fabs(res.x.val[s] - coef[(t - 1) * k + s]));
    }
    if (same) {
      double zb = tu_lsq_x(P->m, A, y, &res.x).zerr +
                  tu_lsq(P->m, A, y, t, res.x.idx, coef + (t - 1) * k).zerr;
      ok &= tu_within("OMP coefficients against the serial OMP", dz, zb);
      worst = fmax(worst, dz / fmax(zmax, 1e-300));
      worst_bound = fmax(worst_bound, zb / fmax(zmax, 1e-300));
    }
    if (!same && rank == 0)
      fprintf(stderr, "OMP (%s) step %lld: support differs from the serial OMP\n",
              P->kind ? "deconv" : "gaussian", (long long)t);
    ok &= same;
    sprec_sparse_free(&res.x);
  }
  if (rank == 0)
    fprintf(stderr, "[omp] %s m=%lld n=%lld k=%lld: atom order as serial OMP (rounding/margin of "
            "the choices at most %.1e), coefficients within %.2e (relative to max |z|; the bound "
            "from κ(A_S): %.2e)\n", P->kind ? "deconv" : "gaussian", (long long)P->m,
            (long long)P->n, (long long)k, decided, worst, worst_bound);
  ck_assert_all(ok, "OMP differs from the serial OMP (coefficient error %.3g, bound %.3g)", worst,
                worst_bound);
  free(A);
  free(y);
  sprec_sparse_free(&xt);
}

START_TEST(omp_matches_serial_omp)
{
  sprec_problem P = tu_problem(SPREC_PROBLEM_GAUSSIAN, 64, 200, 12, 20, 3);
  check_omp_against_serial(&P);
  P = tu_problem(SPREC_PROBLEM_DECONV, 96, 160, 8, 30, 5);
  check_omp_against_serial(&P);
}
END_TEST

START_TEST(tiny_problems_against_exhaustive_search)
{
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  int bad = 0, total[2] = {0, 0}, hits[2][NG] = {{0}}, sea_hits[2][NG] = {{0}};
  for (int kind = 0; kind < 2; kind++)
    for (int trial = 0; trial < 30; trial++) {
      sprec_problem P = tu_tiny_problem(kind, trial);
      double *A, *y, r[16], f;
      sprec_sparse xt = {0};
      tu_reference_problem(&P, &A, &y, &xt);
      double flow, fopt = tu_exhaustive(P.m, P.n, P.k, A, y, &flow);
      total[kind]++;
      for (int a = 0; a < NG; a++) {
        char label[64];
        snprintf(label, sizeof label, "kind %d trial %d %s", kind, trial, GREEDY[a]);
        run_result res = solve(MPI_COMM_WORLD, &P, GREEDY[a], DEFAULTS);
        int ok = tu_check_least_squares(label, &P, A, y, &res, flow, r, &f);
        if (!strcmp(GREEDY[a], "els") && !strcmp(res.st.stop_reason, "fixed_point"))
          ok &= no_better_swap(P.m, P.n, A, y, &res.x, f);
        if (!strcmp(GREEDY[a], "ompr") && !strcmp(res.st.stop_reason, "fixed_point"))
          ok &= is_ompr_fixed_point(P.m, P.n, A, y, r, &res.x, res.st.step);
        if (f <= fopt * (1 + 1e-9)) hits[kind][a]++; /* a count for the report, not a check */
        /* SEA started from it never returns anything worse. */
        knobs kn = DEFAULTS;
        kn.init = &res.x;
        kn.iters = 200;
        run_result sea = solve(MPI_COMM_WORLD, &P, "sea", kn);
        /* Exact: SEA's iterate 0 is res.x itself, and both objectives come from one
         * function of the returned x (sprec_w_data_fit). */
        int sea_ok = sea.err == SPREC_OK && sea.st.objective <= res.st.objective;
        if (sea.st.objective <= fopt * (1 + 1e-9)) sea_hits[kind][a]++;
        if (!sea_ok && rank == 0)
          fprintf(stderr, "%s: SEA after it %.17g, worse than %.17g\n", label, sea.st.objective,
                  res.st.objective);
        bad += !ok || !sea_ok;
        sprec_sparse_free(&res.x);
        sprec_sparse_free(&sea.x);
      }
      free(A);
      free(y);
      sprec_sparse_free(&xt);
    }
  if (rank == 0)
    for (int kind = 0; kind < 2; kind++) {
      fprintf(stderr, "[exhaustive] %s: optimum reached in /%d:", kind ? "deconv" : "gaussian",
              total[kind]);
      for (int a = 0; a < NG; a++)
        fprintf(stderr, " %s %d (SEA after it %d)%s", GREEDY[a], hits[kind][a], sea_hits[kind][a],
                a + 1 < NG ? "," : "\n");
    }
  ck_assert_all(bad == 0, "%d results failed a check (see stderr)", bad);
}
END_TEST

START_TEST(noiseless_gaussian_recovered)
{
  sprec_problem P = tu_problem(SPREC_PROBLEM_GAUSSIAN, 128, 256, 10, INFINITY, 7);
  double *A, *y;
  sprec_sparse xt = {0};
  tu_reference_problem(&P, &A, &y, &xt);
  for (int path = 0; path < 2; path++)
    for (int a = 0; a < NG; a++) {
      knobs kn = DEFAULTS;
      kn.lsq = path ? SPREC_LSQ_SCALAPACK : SPREC_LSQ_REPLICATED;
      run_result res = solve(MPI_COMM_WORLD, &P, GREEDY[a], kn);
      int ok = res.err == SPREC_OK && res.x.nnz == xt.nnz;
      for (int64_t t = 0; ok && t < xt.nnz; t++) ok = res.x.idx[t] == xt.idx[t];
      /* Noiseless: the residual is rounding. y is Σ a_j x_j rounded, within D of A x_true
       * (tu_fit of x_true), so the exact least squares on the true support leaves at most
       * that; the solver's ẑ adds dev, the evaluation of ‖y − A ẑ‖ its D. */
      if (ok) {
        tu_lsq_bounds lb = tu_lsq_x(P.m, A, y, &res.x);
        double bound = (lb.dev + lb.fit.D + tu_fit_x(P.m, A, y, &xt).D) / lb.fit.ynorm *
                       (1 + 2 * (double)(P.m + 2) * DBL_EPSILON);
        ok = tu_within("noiseless: relative residual is rounding", res.st.rel_residual, bound);
      }
      ck_assert_all(ok, "%s (%s least squares) did not recover the support", GREEDY[a],
                    path ? "ScaLAPACK" : "replicated");
      sprec_sparse_free(&res.x);
    }
  free(A);
  free(y);
  sprec_sparse_free(&xt);
}
END_TEST

START_TEST(tolerance_and_warm_start)
{
  sprec_problem P = tu_problem(SPREC_PROBLEM_GAUSSIAN, 128, 256, 10, INFINITY, 7);
  /* OMP stops as soon as ‖r‖/‖y‖ <= tol, with fewer atoms. OMP tested its own
   * evaluation of ‖r‖/‖y‖; the reported one is another, each within D (tu_fit) of the
   * exact ‖r‖ and within (m + 2)ε of the exact ‖y‖ and quotient. */
  knobs kn = DEFAULTS;
  kn.tol = 0.3;
  run_result res = solve(MPI_COMM_WORLD, &P, "omp", kn);
  double *A, *y;
  sprec_sparse xt = {0};
  tu_reference_problem(&P, &A, &y, &xt);
  tu_fit_bounds fb = tu_fit_x(P.m, A, y, &res.x);
  double tol_eval = 2 * (fb.D / fb.ynorm + 2 * (double)(P.m + 2) * DBL_EPSILON * kn.tol);
  free(A), free(y), sprec_sparse_free(&xt);
  ck_assert_all(res.err == SPREC_OK && !strcmp(res.st.stop_reason, "tol") &&
                    tu_within("OMP --tol: reported relative residual", res.st.rel_residual - kn.tol,
                              tol_eval) &&
                    res.x.nnz < P.k && res.st.iterations == res.x.nnz,
                "OMP with --tol 0.3: stop %s, rel_residual %g, %lld atoms", res.st.stop_reason,
                res.st.rel_residual, (long long)res.x.nnz);
  sprec_sparse_free(&res.x);
  /* Restarted from its own answer (iterate 0, least squares on its support), each
   * method never does worse; OMP (nothing left to add), ELS (a fixed point) and SP
   * (its stopping test fails again at once) return the same objective. CoSaMP and
   * OMPR return their best iterate, which need not be where they stopped.
   * Iterate 0 is the least squares on first.x's support solved afresh, not first.x
   * bit for bit: both are within excess (tu_lsq) of the exact minimum on that
   * support. The objective reported is one evaluation of F(x) (fit_err each); the
   * ranking of iterates inside a method (its least-squares residual) another. So
   *   again <= first + 2(fit_err_a + fit_err_f) + excess_a + excess_f, and
   *   again >= first − (fit_err_a + fit_err_f + excess_a + excess_f) on one support. */
  P = tu_problem(SPREC_PROBLEM_DECONV, 64, 257, 6, 30, 9);
  tu_reference_problem(&P, &A, &y, &xt);
  for (int a = 0; a < NG; a++) {
    run_result first = solve(MPI_COMM_WORLD, &P, GREEDY[a], DEFAULTS);
    kn = DEFAULTS;
    kn.init = &first.x;
    run_result again = solve(MPI_COMM_WORLD, &P, GREEDY[a], kn);
    tu_lsq_bounds bf = tu_lsq_x(P.m, A, y, &first.x), ba = tu_lsq_x(P.m, A, y, &again.x);
    double e = ba.fit.fit_err + bf.fit.fit_err, x = ba.excess + bf.excess;
    int ok = first.err == SPREC_OK && again.err == SPREC_OK &&
             tu_within("restarted from its own answer: never worse",
                       again.st.objective - first.st.objective, 2 * e + x);
    if (a == 0 || a == 2 || a == 4)
      ok &= tu_within("restarted from its own answer: the same",
                      first.st.objective - again.st.objective, e + x);
    ck_assert_all(ok, "%s restarted from its own answer: %.17g vs %.17g", GREEDY[a],
                  again.st.objective, first.st.objective);
    sprec_sparse_free(&first.x);
    sprec_sparse_free(&again.x);
  }
  free(A), free(y), sprec_sparse_free(&xt);
}
END_TEST

/* With η = 1 OMPR replaces atoms after its OMP filling: it ends at a fixed point
 * that is serially verified, below OMP's objective. */
START_TEST(ompr_replaces_atoms)
{
  sprec_problem P = tu_problem(SPREC_PROBLEM_GAUSSIAN, 40, 200, 12, 10, 3);
  double *A, *y, r[40], kkt;
  sprec_sparse xt = {0};
  tu_reference_problem(&P, &A, &y, &xt);
  knobs kn = DEFAULTS;
  kn.step = 1;
  run_result omp = solve(MPI_COMM_WORLD, &P, "omp", DEFAULTS);
  run_result res = solve(MPI_COMM_WORLD, &P, "ompr", kn);
  double f = tu_objective(P.m, A, y, &res.x, r, &kkt);
  tu_lsq_bounds lb = tu_lsq_x(P.m, A, y, &res.x);
  /* Below OMP's objective by more than the rounding of the two evaluations. */
  double below = lb.fit.fit_err + tu_fit_x(P.m, A, y, &omp.x).fit_err;
  int ok = res.err == SPREC_OK && res.x.nnz == P.k && res.st.iterations > P.k + 1 &&
           !strcmp(res.st.stop_reason, "fixed_point") && res.st.step == 1 &&
           tu_within("OMPR below OMP: rounding against the margin", below, omp.st.objective - f) &&
           tu_within("least squares on the support (KKT)", kkt, lb.kkt) &&
           tu_within("honest objective", fabs(f - res.st.objective), 2 * lb.fit.fit_err) &&
           is_ompr_fixed_point(P.m, P.n, A, y, r, &res.x, 1);
  ck_assert_all(ok, "OMPR (step 1): %d iterations, stop %s, objective %.17g vs OMP %.17g",
                res.st.iterations, res.st.stop_reason, f, omp.st.objective);
  sprec_sparse_free(&omp.x);
  sprec_sparse_free(&res.x);
  free(A);
  free(y);
  sprec_sparse_free(&xt);
}
END_TEST

/* The world's first q ranks solve, for q = 1 .. P; rank 0 takes part in all and
 * compares every result with the one-rank result. */
static void same_on_every_rank_count(const sprec_problem *P)
{
  sprec_opts o[NG + 1];
  for (int a = 0; a <= NG; a++) { /* a = NG: OMPR with η = 1, which makes swaps */
    o[a] = tu_algo_opts(GREEDY[a < NG ? a : 1], P->k, 300, 0, 0);
    o[a].step = a < NG ? 0 : 1;
  }
  tu_same_on_every_rank_count(P, NG + 1, o, NULL);
}

/* A noisy problem on which OMPR (η = 1) and ELS make several swaps (test_solvers.c
 * checks every algorithm with its defaults on 1..P ranks). */
START_TEST(same_answer_any_rank_count_swaps)
{
  sprec_problem P = tu_problem(SPREC_PROBLEM_GAUSSIAN, 40, 200, 12, 10, 3);
  same_on_every_rank_count(&P);
}
END_TEST

/* SEA started from each method's answer on a coherent problem: never worse. */
START_TEST(sea_after_greedy_never_worse)
{
  sprec_problem P = tu_problem(SPREC_PROBLEM_DECONV, 128, 512, 8, 30, 2);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  for (int a = 0; a < NG; a++) {
    run_result res = solve(MPI_COMM_WORLD, &P, GREEDY[a], DEFAULTS);
    knobs kn = DEFAULTS;
    kn.init = &res.x;
    kn.iters = 300;
    run_result sea = solve(MPI_COMM_WORLD, &P, "sea", kn);
    if (rank == 0)
      fprintf(stderr, "[sea after] %s: objective %.6g, SEA from it %.6g\n", GREEDY[a],
              res.st.objective, sea.st.objective);
    ck_assert_all(res.err == SPREC_OK && sea.err == SPREC_OK &&
                      sea.st.objective <= res.st.objective,
                  "SEA after %s: %.17g > %.17g", GREEDY[a], sea.st.objective, res.st.objective);
    sprec_sparse_free(&res.x);
    sprec_sparse_free(&sea.x);
  }
}
END_TEST

TU_MAIN("greedy", 300, NULL, omp_matches_serial_omp, tiny_problems_against_exhaustive_search,
        noiseless_gaussian_recovered, tolerance_and_warm_start, ompr_replaces_atoms,
        same_answer_any_rank_count_swaps, sea_after_greedy_never_worse)
