/* Problem generators: sprec_problem_generate, on top of the operators and of the
 * problems' formulas (columns.c). Column j depends on (seed, j) alone, so each rank
 * makes exactly its own columns and the problem is the same bit for bit for any number
 * of ranks. */
#include "op.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

void sprec_problem_default(sprec_problem *p)
{
  memset(p, 0, sizeof *p);
  p->kind = SPREC_PROBLEM_GAUSSIAN;
  p->snr_db = INFINITY; /* noiseless */
  p->seed = 1;
  p->width = 0.02;
  p->sigma = 3;
  p->taps = 25;
  p->min_sep = 100;
}

/* The true x (k entries) and y = A x + e. Every rank makes the k support columns
 * itself and sums them in index order, so y is identical everywhere without
 * communication. The columns are the double ones even for a single-precision A: y is
 * that of the double problem. */
static sprec_err make_truth(const sprec_problem *p, sprec_op A, sprec_sparse *xt, double **y_out)
{
  int64_t m = p->m, k = p->k;
  double *y = NULL, *cols = NULL;
  sprec_err err;
  SPREC_CALL(sprec_problem_truth(p->seed, p->n, k, xt));
  SPREC_TRY(sprec_calloc((size_t)m, sizeof *y, &y, "y"), fail);
  SPREC_TRY(sprec_calloc((size_t)m, sizeof *cols, &cols, "a column"), fail);
  for (int64_t t = 0; t < k; t++) {
    if (p->kind == SPREC_PROBLEM_HADAMARD) sprec_hadamard_column(A, xt->idx[t], cols);
    else sprec_problem_column(p, xt->idx[t], cols);
    sprec_kernel_gemv_n(m, 1, cols, m, xt->val + t, y);
  }
  sprec_problem_add_noise(p, m, y, cols);
  free(cols);
  cols = NULL;
  SPREC_TRY(sprec_problem_finite("y", -1, m, y), fail);
  *y_out = y;
  return SPREC_OK;
fail:
  free(y);
  free(cols);
  return err;
}

/* Collective. Whether every rank's block of an m x n double dictionary fits in half of
 * its share of its node's memory (the ranks on a node share it): the deconv problem is
 * made implicit when it would not. The same verdict on every rank. */
static int block_fits(sprec_ctx ctx, int64_t m, int64_t n)
{
  MPI_Comm node;
  int on_node = 1;
  if (MPI_Comm_split_type(ctx->comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
    MPI_Comm_size(node, &on_node);
    MPI_Comm_free(&node);
  }
  double phys = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
  double block = 8.0 * (double)m * (double)sprec_block_size(n, ctx->size, ctx->rank);
  int fits = phys <= 0 || block <= 0.5 * phys / on_node;
  sprec_comm_allreduce(ctx->comm, SPREC_COMM_AGREE, MPI_IN_PLACE, &fits, 1, MPI_INT, MPI_MIN);
  return fits;
}

/* Collective. The stored dense block of the gaussian or deconv problem, in double or
 * single precision. */
static sprec_err make_dense(sprec_ctx ctx, const sprec_problem *p, sprec_op *A)
{
  int64_t m = p->m, n = p->n;
  int64_t nl = sprec_block_size(n, ctx->size, ctx->rank);
  int64_t c0 = sprec_block_start(n, ctx->size, ctx->rank);
  double *Al = NULL, *cols = NULL;
  float *Af = NULL;
  sprec_err err = SPREC_OK;

  if (p->single) {
    /* Each column made and normalized in double, then rounded: column j has the
     * same bits whatever the rank count. */
    err = sprec_alloc_block((size_t)(m * nl), sizeof *Af, &Af, "the local block of A");
    if (!err) err = sprec_calloc((size_t)m, sizeof *cols, &cols, "a column");
  } else
    err = sprec_alloc_block((size_t)(m * nl), sizeof *Al, &Al, "the local block of A");
  err = sprec_agree(ctx->comm, err);
  if (err) {
    free(Af);
    free(cols);
    return err;
  }
  for (int64_t j = 0; j < nl && !err; j++) {
    double *a = p->single ? cols : Al + j * m;
    sprec_problem_column(p, c0 + j, a);
    err = sprec_problem_finite("column", c0 + j, m, a);
    for (int64_t i = 0; p->single && i < m; i++) Af[i + j * m] = (float)cols[i];
  }
  free(cols);
  err = sprec_agree(ctx->comm, err);
  if (err) {
    free(Al);
    free(Af);
    return err;
  }
  if (!p->single) return sprec_op_create_dense(ctx, m, n, Al, A); /* takes Al, even on failure */
  return sprec_op_create_dense_f32(ctx, m, n, Af, A);               /* takes Af, even on failure */
}

sprec_err sprec_problem_generate(sprec_ctx ctx, const sprec_problem *p, sprec_op *A,
                                 double **y_out, sprec_sparse *xt)
{
  int64_t m = p->m, n = p->n;
  sprec_err err;
  *A = NULL;
  *y_out = NULL;
  if (p->kind == SPREC_PROBLEM_SPIKES) return sprec_problem_spikes(ctx, p, A, y_out, xt);
  SPREC_CALL(sprec_problem_check(p));
  SPREC_CALL(sprec_op_check_shape(ctx, m, n));
  if (p->kind == SPREC_PROBLEM_HADAMARD) {
    /* the fast transform, never stored; y made with its columns */
    SPREC_CHECK(!p->single, SPREC_ERR_ARG,
                "dtype float32 stores a dictionary: the hadamard problem's is never stored");
    SPREC_CALL(sprec_op_create_hadamard(ctx, m, n, p->seed, A));
  } else if (p->implicit ||
             (p->kind == SPREC_PROBLEM_DECONV && !p->single && !block_fits(ctx, m, n))) {
    /* the columns from their formula on every pass (implicit.c) */
    SPREC_CHECK(p->kind == SPREC_PROBLEM_DECONV && !p->single, SPREC_ERR_ARG,
                "implicit: only the deconv problem, in double precision, is computed on demand");
    SPREC_CALL(sprec_op_create_implicit(ctx, p, A));
  } else {
    SPREC_CALL(make_dense(ctx, p, A));
    /* (seed, j) alone make gaussian column j; the width alone the deconv bumps */
    if (p->kind == SPREC_PROBLEM_DECONV) sprec_op_fp_set(*A, "deconv width=%.17g", p->width);
    else sprec_op_fp_set(*A, "gaussian seed=%llu", (unsigned long long)p->seed);
  }
  SPREC_TRY(make_truth(p, *A, xt, y_out), fail);
  return SPREC_OK;
fail:
  sprec_op_destroy(A);
  sprec_sparse_free(xt);
  return err;
}
