/* Problems in .npy files, in and out of the distributed layout: the dictionary into a
 * dense operator (each rank reading only its own columns, every value checked finite,
 * in double or in single precision), the observations y (replicated), and n-vectors
 * distributed like the columns (a starting point, a true x) in and solutions out. */
#include "../core/impl.h"

#include <float.h>
#include <math.h>

/* Every value finite, else an error naming the file and where (one error on every
 * rank). rows > 1: a matrix whose columns [c0, c0+nc) are in buf (ld rows). */
static sprec_err check_finite(MPI_Comm comm, const char *path, int64_t rows, int64_t nc,
                              int64_t c0, const double *buf)
{
  sprec_err err = SPREC_OK;
  for (int64_t j = 0; j < nc && !err; j++)
    for (int64_t i = 0; i < rows; i++)
      if (!isfinite(buf[i + j * rows])) {
        if (rows > 1)
          err = SPREC_ERROR(SPREC_ERR_FORMAT, "%s: contains NaN or Inf (row %lld, column %lld)",
                            path, (long long)i, (long long)(c0 + j));
        else
          err = SPREC_ERROR(SPREC_ERR_FORMAT, "%s: contains NaN or Inf (entry %lld)", path,
                            (long long)(c0 + j));
        break;
      }
  return sprec_agree(comm, err);
}

/* dtype float32: the block [c0, c0+nl) read as double a chunk of columns at a time (at
 * most SPREC_READ_CHUNK_BYTES of doubles, 64 MiB), checked, and rounded to float, so
 * that the peak memory stays near the float block. Every rank makes the same number of
 * (collective) reads; a rank whose block is used up reads nothing. */
#ifndef SPREC_READ_CHUNK_BYTES
#define SPREC_READ_CHUNK_BYTES ((int64_t)64 << 20)
#endif
static sprec_err load_block_f32(sprec_ctx ctx, const char *path, const sprec_npy_info *ia,
                                int64_t m, int64_t n, int64_t c0, int64_t nl, sprec_op *A)
{
  MPI_Comm comm = ctx->comm;
  int64_t cc = SPREC_READ_CHUNK_BYTES / (8 * m), nlmax = sprec_block_size(n, ctx->size, 0);
  if (cc < 1) cc = 1;
  if (cc > nlmax) cc = nlmax;
  float *Af = NULL;
  double *tmp = NULL;
  sprec_err err = sprec_alloc_block((size_t)(m * nl), sizeof *Af, &Af, "the local block of A");
  if (!err) err = sprec_calloc((size_t)(m * cc), sizeof *tmp, &tmp, "a chunk of A");
  for (int64_t j = 0; j < nlmax; j += cc) { /* the first rank's block is the largest */
    int64_t nc = j >= nl ? 0 : (nl - j < cc ? nl - j : cc);
    SPREC_TRY(sprec_agree(comm, err), done);
    SPREC_TRY(sprec_npy_read_cols(comm, path, ia, c0 + j, nc, tmp), done);
    SPREC_TRY(check_finite(comm, path, m, nc, c0 + j, tmp), done);
    for (int64_t t = 0; t < nc && !err; t++)
      for (int64_t i = 0; i < m; i++) {
        double v = tmp[i + t * m];
        if (fabs(v) > FLT_MAX) {
          err = SPREC_ERROR(SPREC_ERR_FORMAT,
                            "%s: value %g (row %lld, column %lld) is out of the float32 range "
                            "(use dtype float64)",
                            path, v, (long long)i, (long long)(c0 + j + t));
          break;
        }
        Af[i + (j + t) * m] = (float)v;
      }
  }
  SPREC_TRY(sprec_agree(comm, err), done);
  free(tmp);
  tmp = NULL;
  SPREC_TRY(sprec_op_create_dense_f32(ctx, m, n, Af, A), done);
  Af = NULL;
done:
  free(tmp);
  free(Af);
  return err;
}

sprec_err sprec_op_load_npy(sprec_ctx ctx, const char *path, sprec_dtype dtype, sprec_op *A)
{
  sprec_npy_info ia;
  MPI_Comm comm = ctx->comm;
  *A = NULL;
  SPREC_CHECK(dtype == SPREC_FLOAT64 || dtype == SPREC_FLOAT32, SPREC_ERR_ARG,
              "dtype: unknown value %d (float64 or float32)", (int)dtype);
  SPREC_CALL(sprec_npy_inspect(comm, path, &ia));
  SPREC_CHECK(ia.ndim == 2, SPREC_ERR_FORMAT, "%s: must be a 2-D array (m x n), has 1 dimension",
              path);
  int64_t m = ia.shape[0], n = ia.shape[1];
  SPREC_CHECK(n >= ctx->size, SPREC_ERR_ARG,
              "%d ranks but %s has only %lld columns: every rank needs at least one column",
              ctx->size, path, (long long)n);
  int64_t c0 = sprec_block_start(n, ctx->size, ctx->rank);
  int64_t nl = sprec_block_size(n, ctx->size, ctx->rank);
  if (dtype == SPREC_FLOAT32) return load_block_f32(ctx, path, &ia, m, n, c0, nl, A);
  double *Al = NULL;
  SPREC_CALL(sprec_agree(comm, sprec_alloc_block((size_t)(m * nl), sizeof *Al, &Al,
                                                 "the local block of A")));
  sprec_err err = sprec_npy_read_cols(comm, path, &ia, c0, nl, Al);
  if (!err) err = check_finite(comm, path, m, nl, c0, Al);
  if (!err) err = sprec_op_create_dense(ctx, m, n, Al, A);
  if (err) free(Al);
  return err;
}

/* Entries [c0, c0+nc) of a 1-D array of length n (or an n x 1 matrix). */
static sprec_err read_vector(MPI_Comm comm, const char *path, int64_t n, int64_t c0, int64_t nc,
                             double *buf)
{
  sprec_npy_info in;
  SPREC_CALL(sprec_npy_inspect(comm, path, &in));
  int64_t len = in.ndim == 1 ? in.shape[0] : in.shape[1] == 1 ? in.shape[0] : -1;
  SPREC_CHECK(len == n, SPREC_ERR_FORMAT, "%s: has shape %lld%s%lld but %lld entries are needed",
              path, (long long)in.shape[0], in.ndim == 2 ? " x " : "",
              in.ndim == 2 ? (long long)in.shape[1] : 0LL, (long long)n);
  in.ndim = 1; /* an n x 1 matrix is stored like a vector, whatever its order */
  SPREC_CALL(sprec_npy_read_cols(comm, path, &in, c0, nc, buf));
  SPREC_CALL(check_finite(comm, path, 1, nc, c0, buf));
  return SPREC_OK;
}

sprec_err sprec_y_load_npy(sprec_ctx ctx, const char *path, int64_t m, int *b, double **Y)
{
  sprec_npy_info iy;
  MPI_Comm comm = ctx->comm;
  *Y = NULL;
  *b = 0;
  SPREC_CALL(sprec_npy_inspect(comm, path, &iy));
  SPREC_CHECK(iy.shape[0] == m, SPREC_ERR_FORMAT,
              "%s: has %lld rows but the dictionary has m = %lld", path, (long long)iy.shape[0],
              (long long)m);
  SPREC_CHECK(iy.shape[1] <= 1 << 20, SPREC_ERR_ARG, "%s: %lld problems, at most %d at once",
              path, (long long)iy.shape[1], 1 << 20);
  int nb = (int)iy.shape[1];
  double *y = NULL;
  SPREC_CALL(sprec_agree(comm, sprec_calloc((size_t)(m * nb), sizeof *y, &y, "y")));
  sprec_err err;
  if (nb == 1) err = read_vector(comm, path, m, 0, m, y);
  else {
    err = sprec_npy_read_cols(comm, path, &iy, 0, nb, y);
    if (!err) err = check_finite(comm, path, m, nb, 0, y);
  }
  if (err) {
    free(y);
    return err;
  }
  *Y = y;
  *b = nb;
  return SPREC_OK;
}

/* Rows [c0, c0+nc) of an n x b array, either order, into buf: nc x b column-major
 * (column p is problem p's slice). The rows of an n x b array are the columns of the
 * same bytes read as the b x n array of the other order. */
static sprec_err read_rows(MPI_Comm comm, const char *path, int64_t n, int b, int64_t c0,
                           int64_t nc, double *buf)
{
  sprec_npy_info in;
  SPREC_CALL(sprec_npy_inspect(comm, path, &in));
  SPREC_CHECK(in.ndim == 2 && in.shape[0] == n && in.shape[1] == b, SPREC_ERR_FORMAT,
              "%s: has shape %lld%s%lld but %lld x %d is needed (one column per problem)", path,
              (long long)in.shape[0], in.ndim == 2 ? " x " : "",
              in.ndim == 2 ? (long long)in.shape[1] : 0LL, (long long)n, b);
  sprec_npy_info t = in;
  t.shape[0] = b;
  t.shape[1] = n;
  t.fortran_order = !in.fortran_order;
  double *tmp = NULL;
  SPREC_CALL(sprec_agree(comm, sprec_calloc((size_t)(nc * b) + 1, sizeof *tmp, &tmp, path)));
  sprec_err err = sprec_npy_read_cols(comm, path, &t, c0, nc, tmp);
  for (int64_t j = 0; j < nc && !err; j++)
    for (int p = 0; p < b; p++) {
      buf[j + p * nc] = tmp[p + j * b];
      if (!isfinite(buf[j + p * nc])) {
        err = SPREC_ERROR(SPREC_ERR_FORMAT, "%s: contains NaN or Inf (row %lld, column %d)", path,
                          (long long)(c0 + j), p);
        break;
      }
    }
  free(tmp);
  return sprec_agree(comm, err);
}

sprec_err sprec_x_load_npy(sprec_op A, const char *path, int b, double **X)
{
  MPI_Comm comm = A->ctx->comm;
  int64_t n = A->n, c0 = A->col_start, nl = A->n_local;
  double *x = NULL;
  *X = NULL;
  SPREC_CHECK(b >= 1, SPREC_ERR_ARG, "%s: b must be >= 1 (got %d)", path, b);
  SPREC_CALL(sprec_agree(comm, sprec_calloc((size_t)(nl * b) + 1, sizeof *x, &x, path)));
  sprec_err err = b == 1 ? read_vector(comm, path, n, c0, nl, x)
                         : read_rows(comm, path, n, b, c0, nl, x);
  if (err) {
    free(x);
    return err;
  }
  *X = x;
  return SPREC_OK;
}

sprec_err sprec_x_save_npy(sprec_op A, const char *path, int b, const sprec_sparse *x)
{
  MPI_Comm comm = A->ctx->comm;
  int64_t n = A->n, c0 = A->col_start, nl = A->n_local;
  double *xd = NULL; /* n_r x b, row-major: row j holds x_j of every problem */
  SPREC_CHECK(b >= 1, SPREC_ERR_ARG, "%s: b must be >= 1 (got %d)", path, b);
  SPREC_CALL(sprec_agree(comm, sprec_calloc((size_t)(nl * b) + 1, sizeof *xd, &xd, "x")));
  for (int p = 0; p < b; p++)
    for (int64_t t = 0; t < x[p].nnz; t++)
      if (x[p].idx[t] >= c0 && x[p].idx[t] < c0 + nl) xd[(x[p].idx[t] - c0) * b + p] = x[p].val[t];
  sprec_err err = b == 1 ? sprec_npy_write_cols(comm, path, 1, 1, n, c0, nl, xd)
                         : sprec_npy_write_rows(comm, path, n, b, c0, nl, xd);
  free(xd);
  return err;
}

sprec_err sprec_op_save_npy(sprec_op A, const char *path)
{
  MPI_Comm comm = A->ctx->comm;
  int64_t m = A->m, nl = A->n_local;
  SPREC_CHECK(sprec_op_local_block(A), SPREC_ERR_ARG,
              "%s: only a dense operator can be written", path);
  if (!sprec_op_is_dense_f32(A))
    return sprec_npy_write_cols(comm, path, 2, m, A->n, A->col_start, nl, A->data);
  double *Ad = NULL; /* float64 on file: the block widened (exactly) */
  SPREC_CALL(sprec_agree(comm, sprec_calloc((size_t)(m * nl) + 1, sizeof *Ad, &Ad, "A")));
  const float *Af = A->data;
  for (int64_t i = 0; i < m * nl; i++) Ad[i] = Af[i];
  sprec_err err = sprec_npy_write_cols(comm, path, 2, m, A->n, A->col_start, nl, Ad);
  free(Ad);
  return err;
}
