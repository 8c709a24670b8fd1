/* Replicated restricted least squares with factorization updates.
 *
 * Every rank holds the support columns and a thin QR factorization A_F = Q R of them
 * (F: the held columns, in the order they entered). When the support changes, leaving
 * columns are removed by Givens rotations (O((m + k)·k) each) and entering columns
 * are added by classical Gram–Schmidt with one reorthogonalization (CGS2, O(m·k)
 * each). Only entering columns travel, and the ranks compute the same numbers, so
 * the result is identical on every rank and for every rank count. Every product runs
 * through the project's fixed-order kernels, not BLAS, whose kernels (and so whose
 * rounding) differ from one CPU to the next: the same bits on every machine too.
 *
 * A column numerically dependent on the others gets a zero column in Q and a zero
 * diagonal in R; its coefficient is 0, which leaves the minimum residual unchanged.
 * Removing a column while such a column is held refactors from scratch (rare). */
#include "lsq.h"

#include <float.h>
#include <math.h>
#include <string.h>

#define RQ(l, i, j) ((l)->R[(i) + (j) * (l)->kmax])

/* Remove held column t: rotate the Hessenberg part of R back to triangular. */
static void remove_column(sprec_lsq l, int64_t t)
{
  int64_t m = l->m, kf = l->kf;
  for (int64_t j = t; j + 1 < kf; j++) { /* shift columns of R, cols, fidx left */
    for (int64_t i = 0; i <= j + 1; i++) RQ(l, i, j) = RQ(l, i, j + 1);
    memcpy(l->cols + j * m, l->cols + (j + 1) * m, (size_t)m * sizeof(double));
    l->fidx[j] = l->fidx[j + 1];
  }
  for (int64_t j = t; j + 1 < kf; j++) {
    double a = RQ(l, j, j), b = RQ(l, j + 1, j), h = hypot(a, b);
    if (h == 0) continue;
    double c = a / h, s = b / h;
    for (int64_t jj = j; jj + 1 < kf; jj++) {
      double x = RQ(l, j, jj), y = RQ(l, j + 1, jj);
      RQ(l, j, jj) = c * x + s * y;
      RQ(l, j + 1, jj) = -s * x + c * y;
    }
    RQ(l, j + 1, j) = 0;
    double x = l->qty[j], y = l->qty[j + 1];
    l->qty[j] = c * x + s * y;
    l->qty[j + 1] = -s * x + c * y;
    double *q0 = l->Q + j * m, *q1 = q0 + m;
    for (int64_t i = 0; i < m; i++) {
      double u = q0[i], v = q1[i];
      q0[i] = c * u + s * v;
      q1[i] = -s * u + c * v;
    }
  }
  l->kf = kf - 1;
}

/* Append the column a (length m) for global index j. */
static void add_column(sprec_lsq l, int64_t j, const double *a)
{
  int64_t m = l->m, t = l->kf;
  double *q = l->Q + t * m, *c1 = l->work, *c2 = l->work + l->kmax, *nc2 = c2 + l->kmax;
  memcpy(l->cols + t * m, a, (size_t)m * sizeof(double));
  memcpy(q, a, (size_t)m * sizeof(double));
  l->fidx[t] = j;
  for (int64_t i = 0; i < t; i++) c1[i] = 0;
  if (t > 0) {
    for (int pass = 0; pass < 2; pass++) { /* CGS2: twice is enough */
      sprec_kernel_gemv_t(m, t, l->Q, m, q, c2); /* c2 = Qᵀq, then q -= Q c2 */
      for (int64_t i = 0; i < t; i++) nc2[i] = -c2[i];
      sprec_kernel_gemv_n(m, t, l->Q, m, nc2, q);
      for (int64_t i = 0; i < t; i++) c1[i] += c2[i];
    }
  }
  double anrm = sqrt(sprec_nrm2sq(m, a)), rho = sqrt(sprec_nrm2sq(m, q));
  for (int64_t i = 0; i < t; i++) RQ(l, i, t) = c1[i];
  if (rho <= SPREC_LSQ_DEPENDENT * anrm || rho == 0) { /* dependent column */
    memset(q, 0, (size_t)m * sizeof(double));
    RQ(l, t, t) = 0;
    l->qty[t] = 0;
    l->ndep++;
  } else {
    for (int64_t i = 0; i < m; i++) q[i] /= rho;
    RQ(l, t, t) = rho;
    l->qty[t] = sprec_dot(m, q, l->y);
  }
  l->kf = t + 1;
}

typedef struct {
  int64_t idx, pos;
} ipos;

static int cmp_ipos(const void *a, const void *b)
{
  int64_t x = ((const ipos *)a)->idx, y = ((const ipos *)b)->idx;
  return (x > y) - (x < y);
}

/* 1 if v is in the sorted list S[0..k). */
static int in_sorted(const int64_t *S, int64_t k, int64_t v)
{
  int64_t lo = 0, hi = k;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (S[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo < k && S[lo] == v;
}

sprec_err sprec_lsq_replicated_solve(sprec_lsq l, int64_t k, const int64_t *S, double *z, double *r)
{
  int64_t m = l->m;
  ipos *held = NULL;
  int64_t *enter = NULL, ne = 0, nleave = 0;
  double *ecols = NULL;
  sprec_err err = SPREC_OK;

  for (int64_t t = 0; t < l->kf; t++) nleave += !in_sorted(S, k, l->fidx[t]);
  if (nleave > 0 && (l->ndep > 0 || 2 * nleave > l->kf)) { /* cheaper or safer: restart */
    l->kf = 0;
    l->ndep = 0;
    nleave = 0;
  }
  for (int64_t t = l->kf; t-- > 0 && nleave > 0;) /* from the end: fewer rotations */
    if (!in_sorted(S, k, l->fidx[t])) {
      remove_column(l, t);
      nleave--;
    }

  SPREC_TRY(sprec_calloc((size_t)l->kmax, sizeof *held, &held, "support map"), done);
  for (int64_t t = 0; t < l->kf; t++) held[t] = (ipos){l->fidx[t], t};
  qsort(held, (size_t)l->kf, sizeof *held, cmp_ipos);
  SPREC_TRY(sprec_calloc((size_t)k, sizeof *enter, &enter, "entering columns"), done);
  for (int64_t i = 0, h = 0; i < k; i++) {
    while (h < l->kf && held[h].idx < S[i]) h++;
    if (h >= l->kf || held[h].idx != S[i]) enter[ne++] = S[i];
  }
  if (ne > 0) { /* only the entering columns travel */
    SPREC_TRY(sprec_calloc((size_t)(m * ne), sizeof *ecols, &ecols, "entering columns"), done);
    SPREC_TRY(sprec_op_gather_columns(l->A, ne, enter, ecols), done);
    for (int64_t e = 0; e < ne; e++) add_column(l, enter[e], ecols + e * m);
  }

  /* Back substitution R w = Qᵀy in factor order (w_t = 0 for dependent columns). */
  double *w = l->work;
  for (int64_t t = l->kf; t-- > 0;) {
    double s = l->qty[t];
    for (int64_t jj = t + 1; jj < l->kf; jj++) s -= RQ(l, t, jj) * w[jj];
    w[t] = RQ(l, t, t) != 0 ? s / RQ(l, t, t) : 0.0;
  }
  for (int64_t t = 0; t < l->kf; t++) held[t] = (ipos){l->fidx[t], t};
  qsort(held, (size_t)l->kf, sizeof *held, cmp_ipos);
  for (int64_t i = 0; i < k; i++) z[i] = w[held[i].pos];
  if (r) { /* r = y − A_S z, column after column in support order */
    memcpy(r, l->y, (size_t)m * sizeof(double));
    for (int64_t i = 0; i < k; i++) {
      double mz = -z[i];
      sprec_kernel_gemv_n(m, 1, l->cols + held[i].pos * m, m, &mz, r);
    }
  }
  for (int64_t i = 0; i < k; i++)
    if (!isfinite(z[i])) {
      err = SPREC_ERROR(SPREC_ERR_NUMERIC, "least squares on the support gave non-finite values");
      break;
    }
done:
  free(held);
  free(enter);
  free(ecols);
  return err;
}
