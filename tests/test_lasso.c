/* ISTA, FISTA (with and without restart), continuation and OISTA against independent
 * serial computations on the reference matrix: the Lasso optimality conditions, one
 * common optimal objective, honest objective and duality-gap certificates, λ ≥ λ_max,
 * debiasing, warm starts, and the same answer on every rank count (1 .. P, on
 * sub-communicators of the world). */
#include "testutil.h"

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
  strcpy(o.algo, M->algo);
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
} ref_eval;

/* Everything serially from the reference matrix. */
static ref_eval reference(int64_t m, int64_t n, const double *A, const double *y,
                          const sprec_sparse *x, double lam)
{
  ref_eval e = {0, 0, 0, 0, 0, 0};
  double *r = malloc(sizeof(double) * (size_t)m), yn = 0, l1 = 0, gmax = 0;
  memcpy(r, y, sizeof(double) * (size_t)m);
  for (int64_t t = 0; t < x->nnz; t++) {
    for (int64_t i = 0; i < m; i++) r[i] -= A[i + x->idx[t] * m] * x->val[t];
    l1 += fabs(x->val[t]);
  }
  for (int64_t i = 0; i < m; i++) e.fit += 0.5 * r[i] * r[i], yn += y[i] * y[i];
  e.F = e.fit + lam * l1;
  for (int64_t j = 0, t = 0; j < n; j++) {
    double c = 0;
    for (int64_t i = 0; i < m; i++) c += A[i + j * m] * r[i];
    gmax = fmax(gmax, fabs(c));
    if (t < x->nnz && x->idx[t] == j) {
      double sg = x->val[t] > 0 ? 1.0 : -1.0;
      e.on = fmax(e.on, fabs(c - lam * sg) / lam);
      e.lsq = fmax(e.lsq, fabs(c) / sqrt(yn));
      t++;
    } else
      e.off = fmax(e.off, (fabs(c) - lam) / lam);
  }
  double s = fmax(1.0, gmax / lam), d = 0;
  for (int64_t i = 0; i < m; i++) d += (y[i] - r[i] / s) * (y[i] - r[i] / s);
  e.gap = e.F - (0.5 * yn - 0.5 * d);
  free(r);
  return e;
}

static sprec_problem gaussian_problem(void)
{
  sprec_problem P;
  sprec_problem_default(&P);
  P.m = 64;
  P.n = 128;
  P.k = 5;
  P.snr_db = 20;
  P.seed = 3;
  return P;
}

static sprec_problem deconv_problem(void)
{
  sprec_problem P;
  sprec_problem_default(&P);
  P.kind = SPREC_PROBLEM_DECONV;
  P.m = 64;
  P.n = 128;
  P.k = 4;
  P.width = 0.01;
  P.snr_db = 30;
  P.seed = 5;
  return P;
}

/* All methods on P at λ = ratio·λ_max, run to machine precision (tol 0, a fixed
 * budget): the optimality conditions to 1e-8 relative, one common objective (1e-9),
 * the reported objective is that of the returned x. Then with the default-like
 * tolerance 1e-10: stop reason "gap", and the reported relative gap is honest. */
static void optimality(const sprec_problem *P, double ratio, int iters)
{
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  double *A, *y;
  sprec_sparse xt = {0};
  tu_reference_problem(P, &A, &y, &xt);
  int bad = 0;
  double Fref = 0;
  for (int a = 0; a < NMETHODS; a++) {
    l1_args args = {0, ratio, 0, iters, 0, NULL};
    run_result res = solve(MPI_COMM_WORLD, P, &METHODS[a], &args);
    double lam = res.st.lambda;
    ref_eval e = reference(P->m, P->n, A, y, &res.x, lam);
    if (a == 0) Fref = e.F;
    int ok = res.err == SPREC_OK && res.x.nnz > 0 && e.off <= 1e-8 && e.on <= 1e-8 &&
             fabs(e.F - Fref) <= 1e-9 * Fref &&
             fabs(e.F - res.st.objective) <= 1e-12 * e.F &&
             fabs(e.fit - res.st.data_fit) <= 1e-12 * e.F && res.st.iterations == iters &&
             !strcmp(res.st.stop_reason, "iterations") && res.st.gap <= 1e-12 &&
             fabs(res.st.lambda - ratio * res.st.lambda_max) <= 1e-15 * res.st.lambda;
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
     * FISTA continuation stage starts with one pass at x. */
    int stages = METHODS[a].continuation > 0 ? METHODS[a].continuation : 1;
    int64_t passes = res.st.apply_T_passes - res.st.iterations;
    ok = res.err == SPREC_OK && !strcmp(res.st.stop_reason, "gap") && res.st.gap <= 1e-10 &&
         (e.F - Fref) <= res.st.gap * e.F + 1e-13 * Fref && fabs(e.F - Fref) <= 1e-9 * Fref &&
         passes >= 1 && passes <= (strcmp(METHODS[a].algo, "fista") ? 1 : stages);
    if (strcmp(METHODS[a].algo, "fista"))
      ok &= fabs(e.gap - res.st.gap * e.F) <= 1e-3 * e.gap + 1e-14 * e.F;
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
  double Fs = ref.st.objective;
  int bad = 0;
  for (int a = 0; a < NMETHODS; a++) {
    args.iters = 15;
    args.tol = 1e-10;
    run_result res = solve(MPI_COMM_WORLD, &P, &METHODS[a], &args);
    ref_eval e = reference(P.m, P.n, A, y, &res.x, res.st.lambda);
    int ok = res.err == SPREC_OK && res.st.iterations == 15 &&
             !strcmp(res.st.stop_reason, "iterations") && e.F - Fs > 0 &&
             e.F - Fs <= res.st.gap * e.F && fabs(e.F - res.st.objective) <= 1e-12 * e.F;
    if (!strcmp(METHODS[a].algo, "ista") && !METHODS[a].continuation)
      ok &= fabs(res.st.gap * e.F - e.gap) <= 1e-9 * e.gap;
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
  double lmax = 0, yy = 0;
  for (int64_t j = 0; j < P.n; j++) {
    double c = 0;
    for (int64_t i = 0; i < P.m; i++) c += A[i + j * P.m] * y[i];
    lmax = fmax(lmax, fabs(c));
  }
  for (int64_t i = 0; i < P.m; i++) yy += y[i] * y[i];
  int bad = 0;
  for (int a = 0; a < NMETHODS; a++)
    for (int v = 0; v < 3; v++) {
      l1_args args = {v == 0 ? lmax * (1 + 1e-12) : 0, v == 1 ? 1.0 : v == 2 ? 2.5 : 0,
                      v == 2 ? 0 : 1e-10, 0, 0, NULL};
      run_result res = solve(MPI_COMM_WORLD, &P, &METHODS[a], &args);
      int ok = res.err == SPREC_OK && res.x.nnz == 0 && res.st.iterations == 0 &&
               !strcmp(res.st.stop_reason, "gap") && res.st.gap == 0 &&
               fabs(res.st.objective - 0.5 * yy) <= 1e-13 * yy &&
               fabs(res.st.lambda_max - lmax) <= 1e-13 * lmax;
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
    int ok = res.err == SPREC_OK && res.x.nnz == plain.x.nnz && res.x.nnz > 0 &&
             e.lsq <= 1e-10 && fabs(e.F - res.st.objective) <= 1e-12 * e.F &&
             fabs(e.fit - res.st.data_fit) <= 1e-12 * e.F && e.fit < plain.st.data_fit &&
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

/* Started from a solution, every method stops at iteration 0. */
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
 * compares every result with the one-rank result: same iterations, support and
 * objective (1e-12; in fact bit for bit). */
static void same_on_every_rank_count(const sprec_problem *P, double ratio)
{
  int ok = 1;
  l1_args args = {0, ratio, 1e-10, 100000, 0, NULL};
  for (int a = 0; a < NMETHODS; a++) {
    sprec_opts o = lasso_opts(&METHODS[a], &args);
    ok &= tu_same_on_every_rank_count(P, &o, METHODS[a].label);
  }
  ck_assert_all(ok, "results differ between rank counts");
}

START_TEST(same_answer_any_rank_count_gaussian)
{
  sprec_problem P;
  sprec_problem_default(&P);
  P.m = 60;
  P.n = 203;
  P.k = 8;
  P.snr_db = 20;
  P.seed = 4;
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

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  Suite *s = suite_create("lasso");
  TCase *tc = tcase_create("lasso");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, optimality_gaussian);
  tcase_add_test(tc, optimality_deconv);
  tcase_add_test(tc, certificate_after_a_short_run);
  tcase_add_test(tc, lambda_max_gives_zero);
  tcase_add_test(tc, debias_is_least_squares_on_the_support);
  tcase_add_test(tc, warm_start_from_a_solution);
  tcase_add_test(tc, same_answer_any_rank_count_gaussian);
  tcase_add_test(tc, same_answer_any_rank_count_deconv);
  suite_add_tcase(s, tc);
  return tu_run(s) ? 1 : 0;
}
