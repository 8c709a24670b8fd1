/* Dense operator: this rank's block of columns stored column-major, ld m, in double
 * or in single precision. The single-precision block is read through kernels that
 * widen each entry and accumulate in double in the double kernels' order, and its
 * columns are handed out widened to double: the rest of the library sees only the
 * operator table and never learns the storage type. */
#include "op.h"

#include <stdio.h>
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

static sprec_err dense_apply_T_many(sprec_op op, int nb, const double *const *r, double *const *g)
{
  sprec_kernel_gemv_t_many(op->m, op->n_local, op->data, op->m, nb, r, g);
  return SPREC_OK;
}

static void dense_destroy(sprec_op op) { free(op->data); }

static void dense_describe(sprec_op op, char *buf, size_t len)
{
  int f32 = sprec_op_is_dense_f32(op);
  snprintf(buf, len, "columns stored, %s, %.4g MiB per rank at most", f32 ? "float32" : "float64",
           (double)op->m * (double)sprec_block_size(op->n, op->ctx->size, 0) * (f32 ? 4 : 8) /
               1048576.0);
}

/* A pass reads the whole block once and makes a multiply and an add per entry. */
static void dense_cost(sprec_op op, double *bytes, double *flops)
{
  double entries = (double)op->m * (double)op->n;
  *bytes = entries * (sprec_op_is_dense_f32(op) ? 4 : 8);
  *flops = 2 * entries;
}

static const struct sprec_op_ops dense_ops = {
    .kind = "dense",
    .apply_T = dense_apply_T,
    .apply_local = dense_apply_local,
    .columns = dense_columns,
    .apply_columns = dense_apply_columns,
    .apply_T_many = dense_apply_T_many,
    .destroy = dense_destroy,
    .describe = dense_describe,
    .cost = dense_cost};

/* ---------------------------------------------------- single precision -- */
static sprec_err f32_apply_T(sprec_op op, const double *r, double *g)
{
  sprec_kernel_gemv_t_f32(op->m, op->n_local, op->data, op->m, r, g);
  return SPREC_OK;
}

static sprec_err f32_apply_local(sprec_op op, const double *v, double *out)
{
  sprec_kernel_gemv_n_f32(op->m, op->n_local, op->data, op->m, v, out);
  return SPREC_OK;
}

static sprec_err f32_columns(sprec_op op, int64_t nc, const int64_t *jl, double *out)
{
  const float *A = op->data;
  for (int64_t t = 0; t < nc; t++) {
    const float *a = A + jl[t] * op->m;
    double *o = out + t * op->m;
    for (int64_t i = 0; i < op->m; i++) o[i] = (double)a[i];
  }
  return SPREC_OK;
}

static sprec_err f32_apply_columns(sprec_op op, int64_t nc, const int64_t *jl, const double *v,
                                   double *out)
{
  const float *A = op->data;
  for (int64_t t = 0; t < nc; t++)
    sprec_kernel_gemv_n_f32(op->m, 1, A + jl[t] * op->m, op->m, v + t, out);
  return SPREC_OK;
}

static sprec_err f32_apply_T_many(sprec_op op, int nb, const double *const *r, double *const *g)
{
  sprec_kernel_gemv_t_many_f32(op->m, op->n_local, op->data, op->m, nb, r, g);
  return SPREC_OK;
}

static const struct sprec_op_ops dense_f32_ops = {
    .kind = "dense",
    .apply_T = f32_apply_T,
    .apply_local = f32_apply_local,
    .columns = f32_columns,
    .apply_columns = f32_apply_columns,
    .apply_T_many = f32_apply_T_many,
    .destroy = dense_destroy,
    .describe = dense_describe,
    .cost = dense_cost};

static sprec_err create(sprec_ctx ctx, int64_t m, int64_t n, void *A_local,
                        const struct sprec_op_ops *ops, sprec_op *out)
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
  op->ops = ops;
  op->data = A_local;
  *out = op;
  return SPREC_OK;
}

sprec_err sprec_op_create_dense(sprec_ctx ctx, int64_t m, int64_t n, double *A_local,
                                sprec_op *out)
{
  return create(ctx, m, n, A_local, &dense_ops, out);
}

sprec_err sprec_op_create_dense_f32(sprec_ctx ctx, int64_t m, int64_t n, float *A_local,
                                    sprec_op *out)
{
  return create(ctx, m, n, A_local, &dense_f32_ops, out);
}

int sprec_op_is_dense_f32(sprec_op op) { return op && op->ops == &dense_f32_ops; }

sprec_dtype sprec_op_dtype(sprec_op op)
{
  return sprec_op_is_dense_f32(op) ? SPREC_FLOAT32 : SPREC_FLOAT64;
}

const void *sprec_op_local_block(sprec_op op)
{
  return op && (op->ops == &dense_ops || op->ops == &dense_f32_ops) ? op->data : NULL;
}
