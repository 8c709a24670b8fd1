/* The block distribution of n columns (or vector entries) over p ranks, the layout
 * every distributed object of the library shares: rank r owns [start, start + size),
 * the first n mod p ranks one more than the others. */
#include "../core/impl.h"

int64_t sprec_block_start(int64_t n, int p, int r)
{
  int64_t q = n / p, rem = n % p;
  return r * q + (r < rem ? r : rem);
}

int64_t sprec_block_size(int64_t n, int p, int r) { return n / p + (r < n % p ? 1 : 0); }

int sprec_block_owner(int64_t n, int p, int64_t j)
{
  int64_t q = n / p, rem = n % p, big = rem * (q + 1);
  if (j < big) return (int)(j / (q + 1));
  return (int)(rem + (j - big) / q);
}

