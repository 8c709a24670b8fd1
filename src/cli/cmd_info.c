/* sprec info FILE.npy: shape, dtype, order, size, and whether every value is finite. */
#include "cli.h"

#include <math.h>
#include <stdio.h>

static const char help[] =
    "usage: sprec info FILE.npy | FILE.h5:/DATASET | FILE.h5 | FILE.npz | FILE.mtx\n"
    "Prints shape, dtype, order, size and a finite-check of the data (HDF5: also the\n"
    "layout; FILE.h5 alone: the list of its datasets); for a sparse matrix (.npz from\n"
    "scipy.sparse.save_npz, .mtx): shape, nonzeros, fewest and most nonzeros in a\n"
    "column, finite-check.\n";

/* An HDF5 dataset: what sprec_h5_inspect finds, and a finite-check of every value,
 * each rank reading its own columns. Without a dataset, the file's datasets. */
static sprec_err info_h5(MPI_Comm comm, int rank, int p, const char *file, const char *dataset)
{
  if (!*dataset) {
    char list[8192];
    SPREC_CALL(sprec_h5_list(comm, file, list, sizeof list));
    if (rank == 0) printf("file:     %s (HDF5)\ndatasets:\n%s\n", file, list);
    return SPREC_OK;
  }
  sprec_h5_info in;
  SPREC_CALL(sprec_h5_inspect(comm, file, dataset, &in));
  int64_t rows = in.ndim == 2 ? in.shape[0] : 1, cols = in.ndim == 2 ? in.shape[1] : in.shape[0];
  int64_t c0 = sprec_block_start(cols, p, rank), nc = sprec_block_size(cols, p, rank);
  double *buf = NULL, st[3] = {0, INFINITY, -INFINITY}; /* non-finite count, min, max */
  SPREC_CALL(sprec_agree(comm, cli_alloc((size_t)(rows * nc), sizeof *buf, &buf, "data")));
  sprec_err err = sprec_h5_read_cols(comm, file, dataset, &in, c0, nc, buf);
  for (int64_t t = 0; !err && t < rows * nc; t++) {
    if (!isfinite(buf[t])) st[0]++;
    else st[1] = buf[t] < st[1] ? buf[t] : st[1], st[2] = buf[t] > st[2] ? buf[t] : st[2];
  }
  free(buf);
  SPREC_CALL(err);
  MPI_Allreduce(MPI_IN_PLACE, &st[0], 1, MPI_DOUBLE, MPI_SUM, comm);
  MPI_Allreduce(MPI_IN_PLACE, &st[1], 1, MPI_DOUBLE, MPI_MIN, comm);
  MPI_Allreduce(MPI_IN_PLACE, &st[2], 1, MPI_DOUBLE, MPI_MAX, comm);
  if (rank != 0) return SPREC_OK;
  printf("file:    %s (HDF5)\ndataset: %s\n", file, dataset);
  if (in.ndim == 2) printf("shape:   %lld x %lld\n", (long long)in.shape[0], (long long)in.shape[1]);
  else printf("shape:   %lld\n", (long long)in.shape[0]);
  printf("dtype:   %s%s\n", in.elsize == 8 ? "float64" : "float32", in.big_endian ? " (big-endian)" : "");
  if (in.chunked)
    printf("layout:  chunked %lld%s%lld%s\n", (long long)in.chunk[0], in.ndim == 2 ? " x " : "",
           in.ndim == 2 ? (long long)in.chunk[1] : 0LL, in.filters ? ", compressed" : "");
  else printf("layout:  contiguous\n");
  if (in.ndim == 2)
    printf("order:   %s\n", in.fortran_order ? "fortran (n x m in the file)" : "C");
  printf("size:    %lld bytes of data\n", (long long)(rows * cols * in.elsize));
  if (st[0] == 0) printf("finite:  yes (min %.6g, max %.6g)\n", st[1], st[2]);
  else printf("finite:  no (%.0f NaN or Inf values)\n", st[0]);
  return SPREC_OK;
}

/* A sparse matrix file: read as the solver would, each rank its columns. */
static sprec_err info_sparse(MPI_Comm comm, int rank, const char *path)
{
  sprec_csc_info s;
  SPREC_CALL(sprec_csc_inspect(comm, path, &s));
  if (rank != 0) return SPREC_OK;
  printf("file:     %s\n", path);
  printf("format:   %s\n", s.format);
  printf("shape:    %lld x %lld\n", (long long)s.m, (long long)s.n);
  printf("nonzeros: %lld (density %.3g)\n", (long long)s.nnz,
         (double)s.nnz / ((double)s.m * (double)s.n));
  printf("per column: %lld to %lld nonzeros\n", (long long)s.col_nnz_min, (long long)s.col_nnz_max);
  if (s.nonfinite == 0) printf("finite:   yes\n");
  else printf("finite:   no (%lld NaN or Inf values)\n", (long long)s.nonfinite);
  return SPREC_OK;
}

sprec_err cmd_info(int argc, char **argv)
{
  const char *pos[1];
  int npos, rank, p;
  MPI_Comm comm = MPI_COMM_WORLD;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &p);
  if (cli_help(argc, argv, help)) return SPREC_OK;
  SPREC_CALL(cli_parse("info", argc, argv, NULL, 0, pos, 1, &npos));
  SPREC_CHECK(npos == 1, SPREC_ERR_ARG, "info: give one .npy file or FILE.h5:/DATASET");
  const char *path = pos[0];
  if (sprec_csc_path(path)) return info_sparse(comm, rank, path);
  char h5file[4096], dataset[1024];
  int h5;
  SPREC_CHECK(!sprec_h5_spec(path, h5file, sizeof h5file, dataset, sizeof dataset, &h5),
              SPREC_ERR_ARG, "info: %.200s...: name too long", path);
  if (h5) return info_h5(comm, rank, p, h5file, dataset);
  sprec_npy_info in;
  SPREC_CALL(sprec_npy_inspect(comm, path, &in));
  int64_t rows = in.ndim == 2 ? in.shape[0] : 1, cols = in.ndim == 2 ? in.shape[1] : in.shape[0];
  int64_t c0 = sprec_block_start(cols, p, rank), nc = sprec_block_size(cols, p, rank);
  double *buf = NULL;
  SPREC_CALL(sprec_agree(comm, cli_alloc((size_t)(rows * nc), sizeof *buf, &buf, "data")));
  sprec_err err = sprec_npy_read_cols(comm, path, &in, c0, nc, buf);
  if (!err) {
    double st[3] = {0, INFINITY, -INFINITY}; /* non-finite count, min, max */
    for (int64_t t = 0; t < rows * nc; t++) {
      if (!isfinite(buf[t])) st[0]++;
      else {
        if (buf[t] < st[1]) st[1] = buf[t];
        if (buf[t] > st[2]) st[2] = buf[t];
      }
    }
    MPI_Allreduce(MPI_IN_PLACE, &st[0], 1, MPI_DOUBLE, MPI_SUM, comm);
    MPI_Allreduce(MPI_IN_PLACE, &st[1], 1, MPI_DOUBLE, MPI_MIN, comm);
    MPI_Allreduce(MPI_IN_PLACE, &st[2], 1, MPI_DOUBLE, MPI_MAX, comm);
    if (rank == 0) {
      printf("file:   %s\n", path);
      if (in.ndim == 2) printf("shape:  %lld x %lld\n", (long long)in.shape[0], (long long)in.shape[1]);
      else printf("shape:  %lld\n", (long long)in.shape[0]);
      printf("dtype:  %s\n", in.elsize == 8 ? "float64" : "float32");
      printf("order:  %s\n", in.fortran_order ? "fortran" : "C");
      printf("size:   %lld bytes of data\n", (long long)(rows * cols * in.elsize));
      if (st[0] == 0) printf("finite: yes (min %.6g, max %.6g)\n", st[1], st[2]);
      else printf("finite: no (%.0f NaN or Inf values)\n", st[0]);
    }
  }
  free(buf);
  return err;
}
