/* .npy files out: a float64 array whose columns (or rows) are distributed over the
 * ranks, written through MPI-IO to a temporary name and renamed once complete, so that
 * no partial file is ever left under the final name. The header is numpy's, padded so
 * that the data start on a multiple of NPY_ALIGN bytes; the column view and the
 * collective behaviour are those of the reader (npy.c). */
#include "fmt.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* numpy aligns the data of the files it writes to this many bytes. */
#define NPY_ALIGN 64

/* numpy's header for a float64 array, padded with spaces so that the data start on a
 * multiple of NPY_ALIGN, ended with '\n'. Returns its length (the data offset).
 * c_order: announce the same bytes as the C-order transpose, shape (ncols, rows). */
static int make_header(int ndim, int64_t rows, int64_t ncols, int c_order, char *out, size_t len)
{
  char dict[160];
  int n;
  if (c_order)
    n = snprintf(dict, sizeof dict, "{'descr': '<f8', 'fortran_order': False, 'shape': (%lld, %lld), }",
                 (long long)ncols, (long long)rows);
  else if (ndim == 1)
    n = snprintf(dict, sizeof dict, "{'descr': '<f8', 'fortran_order': False, 'shape': (%lld,), }",
                 (long long)ncols);
  else
    n = snprintf(dict, sizeof dict, "{'descr': '<f8', 'fortran_order': True, 'shape': (%lld, %lld), }",
                 (long long)rows, (long long)ncols);
  int total = 10 + n + 1;
  total = (total + NPY_ALIGN - 1) / NPY_ALIGN * NPY_ALIGN;
  if ((size_t)total > len) return -1;
  int hlen = total - 10;
  memcpy(out, sprec_npy_magic, 6);
  out[6] = 1;
  out[7] = 0;
  out[8] = (char)(hlen & 0xff);
  out[9] = (char)(hlen >> 8);
  memcpy(out + 10, dict, (size_t)n);
  memset(out + 10 + n, ' ', (size_t)(hlen - n - 1));
  out[total - 1] = '\n';
  return total;
}

static sprec_err write_args(const char *path, int ndim, int64_t rows, int64_t ncols, int64_t c0,
                            int64_t nc, const double *buf)
{
  SPREC_CHECK(path, SPREC_ERR_ARG, "sprec_npy_write_cols: NULL path");
  SPREC_CHECK(ndim == 1 || ndim == 2, SPREC_ERR_ARG, "%s: cannot write a %d-D array (need 1 or 2)",
              path, ndim);
  SPREC_CHECK(ndim == 2 || rows == 1, SPREC_ERR_ARG, "%s: a 1-D array needs rows = 1, not %lld",
              path, (long long)rows);
  SPREC_CHECK(rows > 0 && ncols > 0, SPREC_ERR_ARG, "%s: cannot write an empty %lld x %lld array",
              path, (long long)rows, (long long)ncols);
  SPREC_CHECK(rows <= (INT64_MAX / 8 - 4096) / ncols, SPREC_ERR_ARG,
              "%s: %lld x %lld array overflows a 64-bit byte count", path, (long long)rows,
              (long long)ncols);
  return sprec_npy_check_block(path, ncols, c0, nc, buf);
}

/* Every rank checks the same gathered description: equal sizes, and the non-empty
 * column blocks tile [0, ncols) in rank order. */
static sprec_err write_layout(const char *path, int p, const int64_t *all)
{
  int64_t pos = 0;
  for (int r = 0; r < p; r++) {
    const int64_t *a = all + 5 * r;
    SPREC_CHECK(a[0] == all[0] && a[1] == all[1] && a[2] == all[2], SPREC_ERR_ARG,
                "%s: ranks disagree on the array's shape", path);
    if (a[4] == 0) continue;
    SPREC_CHECK(a[3] == pos, SPREC_ERR_ARG,
                "%s: column blocks do not tile the array in rank order (rank %d starts at %lld, "
                "expected %lld)", path, r, (long long)a[3], (long long)pos);
    pos += a[4];
  }
  SPREC_CHECK(pos == all[2], SPREC_ERR_ARG, "%s: column blocks cover %lld of %lld columns", path,
              (long long)pos, (long long)all[2]);
  return SPREC_OK;
}

/* Rank 0 picks the temporary name: same directory (so that rename is atomic), unique
 * per process and call; MPI_MODE_EXCL catches the remaining collisions. */
static sprec_err temp_name(MPI_Comm comm, int rank, const char *path, char **tmpname)
{
  static unsigned counter = 0;
  int len = 0;
  char *s = NULL;
  sprec_err err = SPREC_OK;
  if (rank == 0) {
    size_t n = strlen(path) + 64;
    err = sprec_calloc(n, 1, &s, "temporary file name");
    if (!err) {
      unsigned t = (unsigned)((uint64_t)(MPI_Wtime() * 1e6) & 0xffffffu);
      len = snprintf(s, n, "%s.tmp.%ld.%u.%06x", path, (long)getpid(), counter++, t);
    }
  }
  SPREC_CALL(sprec_agree(comm, err));
  SPREC_MPI(sprec_comm_bcast(comm, SPREC_COMM_IO, &len, 1, MPI_INT, 0));
  if (rank != 0) err = sprec_calloc((size_t)len + 1, 1, &s, "temporary file name");
  err = sprec_agree(comm, err);
  if (err) {
    free(s);
    return sprec_error_trace(err, __FILE__, __LINE__, __func__);
  }
  int rc = sprec_comm_bcast(comm, SPREC_COMM_IO, s, len + 1, MPI_CHAR, 0);
  if (rc != MPI_SUCCESS) {
    free(s);
    SPREC_MPI(rc);
  }
  *tmpname = s;
  return SPREC_OK;
}

/* Collective. Every rank's part gathered and checked against the others'
 * (write_layout): one error on every rank. */
static sprec_err check_layout(MPI_Comm comm, const char *path, int p, int ndim, int64_t rows,
                              int64_t ncols, int64_t c0, int64_t nc)
{
  int64_t *all = NULL;
  sprec_err err = sprec_calloc((size_t)p * 5, sizeof *all, &all, "write layout");
  SPREC_CALL(sprec_agree(comm, err));
  int64_t me[5] = {ndim, rows, ncols, c0, nc};
  int rc = sprec_comm_allgather(comm, SPREC_COMM_IO, me, 5, MPI_INT64_T, all, 5, MPI_INT64_T);
  if (rc != MPI_SUCCESS) err = sprec_mpi_error(rc, __FILE__, __LINE__, __func__, "MPI_Allgather");
  else err = write_layout(path, p, all);
  free(all);
  return sprec_agree(comm, err);
}

/* Collective. total doubles of buf at byte offset base, in chunks: the same number of
 * collective calls on every rank (empty ones where there is less, or an error: err).
 * Returns err, or this rank's first write error. */
static sprec_err write_chunks(MPI_Comm comm, MPI_File fh, const char *path, MPI_Offset base,
                              int64_t total, const double *buf, sprec_err err)
{
  const int64_t chunk = SPREC_NPY_CHUNK;
  long long ncalls = sprec_npy_calls(comm, total, chunk, &err);
  double dummy = 0;
  MPI_Status st;
  for (long long k = 0; k < ncalls; k++) {
    int64_t e0 = k * chunk;
    int cnt = (!err && e0 < total) ? (int)(total - e0 < chunk ? total - e0 : chunk) : 0;
    int rc = sprec_comm_write_at_all(comm, SPREC_COMM_IO, fh, cnt ? base + 8 * (MPI_Offset)e0 : 0,
                                     cnt ? buf + e0 : &dummy, cnt, MPI_DOUBLE, &st);
    if (cnt == 0) continue;
    int put = 0;
    if (rc == MPI_SUCCESS) MPI_Get_count(&st, MPI_DOUBLE, &put);
    if (put != cnt && sprec_io_full(path, 8 * (uint64_t)(cnt - put))) /* MPI-IO's: short, MPI_ERR_IO */
      err = SPREC_ERROR(SPREC_ERR_IO, "%s: cannot write: %s", path, strerror(ENOSPC));
    else if (rc != MPI_SUCCESS)
      err = sprec_npy_io_error(rc, path, "cannot write");
    else if (put != cnt)
      err = SPREC_ERROR(SPREC_ERR_IO, "%s: cannot write: short write (%d of %d elements)", path,
                        put, cnt);
  }
  return err;
}

static sprec_err write_file(MPI_Comm comm, const char *path, int ndim, int64_t rows,
                            int64_t ncols, int64_t c0, int64_t nc, const double *buf, int c_order)
{
  int rank, p;
  SPREC_MPI(MPI_Comm_rank(comm, &rank));
  SPREC_MPI(MPI_Comm_size(comm, &p));
  sprec_err err = write_args(path, ndim, rows, ncols, c0, nc, buf);
  SPREC_CALL(sprec_agree(comm, err));

  SPREC_CALL(check_layout(comm, path, p, ndim, rows, ncols, c0, nc));

  char hdr[256];
  int hlen = make_header(ndim, rows, ncols, c_order, hdr, sizeof hdr);
  SPREC_CHECK(hlen > 0, SPREC_ERR_ARG, "%s: header too long", path); /* same on all ranks */

  char *tmp = NULL;
  SPREC_CALL(temp_name(comm, rank, path, &tmp));

  MPI_File fh = MPI_FILE_NULL;
  int rc = sprec_comm_file_open(comm, SPREC_COMM_IO, tmp,
                                MPI_MODE_WRONLY | MPI_MODE_CREATE | MPI_MODE_EXCL, &fh);
  int opened = rc == MPI_SUCCESS, created = 0;
  if (!opened) err = sprec_npy_io_error(rc, path, "cannot write");
  /* With MPI_MODE_EXCL, a success anywhere means this call created the file. */
  if (sprec_comm_allreduce(comm, SPREC_COMM_IO, &opened, &created, 1, MPI_INT, MPI_MAX) != MPI_SUCCESS)
    created = 1;
  err = sprec_agree(comm, err);
  if (err) {
    /* Ranks that did open cannot close collectively; the handle is left open rather
     * than risk a hang. */
    if (rank == 0 && created) unlink(tmp);
    free(tmp);
    return sprec_error_trace(err, __FILE__, __LINE__, __func__);
  }
  MPI_File_set_errhandler(fh, MPI_ERRORS_RETURN);

  /* The whole file's space first (a full disk: one error before any write). */
  if (rank == 0) {
    int e = sprec_io_reserve(tmp, (uint64_t)hlen + 8 * (uint64_t)rows * (uint64_t)ncols);
    if (e) err = SPREC_ERROR(SPREC_ERR_IO, "%s: cannot write: %s", path, strerror(e));
  }
  err = sprec_agree(comm, err);
  MPI_Status st;
  if (rank == 0 && !err) {
    rc = sprec_comm_write_at(comm, SPREC_COMM_IO, fh, 0, hdr, hlen, MPI_BYTE, &st);
    if (rc != MPI_SUCCESS) err = sprec_npy_io_error(rc, path, "cannot write");
  }

  /* This rank's columns are one contiguous range of the Fortran-order data. */
  err = write_chunks(comm, fh, path, (MPI_Offset)hlen + (MPI_Offset)8 * rows * c0, rows * nc, buf,
                     err);
  rc = sprec_comm_file_close(comm, SPREC_COMM_IO, &fh);
  if (rc != MPI_SUCCESS && !err) err = sprec_npy_io_error(rc, path, "cannot write");
  err = sprec_agree(comm, err);

  /* Only a complete file gets the final name; anything else is removed. */
  if (rank == 0) {
    if (!err && rename(tmp, path) != 0)
      err = SPREC_ERROR(SPREC_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    if (err) unlink(tmp);
  }
  free(tmp);
  SPREC_CALL(sprec_agree(comm, err));
  return SPREC_OK;
}

/* write_file with Open MPI's own messages muted: a failed write is this error alone. */
static sprec_err write_blocks(MPI_Comm comm, const char *path, int ndim, int64_t rows,
                              int64_t ncols, int64_t c0, int64_t nc, const double *buf,
                              int c_order)
{
  sprec_mute mute = sprec_io_mute();
  sprec_err err = write_file(comm, path, ndim, rows, ncols, c0, nc, buf, c_order);
  sprec_io_unmute(&mute);
  return err;
}

sprec_err sprec_npy_write_cols(MPI_Comm comm, const char *path, int ndim, int64_t rows,
                               int64_t ncols, int64_t c0, int64_t nc, const double *buf)
{
  return write_blocks(comm, path, ndim, rows, ncols, c0, nc, buf, 0);
}

/* A C-order nrows x ncols array is, byte for byte, the Fortran-order ncols x nrows
 * array: its distributed rows are that array's distributed columns. */
sprec_err sprec_npy_write_rows(MPI_Comm comm, const char *path, int64_t nrows, int64_t ncols,
                               int64_t r0, int64_t nr, const double *buf)
{
  return write_blocks(comm, path, 2, ncols, nrows, r0, nr, buf, 1);
}
