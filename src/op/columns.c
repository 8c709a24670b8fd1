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
