#include "testutil.h"

#include <lapacke.h>
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
