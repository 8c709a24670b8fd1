/* sprec bench (h): the batched product AᵀR alone (the kernel of the batched solvers,
 * sprec_op_apply_T_many) against OpenBLAS dgemm on the same shapes, with every kernel
 * variant this CPU runs, in turns with the reference. */
#include "bench.h"

#include <cblas.h>
#include <string.h>

/* For b = 64 and 256 right-hand sides (--quick: 16 and 64): a block of min(n_r, ncols) columns of
 * A (a copy, made into an operator of its own) times R, m x b. Rates in flops
 * (2·m·columns·b over all ranks / the slowest rank's time), turns taken as in (a). */
sprec_err bench_kernel(bench_sink *o, sprec_ctx ctx, sprec_op A, int64_t ncols, int nbs,
                       const int *bs, int reps)
{
  MPI_Comm comm = sprec_ctx_comm(ctx);
  int p = sprec_ctx_size(ctx), nv = bench_variant_count(comm);
  int64_t m = sprec_op_rows(A), nc = sprec_op_local_cols(A) < ncols ? sprec_op_local_cols(A) : ncols;
  MPI_Allreduce(MPI_IN_PLACE, &nc, 1, MPI_INT64_T, MPI_MIN, comm);
  const char *const *var = sprec_kernel_variants(), *in_use = sprec_kernel_variant();
  int bmax = bs[nbs - 1];
  double *blk = NULL, *R = NULL, *G = NULL;
  const double **r = NULL;
  double **g = NULL;
  sprec_op sub = NULL;
  sprec_err err = sprec_alloc_block((size_t)(m * nc), sizeof *blk, &blk, "bench block");
  if (!err) err = cli_alloc((size_t)(m * bmax), sizeof *R, &R, "bench right-hand sides");
  if (!err) err = cli_alloc((size_t)(nc * bmax), sizeof *G, &G, "bench products");
  if (!err) err = cli_alloc((size_t)bmax, sizeof *r, &r, "bench");
  if (!err) err = cli_alloc((size_t)bmax, sizeof *g, &g, "bench");
  SPREC_TRY(sprec_agree(comm, err), done);
  memcpy(blk, sprec_op_local_block(A), sizeof(double) * (size_t)(m * nc));
  err = sprec_op_create_dense(ctx, m, nc * p, blk, &sub);
  blk = NULL; /* the operator owns it, even on failure */
  SPREC_TRY(err, done);
  sprec_rng rg;
  sprec_rng_seed(&rg, 20240002, 3, 0);
  for (int64_t i = 0; i < m * bmax; i++) R[i] = sprec_rng_normal(&rg);
  for (int q = 0; q < bmax; q++) r[q] = R + (size_t)q * (size_t)m, g[q] = G + (size_t)q * (size_t)nc;
  for (int u = 0; u < nbs; u++) {
    int b = bs[u];
    double flops = 2.0 * (double)m * (double)nc * (double)b * p, t_gemm = 1e300, t_var[8];
    for (int v = 0; v < nv; v++) t_var[v] = 1e300;
    for (int rep = 0; rep < reps; rep++) {
      TIME_ONCE(t_gemm, comm,
                cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)nc, b, (int)m, 1.0,
                            sprec_op_local_block(sub), (int)m, R, (int)m, 0.0, G, (int)nc));
      for (int v = 0; v < nv; v++) {
        SPREC_TRY(sprec_kernel_select(var[v]), done);
        TIME_ONCE(t_var[v], comm, err = sprec_op_apply_T_many(sub, b, r, g));
        SPREC_TRY(err, done);
      }
    }
    SPREC_TRY(sprec_kernel_select(in_use), done);
    char name[80];
    snprintf(name, sizeof name, "batch_kernel_b%d_dgemm_GFlops", b);
    bench_put(o, name, flops / t_gemm / 1e9, "GFlop/s (OpenBLAS, same shapes)");
    for (int v = 0; v < nv; v++) {
      int cur = !strcmp(var[v], in_use);
      snprintf(name, sizeof name, "batch_kernel_b%d_%s_over_dgemm", b, cur ? "apply_T_many" : var[v]);
      bench_put(o, name, t_gemm / t_var[v],
          cur ? "ratio of flop rates (target >= 0.80 for b >= 64)" : "ratio, kernel variant forced");
    }
  }
done:
  sprec_kernel_select(in_use);
  sprec_op_destroy(&sub);
  free(blk);
  free(R);
  free(G);
  free(r);
  free(g);
  return err;
}
