/* sprec bench (c) and (d): the iteration time of the solvers against one pass over A,
 * and where each one's time goes. */
#include "bench.h"

#include <string.h>

/* The median iteration time, against the mean pass of the same run. */
sprec_err bench_solvers(bench_sink *o, sprec_ctx ctx, sprec_op A, const double *y, int64_t k,
                        int iters, double t_at)
{
  static const char *const algos[] = {"sea", "htp", "iht", "omp", "fista"};
  for (int a = 0; a < 5; a++) {
    sprec_opts so;
    sprec_stats st;
    sprec_solver s = NULL;
    sprec_sparse x = {0};
    sprec_opts_default(&so);
    so.algo = sprec_algo_find(algos[a]);
    so.k = k;
    so.iters = !strcmp(algos[a], "omp") ? (int)k : iters;
    if (!strcmp(algos[a], "fista")) so.lambda_ratio = 0.1, so.tol = 0;
    SPREC_CALL(sprec_solver_create(ctx, &so, &s));
    sprec_err err = sprec_solver_solve(s, A, y, NULL, &x);
    sprec_solver_get_stats(s, &st);
    sprec_solver_destroy(&s);
    sprec_sparse_free(&x);
    SPREC_CALL(err);
    char name[64];
    /* Against the passes of the same run: both sides see the same machine state. */
    double it = st.iteration_seconds_median, tot = st.t_total - st.t_setup;
    double pass = st.apply_T_passes ? st.t_apply_T / (double)st.apply_T_passes : t_at;
    snprintf(name, sizeof name, "%s_iteration_seconds", algos[a]);
    bench_put(o, name, it, "s (median)");
    snprintf(name, sizeof name, "%s_iteration_over_apply_T", algos[a]);
    bench_put(o, name, it / pass, "ratio to its own mean pass (target <= 1.2 for sea, htp)");
    if (tot > 0) {
      snprintf(name, sizeof name, "%s_share_apply_T", algos[a]);
      bench_put(o, name, st.t_apply_T / tot, "of the iterations");
      snprintf(name, sizeof name, "%s_share_topk", algos[a]);
      bench_put(o, name, st.t_topk / tot, "of the iterations");
      snprintf(name, sizeof name, "%s_share_lsq", algos[a]);
      bench_put(o, name, st.t_lsq / tot, "of the iterations");
      snprintf(name, sizeof name, "%s_share_comm", algos[a]);
      bench_put(o, name, st.t_comm / tot, "of the iterations (inside the others)");
    }
  }
  return SPREC_OK;
}

