/* Memory-bound kernels with a fixed accumulation order per column.
 *
 * BLAS dgemv may sum a column's dot product differently depending on where the
 * column falls in the block (vector tails, column grouping). Here each g_j is always
 * computed by the same sequence of operations, whatever block holds column j, so
 * Aᵀr is bit-for-bit the same for any number of ranks. Columns are processed four at
 * a time so that r is read from cache once per four columns of A. The project is
 * compiled with -ffp-contract=off so that no path fuses differently. */
#include "impl.h"

#define NACC 4 /* independent accumulators per column: breaks the add latency chain */

static inline double combine(const double s[NACC]) { return (s[0] + s[1]) + (s[2] + s[3]); }

double sprec_dot(int64_t m, const double *a, const double *b)
{
  double s[NACC] = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + NACC <= m; i += NACC)
    for (int l = 0; l < NACC; l++) s[l] += a[i + l] * b[i + l];
  for (int l = 0; i < m; i++, l++) s[l] += a[i] * b[i];
  return combine(s);
}

double sprec_nrm2sq(int64_t m, const double *a) { return sprec_dot(m, a, a); }

void sprec_kernel_gemv_t(int64_t m, int64_t nc, const double *A, int64_t lda,
                         const double *r, double *g)
{
  int64_t j = 0;
  for (; j + 4 <= nc; j += 4) {
    const double *a0 = A + j * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
    double s0[NACC] = {0, 0, 0, 0}, s1[NACC] = {0, 0, 0, 0};
    double s2[NACC] = {0, 0, 0, 0}, s3[NACC] = {0, 0, 0, 0};
    int64_t i = 0;
    for (; i + NACC <= m; i += NACC)
      for (int l = 0; l < NACC; l++) {
        double ri = r[i + l];
        s0[l] += a0[i + l] * ri;
        s1[l] += a1[i + l] * ri;
        s2[l] += a2[i + l] * ri;
        s3[l] += a3[i + l] * ri;
      }
    for (int l = 0; i < m; i++, l++) {
      s0[l] += a0[i] * r[i];
      s1[l] += a1[i] * r[i];
      s2[l] += a2[i] * r[i];
      s3[l] += a3[i] * r[i];
    }
    g[j] = combine(s0);
    g[j + 1] = combine(s1);
    g[j + 2] = combine(s2);
    g[j + 3] = combine(s3);
  }
  for (; j < nc; j++) g[j] = sprec_dot(m, A + j * lda, r);
}

void sprec_kernel_gemv_n(int64_t m, int64_t nc, const double *A, int64_t lda,
                         const double *v, double *out)
{
  int64_t j = 0;
  for (; j + 4 <= nc; j += 4) {
    const double *a0 = A + j * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
    double v0 = v[j], v1 = v[j + 1], v2 = v[j + 2], v3 = v[j + 3];
    for (int64_t i = 0; i < m; i++)
      out[i] = (((out[i] + a0[i] * v0) + a1[i] * v1) + a2[i] * v2) + a3[i] * v3;
  }
  for (; j < nc; j++) {
    const double *a = A + j * lda;
    double vj = v[j];
    for (int64_t i = 0; i < m; i++) out[i] = out[i] + a[i] * vj;
  }
}
