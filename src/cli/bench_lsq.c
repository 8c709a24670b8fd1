/* sprec bench (e): the restricted least squares per iteration (one column swapped)
 * against k, for both paths (replicated, ScaLAPACK). */
#include "bench.h"

/* One least-squares path on kk columns: the mean time of a solve with one column
 * swapped (after a first solve that factors everything), slowest rank. */
static sprec_err lsq_swap_time(sprec_ctx ctx, sprec_op A, const double *y, int64_t kk,
                               sprec_lsq_method path, double *t_l)
{
  int64_t m = sprec_op_rows(A), n = sprec_op_cols(A);
  sprec_lsq l = NULL;
  int64_t *S = malloc(sizeof(int64_t) * (size_t)kk);
  double *z = malloc(sizeof(double) * (size_t)kk), *r = malloc(sizeof(double) * (size_t)m);
  sprec_err err = S && z && r ? SPREC_OK : SPREC_ERROR(SPREC_ERR_MEM, "bench: least squares");
  SPREC_TRY(sprec_agree(sprec_ctx_comm(ctx), err), done);
  for (int64_t t = 0; t < kk; t++) S[t] = t * (n / kk);
  SPREC_TRY(sprec_lsq_create(A, y, kk, path, &l), done);
  err = sprec_lsq_solve(l, kk, S, z, r); /* the first solve factors everything */
  int swaps = 10;
  MPI_Barrier(sprec_ctx_comm(ctx));
  double t0 = MPI_Wtime();
  for (int sw = 0; !err && sw < swaps; sw++) {
    S[sw % kk] += 1; /* one column leaves, its neighbour enters; S stays sorted */
    err = sprec_lsq_solve(l, kk, S, z, r);
  }
  *t_l = (MPI_Wtime() - t0) / swaps;
  MPI_Allreduce(MPI_IN_PLACE, t_l, 1, MPI_DOUBLE, MPI_MAX, sprec_ctx_comm(ctx));
done:
  sprec_lsq_destroy(&l);
  free(S);
  free(z);
  free(r);
  return err;
}

sprec_err bench_lsq(bench_sink *o, sprec_ctx ctx, sprec_op A, const double *y)
{
  static const int64_t ks[] = {10, 50, 200, 800};
  for (int q = 0; q < 4; q++) {
    int64_t kk = ks[q];
    if (kk > sprec_op_rows(A) || kk > sprec_op_cols(A)) continue;
    for (int path_ = 0; path_ < 2; path_++) {
      double t_l = 0;
      SPREC_CALL(lsq_swap_time(ctx, A, y, kk, path_ ? SPREC_LSQ_SCALAPACK : SPREC_LSQ_REPLICATED,
                               &t_l));
      char name[64];
      snprintf(name, sizeof name, "lsq_%s_k%lld_seconds", path_ ? "scalapack" : "replicated",
               (long long)kk);
      bench_put(o, name, t_l, "s per iteration, one column swapped");
    }
  }
  return SPREC_OK;
}

