/* A program that uses sprec as a library, through include/sprec.h alone: load A and y
 * from .npy files (each rank reads only its own columns of A), recover a k-sparse x
 * with SEA, print the support and the coefficients. Same answer as
 *   sprec solve --A A.npy --y y.npy -k K
 * bit for bit, on any number of ranks.
 *
 *   mpicc examples/solve.c $(pkg-config --cflags --libs sprec) -o solve
 *   mpirun -np 2 ./solve A.npy y.npy 12
 */
#include <sprec.h>

#include <stdio.h>
#include <stdlib.h>

/* Stop on error: every rank returns the same error together, rank 0 says it. */
#define CHECK(call)                                                                      \
  do {                                                                                   \
    sprec_err e_ = (call);                                                               \
    if (e_) {                                                                            \
      if (rank == 0) fprintf(stderr, "solve: error: %s\n", sprec_errmsg());              \
      MPI_Finalize();                                                                    \
      return e_ == SPREC_ERR_ARG || e_ == SPREC_ERR_IO || e_ == SPREC_ERR_FORMAT ? 2 : 1; \
    }                                                                                    \
  } while (0)

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (argc != 4) {
    if (rank == 0) fprintf(stderr, "usage: solve A.npy y.npy K\n");
    MPI_Finalize();
    return 2;
  }
  sprec_ctx ctx;
  CHECK(sprec_ctx_create(MPI_COMM_WORLD, &ctx));

  /* A: m x n, each rank reading only its block of columns; y: m, on every rank. Both
   * checked (shapes, dtype, finite values) by the library. */
  sprec_op A;
  double *y;
  int b;
  CHECK(sprec_op_load_npy(ctx, argv[1], SPREC_FLOAT64, &A));
  CHECK(sprec_y_load_npy(ctx, argv[2], sprec_op_rows(A), &b, &y));
  CHECK(b == 1 ? SPREC_OK
               : SPREC_ERROR(SPREC_ERR_ARG, "%s: one observation vector expected", argv[2]));

  sprec_opts o;
  sprec_opts_default(&o); /* SEA, its default budget and step */
  o.k = atoll(argv[3]);
  sprec_solver s;
  sprec_sparse x;
  sprec_stats st;
  CHECK(sprec_solver_create(ctx, &o, &s));
  CHECK(sprec_solver_solve(s, A, y, NULL, &x));
  sprec_solver_get_stats(s, &st);
  if (rank == 0) {
    printf("sprec %s: SEA, %d iterations, objective %.17g\n", sprec_version(), st.iterations,
           st.objective);
    for (int64_t t = 0; t < x.nnz; t++) printf("%lld %.17g\n", (long long)x.idx[t], x.val[t]);
  }
  sprec_sparse_free(&x);
  sprec_solver_destroy(&s);
  sprec_op_destroy(&A);
  sprec_free(y);
  sprec_ctx_destroy(&ctx);
  MPI_Finalize();
  return 0;
}
