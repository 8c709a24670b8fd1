/* Dense operator: this rank's block of columns stored column-major, ld m. */
#include "../core/impl.h"

#include <string.h>

static sprec_err dense_apply_T(sprec_op op, const double *r, double *g)
{
  sprec_kernel_gemv_t(op->m, op->n_local, op->data, op->m, r, g);
  return SPREC_OK;
}

static sprec_err dense_apply_local(sprec_op op, const double *v, double *out)
{
  sprec_kernel_gemv_n(op->m, op->n_local, op->data, op->m, v, out);
  return SPREC_OK;
}

static sprec_err dense_columns(sprec_op op, int64_t nc, const int64_t *jl, double *out)
{
  const double *A = op->data;
  for (int64_t t = 0; t < nc; t++)
    memcpy(out + t * op->m, A + jl[t] * op->m, (size_t)op->m * sizeof(double));
  return SPREC_OK;
}

static sprec_err dense_apply_columns(sprec_op op, int64_t nc, const int64_t *jl, const double *v,
                                     double *out)
{
  const double *A = op->data;
  for (int64_t t = 0; t < nc; t++) sprec_kernel_gemv_n(op->m, 1, A + jl[t] * op->m, op->m, v + t, out);
  return SPREC_OK;
}

static void dense_destroy(sprec_op op) { free(op->data); }

static const struct sprec_op_ops dense_ops = {dense_apply_T, dense_apply_local, dense_columns,
                                              dense_apply_columns, dense_destroy};

sprec_err sprec_op_create_dense(sprec_ctx ctx, int64_t m, int64_t n, double *A_local,
                                sprec_op *out)
{
  sprec_op op;
  *out = NULL;
  SPREC_CHECK(m > 0 && n > 0, SPREC_ERR_ARG, "dictionary shape %lld x %lld is empty",
              (long long)m, (long long)n);
  SPREC_CHECK(n >= ctx->size, SPREC_ERR_ARG,
              "%d ranks but only %lld columns: every rank needs at least one column",
              ctx->size, (long long)n);
  SPREC_ALLOC(op, 1);
  op->ctx = ctx;
  op->m = m;
  op->n = n;
  op->col_start = sprec_block_start(n, ctx->size, ctx->rank);
  op->n_local = sprec_block_size(n, ctx->size, ctx->rank);
  op->ops = &dense_ops;
  op->data = A_local;
  *out = op;
  return SPREC_OK;
}
