/* Dense operator: this rank's block of columns stored column-major, ld m, in double
 * or in single precision (op->dtype). The single-precision block is read through
 * kernels that widen each entry and accumulate in double in the double kernels'
 * order, and its columns are handed out widened to double: the rest of the library
 * sees only the operator table and never learns the storage type. */
#include "op.h"

#include <stdio.h>
#include <string.h>

static int is_f32(sprec_op op) { return op->dtype == SPREC_FLOAT32; }

static sprec_err dense_apply_T(sprec_op op, const double *r, double *g)
{
  if (is_f32(op)) sprec_kernel_gemv_t_f32(op->m, op->n_local, op->data, op->m, r, g);
  else sprec_kernel_gemv_t(op->m, op->n_local, op->data, op->m, r, g);
  return SPREC_OK;
}

static sprec_err dense_apply_local(sprec_op op, const double *v, double *out)
{
  if (is_f32(op)) sprec_kernel_gemv_n_f32(op->m, op->n_local, op->data, op->m, v, out);
  else sprec_kernel_gemv_n(op->m, op->n_local, op->data, op->m, v, out);
  return SPREC_OK;
}

static sprec_err dense_apply_T_many(sprec_op op, int nb, const double *const *r, double *const *g)
{
  if (is_f32(op)) sprec_kernel_gemv_t_many_f32(op->m, op->n_local, op->data, op->m, nb, r, g);
  else sprec_kernel_gemv_t_many(op->m, op->n_local, op->data, op->m, nb, r, g);
  return SPREC_OK;
}

static sprec_err dense_columns(sprec_op op, int64_t nc, const int64_t *jl, double *out)
{
  int64_t m = op->m;
  for (int64_t t = 0; t < nc; t++) {
    double *o = out + t * m;
    if (is_f32(op)) {
      const float *a = (const float *)op->data + jl[t] * m;
      for (int64_t i = 0; i < m; i++) o[i] = (double)a[i];
    } else memcpy(o, (const double *)op->data + jl[t] * m, (size_t)m * sizeof *o);
  }
  return SPREC_OK;
}

static void dense_destroy(sprec_op op) { free(op->data); }

static void dense_describe(sprec_op op, char *buf, size_t len)
{
  int f32 = is_f32(op);
  snprintf(buf, len, "columns stored, %s, %.4g MiB per rank at most", f32 ? "float32" : "float64",
           (double)op->m * (double)sprec_block_size(op->n, op->ctx->size, 0) * (f32 ? 4 : 8) /
               1048576.0);
}

/* A pass reads the whole block once and makes a multiply and an add per entry. */
static void dense_cost(sprec_op op, double *bytes, double *flops)
{
  double entries = (double)op->m * (double)op->n;
  *bytes = entries * (is_f32(op) ? 4 : 8);
  *flops = 2 * entries;
}

static const struct sprec_op_ops dense_ops =
    SPREC_OP_TABLE(dense, "dense",
                   .apply_T_many = dense_apply_T_many,
                   .cost = dense_cost);

/* Takes A_local: on failure dense_destroy frees it. */
static sprec_err create(sprec_ctx ctx, int64_t m, int64_t n, void *A_local, sprec_dtype dtype,
                        sprec_op *out)
{
  struct sprec_op_s o = sprec_op_shape(ctx, m, n, &dense_ops);
  o.data = A_local;
  o.dtype = dtype;
  return sprec_op_finish(&o, sprec_op_check_shape(ctx, m, n), out);
}

sprec_err sprec_op_create_dense(sprec_ctx ctx, int64_t m, int64_t n, double *A_local,
                                sprec_op *out)
{
  return create(ctx, m, n, A_local, SPREC_FLOAT64, out);
}

sprec_err sprec_op_create_dense_f32(sprec_ctx ctx, int64_t m, int64_t n, float *A_local,
                                    sprec_op *out)
{
  return create(ctx, m, n, A_local, SPREC_FLOAT32, out);
}

int sprec_op_is_dense_f32(sprec_op op) { return op && is_f32(op); }

sprec_dtype sprec_op_dtype(sprec_op op) { return op ? op->dtype : SPREC_FLOAT64; }

const void *sprec_op_local_block(sprec_op op)
{
  return op && op->ops == &dense_ops ? op->data : NULL;
}
