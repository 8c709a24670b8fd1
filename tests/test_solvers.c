/* SEA, HTP and IHT against independent computations: the exact ℓ0 optimum by
 * exhaustive search, least-squares optimality and HTP's fixed point checked with a
 * serial reference matrix, exact recovery on an easy problem, and the same answer
 * on every rank count (1 .. P, on sub-communicators of the world). */
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const ALGOS[] = {"sea", "htp", "iht"};

typedef tu_result run_result;

/* Solve P with algo on comm (an ℓ1 method: the Lasso at 0.2·λ_max, a fairly sparse
 * solution, debiased); init: optional sparse start (replicated). */
static run_result solve(MPI_Comm comm, const sprec_problem *P, const char *algo, int64_t k,
                        const sprec_sparse *init, int iters)
{
  sprec_opts o = tu_algo_opts(algo, k, iters, 0.2, 1);
  return tu_solve(comm, P, &o, init);
}

/* HTP's fixed point (μ = 1): the k largest |x + Aᵀr| are the support of x. HTP
 * decided on its own v_j = x_j + a_jᵀr; its v_j and ours are each within
 * e_j = ‖a_j‖·grad_err (tu_fit) + ε|v_j| (the sum) of the exact value, so an order that
 * HTP saw may appear reversed here by at most 2(max_in e + max_out e). */
static int is_htp_fixed_point(int64_t m, int64_t n, const double *A, const double *y,
                              const double *r, const sprec_sparse *x)
{
  double *v = calloc((size_t)n, sizeof *v), *e = calloc((size_t)n, sizeof *e);
  tu_fit_bounds fb = tu_fit_x(m, A, y, x);
  for (int64_t j = 0; j < n; j++) {
    double an = 0;
    for (int64_t i = 0; i < m; i++) v[j] += A[i + j * m] * r[i], an += A[i + j * m] * A[i + j * m];
    e[j] = sqrt(an) * fb.grad_err;
  }
  for (int64_t t = 0; t < x->nnz; t++) v[x->idx[t]] += x->val[t];
  double minin = INFINITY, maxout = 0, ein = 0, eout = 0;
  for (int64_t j = 0, t = 0; j < n; j++) {
    double ej = e[j] + DBL_EPSILON * fabs(v[j]);
    if (t < x->nnz && x->idx[t] == j) minin = fmin(minin, fabs(v[j])), ein = fmax(ein, ej), t++;
    else maxout = fmax(maxout, fabs(v[j])), eout = fmax(eout, ej);
  }
  free(v);
  free(e);
  return tu_within("HTP fixed point", maxout - minin, 2 * (ein + eout));
}

START_TEST(tiny_problems_against_exhaustive_search)
{
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  int bad = 0, total[2] = {0, 0}, hits[2][4] = {{0}};
  for (int kind = 0; kind < 2; kind++)
    for (int trial = 0; trial < 30; trial++) {
      sprec_problem P = tu_tiny_problem(kind, trial);
      double *A, *y, r[16], f;
      sprec_sparse xt = {0};
      tu_reference_problem(&P, &A, &y, &xt);
      double flow, fopt = tu_exhaustive(P.m, P.n, P.k, A, y, &flow);
      total[kind]++;
      run_result res[4];
      for (int a = 0; a < 3; a++) res[a] = solve(MPI_COMM_WORLD, &P, ALGOS[a], P.k, NULL, 0);
      res[3] = solve(MPI_COMM_WORLD, &P, "sea", P.k, &res[1].x, 0); /* SEA after HTP */
      for (int a = 0; a < 4; a++) {
        char label[64];
        snprintf(label, sizeof label, "kind %d trial %d %s", kind, trial,
                 a < 3 ? ALGOS[a] : "sea after htp");
        int ok = tu_check_least_squares(label, &P, A, y, &res[a], flow, r, &f);
        if (a == 1) ok &= is_htp_fixed_point(P.m, P.n, A, y, r, &res[a].x) &&
                          !strcmp(res[a].st.stop_reason, "fixed_point");
        if (f <= fopt * (1 + 1e-9)) hits[kind][a]++; /* a count for the report, not a check */
        bad += !ok;
      }
      /* Warm start never worse, exactly: SEA's iterate 0 is HTP's x itself, held against
       * its best through the function both reported objectives come from. */
      bad += res[3].st.objective > res[1].st.objective;
      for (int a = 0; a < 4; a++) sprec_sparse_free(&res[a].x);
      free(A);
      free(y);
      sprec_sparse_free(&xt);
    }
  if (rank == 0)
    for (int kind = 0; kind < 2; kind++)
      fprintf(stderr, "[exhaustive] %s: optimum reached in %d/%d by SEA, %d HTP, %d IHT, %d SEA after HTP\n",
              kind ? "deconv" : "gaussian", hits[kind][0], total[kind], hits[kind][1],
              hits[kind][2], hits[kind][3]);
  ck_assert_all(bad == 0, "%d solver results failed a check (see stderr)", bad);
}
END_TEST

/* SEA started from the result of any other algorithm returns nothing worse (when that
 * result is feasible, at most k nonzeros; a Lasso solution may have more). */
START_TEST(sea_after_any_algorithm_never_worse)
{
  int bad = 0, compared = 0;
  for (int kind = 0; kind < 2; kind++) {
    sprec_problem P = tu_problem(kind ? SPREC_PROBLEM_DECONV : SPREC_PROBLEM_GAUSSIAN, 32, 80, 4, 20, 1);
    P.width = 0.05;
    P.seed = 21;
    for (const char *const *a = sprec_algorithms(); *a; a++) {
      if (!strcmp(*a, "sea")) continue;
      run_result first = solve(MPI_COMM_WORLD, &P, *a, P.k, NULL, 0);
      bad += first.err != SPREC_OK;
      if (!first.err && first.x.nnz <= P.k) {
        run_result then = solve(MPI_COMM_WORLD, &P, "sea", P.k, &first.x, 200);
        compared++;
        /* Exact: a start with at most k nonzeros is SEA's iterate 0 as it is, and both
         * figures come from one function of the same x (sprec_w_data_fit). */
        if (then.err || then.st.objective > first.st.data_fit) {
          bad++;
          fprintf(stderr, "SEA after %s: %.17g > %.17g\n", *a, then.st.objective, first.st.data_fit);
        }
        sprec_sparse_free(&then.x);
      }
      sprec_sparse_free(&first.x);
    }
  }
  ck_assert_all(bad == 0 && compared >= 12, "SEA made a start worse (%d), or too few compared (%d)",
                bad, compared);
}
END_TEST

START_TEST(noiseless_gaussian_recovered)
{
  sprec_problem P = tu_problem(SPREC_PROBLEM_GAUSSIAN, 128, 256, 10, INFINITY, 7);
  double *A, *y;
  sprec_sparse xt = {0};
  tu_reference_problem(&P, &A, &y, &xt);
  for (int a = 0; a < 2; a++) {
    run_result res = solve(MPI_COMM_WORLD, &P, ALGOS[a], P.k, NULL, 0);
    int ok = res.err == SPREC_OK && res.x.nnz == xt.nnz;
    for (int64_t t = 0; ok && t < xt.nnz; t++) ok = res.x.idx[t] == xt.idx[t];
    ck_assert_all(ok, "%s did not recover the support", ALGOS[a]);
    sprec_sparse_free(&res.x);
  }
  free(A);
  free(y);
  sprec_sparse_free(&xt);
}
END_TEST

/* Every algorithm gives the same answer on 1 .. P ranks. */
static void same_on_every_rank_count(const sprec_problem *P)
{
  sprec_opts o[TU_MAX_ALGOS];
  tu_same_on_every_rank_count(P, tu_every_algorithm(o, P->k, 300, 0.2, 1), o, NULL);
}

START_TEST(same_answer_any_rank_count_gaussian)
{
  sprec_problem P = tu_problem(SPREC_PROBLEM_GAUSSIAN, 60, 203, 8, 20, 4);
  same_on_every_rank_count(&P);
}
END_TEST

START_TEST(same_answer_any_rank_count_deconv)
{
  sprec_problem P = tu_problem(SPREC_PROBLEM_DECONV, 64, 257, 6, 30, 9);
  same_on_every_rank_count(&P);
}
END_TEST

TU_MAIN("solvers", 300, NULL, tiny_problems_against_exhaustive_search,
        sea_after_any_algorithm_never_worse, noiseless_gaussian_recovered,
        same_answer_any_rank_count_gaussian, same_answer_any_rank_count_deconv)
