#include "testutil.h"

#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

int tu_all(int ok)
{
  int all = ok != 0;
  MPI_Allreduce(MPI_IN_PLACE, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
  return all;
}

int tu_run(Suite *s)
{
  SRunner *sr = srunner_create(s);
  srunner_set_fork_status(sr, CK_NOFORK);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  /* Only rank 0 reports; all ranks run every test. */
  srunner_run_all(sr, rank == 0 ? CK_NORMAL : CK_SILENT);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return failed;
}

void tu_reference_problem(const sprec_problem *p, double **A, double **y, sprec_sparse *xt)
{
  sprec_ctx self;
  sprec_op op;
  sprec_ctx_create(MPI_COMM_SELF, &self);
  sprec_problem_generate(self, p, &op, y, xt);
  *A = op->data; /* take the block (the whole matrix on one rank) */
  op->data = NULL;
  sprec_op_destroy(&op);
  sprec_ctx_destroy(&self);
}

double tu_dgels(int64_t m, const double *A, const double *y, int64_t k, const int64_t *S, double *z)
{
  double *As = malloc(sizeof(double) * m * k), *b = malloc(sizeof(double) * m);
  for (int64_t t = 0; t < k; t++) memcpy(As + t * m, A + S[t] * m, sizeof(double) * m);
  memcpy(b, y, sizeof(double) * m);
  LAPACKE_dgels(LAPACK_COL_MAJOR, 'N', (int)m, (int)k, 1, As, (int)m, b, (int)m);
  memcpy(z, b, sizeof(double) * k);
  /* Objective from the residual recomputed with the original columns. */
  double f = 0;
  for (int64_t i = 0; i < m; i++) {
    double r = y[i];
    for (int64_t t = 0; t < k; t++) r -= A[i + S[t] * m] * z[t];
    f += r * r;
  }
  free(As);
  free(b);
  return 0.5 * f;
}

tu_result tu_solve(MPI_Comm comm, const sprec_problem *P, const sprec_opts *o,
                   const sprec_sparse *init)
{
  tu_result res = {{0}, {0}, SPREC_OK};
  sprec_ctx ctx;
  sprec_op A;
  sprec_solver s = NULL;
  double *y, *x0 = NULL;
  sprec_sparse xt = {0};
  sprec_ctx_create(comm, &ctx);
  sprec_problem_generate(ctx, P, &A, &y, &xt);
  if (init) {
    x0 = calloc((size_t)A->n_local + 1, sizeof *x0);
    for (int64_t t = 0; t < init->nnz; t++)
      if (init->idx[t] >= A->col_start && init->idx[t] < A->col_start + A->n_local)
        x0[init->idx[t] - A->col_start] = init->val[t];
  }
  res.err = sprec_solver_create(ctx, o, &s);
  if (!res.err) res.err = sprec_solver_solve(s, A, y, x0, &res.x);
  if (s) sprec_solver_get_stats(s, &res.st);
  sprec_solver_destroy(&s);
  sprec_op_destroy(&A);
  sprec_ctx_destroy(&ctx);
  free(y);
  free(x0);
  sprec_sparse_free(&xt);
  return res;
}

int tu_same_on_every_rank_count(const sprec_problem *P, const sprec_opts *o, const char *label)
{
  int rank, size, ok = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  tu_result ref = {{0}, {0}, SPREC_OK};
  for (int q = 1; q <= size; q++) {
    MPI_Comm sub;
    MPI_Comm_split(MPI_COMM_WORLD, rank < q ? 0 : MPI_UNDEFINED, rank, &sub);
    if (sub == MPI_COMM_NULL) continue;
    tu_result res = tu_solve(sub, P, o, NULL);
    MPI_Comm_free(&sub);
    if (rank != 0) { /* rank 0 takes part in every run and judges */
      sprec_sparse_free(&res.x);
      continue;
    }
    if (q == 1) {
      ref = res;
      ok &= res.err == SPREC_OK;
      continue;
    }
    int same = res.err == SPREC_OK && res.x.nnz == ref.x.nnz &&
               fabs(res.st.objective - ref.st.objective) <= 1e-12 * ref.st.objective &&
               res.st.iterations == ref.st.iterations && res.st.gap == ref.st.gap &&
               !strcmp(res.st.stop_reason, ref.st.stop_reason);
    for (int64_t t = 0; same && t < ref.x.nnz; t++)
      same = res.x.idx[t] == ref.x.idx[t] && res.x.val[t] == ref.x.val[t];
    if (!same)
      fprintf(stderr, "%s at %d ranks: objective %.17g vs %.17g, iterations %d vs %d at one rank\n",
              label, q, res.st.objective, ref.st.objective, res.st.iterations, ref.st.iterations);
    ok &= same;
    sprec_sparse_free(&res.x);
  }
  sprec_sparse_free(&ref.x);
  return tu_all(ok);
}
