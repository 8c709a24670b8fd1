/* A generated dictionary computed from its formula instead of stored (sprec_problem
 * .implicit): each pass makes the local columns again, a chunk at a time, and runs the
 * dense operator's kernels over the chunk. Column j is made by the generators' own
 * formula (columns.c) from (problem, j) alone, and the kernels sum each column's products in an
 * order that does not depend on how columns are grouped: every product is the stored
 * operator's, bit for bit, in O(m·chunk) memory instead of O(m·n_r), at the price of
 * evaluating the formula on every pass. */
#include "op.h"

#include <stdio.h>
#include <string.h>

#define IMPLICIT_CHUNK 64 /* columns made at a time */

typedef struct {
  sprec_problem p;
  double *buf; /* m x IMPLICIT_CHUNK */
} implicit_data;

/* Columns [j0, j0 + nc) of the local block into d->buf. */
static void make_chunk(sprec_op op, int64_t j0, int64_t nc)
{
  implicit_data *d = op->data;
  for (int64_t c = 0; c < nc; c++) sprec_problem_column(&d->p, op->col_start + j0 + c, d->buf + c * op->m);
}

static sprec_err implicit_apply_T(sprec_op op, const double *r, double *g)
{
  implicit_data *d = op->data;
  for (int64_t j0 = 0; j0 < op->n_local; j0 += IMPLICIT_CHUNK) {
    int64_t nc = op->n_local - j0 < IMPLICIT_CHUNK ? op->n_local - j0 : IMPLICIT_CHUNK;
    make_chunk(op, j0, nc);
    sprec_kernel_gemv_t(op->m, nc, d->buf, op->m, r, g + j0);
  }
  return SPREC_OK;
}

static sprec_err implicit_apply_local(sprec_op op, const double *v, double *out)
{
  implicit_data *d = op->data;
  for (int64_t j0 = 0; j0 < op->n_local; j0 += IMPLICIT_CHUNK) {
    int64_t nc = op->n_local - j0 < IMPLICIT_CHUNK ? op->n_local - j0 : IMPLICIT_CHUNK;
    make_chunk(op, j0, nc);
    sprec_kernel_gemv_n(op->m, nc, d->buf, op->m, v + j0, out);
  }
  return SPREC_OK;
}

static sprec_err implicit_columns(sprec_op op, int64_t nc, const int64_t *jl, double *out)
{
  implicit_data *d = op->data;
  for (int64_t t = 0; t < nc; t++) sprec_problem_column(&d->p, op->col_start + jl[t], out + t * op->m);
  return SPREC_OK;
}

static void implicit_destroy(sprec_op op)
{
  implicit_data *d = op->data;
  if (d) free(d->buf);
  free(d);
}

static void implicit_describe(sprec_op op, char *buf, size_t len)
{
  implicit_data *d = op->data;
  snprintf(buf, len, "Gaussian bumps of width %g computed on every pass, %d columns at a time",
           d->p.width, IMPLICIT_CHUNK);
}

static const struct sprec_op_ops implicit_ops =
    SPREC_OP_TABLE(implicit, "deconv-implicit");

sprec_err sprec_op_create_implicit(sprec_ctx ctx, const sprec_problem *p, sprec_op *out)
{
  struct sprec_op_s o = sprec_op_shape(ctx, p->m, p->n, &implicit_ops);
  implicit_data *d = NULL;
  sprec_err err = sprec_calloc(1, sizeof *d, &d, "implicit operator");
  if (!err) {
    o.data = d;
    d->p = *p;
    err = sprec_calloc((size_t)(p->m * IMPLICIT_CHUNK), sizeof *d->buf, &d->buf, "column chunk");
  }
  SPREC_CALL(sprec_op_finish(&o, err, out));
  sprec_op_fp_set(*out, "deconv width=%.17g", p->width); /* the columns' formula's parameter */
  return SPREC_OK;
}
