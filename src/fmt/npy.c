/* .npy files: header parsing on one rank, column-block reads and writes through MPI-IO.
 *
 * Format (numpy.lib.format): the magic "\x93NUMPY", a major and a minor version byte,
 * the header length (uint16 LE for version 1, uint32 LE for versions 2 and 3), then a
 * Python dict literal {'descr': ..., 'fortran_order': ..., 'shape': (...), } padded
 * with spaces and ended by '\n'. The data follows the header, without padding.
 *
 * Column view: a 2-D array (m, n) has m rows and n columns. A 1-D array of length n is
 * read and written as 1 x n, so that its "columns" are its elements; its info still
 * says ndim = 1, shape[0] = n, shape[1] = 1 (shape[0] is always the first numpy
 * dimension).
 *
 * Collective behaviour: every failure, even one seen by a single rank, is agreed on
 * with sprec_agree before returning, and a rank that failed keeps taking part in the
 * remaining collective MPI-IO calls (with empty transfers) so that no rank hangs.
 */
#include "npy.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* Elements per collective read/write call on contiguous data. Keeps every MPI count
 * far below INT_MAX and every single transfer below 2 GiB (some MPI-IO layers
 * mishandle larger ones). Overridable at build time to exercise the chunk loops. */
#ifndef SPREC_NPY_CHUNK
#define SPREC_NPY_CHUNK ((int64_t)1 << 26)
#endif
/* Elements of the staging buffer used to transpose C-order data. */
#ifndef SPREC_NPY_TILE
#define SPREC_NPY_TILE ((int64_t)1 << 20)
#endif
/* Refuse absurd header lengths before allocating for them (numpy writes < 1 KiB). */
#define NPY_MAX_HEADER ((int64_t)1 << 24)
/* numpy aligns the data of the files it writes to this many bytes. */
#define NPY_ALIGN 64

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/* The data are little-endian; MPI-IO's "native" representation is used, so the host
 * must be little-endian too. */
static int host_is_little_endian(void)
{
  const uint16_t one = 1;
  unsigned char b;
  memcpy(&b, &one, 1);
  return b == 1;
}

/* A short reason for a failed MPI-IO call: the matching strerror text where the MPI
 * error class has a POSIX equivalent, so that messages read like the stdio ones. */
static void io_reason(int rc, char *s, size_t len)
{
  int cls = MPI_ERR_OTHER, e = 0;
  MPI_Error_class(rc, &cls);
  if (cls == MPI_ERR_NO_SUCH_FILE) e = ENOENT;
  else if (cls == MPI_ERR_ACCESS) e = EACCES;
  else if (cls == MPI_ERR_NO_SPACE) e = ENOSPC;
  else if (cls == MPI_ERR_QUOTA) e = EDQUOT;
  else if (cls == MPI_ERR_READ_ONLY) e = EROFS;
  else if (cls == MPI_ERR_FILE_EXISTS) e = EEXIST;
  if (e) {
    snprintf(s, len, "%s", strerror(e));
    return;
  }
  char m[MPI_MAX_ERROR_STRING];
  int mlen = 0;
  if (MPI_Error_string(rc, m, &mlen) != MPI_SUCCESS) snprintf(m, sizeof m, "MPI error %d", rc);
  snprintf(s, len, "%s", m);
}

static sprec_err io_error(int rc, const char *path, const char *what)
{
  char r[MPI_MAX_ERROR_STRING];
  io_reason(rc, r, sizeof r);
  return SPREC_ERROR(SPREC_ERR_IO, "%s: %s: %s", path, what, r);
}

/* ------------------------------------------------------------ header parser -- */
/* A recursive-descent reader for the small subset of Python literals that numpy
 * writes: strings, True/False and tuples of non-negative integers. It is lenient
 * where numpy's writers varied (key order, quotes, spacing, trailing commas, the 'L'
 * suffix of Python 2 longs) and strict about everything else. */
typedef struct {
  const char *s, *start, *end;
  const char *path;
} hparse;

#define NPY_MAX_NDIM 32

typedef struct {
  char descr[64];     /* "" when the descr is not a string (structured dtype) */
  int descr_is_str;
  int fortran_order;
  int ndim;           /* may exceed 2 here; checked by the caller */
  int64_t shape[NPY_MAX_NDIM];
  int have_descr, have_fortran, have_shape;
} hdict;

static void hp_ws(hparse *p)
{
  while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r'))
    p->s++;
}

static sprec_err hp_syntax(hparse *p, const char *what)
{
  return SPREC_ERROR(SPREC_ERR_FORMAT, "%s: malformed .npy header: %s at header byte %ld",
                     p->path, what, (long)(p->s - p->start));
}

/* Python string literal with ' or " quotes; escapes are kept verbatim (no dtype we
 * accept contains one). */
static sprec_err hp_string(hparse *p, char *out, size_t outlen)
{
  if (p->s >= p->end || (*p->s != '\'' && *p->s != '"')) return hp_syntax(p, "expected a string");
  char q = *p->s++;
  size_t k = 0;
  while (p->s < p->end && *p->s != q) {
    if (*p->s == '\\' && p->s + 1 < p->end) {
      if (k + 1 < outlen) out[k++] = *p->s;
      p->s++;
    }
    if (k + 1 < outlen) out[k++] = *p->s;
    p->s++;
  }
  if (p->s >= p->end) return hp_syntax(p, "unterminated string");
  p->s++;
  out[k] = '\0';
  return SPREC_OK;
}

/* Skip one value we do not interpret (a structured dtype's list): balanced brackets,
 * strings skipped whole. */
static sprec_err hp_skip_value(hparse *p)
{
  int depth = 0;
  while (p->s < p->end) {
    char c = *p->s;
    if (c == '\'' || c == '"') {
      char tmp[2];
      SPREC_CALL(hp_string(p, tmp, sizeof tmp));
      continue;
    }
    if (depth == 0 && (c == ',' || c == '}')) return SPREC_OK;
    if (c == '(' || c == '[' || c == '{') depth++;
    if (c == ')' || c == ']' || c == '}') depth--;
    p->s++;
  }
  return hp_syntax(p, "unterminated value");
}

static int hp_word(hparse *p, const char *w)
{
  size_t n = strlen(w);
  if ((size_t)(p->end - p->s) < n || memcmp(p->s, w, n) != 0) return 0;
  /* Not a prefix of a longer identifier. */
  if (p->s + n < p->end) {
    char c = p->s[n];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')
      return 0;
  }
  p->s += n;
  return 1;
}

static sprec_err hp_int(hparse *p, int64_t *v)
{
  if (p->s >= p->end || *p->s < '0' || *p->s > '9')
    return hp_syntax(p, "expected a non-negative integer in 'shape'");
  int64_t x = 0;
  while (p->s < p->end && *p->s >= '0' && *p->s <= '9') {
    int d = *p->s++ - '0';
    if (x > (INT64_MAX - d) / 10)
      return SPREC_ERROR(SPREC_ERR_FORMAT, "%s: dimension in 'shape' is too large", p->path);
    x = 10 * x + d;
  }
  if (p->s < p->end && (*p->s == 'L' || *p->s == 'l')) p->s++; /* Python 2 long */
  *v = x;
  return SPREC_OK;
}

/* ( ) | ( int [, int]* [,] ) — a single element without comma is accepted too. */
static sprec_err hp_shape(hparse *p, hdict *d)
{
  if (p->s >= p->end || *p->s != '(') return hp_syntax(p, "'shape' is not a tuple");
  p->s++;
  d->ndim = 0;
  hp_ws(p);
  while (p->s < p->end && *p->s != ')') {
    int64_t v = 0;
    SPREC_CALL(hp_int(p, &v));
    if (d->ndim >= NPY_MAX_NDIM)
      return SPREC_ERROR(SPREC_ERR_FORMAT, "%s: 'shape' has more than %d dimensions", p->path,
                         NPY_MAX_NDIM);
    d->shape[d->ndim++] = v;
    hp_ws(p);
    if (p->s < p->end && *p->s == ',') {
      p->s++;
      hp_ws(p);
    } else if (p->s < p->end && *p->s != ')') {
      return hp_syntax(p, "expected ',' or ')' in 'shape'");
    }
  }
  if (p->s >= p->end) return hp_syntax(p, "unterminated 'shape'");
  p->s++;
  return SPREC_OK;
}

static sprec_err hp_dict(hparse *p, hdict *d)
{
  memset(d, 0, sizeof *d);
  hp_ws(p);
  if (p->s >= p->end || *p->s != '{') return hp_syntax(p, "expected '{'");
  p->s++;
  for (;;) {
    hp_ws(p);
    if (p->s < p->end && *p->s == '}') break;
    char key[32];
    SPREC_CALL(hp_string(p, key, sizeof key));
    hp_ws(p);
    if (p->s >= p->end || *p->s != ':') return hp_syntax(p, "expected ':'");
    p->s++;
    hp_ws(p);
    if (!strcmp(key, "descr")) {
      d->have_descr = 1;
      if (p->s < p->end && (*p->s == '\'' || *p->s == '"')) {
        SPREC_CALL(hp_string(p, d->descr, sizeof d->descr));
        d->descr_is_str = 1;
      } else {
        SPREC_CALL(hp_skip_value(p));
        d->descr_is_str = 0;
        d->descr[0] = '\0';
      }
    } else if (!strcmp(key, "fortran_order")) {
      d->have_fortran = 1;
      if (hp_word(p, "True")) d->fortran_order = 1;
      else if (hp_word(p, "False")) d->fortran_order = 0;
      else return hp_syntax(p, "'fortran_order' is not True or False");
    } else if (!strcmp(key, "shape")) {
      d->have_shape = 1;
      SPREC_CALL(hp_shape(p, d));
    } else {
      char k[40];
      sprec_printable(k, sizeof k, key, sizeof key);
      return SPREC_ERROR(SPREC_ERR_FORMAT, "%s: malformed .npy header: unexpected key '%s'",
                         p->path, k);
    }
    hp_ws(p);
    if (p->s < p->end && *p->s == ',') {
      p->s++;
      continue;
    }
    if (p->s < p->end && *p->s == '}') break;
    return hp_syntax(p, "expected ',' or '}'");
  }
  p->s++; /* '}' */
  hp_ws(p);
  if (p->s != p->end) return hp_syntax(p, "unexpected text after the dict");
  if (!d->have_descr || !d->have_fortran || !d->have_shape)
    return SPREC_ERROR(SPREC_ERR_FORMAT, "%s: malformed .npy header: missing key '%s'", p->path,
                       !d->have_descr ? "descr" : !d->have_fortran ? "fortran_order" : "shape");
  return SPREC_OK;
}

/* ---------------------------------------------------------------- inspect -- */
static void shape_str(const hdict *d, char *out, size_t len)
{
  size_t k = (size_t)snprintf(out, len, "(");
  for (int i = 0; i < d->ndim && k < len; i++)
    k += (size_t)snprintf(out + k, len - k, "%s%lld", i ? ", " : "", (long long)d->shape[i]);
  if (k < len) snprintf(out + k, len - k, "%s)", d->ndim == 1 ? "," : "");
}

/* Semantic checks of a parsed header; fills info except data_offset. */
static sprec_err header_check(const char *path, const hdict *d, sprec_npy_info *info)
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

/* The fixed prefix of a .npy file: magic, version and header length, from its first
 * got bytes (at most 12). Gives where the header text starts and its length, checked
 * against the size of the file. */
static sprec_err parse_prefix(const char *path, const unsigned char *pre, size_t got,
                              int64_t file_size, int64_t *hstart, int64_t *hlen)
{
  if (got < sizeof npy_magic || memcmp(pre, npy_magic, sizeof npy_magic) != 0)
    return SPREC_ERROR(SPREC_ERR_FORMAT, "%s: not a .npy file (bad magic)", path);
  if (got < 8) return SPREC_ERROR(SPREC_ERR_FORMAT, "%s: truncated .npy header", path);
  int major = pre[6], minor = pre[7];
  if (major < 1 || major > 3)
    return SPREC_ERROR(SPREC_ERR_FORMAT, "%s: unsupported .npy format version %d.%d (need 1, 2 or 3)",
                       path, major, minor);
  int lenbytes = major == 1 ? 2 : 4;
  if (got < (size_t)(8 + lenbytes))
    return SPREC_ERROR(SPREC_ERR_FORMAT, "%s: truncated .npy header", path);
  uint64_t h = sprec_le(pre + 8, lenbytes);
  if ((int64_t)h > NPY_MAX_HEADER)
    return SPREC_ERROR(SPREC_ERR_FORMAT, "%s: .npy header length %llu is implausibly large", path,
                       (unsigned long long)h);
  if (file_size < 8 + lenbytes + (int64_t)h)
    return SPREC_ERROR(SPREC_ERR_FORMAT,
                       "%s: truncated .npy header: announces %lld bytes, file has %lld in all", path,
                       (long long)h, (long long)file_size);
  *hstart = 8 + lenbytes;
  *hlen = (int64_t)h;
  return SPREC_OK;
}

/* The header text hdr[0..hlen) of a file of file_size bytes whose data start at
 * offset: the dict, its meaning, and that the file holds exactly the announced data. */
static sprec_err parse_dict(const char *path, const char *hdr, int64_t hlen, int64_t offset,
                            int64_t file_size, sprec_npy_info *info)
{
  /* Versions 1 and 2 are latin-1, version 3 UTF-8; the syntax we need is ASCII and
   * non-ASCII bytes can only appear inside strings, which are compared bytewise. A
   * NUL would end the string functions early, so it is rejected. */
  if (memchr(hdr, '\0', (size_t)hlen))
    return SPREC_ERROR(SPREC_ERR_FORMAT, "%s: malformed .npy header: contains a NUL byte", path);

  hparse p = {hdr, hdr, hdr + hlen, path};
  hdict d;
  SPREC_CALL(hp_dict(&p, &d));
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
  SPREC_CALL(parse_prefix(path, b, size < 12 ? size : 12, (int64_t)size, &hstart, &hlen));
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

  unsigned char pre[12];
  size_t got = fread(pre, 1, sizeof pre, f);
  if (got < sizeof pre && ferror(f)) {
    err = SPREC_ERROR(SPREC_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    goto done;
  }
  int64_t hstart = 0, hlen = 0;
  SPREC_TRY(parse_prefix(path, pre, got, (int64_t)st.st_size, &hstart, &hlen), done);
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
  SPREC_MPI(MPI_Bcast(pk, 6, MPI_INT64_T, 0, comm));
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
  SPREC_CHECK(c0 >= 0 && nc >= 0 && c0 <= cols && nc <= cols - c0, SPREC_ERR_ARG,
              "%s: columns [%lld, %lld) out of range (array has %lld)", path, (long long)c0,
              (long long)(c0 + nc), (long long)cols);
  SPREC_CHECK(nc == 0 || buf, SPREC_ERR_ARG, "%s: NULL buffer", path);
  SPREC_CHECK(host_is_little_endian(), SPREC_ERR_ARG, "%s: big-endian hosts are not supported",
              path);
  return SPREC_OK;
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
static sprec_err set_view(MPI_File fh, const char *path, const sprec_npy_info *info, int64_t c0,
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
  rc = MPI_File_set_view(fh, disp, etype, ftype, "native", MPI_INFO_NULL);
  if (rc != MPI_SUCCESS && !err) err = io_error(rc, path, "cannot read");
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
  long long mine = err ? 0 : (total + chunk - 1) / chunk, ncalls = 0;
  int rc = MPI_Allreduce(&mine, &ncalls, 1, MPI_LONG_LONG, MPI_MAX, comm);
  if (rc != MPI_SUCCESS) {
    if (!err) err = sprec_mpi_error(rc, __FILE__, __LINE__, __func__, "MPI_Allreduce");
    ncalls = 0;
  }
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
    rc = MPI_File_read_at_all(fh, (MPI_Offset)(cnt > 0 ? e0 : 0), dst, cnt, etype, &st);
    if (cnt == 0) continue;
    int got = 0;
    if (rc != MPI_SUCCESS) {
      err = io_error(rc, r->path, "cannot read");
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
  int rc = MPI_File_open(comm, (char *)path, MPI_MODE_RDONLY, MPI_INFO_NULL, &fh);
  if (rc != MPI_SUCCESS) err = io_error(rc, path, "cannot open");
  err = sprec_agree(comm, err);
  if (err) {
    /* If only some ranks failed to open, the others' handle cannot be closed
     * collectively; it is left open rather than risk a hang. */
    free(tmp);
    return sprec_error_trace(err, __FILE__, __LINE__, __func__);
  }
  MPI_File_set_errhandler(fh, MPI_ERRORS_RETURN);

  err = sprec_agree(comm, set_view(fh, path, info, c0, nc, strided));
  read_job job = {path, es, strided, total, chunk, rows, nc, tmp, buf};
  err = read_chunks(comm, fh, &job, err);
  rc = MPI_File_close(&fh);
  if (rc != MPI_SUCCESS && !err) err = io_error(rc, path, "cannot close");
  free(tmp);
  SPREC_CALL(sprec_agree(comm, err));
  return SPREC_OK;
}

/* ------------------------------------------------------------------ write -- */
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
  memcpy(out, npy_magic, 6);
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
  SPREC_CHECK(c0 >= 0 && nc >= 0 && c0 <= ncols && nc <= ncols - c0, SPREC_ERR_ARG,
              "%s: columns [%lld, %lld) out of range (array has %lld)", path, (long long)c0,
              (long long)(c0 + nc), (long long)ncols);
  SPREC_CHECK(nc == 0 || buf, SPREC_ERR_ARG, "%s: NULL buffer", path);
  SPREC_CHECK(host_is_little_endian(), SPREC_ERR_ARG, "%s: big-endian hosts are not supported",
              path);
  return SPREC_OK;
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
  SPREC_MPI(MPI_Bcast(&len, 1, MPI_INT, 0, comm));
  if (rank != 0) err = sprec_calloc((size_t)len + 1, 1, &s, "temporary file name");
  err = sprec_agree(comm, err);
  if (err) {
    free(s);
    return sprec_error_trace(err, __FILE__, __LINE__, __func__);
  }
  int rc = MPI_Bcast(s, len + 1, MPI_CHAR, 0, comm);
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
  int rc = MPI_Allgather(me, 5, MPI_INT64_T, all, 5, MPI_INT64_T, comm);
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
  long long mine = (total + chunk - 1) / chunk, ncalls = 0;
  int rc = MPI_Allreduce(&mine, &ncalls, 1, MPI_LONG_LONG, MPI_MAX, comm);
  if (rc != MPI_SUCCESS) {
    if (!err) err = sprec_mpi_error(rc, __FILE__, __LINE__, __func__, "MPI_Allreduce");
    ncalls = 0;
  }
  double dummy = 0;
  MPI_Status st;
  for (long long k = 0; k < ncalls; k++) {
    int64_t e0 = k * chunk;
    int cnt = (!err && e0 < total) ? (int)(total - e0 < chunk ? total - e0 : chunk) : 0;
    rc = MPI_File_write_at_all(fh, cnt ? base + 8 * (MPI_Offset)e0 : 0, cnt ? buf + e0 : &dummy,
                               cnt, MPI_DOUBLE, &st);
    if (cnt == 0) continue;
    if (rc != MPI_SUCCESS) {
      err = io_error(rc, path, "cannot write");
      continue;
    }
    int put = 0;
    MPI_Get_count(&st, MPI_DOUBLE, &put);
    if (put != cnt)
      err = SPREC_ERROR(SPREC_ERR_IO, "%s: cannot write: short write (%d of %d elements)", path,
                        put, cnt);
  }
  return err;
}

static sprec_err write_blocks(MPI_Comm comm, const char *path, int ndim, int64_t rows,
                              int64_t ncols, int64_t c0, int64_t nc, const double *buf,
                              int c_order)
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
  int rc = MPI_File_open(comm, tmp, MPI_MODE_WRONLY | MPI_MODE_CREATE | MPI_MODE_EXCL,
                         MPI_INFO_NULL, &fh);
  int opened = rc == MPI_SUCCESS, created = 0;
  if (!opened) err = io_error(rc, path, "cannot write");
  /* With MPI_MODE_EXCL, a success anywhere means this call created the file. */
  if (MPI_Allreduce(&opened, &created, 1, MPI_INT, MPI_MAX, comm) != MPI_SUCCESS) created = 1;
  err = sprec_agree(comm, err);
  if (err) {
    /* Ranks that did open cannot close collectively; the handle is left open rather
     * than risk a hang. */
    if (rank == 0 && created) unlink(tmp);
    free(tmp);
    return sprec_error_trace(err, __FILE__, __LINE__, __func__);
  }
  MPI_File_set_errhandler(fh, MPI_ERRORS_RETURN);

  MPI_Status st;
  if (rank == 0) {
    rc = MPI_File_write_at(fh, 0, hdr, hlen, MPI_BYTE, &st);
    if (rc != MPI_SUCCESS) err = io_error(rc, path, "cannot write");
  }

  /* This rank's columns are one contiguous range of the Fortran-order data. */
  err = write_chunks(comm, fh, path, (MPI_Offset)hlen + (MPI_Offset)8 * rows * c0, rows * nc, buf,
                     err);
  rc = MPI_File_close(&fh);
  if (rc != MPI_SUCCESS && !err) err = io_error(rc, path, "cannot write");
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
