/* Problems in files, in and out of the distributed layout: the dictionary into a
 * dense operator (each rank reading only its own columns, every value checked finite,
 * in double or in single precision), the observations y (replicated), and n-vectors
 * distributed like the columns (a starting point, a true x) in and solutions out. The
 * arrays come from .npy files or HDF5 datasets (h5.c) through one reader, so that both
 * formats get the same checks and the same messages; the generic loaders take a spec,
 * FILE.npy or FILE.h5:/dataset. */
#include "../op/op.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

/* check_finite for the columns [c0, c0+nc) of a matrix (ld rows), in the loop that
 * also adds their part of the dictionary's fingerprint to *h (fingerprint.c). */
static sprec_err check_columns(MPI_Comm comm, const char *path, int64_t rows, int64_t nc,
                               int64_t c0, const double *buf, uint64_t *h)
{
  int all = 1, finite;
  for (int64_t j = 0; j < nc; j++) {
    *h += sprec_fp_combine(c0 + j, sprec_fp_column(rows, buf + j * rows, &finite));
    all &= finite;
  }
  if (all) return sprec_agree(comm, SPREC_OK);
  return check_finite(comm, path, rows, nc, c0, buf); /* (finds where, for the message) */
}

/* ------------------------------------------------------- arrays in files -- */
/* An array in a file: a .npy file, or a dataset of an HDF5 file. name names it in
 * messages: the path, or FILE.h5:DATASET as the user wrote it. */
typedef struct {
  char name[4200], file[4096], dataset[1024];
  int h5;
  sprec_npy_info npy;
  sprec_h5_info h5i;
  int ndim;
  int64_t shape[2];
} array_src;

static sprec_err src_open_npy(MPI_Comm comm, const char *path, array_src *s)
{
  memset(s, 0, sizeof *s);
  SPREC_CHECK(strlen(path) < sizeof s->file, SPREC_ERR_ARG, "%.200s...: file name too long", path);
  snprintf(s->file, sizeof s->file, "%s", path);
  snprintf(s->name, sizeof s->name, "%s", path);
  SPREC_CALL(sprec_npy_inspect(comm, path, &s->npy));
  s->ndim = s->npy.ndim;
  s->shape[0] = s->npy.shape[0], s->shape[1] = s->npy.shape[1];
  return SPREC_OK;
}

static sprec_err src_open_h5(MPI_Comm comm, const char *path, const char *dataset, array_src *s)
{
  memset(s, 0, sizeof *s);
  SPREC_CHECK(strlen(path) < sizeof s->file && strlen(dataset) < sizeof s->dataset,
              SPREC_ERR_ARG, "%.200s:%.200s...: name too long", path, dataset);
  snprintf(s->file, sizeof s->file, "%s", path);
  snprintf(s->dataset, sizeof s->dataset, "%s", dataset);
  snprintf(s->name, sizeof s->name, "%s:%s", path, dataset);
  s->h5 = 1;
  SPREC_CALL(sprec_h5_inspect(comm, path, dataset, &s->h5i));
  s->ndim = s->h5i.ndim;
  s->shape[0] = s->h5i.shape[0], s->shape[1] = s->h5i.shape[1];
  return SPREC_OK;
}

/* spec: FILE.h5:DATASET (or .hdf5), else a .npy file. */
static sprec_err src_open(MPI_Comm comm, const char *spec, array_src *s)
{
  char file[4096], dataset[1024];
  int h5;
  SPREC_CALL(sprec_h5_spec(spec, file, sizeof file, dataset, sizeof dataset, &h5));
  if (h5) return src_open_h5(comm, file, dataset, s); /* (no dataset: the list of them) */
  return src_open_npy(comm, spec, s);
}

/* Columns [c0, c0+nc) as float64, column-major, ld rows (the format's reader). */
static sprec_err src_read(MPI_Comm comm, const array_src *s, int64_t c0, int64_t nc, double *buf)
{
  if (s->h5) return sprec_h5_read_cols(comm, s->file, s->dataset, &s->h5i, c0, nc, buf);
  return sprec_npy_read_cols(comm, s->file, &s->npy, c0, nc, buf);
}

/* The same bytes viewed as the transposed array: the rows of a 2-D array become the
 * columns of its transpose stored in the other order. */
static void src_transpose(array_src *s)
{
  int64_t r = s->shape[0];
  s->shape[0] = s->shape[1], s->shape[1] = r;
  s->npy.shape[0] = s->shape[0], s->npy.shape[1] = s->shape[1];
  s->h5i.shape[0] = s->shape[0], s->h5i.shape[1] = s->shape[1];
  s->npy.fortran_order = !s->npy.fortran_order;
  s->h5i.fortran_order = !s->h5i.fortran_order;
}

/* dtype float32: the block [c0, c0+nl) read as double a chunk of columns at a time (at
 * most SPREC_READ_CHUNK_BYTES of doubles, 64 MiB), checked, and rounded to float, so
 * that the peak memory stays near the float block. Every rank makes the same number of
 * (collective) reads; a rank whose block is used up reads nothing. */
#ifndef SPREC_READ_CHUNK_BYTES
#define SPREC_READ_CHUNK_BYTES ((int64_t)64 << 20)
#endif
static sprec_err load_block_f32(sprec_ctx ctx, const array_src *s, int64_t m, int64_t n,
                                int64_t c0, int64_t nl, sprec_op *A)
{
  MPI_Comm comm = ctx->comm;
  const char *path = s->name;
  int64_t cc = SPREC_READ_CHUNK_BYTES / (8 * m), nlmax = sprec_block_size(n, ctx->size, 0);
  if (cc < 1) cc = 1;
  if (cc > nlmax) cc = nlmax;
  float *Af = NULL;
  double *tmp = NULL;
  uint64_t h = 0; /* the fingerprint's sum over this rank's columns, as rounded */
  sprec_err err = sprec_alloc_block((size_t)(m * nl), sizeof *Af, &Af, "the local block of A");
  if (!err) err = sprec_calloc((size_t)(m * cc), sizeof *tmp, &tmp, "a chunk of A");
  for (int64_t j = 0; j < nlmax; j += cc) { /* the first rank's block is the largest */
    int64_t nc = j >= nl ? 0 : (nl - j < cc ? nl - j : cc);
    SPREC_TRY(sprec_agree(comm, err), done);
    SPREC_TRY(src_read(comm, s, c0 + j, nc, tmp), done);
    SPREC_TRY(check_finite(comm, path, m, nc, c0 + j, tmp), done);
    for (int64_t t = 0; t < nc && !err; t++) {
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
      /* the fingerprint of the column as held, while it is still in cache */
      if (!err) h += sprec_fp_combine(c0 + j + t, sprec_fp_column_f32(m, Af + (j + t) * m));
    }
  }
  SPREC_TRY(sprec_agree(comm, err), done);
  free(tmp);
  tmp = NULL;
  err = sprec_op_create_dense_f32(ctx, m, n, Af, A);
  Af = NULL; /* the operator's now, even on failure */
  if (!err && (err = sprec_op_fp_values(*A, h))) sprec_op_destroy(A);
done:
  free(tmp);
  free(Af);
  return err;
}

static sprec_err load_op(sprec_ctx ctx, const array_src *s, sprec_dtype dtype, sprec_op *A)
{
  MPI_Comm comm = ctx->comm;
  const char *path = s->name;
  SPREC_CHECK(s->ndim == 2, SPREC_ERR_FORMAT, "%s: must be a 2-D array (m x n), has 1 dimension",
              path);
  int64_t m = s->shape[0], n = s->shape[1];
  SPREC_CHECK(n >= ctx->size, SPREC_ERR_ARG,
              "%d ranks but %s has only %lld columns: every rank needs at least one column",
              ctx->size, path, (long long)n);
  int64_t c0 = sprec_block_start(n, ctx->size, ctx->rank);
  int64_t nl = sprec_block_size(n, ctx->size, ctx->rank);
  if (dtype == SPREC_FLOAT32) return load_block_f32(ctx, s, m, n, c0, nl, A);
  double *Al = NULL;
  SPREC_CALL(sprec_agree(comm, sprec_alloc_block((size_t)(m * nl), sizeof *Al, &Al,
                                                 "the local block of A")));
  uint64_t h = 0;
  sprec_err err = src_read(comm, s, c0, nl, Al);
  if (!err) err = check_columns(comm, path, m, nl, c0, Al, &h);
  if (err) {
    free(Al);
    return err;
  }
  SPREC_CALL(sprec_op_create_dense(ctx, m, n, Al, A)); /* takes Al, even on failure */
  if ((err = sprec_op_fp_values(*A, h))) sprec_op_destroy(A);
  return err;
}

#define CHECK_DTYPE(dtype)                                                                  \
  SPREC_CHECK((dtype) == SPREC_FLOAT64 || (dtype) == SPREC_FLOAT32, SPREC_ERR_ARG,          \
              "dtype: unknown value %d (float64 or float32)", (int)(dtype))

sprec_err sprec_op_load_npy(sprec_ctx ctx, const char *path, sprec_dtype dtype, sprec_op *A)
{
  array_src s;
  *A = NULL;
  CHECK_DTYPE(dtype);
  SPREC_CALL(src_open_npy(ctx->comm, path, &s));
  return load_op(ctx, &s, dtype, A);
}

sprec_err sprec_op_load_h5(sprec_ctx ctx, const char *path, const char *dataset, sprec_dtype dtype,
                           sprec_op *A)
{
  array_src s;
  *A = NULL;
  CHECK_DTYPE(dtype);
  SPREC_CALL(src_open_h5(ctx->comm, path, dataset, &s));
  return load_op(ctx, &s, dtype, A);
}

sprec_err sprec_op_load(sprec_ctx ctx, const char *spec, sprec_dtype dtype, sprec_op *A)
{
  char file[4096], dataset[1024];
  *A = NULL;
  int h5;
  SPREC_CALL(sprec_h5_spec(spec, file, sizeof file, dataset, sizeof dataset, &h5));
  if (h5) return sprec_op_load_h5(ctx, file, dataset, dtype, A);
  if (sprec_csc_path(spec)) { /* a sparse dictionary: .npz (SciPy) or .mtx */
    SPREC_CHECK(dtype == SPREC_FLOAT64, SPREC_ERR_ARG,
                "%s: dtype float32 applies to a dense dictionary only", spec);
    return sprec_op_load_csc(ctx, spec, A);
  }
  return sprec_op_load_npy(ctx, spec, dtype, A);
}

sprec_err sprec_spec_shape(MPI_Comm comm, const char *spec, int *ndim, int64_t shape[2])
{
  array_src s;
  SPREC_CALL(src_open(comm, spec, &s));
  *ndim = s.ndim;
  shape[0] = s.shape[0], shape[1] = s.shape[1];
  return SPREC_OK;
}

/* "60" or "60 x 3", for messages. */
static const char *shape_text(const array_src *s, char *buf, size_t len)
{
  if (s->ndim == 1) snprintf(buf, len, "%lld", (long long)s->shape[0]);
  else snprintf(buf, len, "%lld x %lld", (long long)s->shape[0], (long long)s->shape[1]);
  return buf;
}

/* Entries [c0, c0+nc) of a 1-D array of length n (or an n x 1 matrix). */
static sprec_err read_vector(MPI_Comm comm, const array_src *in, int64_t n, int64_t c0,
                             int64_t nc, double *buf)
{
  const char *path = in->name;
  int64_t len = in->ndim == 1 ? in->shape[0] : in->shape[1] == 1 ? in->shape[0] : -1;
  char sh[64];
  SPREC_CHECK(len == n, SPREC_ERR_FORMAT, "%s: has shape %s but %lld entries are needed", path,
              shape_text(in, sh, sizeof sh), (long long)n);
  array_src v = *in;
  v.npy.ndim = 1; /* an n x 1 matrix is stored like a vector, whatever its order */
  if (v.h5 && v.ndim == 2) src_transpose(&v); /* (HDF5: the 1 x n view of the same bytes) */
  SPREC_CALL(src_read(comm, &v, c0, nc, buf));
  SPREC_CALL(check_finite(comm, path, 1, nc, c0, buf));
  return SPREC_OK;
}

static sprec_err y_load(sprec_ctx ctx, const array_src *iy, int64_t m, int *b, double **Y)
{
  MPI_Comm comm = ctx->comm;
  const char *path = iy->name;
  *Y = NULL;
  *b = 0;
  SPREC_CHECK(iy->shape[0] == m, SPREC_ERR_FORMAT,
              "%s: has %lld rows but the dictionary has m = %lld", path, (long long)iy->shape[0],
              (long long)m);
  SPREC_CHECK(iy->shape[1] <= 1 << 20, SPREC_ERR_ARG, "%s: %lld problems, at most %d at once",
              path, (long long)iy->shape[1], 1 << 20);
  int nb = (int)iy->shape[1];
  double *y = NULL;
  SPREC_CALL(sprec_agree(comm, sprec_calloc((size_t)(m * nb), sizeof *y, &y, "y")));
  sprec_err err;
  if (nb == 1) err = read_vector(comm, iy, m, 0, m, y);
  else {
    err = src_read(comm, iy, 0, nb, y);
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

sprec_err sprec_y_load_npy(sprec_ctx ctx, const char *path, int64_t m, int *b, double **Y)
{
  array_src s;
  *Y = NULL;
  *b = 0;
  SPREC_CALL(src_open_npy(ctx->comm, path, &s));
  return y_load(ctx, &s, m, b, Y);
}

sprec_err sprec_y_load(sprec_ctx ctx, const char *spec, int64_t m, int *b, double **Y)
{
  array_src s;
  *Y = NULL;
  *b = 0;
  SPREC_CALL(src_open(ctx->comm, spec, &s));
  return y_load(ctx, &s, m, b, Y);
}

/* Rows [c0, c0+nc) of an n x b array, either order, into buf: nc x b column-major
 * (column p is problem p's slice). The rows of an n x b array are the columns of the
 * same bytes read as the b x n array of the other order. */
static sprec_err read_rows(MPI_Comm comm, const array_src *in, int64_t n, int b, int64_t c0,
                           int64_t nc, double *buf)
{
  const char *path = in->name;
  char sh[64];
  SPREC_CHECK(in->ndim == 2 && in->shape[0] == n && in->shape[1] == b, SPREC_ERR_FORMAT,
              "%s: has shape %s but %lld x %d is needed (one column per problem)", path,
              shape_text(in, sh, sizeof sh), (long long)n, b);
  array_src t = *in;
  src_transpose(&t);
  double *tmp = NULL;
  SPREC_CALL(sprec_agree(comm, sprec_calloc((size_t)(nc * b) + 1, sizeof *tmp, &tmp, path)));
  sprec_err err = src_read(comm, &t, c0, nc, tmp);
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

static sprec_err x_load(sprec_op A, const array_src *s, int b, double **X)
{
  MPI_Comm comm = A->ctx->comm;
  int64_t n = A->n, c0 = A->col_start, nl = A->n_local;
  double *x = NULL;
  *X = NULL;
  SPREC_CALL(sprec_agree(comm, sprec_calloc((size_t)(nl * b) + 1, sizeof *x, &x, s->name)));
  sprec_err err = b == 1 ? read_vector(comm, s, n, c0, nl, x) : read_rows(comm, s, n, b, c0, nl, x);
  if (err) {
    free(x);
    return err;
  }
  *X = x;
  return SPREC_OK;
}

sprec_err sprec_x_load_npy(sprec_op A, const char *path, int b, double **X)
{
  array_src s;
  *X = NULL;
  SPREC_CHECK(b >= 1, SPREC_ERR_ARG, "%s: b must be >= 1 (got %d)", path, b);
  SPREC_CALL(src_open_npy(A->ctx->comm, path, &s));
  return x_load(A, &s, b, X);
}

sprec_err sprec_x_load(sprec_op A, const char *spec, int b, double **X)
{
  array_src s;
  *X = NULL;
  SPREC_CHECK(b >= 1, SPREC_ERR_ARG, "%s: b must be >= 1 (got %d)", spec, b);
  SPREC_CALL(src_open(A->ctx->comm, spec, &s));
  return x_load(A, &s, b, X);
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

/* The three datasets into the file tmp (created by the first). */
static sprec_err problem_write_h5(sprec_op A, const double *y, const sprec_sparse *xt,
                                  const char *tmp)
{
  MPI_Comm comm = A->ctx->comm;
  int64_t m = A->m, n = A->n, c0 = A->col_start, nl = A->n_local;
  const double *Ad = A->data;
  double *wide = NULL, *xd = NULL;
  sprec_err err = SPREC_OK;
  if (sprec_op_is_dense_f32(A)) { /* float64 on file: the block widened (exactly) */
    err = sprec_calloc((size_t)(m * nl) + 1, sizeof *wide, &wide, "A");
    for (int64_t i = 0; !err && i < m * nl; i++) wide[i] = ((const float *)A->data)[i];
    Ad = wide;
  }
  if (!err) err = sprec_calloc((size_t)nl + 1, sizeof *xd, &xd, "x_true");
  for (int64_t t = 0; !err && t < xt->nnz; t++)
    if (xt->idx[t] >= c0 && xt->idx[t] < c0 + nl) xd[xt->idx[t] - c0] = xt->val[t];
  err = sprec_agree(comm, err);
  if (!err) err = sprec_h5_write_cols(comm, tmp, "/A", 1, 2, m, n, c0, nl, Ad);
  if (!err)
    err = sprec_h5_write_cols(comm, tmp, "/y", 0, 1, 1, m, 0, A->ctx->rank == 0 ? m : 0, y);
  if (!err) err = sprec_h5_write_cols(comm, tmp, "/x_true", 0, 1, 1, n, c0, nl, xd);
  free(wide);
  free(xd);
  return err;
}

sprec_err sprec_problem_save_h5(sprec_op A, const double *y, const sprec_sparse *x_true,
                                const char *path)
{
  MPI_Comm comm = A->ctx->comm;
  char tmp[4200];
  SPREC_CHECK(sprec_op_local_block(A), SPREC_ERR_ARG, "%s: only a dense operator can be written",
              path);
  SPREC_CHECK(strlen(path) < 4096, SPREC_ERR_ARG, "%.200s...: file name too long", path);
  /* Rank 0's process id makes the name unique among concurrent writers. */
  long pid = (long)getpid();
  SPREC_MPI(sprec_comm_bcast(comm, SPREC_COMM_IO, &pid, 1, MPI_LONG, 0));
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, pid);
  sprec_err err = problem_write_h5(A, y, x_true, tmp);
  if (A->ctx->rank == 0) {
    if (!err && rename(tmp, path) != 0)
      err = SPREC_ERROR(SPREC_ERR_IO, "%s: cannot rename the finished file into place: %s", path,
                        strerror(errno));
    if (err) unlink(tmp);
  }
  return sprec_agree(comm, err);
}
