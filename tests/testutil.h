/* Helpers shared by the Check suites. Every suite runs under mpirun at several rank
 * counts; verdicts are reduced over all ranks before asserting, so that a failure
 * on one rank never leaves the others waiting in a collective. */
#ifndef SPREC_TESTUTIL_H
#define SPREC_TESTUTIL_H

#include <check.h>

#include "core/impl.h"

/* 1 on every rank iff ok on every rank. */
int tu_all(int ok);
/* Runs the suite in no-fork mode (forking after MPI_Init is unsafe); returns the
 * number of failures, the same on every rank. Calls MPI_Finalize. */
int tu_run(Suite *s);
/* The whole problem generated on this rank alone (a one-rank context): an
 * independent reference for distributed runs. A is m x n column-major. */
void tu_reference_problem(const sprec_problem *p, double **A, double **y, sprec_sparse *xt);
/* Serial least squares by LAPACK dgels on columns S of A: z (k) and the objective
 * ½‖A_S z − y‖². */
double tu_dgels(int64_t m, const double *A, const double *y, int64_t k, const int64_t *S, double *z);

typedef struct {
  sprec_sparse x;
  sprec_stats st;
  sprec_err err;
} tu_result;

/* Collective on comm: generate P on comm and solve it with o, starting from init (a
 * replicated sparse vector) or from the algorithm's default start (NULL). */
tu_result tu_solve(MPI_Comm comm, const sprec_problem *P, const sprec_opts *o,
                   const sprec_sparse *init);
/* Collective on the world: solve on the first q ranks for q = 1 .. P and compare
 * with the one-rank result: the same support, values, objective, gap, iterations and
 * stop reason. 1 on every rank iff all agree (differences reported on stderr). */
int tu_same_on_every_rank_count(const sprec_problem *P, const sprec_opts *o, const char *label);

#define ck_assert_all(ok, ...) ck_assert_msg(tu_all(ok), __VA_ARGS__)

#endif
