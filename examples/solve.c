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
  sprec_npy_info ia, iy;
  CHECK(sprec_ctx_create(MPI_COMM_WORLD, &ctx));
  MPI_Comm comm = sprec_ctx_comm(ctx);
  int p = sprec_ctx_size(ctx);

  /* A: m x n, this rank's block of columns; y: m. */
  CHECK(sprec_npy_inspect(comm, argv[1], &ia));
  CHECK(sprec_npy_inspect(comm, argv[2], &iy));
  int64_t m = ia.shape[0], n = ia.shape[1];
  int64_t c0 = sprec_block_start(n, p, rank), nl = sprec_block_size(n, p, rank);
  double *Al = malloc(sizeof(double) * (size_t)(m * nl)), *y = malloc(sizeof(double) * (size_t)m);
  CHECK(Al && y ? SPREC_OK : SPREC_ERR_MEM);
  CHECK(sprec_npy_read_cols(comm, argv[1], &ia, c0, nl, Al));
  CHECK(sprec_npy_read_cols(comm, argv[2], &iy, 0, m, y)); /* a 1-D array reads as 1 x m */
  sprec_op A;
  CHECK(sprec_op_create_dense(ctx, m, n, Al, &A)); /* A owns Al from here */

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
  free(y);
  sprec_ctx_destroy(&ctx);
  MPI_Finalize();
  return 0;
}
