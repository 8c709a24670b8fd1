/* .npy files in: the header checked on one rank (its syntax by npy_header.c, its
 * meaning here), then each rank's columns read through MPI-IO.
 *
 * Column view: a 2-D array (m, n) has m rows and n columns. A 1-D array of length n is
 * read (and written: npy_write.c) as 1 x n, so that its "columns" are its elements; its
 * info still says ndim = 1, shape[0] = n, shape[1] = 1 (shape[0] is always the first
 * numpy dimension).
 *
 * Collective behaviour: every failure, even one seen by a single rank, is agreed on
 * with sprec_agree before returning, and a rank that failed keeps taking part in the
 * remaining collective MPI-IO calls (with empty transfers) so that no rank hangs.
 */
#include "fmt.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* Elements of the staging buffer used to transpose C-order data. */
#ifndef SPREC_NPY_TILE
#define SPREC_NPY_TILE ((int64_t)1 << 20)
#endif

/* ---------------------------------------------------------------- inspect -- */
static void shape_str(const sprec_npy_header *d, char *out, size_t len)
{
  size_t k = (size_t)snprintf(out, len, "(");
  for (int i = 0; i < d->ndim && k < len; i++)
    k += (size_t)snprintf(out + k, len - k, "%s%lld", i ? ", " : "", (long long)d->shape[i]);
  if (k < len) snprintf(out + k, len - k, "%s)", d->ndim == 1 ? "," : "");
}

/* Semantic checks of a parsed header; fills info except data_offset. */
static sprec_err header_check(const char *path, const sprec_npy_header *d, sprec_npy_info *info)
{
  if (!d->descr_is_str)
    return SPREC_ERROR(SPREC_ERR_FORMAT,
                       "%s: unsupported dtype (structured) (need little-endian float64 or float32)",
                       path);
  if (!strcmp(d->descr, "<f8")) info->elsize = 8;
  else if (!strcmp(d->descr, "<f4")) info->elsize = 4;
  else {
    char s[40];
    sprec_printable(s, sizeof s, d->descr, sizeof d->descr);
    return SPREC_ERROR(SPREC_ERR_FORMAT,
                       "%s: unsupported dtype '%s' (need little-endian float64 or float32)", path, s);
  }
  char sh[128];
  shape_str(d, sh, sizeof sh);
  if (d->ndim < 1 || d->ndim > 2)
    return SPREC_ERROR(SPREC_ERR_FORMAT,
                       "%s: unsupported %d-D array of shape %s (need a 1-D or 2-D array)", path,
                       d->ndim, sh);
  for (int i = 0; i < d->ndim; i++)
    if (d->shape[i] == 0)
      return SPREC_ERROR(SPREC_ERR_FORMAT, "%s: empty array of shape %s", path, sh);
  info->ndim = d->ndim;
  info->shape[0] = d->shape[0];
  info->shape[1] = d->ndim == 2 ? d->shape[1] : 1;
  info->fortran_order = d->fortran_order;
  return SPREC_OK;
}

/* The header text hdr[0..hlen) of a file of file_size bytes whose data start at
 * offset: the dict, its meaning, and that the file holds exactly the announced data. */
static sprec_err parse_dict(const char *path, const char *hdr, int64_t hlen, int64_t offset,
                            int64_t file_size, sprec_npy_info *info)
{
  sprec_npy_header d;
  SPREC_CALL(sprec_npy_header_dict(path, hdr, hlen, &d));
  SPREC_CALL(header_check(path, &d, info));
  info->data_offset = offset;

  /* The file must hold exactly the announced data: less means a truncated copy, more
   * means the header does not describe the file. */
  if (info->shape[0] > (INT64_MAX - offset) / info->elsize / info->shape[1])
    return SPREC_ERROR(SPREC_ERR_FORMAT, "%s: array shape overflows a 64-bit byte count", path);
  int64_t need = info->shape[0] * info->shape[1] * info->elsize, have = file_size - offset;
  if (have < need)
    return SPREC_ERROR(SPREC_ERR_FORMAT,
                       "%s: truncated: header announces %lld bytes of data, file has %lld", path,
                       (long long)need, (long long)have);
  if (have > need)
    return SPREC_ERROR(SPREC_ERR_FORMAT,
                       "%s: trailing bytes: header announces %lld bytes of data, file has %lld", path,
                       (long long)need, (long long)have);
  return SPREC_OK;
}

sprec_err sprec_npy_parse(const char *path, const void *file, size_t size, sprec_npy_info *info)
{
  const unsigned char *b = file;
  int64_t hstart = 0, hlen = 0;
  memset(info, 0, sizeof *info);
  SPREC_CALL(sprec_npy_header_prefix(path, b, size < SPREC_NPY_PREFIX ? size : SPREC_NPY_PREFIX,
                                     (int64_t)size, &hstart, &hlen));
  /* A copy of exactly the header text: the parser may read nothing past it. */
  char *hdr = NULL;
  SPREC_CALL(sprec_calloc(hlen ? (size_t)hlen : 1, 1, &hdr, "npy header"));
  memcpy(hdr, b + hstart, (size_t)hlen);
  sprec_err err = parse_dict(path, hdr, hlen, hstart + hlen, (int64_t)size, info);
  free(hdr);
  if (err) return sprec_error_trace(err, __FILE__, __LINE__, __func__);
  return SPREC_OK;
}

/* Rank 0's part of sprec_npy_inspect: plain stdio, so that the messages carry the
 * real errno. */
static sprec_err inspect_local(const char *path, sprec_npy_info *info)
{
  sprec_err err = SPREC_OK;
  char *hdr = NULL;
  struct stat pre_st; /* before opening: opening a FIFO with no writer would block */
  SPREC_CHECK(*path, SPREC_ERR_ARG, "the file name is empty");
  if (stat(path, &pre_st) != 0) return SPREC_ERROR(SPREC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  SPREC_CHECK(S_ISREG(pre_st.st_mode), SPREC_ERR_IO, "%s: cannot read: %s", path,
              S_ISDIR(pre_st.st_mode) ? strerror(EISDIR) : "not a regular file");
  FILE *f = fopen(path, "rb");
  if (!f) return SPREC_ERROR(SPREC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));

  struct stat st;
  if (fstat(fileno(f), &st) != 0) {
    err = SPREC_ERROR(SPREC_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    goto done;
  }
  if (S_ISDIR(st.st_mode)) {
    err = SPREC_ERROR(SPREC_ERR_IO, "%s: cannot read: %s", path, strerror(EISDIR));
    goto done;
  }
  if (!S_ISREG(st.st_mode)) {
    err = SPREC_ERROR(SPREC_ERR_IO, "%s: cannot read: not a regular file", path);
    goto done;
  }

  unsigned char pre[SPREC_NPY_PREFIX];
  size_t got = fread(pre, 1, sizeof pre, f);
  if (got < sizeof pre && ferror(f)) {
    err = SPREC_ERROR(SPREC_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    goto done;
  }
  int64_t hstart = 0, hlen = 0;
  SPREC_TRY(sprec_npy_header_prefix(path, pre, got, (int64_t)st.st_size, &hstart, &hlen), done);
  err = sprec_calloc(hlen ? (size_t)hlen : 1, 1, &hdr, "npy header");
  if (err) goto done;
  if (fseeko(f, (off_t)hstart, SEEK_SET) != 0 || fread(hdr, 1, (size_t)hlen, f) != (size_t)hlen) {
    err = SPREC_ERROR(SPREC_ERR_IO, "%s: cannot read: %s", path,
                      ferror(f) ? strerror(errno) : "unexpected end of file");
    goto done;
  }
  SPREC_TRY(parse_dict(path, hdr, hlen, hstart + hlen, (int64_t)st.st_size, info), done);
done:
  free(hdr);
  fclose(f);
  return err;
}

sprec_err sprec_npy_inspect(MPI_Comm comm, const char *path, sprec_npy_info *info)
{
  int rank;
  sprec_err err = SPREC_OK;
  SPREC_MPI(MPI_Comm_rank(comm, &rank));
  if (!path || !info) err = SPREC_ERROR(SPREC_ERR_ARG, "sprec_npy_inspect: NULL %s", path ? "info" : "path");
  SPREC_CALL(sprec_agree(comm, err));
  memset(info, 0, sizeof *info);

  int64_t pk[6] = {0};
  if (rank == 0) {
    sprec_npy_info loc = {0};
    err = inspect_local(path, &loc);
    if (!err) {
      pk[0] = loc.ndim;
      pk[1] = loc.shape[0];
      pk[2] = loc.shape[1];
      pk[3] = loc.fortran_order;
      pk[4] = loc.elsize;
      pk[5] = loc.data_offset;
    }
  }
  SPREC_CALL(sprec_agree(comm, err));
  SPREC_MPI(sprec_comm_bcast(comm, SPREC_COMM_IO, pk, 6, MPI_INT64_T, 0));
  info->ndim = (int)pk[0];
  info->shape[0] = pk[1];
  info->shape[1] = pk[2];
  info->fortran_order = (int)pk[3];
  info->elsize = (int)pk[4];
  info->data_offset = pk[5];
  return SPREC_OK;
}

/* ------------------------------------------------------------------- read -- */
/* Rows and columns of the column view (a 1-D array is 1 x n). */
static void col_view(const sprec_npy_info *info, int64_t *rows, int64_t *cols)
{
  *rows = info->ndim == 1 ? 1 : info->shape[0];
  *cols = info->ndim == 1 ? info->shape[0] : info->shape[1];
}

static sprec_err read_args(const char *path, const sprec_npy_info *info, int64_t c0, int64_t nc,
                           const double *buf)
{
  SPREC_CHECK(path && info, SPREC_ERR_ARG, "sprec_npy_read_cols: NULL %s", path ? "info" : "path");
  SPREC_CHECK((info->ndim == 1 || info->ndim == 2) && (info->elsize == 4 || info->elsize == 8) &&
                  info->shape[0] > 0 && info->shape[1] > 0 && info->data_offset > 0,
              SPREC_ERR_ARG, "%s: invalid sprec_npy_info (not from sprec_npy_inspect?)", path);
  int64_t rows, cols;
  col_view(info, &rows, &cols);
  return sprec_npy_check_block(path, cols, c0, nc, buf);
}

/* Widen n floats stored at byte address src to doubles at dst. src may overlap dst
 * as long as src >= dst + n/2 doubles (the in-place case): element i is loaded before
 * any store can reach it. memcpy keeps this free of aliasing assumptions. */
static void widen(const unsigned char *src, double *dst, int64_t n)
{
  for (int64_t i = 0; i < n; i++) {
    float v;
    memcpy(&v, src + 4 * i, sizeof v);
    dst[i] = (double)v;
  }
}

/* The file view: the stream of this rank's elements in file order (a subarray type for
 * strided columns, else a displacement). Not collective: the caller agrees on it. */
static sprec_err set_view(MPI_Comm comm, MPI_File fh, const char *path, const sprec_npy_info *info, int64_t c0,
                          int64_t nc, int strided)
{
  int64_t rows, cols;
  col_view(info, &rows, &cols);
  MPI_Datatype etype = info->elsize == 8 ? MPI_DOUBLE : MPI_FLOAT, ftype = etype;
  MPI_Offset disp = info->data_offset;
  sprec_err err = SPREC_OK;
  int own_type = 0, rc;
  if (nc > 0 && strided) {
    int sizes[2] = {(int)rows, (int)cols}, sub[2] = {(int)rows, (int)nc}, start[2] = {0, (int)c0};
    rc = MPI_Type_create_subarray(2, sizes, sub, start, MPI_ORDER_C, etype, &ftype);
    if (rc == MPI_SUCCESS) {
      own_type = 1;
      rc = MPI_Type_commit(&ftype);
    }
    if (rc != MPI_SUCCESS) {
      err = sprec_mpi_error(rc, __FILE__, __LINE__, __func__, "MPI_Type_create_subarray");
      ftype = etype;
    }
  } else if (nc > 0) {
    disp += c0 * rows * info->elsize;
  }
  rc = sprec_comm_file_set_view(comm, SPREC_COMM_IO, fh, disp, etype, ftype);
  if (rc != MPI_SUCCESS && !err) err = sprec_npy_io_error(rc, path, "cannot read");
  if (own_type) MPI_Type_free(&ftype);
  return err;
}

/* What a rank reads: total elements of its block (rows x nc) in chunks of chunk
 * elements, staged in tmp when strided, into buf (column-major, leading dimension rows). */
typedef struct {
  const char *path;
  int es, strided;
  int64_t total, chunk, rows, nc;
  unsigned char *tmp;
  double *buf;
} read_job;

/* Stream elements [e0, e0 + cnt) of the block, staged in tmp, into buf. Element e is
 * (row e / nc, column e % nc). */
static void transpose_chunk(const read_job *r, int64_t e0, int cnt)
{
  int64_t i = e0 / r->nc, j = e0 % r->nc;
  for (int t = 0; t < cnt; t++) {
    double v;
    if (r->es == 8) memcpy(&v, r->tmp + 8 * (size_t)t, 8);
    else {
      float f;
      memcpy(&f, r->tmp + 4 * (size_t)t, 4);
      v = f;
    }
    r->buf[j * r->rows + i] = v;
    if (++j == r->nc) {
      j = 0;
      i++;
    }
  }
}

/* Collective. The reads: the same number of collective calls on every rank; those with
 * less (or nothing) to read, or that already failed (err), take part with empty reads.
 * Returns err, or this rank's first read error. */
static sprec_err read_chunks(MPI_Comm comm, MPI_File fh, const read_job *r, sprec_err err)
{
  MPI_Datatype etype = r->es == 8 ? MPI_DOUBLE : MPI_FLOAT;
  int64_t total = r->total, chunk = r->chunk;
  long long ncalls = sprec_npy_calls(comm, total, chunk, &err);
  double dummy = 0;
  for (long long k = 0; k < ncalls; k++) {
    int64_t e0 = k * chunk;
    int cnt = (!err && e0 < total) ? (int)(total - e0 < chunk ? total - e0 : chunk) : 0;
    void *dst = &dummy;
    if (cnt > 0) {
      if (r->strided) dst = r->tmp;
      /* float32, contiguous: read into the upper half of the chunk's own doubles and
       * widen in place. */
      else if (r->es == 4) dst = (unsigned char *)(r->buf + e0) + 4 * (size_t)cnt;
      else dst = r->buf + e0;
    }
    MPI_Status st;
    int rc = sprec_comm_read_at_all(comm, SPREC_COMM_IO, fh, (MPI_Offset)(cnt > 0 ? e0 : 0), dst, cnt,
                                    etype, &st);
    if (cnt == 0) continue;
    int got = 0;
    if (rc != MPI_SUCCESS) {
      err = sprec_npy_io_error(rc, r->path, "cannot read");
      continue;
    }
    MPI_Get_count(&st, etype, &got);
    if (got != cnt) {
      err = SPREC_ERROR(SPREC_ERR_IO, "%s: short read: %d of %d elements (file changed since it "
                        "was inspected?)", r->path, got, cnt);
      continue;
    }
    if (!r->strided) {
      if (r->es == 4) widen(dst, r->buf + e0, cnt);
      continue;
    }
    transpose_chunk(r, e0, cnt);
  }
  return err;
}

sprec_err sprec_npy_read_cols(MPI_Comm comm, const char *path, const sprec_npy_info *info,
                              int64_t c0, int64_t nc, double *buf)
{
  sprec_err err = read_args(path, info, c0, nc, buf);
  SPREC_CALL(sprec_agree(comm, err));

  int64_t rows, cols;
  col_view(info, &rows, &cols);
  const int es = info->elsize;
  /* C-order 2-D data with more than one row: this rank's columns are a strided
   * sub-array, read through a subarray file view as a row-major stream and
   * transposed. Otherwise they are one contiguous byte range. */
  const int strided = info->ndim == 2 && !info->fortran_order && rows > 1;
  const int64_t total = rows * nc;
  const int64_t chunk = strided ? SPREC_NPY_TILE : SPREC_NPY_CHUNK;
  unsigned char *tmp = NULL;

  if (strided && nc > 0) {
    /* MPI subarray types take int sizes. */
    if (rows > INT_MAX || cols > INT_MAX)
      err = SPREC_ERROR(SPREC_ERR_FORMAT,
                        "%s: C-order array of shape (%lld, %lld) is too large to read by columns "
                        "(save it in Fortran order)", path, (long long)rows, (long long)cols);
    else
      err = sprec_calloc((size_t)(total < chunk ? total : chunk), (size_t)es, &tmp, "npy staging buffer");
  }
  SPREC_CALL(sprec_agree(comm, err));

  MPI_File fh = MPI_FILE_NULL;
  sprec_mute mute = sprec_io_mute(); /* a failed read is our error alone, not Open MPI's line too */
  int rc = sprec_comm_file_open(comm, SPREC_COMM_IO, path, MPI_MODE_RDONLY, &fh);
  if (rc != MPI_SUCCESS) err = sprec_npy_io_error(rc, path, "cannot open");
  err = sprec_agree(comm, err);
  if (err) {
    /* If only some ranks failed to open, the others' handle cannot be closed
     * collectively; it is left open rather than risk a hang. */
    sprec_io_unmute(&mute);
    free(tmp);
    return sprec_error_trace(err, __FILE__, __LINE__, __func__);
  }
  MPI_File_set_errhandler(fh, MPI_ERRORS_RETURN);

  err = sprec_agree(comm, set_view(comm, fh, path, info, c0, nc, strided));
  read_job job = {path, es, strided, total, chunk, rows, nc, tmp, buf};
  err = read_chunks(comm, fh, &job, err);
  rc = sprec_comm_file_close(comm, SPREC_COMM_IO, &fh);
  if (rc != MPI_SUCCESS && !err) err = sprec_npy_io_error(rc, path, "cannot close");
  sprec_io_unmute(&mute);
  free(tmp);
  SPREC_CALL(sprec_agree(comm, err));
  return SPREC_OK;
}

