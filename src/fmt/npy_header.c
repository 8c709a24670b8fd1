/* The .npy header, for npy.c (a file) and npz.c (an archive's member) alike.
 *
 * Format (numpy.lib.format): the magic "\x93NUMPY", a major and a minor version byte,
 * the header length (uint16 LE for version 1, uint32 LE for versions 2 and 3), then a
 * Python dict literal {'descr': ..., 'fortran_order': ..., 'shape': (...), } padded
 * with spaces and ended by '\n'. The data follow the header, without padding.
 *
 * Only the syntax and the sizes are checked here; what the header says (dtype, order,
 * shape) is for each caller to accept or refuse. */
#include "fmt.h"

#include <stdint.h>
#include <string.h>

/* Refuse absurd header lengths before allocating for them (numpy writes < 1 KiB). */
#define NPY_MAX_HEADER ((int64_t)1 << 24)

const unsigned char sprec_npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/* ------------------------------------------------------------ header parser -- */
/* A recursive-descent reader for the small subset of Python literals that numpy
 * writes: strings, True/False and tuples of non-negative integers. It is lenient
 * where numpy's writers varied (key order, quotes, spacing, trailing commas, the 'L'
 * suffix of Python 2 longs) and strict about everything else. */
typedef struct {
  const char *s, *start, *end;
  const char *path;
} hparse;

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
static sprec_err hp_shape(hparse *p, sprec_npy_header *d)
{
  if (p->s >= p->end || *p->s != '(') return hp_syntax(p, "'shape' is not a tuple");
  p->s++;
  d->ndim = 0;
  hp_ws(p);
  while (p->s < p->end && *p->s != ')') {
    int64_t v = 0;
    SPREC_CALL(hp_int(p, &v));
    if (d->ndim >= SPREC_NPY_MAX_NDIM)
      return SPREC_ERROR(SPREC_ERR_FORMAT, "%s: 'shape' has more than %d dimensions", p->path,
                         SPREC_NPY_MAX_NDIM);
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

static sprec_err hp_dict(hparse *p, sprec_npy_header *d)
{
  int have_descr = 0, have_fortran = 0, have_shape = 0;
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
      have_descr = 1;
      if (p->s < p->end && (*p->s == '\'' || *p->s == '"')) {
        SPREC_CALL(hp_string(p, d->descr, sizeof d->descr));
        d->descr_is_str = 1;
      } else {
        SPREC_CALL(hp_skip_value(p));
        d->descr_is_str = 0;
        d->descr[0] = '\0';
      }
    } else if (!strcmp(key, "fortran_order")) {
      have_fortran = 1;
      if (hp_word(p, "True")) d->fortran_order = 1;
      else if (hp_word(p, "False")) d->fortran_order = 0;
      else return hp_syntax(p, "'fortran_order' is not True or False");
    } else if (!strcmp(key, "shape")) {
      have_shape = 1;
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
  if (!have_descr || !have_fortran || !have_shape)
    return SPREC_ERROR(SPREC_ERR_FORMAT, "%s: malformed .npy header: missing key '%s'", p->path,
                       !have_descr ? "descr" : !have_fortran ? "fortran_order" : "shape");
  return SPREC_OK;
}

/* ------------------------------------------------------------- entry points -- */
sprec_err sprec_npy_header_prefix(const char *name, const unsigned char *pre, size_t got,
                                  int64_t size, int64_t *hstart, int64_t *hlen)
{
  if (got < sizeof sprec_npy_magic || memcmp(pre, sprec_npy_magic, sizeof sprec_npy_magic) != 0)
    return SPREC_ERROR(SPREC_ERR_FORMAT, "%s: not a .npy file (bad magic)", name);
  if (got < 8) return SPREC_ERROR(SPREC_ERR_FORMAT, "%s: truncated .npy header", name);
  int major = pre[6], minor = pre[7];
  if (major < 1 || major > 3)
    return SPREC_ERROR(SPREC_ERR_FORMAT, "%s: unsupported .npy format version %d.%d (need 1, 2 or 3)",
                       name, major, minor);
  int lenbytes = major == 1 ? 2 : 4;
  if (got < (size_t)(8 + lenbytes))
    return SPREC_ERROR(SPREC_ERR_FORMAT, "%s: truncated .npy header", name);
  uint64_t h = sprec_le(pre + 8, lenbytes);
  if ((int64_t)h > NPY_MAX_HEADER)
    return SPREC_ERROR(SPREC_ERR_FORMAT, "%s: .npy header length %llu is implausibly large", name,
                       (unsigned long long)h);
  if (size < 8 + lenbytes + (int64_t)h)
    return SPREC_ERROR(SPREC_ERR_FORMAT,
                       "%s: truncated .npy header: announces %lld bytes, file has %lld in all", name,
                       (long long)h, (long long)size);
  *hstart = 8 + lenbytes;
  *hlen = (int64_t)h;
  return SPREC_OK;
}

sprec_err sprec_npy_header_dict(const char *name, const char *text, int64_t len,
                                sprec_npy_header *h)
{
  memset(h, 0, sizeof *h);
  /* Versions 1 and 2 are latin-1, version 3 UTF-8; the syntax we need is ASCII and
   * non-ASCII bytes can only appear inside strings, which are compared bytewise. A
   * NUL would end the string functions early, so it is rejected. */
  if (memchr(text, '\0', (size_t)len))
    return SPREC_ERROR(SPREC_ERR_FORMAT, "%s: malformed .npy header: contains a NUL byte", name);
  hparse p = {text, text, text + len, name};
  return hp_dict(&p, h);
}
