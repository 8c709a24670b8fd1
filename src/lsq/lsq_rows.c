/* Restricted least squares on the rows the support touches, for operators whose
 * columns are zero outside a row range (row_range and column_rows in the operator
 * table: a convolution's column is len rows long, whatever m).
 *
 * Rows where every support column is zero add the constant Σ y_i² to ‖A_S z − y‖²
 * and do not move the minimizer: the problem is solved on the union U of the columns'
 * row ranges, |U| <= Σ (hi − lo), never on m x k gathered columns. Only the column
 * segments travel (one Allgatherv); every rank then factors the same |U| x k matrix
 * afresh (CGS2 QR in support order, the project's fixed-order kernels), so z and the
 * residual are the same bits on every rank and for every rank count. */
#include "lsq.h"

#include <math.h>
#include <string.h>

typedef struct {
  int64_t lo, hi; /* rows of the column          */
  int64_t off;    /* its segment in the packing  */
  int64_t pos;    /* its first row in U's order  */
} col_rows;

typedef struct {
  int64_t k, P, mu;  /* columns, packed entries, rows of U                        */
  col_rows *c;       /* per support column                                        */
  double *pack;      /* P: the segments, column after column in support order      */
  double *C, *Q, *yU;/* mu x k: A_U;  mu x k: its Q;  mu: y on U                   */
  double *R, *w;     /* k x k;  3k scratch                                        */
  int64_t *ord;      /* k: support positions by increasing lo                      */
} rows_work;

static void rows_free(rows_work *b)
{
  sprec_free_n(8, b->c, b->pack, b->C, b->Q, b->yU, b->R, b->w, b->ord);
}

/* Collective: every support column's row range on every rank (its owner fills it, the
 * others add zeros: one contributor per entry, an exact sum), then the packing. */
static sprec_err share_ranges(sprec_op A, int64_t k, const int64_t *S, rows_work *b)
{
  int64_t c0 = A->col_start, end = c0 + A->n_local, *rg = NULL;
  sprec_err err = sprec_calloc((size_t)(2 * k), sizeof *rg, &rg, "support row ranges");
  if (!err)
    for (int64_t t = 0; t < k; t++)
      if (S[t] >= c0 && S[t] < end) A->ops->row_range(A, S[t] - c0, &rg[2 * t], &rg[2 * t + 1]);
  SPREC_TRY(sprec_agree(A->ctx->comm, err), done);
  int rc;
  rc = sprec_comm_allreduce(A->ctx->comm, SPREC_COMM_LSQ, MPI_IN_PLACE, rg, (int)(2 * k),
                            MPI_INT64_T, MPI_SUM);
  SPREC_TRY(rc ? SPREC_ERROR(SPREC_ERR_MPI, "sharing the support's row ranges failed") : SPREC_OK,
            done);
  b->P = 0;
  for (int64_t t = 0; t < k; t++) {
    b->c[t] = (col_rows){rg[2 * t], rg[2 * t + 1], b->P, 0};
    b->P += rg[2 * t + 1] - rg[2 * t];
  }
done:
  free(rg);
  return err;
}

/* Collective: the owners write their columns' segments into the packing, which one
 * Allgatherv completes (each rank's columns are contiguous in it: S is sorted). */
static sprec_err share_segments(sprec_op A, int64_t k, const int64_t *S, rows_work *b)
{
  sprec_ctx c = A->ctx;
  int *cnt = NULL, *dsp = NULL;
  sprec_err err = sprec_check_int(b->P, "entries of the support's column segments");
  if (!err) err = sprec_calloc((size_t)c->size, sizeof *cnt, &cnt, "counts");
  if (!err) err = sprec_calloc((size_t)c->size, sizeof *dsp, &dsp, "counts");
  for (int64_t t = 0; t < k && !err; t++) {
    int owner = sprec_block_owner(A->n, c->size, S[t]);
    if (cnt[owner] == 0 && dsp[owner] == 0) dsp[owner] = (int)b->c[t].off;
    cnt[owner] += (int)(b->c[t].hi - b->c[t].lo);
    if (owner == c->rank)
      err = A->ops->column_rows(A, S[t] - A->col_start, b->c[t].lo, b->c[t].hi,
                                b->pack + b->c[t].off);
  }
  err = sprec_agree(c->comm, err);
  if (!err) {
    int rc;
    rc = sprec_comm_allgatherv(c->comm, SPREC_COMM_LSQ, MPI_IN_PLACE, 0, MPI_DATATYPE_NULL,
                               b->pack, cnt, dsp, MPI_DOUBLE);
    if (rc) err = SPREC_ERROR(SPREC_ERR_MPI, "gathering the support's column segments failed");
  }
  free(cnt);
  free(dsp);
  return err;
}

static int cmp_lo(const void *x, const void *y, void *arg)
{
  const col_rows *c = arg;
  int64_t a = c[*(const int64_t *)x].lo, d = c[*(const int64_t *)y].lo;
  int64_t i = *(const int64_t *)x, j = *(const int64_t *)y;
  return a != d ? (a > d) - (a < d) : (i > j) - (i < j);
}

/* U: the union of the ranges, its rows in increasing order; each column's first row
 * in it (pos) and mu = |U|. */
static void make_union(rows_work *b)
{
  for (int64_t t = 0; t < b->k; t++) b->ord[t] = t;
  qsort_r(b->ord, (size_t)b->k, sizeof *b->ord, cmp_lo, b->c);
  int64_t mu = 0, ilo = 0, ihi = -1, base = 0; /* the current merged interval */
  for (int64_t s = 0; s < b->k; s++) {
    col_rows *c = &b->c[b->ord[s]];
    if (c->hi <= c->lo) continue;
    if (c->lo >= ihi) { /* a new interval */
      base = mu;
      ilo = c->lo;
      ihi = c->lo;
    }
    if (c->hi > ihi) {
      mu += c->hi - ihi;
      ihi = c->hi;
    }
    c->pos = base + (c->lo - ilo);
  }
  b->mu = mu;
}

/* A_U and y_U. */
static void fill_compact(const rows_work *b, const double *y)
{
  for (int64_t t = 0; t < b->k; t++) {
    const col_rows *c = &b->c[t];
    memcpy(b->C + t * b->mu + c->pos, b->pack + c->off, (size_t)(c->hi - c->lo) * sizeof *b->C);
    for (int64_t i = c->lo; i < c->hi; i++) b->yU[c->pos + i - c->lo] = y[i];
  }
}

/* z from a CGS2 QR of A_U in support order; a column dependent on the previous ones
 * (SPREC_LSQ_DEPENDENT, as in the replicated path) gets coefficient 0. */
static void qr_solve(rows_work *b, double *z)
{
  int64_t mu = b->mu, k = b->k;
  double *qty = b->w, *c2 = b->w + k, *nc2 = b->w + 2 * k;
  for (int64_t t = 0; t < k; t++) {
    double *q = b->Q + t * mu, *a = b->C + t * mu, *Rt = b->R + t * k;
    memcpy(q, a, (size_t)mu * sizeof *q);
    for (int64_t i = 0; i < t; i++) Rt[i] = 0;
    for (int pass = 0; pass < 2 && t > 0; pass++) {
      sprec_kernel_gemv_t(mu, t, b->Q, mu, q, c2);
      for (int64_t i = 0; i < t; i++) nc2[i] = -c2[i], Rt[i] += c2[i];
      sprec_kernel_gemv_n(mu, t, b->Q, mu, nc2, q);
    }
    double anrm = sqrt(sprec_nrm2sq(mu, a)), rho = sqrt(sprec_nrm2sq(mu, q));
    if (rho <= SPREC_LSQ_DEPENDENT * anrm || rho == 0) {
      memset(q, 0, (size_t)mu * sizeof *q);
      Rt[t] = 0;
      qty[t] = 0;
    } else {
      for (int64_t i = 0; i < mu; i++) q[i] /= rho;
      Rt[t] = rho;
      qty[t] = sprec_dot(mu, q, b->yU);
    }
  }
  for (int64_t t = k; t-- > 0;) {
    double s = qty[t];
    for (int64_t j = t + 1; j < k; j++) s -= b->R[t + j * k] * z[j];
    z[t] = b->R[t + t * k] != 0 ? s / b->R[t + t * k] : 0.0;
  }
}

static sprec_err alloc_compact(rows_work *b)
{
  sprec_err err = sprec_check_int(b->mu * b->k, "rows of the support times its size");
  if (!err) err = sprec_calloc((size_t)(b->mu * b->k) + 1, sizeof *b->C, &b->C, "support rows");
  if (!err) err = sprec_calloc((size_t)(b->mu * b->k) + 1, sizeof *b->Q, &b->Q, "Q factor");
  if (!err) err = sprec_calloc((size_t)b->mu + 1, sizeof *b->yU, &b->yU, "y on the support rows");
  return err;
}

sprec_err sprec_lsq_rows_solve(sprec_lsq l, int64_t k, const int64_t *S, double *z, double *r)
{
  sprec_op A = l->A;
  rows_work b = {.k = k};
  sprec_err err = sprec_calloc((size_t)k, sizeof *b.c, &b.c, "support row ranges");
  if (!err) err = sprec_calloc((size_t)(k * k), sizeof *b.R, &b.R, "R factor");
  if (!err) err = sprec_calloc((size_t)(3 * k), sizeof *b.w, &b.w, "scratch");
  if (!err) err = sprec_calloc((size_t)k, sizeof *b.ord, &b.ord, "support order");
  SPREC_TRY(sprec_agree(A->ctx->comm, err), done);
  SPREC_TRY(share_ranges(A, k, S, &b), done);
  err = sprec_calloc((size_t)(b.P > 0 ? b.P : 1), sizeof *b.pack, &b.pack, "column segments");
  SPREC_TRY(sprec_agree(A->ctx->comm, err), done);
  SPREC_TRY(share_segments(A, k, S, &b), done);
  /* From here on the work is replicated: the same verdict on every rank. */
  make_union(&b);
  SPREC_TRY(sprec_agree(A->ctx->comm, alloc_compact(&b)), done);
  fill_compact(&b, l->y);
  qr_solve(&b, z);
  if (r) { /* r = y − A_S z, column after column in support order, on each range */
    memcpy(r, l->y, (size_t)l->m * sizeof *r);
    for (int64_t t = 0; t < k; t++) {
      double mz = -z[t];
      sprec_kernel_gemv_n(b.c[t].hi - b.c[t].lo, 1, b.pack + b.c[t].off,
                          b.c[t].hi - b.c[t].lo, &mz, r + b.c[t].lo);
    }
  }
  for (int64_t i = 0; i < k && !err; i++)
    if (!isfinite(z[i]))
      err = SPREC_ERROR(SPREC_ERR_NUMERIC, "least squares on the support gave non-finite values");
done:
  rows_free(&b);
  return err;
}
