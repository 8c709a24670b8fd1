/* sprec bench --dtype float32: the float Aᵀr against a float64 Aᵀr on the double matrix
 * of the same shape, timed in the same run, as columns per second (a float pass reads
 * half the bytes: 2 is the bandwidth saved). */
#include "bench.h"

sprec_err bench_float64(bench_sink *o, sprec_ctx ctx, sprec_op Aref, sprec_op A, const double *y,
                        double *g, int reps, double t_at)
{
  MPI_Comm comm = sprec_ctx_comm(ctx);
  double t_at64;
  BEST_TIME(t_at64, reps, comm, sprec_op_apply_T(Aref, y, g));
  bench_put(o, "apply_T_float64_pass_seconds", t_at64, "s (the double matrix)");
  bench_put(o, "apply_T_float64_columns_per_second", (double)sprec_op_cols(A) / t_at64,
            "columns/s");
  bench_put(o, "apply_T_float32_over_float64", t_at64 / t_at,
            "ratio of columns per second (2 = the bandwidth saved)");
  return SPREC_OK;
}
