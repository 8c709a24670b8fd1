/* scipy.sparse.save_npz files: a zip archive (stored or deflated members, Zip64
 * included) of indices.npy, indptr.npy, data.npy, shape.npy and format.npy. Each rank
 * reads its columns' slice of indptr, then its range of indices and data: straight
 * from the file for a stored member; by inflating the member's stream for a deflated
 * one (zlib's raw inflate), keeping only its range, through fixed-size buffers, and
 * checking the CRC over the whole member. No size field is used before it is checked
 * against the file: members lie inside the archive, a deflated member claims at most
 * deflate's largest ratio (1032:1) of its compressed size, and every .npy header must
 * announce exactly the bytes its member holds. The members' .npy headers go through
 * the parser of .npy files (npy_header.c): the same syntax is accepted. */
#include "fmt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define ZBUF ((size_t)256 << 10) /* compressed input, and output being skipped */

typedef struct {
  const char *path, *name;
  int fd, method;
  uint64_t off, csize, usize; /* data start in the file; compressed, uncompressed size */
  uint32_t crc;               /* as the central directory records it               */
  z_stream z;
  int zinit, ended;
  unsigned char *in, *skip;
  uint64_t in_pos, out_pos; /* compressed bytes consumed, uncompressed produced */
  uLong crc_run;
  /* the .npy array in the member */
  char kind;     /* 'i', 'f', 'S', 'U'                                  */
  int itemsize;  /* bytes                                               */
  int ndim;
  int64_t count; /* elements                                            */
  uint64_t hdr;  /* bytes before the data                               */
} member;

static sprec_err pread_all(int fd, const char *path, void *buf, size_t len, uint64_t off,
                           const char *what)
{
  size_t got = 0;
  while (got < len) {
    ssize_t k = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
    if (k < 0 && errno == EINTR) continue;
    SPREC_CHECK(k >= 0, SPREC_ERR_IO, "%s: cannot read %s: %s", path, what, strerror(errno));
    SPREC_CHECK(k > 0, SPREC_ERR_FORMAT, "%s: truncated: %s ends past the end of the file", path,
                what);
    got += (size_t)k;
  }
  return SPREC_OK;
}

/* ------------------------------------------------------------ the archive -- */
typedef struct {
  uint64_t cd_off, cd_size, entries, end; /* end: where the central directory must end */
} zdir;

/* Zip64's end record, when the locator stands just before the classic one at e. */
static sprec_err find_zip64(int fd, const char *path, uint64_t e, zdir *d)
{
  unsigned char loc[20], rec[56];
  if (e < 20) return SPREC_OK;
  SPREC_CALL(pread_all(fd, path, loc, 20, e - 20, "the Zip64 locator"));
  if (sprec_le(loc, 4) != 0x07064b50) return SPREC_OK;
  uint64_t r = sprec_le(loc + 8, 8);
  SPREC_CHECK(r <= e - 20 && e - 20 - r >= 56, SPREC_ERR_FORMAT,
              "%s: the Zip64 end record lies outside the archive", path);
  SPREC_CALL(pread_all(fd, path, rec, 56, r, "the Zip64 end record"));
  SPREC_CHECK(sprec_le(rec, 4) == 0x06064b50, SPREC_ERR_FORMAT, "%s: bad Zip64 end record", path);
  d->entries = sprec_le(rec + 32, 8);
  d->cd_size = sprec_le(rec + 40, 8);
  d->cd_off = sprec_le(rec + 48, 8);
  d->end = r;
  return SPREC_OK;
}

static sprec_err find_dir(int fd, const char *path, uint64_t fsize, zdir *d)
{
  unsigned char tail[22 + 65535];
  size_t tl = fsize < sizeof tail ? (size_t)fsize : sizeof tail;
  SPREC_CHECK(fsize >= 22, SPREC_ERR_FORMAT,
              "%s: not a zip archive (%llu bytes): truncated, or not a .npz", path,
              (unsigned long long)fsize);
  SPREC_CALL(pread_all(fd, path, tail, tl, fsize - tl, "the end of the archive"));
  int64_t at = -1;
  for (int64_t p = (int64_t)tl - 22; p >= 0 && at < 0; p--)
    if (sprec_le(tail + p, 4) == 0x06054b50 && (uint64_t)p + 22 + sprec_le(tail + p + 20, 2) == tl) at = p;
  SPREC_CHECK(at >= 0, SPREC_ERR_FORMAT,
              "%s: not a zip archive (no end of central directory record): truncated, or not "
              "a .npz",
              path);
  const unsigned char *e = tail + at;
  SPREC_CHECK(sprec_le(e + 4, 2) == 0 && sprec_le(e + 6, 2) == 0, SPREC_ERR_FORMAT,
              "%s: multi-part zip archives are not supported", path);
  d->entries = sprec_le(e + 10, 2);
  d->cd_size = sprec_le(e + 12, 4);
  d->cd_off = sprec_le(e + 16, 4);
  d->end = fsize - tl + (uint64_t)at;
  SPREC_CALL(find_zip64(fd, path, d->end, d));
  SPREC_CHECK(d->cd_off <= d->end && d->cd_size <= d->end - d->cd_off, SPREC_ERR_FORMAT,
              "%s: the central directory lies outside the archive: truncated?", path);
  SPREC_CHECK(d->cd_size <= (1 << 20), SPREC_ERR_FORMAT,
              "%s: central directory of %llu bytes: not a scipy.sparse.save_npz file", path,
              (unsigned long long)d->cd_size);
  return SPREC_OK;
}

/* The Zip64 extra field of a central directory entry: the 64-bit values of the fields
 * that hold 0xFFFFFFFF, in the order usize, csize, offset. */
static sprec_err zip64_extra(const char *path, const unsigned char *x, size_t xl, uint64_t *v[3])
{
  while (xl >= 4) {
    size_t id = sprec_le(x, 2), sz = sprec_le(x + 2, 2);
    SPREC_CHECK(sz <= xl - 4, SPREC_ERR_FORMAT, "%s: bad extra field in the central directory",
                path);
    if (id == 1) {
      size_t at = 0;
      for (int k = 0; k < 3; k++)
        if (*v[k] == 0xFFFFFFFFu) {
          SPREC_CHECK(at + 8 <= sz, SPREC_ERR_FORMAT, "%s: short Zip64 extra field", path);
          *v[k] = sprec_le(x + 4 + at, 8);
          at += 8;
        }
      return SPREC_OK;
    }
    x += 4 + sz, xl -= 4 + sz;
  }
  return SPREC_OK;
}

/* The central directory entry of member mb->name, or an error naming it. */
static sprec_err find_entry(const char *path, const unsigned char *cd, const zdir *d, member *mb)
{
  size_t p = 0, nl = strlen(mb->name);
  for (uint64_t k = 0; k < d->entries; k++) {
    SPREC_CHECK(p + 46 <= d->cd_size && sprec_le(cd + p, 4) == 0x02014b50, SPREC_ERR_FORMAT,
                "%s: damaged central directory (entry %llu)", path, (unsigned long long)k);
    size_t n = sprec_le(cd + p + 28, 2), x = sprec_le(cd + p + 30, 2), c = sprec_le(cd + p + 32, 2);
    SPREC_CHECK(p + 46 + n + x + c <= d->cd_size, SPREC_ERR_FORMAT,
                "%s: damaged central directory (entry %llu)", path, (unsigned long long)k);
    if (n == nl && memcmp(cd + p + 46, mb->name, nl) == 0) {
      SPREC_CHECK(!(sprec_le(cd + p + 8, 2) & 1), SPREC_ERR_FORMAT, "%s: %s is encrypted", path,
                  mb->name);
      mb->method = (int)sprec_le(cd + p + 10, 2);
      mb->crc = (uint32_t)sprec_le(cd + p + 16, 4);
      mb->csize = sprec_le(cd + p + 20, 4);
      mb->usize = sprec_le(cd + p + 24, 4);
      mb->off = sprec_le(cd + p + 42, 4);
      uint64_t *v[3] = {&mb->usize, &mb->csize, &mb->off};
      return zip64_extra(path, cd + p + 46 + n, x, v);
    }
    p += 46 + n + x + c;
  }
  return SPREC_ERROR(SPREC_ERR_FORMAT, "%s: no %s in the archive (not a scipy.sparse.save_npz file)",
                     path, mb->name);
}

/* The member's data: after its local header, inside the archive, sizes plausible. */
static sprec_err locate(int fd, const char *path, const zdir *d, member *mb)
{
  unsigned char h[30];
  SPREC_CHECK(mb->off <= d->cd_off && d->cd_off - mb->off >= 30, SPREC_ERR_FORMAT,
              "%s: %s: local header outside the archive", path, mb->name);
  SPREC_CALL(pread_all(fd, path, h, 30, mb->off, mb->name));
  SPREC_CHECK(sprec_le(h, 4) == 0x04034b50, SPREC_ERR_FORMAT, "%s: %s: bad local header", path,
              mb->name);
  uint64_t data = mb->off + 30 + sprec_le(h + 26, 2) + sprec_le(h + 28, 2);
  SPREC_CHECK(data <= d->cd_off && mb->csize <= d->cd_off - data, SPREC_ERR_FORMAT,
              "%s: truncated: %s ends past the end of the archive's data", path, mb->name);
  mb->off = data;
  SPREC_CHECK(mb->method == 0 || mb->method == 8, SPREC_ERR_FORMAT,
              "%s: %s: compression method %d (stored or deflated expected)", path, mb->name,
              mb->method);
  SPREC_CHECK(mb->method != 0 || mb->csize == mb->usize, SPREC_ERR_FORMAT,
              "%s: %s: stored member with two sizes", path, mb->name);
  SPREC_CHECK(mb->method != 8 || mb->usize / 1032 <= mb->csize, SPREC_ERR_FORMAT,
              "%s: %s: claims %llu bytes from %llu compressed, more than deflate can give", path,
              mb->name, (unsigned long long)mb->usize, (unsigned long long)mb->csize);
  return SPREC_OK;
}

/* ------------------------------------------------------------- a member -- */
/* want bytes of the member's stream into out (deflated members, forward only). */
static sprec_err inflate_into(member *mb, unsigned char *out, size_t want)
{
  z_stream *z = &mb->z;
  while (want > 0) {
    SPREC_CHECK(!mb->ended, SPREC_ERR_FORMAT, "%s: %s: holds fewer bytes than its size says",
                mb->path, mb->name);
    if (z->avail_in == 0) {
      SPREC_CHECK(mb->in_pos < mb->csize, SPREC_ERR_FORMAT,
                  "%s: %s: the compressed stream is cut short: truncated?", mb->path, mb->name);
      size_t k = mb->csize - mb->in_pos < ZBUF ? (size_t)(mb->csize - mb->in_pos) : ZBUF;
      SPREC_CALL(pread_all(mb->fd, mb->path, mb->in, k, mb->off + mb->in_pos, mb->name));
      mb->in_pos += k;
      z->next_in = mb->in;
      z->avail_in = (uInt)k;
    }
    size_t chunk = want < ((size_t)1 << 30) ? want : (size_t)1 << 30;
    z->next_out = out;
    z->avail_out = (uInt)chunk;
    int rc = inflate(z, Z_NO_FLUSH);
    size_t got = chunk - z->avail_out;
    SPREC_CHECK(rc == Z_OK || rc == Z_STREAM_END || (rc == Z_BUF_ERROR && z->avail_in == 0),
                SPREC_ERR_FORMAT, "%s: %s: corrupt compressed data (%s)", mb->path, mb->name,
                z->msg ? z->msg : "inflate failed");
    mb->ended = rc == Z_STREAM_END;
    mb->crc_run = crc32(mb->crc_run, out, (uInt)got);
    mb->out_pos += got;
    out += got, want -= got;
  }
  return SPREC_OK;
}

/* Bytes [pos, pos + len) of the member (pos at or past what was read before). */
static sprec_err mread(member *mb, uint64_t pos, uint64_t len, void *dst)
{
  if (mb->method == 0) return pread_all(mb->fd, mb->path, dst, len, mb->off + pos, mb->name);
  while (mb->out_pos < pos) {
    size_t k = pos - mb->out_pos < ZBUF ? (size_t)(pos - mb->out_pos) : ZBUF;
    SPREC_CALL(inflate_into(mb, mb->skip, k));
  }
  return inflate_into(mb, dst, len);
}

/* A deflated member read to its end: exactly its size, and its CRC. */
static sprec_err mfinish(member *mb)
{
  if (mb->method == 0) return SPREC_OK;
  SPREC_CALL(mread(mb, mb->usize, 0, NULL));
  unsigned char extra;
  if (!mb->ended) {
    sprec_err e = inflate_into(mb, &extra, 1);
    SPREC_CHECK(e != SPREC_OK, SPREC_ERR_FORMAT, "%s: %s: holds more bytes than its size says",
                mb->path, mb->name);
    SPREC_CHECK(mb->ended, SPREC_ERR_FORMAT, "%s: %s: the compressed stream is cut short",
                mb->path, mb->name);
  }
  SPREC_CHECK((uint32_t)mb->crc_run == mb->crc, SPREC_ERR_FORMAT,
              "%s: %s: CRC mismatch (recorded %08x, computed %08x): the file is damaged",
              mb->path, mb->name, (unsigned)mb->crc, (unsigned)mb->crc_run);
  return SPREC_OK;
}

static sprec_err mopen(int fd, const char *path, const unsigned char *cd, const zdir *d,
                       const char *name, member *mb)
{
  memset(mb, 0, sizeof *mb);
  mb->fd = fd;
  mb->path = path;
  mb->name = name;
  mb->crc_run = crc32(0, NULL, 0);
  SPREC_CALL(find_entry(path, cd, d, mb));
  SPREC_CALL(locate(fd, path, d, mb));
  if (mb->method == 8) {
    SPREC_CALL(sprec_calloc(ZBUF, 1, &mb->in, "inflate buffer"));
    SPREC_CALL(sprec_calloc(ZBUF, 1, &mb->skip, "inflate buffer"));
    SPREC_CHECK(inflateInit2(&mb->z, -MAX_WBITS) == Z_OK, SPREC_ERR_MEM,
                "%s: cannot start inflating %s", path, name);
    mb->zinit = 1;
  }
  return SPREC_OK;
}

static void mclose(member *mb)
{
  if (mb->zinit) inflateEnd(&mb->z);
  free(mb->in);
  free(mb->skip);
  mb->in = mb->skip = NULL;
  mb->zinit = 0;
}

/* -------------------------------------------------------- the .npy arrays -- */
/* What the member's header says, as far as this reader uses it: the dtype ('<' or '|',
 * then i, f, S or U, then its size, 1 to 64: bytes, or characters for U), at most one
 * dimension in Fortran order, and the element count. Which dtype each member may have
 * is checked where it is read (want_type, read_kind_shape). who: "FILE: MEMBER". */
static sprec_err member_array(member *mb, const char *who, const sprec_npy_header *h)
{
  const char *d = h->descr;
  size_t k = strlen(d);
  int digits = h->descr_is_str && k >= 3 && k <= 4;
  for (size_t i = 2; digits && i < k; i++) digits = d[i] >= '0' && d[i] <= '9';
  int sz = digits ? atoi(d + 2) : 0;
  char s[40];
  SPREC_CHECK(h->descr_is_str, SPREC_ERR_FORMAT, "%s: unsupported dtype (structured)", who);
  SPREC_CHECK(sz >= 1 && sz <= 64 && strchr("ifSU", d[1]) &&
                  (d[0] == '<' || (d[0] == '|' && d[1] != 'U')),
              SPREC_ERR_FORMAT, "%s: unsupported dtype '%s'", who,
              sprec_printable(s, sizeof s, d, sizeof h->descr));
  mb->kind = d[1];
  mb->itemsize = d[1] == 'U' ? 4 * sz : sz;
  mb->count = 1;
  mb->ndim = h->ndim;
  for (int i = 0; i < h->ndim; i++) {
    SPREC_CHECK(h->shape[i] == 0 || mb->count <= INT64_MAX / h->shape[i], SPREC_ERR_FORMAT,
                "%s: shape too large", who);
    mb->count *= h->shape[i];
  }
  SPREC_CHECK(!h->fortran_order || h->ndim <= 1, SPREC_ERR_FORMAT, "%s: Fortran-order array",
              who);
  return SPREC_OK;
}

/* The member's .npy header (npy_header.c's parser, as for a .npy file): an array of one
 * or no dimension holding exactly the member's bytes. */
static sprec_err npy_header(member *mb)
{
  char who[1100]; /* "FILE: MEMBER", as long as a message can be */
  snprintf(who, sizeof who, "%s: %s", mb->path, mb->name);
  unsigned char pre[SPREC_NPY_PREFIX];
  size_t got = mb->usize < sizeof pre ? (size_t)mb->usize : sizeof pre;
  int64_t at = 0, hl = 0;
  SPREC_CALL(mread(mb, 0, got, pre));
  SPREC_CALL(sprec_npy_header_prefix(who, pre, got, (int64_t)mb->usize, &at, &hl));
  /* The header is held whole (numpy's are under 1 KiB). It ends past the prefix: a
   * deflated member is read forward only, and the prefix is read already. */
  SPREC_CHECK(hl <= 65536 && at + hl >= SPREC_NPY_PREFIX, SPREC_ERR_FORMAT,
              "%s: bad .npy header length", who);
  char *h = NULL;
  sprec_npy_header hd;
  SPREC_CALL(sprec_calloc((size_t)hl, 1, &h, "a .npy header"));
  memcpy(h, pre + at, SPREC_NPY_PREFIX - (size_t)at);
  sprec_err err = mread(mb, SPREC_NPY_PREFIX, (uint64_t)(hl - (SPREC_NPY_PREFIX - at)),
                        h + (SPREC_NPY_PREFIX - at));
  if (!err) err = sprec_npy_header_dict(who, h, hl, &hd);
  free(h);
  SPREC_CALL(err);
  SPREC_CALL(member_array(mb, who, &hd));
  mb->hdr = (uint64_t)(at + hl);
  uint64_t data = mb->usize - mb->hdr;
  SPREC_CHECK(mb->ndim <= 1 && (uint64_t)mb->count <= data / (uint64_t)mb->itemsize &&
                  (uint64_t)mb->count * (uint64_t)mb->itemsize == data,
              SPREC_ERR_FORMAT,
              "%s: %s: the .npy header announces %lld values (%d-D) but the member holds %llu "
              "bytes of data",
              mb->path, mb->name, (long long)mb->count, mb->ndim, (unsigned long long)data);
  return SPREC_OK;
}

/* Elements [first, first + cnt) of an integer or float member, widened to 8 bytes in
 * place (out holds cnt 8-byte values). */
static sprec_err read_range(member *mb, int64_t first, int64_t cnt, void *out)
{
  int w = mb->itemsize;
  SPREC_CALL(mread(mb, mb->hdr + (uint64_t)first * (uint64_t)w, (uint64_t)cnt * (uint64_t)w, out));
  if (w == 8) return SPREC_OK;
  for (int64_t t = cnt - 1; t >= 0; t--) { /* backwards: the 8-byte slots overlap later ones */
    if (mb->kind == 'i') {
      int32_t v;
      memcpy(&v, (char *)out + t * 4, 4);
      ((int64_t *)out)[t] = v;
    } else {
      float v;
      memcpy(&v, (char *)out + t * 4, 4);
      ((double *)out)[t] = v;
    }
  }
  return SPREC_OK;
}

static sprec_err want_type(const member *mb, char kind, int ndim, const char *what)
{
  SPREC_CHECK(mb->kind == kind && (mb->itemsize == 4 || mb->itemsize == 8) && mb->ndim == ndim,
              SPREC_ERR_FORMAT, "%s: %s: must be a %d-D array of %s (has %s%d, %d-D)", mb->path,
              mb->name, ndim, what, mb->kind == 'i' ? "int" : mb->kind == 'f' ? "float" : "text",
              8 * mb->itemsize, mb->ndim);
  return SPREC_OK;
}

/* ---------------------------------------------------------------- reading -- */
enum { M_FORMAT, M_SHAPE, M_INDPTR, M_INDICES, M_DATA, M_COUNT };
static const char *const member_names[M_COUNT] = {"format.npy", "shape.npy", "indptr.npy",
                                                  "indices.npy", "data.npy"};

/* format.npy says csc; shape.npy gives m x n. */
static sprec_err read_kind_shape(member *mb, int64_t *m, int64_t *n)
{
  member *f = &mb[M_FORMAT], *s = &mb[M_SHAPE];
  char fmt[65] = {0}, txt[17] = {0};
  SPREC_CHECK((f->kind == 'S' || f->kind == 'U') && f->count == 1 && f->itemsize <= 64,
              SPREC_ERR_FORMAT, "%s: format.npy: must hold one short string", f->path);
  SPREC_CALL(mread(f, f->hdr, (uint64_t)f->itemsize, fmt));
  for (int i = 0, k = 0; i < f->itemsize && k < 16; i += f->kind == 'U' ? 4 : 1)
    if (fmt[i]) txt[k++] = fmt[i] > 32 && fmt[i] < 127 ? fmt[i] : '?'; /* one printable line */
  SPREC_CALL(mfinish(f));
  SPREC_CHECK(strcmp(txt, "csr") != 0, SPREC_ERR_FORMAT,
              "%s: holds a CSR matrix: save the CSC form, scipy.sparse.save_npz(path, A.tocsc())",
              f->path);
  SPREC_CHECK(strcmp(txt, "csc") == 0, SPREC_ERR_FORMAT,
              "%s: holds a '%.16s' matrix: only CSC is read (save A.tocsc())", f->path, txt);
  SPREC_CALL(want_type(s, 'i', 1, "int64"));
  SPREC_CHECK(s->count == 2, SPREC_ERR_FORMAT, "%s: shape.npy: must hold 2 values", s->path);
  int64_t sh[2];
  SPREC_CALL(read_range(s, 0, 2, sh));
  SPREC_CALL(mfinish(s));
  SPREC_CHECK(sh[0] > 0 && sh[1] > 0, SPREC_ERR_FORMAT, "%s: shape %lld x %lld is empty", s->path,
              (long long)sh[0], (long long)sh[1]);
  *m = sh[0];
  *n = sh[1];
  return SPREC_OK;
}

/* This rank's slice of indptr: monotone, within [0, nnz], 0 first and nnz last. */
static sprec_err read_indptr(member *mb, sprec_csc_local *a, int64_t nnz)
{
  member *ip = &mb[M_INDPTR];
  const char *path = ip->path;
  SPREC_CALL(want_type(ip, 'i', 1, "int32 or int64"));
  SPREC_CHECK(ip->count == a->n + 1, SPREC_ERR_FORMAT,
              "%s: indptr.npy: %lld entries for %lld columns (n + 1 expected)", path,
              (long long)ip->count, (long long)a->n);
  SPREC_CALL(sprec_calloc((size_t)a->nl + 1, sizeof *a->colptr, &a->colptr, "indptr"));
  SPREC_CALL(read_range(ip, a->c0, a->nl + 1, a->colptr));
  SPREC_CALL(mfinish(ip));
  int64_t *c = a->colptr;
  SPREC_CHECK(a->c0 > 0 || c[0] == 0, SPREC_ERR_FORMAT, "%s: indptr[0] = %lld, must be 0", path,
              (long long)c[0]);
  SPREC_CHECK(a->c0 + a->nl < a->n || c[a->nl] == nnz, SPREC_ERR_FORMAT,
              "%s: indptr[n] = %lld but there are %lld indices", path, (long long)c[a->nl],
              (long long)nnz);
  for (int64_t j = 0; j <= a->nl; j++) {
    SPREC_CHECK(j == 0 || c[j] >= c[j - 1], SPREC_ERR_FORMAT,
                "%s: indptr decreases at column %lld (%lld after %lld)", path,
                (long long)(a->c0 + j), (long long)c[j], (long long)c[j - 1]);
    SPREC_CHECK(c[j] >= 0 && c[j] <= nnz, SPREC_ERR_FORMAT,
                "%s: indptr[%lld] = %lld is outside [0, %lld]", path, (long long)(a->c0 + j),
                (long long)c[j], (long long)nnz);
  }
  return SPREC_OK;
}

/* This rank's rows (checked < m) and values. */
static sprec_err read_entries(member *mb, sprec_csc_local *a)
{
  member *ix = &mb[M_INDICES], *dv = &mb[M_DATA];
  int64_t lo = a->colptr[0], cnt = a->colptr[a->nl] - lo;
  SPREC_CALL(sprec_calloc((size_t)cnt + 1, sizeof *a->row, &a->row, "indices"));
  SPREC_CALL(sprec_calloc((size_t)cnt + 1, sizeof *a->val, &a->val, "data"));
  SPREC_CALL(read_range(ix, lo, cnt, a->row));
  SPREC_CALL(mfinish(ix));
  for (int64_t j = 0; j < a->nl; j++)
    for (int64_t p = a->colptr[j] - lo; p < a->colptr[j + 1] - lo; p++)
      SPREC_CHECK(a->row[p] >= 0 && a->row[p] < a->m, SPREC_ERR_FORMAT,
                  "%s: row index %lld out of range [0, %lld) in column %lld", ix->path,
                  (long long)a->row[p], (long long)a->m, (long long)(a->c0 + j));
  SPREC_CALL(read_range(dv, lo, cnt, a->val));
  SPREC_CALL(mfinish(dv));
  for (int64_t j = 0; j <= a->nl; j++) a->colptr[j] -= lo;
  return SPREC_OK;
}

static sprec_err read_local(MPI_Comm comm, int fd, const char *path, member *mb,
                            sprec_csc_local *a)
{
  struct stat sb;
  unsigned char *cd = NULL;
  zdir d;
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  SPREC_CHECK(fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode), SPREC_ERR_IO, "%s: not a regular file",
              path);
  SPREC_CALL(find_dir(fd, path, (uint64_t)sb.st_size, &d));
  SPREC_CALL(sprec_calloc(d.cd_size + 1, 1, &cd, "the central directory"));
  sprec_err err = pread_all(fd, path, cd, d.cd_size, d.cd_off, "the central directory");
  for (int k = 0; k < M_COUNT && !err; k++) err = mopen(fd, path, cd, &d, member_names[k], &mb[k]);
  free(cd);
  for (int k = 0; k < M_COUNT && !err; k++) err = npy_header(&mb[k]);
  SPREC_CALL(err);
  SPREC_CALL(read_kind_shape(mb, &a->m, &a->n));
  SPREC_CHECK(a->n >= size, SPREC_ERR_ARG,
              "%d ranks but %s has only %lld columns: every rank needs at least one column", size,
              path, (long long)a->n);
  a->c0 = sprec_block_start(a->n, size, rank);
  a->nl = sprec_block_size(a->n, size, rank);
  member *ix = &mb[M_INDICES], *dv = &mb[M_DATA];
  SPREC_CALL(want_type(ix, 'i', 1, "int32 or int64"));
  SPREC_CALL(want_type(dv, 'f', 1, "float64 or float32"));
  SPREC_CHECK(ix->count == dv->count, SPREC_ERR_FORMAT, "%s: %lld indices but %lld values", path,
              (long long)ix->count, (long long)dv->count);
  SPREC_CALL(read_indptr(mb, a, ix->count));
  SPREC_CALL(read_entries(mb, a));
  snprintf(a->format, sizeof a->format, "npz csc, %s, int%d indices, float%d values",
           dv->method == 8 ? "deflated" : "stored", 8 * ix->itemsize, 8 * dv->itemsize);
  return SPREC_OK;
}

sprec_err sprec_npz_read(MPI_Comm comm, const char *path, sprec_csc_local *out)
{
  member mb[M_COUNT];
  memset(mb, 0, sizeof mb);
  memset(out, 0, sizeof *out);
  sprec_err err = SPREC_OK;
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) err = SPREC_ERROR(SPREC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  else err = read_local(comm, fd, path, mb, out);
  for (int k = 0; k < M_COUNT; k++) mclose(&mb[k]);
  if (fd >= 0) close(fd);
  if ((err = sprec_agree(comm, err))) sprec_csc_local_free(out);
  return err;
}
