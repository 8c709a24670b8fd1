/* Restricted least squares min ‖A_S z − y‖: choice of path, and what both share. */
#include "lsq.h"

#include <math.h>
#include <string.h>

/* Up to this many columns the replicated path (factorization updates, O(m·k) per
 * changed column, no communication beyond the entering columns) is used by AUTO. */
#define SPREC_LSQ_REPLICATED_MAX 1024

sprec_err sprec_lsq_create(sprec_op A, const double *y, int64_t kmax, sprec_lsq_method method,
                           sprec_lsq *out)
{
  sprec_lsq l;
  int64_t m = A->m;
  *out = NULL;
  SPREC_CHECK(kmax >= 1 && kmax <= m && kmax <= A->n, SPREC_ERR_ARG,
              "support size %lld outside [1, min(m, n) = %lld]", (long long)kmax,
              (long long)(m < A->n ? m : A->n));
  SPREC_CALL(sprec_check_int(m, "rows of A"));
  SPREC_ALLOC(l, 1);
  *out = l;
  l->A = A;
  l->m = m;
  l->kmax = kmax;
  if (method == SPREC_LSQ_AUTO)
    method = kmax <= SPREC_LSQ_REPLICATED_MAX ? SPREC_LSQ_REPLICATED : SPREC_LSQ_SCALAPACK;
  l->scalapack = method == SPREC_LSQ_SCALAPACK;
  /* Columns with row ranges: the least squares on their rows, whatever the path asked
   * (both others would hold m x k columns: 2.7 GB at m = 2^24, k = 20). */
  l->rows = A->ops->row_range && A->ops->column_rows;
  if (l->rows) l->scalapack = 0;
  sprec_err err = sprec_calloc((size_t)m, sizeof(double), &l->y, "y");
  if (!err) memcpy(l->y, y, (size_t)m * sizeof(double));
  if (!err && !l->scalapack && !l->rows) {
    err = sprec_calloc((size_t)kmax, sizeof(int64_t), &l->fidx, "support list");
    if (!err) err = sprec_calloc((size_t)(m * kmax), sizeof(double), &l->cols, "support columns");
    if (!err) err = sprec_calloc((size_t)(m * kmax), sizeof(double), &l->Q, "Q factor");
    if (!err) err = sprec_calloc((size_t)(kmax * kmax), sizeof(double), &l->R, "R factor");
    if (!err) err = sprec_calloc((size_t)kmax, sizeof(double), &l->qty, "Q'y");
    if (!err) err = sprec_calloc((size_t)(2 * kmax + m), sizeof(double), &l->work, "scratch");
  }
  err = sprec_agree(A->ctx->comm, err);
  if (err) sprec_lsq_destroy(out);
  return err;
}

sprec_err sprec_lsq_destroy(sprec_lsq *lp)
{
  if (!lp || !*lp) return SPREC_OK;
  sprec_lsq l = *lp;
  sprec_free_n(8, l->y, l->fidx, l->cols, l->Q, l->R, l->qty, l->work, l);
  *lp = NULL;
  return SPREC_OK;
}

int sprec_lsq_is_scalapack(sprec_lsq l) { return l->scalapack; }

sprec_err sprec_lsq_solve(sprec_lsq l, int64_t k, const int64_t *S, double *z, double *r)
{
  SPREC_CHECK(k >= 1 && k <= l->kmax, SPREC_ERR_ARG, "support size %lld outside [1, %lld]",
              (long long)k, (long long)l->kmax);
  if (l->rows) SPREC_CALL(sprec_lsq_rows_solve(l, k, S, z, r));
  else if (l->scalapack) SPREC_CALL(sprec_lsq_scalapack_solve(l, k, S, z, r));
  else SPREC_CALL(sprec_lsq_replicated_solve(l, k, S, z, r));
  return SPREC_OK;
}

/* ---------------------------------------------------------- checkpoints -- */
static int parts_for(sprec_lsq l, int64_t kf, sprec_lsq_part *part)
{
  part[0] = (sprec_lsq_part){"fidx", 1, l->fidx, kf};
  part[1] = (sprec_lsq_part){"Q", 0, l->Q, l->m * kf};
  part[2] = (sprec_lsq_part){"R", 0, l->R, l->kmax * kf};
  part[3] = (sprec_lsq_part){"qty", 0, l->qty, kf};
  return 4;
}

int sprec_lsq_state(sprec_lsq l, sprec_lsq_part part[SPREC_LSQ_MAX_PARTS])
{
  if (l->scalapack) return 0;
  l->shape[0] = l->kf; /* the row-range path holds no columns: {0, 0} and no parts */
  l->shape[1] = l->ndep;
  part[0] = (sprec_lsq_part){"shape", 1, l->shape, 2};
  return 1 + (l->rows ? 0 : parts_for(l, l->kf, part + 1));
}

sprec_err sprec_lsq_state_expect(sprec_lsq l, const int64_t shape[2],
                                 sprec_lsq_part part[SPREC_LSQ_MAX_PARTS], int *nparts)
{
  int64_t kf = shape[0], ndep = shape[1];
  *nparts = 0;
  if (l->scalapack || l->rows) {
    SPREC_CHECK(kf == 0 && ndep == 0, SPREC_ERR_FORMAT,
                "the least-squares state holds %lld columns, this path (%s) keeps none",
                (long long)kf, l->rows ? "row ranges" : "ScaLAPACK");
    return SPREC_OK;
  }
  SPREC_CHECK(kf >= 0 && kf <= l->kmax && ndep >= 0 && ndep <= kf, SPREC_ERR_FORMAT,
              "the least-squares state holds %lld columns (%lld dependent), outside [0, %lld]",
              (long long)kf, (long long)ndep, (long long)l->kmax);
  *nparts = parts_for(l, kf, part);
  return SPREC_OK;
}

static int finite_all(const double *v, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    if (!isfinite(v[i])) return 0;
  return 1;
}

/* The checks of a restored state that need no communication: the same verdict on
 * every rank (the parts are replicated). *order receives the held columns sorted by
 * index with their positions (2 kf entries: index, position). */
static sprec_err check_state(sprec_lsq l, int64_t kf, int64_t ndep, int64_t *order)
{
  int64_t n = l->A->n, zeros = 0;
  for (int64_t t = 0; t < kf; t++) {
    SPREC_CHECK(l->fidx[t] >= 0 && l->fidx[t] < n, SPREC_ERR_FORMAT,
                "the least-squares state holds column %lld, outside [0, %lld)",
                (long long)l->fidx[t], (long long)n);
    order[2 * t] = l->fidx[t];
    order[2 * t + 1] = t;
  }
  qsort(order, (size_t)kf, 2 * sizeof *order, sprec_cmp_i64);
  for (int64_t t = 1; t < kf; t++)
    SPREC_CHECK(order[2 * t] != order[2 * t - 2], SPREC_ERR_FORMAT,
                "the least-squares state holds column %lld twice", (long long)order[2 * t]);
  SPREC_CHECK(finite_all(l->Q, l->m * kf) && finite_all(l->R, l->kmax * kf) &&
                  finite_all(l->qty, kf),
              SPREC_ERR_FORMAT, "the least-squares state holds non-finite values");
  for (int64_t t = 0; t < kf; t++) zeros += l->R[t + t * l->kmax] == 0;
  SPREC_CHECK(zeros == ndep, SPREC_ERR_FORMAT,
              "the least-squares state says %lld dependent columns, its R has %lld zero "
              "diagonals", (long long)ndep, (long long)zeros);
  return SPREC_OK;
}

sprec_err sprec_lsq_state_commit(sprec_lsq l, const int64_t shape[2])
{
  int64_t kf = shape[0], ndep = shape[1], m = l->m;
  l->kf = 0; /* empty until the state is complete */
  l->ndep = 0;
  if (l->scalapack || l->rows || kf == 0) return SPREC_OK;
  int64_t *order = NULL, *S = NULL;
  double *cols = NULL;
  sprec_err err = sprec_calloc((size_t)(2 * kf), sizeof *order, &order, "least-squares state");
  if (!err) err = sprec_calloc((size_t)kf, sizeof *S, &S, "least-squares state");
  if (!err) err = sprec_calloc((size_t)(m * kf), sizeof *cols, &cols, "least-squares state");
  if (!err) err = check_state(l, kf, ndep, order);
  SPREC_TRY(sprec_agree(l->A->ctx->comm, err), done);
  for (int64_t t = 0; t < kf; t++) S[t] = order[2 * t];
  SPREC_TRY(sprec_op_gather_columns(l->A, kf, S, cols), done); /* A's columns, exactly */
  for (int64_t t = 0; t < kf; t++)
    memcpy(l->cols + order[2 * t + 1] * m, cols + t * m, (size_t)m * sizeof *cols);
  l->kf = kf;
  l->ndep = ndep;
done:
  free(order);
  free(S);
  free(cols);
  return err;
}
