/* Sums that do not depend on their order: each term is cut to a fixed-point number
 * of SPREC_EXACT_LIMBS limbs of 32 bits below 2^e (e the same for every term of the
 * sum: above the largest of them), the integers are added, in any order and on any
 * ranks (MPI_SUM on int64: exact), and the total is rounded to a double once. The same
 * terms give the same bits whatever the grouping: a distributed sum that is the same
 * on any number of ranks, reduced by a tree (log p steps) instead of a chain in a
 * fixed order (ReproBLAS's idea, with fixed bins: the scale is agreed on first).
 *
 * Accuracy: a term is cut (towards zero) at 2^(e − 128); a sum of N terms is exact
 * to N·2^(e − 128) before its one rounding, better than a double's sum of the same
 * terms unless the sum is 2^75 times smaller than its largest term. Up to 2^31 terms
 * per sum (the top limb's headroom). */
#ifndef SPREC_PAR_EXACT_H
#define SPREC_PAR_EXACT_H

#include <math.h>
#include <stdint.h>

#define SPREC_EXACT_LIMBS 4

/* e for terms whose largest magnitude is amax (finite, > 0): amax < 2^e. */
static inline int sprec_exact_exponent(double amax)
{
  int e;
  frexp(amax, &e);
  return e;
}

/* The factor that brings a term into the top limb's range: 2^(32 − e), or 0 where it
 * is no double (e below −990 or so: then sprec_exact_add_scaled scales each term). */
static inline double sprec_exact_factor(int e)
{
  return 32 - e <= 1000 && 32 - e >= -1000 ? ldexp(1.0, 32 - e) : 0.0;
}

/* acc[0..LIMBS) += the term t, cut at 2^(e − 128). factor: sprec_exact_factor(e). */
static inline void sprec_exact_add(int64_t *acc, double t, double factor, int e)
{
  double s = factor != 0.0 ? t * factor : ldexp(t, 32 - e); /* exact: a power of 2 */
  for (int l = 0; l < SPREC_EXACT_LIMBS; l++) {
    int64_t q = (int64_t)s; /* |s| < 2^32: towards zero, exact */
    acc[l] += q;
    s = (s - (double)q) * 4294967296.0; /* the fraction, exact; times 2^32, exact */
  }
}

/* The double nearest (within a few ulps, always the same) the sum held in acc (a
 * function of the integer it holds only, not of how it was added up). */
double sprec_exact_value(const int64_t *acc, int e);

#endif
