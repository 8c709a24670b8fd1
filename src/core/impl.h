/* Internal declarations shared by the library's files. Not installed. */
#ifndef SPREC_IMPL_H
#define SPREC_IMPL_H

#include "sprec.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

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
  sprec_comm_count comm_counts[SPREC_COMM_NPHASES]; /* this rank's (comm.h)       */
  int comm_hold;     /* a phase that takes every count (the norm estimate), or -1 */
};

#include "comm.h" 

/* -------------------------------------------------------------- timers -- */
double sprec_wtime(void);

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
/* k distinct indices of [0, n), uniform, sorted, drawn from (seed, stream) alone
 * (Floyd's algorithm; rng.c): supports, the rows of the fast-transform operator. */
sprec_err sprec_rng_distinct(uint64_t seed, uint64_t stream, int64_t n, int64_t k, int64_t *S);

/* -------------------------------------------------------------- fibers -- */
/* A function running on its own stack, switched to and from explicitly (fiber.c). */
typedef struct sprec_fiber_s sprec_fiber;
sprec_err sprec_fiber_create(void (*fn)(void *), void *arg, size_t stack_size, sprec_fiber **f);
void sprec_fiber_resume(sprec_fiber *f); /* run f until it yields or returns   */
void sprec_fiber_yield(sprec_fiber *f);  /* inside f: back to the resumer      */
int sprec_fiber_done(const sprec_fiber *f);
void sprec_fiber_destroy(sprec_fiber **f);

/* --------------------------------------------------------------- misc -- */
/* util.c. At most n bytes of s (up to its NUL) into out as printable ASCII, every
 * other byte as '?', truncated to outlen − 1 characters: a message that quotes file
 * content stays one line of plain text. out may be s itself. Returns out. */
char *sprec_printable(char *out, size_t outlen, const char *s, size_t n);
/* The unsigned little-endian integer in b[0..n), n <= 8. */
uint64_t sprec_le(const unsigned char *b, int n);
/* free() of each of the n pointers given (NULL ones included): a destructor's list. */
void sprec_free_n(int n, ...);

/* splitmix64's finalizer: a bijection of 64-bit words that spreads every input bit
 * (the checkpoints' checksum, the operators' fingerprints). */
static inline uint64_t sprec_mix64(uint64_t x)
{
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/* The bits of a double, as a word. */
static inline uint64_t sprec_bits64(double v)
{
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  return u;
}
/* qsort comparisons: int64_t (the first of each element), double. */
int sprec_cmp_i64(const void *a, const void *b);
int sprec_cmp_dbl(const void *a, const void *b);

/* -------------------------------------------------------- file I/O -- */
/* fileio.c. Not collective. Open MPI's own messages (the descriptor OPAL_OUTPUT_STDERR_FD
 * names, when a front end set it) muted from sprec_io_mute until sprec_io_unmute, around
 * the library's MPI-IO calls: their failures are reported as the library's errors. */
typedef struct {
  int fd, saved; /* the muted descriptor and its copy; -1: nothing muted */
} sprec_mute;
sprec_mute sprec_io_mute(void);
void sprec_io_unmute(sprec_mute *m);
/* The first bytes of the existing file path allocated on disk (fallocate): 0, or the
 * errno of a refusal that writing would meet too (ENOSPC, EDQUOT, EFBIG); a file system
 * that cannot reserve gives 0. */
int sprec_io_reserve(const char *path, uint64_t bytes);
/* 1 if the file system of path (a file being written) has less than need bytes left. */
int sprec_io_full(const char *path, uint64_t need);

/* Check that a size fits a BLAS/LAPACK int. */
sprec_err sprec_check_int(int64_t v, const char *what);

#endif
