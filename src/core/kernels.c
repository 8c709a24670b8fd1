/* Memory-bound kernels with a fixed accumulation order per column.
 *
 * BLAS dgemv may sum a column's dot product differently depending on where the
 * column falls in the block (vector tails, column grouping). Here each g_j is always
 * computed by the same sequence of operations, whatever block holds column j, so
 * Aᵀr is bit-for-bit the same for any number of ranks. Columns are processed four at
 * a time so that r is read from cache once per four columns of A. The project is
 * compiled with -ffp-contract=off so that no path fuses differently.
 *
 * The single-precision kernels (_f32) read float A and accumulate in double by the
 * very same sequence of operations: each entry is widened to double (exact) and then
 * treated as the double kernels treat it, so on a float matrix they return bit for
 * bit what the double kernels return on its widening. One macro body generates both
 * versions, so the two cannot drift apart. */
#include "impl.h"

#include <string.h>

#define NACC 4 /* independent accumulators per column: breaks the add latency chain */

static inline double combine(const double s[NACC]) { return (s[0] + s[1]) + (s[2] + s[3]); }

/* Dot product of a column (element type T, widened to double) with r. */
#define SPREC_DEFINE_DOT(NAME, T)                                                        \
  double NAME(int64_t m, const T *a, const double *b)                                    \
  {                                                                                      \
    double s[NACC] = {0, 0, 0, 0};                                                       \
    int64_t i = 0;                                                                       \
    for (; i + NACC <= m; i += NACC)                                                     \
      for (int l = 0; l < NACC; l++) s[l] += (double)a[i + l] * b[i + l];                \
    for (int l = 0; i < m; i++, l++) s[l] += (double)a[i] * b[i];                        \
    return combine(s);                                                                   \
  }

/* g_j = a_jᵀ r, four columns at a time; the leftover columns by DOT, which sums in
 * the same order. */
#define SPREC_DEFINE_GEMV_T(NAME, T, DOT)                                                \
  void NAME(int64_t m, int64_t nc, const T *A, int64_t lda, const double *r, double *g)  \
  {                                                                                      \
    int64_t j = 0;                                                                       \
    for (; j + 4 <= nc; j += 4) {                                                        \
      const T *a0 = A + j * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;         \
      double s0[NACC] = {0, 0, 0, 0}, s1[NACC] = {0, 0, 0, 0};                           \
      double s2[NACC] = {0, 0, 0, 0}, s3[NACC] = {0, 0, 0, 0};                           \
      int64_t i = 0;                                                                     \
      for (; i + NACC <= m; i += NACC)                                                   \
        for (int l = 0; l < NACC; l++) {                                                 \
          double ri = r[i + l];                                                          \
          s0[l] += (double)a0[i + l] * ri;                                               \
          s1[l] += (double)a1[i + l] * ri;                                               \
          s2[l] += (double)a2[i + l] * ri;                                               \
          s3[l] += (double)a3[i + l] * ri;                                               \
        }                                                                                \
      for (int l = 0; i < m; i++, l++) {                                                 \
        s0[l] += (double)a0[i] * r[i];                                                   \
        s1[l] += (double)a1[i] * r[i];                                                   \
        s2[l] += (double)a2[i] * r[i];                                                   \
        s3[l] += (double)a3[i] * r[i];                                                   \
      }                                                                                  \
      g[j] = combine(s0);                                                                \
      g[j + 1] = combine(s1);                                                            \
      g[j + 2] = combine(s2);                                                            \
      g[j + 3] = combine(s3);                                                            \
    }                                                                                    \
    for (; j < nc; j++) g[j] = DOT(m, A + j * lda, r);                                   \
  }

/* out_i += Σ_j a_ij v_j, column after column. */
#define SPREC_DEFINE_GEMV_N(NAME, T)                                                     \
  void NAME(int64_t m, int64_t nc, const T *A, int64_t lda, const double *v, double *out) \
  {                                                                                      \
    int64_t j = 0;                                                                       \
    for (; j + 4 <= nc; j += 4) {                                                        \
      const T *a0 = A + j * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;         \
      double v0 = v[j], v1 = v[j + 1], v2 = v[j + 2], v3 = v[j + 3];                     \
      for (int64_t i = 0; i < m; i++)                                                    \
        out[i] = (((out[i] + (double)a0[i] * v0) + (double)a1[i] * v1) +                 \
                  (double)a2[i] * v2) +                                                  \
                 (double)a3[i] * v3;                                                     \
    }                                                                                    \
    for (; j < nc; j++) {                                                                \
      const T *a = A + j * lda;                                                          \
      double vj = v[j];                                                                  \
      for (int64_t i = 0; i < m; i++) out[i] = out[i] + (double)a[i] * vj;               \
    }                                                                                    \
  }

SPREC_DEFINE_DOT(sprec_dot, double)
SPREC_DEFINE_DOT(sprec_dot_f32, float)
SPREC_DEFINE_GEMV_T(sprec_kernel_gemv_t, double, sprec_dot)
SPREC_DEFINE_GEMV_N(sprec_kernel_gemv_n, double)
SPREC_DEFINE_GEMV_N(sprec_kernel_gemv_n_f32, float)

#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 9)
/* Aᵀr for float A, written with vector extensions: gcc turns the generic macro body
 * above, instantiated for float, into scalar conversions and shuffles (about a third
 * of the double kernel's speed). Here the NACC = 4 accumulators of a column are the
 * four lanes of one vector, so every lane performs exactly the scalar sequence
 * s[l] += (double)a[i + l] * r[i + l] (no fused multiply-add: -ffp-contract=off), and
 * the result is the generic kernel's bit for bit. Eight columns share each load of r;
 * the last columns of the block go four, then one, at a time, each column still
 * summed the same way. While a group of eight columns is summed, the next group is
 * prefetched, one cache line per column every 16 rows: a float column is half as long
 * as a double one, too short a stream for the hardware prefetcher to reach full speed
 * (measured: 1.3 to 1.4 times the columns per second of the same loop without it). */
typedef double v4d __attribute__((vector_size(4 * sizeof(double))));
typedef float v4f __attribute__((vector_size(4 * sizeof(float))));

static inline v4d load4f(const float *p)
{
  v4f x;
  memcpy(&x, p, sizeof x);
  return __builtin_convertvector(x, v4d);
}

static inline v4d load4d(const double *p)
{
  v4d x;
  memcpy(&x, p, sizeof x);
  return x;
}

static inline double combine4(v4d s) { return (s[0] + s[1]) + (s[2] + s[3]); }

/* COLS columns starting at A (ld lda) into g[0..COLS); PF: prefetch the COLS columns
 * that follow (only where they exist). */
#define SPREC_GEMV_T_F32_GROUP(COLS, PF)                                                 \
  do {                                                                                   \
    const float *a[COLS];                                                                \
    v4d s[COLS];                                                                         \
    for (int c = 0; c < COLS; c++) {                                                     \
      a[c] = A + c * lda;                                                                \
      s[c] = (v4d){0, 0, 0, 0};                                                          \
    }                                                                                    \
    const float *next = A + COLS * lda;                                                  \
    int64_t i = 0;                                                                       \
    for (; i + NACC <= m; i += NACC) {                                                   \
      if ((PF) && (i & 15) == 0)                                                         \
        for (int c = 0; c < COLS; c++) __builtin_prefetch(next + c * lda + i);           \
      v4d ri = load4d(r + i);                                                            \
      for (int c = 0; c < COLS; c++) s[c] += load4f(a[c] + i) * ri;                      \
    }                                                                                    \
    for (int l = 0; i < m; i++, l++)                                                     \
      for (int c = 0; c < COLS; c++) s[c][l] += (double)a[c][i] * r[i];                  \
    for (int c = 0; c < COLS; c++) g[c] = combine4(s[c]);                                \
  } while (0)

void sprec_kernel_gemv_t_f32(int64_t m, int64_t nc, const float *A, int64_t lda,
                             const double *r, double *g)
{
  int64_t j = 0;
  for (; j + 8 <= nc; j += 8, A += 8 * lda, g += 8) SPREC_GEMV_T_F32_GROUP(8, j + 16 <= nc);
  for (; j + 4 <= nc; j += 4, A += 4 * lda, g += 4) SPREC_GEMV_T_F32_GROUP(4, 0);
  for (; j < nc; j++, A += lda, g++) *g = sprec_dot_f32(m, A, r);
}

/* G = AᵀR for nb right-hand sides r[0..nb) (g[p] receives Aᵀr[p]) in one pass over A:
 * a tile of COLS columns of A stays in cache while it meets every right-hand side,
 * RHS of them at a time. Each g[p]_j is summed exactly as the single-vector kernels
 * sum it (lane l of the vector accumulator is the scalar s[l]), so a batched solve
 * reproduces separate solves bit for bit. */
#define SPREC_GEMV_T_MANY_TILE(T, LOAD, COLS, RHS)                                      \
  do {                                                                                   \
    v4d s[COLS][RHS];                                                                    \
    for (int c = 0; c < COLS; c++)                                                       \
      for (int q = 0; q < RHS; q++) s[c][q] = (v4d){0, 0, 0, 0};                         \
    const T *a = A + j * lda;                                                            \
    int64_t i = 0;                                                                       \
    for (; i + NACC <= m; i += NACC) {                                                   \
      v4d ac[COLS];                                                                      \
      for (int c = 0; c < COLS; c++) ac[c] = LOAD(a + c * lda + i);                      \
      for (int q = 0; q < RHS; q++) {                                                    \
        v4d rq = load4d(r[p + q] + i);                                                   \
        for (int c = 0; c < COLS; c++) s[c][q] += ac[c] * rq;                            \
      }                                                                                  \
    }                                                                                    \
    double t[COLS][RHS][NACC]; /* the lanes, for the last m mod 4 rows */             \
    memcpy(t, s, sizeof t);                                                              \
    for (int l = 0; i < m; i++, l++)                                                     \
      for (int c = 0; c < COLS; c++)                                                     \
        for (int q = 0; q < RHS; q++) t[c][q][l] += (double)a[c * lda + i] * r[p + q][i]; \
    for (int c = 0; c < COLS; c++)                                                       \
      for (int q = 0; q < RHS; q++)                                                      \
        g[p + q][j + c] = (t[c][q][0] + t[c][q][1]) + (t[c][q][2] + t[c][q][3]);         \
  } while (0)

/* Tile: 4 columns x 6 right-hand sides, 24 vector accumulators. Measured on the
 * 2-core AMD EPYC (m = 1000, n = 2·10⁴, b = 64): every tile from 2x8 to 6x4 runs
 * within 5% of this one, 1.8 times dgemm's time (which fuses multiply and add;
 * these kernels must not) and a third of 64 single-vector passes'. */
#define MANY_COLS 4
#define MANY_RHS 6
#define SPREC_DEFINE_GEMV_T_MANY(NAME, T, LOAD)                                          \
  void NAME(int64_t m, int64_t nc, const T *A, int64_t lda, int nb,                      \
            const double *const *r, double *const *g)                                   \
  {                                                                                      \
    int64_t j = 0;                                                                       \
    for (; j + MANY_COLS <= nc; j += MANY_COLS) {                                        \
      int p = 0;                                                                         \
      for (; p + MANY_RHS <= nb; p += MANY_RHS)                                          \
        SPREC_GEMV_T_MANY_TILE(T, LOAD, MANY_COLS, MANY_RHS);                            \
      for (; p < nb; p++) SPREC_GEMV_T_MANY_TILE(T, LOAD, MANY_COLS, 1);                 \
    }                                                                                    \
    for (; j < nc; j++)                                                                  \
      for (int p = 0; p < nb; p++) SPREC_GEMV_T_MANY_TILE(T, LOAD, 1, 1);                \
  }

SPREC_DEFINE_GEMV_T_MANY(sprec_kernel_gemv_t_many, double, load4d)
SPREC_DEFINE_GEMV_T_MANY(sprec_kernel_gemv_t_many_f32, float, load4f)
#else
SPREC_DEFINE_GEMV_T(sprec_kernel_gemv_t_f32, float, sprec_dot_f32)
/* Without vector extensions: one right-hand side after the other. */
void sprec_kernel_gemv_t_many(int64_t m, int64_t nc, const double *A, int64_t lda, int nb,
                              const double *const *r, double *const *g)
{
  for (int p = 0; p < nb; p++) sprec_kernel_gemv_t(m, nc, A, lda, r[p], g[p]);
}

void sprec_kernel_gemv_t_many_f32(int64_t m, int64_t nc, const float *A, int64_t lda, int nb,
                                  const double *const *r, double *const *g)
{
  for (int p = 0; p < nb; p++) sprec_kernel_gemv_t_f32(m, nc, A, lda, r[p], g[p]);
}
#endif

double sprec_nrm2sq(int64_t m, const double *a) { return sprec_dot(m, a, a); }
