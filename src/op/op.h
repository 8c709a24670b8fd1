/* Internal: the operator object and its table of functions (op.c and the kinds'
 * files), and what the generators share between them. Used by the layers above the
 * operators (lsq, algo, io) and the tests. Not installed. */
#ifndef SPREC_OP_H
#define SPREC_OP_H

#include "../core/impl.h"

/* ----------------------------------------------------------- operators -- */
struct sprec_op_ops {
  /* The operator's kind, as sprec_op_kind returns it ("dense", "conv", ...). */
  const char *kind;
  /* g = A_rᵀ r on the local block (no communication). Each g_j must be computed the
   * same way whatever the block, so that results do not depend on the rank count. */
  sprec_err (*apply_T)(sprec_op op, const double *r, double *g);
  /* out += A_r v_r for a dense local v (no communication). */
  sprec_err (*apply_local)(sprec_op op, const double *v, double *out);
  /* Copy the local columns jl[0..nc) (local indices) into out, m x nc, ld m. */
  sprec_err (*columns)(sprec_op op, int64_t nc, const int64_t *jl, double *out);
  /* out_i += Σ_t a_{i,jl[t]} v[t], column after column in the order given (no
   * communication). Optional: without it the columns are copied first. */
  sprec_err (*apply_columns)(sprec_op op, int64_t nc, const int64_t *jl, const double *v,
                             double *out);
  /* g[p] = A_rᵀ r[p] for nb right-hand sides in one pass over the block, each g[p]
   * bit for bit what apply_T gives. Optional: without it, apply_T one after another. */
  sprec_err (*apply_T_many)(sprec_op op, int nb, const double *const *r, double *const *g);
  void (*destroy)(sprec_op op);
  /* One line of text on what defines the operator beyond its kind and shape (its
   * kernel length, its storage, ...), for sprec_op_describe. Optional. */
  void (*describe)(sprec_op op, char *buf, size_t len);
  /* What one apply_T costs at least, over all ranks: the bytes it must bring from
   * memory and the floating-point operations it must make (sprec_op_pass_cost, the
   * bounds of `sprec bench --operator`). Optional. */
  void (*cost)(sprec_op op, double *bytes, double *flops);
  /* Local column jl is zero outside rows [*lo, *hi). Optional, with column_rows: the
   * least squares on a support then works on the union of its columns' row ranges
   * (src/lsq/lsq_rows.c) instead of m x k gathered columns. */
  void (*row_range)(sprec_op op, int64_t jl, int64_t *lo, int64_t *hi);
  /* Copy rows [lo, hi) of local column jl into out (hi − lo entries). */
  sprec_err (*column_rows)(sprec_op op, int64_t jl, int64_t lo, int64_t hi, double *out);
};

struct sprec_op_s {
  sprec_ctx ctx;
  int64_t m, n, n_local, col_start;
  double norm2;     /* ‖A‖₂² estimate once made (sprec_op_norm2_est), else 0 */
  const struct sprec_op_ops *ops;
  void *data;
};

/* 1 if op is a dense operator over a single-precision block (op->data is float). */
int sprec_op_is_dense_f32(sprec_op op);

/* Collective: fetch the global columns S[0..k) (sorted) to every rank, m x k. */
sprec_err sprec_op_gather_columns(sprec_op op, int64_t k, const int64_t *S, double *out);

/* Convolution operator (conv.c) with its path forced: SPREC_CONV_DIRECT over the
 * taps, SPREC_CONV_FFT over fixed tiles, SPREC_CONV_AUTO by the kernel's length: FFT
 * from SPREC_CONV_FFT_MIN taps on, the crossover measured on this machine (one rank,
 * n = 2^22, best of 9 interleaved passes: fft/direct 1.4 at 12 taps, 1.1 at 16, 1.4 at
 * 25, 0.68 at 32, 0.56 at 64, 0.27 at 128). */
enum { SPREC_CONV_AUTO, SPREC_CONV_DIRECT, SPREC_CONV_FFT };
#define SPREC_CONV_FFT_MIN 32
sprec_err sprec_op_create_conv_path(sprec_ctx ctx, int64_t n, int64_t len, const double *kernel,
                                    int path, sprec_op *out);

/* CSC columns (csc.c) in the form the sparse operator holds them, in place: rows sorted
 * within each column, a row repeated in a column summed in the order given (as SciPy's
 * toarray() and a Matrix Market reader sum them); colptr rewritten. nl columns. Not
 * collective. sprec_csc_inspect (io) counts what the operator would hold with it. */
sprec_err sprec_csc_canonical(int64_t nl, int64_t *colptr, int64_t *row, double *val);

/* Generators (gen.c, spikes.c): k distinct sorted indices of [0, n) drawn from the
 * seed; the spike-deconvolution problem (sprec_problem_generate's SPIKES case). */
sprec_err sprec_problem_draw_support(uint64_t seed, int64_t n, int64_t k, int64_t *S);
sprec_err sprec_problem_spikes(sprec_ctx ctx, const sprec_problem *p, sprec_op *A, double **y,
                               sprec_sparse *xt);
/* Column j of a dense generated problem (unit norm), and the operator that makes the
 * columns on every pass instead of storing them (p->implicit; implicit.c). */
void sprec_problem_column(const sprec_problem *p, int64_t j, double *a);
sprec_err sprec_op_create_implicit(sprec_ctx ctx, const sprec_problem *p, sprec_op *A);

#endif
