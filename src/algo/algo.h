/* What an algorithm sees: the problem, its options, and timed building blocks. */
#ifndef SPREC_ALGO_H
#define SPREC_ALGO_H

#include "../core/impl.h"

/* What a checkpoint holds (ckpt.c): the variables an algorithm names. */
typedef enum {
  SPREC_KEEP_DIST = 1, /* double **: this rank's nl entries of an n-vector        */
  SPREC_KEEP_REP,      /* double **: a replicated array of len entries            */
  SPREC_KEEP_SPARSE,   /* sprec_sparse *: replicated                              */
  SPREC_KEEP_DBL,      /* double *                                                */
  SPREC_KEEP_INT,      /* int *                                                   */
  SPREC_KEEP_I64,      /* int64_t *                                               */
  SPREC_KEEP_LSQ       /* (the replicated least squares' factorization, implied)  */
} sprec_keep_kind;

typedef struct {
  const char *name;
  sprec_keep_kind kind;
  void *p;
  int64_t len;
} sprec_keep;

#define SPREC_MAX_KEEP 24

typedef struct {
  sprec_ctx ctx;
  sprec_op A;
  const double *y;
  const double *init;  /* this rank's slice of a starting vector, or NULL */
  sprec_opts o;        /* with k, iters and step filled in                */
  sprec_stats *st;
  sprec_lsq lsq;
  int64_t m, n, nl;
  double ynorm;
  double lambda;       /* ℓ1 methods: λ (resolved from --lambda or --lambda-ratio) */
  double L;            /* ‖A‖₂² estimate when the algorithm asked for it, else 0 */
  double t_start;
  double *iter_t;      /* wall time of each iteration (for the median)           */
  int n_iter_t;
  double t_last;       /* when the previous iteration ended                      */
  struct sprec_batch *batch; /* the batch this problem runs in (solver.c), or NULL */
  int slot;            /* its index there                                        */
  sprec_keep keep[SPREC_MAX_KEEP]; /* what a checkpoint holds                    */
  int nkeep;
  uint64_t fp_A, fp_y; /* fingerprints of A and y, once computed (have_fp)       */
  int have_fp;
  double t_checkpoint; /* seconds writing and reading checkpoints                */
} sprec_work;

typedef sprec_err (*sprec_algo_fn)(sprec_work *w, sprec_sparse *x);

typedef struct {
  const char *name;
  sprec_algo_fn run;
  int iters;           /* default budget, after the k-atom fill if `fill`        */
  int fill;            /* starts by adding k atoms one at a time (OMP-like)      */
  int needs_L;         /* ‖A‖₂² is estimated (w->o.step = 1/L unless --step)    */
  int l1;              /* Lasso method: needs λ, no k; w->lsq is NULL          */
  int checkpoints;     /* names its state: --checkpoint and --resume work        */
} sprec_algo;

sprec_err sprec_sea(sprec_work *w, sprec_sparse *x);
sprec_err sprec_htp(sprec_work *w, sprec_sparse *x);
sprec_err sprec_iht(sprec_work *w, sprec_sparse *x);
sprec_err sprec_omp(sprec_work *w, sprec_sparse *x);
sprec_err sprec_ompr(sprec_work *w, sprec_sparse *x);
sprec_err sprec_els(sprec_work *w, sprec_sparse *x);
sprec_err sprec_cosamp(sprec_work *w, sprec_sparse *x);
sprec_err sprec_sp(sprec_work *w, sprec_sparse *x);
sprec_err sprec_ista(sprec_work *w, sprec_sparse *x);
sprec_err sprec_fista(sprec_work *w, sprec_sparse *x);
sprec_err sprec_oista(sprec_work *w, sprec_sparse *x);

/* Timed building blocks (solver.c). */
sprec_err sprec_w_gradient(sprec_work *w, const double *r, double *g);  /* g = A_rᵀ r */
/* The same product, not counted as an iteration's pass (λ_max = ‖Aᵀy‖∞). */
sprec_err sprec_w_apply_T(sprec_work *w, const double *r, double *g);
sprec_err sprec_w_topk(sprec_work *w, const double *v, sprec_sparse *S); /* k largest */
/* x.val ← least squares on x.idx; r ← y − A x. */
sprec_err sprec_w_lsq(sprec_work *w, sprec_sparse *x, double *r);
/* r ← y − A x (x replicated sparse). */
sprec_err sprec_w_residual(sprec_work *w, const sprec_sparse *x, double *r);
/* vals[t] = v_{T[t]} for a distributed v (exact: one contributor per entry). */
sprec_err sprec_w_values_at(sprec_work *w, const double *v, const sprec_sparse *T, double *vals);
/* ½‖r‖² */
double sprec_w_objective(const sprec_work *w, const double *r);
/* ½‖y − A x‖² from x itself (r by sprec_w_residual): the function that every reported
 * objective comes from (the driver calls it on the returned x). */
sprec_err sprec_w_data_fit(sprec_work *w, const sprec_sparse *x, double *fit);
/* |S Δ P| for sorted index lists. */
int64_t sprec_support_changes(const sprec_sparse *S, const sprec_sparse *P);
/* Progress report and stop request; returns 1 (stop reason "interrupted") if the run
 * must stop now. */
int sprec_w_progress(sprec_work *w, int iter, double obj, int64_t changes);
/* μ = ‖g_T‖² / ‖A_T g_T‖² (normalized step of NIHT/NHTP). gT: scratch sparse
 * vector (receives g on T); v: scratch of length m. */
sprec_err sprec_adaptive_step(sprec_work *w, const double *g, const sprec_sparse *T,
                              sprec_sparse *gT, double *v, double *mu);
/* Fill the statistics at the end of a run: iterations, which iterate is returned and
 * its objective; stop reason "tol" if the last objective met the tolerance. */
void sprec_w_finish(sprec_work *w, int iterations, int best_iteration, double fbest,
                    double flast);
/* Stop test on the relative residual. */
int sprec_w_converged(const sprec_work *w, double obj);

/* Checkpoints (ckpt.c). sprec_w_keep names a variable of the run's state (pointers,
 * read when a checkpoint is written, filled when one is restored). sprec_w_restore,
 * once everything is named: with opts.resume, loads the state (and the replicated
 * least squares' factorization) and sets *resumed. sprec_w_save, at the end of every
 * iteration, after sprec_w_progress: writes opts.checkpoint if the run stops (stop)
 * or every opts.checkpoint_every iterations. */
void sprec_w_keep(sprec_work *w, const char *name, sprec_keep_kind kind, void *p, int64_t len);
sprec_err sprec_w_restore(sprec_work *w, int *resumed);
sprec_err sprec_w_save(sprec_work *w, int iteration, int stop);

#endif
