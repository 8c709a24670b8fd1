/* sprec bench (a) and (b): how close sprec's Aᵀr pass comes to this machine's
 * streaming read bandwidth. The reference is the higher of a read kernel with
 * independent accumulators and OpenBLAS dgemv (transposed) on a matrix of the block's
 * shape. Bandwidths are aggregates: bytes of A over all ranks / the slowest rank's
 * time. */
#include "bench.h"

#include <cblas.h>
#include <string.h>

/* The candidates take turns, one pass each per round over reps rounds, and each keeps
 * its best round: the drifts of a shared machine hit them all alike. */
sprec_err bench_stream(bench_sink *o, sprec_ctx ctx, sprec_op Aref, sprec_op A, const double *y,
                       double *g, int reps, double bytes, double *t_at, double *keep)
{
  MPI_Comm comm = sprec_ctx_comm(ctx);
  int64_t m = sprec_op_rows(Aref), nl = sprec_op_local_cols(Aref);
  double bytes_ref = 8.0 * (double)m * (double)sprec_op_cols(Aref), t_read = 1e300, t_gemv = 1e300;
  double t_var[8];
  const double *Ad = sprec_op_local_block(Aref);
  const char *const *var = sprec_kernel_variants(), *in_use = sprec_kernel_variant();
  int nv = bench_variant_count(comm);
  SPREC_CHECK(sprec_op_dtype(Aref) == SPREC_FLOAT64, SPREC_ERR_ARG, "bench: the reference must be double");
  for (int v = 0; v < nv; v++) t_var[v] = 1e300;
  for (int rep = 0; rep < reps; rep++) {
    TIME_ONCE(t_read, comm, *keep += bench_read_kernel(Ad, m * nl));
    TIME_ONCE(t_gemv, comm,
              cblas_dgemv(CblasColMajor, CblasTrans, (int)m, (int)nl, 1.0, Ad, (int)m, y, 1, 0.0, g, 1));
    for (int v = 0; v < nv; v++) {
      SPREC_CALL(sprec_kernel_select(var[v]));
      TIME_ONCE(t_var[v], comm, sprec_op_apply_T(A, y, g));
    }
  }
  SPREC_CALL(sprec_kernel_select(in_use));
  *t_at = 1e300;
  for (int v = 0; v < nv; v++)
    if (!strcmp(var[v], in_use)) *t_at = t_var[v];
  double ref = bytes_ref / (t_read < t_gemv ? t_read : t_gemv) / 1e9;
  bench_put(o, "stream_read_GBps", bytes_ref / t_read / 1e9, "GB/s");
  bench_put(o, "dgemv_GBps", bytes_ref / t_gemv / 1e9, "GB/s");
  bench_put(o, "reference_GBps", ref, "GB/s");
  bench_put(o, "apply_T_GBps", bytes / *t_at / 1e9, "GB/s");
  bench_put(o, "apply_T_over_reference", bytes / *t_at / 1e9 / ref, "ratio (target >= 0.90)");
  for (int v = 0; v < nv; v++) {
    char name[64];
    snprintf(name, sizeof name, "apply_T_%s_over_reference", var[v]);
    bench_put(o, name, bytes / t_var[v] / 1e9 / ref, "ratio, kernel variant forced");
  }
  bench_put(o, "apply_T_pass_seconds", *t_at, "s");
  bench_put(o, "apply_T_columns_per_second", (double)sprec_op_cols(A) / *t_at, "columns/s");
  return SPREC_OK;
}
