/* The benchmarks of `sprec bench` (cmd_bench.c runs them), one file each; every one
 * writes its figures through a bench_sink (bench_util.h) and is collective. A is the
 * run's dictionary, y its right-hand side (replicated, m), g room for Aᵀy (local). */
#ifndef SPREC_CLI_BENCH_H
#define SPREC_CLI_BENCH_H

#include "bench_util.h"

/* (a), (b) bench_stream.c: the streaming reference on the double matrix Aref (the read
 * kernel and dgemv), then sprec's Aᵀr on A (Aref itself, or the float matrix) with
 * every kernel variant; bytes: the bytes of A. *t_at: the pass time of the variant in
 * use. keep: the read kernel's sums go there (so that no read is optimized away). */
sprec_err bench_stream(bench_sink *o, sprec_ctx ctx, sprec_op Aref, sprec_op A, const double *y,
                       double *g, int reps, double bytes, double *t_at, double *keep);

/* (c), (d) bench_solvers.c: the iteration time of SEA, HTP, IHT, OMP and FISTA against
 * one pass (t_at when a run made none) and each one's per-phase shares. */
sprec_err bench_solvers(bench_sink *o, sprec_ctx ctx, sprec_op A, const double *y, int64_t k,
                        int iters, double t_at);

/* (e) bench_lsq.c: the restricted least squares with one column swapped, against k,
 * both paths. */
sprec_err bench_lsq(bench_sink *o, sprec_ctx ctx, sprec_op A, const double *y);

/* (g) bench_batch.c: SEA on b right-hand sides at once, for each b of bs (nbs of
 * them), problems per second and the speedup over b = 1; repeated while under budget
 * seconds and fewer than reps runs. */
sprec_err bench_batch(bench_sink *o, sprec_ctx ctx, sprec_op A, int64_t k, int iters, int reps,
                      int nbs, const int *bs, double budget);

/* (h) bench_kernel.c: the batched product AᵀR on at most ncols columns per rank
 * against OpenBLAS dgemm, for each b of bs (nbs of them), best of reps. */
sprec_err bench_kernel(bench_sink *o, sprec_ctx ctx, sprec_op A, int64_t ncols, int nbs,
                       const int *bs, int reps);

/* --dtype float32, bench_float64.c: a float64 Aᵀr on Aref (the double matrix of A's
 * shape) against the float pass time t_at. */
sprec_err bench_float64(bench_sink *o, sprec_ctx ctx, sprec_op Aref, sprec_op A, const double *y,
                        double *g, int reps, double t_at);

/* One kind of operator as the operator benchmarks make it: kind dense (Gaussian, m
 * rows), conv (the spikes problem's kernel of taps taps, m = n + taps - 1), hadamard
 * (m rows) or csc (nnz_per_col random nonzeros per column in m rows). */
typedef struct {
  const char *kind;
  int64_t m, taps, nnz_per_col;
} bench_op_spec;

/* Collective, bench_operator.c. The operator of kind s->kind with n columns, and a
 * residual r (m entries, replicated; the caller frees both). */
sprec_err bench_make_operator(sprec_ctx ctx, const bench_op_spec *s, int64_t n, sprec_op *A,
                              double **r);

/* sprec bench --comm, bench_comm.c: a command of its own (its options, its help,
 * DIR/bench.json and DIR/bench.csv): this machine's communication constants, pass
 * rates and least-squares times at the rank count it runs on, for the scaling model. */
sprec_err bench_comm(int argc, char **argv);

/* sprec bench --operator KIND, bench_operator.c: a command of its own (its options,
 * its help, DIR/operator.csv). */
sprec_err bench_operator(int argc, char **argv);

#endif
