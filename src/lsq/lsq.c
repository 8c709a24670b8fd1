/* Restricted least squares min ‖A_S z − y‖: choice of path, and what both share. */
#include "lsq.h"

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
  sprec_err err = sprec_calloc((size_t)m, sizeof(double), &l->y, "y");
  if (!err) memcpy(l->y, y, (size_t)m * sizeof(double));
  if (!err && !l->scalapack) {
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
  free(l->y);
  free(l->fidx);
  free(l->cols);
  free(l->Q);
  free(l->R);
  free(l->qty);
  free(l->work);
  free(l);
  *lp = NULL;
  return SPREC_OK;
}

int sprec_lsq_is_scalapack(sprec_lsq l) { return l->scalapack; }

sprec_err sprec_lsq_solve(sprec_lsq l, int64_t k, const int64_t *S, double *z, double *r)
{
  SPREC_CHECK(k >= 1 && k <= l->kmax, SPREC_ERR_ARG, "support size %lld outside [1, %lld]",
              (long long)k, (long long)l->kmax);
  if (l->scalapack) SPREC_CALL(sprec_lsq_scalapack_solve(l, k, S, z, r));
  else SPREC_CALL(sprec_lsq_replicated_solve(l, k, S, z, r));
  return SPREC_OK;
}
