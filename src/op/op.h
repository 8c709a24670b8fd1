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

/* The table of the kind `name` whose functions are PREFIX_apply_T, PREFIX_apply_local,
 * PREFIX_columns, PREFIX_destroy and PREFIX_describe (what every kind has), then the
 * optional members it fills (designated initializers). */
#define SPREC_OP_TABLE(prefix, name, ...)                                                    \
  {.kind = name, .apply_T = prefix##_apply_T, .apply_local = prefix##_apply_local,          \
   .columns = prefix##_columns, .destroy = prefix##_destroy, .describe = prefix##_describe, \
   __VA_ARGS__}

struct sprec_op_s {
  sprec_ctx ctx;
  int64_t m, n, n_local, col_start;
  double norm2;     /* ‖A‖₂² estimate once made (sprec_op_norm2_est), else 0 */
  sprec_dtype dtype; /* how a dense block is stored; SPREC_FLOAT64 for the other kinds */
  const struct sprec_op_ops *ops;
  void *data;
  char fp[SPREC_FINGERPRINT_LEN]; /* its fingerprint once known (fingerprint.c), else "" */
  uint64_t ck_fp; /* the checkpoints' fingerprint of A once made (ckpt_format.c: a pass
                     over A, made once per operator, as norm2), valid if ck_fp_made */
  int ck_fp_made;
};

/* Constructors. Each takes ownership of the arrays it is given (sprec.h): they go
 * into the kind's data at once, the kind's destroy releases them, and a constructor
 * that fails releases them through that same destroy. So a constructor fills in an
 * operator on its stack (sprec_op_shape), makes its data, and ends with
 * sprec_op_finish, which either keeps it or destroys what was made. */
/* SPREC_ERR_ARG unless m, n >= 1 and each of ctx's ranks gets at least one of the n
 * columns. */
sprec_err sprec_op_check_shape(sprec_ctx ctx, int64_t m, int64_t n);
/* The fields of an m x n operator of the kind ops over this rank's block of columns
 * (data NULL, norm2 0, dtype SPREC_FLOAT64). */
struct sprec_op_s sprec_op_shape(sprec_ctx ctx, int64_t m, int64_t n,
                                 const struct sprec_op_ops *ops);
/* Collective. *out = *o, moved to the heap, when err (this rank's outcome of the
 * kind's preparation) is SPREC_OK on every rank and the operator can be allocated.
 * Else o->ops->destroy(o) releases whatever o->data holds (the kind's destroy must
 * accept data made in part, or NULL), *out = NULL, and every rank returns the first
 * failing rank's error. */
sprec_err sprec_op_finish(struct sprec_op_s *o, sprec_err err, sprec_op *out);

/* 1 if op is a dense operator over a single-precision block (op->data is float). */
int sprec_op_is_dense_f32(sprec_op op);

/* Collective: fetch the global columns S[0..k) (sorted) to every rank, m x k. */
sprec_err sprec_op_gather_columns(sprec_op op, int64_t k, const int64_t *S, double *out);

/* Convolution operator (conv.c) with its path forced: SPREC_CONV_DIRECT over the
 * taps, SPREC_CONV_FFT over fixed tiles, SPREC_CONV_AUTO by the kernel's length: FFT
 * from SPREC_CONV_FFT_MIN taps on, the crossover measured on this machine (one rank,
 * n = 2^22, best of 9 interleaved passes: fft/direct 1.4 at 12 taps, 1.1 at 16, 1.4 at
 * 25, 0.68 at 32, 0.56 at 64, 0.27 at 128). Takes kernel, as sprec_op_create_conv does. */
enum { SPREC_CONV_AUTO, SPREC_CONV_DIRECT, SPREC_CONV_FFT };
#define SPREC_CONV_FFT_MIN 32
sprec_err sprec_op_create_conv_path(sprec_ctx ctx, int64_t n, int64_t len, double *kernel,
                                    int path, sprec_op *out);

/* ------------------------------------------------------- hadamard.c -- */
/* 1 if op is sprec_op_create_hadamard's. */
int sprec_op_is_hadamard(sprec_op op);
/* Not collective. Global column j (any j of [0, n), not only this rank's), m entries:
 * d_j·(−1)^popcount(R_i & j)/√m. */
void sprec_hadamard_column(sprec_op op, int64_t j, double *a);
/* Not collective. The m sampled rows R (sorted), owned by the operator. */
const int64_t *sprec_hadamard_rows(sprec_op op);
/* Not collective. d_j = ±1, from (seed, j) alone. */
double sprec_hadamard_sign(uint64_t seed, int64_t j);

/* ------------------------------------------------ generators' formulas -- */
/* The streams of a problem's seed (sprec_rng_seed), one per use, so that no two draws
 * share numbers: the generators' (columns.c) and the hadamard operator's. */
enum {
  SPREC_STREAM_COLUMN = 1,    /* gaussian column j: substream j        */
  SPREC_STREAM_SUPPORT = 2,   /* the true support                      */
  SPREC_STREAM_AMPLITUDE = 3, /* the true amplitudes                   */
  SPREC_STREAM_NOISE = 4,     /* the noise e                           */
  SPREC_STREAM_ROWS = 5,      /* hadamard: the sampled rows R          */
  SPREC_STREAM_SIGNS = 6      /* hadamard: d_j, substream j            */
};

/* columns.c: what a generated problem is made of, from (seed, j) alone; used by the
 * operator that computes its columns (implicit.c) and by the generators (spikes.c,
 * gen.c). All not collective. */
/* Column j of the gaussian or deconv problem, m entries, unit ℓ2 norm. gaussian:
 * i.i.d. N(0,1); deconv: a Gaussian bump of width p->width centred at j/(n−1) on the
 * m-point grid of [0, 1]. */
void sprec_problem_column(const sprec_problem *p, int64_t j, double *a);
/* The true x (x initialized here, k entries; the caller frees it on failure too): k
 * distinct indices of [0, n), uniform, sorted, with amplitudes ±(1 + |N(0,1)|). */
sprec_err sprec_problem_truth(uint64_t seed, int64_t n, int64_t k, sprec_sparse *x);
/* y += e with N(0,1) entries scaled to ‖y‖/‖e‖ = 10^(snr/20), drawn into e (m, the
 * caller's scratch); nothing when p->snr_db is infinite (noiseless). */
void sprec_problem_add_noise(const sprec_problem *p, int64_t m, double *y, double *e);
/* SPREC_OK if the n values of what a generator made (a column, y: what) are finite,
 * else SPREC_ERR_NUMERIC naming it: the last guard of "no generator writes a
 * non-finite value" (sprec_problem_check refuses the parameters that would), a pass
 * that costs nothing next to making the values or writing them. */
sprec_err sprec_problem_finite(const char *what, int64_t j, int64_t n, const double *v);

/* ---------------------------------------------------------- generators -- */
/* The operator that makes the deconv columns on every pass instead of storing them
 * (p->implicit; implicit.c), and the spike-deconvolution problem (spikes.c:
 * sprec_problem_generate's SPIKES case). */
sprec_err sprec_op_create_implicit(sprec_ctx ctx, const sprec_problem *p, sprec_op *A);
sprec_err sprec_problem_spikes(sprec_ctx ctx, const sprec_problem *p, sprec_op *A, double **y,
                               sprec_sparse *xt);

/* -------------------------------------------------------- fingerprint.c -- */
/* The pieces of the fingerprint of stored values, so that the loaders and constructors
 * hash what they read in the loops they already make. All not collective but
 * sprec_op_fp_values. */
/* The hash of a dense column of m doubles; *finite: 0 if one of them is NaN or Inf
 * (the loaders' check, in the same loop). */
uint64_t sprec_fp_column(int64_t m, const double *a, int *finite);
/* The same for a column held in single precision (each entry widened to double). */
uint64_t sprec_fp_column_f32(int64_t m, const float *a);
/* One entry of a sparse column: a column's hash is the sum over its entries. */
uint64_t sprec_fp_entry(int64_t row, double v);
/* Global column j's part of the operator's sum, from its hash h. */
uint64_t sprec_fp_combine(int64_t j, uint64_t h);
/* op->fp = "KIND DTYPE MxN " and fmt's text. */
void sprec_op_fp_set(sprec_op op, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Collective: op->fp = "... sum:HASH" from each rank's sum over its columns. */
sprec_err sprec_op_fp_values(sprec_op op, uint64_t local);

/* ---------------------------------------------------------------- csc.c -- */
/* CSC columns in the form the sparse operator holds them, in place: rows sorted
 * within each column, a row repeated in a column summed in the order given (as SciPy's
 * toarray() and a Matrix Market reader sum them); colptr rewritten. nl columns. Not
 * collective. sprec_csc_inspect (io) counts what the operator would hold with it. */
sprec_err sprec_csc_canonical(int64_t nl, int64_t *colptr, int64_t *row, double *val);

#endif
