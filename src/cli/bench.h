/* What the two benchmarks (cmd_bench.c: the solvers on a dense A; cmd_bench_op.c: one
 * pass of each kind of operator against n) share: the same-run references and the
 * timing discipline. */
#ifndef SPREC_CLI_BENCH_H
#define SPREC_CLI_BENCH_H

#include "cli.h"

/* The plain streaming read of a[0..len): eight independent sums, so that the additions
 * do not wait on each other and the loop is limited by memory alone (or, on a block in
 * L1, by the adds: the in-cache reference). */
double cli_read_kernel(const double *a, int64_t len);

/* Collective. Half of this node's memory divided by the ranks on it (the same on every
 * rank): what a benchmark may take per rank. */
double bench_memory_limit(MPI_Comm comm);

/* sprec bench --operator KIND (cmd_bench_op.c). */
sprec_err cmd_bench_operator(int argc, char **argv);

/* One timed run of stmt (the slowest rank's time); best keeps the smallest. */
#define TIME_ONCE(best, comm, stmt)                                                        \
  do {                                                                                   \
    MPI_Barrier(comm);                                                                   \
    double t0_ = MPI_Wtime();                                                            \
    stmt;                                                                                \
    double t_ = MPI_Wtime() - t0_;                                                       \
    MPI_Allreduce(MPI_IN_PLACE, &t_, 1, MPI_DOUBLE, MPI_MAX, comm);                      \
    if (t_ < (best)) (best) = t_;                                                        \
  } while (0)

/* Best over reps of the slowest rank's time of stmt. */
#define BEST_TIME(out, reps, comm, stmt)                                                   \
  do {                                                                                   \
    out = 1e300;                                                                         \
    for (int rep_ = 0; rep_ < (reps); rep_++) TIME_ONCE(out, comm, stmt);                \
  } while (0)

#endif
