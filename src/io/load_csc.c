/* Sparse dictionaries from files: the readers of src/fmt (npz.c, mtx.c) give each
 * rank its columns as arrays, chosen by the file's extension; here they become the CSC
 * operator (op/csc.c), every value checked finite, or are only counted (sprec info). */
#include "../fmt/fmt.h"
#include "../op/op.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int ends_with(const char *s, const char *suffix)
{
  size_t a = strlen(s), b = strlen(suffix);
  return a > b && strcmp(s + a - b, suffix) == 0;
}

int sprec_csc_path(const char *path)
{
  return path && (ends_with(path, ".npz") || ends_with(path, ".mtx"));
}

static sprec_err read_any(MPI_Comm comm, const char *path, sprec_csc_local *a)
{
  memset(a, 0, sizeof *a);
  if (ends_with(path, ".npz")) return sprec_npz_read(comm, path, a);
  if (ends_with(path, ".mtx")) return sprec_mtx_read(comm, path, a);
  return SPREC_ERROR(SPREC_ERR_ARG, "%s: not a sparse matrix file (.npz or .mtx)", path);
}

sprec_err sprec_op_load_csc(sprec_ctx ctx, const char *path, sprec_op *A)
{
  sprec_csc_local a;
  *A = NULL;
  SPREC_CALL(read_any(ctx->comm, path, &a));
  sprec_err err = SPREC_OK;
  for (int64_t j = 0; j < a.nl && !err; j++)
    for (int64_t p = a.colptr[j]; p < a.colptr[j + 1]; p++)
      if (!isfinite(a.val[p])) {
        err = SPREC_ERROR(SPREC_ERR_FORMAT, "%s: contains NaN or Inf (row %lld, column %lld)",
                          path, (long long)a.row[p], (long long)(a.c0 + j));
        break;
      }
  if ((err = sprec_agree(ctx->comm, err))) {
    sprec_csc_local_free(&a);
    return err;
  }
  return sprec_op_create_csc(ctx, a.m, a.n, a.colptr, a.row, a.val, 0, A);
}

sprec_err sprec_csc_inspect(MPI_Comm comm, const char *path, sprec_csc_info *info)
{
  sprec_csc_local a;
  memset(info, 0, sizeof *info);
  SPREC_CALL(read_any(comm, path, &a));
  int64_t st[3] = {0, INT64_MAX, 0}; /* non-finite values, fewest and most per column */
  for (int64_t p = 0; p < a.colptr[a.nl]; p++) st[0] += !isfinite(a.val[p]);
  sprec_err err = sprec_agree(comm, sprec_csc_canonical(a.nl, a.colptr, a.row, a.val));
  if (!err) {
    for (int64_t j = 0; j < a.nl; j++) {
      int64_t c = a.colptr[j + 1] - a.colptr[j];
      st[1] = c < st[1] ? c : st[1];
      st[2] = c > st[2] ? c : st[2];
    }
    int64_t nnz = a.colptr[a.nl];
    sprec_comm_allreduce(comm, SPREC_COMM_IO, MPI_IN_PLACE, &nnz, 1, MPI_INT64_T, MPI_SUM);
    sprec_comm_allreduce(comm, SPREC_COMM_IO, MPI_IN_PLACE, &st[0], 1, MPI_INT64_T, MPI_SUM);
    sprec_comm_allreduce(comm, SPREC_COMM_IO, MPI_IN_PLACE, &st[1], 1, MPI_INT64_T, MPI_MIN);
    sprec_comm_allreduce(comm, SPREC_COMM_IO, MPI_IN_PLACE, &st[2], 1, MPI_INT64_T, MPI_MAX);
    *info = (sprec_csc_info){.m = a.m, .n = a.n, .nnz = nnz, .nonfinite = st[0],
                             .col_nnz_min = st[1], .col_nnz_max = st[2]};
    snprintf(info->format, sizeof info->format, "%s", a.format);
  }
  sprec_csc_local_free(&a);
  return err;
}
