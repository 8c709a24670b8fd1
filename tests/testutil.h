/* Helpers shared by the Check suites. Every suite runs under mpirun at several rank
 * counts; verdicts are reduced over all ranks before asserting, so that a failure
 * on one rank never leaves the others waiting in a collective. */
#ifndef SPREC_TESTUTIL_H
#define SPREC_TESTUTIL_H

#include <check.h>

#include "op/op.h"

/* A generated problem (sprec_problem_default's, then these fields): snr_db INFINITY
 * for noiseless. */
sprec_problem tu_problem(sprec_problem_kind kind, int64_t m, int64_t n, int64_t k, double snr_db,
                         uint64_t seed);
/* 1 if name is an ℓ1 (Lasso) algorithm. */
int tu_is_lasso(const char *name);
/* The options of algorithm algo with sparsity k and budget iters; for an ℓ1 method the
 * Lasso at λ = lambda_ratio·λ_max to a relative gap of 1e-10, debiased if debias. */
sprec_opts tu_algo_opts(const char *algo, int64_t k, int iters, double lambda_ratio, int debias);
/* tu_algo_opts of every registered algorithm into o (room for TU_MAX_ALGOS); how many. */
#define TU_MAX_ALGOS 32
int tu_every_algorithm(sprec_opts *o, int64_t k, int iters, double lambda_ratio, int debias);
/* 1 on every rank iff ok on every rank. */
int tu_all(int ok);
/* Runs the suite in no-fork mode (forking after MPI_Init is unsafe); returns the
 * number of failures, the same on every rank. Calls MPI_Finalize, then removes
 * tu_tmpdir's directory. */
int tu_run(Suite *s);
/* A suite's main: MPI_Init, setup (NULL, or a collective function returning 1 on
 * success: a failure ends the run with status 1), then the tests (a NULL-terminated
 * list) in one test case of name, each with a timeout in seconds (0: none), run by
 * tu_run. The exit status: 1 if any failed. */
int tu_main(int *argc, char ***argv, const char *name, double timeout, int (*setup)(void),
            const TTest *const *tests);
#define TU_MAIN(name, timeout, setup, ...)                                                 \
  int main(int argc, char **argv)                                                        \
  {                                                                                      \
    return tu_main(&argc, &argv, name, timeout, setup, (const TTest *const[]){__VA_ARGS__, NULL}); \
  }
/* Collective on the world: a fresh directory in $TMPDIR (else /tmp), the same on every
 * rank, made at the first call and removed with its contents when the suite ends
 * (tu_run; kept, and named on stderr, when $TU_KEEP is set). NULL if it cannot be made
 * (on every rank). */
const char *tu_tmpdir(void);
/* Collective on the world: rank 0 runs /usr/bin/python3 (or $PYTHON) -c script with
 * the arguments args (NULL-terminated), no shell in between; 1 on every rank iff it
 * exited with status 0. */
int tu_python(const char *script, const char *const *args);
/* The whole problem generated on this rank alone (a one-rank context): an
 * independent reference for distributed runs. A is m x n column-major. */
void tu_reference_problem(const sprec_problem *p, double **A, double **y, sprec_sparse *xt);
/* Serial least squares by LAPACK dgels on columns S of A: z (k) and the objective
 * ½‖A_S z − y‖². */
double tu_dgels(int64_t m, const double *A, const double *y, int64_t k, const int64_t *S, double *z);

/* ------------------------------------------------------ rounding-error bounds --
 * Tolerances for comparing two DIFFERENT floating-point computations of one quantity
 * (the library's kernels against a serial loop, LAPACK or numpy), derived from the
 * data instead of guessed. ε = DBL_EPSILON = 2u (u the unit roundoff): the classical
 * bounds γ_n = nu/(1 − nu) are taken as n·ε, which also absorbs their second-order
 * terms. Every bound holds for ANY order of summation (fixed-order kernels, blocked
 * BLAS on any CPU, a serial loop): |fl(Σ_{i<n} p_i) − Σ p_i| <= γ_n Σ|p_i|. Two
 * computations of one quantity each within B of it differ by at most 2B. */

/* The data fit of z on the columns S of A (m x n, column-major): r = y − A_S z and
 * F = ½‖r‖², evaluated serially here, and what bounds their rounding elsewhere. */
typedef struct {
  int64_t k;
  double ynorm;    /* ‖y‖                                                          */
  double rnorm;    /* ‖r̂‖ (r̂ = r evaluated here)                                    */
  double fit;      /* ½‖r̂‖²                                                         */
  double l1;       /* Σ_j |z_j|                                                     */
  double sax;      /* Σ_j |z_j| ‖a_j‖                                               */
  double D;        /* (k+1)ε(‖y‖ + Σ_j|z_j|‖a_j‖) >= ‖r̂ − r‖: each r_i is a sum of
                      k + 1 terms, |δr_i| <= γ_{k+1}(|y_i| + Σ_j|a_ij z_j|)          */
  double fit_err;  /* >= |fl(½‖y − A_S z‖²) − ½‖y − A_S z‖²|, any evaluation:
                      ½[D(2‖r̂‖ + 3D) + mε(‖r̂‖ + 2D)²] (the residual, then a sum of
                      m squares)                                                   */
  double grad_err; /* >= |fl(a_jᵀ(y − A_S z)) − a_jᵀ(y − A_S z)| / ‖a_j‖ for any
                      column a_j, any evaluation: D + mε(‖r̂‖ + 2D)                  */
} tu_fit_bounds;

tu_fit_bounds tu_fit(int64_t m, const double *A, const double *y, int64_t k, const int64_t *S,
                     const double *z);
tu_fit_bounds tu_fit_x(int64_t m, const double *A, const double *y, const sprec_sparse *x);
/* >= the rounding of the Lasso objective ½‖y − A x‖² + λ‖x‖₁ evaluated in any order:
 * the fit's, λ·γ_{k}‖x‖₁ for the sum of |x_j|, and one rounding of each product and
 * sum. */
double tu_lasso_err(const tu_fit_bounds *b, double lam);

/* >= the rounding of the Lasso's duality gap as the library evaluates it
 * (sprec_lasso_evaluate): Σ_t (λ|x_t| − x_t a_tᵀθ) + ½‖r − θ‖² with
 * θ = r/s, s = max(1, ‖Aᵀr‖∞/λ), the form of F(x) − D(θ) that avoids cancelling terms of
 * size ‖y‖². Terms: (k+2)ελ‖x‖₁ for the sum, Σ|x_t|‖a_t‖(grad_err + δs‖θ‖) for the
 * products a_tᵀθ, ‖r − θ‖δθ + ½δθ² + (m+2)ε½‖r − θ‖² for the norm, D·Σ|x_t|‖a_t‖
 * because the identity behind that form holds for the exact r = y − A x and the
 * library's r is within D of it; δs >= the error of s (max_j ‖a_j‖·grad_err/λ + εs),
 * δθ = D/s + ‖θ‖δs/s + ε‖θ‖. A is m x n (all columns: s needs ‖Aᵀr‖∞). For a θ from
 * another point (FISTA's extrapolation), at its end within rounding of x: the same
 * bound. */
double tu_lasso_gap_err(int64_t m, int64_t n, const double *A, const double *y,
                        const sprec_sparse *x, double lam);

/* A least-squares solution ẑ on S compared with the exact one z* = argmin ‖y − A_S z‖.
 * Model: the solver (Householder QR as LAPACK dgels / ScaLAPACK pdgels, or CGS2 QR
 * and Qᵀy as the replicated path) is normwise backward stable: ẑ solves the problem
 * for A_S + ΔA, y + Δy with ‖ΔA‖ <= η‖A_S‖_F, ‖Δy‖ <= η‖y‖, η = m·k·ε (Higham, ASNA
 * §19–20: γ̃_{mk}, the small constant taken as 2). Then, to first order (Wedin),
 *   ‖A_S(ẑ − z*)‖ <= dev = η(‖y‖ + ‖A_S‖_F‖ẑ‖ + ‖A_S‖_F‖r̂‖/σ_min) / (1 − η‖A_S‖_F/σ_min)
 * (the last term is the κ‖r‖ term of least-squares perturbation theory), so
 *   0 <= F(ẑ) − F(z*) = ½‖A_S(ẑ − z*)‖² <= excess = ½dev²   (r* ⊥ range(A_S)),
 *   ‖ẑ − z*‖ <= zerr = dev/σ_min,
 *   |a_jᵀ(y − A_S ẑ)| = |a_jᵀA_S(z* − ẑ)| <= ‖a_j‖·dev for j in S.
 * σ_min, σ_max of A_S from LAPACK dgesvd (their own relative error, O(mkε), is
 * second order here). INFINITY where A_S is numerically rank deficient. */
typedef struct {
  double smax, smin, kappa; /* singular values of A_S, κ = σ_max/σ_min                  */
  double normF;             /* ‖A_S‖_F                                                  */
  double eta;               /* m·k·ε                                                    */
  double dev, excess, zerr; /* as above                                                 */
  double kkt;               /* >= max_{j∈S} fl|a_jᵀr̂| / (fl‖a_j‖ fl‖y‖) for r̂ evaluated in
                               any order: (dev + grad_err)/‖y‖, and the norms' rounding */
  tu_fit_bounds fit;        /* of ẑ                                                     */
} tu_lsq_bounds;

tu_lsq_bounds tu_lsq(int64_t m, const double *A, const double *y, int64_t k, const int64_t *S,
                     const double *z);
tu_lsq_bounds tu_lsq_x(int64_t m, const double *A, const double *y, const sprec_sparse *x);

/* diff <= bound, and the ratio diff/bound is kept under label (a static string): at
 * the end of the suite rank 0 prints, per label, the largest ratio seen ("[tolerance]
 * label: ..."; negative for a one-sided check with room to spare), so that a bound
 * that is close to being exceeded, or uselessly loose, shows. */
int tu_within(const char *label, double diff, double bound);

typedef struct {
  sprec_sparse x;
  sprec_stats st;
  sprec_err err;
} tu_result;

/* Collective on comm: generate P on comm and solve it with o, starting from init (a
 * replicated sparse vector) or from the algorithm's default start (NULL). Every call
 * is checked: the first error is res.err (its message sprec_errmsg()), and the same on
 * every rank of comm. */
tu_result tu_solve(MPI_Comm comm, const sprec_problem *P, const sprec_opts *o,
                   const sprec_sparse *init);
/* Collective on the world; asserts. For each of the n option sets o[i] (labelled
 * labels[i], or by its algorithm's name when labels is NULL): P solved on the first q
 * ranks for q = 1 .. P, each result compared with the one-rank result (the same
 * support, values, objective, data fit, gap, iterations and stop reason, bit for bit).
 * And at every rank count, 1 included, the one-rank result compared with the stored
 * reference of the same problem and options, when $TU_REF_DIR holds one (a file
 * written by an earlier run of the suite, at another rank count: tests/run-tests.sh
 * runs each suite at its largest rank count first), else stored there. */
void tu_same_on_every_rank_count(const sprec_problem *P, int n, const sprec_opts *o,
                                 const char *const *labels);

/* ------------------------------------------ exhaustive search on tiny problems -- */
/* Trial `trial` of the tiny problems (k = 1 + trial % 3, 15 dB): kind 0 Gaussian 8 x 16,
 * kind 1 deconvolution 16 x 20. */
sprec_problem tu_tiny_problem(int kind, int trial);
/* ½‖A x − y‖² (r = y − A x, m entries) and *kkt = max_{j∈S} |a_jᵀ r| / (‖a_j‖ ‖y‖),
 * serially. */
double tu_objective(int64_t m, const double *A, const double *y, const sprec_sparse *x, double *r,
                    double *kkt);
/* Exact ℓ0 optimum over all supports of size k (k <= 3): the smallest objective
 * computed (dgels on every support), and *low, a rigorous lower bound of the true
 * optimum F* = min_S F*_S: each computed f_S is within fit_err of F(ẑ_S), which is
 * within excess of F*_S (tu_lsq), so F* >= min_S (f_S − fit_err_S − excess_S). */
double tu_exhaustive(int64_t m, int64_t n, int64_t k, const double *A, const double *y,
                     double *low);
/* What every least-squares result on P (A, y: tu_reference_problem's) must satisfy:
 * solved, at most k nonzeros, its objective *f (recomputed here, r its residual) not
 * below the exhaustive optimum's lower bound flow, the reported objective within
 * rounding of *f, and the least squares solved on its support (KKT). 1 if all hold;
 * else rank 0 says what failed under label. */
int tu_check_least_squares(const char *label, const sprec_problem *P, const double *A,
                           const double *y, const tu_result *res, double flow, double *r,
                           double *f);

#define ck_assert_all(ok, ...) ck_assert_msg(tu_all(ok), __VA_ARGS__)

#endif
