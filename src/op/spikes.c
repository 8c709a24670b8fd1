/* The spike-deconvolution problem: y = K ∗ x + e with a sampled Gaussian kernel K and
 * k spikes at least min_sep apart. The operator is the convolution operator (nothing
 * m·n stored); the spikes, their amplitudes and the noise come from the seed alone,
 * and every rank computes y itself in the same order: the same problem bit for bit for
 * any number of ranks. */
#include "op.h"

#include <math.h>
#include <string.h>

/* gen.c's random streams for the amplitudes and the noise. */
enum { STREAM_AMPLITUDE = 3, STREAM_NOISE = 4 };

sprec_err sprec_problem_kernel(const sprec_problem *p, double *K)
{
  SPREC_CHECK(p->taps >= 1, SPREC_ERR_ARG, "taps must be at least 1 (got %lld)",
              (long long)p->taps);
  SPREC_CHECK(p->sigma > 0 && isfinite(p->sigma), SPREC_ERR_ARG,
              "sigma must be positive (got %g)", p->sigma);
  double c = 0.5 * (double)(p->taps - 1), s2 = 2.0 * p->sigma * p->sigma;
  for (int64_t t = 0; t < p->taps; t++) K[t] = exp(-((double)t - c) * ((double)t - c) / s2);
  double nrm = sqrt(sprec_nrm2sq(p->taps, K));
  for (int64_t t = 0; t < p->taps; t++) K[t] /= nrm;
  return SPREC_OK;
}

/* k spikes at least d apart in [0, n): k sorted draws u_i from [0, n − (k−1)(d−1)),
 * spread to s_i = u_i + i(d−1) (gaps u_{i+1} − u_i + d − 1 >= d), uniform over the
 * admissible supports. */
static sprec_err draw_spikes(const sprec_problem *p, sprec_sparse *xt)
{
  int64_t n = p->n, k = p->k, d = p->min_sep;
  SPREC_CALL(sprec_sparse_init(xt, k));
  SPREC_CALL(sprec_problem_draw_support(p->seed, n - (k - 1) * (d - 1), k, xt->idx));
  for (int64_t t = 0; t < k; t++) xt->idx[t] += t * (d - 1);
  xt->nnz = k;
  sprec_rng g;
  sprec_rng_seed(&g, p->seed, STREAM_AMPLITUDE, 0);
  for (int64_t t = 0; t < k; t++) {
    double s = sprec_rng_uniform(&g) < 0.5 ? -1.0 : 1.0;
    xt->val[t] = s * (1.0 + fabs(sprec_rng_normal(&g)));
  }
  return SPREC_OK;
}

/* y = K ∗ x (spike after spike in index order), then the noise as gen.c adds it:
 * N(0,1) entries scaled to ‖K ∗ x‖/‖e‖ = 10^(snr/20). */
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
  if (e) {
    sprec_rng g;
    sprec_rng_seed(&g, p->seed, STREAM_NOISE, 0);
    for (int64_t i = 0; i < m; i++) e[i] = sprec_rng_normal(&g);
    double s = sqrt(sprec_nrm2sq(m, y) / sprec_nrm2sq(m, e)) * pow(10.0, -p->snr_db / 20.0);
    for (int64_t i = 0; i < m; i++) y[i] += s * e[i];
  }
  free(e);
  *y_out = y;
  return SPREC_OK;
}

static sprec_err check_spikes(sprec_ctx ctx, const sprec_problem *p)
{
  int64_t n = p->n, k = p->k, d = p->min_sep;
  SPREC_CHECK(n > 0, SPREC_ERR_ARG, "n must be positive (got %lld)", (long long)n);
  SPREC_CHECK(d >= 1, SPREC_ERR_ARG, "min_sep must be at least 1 (got %lld)", (long long)d);
  SPREC_CHECK(k >= 1 && k - 1 <= (n - 1) / d, SPREC_ERR_ARG,
              "k must be in [1, %lld] for %lld columns and spikes at least min_sep = %lld "
              "apart (got %lld)",
              (long long)((n - 1) / d + 1), (long long)n, (long long)d, (long long)k);
  SPREC_CHECK(!p->single, SPREC_ERR_ARG,
              "the spikes problem has no stored dictionary: single precision does not apply");
  SPREC_CHECK(p->taps >= 1 && p->taps <= ((int64_t)1 << 40), SPREC_ERR_ARG,
              "taps must be in [1, 2^40] (got %lld)", (long long)p->taps);
  SPREC_CHECK(n >= ctx->size, SPREC_ERR_ARG,
              "%d ranks but only %lld columns: every rank needs at least one column", ctx->size,
              (long long)n);
  return SPREC_OK;
}

sprec_err sprec_problem_spikes(sprec_ctx ctx, const sprec_problem *p, sprec_op *A, double **y,
                               sprec_sparse *xt)
{
  double *K = NULL;
  *A = NULL;
  *y = NULL;
  SPREC_CALL(check_spikes(ctx, p));
  sprec_err err = sprec_calloc((size_t)p->taps, sizeof *K, &K, "kernel");
  if (!err) err = sprec_problem_kernel(p, K);
  if (!err) err = draw_spikes(p, xt);
  if (!err) err = make_y(p, K, xt, y);
  SPREC_TRY(sprec_agree(ctx->comm, err), fail);
  SPREC_TRY(sprec_op_create_conv(ctx, p->n, p->taps, K, A), fail);
  free(K);
  return SPREC_OK;
fail:
  free(K);
  free(*y);
  *y = NULL;
  sprec_sparse_free(xt);
  return err;
}
