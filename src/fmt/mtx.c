/* Matrix Market coordinate files (real, integer or pattern; general or symmetric),
 * 1-based. Every rank streams the file line by line and keeps only its columns'
 * entries, so no rank holds the file or the whole matrix; every rank checks every line
 * (and so every rank finds the same first fault, with its line number). Repeated
 * entries are kept in the file's order and summed later (op/csc.c), as SciPy's mmread
 * followed by toarray() sums them. */
#include "fmt.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MTX_LINE 1024 /* longest line read: an entry needs far less */

typedef struct {
  FILE *f;
  const char *path;
  int64_t line;
  char buf[MTX_LINE + 2];
} mtx_in;

/* The next line into in->buf (newline and carriage return removed); 0 at the end of
 * the file. */
static sprec_err next_line(mtx_in *in, int *got)
{
  size_t len = 0;
  int c;
  *got = 0;
  while ((c = getc_unlocked(in->f)) != EOF && c != '\n') {
    SPREC_CHECK(len < MTX_LINE, SPREC_ERR_FORMAT, "%s: line %lld is longer than %d characters",
                in->path, (long long)in->line + 1, MTX_LINE);
    SPREC_CHECK(c != 0, SPREC_ERR_FORMAT, "%s: line %lld holds a NUL byte: not a text file",
                in->path, (long long)in->line + 1);
    in->buf[len++] = (char)c;
  }
  SPREC_CHECK(!ferror(in->f), SPREC_ERR_IO, "%s: read error after line %lld", in->path,
              (long long)in->line);
  if (c == EOF && len == 0) return SPREC_OK;
  in->line++;
  while (len > 0 && in->buf[len - 1] == '\r') len--;
  in->buf[len] = 0;
  *got = 1;
  return SPREC_OK;
}

/* s made printable in place (a message is one line of text) and cut to 40 characters. */
static const char *printable(char *s)
{
  sprec_printable(s, SIZE_MAX, s, SIZE_MAX);
  if (strlen(s) > 40) strcpy(s + 37, "...");
  return s;
}

typedef struct {
  int pattern, integer, symmetric;
} mtx_kind;

static sprec_err banner(mtx_in *in, mtx_kind *k)
{
  char w[5][32] = {{0}};
  int got;
  SPREC_CALL(next_line(in, &got));
  int nw = got ? sscanf(in->buf, "%31s %31s %31s %31s %31s", w[0], w[1], w[2], w[3], w[4]) : 0;
  SPREC_CHECK(nw == 5 && strcmp(w[0], "%%MatrixMarket") == 0 && strcasecmp(w[1], "matrix") == 0,
              SPREC_ERR_FORMAT, "%s: not a Matrix Market file (no %%%%MatrixMarket matrix banner)",
              in->path);
  SPREC_CHECK(strcasecmp(w[2], "coordinate") == 0, SPREC_ERR_FORMAT,
              "%s: '%s' Matrix Market format: only coordinate (sparse) is read; a dense matrix "
              "goes in a .npy",
              in->path, printable(w[2]));
  k->pattern = strcasecmp(w[3], "pattern") == 0;
  k->integer = strcasecmp(w[3], "integer") == 0;
  SPREC_CHECK(k->pattern || k->integer || strcasecmp(w[3], "real") == 0, SPREC_ERR_FORMAT,
              "%s: field '%s': real, integer or pattern expected", in->path, printable(w[3]));
  k->symmetric = strcasecmp(w[4], "symmetric") == 0;
  SPREC_CHECK(k->symmetric || strcasecmp(w[4], "general") == 0, SPREC_ERR_FORMAT,
              "%s: symmetry '%s': general or symmetric expected", in->path, printable(w[4]));
  return SPREC_OK;
}

/* The next line that is neither a comment nor blank; 0 at the end of the file. */
static sprec_err data_line(mtx_in *in, int *got)
{
  for (;;) {
    SPREC_CALL(next_line(in, got));
    if (!*got) return SPREC_OK;
    const char *p = in->buf + strspn(in->buf, " \t");
    if (*p && *p != '%') return SPREC_OK;
  }
}

static int parse_int(const char **s, int64_t *v)
{
  char *end;
  errno = 0;
  long long x = strtoll(*s, &end, 10);
  if (end == *s || errno) return 0;
  *v = x;
  *s = end;
  return 1;
}

static int only_space(const char *s) { return s[strspn(s, " \t")] == 0; }

static sprec_err size_line(mtx_in *in, const mtx_kind *k, int64_t sz[3])
{
  int got;
  SPREC_CALL(data_line(in, &got));
  const char *s = in->buf;
  SPREC_CHECK(got && parse_int(&s, &sz[0]) && parse_int(&s, &sz[1]) && parse_int(&s, &sz[2]) &&
                  only_space(s),
              SPREC_ERR_FORMAT, "%s: line %lld: 'rows columns entries' expected", in->path,
              (long long)in->line);
  SPREC_CHECK(sz[0] > 0 && sz[1] > 0 && sz[2] >= 0, SPREC_ERR_FORMAT,
              "%s: line %lld: size %lld x %lld with %lld entries", in->path, (long long)in->line,
              (long long)sz[0], (long long)sz[1], (long long)sz[2]);
  SPREC_CHECK(!k->symmetric || sz[0] == sz[1], SPREC_ERR_FORMAT,
              "%s: symmetric but %lld x %lld", in->path, (long long)sz[0], (long long)sz[1]);
  return SPREC_OK;
}

/* This rank's entries in the file's order, grown as they come. */
typedef struct {
  int64_t len, cap;
  int64_t *col, *row; /* col: local */
  double *val;
} triplets;

static sprec_err push(triplets *t, int64_t col, int64_t row, double v)
{
  if (t->len == t->cap) {
    int64_t cap = t->cap ? 2 * t->cap : 1024;
    int64_t *c = realloc(t->col, (size_t)cap * sizeof *c);
    if (c) t->col = c;
    int64_t *r = c ? realloc(t->row, (size_t)cap * sizeof *r) : NULL;
    if (r) t->row = r;
    double *x = r ? realloc(t->val, (size_t)cap * sizeof *x) : NULL;
    if (x) t->val = x;
    SPREC_CHECK(x, SPREC_ERR_MEM, "cannot hold %lld entries of the matrix", (long long)cap);
    t->cap = cap;
  }
  t->col[t->len] = col, t->row[t->len] = row, t->val[t->len] = v, t->len++;
  return SPREC_OK;
}

static sprec_err entry(mtx_in *in, const mtx_kind *k, const int64_t sz[3], int64_t *i,
                       int64_t *j, double *v)
{
  const char *s = in->buf;
  int ok = parse_int(&s, i) && parse_int(&s, j);
  *v = 1;
  if (ok && k->integer) {
    int64_t x = 0;
    ok = parse_int(&s, &x);
    *v = (double)x;
  } else if (ok && !k->pattern) {
    char *end;
    *v = strtod(s, &end);
    ok = end != s;
    s = end;
  }
  SPREC_CHECK(ok && only_space(s), SPREC_ERR_FORMAT, "%s: line %lld: '%s' is not an entry ('%s')",
              in->path, (long long)in->line, printable(in->buf),
              k->pattern ? "row column" : k->integer ? "row column integer" : "row column value");
  SPREC_CHECK(isfinite(*v), SPREC_ERR_FORMAT, "%s: line %lld: value is NaN or Inf", in->path,
              (long long)in->line);
  SPREC_CHECK(*i >= 1 && *i <= sz[0] && *j >= 1 && *j <= sz[1], SPREC_ERR_FORMAT,
              "%s: line %lld: entry (%lld, %lld) outside the %lld x %lld matrix (1-based)",
              in->path, (long long)in->line, (long long)*i, (long long)*j, (long long)sz[0],
              (long long)sz[1]);
  return SPREC_OK;
}

/* Every entry line; this rank's entries (and their mirror images, symmetric) kept. */
static sprec_err entries(mtx_in *in, const mtx_kind *k, const int64_t sz[3], int64_t c0,
                         int64_t nl, triplets *t)
{
  int got;
  for (int64_t e = 0; e < sz[2]; e++) {
    SPREC_CALL(data_line(in, &got));
    SPREC_CHECK(got, SPREC_ERR_FORMAT, "%s: ends after %lld of the %lld entries announced: "
                "truncated?", in->path, (long long)e, (long long)sz[2]);
    int64_t i = 0, j = 0;
    double v;
    SPREC_CALL(entry(in, k, sz, &i, &j, &v));
    if (j - 1 >= c0 && j - 1 < c0 + nl) SPREC_CALL(push(t, j - 1 - c0, i - 1, v));
    if (k->symmetric && i != j && i - 1 >= c0 && i - 1 < c0 + nl)
      SPREC_CALL(push(t, i - 1 - c0, j - 1, v));
  }
  SPREC_CALL(data_line(in, &got));
  SPREC_CHECK(!got, SPREC_ERR_FORMAT, "%s: line %lld: more entries than the %lld announced",
              in->path, (long long)in->line, (long long)sz[2]);
  return SPREC_OK;
}

/* The triplets as columns, each column's entries in the file's order (a stable
 * counting sort). */
static sprec_err to_columns(const triplets *t, sprec_csc_local *a)
{
  SPREC_CALL(sprec_calloc((size_t)a->nl + 1, sizeof *a->colptr, &a->colptr, "column offsets"));
  SPREC_CALL(sprec_calloc((size_t)t->len + 1, sizeof *a->row, &a->row, "row indices"));
  SPREC_CALL(sprec_calloc((size_t)t->len + 1, sizeof *a->val, &a->val, "values"));
  int64_t *cp = a->colptr;
  for (int64_t e = 0; e < t->len; e++) cp[t->col[e] + 1]++;
  for (int64_t j = 0; j < a->nl; j++) cp[j + 1] += cp[j];
  for (int64_t e = 0; e < t->len; e++) { /* cp[j] runs ahead, then is shifted back */
    int64_t p = cp[t->col[e]]++;
    a->row[p] = t->row[e], a->val[p] = t->val[e];
  }
  for (int64_t j = a->nl; j > 0; j--) cp[j] = cp[j - 1];
  cp[0] = 0;
  return SPREC_OK;
}

static sprec_err read_local(MPI_Comm comm, mtx_in *in, sprec_csc_local *a)
{
  mtx_kind k = {0};
  int64_t sz[3] = {0};
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  SPREC_CALL(banner(in, &k));
  SPREC_CALL(size_line(in, &k, sz));
  SPREC_CHECK(sz[1] >= size, SPREC_ERR_ARG,
              "%d ranks but %s has only %lld columns: every rank needs at least one column", size,
              in->path, (long long)sz[1]);
  a->m = sz[0], a->n = sz[1];
  a->c0 = sprec_block_start(a->n, size, rank);
  a->nl = sprec_block_size(a->n, size, rank);
  /* Empty columns cost nothing in the file but 8 bytes each here: a header's n is
   * believed only as far as the memory can hold its offsets. */
  double mem = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
  SPREC_CHECK(8.0 * (double)(a->nl + 1) <= mem / 2, SPREC_ERR_FORMAT,
              "%s: %lld columns: their offsets alone need %.3g GiB per rank, more than half "
              "of this machine's memory",
              in->path, (long long)a->n, 8.0 * (double)(a->nl + 1) / 1073741824.0);
  triplets t = {0};
  sprec_err err = entries(in, &k, sz, a->c0, a->nl, &t);
  if (!err) err = to_columns(&t, a);
  free(t.col), free(t.row), free(t.val);
  snprintf(a->format, sizeof a->format, "mtx coordinate %s %s",
           k.pattern ? "pattern" : k.integer ? "integer" : "real",
           k.symmetric ? "symmetric" : "general");
  return err;
}

sprec_err sprec_mtx_read(MPI_Comm comm, const char *path, sprec_csc_local *out)
{
  mtx_in in = {.path = path};
  memset(out, 0, sizeof *out);
  sprec_err err = SPREC_OK;
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  struct stat sb;
  if (fd < 0) err = SPREC_ERROR(SPREC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  else if (fstat(fd, &sb) || !S_ISREG(sb.st_mode))
    err = SPREC_ERROR(SPREC_ERR_IO, "%s: not a regular file", path);
  else if (!(in.f = fdopen(fd, "r"))) err = SPREC_ERROR(SPREC_ERR_IO, "%s: cannot read", path);
  else {
    fd = -1;
    setvbuf(in.f, NULL, _IOFBF, (size_t)1 << 20);
    err = read_local(comm, &in, out);
  }
  if (in.f) fclose(in.f);
  if (fd >= 0) close(fd);
  if ((err = sprec_agree(comm, err))) sprec_csc_local_free(out);
  return err;
}
