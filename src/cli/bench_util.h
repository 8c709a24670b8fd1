/* What every benchmark of `sprec bench` shares (bench_util.c): the same-run streaming
 * reference, the timing discipline, the output sinks and the memory guard. The
 * benchmarks (bench_*.c) use this and sprec.h only; none uses another. */
#ifndef SPREC_CLI_BENCH_UTIL_H
#define SPREC_CLI_BENCH_UTIL_H

#include "cli.h"

#include <stdio.h>

/* The plain streaming read of a[0..len): eight independent sums, so that the additions
 * do not wait on each other and the loop is limited by memory alone (or, on a block in
 * L1, by the adds: the in-cache reference). */
double bench_read_kernel(const double *a, int64_t len);

/* Collective. Half of this node's memory divided by the ranks on it (the same on every
 * rank): what a benchmark may take per rank. */
double bench_memory_limit(MPI_Comm comm);

/* Collective. How many of sprec_kernel_variants() every rank runs (at most 8: the
 * benchmarks keep a time per variant on the stack). */
int bench_variant_count(MPI_Comm comm);

/* Where the figures go: stdout (unless quiet), DIR/bench.csv and DIR/bench.json, all
 * on rank 0. */
typedef struct {
  FILE *csv, *json;
  int first, rank, quiet;
} bench_sink;

/* One figure: a line on stdout, a CSV row and a JSON member (rank 0 only). */
void bench_put(bench_sink *o, const char *metric, double v, const char *unit);

/* Collective. DIR/bench.csv and DIR/bench.json opened on rank 0 (as partial files:
 * both complete, or neither), their headers written. path: room for both names (4096
 * characters each), which outs refers to until it is committed. */
sprec_err bench_open_sinks(MPI_Comm comm, const char *out, bench_sink *o, cli_outset *outs,
                           char path[2][4096]);
/* Collective. The files closed and, with no error, renamed into place. */
sprec_err bench_close_sinks(MPI_Comm comm, const char *out, bench_sink *o, cli_outset *outs,
                            sprec_err err);

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
