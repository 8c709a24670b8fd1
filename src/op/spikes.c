/* The spike-deconvolution problem: y = K ∗ x + e with a sampled Gaussian kernel K and
 * k spikes at least min_sep apart. The operator is the convolution operator (nothing
 * m·n stored); the spikes, their amplitudes and the noise come from the seed alone,
 * and every rank computes y itself in the same order: the same problem bit for bit for
 * any number of ranks. */
#include "op.h"

#include <math.h>

/* k spikes at least d apart in [0, n): k sorted draws u_i from [0, n − (k−1)(d−1)),
 * spread to s_i = u_i + i(d−1) (gaps u_{i+1} − u_i + d − 1 >= d), uniform over the
 * admissible supports; the amplitudes as the other problems draw them. */
static sprec_err draw_spikes(const sprec_problem *p, sprec_sparse *xt)
{
  int64_t n = p->n, k = p->k, d = p->min_sep;
  SPREC_CALL(sprec_problem_truth(p->seed, n - (k - 1) * (d - 1), k, xt));
  for (int64_t t = 0; t < k; t++) xt->idx[t] += t * (d - 1);
  return SPREC_OK;
}

/* y = K ∗ x (spike after spike in index order), then the noise as for the other
 * problems (sprec_problem_add_noise). */
static sprec_err make_y(const sprec_problem *p, const double *K, const sprec_sparse *xt,
                        double **y_out)
{
  int64_t m = p->n + p->taps - 1;
  double *y = NULL, *e = NULL;
  sprec_err err = sprec_calloc((size_t)m, sizeof *y, &y, "y");
  if (!err && isfinite(p->snr_db)) err = sprec_calloc((size_t)m, sizeof *e, &e, "noise");
  if (err) {
    free(y);
    return err;
  }
  for (int64_t t = 0; t < xt->nnz; t++) {
    double *o = y + xt->idx[t], v = xt->val[t];
    for (int64_t i = 0; i < p->taps; i++) o[i] += K[i] * v;
  }
  if (e) sprec_problem_add_noise(p, m, y, e);
  free(e);
  if ((err = sprec_problem_finite("y", -1, m, y))) {
    free(y);
    return err;
  }
  *y_out = y;
  return SPREC_OK;
}

sprec_err sprec_problem_spikes(sprec_ctx ctx, const sprec_problem *p, sprec_op *A, double **y,
                               sprec_sparse *xt)
{
  double *K = NULL;
  *A = NULL;
  *y = NULL;
  SPREC_CALL(sprec_problem_check(p));
  SPREC_CALL(sprec_op_check_shape(ctx, p->n + p->taps - 1, p->n));
  sprec_err err = sprec_calloc((size_t)p->taps, sizeof *K, &K, "kernel");
  if (!err) err = sprec_problem_kernel(p, K);
  if (!err) err = draw_spikes(p, xt);
  if (!err) err = make_y(p, K, xt, y);
  SPREC_TRY(sprec_agree(ctx->comm, err), fail);
  err = sprec_op_create_conv(ctx, p->n, p->taps, K, A);
  K = NULL; /* the operator's now, even on failure */
  SPREC_TRY(err, fail);
  sprec_op_fp_set(*A, "spikes sigma=%.17g taps=%lld", p->sigma, (long long)p->taps);
  return SPREC_OK;
fail:
  free(K);
  free(*y);
  *y = NULL;
  sprec_sparse_free(xt);
  return err;
}
