/* What the generated problems are made of, each from the seed (and the column index)
 * alone: the columns of the dense problems and the spikes problem's kernel, the true
 * x, and the noise. Below the operators that make columns on demand (implicit.c) and
 * the generators (spikes.c, gen.c), so that all of them draw the same numbers the
 * same way and no two of them call each other. */
#include "op.h"

#include <math.h>

void sprec_problem_column(const sprec_problem *p, int64_t j, double *a)
{
  int64_t m = p->m;
  if (p->kind == SPREC_PROBLEM_GAUSSIAN) {
    sprec_rng g;
    sprec_rng_seed(&g, p->seed, SPREC_STREAM_COLUMN, (uint64_t)j);
    for (int64_t i = 0; i < m; i++) a[i] = sprec_rng_normal(&g);
  } else {
    double c = p->n > 1 ? (double)j / (double)(p->n - 1) : 0.5;
    double h = m > 1 ? 1.0 / (double)(m - 1) : 0.0, w2 = 2.0 * p->width * p->width;
    for (int64_t i = 0; i < m; i++) {
      double d = (double)i * h - c;
      a[i] = exp(-d * d / w2);
    }
  }
  double nrm = sqrt(sprec_nrm2sq(m, a));
  if (nrm > 0)
    for (int64_t i = 0; i < m; i++) a[i] /= nrm;
}

/* The narrowest Gaussian these formulas may sample: a bump whose nearest sample is d
 * from its centre must leave that sample >= 2^-500, so that its square, and the
 * column's norm, is a normal double and the column is scaled to unit norm like any
 * other (narrower, every sample underflows: a zero column, or 0/0 once the width's
 * square does too). exp(-d²/(2w²)) >= 2^-500 while w >= d / sqrt(1000 ln 2). */
static double least_width(double d) { return d / sqrt(1000.0 * log(2.0)); }

/* The spikes kernel's parameters. */
static sprec_err check_kernel(const sprec_problem *p)
{
  SPREC_CHECK(p->taps >= 1 && p->taps <= ((int64_t)1 << 40), SPREC_ERR_ARG,
              "taps must be in [1, 2^40] (got %lld)", (long long)p->taps);
  SPREC_CHECK(p->sigma > 0 && isfinite(p->sigma), SPREC_ERR_ARG,
              "sigma must be a positive finite number (got %g)", p->sigma);
  /* The taps sit at integers around the centre (taps - 1) / 2: on one of them for an
   * odd count (2 sigma^2 must then only stay a normal number), between two for an even. */
  double smin = p->taps % 2 ? 1e-150 : least_width(0.5);
  SPREC_CHECK(p->sigma >= smin, SPREC_ERR_ARG,
              "sigma must be at least %.3g samples for %lld taps: a narrower kernel falls "
              "between its taps and vanishes (got %g)",
              smin, (long long)p->taps, p->sigma);
  return SPREC_OK;
}

/* The spikes problem's own parameters (sizes, the kernel's). */
static sprec_err check_spikes(const sprec_problem *p)
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
  return check_kernel(p);
}

sprec_err sprec_problem_check(const sprec_problem *p)
{
  SPREC_CHECK(p->kind >= SPREC_PROBLEM_GAUSSIAN && p->kind <= SPREC_PROBLEM_SPIKES, SPREC_ERR_ARG,
              "problem: unknown kind %d", (int)p->kind);
  /* The noise is scaled by 10^(-snr/20) (sprec_problem_add_noise): at -300 dB, 10^15
   * times the signal; far below, the scale overflows and y is Inf or NaN. */
  SPREC_CHECK(p->snr_db >= -300, SPREC_ERR_ARG,
              "snr must be a number of dB >= -300, or inf for no noise (got %g)", p->snr_db);
  if (p->kind == SPREC_PROBLEM_SPIKES) return check_spikes(p);
  int64_t m = p->m, n = p->n, k = p->k;
  SPREC_CHECK(m > 0 && n > 0, SPREC_ERR_ARG, "m and n must be positive (got %lld, %lld)",
              (long long)m, (long long)n);
  SPREC_CHECK(k > 0 && k <= n && k <= m, SPREC_ERR_ARG,
              "k must be in [1, min(m, n)] = [1, %lld] (got %lld)", (long long)(m < n ? m : n),
              (long long)k);
  if (p->kind != SPREC_PROBLEM_DECONV) return SPREC_OK;
  SPREC_CHECK(p->width > 0 && isfinite(p->width), SPREC_ERR_ARG,
              "width must be a positive finite number (got %g)", p->width);
  /* A centre j/(n-1) is at most half a grid step from a grid point; with one row (the
   * point 0), up to 1 away from it (0.5: the one centre of n = 1). */
  double wmin = least_width(m > 1 ? 0.5 / (double)(m - 1) : n > 1 ? 1.0 : 0.5);
  SPREC_CHECK(p->width >= wmin, SPREC_ERR_ARG,
              "width must be at least %.3g for m = %lld: a narrower bump falls between the "
              "grid points and vanishes (got %g)",
              wmin, (long long)m, p->width);
  return SPREC_OK;
}

sprec_err sprec_problem_kernel(const sprec_problem *p, double *K)
{
  SPREC_CALL(check_kernel(p));
  double c = 0.5 * (double)(p->taps - 1), s2 = 2.0 * p->sigma * p->sigma;
  for (int64_t t = 0; t < p->taps; t++) K[t] = exp(-((double)t - c) * ((double)t - c) / s2);
  double nrm = sqrt(sprec_nrm2sq(p->taps, K));
  for (int64_t t = 0; t < p->taps; t++) K[t] /= nrm;
  return sprec_problem_finite("kernel", -1, p->taps, K);
}

sprec_err sprec_problem_truth(uint64_t seed, int64_t n, int64_t k, sprec_sparse *x)
{
  SPREC_CALL(sprec_sparse_init(x, k));
  SPREC_CALL(sprec_rng_distinct(seed, SPREC_STREAM_SUPPORT, n, k, x->idx));
  x->nnz = k;
  sprec_rng g;
  sprec_rng_seed(&g, seed, SPREC_STREAM_AMPLITUDE, 0);
  for (int64_t t = 0; t < k; t++) {
    double s = sprec_rng_uniform(&g) < 0.5 ? -1.0 : 1.0;
    x->val[t] = s * (1.0 + fabs(sprec_rng_normal(&g)));
  }
  return SPREC_OK;
}

void sprec_problem_add_noise(const sprec_problem *p, int64_t m, double *y, double *e)
{
  if (!isfinite(p->snr_db)) return;
  sprec_rng g;
  sprec_rng_seed(&g, p->seed, SPREC_STREAM_NOISE, 0);
  for (int64_t i = 0; i < m; i++) e[i] = sprec_rng_normal(&g);
  double s = sqrt(sprec_nrm2sq(m, y) / sprec_nrm2sq(m, e)) * pow(10.0, -p->snr_db / 20.0);
  for (int64_t i = 0; i < m; i++) y[i] += s * e[i];
}

sprec_err sprec_problem_finite(const char *what, int64_t j, int64_t n, const double *v)
{
  for (int64_t i = 0; i < n; i++)
    if (!isfinite(v[i])) {
      if (j >= 0)
        return SPREC_ERROR(SPREC_ERR_NUMERIC, "the generated %s %lld has a non-finite entry %lld",
                           what, (long long)j, (long long)i);
      return SPREC_ERROR(SPREC_ERR_NUMERIC, "the generated %s has a non-finite entry %lld", what,
                         (long long)i);
    }
  return SPREC_OK;
}
