/* Small helpers that several layers need, written once: text quoted from files made
 * printable, little-endian integers decoded from bytes, qsort comparisons. */
#include "impl.h"

#include <stdarg.h>
#include <string.h>

char *sprec_printable(char *out, size_t outlen, const char *s, size_t n)
{
  size_t k = 0;
  for (size_t i = 0; i < n && s[i] && k + 1 < outlen; i++) {
    unsigned char c = (unsigned char)s[i];
    out[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
  }
  if (outlen) out[k] = '\0';
  return out;
}

uint64_t sprec_le(const unsigned char *b, int n)
{
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = v << 8 | b[i];
  return v;
}

void sprec_free_n(int n, ...)
{
  va_list ap;
  va_start(ap, n);
  for (int i = 0; i < n; i++) free(va_arg(ap, void *));
  va_end(ap);
}

int sprec_cmp_i64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

int sprec_cmp_dbl(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}
