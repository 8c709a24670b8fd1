/* sprec — distributed sparse support recovery over huge dictionaries.
 *
 * Problem: recover a k-sparse x from y = A x + e, A of size m x n with n large.
 * Layout: the columns of A are block-distributed over the ranks of a communicator
 * (rank r owns the contiguous global columns [c_r, c_r + n_r)); y and the residual
 * are replicated; sparse iterates are replicated as sorted (index, value) pairs.
 *
 * Conventions: every function returns sprec_err (0 = success). "Collective" means
 * every rank of the context's communicator must call it with matching arguments.
 * The library never exits and never prints to stdout.
 */
#ifndef SPREC_H
#define SPREC_H

#include <mpi.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SPREC_VERSION "0.8.0"
/* Not collective. The version of the library linked (SPREC_VERSION of its header). */
const char *sprec_version(void);

/* ---------------------------------------------------------------- errors -- */
typedef enum {
  SPREC_OK = 0,
  SPREC_ERR_ARG,      /* bad argument or option value                */
  SPREC_ERR_IO,       /* file cannot be opened, read or written      */
  SPREC_ERR_FORMAT,   /* file content is malformed or unsupported    */
  SPREC_ERR_MEM,      /* allocation failed                           */
  SPREC_ERR_MPI,      /* an MPI call failed                          */
  SPREC_ERR_LAPACK,   /* LAPACK/ScaLAPACK returned an error          */
  SPREC_ERR_NUMERIC   /* non-finite values appeared while solving    */
} sprec_err;

const char *sprec_strerror(sprec_err e);
/* Not collective. The message of the last error raised on this rank: one line that
 * names the input and what is wrong. After a collective call failed, every rank holds
 * the message of the lowest failing rank. */
const char *sprec_errmsg(void);
/* Not collective. The call trace (file:line function) of the last error. */
const char *sprec_errtrace(void);

/* Raising errors the library's way, for the caller's own code (the command line and
 * the service use them): the message goes where sprec_errmsg() reads it. */
#if defined(__GNUC__)
#define SPREC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SPREC_PRINTF(a, b)
#endif
/* Not collective. Records the message (printf format) and its place; returns code. */
sprec_err sprec_error_set(sprec_err code, const char *file, int line, const char *func,
                          const char *fmt, ...) SPREC_PRINTF(5, 6);
/* Not collective. Appends a trace line (this place) to the last error; returns code. */
sprec_err sprec_error_trace(sprec_err code, const char *file, int line, const char *func);
/* Collective. Every rank learns whether any rank failed (err != SPREC_OK on it); all
 * return the code and message of the lowest failing rank, or SPREC_OK. A step that can
 * fail on some ranks only ends with it, so that no rank waits in a later collective. */
sprec_err sprec_agree(MPI_Comm comm, sprec_err err);

/* An error with a message (printf format) naming the input. */
#define SPREC_ERROR(code, ...) sprec_error_set((code), __FILE__, __LINE__, __func__, __VA_ARGS__)
/* Return an error with a message naming the input when cond is false. */
#define SPREC_CHECK(cond, code, ...)                                                     \
  do {                                                                                 \
    if (!(cond)) return SPREC_ERROR((code), __VA_ARGS__);                              \
  } while (0)
/* Propagate an error, adding this place to the trace. */
#define SPREC_CALL(expr)                                                                 \
  do {                                                                                 \
    sprec_err e_ = (expr);                                                             \
    if (e_) return sprec_error_trace(e_, __FILE__, __LINE__, __func__);                \
  } while (0)
/* Same, for functions that clean up: set the variable `err` and jump to `label`. */
#define SPREC_TRY(expr, label)                                                           \
  do {                                                                                 \
    err = (expr);                                                                      \
    if (err) {                                                                         \
      sprec_error_trace(err, __FILE__, __LINE__, __func__);                            \
      goto label;                                                                      \
    }                                                                                  \
  } while (0)

/* Not collective. Releases what the library returned and the caller owns: the arrays
 * of the loaders (sprec_y_load, sprec_x_load), of sprec_problem_generate (y), the text
 * of sprec_result_json, a block of sprec_alloc_block. NULL is accepted. (Sparse
 * vectors, operators, solvers and contexts have their own sprec_*_free / _destroy.) */
void sprec_free(void *p);

/* Not collective. A large block for an operator's columns (count elements of size
 * bytes), not zeroed, released with sprec_free (sprec_op_create_dense takes it): aligned
 * to 2 MiB and advised to the kernel as transparent huge pages, so that a pass over A
 * walks 512 times fewer page-table entries (15 to 30% more bandwidth measured).
 * SPREC_ERR_MEM naming what if it cannot be had. */
sprec_err sprec_alloc_block(size_t count, size_t size, void *ptrp, const char *what);

/* --------------------------------------------------------------- context -- */
typedef struct sprec_ctx_s *sprec_ctx;

/* Collective on comm. Duplicates comm (errors return, never abort) and builds a
 * BLACS grid of nprow x npcol processes on the copy. comm is not retained. */
sprec_err sprec_ctx_create(MPI_Comm comm, sprec_ctx *ctx);
/* Collective. Accepts NULL; sets *ctx to NULL. */
sprec_err sprec_ctx_destroy(sprec_ctx *ctx);
MPI_Comm sprec_ctx_comm(sprec_ctx ctx);
int sprec_ctx_rank(sprec_ctx ctx);
int sprec_ctx_size(sprec_ctx ctx);
void sprec_ctx_grid(sprec_ctx ctx, int *nprow, int *npcol);

/* --------------------------------------------------------- communication -- */
/* Every MPI call of the library is counted on the context whose communicator it runs
 * on, in the phase of the work it serves (src/core/comm.h says what one call adds):
 * calls; bytes (the payload of this rank's call: count x type size; for Allgather(v)
 * what every rank ends up holding, for Alltoallv what this rank sends, for MPI-IO what
 * this rank reads or writes); hops (1 per collective call, plus the length of each
 * point-to-point chain on every rank that waits for its end); seconds. The counts
 * are exact: the same for the same problem, options and number of ranks. A solve
 * (sprec_solver_solve, sprec_solver_solve_batch) resets them at its start, so they
 * then cover the solve, its set-up included (the ‖A‖₂² estimate in its own phase),
 * and its statistics carry them reduced over the ranks (sprec_stats.comm_max/sum). */
typedef enum {
  SPREC_COMM_PRODUCTS = 0, /* A x and Aᵀr passes (operators that exchange data)        */
  SPREC_COMM_RESIDUAL,     /* A_S x_S (sprec_op_apply_sparse): chain and broadcast      */
  SPREC_COMM_TOPK,         /* the collective top-k (sprec_topk)                        */
  SPREC_COMM_LSQ,          /* restricted least squares (not gathers of its columns)    */
  SPREC_COMM_GATHER,       /* support columns and sparse vectors gathered               */
  SPREC_COMM_NORM,         /* the ‖A‖₂² power iteration, all of it                     */
  SPREC_COMM_SCALAR,       /* small reductions: objectives, steps, stop tests, λ_max    */
  SPREC_COMM_AGREE,        /* error agreement (sprec_agree)                             */
  SPREC_COMM_CHECKPOINT,   /* checkpoints written and read, fingerprints                */
  SPREC_COMM_IO,           /* files loaded and written                                  */
  SPREC_COMM_NPHASES
} sprec_comm_phase;

typedef struct {
  int64_t calls, bytes, hops;
  double seconds; /* wall time in the calls (reduced: the maximum over ranks) */
} sprec_comm_count;

/* Not collective. The phase's name as perf.comm writes it: "products", "residual",
 * "topk", "lsq", "gather", "norm", "scalar", "agree", "checkpoint", "io". */
const char *sprec_comm_phase_name(sprec_comm_phase ph);
/* Not collective. This rank's counts since the context was made or last reset. */
void sprec_ctx_comm_counts(sprec_ctx ctx, sprec_comm_count counts[SPREC_COMM_NPHASES]);
/* Not collective (reset on every rank to compare across ranks). */
void sprec_ctx_comm_reset(sprec_ctx ctx);

/* --------------------------------------------------------------- kernels -- */
/* The passes over A run kernels compiled for several instruction sets (generic: any
 * CPU; avx2; avx512), the best this CPU runs chosen at run time. Every variant sums in
 * the same order and returns the same bits, so the choice changes speed only.
 * Not collective: each process chooses for itself. */
/* The variants this CPU runs, best first, NULL-terminated. */
const char *const *sprec_kernel_variants(void);
/* The variant in use. */
const char *sprec_kernel_variant(void);
/* Use variant name ("auto": the best). SPREC_ERR_ARG if unknown or if this CPU
 * cannot run it. sprec_ctx_create applies $SPREC_KERNEL when it is set. */
sprec_err sprec_kernel_select(const char *name);

/* ---------------------------------------------------------------- layout -- */
/* Balanced contiguous blocks: the first n mod p ranks own one column more. */
int64_t sprec_block_start(int64_t n, int p, int r);
int64_t sprec_block_size(int64_t n, int p, int r);
int sprec_block_owner(int64_t n, int p, int64_t j);

/* ------------------------------------------------------- sparse vectors -- */
/* Replicated k-sparse vector: idx sorted ascending, global 0-based. */
typedef struct {
  int64_t nnz, cap;
  int64_t *idx;
  double *val;
} sprec_sparse;

sprec_err sprec_sparse_init(sprec_sparse *x, int64_t cap);
void sprec_sparse_free(sprec_sparse *x);
sprec_err sprec_sparse_copy(sprec_sparse *dst, const sprec_sparse *src);

/* Collective. The nonzeros of a block-distributed dense vector (this rank's slice v
 * of a vector of global length n) as a replicated sparse vector (allocated). */
sprec_err sprec_dense_to_sparse(sprec_ctx ctx, int64_t n, const double *v, sprec_sparse *x);

/* ------------------------------------------------------------- operators -- */
typedef struct sprec_op_s *sprec_op;

/* Ownership, for every operator constructor (sprec_op_create_*): the arrays given to
 * it (allocated with malloc, calloc or sprec_alloc_block) become the operator's. The
 * operator releases them with sprec_free when it is destroyed, and a constructor that
 * fails releases them itself before it returns. Either way the caller neither frees
 * them nor uses them after the call. */

/* Collective. A dense operator over a local block: A_local holds this rank's
 * columns [sprec_block_start(n,p,rank), ...) column-major with leading dimension m.
 * Takes A_local (the ownership rule above). */
sprec_err sprec_op_create_dense(sprec_ctx ctx, int64_t m, int64_t n, double *A_local,
                                sprec_op *op);
/* Collective. The same with the block stored in single precision (half the memory
 * and the bandwidth of a pass). Products read each entry widened to double and
 * accumulate in double, in the same order as the double operator: on a block of
 * float values the two operators give identical results, and results stay the same
 * for any number of ranks. Takes A_local (the ownership rule above). */
sprec_err sprec_op_create_dense_f32(sprec_ctx ctx, int64_t m, int64_t n, float *A_local,
                                    sprec_op *op);
/* Collective. Accepts NULL; sets *op to NULL. */
sprec_err sprec_op_destroy(sprec_op *op);
/* Not collective. The shape (m x n), this rank's number of columns n_r and its first
 * global column c_r. */
int64_t sprec_op_rows(sprec_op op);
int64_t sprec_op_cols(sprec_op op);
int64_t sprec_op_local_cols(sprec_op op);
int64_t sprec_op_col_start(sprec_op op);
/* Not collective. The operator's kind: "dense" (a stored block of columns, double or
 * single precision), and the matrix-free and sparse kinds as they are added. The
 * result JSON's "operator". */
const char *sprec_op_kind(sprec_op op);
/* Not collective. One line on what defines the operator beyond its kind and shape
 * (storage, kernel, nonzeros, memory per rank), for `sprec info` and the logs;
 * "" if nothing more. Truncated to len - 1 characters. */
void sprec_op_describe(sprec_op op, char *buf, size_t len);
/* Not collective. What one pass (sprec_op_apply_T on every rank) costs at least, over
 * all ranks: *bytes that must come from memory (a stored block, nonzeros, the vectors
 * of a matrix-free operator) and *flops, floating-point operations, both from the
 * operator's own analytic count; 0 and 0 where the kind gives none. The bounds that
 * `sprec bench --operator` holds each pass against. */
void sprec_op_pass_cost(sprec_op op, double *bytes, double *flops);
/* How a dense operator stores its block. */
typedef enum { SPREC_FLOAT64, SPREC_FLOAT32 } sprec_dtype;
/* Not collective. SPREC_FLOAT32 for sprec_op_create_dense_f32's operators, else
 * SPREC_FLOAT64. */
sprec_dtype sprec_op_dtype(sprec_op op);
/* Not collective. A dense operator's local block (m x n_r, column-major, leading
 * dimension m; double or float as sprec_op_dtype says), owned by the operator: read
 * it, do not free it. NULL for an operator without a stored block. */
const void *sprec_op_local_block(sprec_op op);
/* Local: g = A_rᵀ r for this rank's columns; r replicated (m), g local (n_r). */
sprec_err sprec_op_apply_T(sprec_op op, const double *r, double *g);
/* Local: g[p] = A_rᵀ r[p] for nb right-hand sides, in one pass over the block where
 * the operator can (the dense ones can), each g[p] bit for bit sprec_op_apply_T's. */
sprec_err sprec_op_apply_T_many(sprec_op op, int nb, const double *const *r, double *const *g);
/* Collective: out = A x for a replicated sparse x; out replicated (m). The result is
 * bit-for-bit the serial sum in index order, for any number of ranks. */
sprec_err sprec_op_apply_sparse(sprec_op op, const sprec_sparse *x, double *out);
/* Collective: ‖A‖₂² by power iteration, rounded to 24 bits of mantissa so that the
 * value does not depend on the number of ranks. Made once per operator: later calls
 * (and the solvers') return the same value at once. */
sprec_err sprec_op_norm2_est(sprec_op op, double *L);
/* Collective. The operator's fingerprint into buf (len bytes; SPREC_FINGERPRINT_LEN
 * always suffice): one line of text, equal for two operators exactly when they hold
 * the same dictionary, the same for any number of ranks, so that work stored against
 * one (a service's queued requests) is never solved against another. It reads
 * "KIND DTYPE MxN WHAT", KIND sprec_op_kind's, DTYPE float64 or float32:
 *   - a generated dictionary (sprec_problem_generate, sprec_op_create_hadamard): WHAT
 *     is the parameters that define A, exactly: "gaussian seed=5", "deconv
 *     width=0.02", "seed=5", "spikes sigma=3 taps=25";
 *   - stored values (the loaders, sprec_op_create_dense*, sprec_op_create_csc) or a
 *     kernel (sprec_op_create_conv): "sum:" and 16 hex digits, a 64-bit hash of the
 *     values held (a sparse matrix: of its entries as given, repeats unsummed), of
 *     which one change is always seen (several: missed with probability 2⁻⁶⁴).
 * Made as the operator is: the loaders hash the values in the loop that checks them
 * finite, as they read them; only a dense operator built from a caller's block is
 * hashed (one pass over it) at the first call. SPREC_ERR_ARG if len is too small. */
#define SPREC_FINGERPRINT_LEN 160
sprec_err sprec_op_fingerprint(sprec_op op, char *buf, size_t len);

/* -------------------------------------------------------- random numbers -- */
/* The generators' random numbers (xoshiro256**): a stream is fixed by (seed, stream,
 * substream), so that a value depends on those alone and not on the number of ranks
 * (column j of a generated A is substream j). Not collective. */
typedef struct { uint64_t s[4]; } sprec_rng;
void sprec_rng_seed(sprec_rng *g, uint64_t seed, uint64_t stream, uint64_t substream);
uint64_t sprec_rng_next(sprec_rng *g);
double sprec_rng_uniform(sprec_rng *g); /* in (0, 1) */
double sprec_rng_normal(sprec_rng *g);  /* N(0, 1)   */

/* ------------------------------------------------------------ generators -- */
typedef enum {
  SPREC_PROBLEM_GAUSSIAN,
  SPREC_PROBLEM_DECONV,
  SPREC_PROBLEM_HADAMARD, /* A = sprec_op_create_hadamard(m, n, seed): n a power of two,
                            nothing stored (single refused); y = A x + e made with
                            its columns, identical for any number of ranks */
  SPREC_PROBLEM_SPIKES /* spike deconvolution: a convolution operator (no m given)  */
} sprec_problem_kind;

typedef struct {
  sprec_problem_kind kind; /* gaussian                                      */
  int64_t m, n, k;         /* sizes (required)                              */
  double snr_db;           /* noise level in dB; INFINITY = noiseless (default) */
  uint64_t seed;           /* default 1                                     */
  double width;            /* deconv bump width parameter, default 0.02     */
  int single;              /* 0 (default): A in double; 1: A stored in single
                              precision (each column made and normalized in
                              double, then rounded to float); y and the true x
                              are those of the double problem                  */
  /* spikes: y = K ∗ x + e, K a Gaussian of standard deviation sigma samples (default
   * 3) on taps samples (default 25), unit ℓ2 norm; k spikes at least min_sep apart
   * (default 100), amplitudes ±(1 + |N(0,1)|); m = n + taps − 1 (p->m is ignored). */
  double sigma;
  int64_t taps, min_sep;
  /* deconv: 1 = the columns computed from their formula on every pass instead of
   * stored (O(m) memory per rank instead of O(m·n_r); the same products, bit for bit,
   * at the price of evaluating the bumps on each pass); operator "deconv-implicit".
   * 0: stored, unless a rank's double block would take more than half its share of
   * its node's memory: then implicit all the same (the result is the same) */
  int implicit;
} sprec_problem;

void sprec_problem_default(sprec_problem *p);
/* Not collective. Every parameter of p checked, with messages that name it (m, n, k,
 * snr, width, sigma, taps, min_sep; any seed is valid): sizes positive and k in range;
 * snr a number of dB >= -300 (the noise at most 10^15 times the signal) or +inf (no
 * noise); deconv: width finite and wide enough that no bump falls between the m grid
 * points and vanishes; spikes: sigma finite and wide enough that the kernel does not
 * vanish between its taps, taps in [1, 2^40], min_sep >= 1 and room for k spikes.
 * What sprec_problem_generate checks first; a front end may call it before any work.
 * SPREC_ERR_ARG. */
sprec_err sprec_problem_check(const sprec_problem *p);
/* Collective. Builds the dense operator (each rank generates its own columns: column
 * j depends on (seed, j) alone), y (replicated, m, the caller's: sprec_free) and the true x
 * (replicated sparse, k entries). Identical for any number of ranks. With single,
 * the operator is sprec_op_create_dense_f32's and only A is rounded: y = A x + e is
 * computed with the double columns, as in the double problem, so the two problems
 * differ exactly by the rounding of A to single precision. */
sprec_err sprec_problem_generate(sprec_ctx ctx, const sprec_problem *p, sprec_op *A,
                                 double **y, sprec_sparse *x_true);
/* (SPREC_PROBLEM_SPIKES: the operator is sprec_op_create_conv's, y has n + taps − 1
 * entries, single is refused.) */

/* ------------------------------------------------------------ algorithms -- */
/* An algorithm, resolved from its name once and then carried by the options: no name
 * is looked up again on the way through a solve. Handles point into the library's
 * table: never freed, the same for the whole run, comparable with ==. */
typedef const struct sprec_algo_s *sprec_algo;
/* What an algorithm solves: ½‖Ax−y‖² s.t. ‖x‖₀ <= k (ℓ0 and greedy methods: needs k), or
 * the Lasso ½‖Ax−y‖² + λ‖x‖₁ (ℓ1 methods: needs λ, ignores k). */
typedef enum { SPREC_ALGO_L0, SPREC_ALGO_L1 } sprec_algo_class;
/* Not collective. The algorithm named name ("sea", "fista", ... as sprec_algorithms()
 * lists them), or NULL if there is none of that name. */
sprec_algo sprec_algo_find(const char *name);
/* Not collective. Its name, and its class. */
const char *sprec_algo_name(sprec_algo a);
sprec_algo_class sprec_algo_class_of(sprec_algo a);
/* Names of the registered algorithms, NULL-terminated. */
const char *const *sprec_algorithms(void);

/* ---------------------------------------------------------------- solver -- */
typedef enum { SPREC_LSQ_AUTO, SPREC_LSQ_SCALAPACK, SPREC_LSQ_REPLICATED } sprec_lsq_method;
typedef enum { SPREC_TOPK_AUTO, SPREC_TOPK_GATHER, SPREC_TOPK_THRESHOLD } sprec_topk_method;
typedef enum { SPREC_STEP_DEFAULT, SPREC_STEP_FIXED, SPREC_STEP_ADAPTIVE } sprec_step_rule;

/* What to solve and how: the options. How a run is watched, stopped and saved (progress,
 * a stop flag, checkpoints) is set on the solver instead (sprec_solver_set_*). */
typedef struct {
  sprec_algo algo;            /* SEA (default); sprec_algo_find("htp"), ...        */
  int64_t k;                  /* sparsity, required by ℓ0 and greedy methods
                                 (1 <= k <= min(m, n)), ignored by ℓ1 methods      */
  int iters;                  /* 0: the algorithm's default (SEA 1000, HTP/IHT 500) */
  double tol;                 /* ℓ0: stop when ‖Ax-y‖/‖y‖ <= tol, 0 (default): only at 0;
                                 ℓ1: stop when the duality gap <= tol·F (relative),
                                 0 runs the whole budget                            */
  double step;                /* 0: default (SEA 1/‖A‖², HTP 1, IHT 1/‖A‖²)       */
  sprec_step_rule step_rule;  /* HTP: fixed (default) or NHTP; IHT: adaptive (NIHT) */
  sprec_lsq_method lsq;       /* restricted least squares path, default auto      */
  sprec_topk_method topk;     /* collective top-k algorithm, default auto          */
  sprec_algo init_algo;       /* NULL (default), or an algorithm run first: the main
                                 algorithm starts from its result (a chain; the
                                 CLI's --init ALGO). It runs with these options, its
                                 own default budget, no progress reports, and tol 0
                                 if it is an ℓ0 method                              */
  /* ℓ1 methods (the Lasso ½‖Ax−y‖² + λ‖x‖₁). */
  double lambda;              /* λ > 0; or 0 and lambda_ratio > 0                  */
  double lambda_ratio;        /* λ = lambda_ratio·λ_max, λ_max = ‖Aᵀy‖∞ (lambda 0)  */
  int continuation;           /* ISTA/FISTA/OISTA: stages N of λ_l = λ_max (λ/λ_max)^{l/N}; 0 none */
  int restart;                /* FISTA: adaptive restart (O'Donoghue–Candès)       */
  int debias;                 /* least squares on the final support                */
} sprec_opts;

void sprec_opts_default(sprec_opts *o);
/* Options by name: the CLI's flags without their dashes, the service's JSON fields, the
 * words library messages use: algo, k, iters, tol, step, step_rule, lsq, topk, lambda,
 * lambda_ratio, continuation, restart, debias. Not collective. set parses value as
 * the option's type (an integer, a number, true or false, one of the option's names;
 * algo: an algorithm's name) and fails with SPREC_ERR_ARG naming the option; get
 * writes the value as text (numbers exactly, %.17g). */
const char *const *sprec_opts_names(void);
sprec_err sprec_opts_set(sprec_opts *o, const char *name, const char *value);
sprec_err sprec_opts_get(const sprec_opts *o, const char *name, char *value, size_t len);
/* Not collective. Every option checked, for a dictionary of m rows and n columns
 * (m = 0: sizes unknown, k not checked), a chain's init_algo included (the lambda or
 * the k it needs): the one validation of the options, which
 * sprec_solver_create (without sizes) and every solve (with them, before any work)
 * apply. SPREC_ERR_ARG with a message that names the option ('iters must be >= 0 (got
 * -1)'). */
sprec_err sprec_opts_check(const sprec_opts *o, int64_t m, int64_t n);
/* Not collective. Option name was given by a user (a flag, a request's field), not
 * left at its default: its value must not be one that the options reserve for "the
 * default" (step 0, lambda 0, lambda_ratio 0: whoever writes --step 0 means a step of
 * zero, not the default step); the rest of its range is sprec_opts_check's.
 * sprec_opts_set takes those values (sprec_opts_get writes them, and a stored set of
 * options is read back by name). SPREC_ERR_ARG naming the option ('step must be a
 * positive number (got 0)'). */
sprec_err sprec_opts_check_given(const sprec_opts *o, const char *name);

typedef struct {
  int iterations;         /* iterations performed                               */
  int best_iteration;     /* iteration whose iterate is returned (0 = start)    */
  char stop_reason[32];   /* "iterations", "tol", "fixed_point", "converged", "gap",
                             "interrupted"                                       */
  double objective;       /* of the problem solved: ½‖Ax-y‖² (ℓ0), + λ‖x‖₁ (ℓ1) */
  double data_fit;        /* ½‖Ax-y‖²                                           */
  double lambda;          /* λ used (ℓ1), 0 otherwise                           */
  double lambda_max;      /* ‖Aᵀy‖∞ (ℓ1), 0 otherwise                           */
  double gap;             /* ℓ1: final duality gap, relative to the objective   */
  double rel_residual;    /* ‖Ax-y‖/‖y‖                                         */
  double step;            /* step actually used (the first, for adaptive rules) */
  double L;               /* ‖A‖₂² estimate, 0 if not computed                  */
  int lsq_scalapack;      /* 1 if the ScaLAPACK path was used                   */
  int resumed_iteration;  /* the checkpoint's iteration if resumed, else -1      */
  int checkpoint_iteration; /* iteration of the last checkpoint written, else -1 */
  double init_data_fit;   /* chains (init_algo): ½‖Ax-y‖² of the init result    */
  int init_iterations;    /* chains: the init algorithm's iterations            */
  int64_t apply_T_passes; /* passes over A (Aᵀr products)                       */
  double iteration_seconds_median; /* median wall time of one iteration (max over ranks) */
  /* Seconds, max over ranks. */
  double t_total, t_setup, t_apply_T, t_topk, t_lsq, t_comm;
  /* The solve's communication per phase (of a batch: the batch's, in its whole-batch
   * statistics), the maximum and the sum over ranks; zero in a batch's per-problem
   * statistics. */
  sprec_comm_count comm_max[SPREC_COMM_NPHASES], comm_sum[SPREC_COMM_NPHASES];
} sprec_stats;

typedef struct sprec_solver_s *sprec_solver;

/* Collective on ctx. The options are copied and checked (sprec_opts_check without
 * sizes). *s: the caller's (sprec_solver_destroy; accepts NULL, sets *s to NULL). */
sprec_err sprec_solver_create(sprec_ctx ctx, const sprec_opts *opts, sprec_solver *s);
sprec_err sprec_solver_destroy(sprec_solver *s);

/* Run control: how the solves of s are watched, stopped and saved. Not collective, but
 * give every rank the same settings (a stop is agreed over the ranks, a checkpoint is
 * written by all). Each applies to the solves that follow it. */
/* Progress callback, called on rank 0 only every `every` iterations (0: none). */
typedef void (*sprec_monitor_fn)(void *ctx, int iter, double objective, int64_t changes,
                                 double elapsed);
/* fn(ctx, ...) every `every` iterations of the solve (of problem 0 in a batch; not
 * during a chain's init); every 0 or fn NULL: none. SPREC_ERR_ARG naming monitor if
 * every < 0. */
sprec_err sprec_solver_set_monitor(sprec_solver s, int every, sprec_monitor_fn fn, void *ctx);
/* If flag is non-NULL and set on any rank (a signal handler may set it), every rank
 * stops after the current iteration: stop reason "interrupted" (and the checkpoint is
 * written, if one is set). NULL: no stop flag (the default). */
sprec_err sprec_solver_set_stop_flag(sprec_solver s, volatile sig_atomic_t *flag);
/* Checkpoints (every algorithm, chains and batches): the state of the run in one file
 * (path, copied), written atomically when the stop flag stops the run and every `every`
 * iterations (0: only at a stop); path NULL: none (the default). Resumed on any number
 * of ranks, the run ends exactly as it would have without the interruption.
 * SPREC_ERR_ARG naming checkpoint_every if every < 0, or every > 0 without a path. */
sprec_err sprec_solver_set_checkpoint(sprec_solver s, const char *path, int every);
/* Continue the run saved in path (copied; same A, y and options) instead of starting;
 * NULL: start afresh (the default). The file carries a checksum and every field is
 * checked against the problem before it is used: a damaged or foreign file is refused
 * (SPREC_ERR_FORMAT; SPREC_ERR_ARG for another problem or other options), and so is a
 * checkpoint taken at an iteration past the budget iters. */
sprec_err sprec_solver_set_resume(sprec_solver s, const char *path);

/* Collective. y: replicated, length m, not retained. init: NULL or this rank's slice
 * (n_r entries) of a dense starting vector. x: output, replicated sparse, allocated
 * by the call (sprec_sparse_free it). */
sprec_err sprec_solver_solve(sprec_solver s, sprec_op A, const double *y,
                             const double *init, sprec_sparse *x);
/* Collective. b problems sharing A: Y holds their observations as the columns of an
 * m x b column-major matrix (replicated); init is NULL or this rank's rows of an
 * n x b starting matrix (n_r x b, column-major, leading dimension n_r). Each problem
 * runs the algorithm with its own support, iterations and stop; the products Aᵀr of
 * all problems still running are made together, one pass over A per round
 * (sprec_op_apply_T_many). x[p] and st[p] receive problem p's solution and
 * statistics, bit for bit what sprec_solver_solve gives for that problem alone
 * (times aside). Progress (sprec_solver_set_monitor) is reported for problem 0. A
 * checkpoint (sprec_solver_set_checkpoint) holds every problem in one file: the state
 * of those still running, the result of those done; sprec_solver_set_resume continues
 * such a file. */
sprec_err sprec_solver_solve_batch(sprec_solver s, sprec_op A, int b, const double *Y,
                                   const double *init, sprec_sparse *x, sprec_stats *st);
/* The last solve's statistics; after a batch, the batch's as a whole: t_total,
 * apply_T_passes (rounds) and t_apply_T. */
void sprec_solver_get_stats(sprec_solver s, sprec_stats *st);

/* ---------------------------------------------------------------- results -- */
/* What a solve produced, for sprec_result_json (the front end fills it). */
typedef struct {
  int b;                       /* problems (1: a single solve)                          */
  const sprec_sparse *x;       /* their solutions                                       */
  const sprec_stats *st;       /* their statistics                                      */
  const sprec_stats *all;      /* the batch's as a whole (sprec_solver_get_stats); not
                                  read when b = 1                                       */
  const double *truth;         /* NULL, or 3 per problem: support recovered (1 or 0),
                                  F1 of the support, ‖x − x*‖/‖x*‖                       */
  sprec_algo init_algo;        /* NULL, or the algorithm that made the starting point  */
  const double *init_data_fit; /* its data fit, per problem                             */
  double t_io;                 /* seconds reading and writing files (added to total)   */
  double peak_rss_mib;         /* peak memory per rank, or 0 (omitted)                  */
} sprec_result;
/* Not collective (any rank; ctx and A give the ranks, grid and shape). The result as
 * JSON text, the object `sprec solve --out` writes: every problem (p = -1: one object,
 * with "problems" for a batch) or problem p alone, as if it had been solved by itself
 * (the service's reply). The caller's: sprec_free it. NULL if out of memory. Numbers read back
 * as the same doubles. */
char *sprec_result_json(sprec_ctx ctx, const sprec_opts *o, sprec_op A, const sprec_result *r,
                        int p);
/* Not collective. A solution x against the true x (both sorted sparse vectors):
 * out[0] = 1 if the support is recovered exactly, else 0; out[1] = F1 of the support;
 * out[2] = ‖x − truth‖/‖truth‖ (‖x‖ if truth is 0): sprec_result's truth figures. */
void sprec_truth_metrics(const sprec_sparse *x, const sprec_sparse *truth, double out[3]);

/* ------------------------------------------------- collective primitives -- */
/* Collective. The k entries of largest |v| over all ranks (v: this rank's slice of
 * a block-distributed vector of global length n), ties to the smaller index. The
 * result is replicated, sorted by index, with the values of v. */
sprec_err sprec_topk(sprec_ctx ctx, int64_t n, const double *v, int64_t k,
                     sprec_topk_method method, sprec_sparse *out);

/* ---------------------------------------------------------- restricted LS -- */
typedef struct sprec_lsq_s *sprec_lsq;
/* Collective. Prepares min ‖A_S z - y‖ for supports of at most kmax columns.
 * y is copied. method AUTO picks replicated for small kmax. */
sprec_err sprec_lsq_create(sprec_op A, const double *y, int64_t kmax,
                           sprec_lsq_method method, sprec_lsq *lsq);
sprec_err sprec_lsq_destroy(sprec_lsq *lsq);
/* Collective. S: sorted global indices (replicated, |S| <= kmax). z: coefficients in
 * the order of S; r (may be NULL): residual y - A_S z. Both replicated. Columns that
 * are linearly dependent on others in S get coefficient 0. */
sprec_err sprec_lsq_solve(sprec_lsq lsq, int64_t k, const int64_t *S, double *z, double *r);
int sprec_lsq_is_scalapack(sprec_lsq lsq);

/* ---------------------------------------------------------- problem files -- */
/* A problem in .npy files (any version, little-endian float64 or float32, C or Fortran
 * order): the dictionary A (m x n), the observations y, and n-vectors laid out like the
 * columns of A (a starting point, a true x, a solution). Every value read is checked
 * finite; errors name the file (SPREC_ERR_IO, _FORMAT, _ARG) and every rank returns
 * the same one. */

/* Collective. The dictionary in path (a 2-D array m x n) as a dense operator: each
 * rank reads only its own block of columns, through MPI-IO. dtype SPREC_FLOAT32 stores
 * the block in single precision (sprec_op_create_dense_f32), read a chunk of columns at
 * a time so that the memory stays near the float block; a value outside float's range
 * is refused. Needs at least one column per rank. *A: the caller's (sprec_op_destroy). */
sprec_err sprec_op_load_npy(sprec_ctx ctx, const char *path, sprec_dtype dtype, sprec_op *A);
/* Collective. The observations for a dictionary of m rows: a vector of length m (or an
 * m x 1 array), one problem; or an m x b array, b problems (at most 2^20), column p
 * being problem p's, as sprec_solver_solve_batch takes them. *Y: replicated, m x b
 * column-major, the caller's (sprec_free it); *b: the number of problems. */
sprec_err sprec_y_load_npy(sprec_ctx ctx, const char *path, int64_t m, int *b, double **Y);
/* Collective. b n-vectors laid out like the columns of A: for b = 1 a vector of length
 * n (or an n x 1 array), else an n x b array (one column per problem). *X: this rank's
 * rows [c_r, c_r + n_r), n_r x b column-major (leading dimension n_r), the caller's
 * (sprec_free it): the layout of the init argument of sprec_solver_solve and _solve_batch. */
sprec_err sprec_x_load_npy(sprec_op A, const char *path, int b, double **X);
/* Collective. b sparse solutions (replicated, as the solvers return them) written as
 * dense float64: a vector of length n for b = 1, else an n x b array (row j holds x_j
 * of every problem). Each rank writes its rows; atomic (temporary name, then rename). */
sprec_err sprec_x_save_npy(sprec_op A, const char *path, int b, const sprec_sparse *x);
/* Collective. A dense operator written as a 2-D float64 array m x n in Fortran order
 * (a float32 block is widened, exactly), each rank writing its columns; atomic. */
sprec_err sprec_op_save_npy(sprec_op A, const char *path);

/* ------------------------------------------------ HDF5 and generic loading -- */
/* A file spec names an array: FILE.npy, or FILE.h5:/path/to/dataset (also .hdf5) for
 * a dataset of an HDF5 file, read through parallel HDF5 (the MPI-IO driver on the
 * context's communicator, collective transfers, each rank selecting only the hyperslab
 * of its own columns). An HDF5 dataset holds float64 or float32 (any byte order), 1-D
 * or 2-D, contiguous or chunked (compressed too). Storage order: a 2-D dataset of
 * shape (m, n) is the m x n matrix (C order: what h5py and NumPy write); a matrix
 * written column-major (Fortran, MATLAB -v7.3, Julia, R) has shape (n, m) in the file
 * and is read as m x n when the spec ends with :F (FILE.h5:/A:F) or when the dataset
 * has a string attribute order = "F"; :C forces the C reading over the attribute.
 * Errors name FILE.h5:/dataset (a spec without a dataset gets the list of the file's
 * datasets) and every rank returns the same one; HDF5's own error stack is never
 * printed. */

/* What sprec_h5_inspect finds: the fields of sprec_npy_info, same meanings. */
typedef struct {
  int ndim;          /* 1 or 2                                                 */
  int64_t shape[2];  /* the array's shape (m x n whatever the storage order);
                        shape[1] = 1 for ndim 1                                 */
  int fortran_order; /* 1: stored column-major (the file's dimensions (n, m))   */
  int elsize;        /* 8 (float64) or 4 (float32)                             */
  int big_endian;    /* 1: stored big-endian (converted as it is read)         */
  int chunked;       /* 1: chunked layout, chunk[] its dimensions (file order)  */
  int64_t chunk[2];
  int filters;       /* number of filters (compression) on the chunks          */
} sprec_h5_info;

/* Not collective. Whether spec names an HDF5 file: FILE.h5 or FILE.hdf5 (either in any
 * case), then :DATASET or nothing. If it does, *is_h5 = 1 and spec is split into file
 * (flen bytes) and dataset (dlen bytes; "" when absent); if not, *is_h5 = 0 and file and
 * dataset are left as they were. SPREC_ERR_ARG ("SPEC...: name too long", *is_h5 = 0)
 * when it does but a part does not fit its buffer. */
sprec_err sprec_h5_spec(const char *spec, char *file, size_t flen, char *dataset, size_t dlen,
                        int *is_h5);
/* Collective. Checks the dataset (a path in the file, with :F or :C at its end
 * perhaps): 1-D or 2-D, float64 or float32, not empty. */
sprec_err sprec_h5_inspect(MPI_Comm comm, const char *path, const char *dataset,
                           sprec_h5_info *info);
/* Collective. Columns [c0, c0+nc) of the dataset (a 1-D array of length n read as
 * 1 x n) into buf, column-major with leading dimension rows, as float64, each rank its
 * own hyperslab, a bounded number of columns per collective transfer (any nc, 0
 * included, on any rank). info: sprec_h5_inspect's, or the same array viewed
 * transposed (shape swapped, fortran_order flipped). */
sprec_err sprec_h5_read_cols(MPI_Comm comm, const char *path, const char *dataset,
                             const sprec_h5_info *info, int64_t c0, int64_t nc, double *buf);
/* Collective. The file's datasets, one a line ("/A (float64, 100 x 2000)"), into buf
 * (truncated to len - 1 characters, "..." at the end then). */
sprec_err sprec_h5_list(MPI_Comm comm, const char *path, char *buf, size_t len);
/* Collective. Creates the float64 dataset (C order, contiguous) of shape (rows, ncols),
 * or (ncols) if ndim == 1 (rows 1), in path (a new file, truncating any, if create;
 * else an existing HDF5 file) and writes it: each rank gives its columns [c0, c0+nc)
 * (column-major, leading dimension rows; ranks covering all columns). Not atomic: see
 * sprec_problem_save_h5. */
sprec_err sprec_h5_write_cols(MPI_Comm comm, const char *path, const char *dataset, int create,
                              int ndim, int64_t rows, int64_t ncols, int64_t c0, int64_t nc,
                              const double *buf);

/* Collective. sprec_op_load_npy for the dataset of an HDF5 file (dataset as in
 * sprec_h5_inspect): the same checks, dtypes and bounded memory. */
sprec_err sprec_op_load_h5(sprec_ctx ctx, const char *path, const char *dataset, sprec_dtype dtype,
                           sprec_op *A);
/* Collective. The loaders by spec (FILE.npy or FILE.h5:/dataset), as sprec_op_load_npy,
 * sprec_y_load_npy and sprec_x_load_npy do for .npy files: same arguments, ownership and
 * semantics. */
sprec_err sprec_op_load(sprec_ctx ctx, const char *spec, sprec_dtype dtype, sprec_op *A);
sprec_err sprec_y_load(sprec_ctx ctx, const char *spec, int64_t m, int *b, double **Y);
sprec_err sprec_x_load(sprec_op A, const char *spec, int b, double **X);
/* Collective. The shape of the array a spec names (*ndim 1 or 2; shape[1] = 1 for 1-D),
 * its header checked, no data read: sizes can be checked before any loading. */
sprec_err sprec_spec_shape(MPI_Comm comm, const char *spec, int *ndim, int64_t shape[2]);
/* Collective. A generated problem in one HDF5 file: /A (m x n float64, C order, a
 * float32 block widened), /y (m), /x_true (n, dense), each rank writing its columns;
 * atomic (a temporary name in the same directory, renamed once complete). */
sprec_err sprec_problem_save_h5(sprec_op A, const double *y, const sprec_sparse *x_true,
                                const char *path);

/* ---------------------------------------------------- fast-transform operator -- */
/* Collective. The subsampled Walsh–Hadamard operator of compressed sensing, never
 * stored: A = √(n/m)·R·H·D with n = 2^L, H the orthonormal Walsh–Hadamard transform
 * (H_ij = (−1)^popcount(i&j)/√n), R the m distinct rows of [0, n) drawn from seed
 * (sorted), D = diag(±1) with d_j drawn from (seed, j) alone: a_ij =
 * d_j·(−1)^popcount(R_i&j)/√m, unit columns, ‖A‖₂² = n/m exactly (sprec_op_norm2_est
 * returns it, no power iteration). Aᵀr is one fast transform of length n distributed
 * over the ranks: O(n log n) work, O(n_r) memory per rank (a buffer of about
 * (1 − 1/p)·n_r doubles for the transpose, none on one rank, and one of n_r more when
 * the rank count p does not divide 2^⌊L/2⌋; the output is the rest of the work space),
 * and messages between the ranks, so for this operator sprec_op_apply_T and
 * sprec_op_apply_T_many are collective (every rank calls them together, as the
 * solvers do); the result is the same bit for bit for any number of ranks. Columns are
 * made on demand, O(m) each. SPREC_ERR_ARG naming n (not a power of two) or m (not in
 * [1, n]). sprec_op_kind: "hadamard". *A: the caller's (sprec_op_destroy). Takes no
 * array: the operator is defined by (m, n, seed). */
sprec_err sprec_op_create_hadamard(sprec_ctx ctx, int64_t m, int64_t n, uint64_t seed,
                                   sprec_op *A);

/* ------------------------------------------------------- sparse operator -- */
/* A dictionary of sparse columns (kind "csc"): each rank holds only its columns'
 * nonzeros. Its products are bit for bit those of the dense operator over the same
 * matrix densified (the same lanes and order, zeros skipped), so a solve gives the
 * dense solve's answer, for any number of ranks. */

/* Collective. The operator over this rank's columns [sprec_block_start(n,p,rank), ...)
 * in compressed sparse column form: colptr (n_r + 1 offsets, colptr[0] = 0,
 * nondecreasing), rowind and val (colptr[n_r] entries each: 0-based rows < m and
 * finite values). Rows may come in any order within a column; they are sorted, and a
 * row given twice in a column is summed in the order given (as SciPy's toarray()).
 * index_bits: the width of the row indices kept, 0 (32 bits when m < 2^31, else 64),
 * 32 or 64. Takes the three arrays (the ownership rule of the operators' section).
 * SPREC_ERR_ARG naming what is wrong. */
sprec_err sprec_op_create_csc(sprec_ctx ctx, int64_t m, int64_t n, int64_t *colptr,
                              int64_t *rowind, double *val, int index_bits, sprec_op *A);
/* Not collective. 1 if path names a sparse matrix file by its extension (.npz, .mtx). */
int sprec_csc_path(const char *path);
/* Collective. A sparse dictionary from a file, each rank keeping its columns' nonzeros:
 *  - .npz: scipy.sparse.save_npz of a CSC matrix, compressed (deflate, CRC checked) or
 *    not (each rank reads its slice straight from the file), Zip64 included; indices
 *    and indptr int32 or int64, data float64 or float32, shape int64. A CSR matrix is
 *    refused (save A.tocsc()).
 *  - .mtx: Matrix Market coordinate real|integer|pattern, general|symmetric, 1-based,
 *    streamed (no rank holds the file). Repeated entries are summed (as SciPy does).
 * Rows within a column are sorted (any order accepted). Every value must be finite;
 * at least one column per rank. Malformed files: SPREC_ERR_FORMAT with one line
 * naming the file and the fault; every rank returns the same error. *A: the caller's
 * (sprec_op_destroy). */
sprec_err sprec_op_load_csc(sprec_ctx ctx, const char *path, sprec_op *A);
/* What sprec_csc_inspect finds in a sparse matrix file. */
typedef struct {
  int64_t m, n;                     /* shape                                            */
  int64_t nnz;                      /* stored entries, repeats summed                   */
  int64_t col_nnz_min, col_nnz_max; /* fewest and most entries in a column              */
  int64_t nonfinite;                /* NaN or Inf values (sprec_op_load_csc refuses them) */
  char format[96];                  /* e.g. "npz csc, deflated, int32 indices, float64"  */
} sprec_csc_info;
/* Collective on comm. Reads the file as sprec_op_load_csc does (each rank its columns,
 * the same structural checks) without refusing non-finite values: it counts them. */
sprec_err sprec_csc_inspect(MPI_Comm comm, const char *path, sprec_csc_info *info);

/* ------------------------------------------------- convolution operator -- */
/* Collective (only to agree on failures). The 'full' convolution y = K ∗ x as an
 * operator: n columns, m = n + len − 1 rows, column j holding kernel[0..len) in rows
 * j … j + len − 1. kernel: replicated (the same taps on every rank); the call takes
 * it (the ownership rule of the operators' section). Nothing of size m·n is stored:
 * Aᵀr comes from r and the kernel, over the taps for short kernels (O(n_r·len) per
 * pass) or by FFT over fixed tiles of columns for long ones (O(n_r log len)), the same
 * bits for any number of ranks either way; the least squares on a support touches
 * only its columns' rows.
 * SPREC_ERR_ARG (naming the kernel) if n or len < 1, a tap is not finite, or a rank
 * would get no column. sprec_op_kind gives "conv". *A: the caller's (sprec_op_destroy). */
sprec_err sprec_op_create_conv(sprec_ctx ctx, int64_t n, int64_t len, double *kernel,
                               sprec_op *A);
/* Not collective. The kernel of a SPREC_PROBLEM_SPIKES problem: p->taps samples of a
 * Gaussian of standard deviation p->sigma centred on the middle tap, unit ℓ2 norm. */
sprec_err sprec_problem_kernel(const sprec_problem *p, double *kernel);

/* ------------------------------------------------------------ .npy files -- */
typedef struct {
  int ndim;            /* 1 or 2                                       */
  int64_t shape[2];    /* shape[1] = 1 for ndim 1                      */
  int fortran_order;   /* 1 if column-major                            */
  int elsize;          /* 8 (float64) or 4 (float32)                   */
  int64_t data_offset; /* bytes before the data                        */
} sprec_npy_info;

/* Collective. Reads and checks the header of a .npy file (versions 1, 2, 3;
 * little-endian float64 or float32; C or Fortran order; 1-D or 2-D) and that the
 * file holds exactly the data the header announces. */
sprec_err sprec_npy_inspect(MPI_Comm comm, const char *path, sprec_npy_info *info);
/* Not collective. The checks of sprec_npy_inspect on a .npy file held in memory
 * (file[0..size): the whole file), name naming it in messages: a request's body. */
sprec_err sprec_npy_parse(const char *name, const void *file, size_t size, sprec_npy_info *info);
/* Collective. Reads columns [c0, c0+nc) of the array (a 1-D array of length n is
 * read as 1 x n) into buf, column-major with leading dimension rows, as float64.
 * Each rank reads only its own columns, through MPI-IO. */
sprec_err sprec_npy_read_cols(MPI_Comm comm, const char *path, const sprec_npy_info *info,
                              int64_t c0, int64_t nc, double *buf);
/* Collective. Writes a float64 array, Fortran order, of shape (rows, ncols) or, if
 * ndim == 1, (ncols) with rows == 1, whose columns are distributed: each rank gives
 * its columns [c0, c0+nc) (ranks in increasing c0, covering all columns). Written to
 * a temporary name and renamed on success: no partial file is ever left. */
sprec_err sprec_npy_write_cols(MPI_Comm comm, const char *path, int ndim, int64_t rows,
                               int64_t ncols, int64_t c0, int64_t nc, const double *buf);
/* Collective. Writes a float64 array, C order, of shape (nrows, ncols) whose rows are
 * distributed: each rank gives its rows [r0, r0+nr) as buf, row-major (nr x ncols),
 * ranks in increasing r0. Atomic like sprec_npy_write_cols. */
sprec_err sprec_npy_write_rows(MPI_Comm comm, const char *path, int64_t nrows, int64_t ncols,
                               int64_t r0, int64_t nr, const double *buf);

#ifdef __cplusplus
}
#endif
#endif
