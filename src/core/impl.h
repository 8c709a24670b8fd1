/* Internal declarations shared by the library's files. Not installed. */
#ifndef SPREC_IMPL_H
#define SPREC_IMPL_H

#include "sprec.h"

#include <stddef.h>
#include <stdlib.h>

/* ------------------------------------------------------------- errors -- */
/* sprec_error_set, sprec_error_trace, sprec_agree and the macros SPREC_ERROR,
 * SPREC_CHECK, SPREC_CALL and SPREC_TRY are public (sprec.h): front ends raise their
 * own errors the library's way. */
sprec_err sprec_mpi_error(int rc, const char *file, int line, const char *func, const char *call);
#define SPREC_MPI(call)                                                                  \
  do {                                                                                 \
    int rc_ = (call);                                                                  \
    if (rc_ != MPI_SUCCESS) return sprec_mpi_error(rc_, __FILE__, __LINE__, __func__, #call); \
  } while (0)

/* Allocate count elements (zeroed) into ptr, or return SPREC_ERR_MEM. */
sprec_err sprec_calloc(size_t count, size_t size, void *ptrp, const char *what);
#define SPREC_ALLOC(ptr, count) SPREC_CALL(sprec_calloc((size_t)(count), sizeof(*(ptr)), &(ptr), #ptr))

/* ------------------------------------------------------------ context -- */
struct sprec_ctx_s {
  MPI_Comm comm;     /* our duplicate, MPI_ERRORS_RETURN                 */
  int rank, size;
  int blacs_handle;  /* system handle from Csys2blacs_handle(comm)      */
  int blacs_ctx;     /* grid context                                    */
  int nprow, npcol, myrow, mycol;
  double t_comm;     /* seconds in the library's communication calls, accumulated */
};

/* Run stmt and add its wall time to acc. */
#define SPREC_TIMED(acc, stmt)                                                           \
  do {                                                                                 \
    double t0_ = MPI_Wtime();                                                          \
    stmt;                                                                              \
    (acc) += MPI_Wtime() - t0_;                                                        \
  } while (0)

/* -------------------------------------------------------------- timers -- */
double sprec_wtime(void);

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

/* k distinct indices of [0, n), uniform, sorted, drawn from (seed, stream) alone
 * (Floyd's algorithm; rng.c): supports, the rows of the fast-transform operator. */
sprec_err sprec_rng_distinct(uint64_t seed, uint64_t stream, int64_t n, int64_t k, int64_t *S);

/* Generators (gen.c, spikes.c): k distinct sorted indices of [0, n) drawn from the
 * seed; the spike-deconvolution problem (sprec_problem_generate's SPIKES case). */
sprec_err sprec_problem_draw_support(uint64_t seed, int64_t n, int64_t k, int64_t *S);
sprec_err sprec_problem_spikes(sprec_ctx ctx, const sprec_problem *p, sprec_op *A, double **y,
                               sprec_sparse *xt);
/* Column j of a dense generated problem (unit norm), and the operator that makes the
 * columns on every pass instead of storing them (p->implicit; implicit.c). */
void sprec_problem_column(const sprec_problem *p, int64_t j, double *a);
sprec_err sprec_op_create_implicit(sprec_ctx ctx, const sprec_problem *p, sprec_op *A);

/* ------------------------------------------------------------- kernels -- */
/* The hot kernels, one table per instruction set (kernels_*.c from kernels_simd.h).
 * Every variant sums each dot product in the same fixed order, so all return the same
 * bits; kernels.c picks the best one the CPU runs, or the one $SPREC_KERNEL names.
 *   gemv_t:      g_j = a_jᵀ r for nc columns of A (ld lda)
 *   gemv_n:      out_i += Σ_j a_ij v_j, column after column
 *   gemv_t_many: g[p] = Aᵀ r[p] for nb right-hand sides in one pass over A, each
 *                entry bit for bit what gemv_t gives
 * The _f32 kernels read a single-precision A, widen each entry to double and sum
 * exactly as above: bit for bit the double kernels' result on the widened matrix. */
typedef struct {
  void (*gemv_t)(int64_t m, int64_t nc, const double *A, int64_t lda, const double *r,
                 double *g);
  void (*gemv_t_f32)(int64_t m, int64_t nc, const float *A, int64_t lda, const double *r,
                     double *g);
  void (*gemv_n)(int64_t m, int64_t nc, const double *A, int64_t lda, const double *v,
                 double *out);
  void (*gemv_n_f32)(int64_t m, int64_t nc, const float *A, int64_t lda, const double *v,
                     double *out);
  void (*gemv_t_many)(int64_t m, int64_t nc, const double *A, int64_t lda, int nb,
                      const double *const *r, double *const *g);
  void (*gemv_t_many_f32)(int64_t m, int64_t nc, const float *A, int64_t lda, int nb,
                          const double *const *r, double *const *g);
} sprec_kernel_set;

/* The selected variant's table (the best this CPU runs until one is selected). */
const sprec_kernel_set *sprec_kernels(void);
/* sprec_kernel_select with $SPREC_KERNEL, if set (sprec_ctx_create). */
sprec_err sprec_kernel_select_env(void);

#define sprec_kernel_gemv_t (sprec_kernels()->gemv_t)
#define sprec_kernel_gemv_n (sprec_kernels()->gemv_n)
#define sprec_kernel_gemv_t_f32 (sprec_kernels()->gemv_t_f32)
#define sprec_kernel_gemv_n_f32 (sprec_kernels()->gemv_n_f32)
#define sprec_kernel_gemv_t_many (sprec_kernels()->gemv_t_many)
#define sprec_kernel_gemv_t_many_f32 (sprec_kernels()->gemv_t_many_f32)
/* One dot product in the kernels' order (lanes and combination): a_jᵀ r as gemv_t
 * gives it. */
double sprec_dot(int64_t m, const double *a, const double *b);
double sprec_dot_f32(int64_t m, const float *a, const double *b);
double sprec_nrm2sq(int64_t m, const double *a);

/* ----------------------------------------------------------------- RNG -- */
/* (sprec_rng is public: sprec.h) */

/* -------------------------------------------------------------- fibers -- */
/* A function running on its own stack, switched to and from explicitly (fiber.c). */
typedef struct sprec_fiber_s sprec_fiber;
sprec_err sprec_fiber_create(void (*fn)(void *), void *arg, size_t stack_size, sprec_fiber **f);
void sprec_fiber_resume(sprec_fiber *f); /* run f until it yields or returns   */
void sprec_fiber_yield(sprec_fiber *f);  /* inside f: back to the resumer      */
int sprec_fiber_done(const sprec_fiber *f);
void sprec_fiber_destroy(sprec_fiber **f);

/* --------------------------------------------------------------- misc -- */
/* Check that a size fits a BLAS/LAPACK int. */
sprec_err sprec_check_int(int64_t v, const char *what);

#endif
