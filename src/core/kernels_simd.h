/* The hot kernels, written once and compiled once per instruction set (kernels_*.c).
 *
 * The accumulation order is fixed here, in the C code, not left to the compiler:
 * every column's dot product with r has NACC = 4 lanes, lane l summing the rows
 * i ≡ l (mod 4) in increasing order as s_l ← s_l + (double)a_i·r_i (a rounded product,
 * then a rounded sum: the project builds with -ffp-contract=off, so no variant fuses
 * them), the last m mod 4 rows going to lanes 0, 1, 2, and the four lanes combined as
 * (s_0 + s_1) + (s_2 + s_3). A variant only chooses how many doubles one vector
 * register holds (VW: 2 for SSE2, 4 for AVX2 and AVX-512VL; a column's lanes are
 * NACC/VW vectors) and how many columns and right-hand sides share the registers
 * (the tile). Neither changes an operation on any lane, so every variant returns the
 * same bits, for any block of columns, and so for any number of ranks. The float
 * kernels widen each entry to double (exactly) and then do the very same operations:
 * on a float block they return bit for bit the double kernels' result on its widening.
 *
 * The including file defines:
 *   VW            doubles per vector register (2 or 4)
 *   KV(name)      the variant's name for a function (static, one per variant)
 *   GT_COLS, GT_PF   columns summed together by the single-vector kernel on long
 *                 columns (they share the loads of r); 1: prefetch the next group of
 *                 columns while summing this one
 *   GTF_COLS, GTF_PF the same for the float kernel
 *   MANY_COLS, MANY_RHS   tile of the batched kernel: columns x right-hand sides
 *   KSET          the name of the exported table (const sprec_kernel_set)
 */
#include "impl.h"

#include <string.h>

#define NACC 4 /* lanes per dot product: part of the result's definition */
#define NV (NACC / VW)

typedef double vd __attribute__((vector_size(VW * sizeof(double))));

typedef double vd4 __attribute__((vector_size(NACC * sizeof(double))));
typedef float vf4 __attribute__((vector_size(NACC * sizeof(float))));

/* Vector h of a lane group (the NACC entries at p) as doubles: unaligned loads; floats
 * are loaded and widened four at a time (two floats alone would be widened one by one
 * on SSE2) and the compiler shares that work between the two halves. */
#define LOADH_D(p, h) ({ vd x_; memcpy(&x_, (p) + (h) * VW, sizeof x_); x_; })
#define LOADH_F(p, h)                                                                    \
  ({                                                                                     \
    vf4 x_;                                                                              \
    memcpy(&x_, (p), sizeof x_);                                                         \
    vd4 w_ = __builtin_convertvector(x_, vd4);                                           \
    vd o_;                                                                               \
    memcpy(&o_, (const char *)&w_ + (h) * sizeof o_, sizeof o_);                         \
    o_;                                                                                  \
  })
/* Lane l of a column's accumulators s[0..NV). */
#define LANE(s, l) ((s)[(l) / VW][(l) % VW])
/* The last rem < NACC rows (a, b: their entries) into lanes 0, 1, 2, each lane named by
 * a constant, so that the accumulators stay in registers. */
#define TAIL(s, a, b, rem)                                                               \
  do {                                                                                   \
    if ((rem) > 0) LANE(s, 0) += (double)(a)[0] * (b)[0];                                \
    if ((rem) > 1) LANE(s, 1) += (double)(a)[1] * (b)[1];                                \
    if ((rem) > 2) LANE(s, 2) += (double)(a)[2] * (b)[2];                                \
  } while (0)
#define COMBINE(s) ((LANE(s, 0) + LANE(s, 1)) + (LANE(s, 2) + LANE(s, 3)))

/* g[c] = a_cᵀ r for the COLS columns at A (ld lda); PF: prefetch the COLS columns that
 * follow, one cache line per column every 64 bytes of rows. */
#define GT_GROUP(T, LOAD, COLS, PF)                                                      \
  do {                                                                                   \
    vd s[COLS][NV];                                                                      \
    for (int c = 0; c < COLS; c++)                                                       \
      for (int h = 0; h < NV; h++) s[c][h] = (vd){0};                                    \
    const T *next_ = A + (COLS)*lda;                                                     \
    int64_t i = 0;                                                                       \
    for (; i + NACC <= m; i += NACC) {                                                   \
      if ((PF) && (i & (64 / (int64_t)sizeof(T) - 1)) == 0)                              \
        for (int c = 0; c < COLS; c++) __builtin_prefetch(next_ + c * lda + i);          \
      for (int h = 0; h < NV; h++) {                                                     \
        vd rv = LOADH_D(r + i, h);                                                       \
        for (int c = 0; c < COLS; c++) s[c][h] += LOAD(A + c * lda + i, h) * rv;         \
      }                                                                                  \
    }                                                                                    \
    for (int c = 0; c < COLS; c++) TAIL(s[c], A + c * lda + i, r + i, m - i);            \
    for (int c = 0; c < COLS; c++) g[c] = COMBINE(s[c]);                                 \
  } while (0)

/* Short columns (under SHORT_COLUMN_BYTES) are read one after the other, as one
 * sequential stream: measured on AMD EPYC (Zen 3), a few interleaved streams of a
 * couple of KiB each run at 0.7 to 0.8 of a single stream, while on long columns
 * several streams at once read faster than one. */
#define SHORT_COLUMN_BYTES 4096

#define DEFINE_GEMV_T(NAME, T, LOAD, COLS, PF)                                           \
  static void NAME(int64_t m, int64_t nc, const T *A, int64_t lda, const double *r,      \
                   double *g)                                                            \
  {                                                                                      \
    int64_t j = 0;                                                                       \
    if ((int64_t)sizeof(T) * m < SHORT_COLUMN_BYTES)                                     \
      for (; j < nc; j++, A += lda, g++) GT_GROUP(T, LOAD, 1, j + 2 <= nc);              \
    for (; j + COLS <= nc; j += COLS, A += COLS * lda, g += COLS)                        \
      GT_GROUP(T, LOAD, COLS, PF && j + 2 * COLS <= nc);                                 \
    for (; j < nc; j++, A += lda, g++) GT_GROUP(T, LOAD, 1, 0);                          \
  }

/* out_i += Σ_j a_ij v_j, column after column (each row on its own: any vector width
 * gives the same bits). */
#define DEFINE_GEMV_N(NAME, T)                                                           \
  static void NAME(int64_t m, int64_t nc, const T *A, int64_t lda, const double *v,      \
                   double *out)                                                          \
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

/* The batched product, g[p]_j = a_jᵀ r[p]: a tile of COLS columns meets RHS right-hand
 * sides in registers, over all m rows, each (column, right-hand side) pair summed in
 * its lanes exactly as above. */
#define MANY_TILE(T, LOAD, COLS, RHS)                                                    \
  do {                                                                                   \
    vd s[COLS][RHS][NV];                                                                 \
    for (int c = 0; c < COLS; c++)                                                       \
      for (int q = 0; q < RHS; q++)                                                      \
        for (int h = 0; h < NV; h++) s[c][q][h] = (vd){0};                               \
    const T *a = A + j * lda;                                                            \
    int64_t i = 0;                                                                       \
    for (; i + NACC <= m; i += NACC)                                                     \
      for (int h = 0; h < NV; h++) {                                                     \
        vd ac[COLS];                                                                     \
        for (int c = 0; c < COLS; c++) ac[c] = LOAD(a + c * lda + i, h);                 \
        for (int q = 0; q < RHS; q++) {                                                  \
          vd rq = LOADH_D(r[p + q] + i, h);                                              \
          for (int c = 0; c < COLS; c++) s[c][q][h] += ac[c] * rq;                       \
        }                                                                                \
      }                                                                                  \
    for (int c = 0; c < COLS; c++)                                                       \
      for (int q = 0; q < RHS; q++) TAIL(s[c][q], a + c * lda + i, r[p + q] + i, m - i); \
    for (int c = 0; c < COLS; c++)                                                       \
      for (int q = 0; q < RHS; q++) g[p + q][j + c] = COMBINE(s[c][q]);                  \
  } while (0)

/* Columns in panels that stay in the L2 cache (PANEL_BYTES of A) while every group of
 * right-hand sides passes over them: A comes from memory once, each right-hand side
 * once per panel. */
#ifndef PANEL_BYTES
#define PANEL_BYTES ((int64_t)256 << 10)
#endif

#define DEFINE_GEMV_T_MANY(NAME, T, LOAD)                                                \
  static void NAME(int64_t m, int64_t nc, const T *A, int64_t lda, int nb,               \
                   const double *const *r, double *const *g)                             \
  {                                                                                      \
    int64_t np = PANEL_BYTES / ((int64_t)sizeof(T) * (m > 0 ? m : 1));                   \
    np = np < MANY_COLS ? MANY_COLS : np / MANY_COLS * MANY_COLS;                        \
    for (int64_t j0 = 0; j0 < nc; j0 += np) {                                            \
      int64_t j1 = j0 + np < nc ? j0 + np : nc, j;                                       \
      int p = 0;                                                                         \
      for (; p + MANY_RHS <= nb; p += MANY_RHS) {                                        \
        for (j = j0; j + MANY_COLS <= j1; j += MANY_COLS)                                \
          MANY_TILE(T, LOAD, MANY_COLS, MANY_RHS);                                       \
        for (; j < j1; j++) MANY_TILE(T, LOAD, 1, MANY_RHS);                             \
      }                                                                                  \
      for (; p < nb; p++) {                                                              \
        for (j = j0; j + MANY_COLS <= j1; j += MANY_COLS) MANY_TILE(T, LOAD, MANY_COLS, 1); \
        for (; j < j1; j++) MANY_TILE(T, LOAD, 1, 1);                                    \
      }                                                                                  \
    }                                                                                    \
  }

DEFINE_GEMV_T(KV(gemv_t), double, LOADH_D, GT_COLS, GT_PF)
DEFINE_GEMV_T(KV(gemv_t_f32), float, LOADH_F, GTF_COLS, GTF_PF)
DEFINE_GEMV_N(KV(gemv_n), double)
DEFINE_GEMV_N(KV(gemv_n_f32), float)
DEFINE_GEMV_T_MANY(KV(gemv_t_many), double, LOADH_D)
DEFINE_GEMV_T_MANY(KV(gemv_t_many_f32), float, LOADH_F)

const sprec_kernel_set KSET = {
    .gemv_t = KV(gemv_t),
    .gemv_t_f32 = KV(gemv_t_f32),
    .gemv_n = KV(gemv_n),
    .gemv_n_f32 = KV(gemv_n_f32),
    .gemv_t_many = KV(gemv_t_many),
    .gemv_t_many_f32 = KV(gemv_t_many_f32),
};
