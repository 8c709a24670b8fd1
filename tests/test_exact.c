/* Sums independent of their order (par/exact.h) and the products built on them
 * (sprec_op_apply_sparse). The sum of the same terms is the same double whatever the
 * order and the grouping of the additions; it agrees with the exact sum (Shewchuk's
 * expansion, error-free: an independent computation) within its stated accuracy. A_S x_S
 * on every rank count is bit for bit what one rank computes, for the dense, float32,
 * conv and hadamard operators (csc: test_op_csc.c), and within the same accuracy of the exact sums. */
#include "testutil.h"

#include "par/exact.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------ reference -- */
/* The exact sum of the terms: an expansion (a list of doubles whose exact sum is the
 * sum so far, Shewchuk's grow-expansion with two-sum, no rounding lost), then rounded:
 * its components added from the smallest up (a faithful rounding of the exact sum:
 * the components do not overlap). */
static double exact_reference(int64_t n, const double *t)
{
  double *h = malloc(sizeof *h * (size_t)(n + 1));
  int64_t len = 0;
  for (int64_t i = 0; i < n; i++) {
    double q = t[i];
    int64_t w = 0;
    for (int64_t j = 0; j < len; j++) {
      double s = q + h[j], bv = s - q, err = (q - (s - bv)) + (h[j] - bv);
      q = s;
      if (err != 0) h[w++] = err;
    }
    h[w++] = q;
    len = w;
  }
  double s = 0;
  for (int64_t j = 0; j < len; j++) s += h[j];
  free(h);
  return s;
}

/* The accuracy exact.h states: one rounding (a few ulps here: the last conversion
 * rounds at each limb) after cuts of 2^(e − 128) per term. */
static double bound(double ref, double amax, int64_t n)
{
  return 4 * DBL_EPSILON * fabs(ref) + (double)n * ldexp(1.0, sprec_exact_exponent(amax) - 128);
}

static double fixed_sum(int64_t n, const double *t, const int64_t *order, int64_t groups)
{
  double amax = 0;
  for (int64_t i = 0; i < n; i++) amax = fmax(amax, fabs(t[i]));
  int e = sprec_exact_exponent(amax);
  double f = sprec_exact_factor(e);
  int64_t acc[SPREC_EXACT_LIMBS] = {0}, part[SPREC_EXACT_LIMBS];
  for (int64_t g = 0; g < groups; g++) { /* a group added alone, then into the total */
    memset(part, 0, sizeof part);
    for (int64_t i = g * n / groups; i < (g + 1) * n / groups; i++) sprec_exact_add(part, t[order[i]], f, e);
    for (int l = 0; l < SPREC_EXACT_LIMBS; l++) acc[l] += part[l];
  }
  return sprec_exact_value(acc, e);
}

/* Terms over 120 binades, both signs, with pairs that cancel and a near-total
 * cancellation (the sum 2^-60 of the largest term). */
static void make_terms(int64_t n, int kind, uint64_t seed, double *t)
{
  sprec_rng g;
  sprec_rng_seed(&g, seed, 7, (uint64_t)kind);
  for (int64_t i = 0; i < n; i++) t[i] = sprec_rng_normal(&g) * ldexp(1.0, (int)(sprec_rng_next(&g) % 120) - 60);
  if (kind >= 1)
    for (int64_t i = 1; i < n; i += 2) t[i] = -t[i - 1] * (1 + ldexp(1.0, -40)); /* pairs that cancel */
  if (kind == 2) t[0] = ldexp(1.0, 700), t[1] = -ldexp(1.0, 700), t[2] = ldexp(1.0, 640);
}

START_TEST(sum_independent_of_order)
{
  int bad = 0, cases = 0;
  for (int kind = 0; kind < 3; kind++)
    for (int64_t n = 3; n <= 3000; n *= 4) {
      double *t = malloc(sizeof *t * (size_t)n), amax = 0;
      int64_t *order = malloc(sizeof *order * (size_t)n);
      make_terms(n, kind, (uint64_t)n, t);
      for (int64_t i = 0; i < n; i++) order[i] = i, amax = fmax(amax, fabs(t[i]));
      double first = fixed_sum(n, t, order, 1), ref = exact_reference(n, t);
      sprec_rng g;
      sprec_rng_seed(&g, 5, (uint64_t)n, (uint64_t)kind);
      for (int trial = 0; trial < 20; trial++) {
        for (int64_t i = n - 1; i > 0; i--) { /* a permutation, then a grouping */
          int64_t j = (int64_t)(sprec_rng_next(&g) % (uint64_t)(i + 1)), s = order[i];
          order[i] = order[j], order[j] = s;
        }
        double v = fixed_sum(n, t, order, 1 + (int64_t)(sprec_rng_next(&g) % 16));
        cases++;
        if (memcmp(&v, &first, sizeof v) != 0) bad++;
      }
      cases++;
      if (!(fabs(first - ref) <= bound(ref, amax, n))) {
        bad++;
        fprintf(stderr, "kind %d n %lld: %.17g, exact %.17g\n", kind, (long long)n, first, ref);
      }
      free(t), free(order);
    }
  ck_assert_msg(bad == 0, "%d of %d sums differ from the first order's or from the exact sum", bad, cases);
}
END_TEST

/* --------------------------------------------------------------- products -- */
/* A x on ctx against the same operator on one rank (memcmp) and against the exact
 * sums of the columns' terms (the columns gathered on one rank: exact copies). */
static int check_product(const char *what, sprec_op A, sprec_op A1, const sprec_sparse *x)
{
  int64_t m = sprec_op_rows(A), k = x->nnz;
  double *ax = malloc(sizeof *ax * (size_t)m), *ax1 = malloc(sizeof *ax1 * (size_t)m);
  double *cols = malloc(sizeof *cols * (size_t)(m * k)), *t = malloc(sizeof *t * (size_t)k);
  int ok = sprec_op_apply_sparse(A, x, ax) == SPREC_OK;
  ok &= sprec_op_apply_sparse(A1, x, ax1) == SPREC_OK;
  ok &= sprec_op_gather_columns(A1, k, x->idx, cols) == SPREC_OK;
  if (ok && memcmp(ax, ax1, sizeof *ax * (size_t)m) != 0) {
    fprintf(stderr, "%s: A x differs from one rank's\n", what);
    ok = 0;
  }
  double amax = 0;
  for (int64_t i = 0; ok && i < m; i++)
    for (int64_t s = 0; s < k; s++) amax = fmax(amax, fabs(cols[i + s * m] * x->val[s]));
  for (int64_t i = 0; ok && i < m; i++) {
    for (int64_t s = 0; s < k; s++) t[s] = cols[i + s * m] * x->val[s];
    double ref = exact_reference(k, t);
    if (!(fabs(ax[i] - ref) <= bound(ref, amax, k))) {
      fprintf(stderr, "%s: row %lld: %.17g, exact %.17g\n", what, (long long)i, ax[i], ref);
      ok = 0;
    }
  }
  free(ax), free(ax1), free(cols), free(t);
  return ok;
}

/* x: k entries spread over every rank's block, mixed signs and magnitudes, one zero. */
static sprec_sparse spread(int64_t n, int64_t k)
{
  sprec_sparse x = {0};
  sprec_sparse_init(&x, k);
  for (int64_t t = 0; t < k; t++) {
    x.idx[t] = t * (n - 1) / (k - 1);
    x.val[t] = (t % 3 ? -1.0 : 1.0) * ldexp(1.0 + 0.1 * (double)t, (int)(t % 7) * 5 - 15);
  }
  x.val[k / 2] = 0;
  x.nnz = k;
  return x;
}

static double *block_of(sprec_ctx ctx, int64_t m, int64_t n, uint64_t seed)
{
  int64_t c0 = sprec_block_start(n, ctx->size, ctx->rank), nl = sprec_block_size(n, ctx->size, ctx->rank);
  double *b = malloc(sizeof *b * (size_t)(m * nl));
  sprec_rng g;
  for (int64_t j = 0; j < nl; j++) {
    sprec_rng_seed(&g, seed, 3, (uint64_t)(c0 + j)); /* by the global column */
    for (int64_t i = 0; i < m; i++) b[i + j * m] = sprec_rng_normal(&g);
  }
  return b;
}

static float *to_f32(double *b, int64_t len)
{
  float *f = malloc(sizeof *f * (size_t)len);
  for (int64_t i = 0; i < len; i++) f[i] = (float)b[i];
  free(b);
  return f;
}

START_TEST(product_same_on_every_rank_count)
{
  sprec_ctx ctx, self;
  sprec_ctx_create(MPI_COMM_WORLD, &ctx);
  sprec_ctx_create(MPI_COMM_SELF, &self);
  int ok = 1;
  const int64_t m = 37, n = 101, len = 9, kinds = 4;
  for (int kind = 0; kind < kinds; kind++) {
    sprec_op A = NULL, A1 = NULL;
    int64_t nn = kind == 3 ? 128 : n, mm = kind == 2 ? n + len - 1 : kind == 3 ? 64 : m;
    const char *what[] = {"dense", "dense float32", "conv", "hadamard"};
    if (kind <= 1) {
      int64_t nl = sprec_block_size(nn, ctx->size, ctx->rank);
      double *b = block_of(ctx, mm, nn, 11), *b1 = block_of(self, mm, nn, 11);
      if (kind == 0) {
        ok &= sprec_op_create_dense(ctx, mm, nn, b, &A) == SPREC_OK;
        ok &= sprec_op_create_dense(self, mm, nn, b1, &A1) == SPREC_OK;
      } else {
        ok &= sprec_op_create_dense_f32(ctx, mm, nn, to_f32(b, mm * nl), &A) == SPREC_OK;
        ok &= sprec_op_create_dense_f32(self, mm, nn, to_f32(b1, mm * nn), &A1) == SPREC_OK;
      }
    } else if (kind == 2) {
      double *K = malloc(sizeof *K * len), *K1 = malloc(sizeof *K1 * len);
      for (int64_t i = 0; i < len; i++) K[i] = K1[i] = cos(1.3 * (double)i) * ldexp(1.0, (int)(i % 4) * 10);
      ok &= sprec_op_create_conv(ctx, nn, len, K, &A) == SPREC_OK;
      ok &= sprec_op_create_conv(self, nn, len, K1, &A1) == SPREC_OK;
    } else {
      ok &= sprec_op_create_hadamard(ctx, mm, nn, 5, &A) == SPREC_OK;
      ok &= sprec_op_create_hadamard(self, mm, nn, 5, &A1) == SPREC_OK;
    }
    for (int64_t k = 2; ok && k <= 17; k += 5) {
      sprec_sparse x = spread(nn, k);
      ok &= check_product(what[kind], A, A1, &x);
      sprec_sparse_free(&x);
    }
    sprec_op_destroy(&A);
    sprec_op_destroy(&A1);
  }
  ck_assert_all(ok, "A x differs from one rank's or from the exact sums (stderr)");
  sprec_ctx_destroy(&self);
  sprec_ctx_destroy(&ctx);
}
END_TEST

TU_MAIN("exact", 120, NULL, sum_independent_of_order, product_same_on_every_rank_count)
