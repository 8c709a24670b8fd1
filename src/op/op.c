/* The operator table and what every operator gets from it: sparse products with a
 * rank-independent summation order, column gathering, and the norm estimate. */
#include "op.h"

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

/* out += Σ_t a_{jl[t]} v_t for a kind without apply_columns: each column made into
 * col (m entries) and added as the kernels add it. gemv_n adds its columns one after
 * another, so this is bit for bit the product over all nc columns made at once, in
 * O(m) memory. */
static sprec_err apply_columns_made(sprec_op op, int64_t nc, const int64_t *jl, const double *v,
                                    double *col, double *out)
{
  for (int64_t t = 0; t < nc; t++) {
    SPREC_CALL(op->ops->columns(op, 1, jl + t, col));
    sprec_kernel_gemv_n(op->m, 1, col, op->m, v + t, out);
  }
  return SPREC_OK;
}

/* The number of ranks that own entries of x (sorted indices). */
static int sprec_owners(int64_t n, int p, const sprec_sparse *x)
{
  int owners = 0, prev = -1;
  for (int64_t t = 0; t < x->nnz; t++) {
    int r = sprec_block_owner(n, p, x->idx[t]);
    owners += r != prev;
    prev = r;
  }
  return owners;
}

/* out = A x accumulated column after column in index order, exactly as one rank
 * would: the partial sum travels along the owning ranks in rank order (a chain, not
 * a tree), each adding its columns, and the last owner broadcasts. The work is
 * O(m·nnz), the same as on one rank. */
sprec_err sprec_op_apply_sparse(sprec_op op, const sprec_sparse *x, double *out)
{
  sprec_ctx c = op->ctx;
  int64_t m = op->m, lo, hi;
  memset(out, 0, (size_t)m * sizeof *out);
  if (x->nnz == 0) return SPREC_OK;
  SPREC_CALL(sprec_check_int(m, "rows of A"));
  owned_range(op, x->nnz, x->idx, &lo, &hi);
  int first = sprec_block_owner(op->n, c->size, x->idx[0]);
  int last = sprec_block_owner(op->n, c->size, x->idx[x->nnz - 1]);
  sprec_err err = SPREC_OK;
  if (hi > lo) {
    int prev = -1, next = -1;
    if (c->rank > first) prev = sprec_block_owner(op->n, c->size, x->idx[lo - 1]);
    if (c->rank < last) next = sprec_block_owner(op->n, c->size, x->idx[hi]);
    double *col = NULL;
    int64_t *jl = NULL;
    int64_t nc = hi - lo;
    int direct = op->ops->apply_columns != NULL; /* else one column at a time */
    if (!direct) err = sprec_calloc((size_t)m, sizeof *col, &col, "a support column");
    if (!err) err = sprec_calloc((size_t)nc, sizeof *jl, &jl, "column list");
    if (!err)
      for (int64_t t = 0; t < nc; t++) jl[t] = x->idx[lo + t] - op->col_start;
    /* A failure here must not leave neighbours waiting: the chain still runs. */
    if (prev >= 0) sprec_comm_recv(c->comm, SPREC_COMM_RESIDUAL, out, (int)m, MPI_DOUBLE, prev, 77);
    if (!err && direct) err = op->ops->apply_columns(op, nc, jl, x->val + lo, out);
    else if (!err) err = apply_columns_made(op, nc, jl, x->val + lo, col, out);
    if (next >= 0) sprec_comm_send(c->comm, SPREC_COMM_RESIDUAL, out, (int)m, MPI_DOUBLE, next, 77);
    free(col);
    free(jl);
  }
  /* Every rank waits for the chain's end: owners − 1 hops on each one's path. */
  sprec_comm_hops(c->comm, SPREC_COMM_RESIDUAL, sprec_owners(op->n, c->size, x) - 1);
  SPREC_CALL(sprec_agree(c->comm, err));
  SPREC_MPI(sprec_comm_bcast(c->comm, SPREC_COMM_RESIDUAL, out, (int)m, MPI_DOUBLE, last));
  return SPREC_OK;
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
