/* The operator table and what every operator gets from it: sparse products whose
 * sums are exact before one rounding (the same on any number of ranks), column gathering, and the norm estimate. */
#include "op.h"

#include "../par/exact.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int64_t sprec_op_rows(sprec_op op) { return op->m; }
int64_t sprec_op_cols(sprec_op op) { return op->n; }
int64_t sprec_op_local_cols(sprec_op op) { return op->n_local; }
int64_t sprec_op_col_start(sprec_op op) { return op->col_start; }

const char *sprec_op_kind(sprec_op op) { return op->ops->kind; }

void sprec_op_describe(sprec_op op, char *buf, size_t len)
{
  if (len == 0) return;
  buf[0] = 0;
  if (op->ops->describe) op->ops->describe(op, buf, len);
}

void sprec_op_pass_cost(sprec_op op, double *bytes, double *flops)
{
  *bytes = *flops = 0;
  if (op->ops->cost) op->ops->cost(op, bytes, flops);
}

sprec_err sprec_op_destroy(sprec_op *op)
{
  if (!op || !*op) return SPREC_OK;
  if ((*op)->ops->destroy) (*op)->ops->destroy(*op);
  free(*op);
  *op = NULL;
  return SPREC_OK;
}

/* ---------------------------------------------------------- construction -- */
sprec_err sprec_op_check_shape(sprec_ctx ctx, int64_t m, int64_t n)
{
  SPREC_CHECK(m > 0 && n > 0, SPREC_ERR_ARG, "dictionary shape %lld x %lld is empty",
              (long long)m, (long long)n);
  SPREC_CHECK(n >= ctx->size, SPREC_ERR_ARG,
              "%d ranks but only %lld columns: every rank needs at least one column",
              ctx->size, (long long)n);
  return SPREC_OK;
}

struct sprec_op_s sprec_op_shape(sprec_ctx ctx, int64_t m, int64_t n,
                                 const struct sprec_op_ops *ops)
{
  return (struct sprec_op_s){.ctx = ctx,
                             .m = m,
                             .n = n,
                             .col_start = sprec_block_start(n, ctx->size, ctx->rank),
                             .n_local = sprec_block_size(n, ctx->size, ctx->rank),
                             .ops = ops};
}

sprec_err sprec_op_finish(struct sprec_op_s *o, sprec_err err, sprec_op *out)
{
  sprec_op op = NULL;
  *out = NULL;
  if (!err) err = sprec_calloc(1, sizeof *op, &op, "operator");
  err = sprec_agree(o->ctx->comm, err); /* memory may run out on some ranks only */
  if (err) {
    if (o->ops->destroy) o->ops->destroy(o);
    free(op);
    return err;
  }
  *op = *o;
  *out = op;
  return SPREC_OK;
}

sprec_err sprec_op_apply_T(sprec_op op, const double *r, double *g)
{
  return op->ops->apply_T(op, r, g);
}

sprec_err sprec_op_apply_T_many(sprec_op op, int nb, const double *const *r, double *const *g)
{
  if (op->ops->apply_T_many && nb > 1) return op->ops->apply_T_many(op, nb, r, g);
  for (int p = 0; p < nb; p++) SPREC_CALL(op->ops->apply_T(op, r[p], g[p]));
  return SPREC_OK;
}

/* The entries [*lo, *hi) of the sorted index list that this rank owns. */
static void owned_range(sprec_op op, int64_t k, const int64_t *S, int64_t *lo, int64_t *hi)
{
  int64_t a = 0, end = op->col_start + op->n_local;
  while (a < k && S[a] < op->col_start) a++;
  int64_t b = a;
  while (b < k && S[b] < end) b++;
  *lo = a;
  *hi = b;
}

/* ------------------------------------------------------ sparse products -- */
/* out = A x with every row's sum exact before one rounding (par/exact.h): the terms
 * a_ij x_j of each rank's support columns become fixed-point integers, scaled by the
 * largest term over all ranks, and their sums are reduced in a tree: the same bits on
 * any number of ranks, in log p steps. Kinds whose columns are zero outside a row
 * range (conv) send only the rows their columns touch; the others reduce m rows. */
typedef struct {
  sprec_op op;
  const sprec_sparse *x;
  int64_t lo, hi; /* this rank's entries of x */
  double *col;    /* one column's rows (m entries) */
  int rows_only;  /* the kind gives row ranges (row_range, column_rows) */
} products;

/* Column t of x's local entries: its nonzero rows' first *r0 and end *r1 into p->col
 * (p->col[i - r0], rows r0 <= i < r1). */
static sprec_err column_of(products *p, int64_t t, int64_t *r0, int64_t *r1)
{
  sprec_op op = p->op;
  int64_t jl = p->x->idx[t] - op->col_start;
  if (!p->rows_only) {
    *r0 = 0, *r1 = op->m;
    return op->ops->columns(op, 1, &jl, p->col);
  }
  op->ops->row_range(op, jl, r0, r1);
  return op->ops->column_rows(op, jl, *r0, *r1, p->col);
}

/* The largest |a_ij x_j| of this rank's terms: fl(max |a_ij| · |x_j|), the largest
 * product as rounded (rounding is monotone). */
static sprec_err largest_term(products *p, double *amax)
{
  *amax = 0;
  for (int64_t t = p->lo; t < p->hi; t++) {
    int64_t r0, r1;
    SPREC_CALL(column_of(p, t, &r0, &r1));
    double cmax = 0;
    for (int64_t i = 0; i < r1 - r0; i++) cmax = fmax(cmax, fabs(p->col[i]));
    *amax = fmax(*amax, cmax * fabs(p->x->val[t]));
  }
  return SPREC_OK;
}

/* This rank's terms added into acc (m rows of SPREC_EXACT_LIMBS). */
static sprec_err add_terms_dense(products *p, int e, int64_t *acc)
{
  double f = sprec_exact_factor(e);
  for (int64_t t = p->lo; t < p->hi; t++) {
    int64_t r0, r1;
    double v = p->x->val[t];
    SPREC_CALL(column_of(p, t, &r0, &r1));
    for (int64_t i = r0; i < r1; i++) {
      double term = p->col[i - r0] * v;
      if (term != 0.0) sprec_exact_add(acc + i * SPREC_EXACT_LIMBS, term, f, e);
    }
  }
  return SPREC_OK;
}

/* A row's part of a sum: the row, then its limbs. */
#define ENTRY (1 + SPREC_EXACT_LIMBS)

static int by_row(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* The entries e[0..*n) sorted by row, those of one row added into one. */
static void merge_rows(int64_t *e, int64_t *n)
{
  qsort(e, (size_t)*n, ENTRY * sizeof *e, by_row);
  int64_t w = -1;
  for (int64_t r = 0; r < *n; r++) {
    if (w >= 0 && e[w * ENTRY] == e[r * ENTRY]) {
      for (int l = 1; l < ENTRY; l++) e[w * ENTRY + l] += e[r * ENTRY + l];
    } else if (++w != r) memcpy(e + w * ENTRY, e + r * ENTRY, ENTRY * sizeof *e);
  }
  *n = w + 1;
}

/* The entries this rank's columns may make: the rows they touch, with repeats. */
static int64_t rows_touched(const products *p)
{
  int64_t cnt = 0, r0, r1;
  for (int64_t t = p->lo; t < p->hi; t++) {
    p->op->ops->row_range(p->op, p->x->idx[t] - p->op->col_start, &r0, &r1);
    cnt += r1 - r0;
  }
  return cnt;
}

/* This rank's terms as entries in ent (rows_touched of them at most): *n, the rows
 * its columns touch, each once. */
static sprec_err terms_by_row(products *p, int e, int64_t *ent, int64_t *n)
{
  double f = sprec_exact_factor(e);
  int64_t r0, r1;
  *n = 0;
  for (int64_t t = p->lo; t < p->hi; t++) {
    SPREC_CALL(column_of(p, t, &r0, &r1));
    for (int64_t i = r0; i < r1; i++) {
      double term = p->col[i - r0] * p->x->val[t];
      if (term == 0.0) continue;
      int64_t *en = ent + *n * ENTRY;
      en[0] = i;
      sprec_exact_add(en + 1, term, f, e);
      ++*n;
    }
  }
  merge_rows(ent, n);
  return SPREC_OK;
}

/* The rows of every rank gathered, added and rounded into out (zero elsewhere). err:
 * this rank's failure so far (every rank returns it). */
static sprec_err reduce_rows(sprec_op op, int64_t *mine, int64_t n, int e, double *out, sprec_err err)
{
  sprec_ctx c = op->ctx;
  int *counts = NULL, *displs = NULL, cnt = (int)(n * ENTRY), rc;
  int64_t *all = NULL, total = 0;
  if (!err) err = sprec_check_int(n * ENTRY, "rows of a sparse product");
  if (!err) err = sprec_calloc((size_t)c->size, sizeof *counts, &counts, "counts");
  if (!err) err = sprec_calloc((size_t)c->size, sizeof *displs, &displs, "displacements");
  err = sprec_agree(c->comm, err);
  if (!err) {
    rc = sprec_comm_allgather(c->comm, SPREC_COMM_RESIDUAL, &cnt, 1, MPI_INT, counts, 1, MPI_INT);
    if (rc != MPI_SUCCESS) err = SPREC_ERROR(SPREC_ERR_MPI, "gathering the rows of a product failed");
    for (int r = 0; !err && r < c->size; r++) displs[r] = (int)total, total += counts[r];
    if (!err) err = sprec_check_int(total, "rows of a sparse product");
    if (!err) err = sprec_calloc((size_t)total, sizeof *all, &all, "the rows of a product");
    err = sprec_agree(c->comm, err);
  }
  if (!err) {
    rc = sprec_comm_allgatherv(c->comm, SPREC_COMM_RESIDUAL, mine, cnt, MPI_INT64_T, all, counts, displs,
                               MPI_INT64_T);
    if (rc != MPI_SUCCESS) err = SPREC_ERROR(SPREC_ERR_MPI, "gathering the rows of a product failed");
  }
  if (!err) {
    int64_t rows = total / ENTRY;
    merge_rows(all, &rows);
    for (int64_t r = 0; r < rows; r++) out[all[r * ENTRY]] = sprec_exact_value(all + r * ENTRY + 1, e);
  }
  sprec_free_n(3, counts, displs, all);
  return err;
}

/* Every rank's m rows added (a tree: MPI_SUM on integers is exact) and rounded. */
static sprec_err reduce_all_rows(sprec_op op, int64_t *acc, int e, double *out)
{
  int rc;
  rc = sprec_comm_allreduce(op->ctx->comm, SPREC_COMM_RESIDUAL, MPI_IN_PLACE, acc,
                            (int)(op->m * SPREC_EXACT_LIMBS), MPI_INT64_T, MPI_SUM);
  SPREC_MPI(rc);
  for (int64_t i = 0; i < op->m; i++) out[i] = sprec_exact_value(acc + i * SPREC_EXACT_LIMBS, e);
  return SPREC_OK;
}

sprec_err sprec_op_apply_sparse(sprec_op op, const sprec_sparse *x, double *out)
{
  sprec_ctx c = op->ctx;
  memset(out, 0, (size_t)op->m * sizeof *out);
  if (x->nnz == 0) return SPREC_OK;
  SPREC_CALL(sprec_check_int(op->m * SPREC_EXACT_LIMBS, "rows of A times the limbs of a sum"));
  SPREC_CHECK(x->nnz < ((int64_t)1 << 31), SPREC_ERR_ARG, "x has %lld nonzeros: a product takes 2^31 at most",
              (long long)x->nnz);
  products p = {.op = op, .x = x, .rows_only = op->ops->row_range && op->ops->column_rows};
  owned_range(op, x->nnz, x->idx, &p.lo, &p.hi);
  /* Memory first, then the scale (the largest term over all ranks), in one call with
   * a failure of either. */
  int64_t *acc = NULL, n = p.rows_only ? rows_touched(&p) * ENTRY : op->m * SPREC_EXACT_LIMBS;
  double mine[2] = {0, 0}, all[2];
  sprec_err err = sprec_calloc((size_t)op->m, sizeof *p.col, &p.col, "a support column");
  if (!err) err = sprec_calloc((size_t)n, sizeof *acc, &acc, "the sums of a product");
  if (!err) err = largest_term(&p, &mine[0]);
  mine[1] = err ? 1 : 0;
  int rc = sprec_comm_allreduce(c->comm, SPREC_COMM_RESIDUAL, mine, all, 2, MPI_DOUBLE, MPI_MAX);
  if (rc == MPI_SUCCESS && all[1] != 0) err = sprec_agree(c->comm, err); /* every rank */
  else if (rc != MPI_SUCCESS) err = SPREC_ERROR(SPREC_ERR_MPI, "the scale of a product failed");
  if (!err && !isfinite(all[0]))
    err = SPREC_ERROR(SPREC_ERR_NUMERIC, "A x overflows the range of doubles (a term is %g)", all[0]);
  if (!err && all[0] > 0) { /* (all[] is the same on every rank) */
    /* The columns are read again as largest_term read them: no failure left but MPI's. */
    int e = sprec_exact_exponent(all[0]);
    if (p.rows_only) {
      err = terms_by_row(&p, e, acc, &n);
      err = reduce_rows(op, acc, n, e, out, err);
    } else {
      err = add_terms_dense(&p, e, acc);
      sprec_err red = reduce_all_rows(op, acc, e, out);
      err = err ? err : red;
    }
  }
  sprec_free_n(2, p.col, acc);
  return err;
}

sprec_err sprec_op_gather_columns(sprec_op op, int64_t k, const int64_t *S, double *out)
{
  sprec_ctx c = op->ctx;
  int64_t m = op->m, lo, hi;
  SPREC_CALL(sprec_check_int(m * k, "size of the gathered support columns"));
  owned_range(op, k, S, &lo, &hi);
  int *counts = NULL, *displs = NULL;
  int64_t *jl = NULL;
  sprec_err err = sprec_calloc((size_t)c->size, sizeof(int), &counts, "counts");
  if (!err) err = sprec_calloc((size_t)c->size, sizeof(int), &displs, "displacements");
  if (!err) err = sprec_calloc((size_t)(hi - lo), sizeof *jl, &jl, "column list");
  if (!err) {
    for (int64_t t = lo; t < hi; t++) jl[t - lo] = S[t] - op->col_start;
    /* Write our own columns straight into place; Allgatherv in place does the rest. */
    err = op->ops->columns(op, hi - lo, jl, out + lo * m);
  }
  err = sprec_agree(c->comm, err);
  if (!err) {
    int64_t t = 0;
    for (int r = 0; r < c->size; r++) {
      int64_t end = sprec_block_start(op->n, c->size, r) + sprec_block_size(op->n, c->size, r);
      int64_t t0 = t;
      while (t < k && S[t] < end) t++;
      counts[r] = (int)((t - t0) * m);
      displs[r] = (int)(t0 * m);
    }
    int rc;
    rc = sprec_comm_allgatherv(c->comm, SPREC_COMM_GATHER, MPI_IN_PLACE, 0, MPI_DATATYPE_NULL,
                               out, counts, displs, MPI_DOUBLE);
    if (rc != MPI_SUCCESS)
      err = SPREC_ERROR(SPREC_ERR_MPI, "gathering support columns failed");
  }
  free(counts);
  free(displs);
  free(jl);
  return err;
}

/* Power iteration on AᵀA. The start vector depends on the global index only; the
 * estimate is rounded to single precision so that the step 1/L, which the solvers
 * use, is the same for any number of ranks (the rank count changes only the last
 * bits of the reductions). Stops at 1e-4 relative change: a step needs no more. */
sprec_err sprec_op_norm2_est(sprec_op op, double *L)
{
  sprec_ctx c = op->ctx;
  int64_t m = op->m, nl = op->n_local;
  double *v = NULL, *w = NULL;
  sprec_err err = SPREC_OK;
  *L = op->norm2;
  if (*L > 0) return SPREC_OK; /* made once: a resident operator (the service) keeps it */
  SPREC_CALL(sprec_check_int(m, "rows of A"));
  int hold = sprec_comm_hold(c->comm, SPREC_COMM_NORM); /* the products inside count here */
  SPREC_TRY(sprec_calloc((size_t)nl, sizeof *v, &v, "power iteration vector"), done);
  SPREC_TRY(sprec_calloc((size_t)m, sizeof *w, &w, "power iteration vector"), done);
  for (int64_t j = 0; j < nl; j++) {
    sprec_rng g;
    sprec_rng_seed(&g, 0x5eed, 7, (uint64_t)(op->col_start + j));
    v[j] = 1.0 + sprec_rng_uniform(&g);
  }
  double lam = 0;
  for (int it = 0; it < 100; it++) {
    /* v ← v/‖v‖ in two steps (by max|v_j|, then by the norm), so that neither the sum
     * of squares nor its terms leave the range of doubles, whatever the units of A. */
    double vmax = 0, nv2 = 0;
    for (int64_t j = 0; j < nl; j++) vmax = fmax(vmax, fabs(v[j]));
    sprec_comm_allreduce(c->comm, SPREC_COMM_NORM, MPI_IN_PLACE, &vmax, 1, MPI_DOUBLE, MPI_MAX);
    if (vmax == 0 || !isfinite(vmax)) break; /* A v = 0 (or overflow, reported below) */
    for (int64_t j = 0; j < nl; j++) v[j] /= vmax, nv2 += v[j] * v[j];
    sprec_comm_allreduce(c->comm, SPREC_COMM_NORM, MPI_IN_PLACE, &nv2, 1, MPI_DOUBLE, MPI_SUM);
    double s = 1.0 / sqrt(nv2);
    for (int64_t j = 0; j < nl; j++) v[j] *= s;
    memset(w, 0, (size_t)m * sizeof *w);
    SPREC_TRY(op->ops->apply_local(op, v, w), done);
    SPREC_TRY(sprec_comm_allreduce(c->comm, SPREC_COMM_NORM, MPI_IN_PLACE, w, (int)m, MPI_DOUBLE,
                                   MPI_SUM)
                  ? SPREC_ERROR(SPREC_ERR_MPI, "power iteration reduction failed")
                  : SPREC_OK,
              done);
    SPREC_TRY(op->ops->apply_T(op, w, v), done);
    double prev = lam;
    lam = sprec_nrm2sq(m, w); /* ‖A v‖² with ‖v‖ = 1: a lower bound of ‖A‖₂² */
    if (!isfinite(lam) || fabs(lam - prev) <= 1e-4 * lam) break;
  }
  /* Rounded to single precision's 24 bits of mantissa (not to its range: A may be in
   * any units), so that the value does not depend on the number of ranks. */
  int e;
  double mant = frexp(lam, &e);
  *L = isfinite(lam) ? ldexp((double)(float)mant, e) : lam;
  if (isfinite(*L)) op->norm2 = *L;
  SPREC_TRY(isfinite(*L) ? SPREC_OK
                         : SPREC_ERROR(SPREC_ERR_NUMERIC,
                                       "‖A‖₂² overflows double precision (entries of A near "
                                       "1e154 or larger): rescale A"),
            done);
done:
  sprec_comm_release(c->comm, hold);
  free(v);
  free(w);
  return err;
}
