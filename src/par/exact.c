/* The fixed-point sums of exact.h back to doubles. */
#include "exact.h"

#include "../core/impl.h"

/* a in canonical form: a[1..] in [0, 2^32), the sign and the carries in a[0]. */
static void normalize(int64_t *a)
{
  for (int l = SPREC_EXACT_LIMBS - 1; l > 0; l--) {
    int64_t carry = a[l] >> 32; /* floor(a[l] / 2^32): arithmetic shift */
    a[l] -= carry * 4294967296;
    a[l - 1] += carry;
  }
}

double sprec_exact_value(const int64_t *acc, int e)
{
  int64_t a[SPREC_EXACT_LIMBS];
  for (int l = 0; l < SPREC_EXACT_LIMBS; l++) a[l] = acc[l];
  normalize(a);
  double sign = 1.0;
  if (a[0] < 0) { /* the magnitude, so that no digit cancels another below */
    for (int l = 0; l < SPREC_EXACT_LIMBS; l++) a[l] = -a[l];
    normalize(a);
    sign = -1.0;
  }
  /* Every limb now >= 0: from the lowest up, each step one rounding of a sum of
   * non-negative numbers (relative error a few ulps at most, no cancellation). */
  double d = (double)a[SPREC_EXACT_LIMBS - 1];
  for (int l = SPREC_EXACT_LIMBS - 2; l >= 0; l--) d = d * (1.0 / 4294967296.0) + (double)a[l];
  return sign * ldexp(d, e - 32);
}
