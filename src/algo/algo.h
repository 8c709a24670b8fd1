/* What an algorithm sees: the problem, its options, and timed building blocks. */
#ifndef SPREC_ALGO_H
#define SPREC_ALGO_H

#include "../op/op.h"

/* What a checkpoint holds (ckpt.c): the variables an algorithm names. */
typedef enum {
  SPREC_KEEP_DIST = 1, /* double **: this rank's nl entries of an n-vector        */
  SPREC_KEEP_REP,      /* double **: a replicated array of len entries            */
  SPREC_KEEP_SPARSE,   /* sprec_sparse *: replicated, at most len entries (0: n),
                          indices in [0, n) ascending                             */
  SPREC_KEEP_DBL,      /* double *, finite and >= 0                               */
  SPREC_KEEP_INT,      /* int *, in [lo, hi]                                      */
  SPREC_KEEP_I64,      /* int64_t *, in [lo, hi]                                  */
  SPREC_KEEP_LSQ       /* sprec_lsq *: a least-squares object's state (lsq.h)     */
} sprec_keep_kind;

/* A bound of an INT or I64 item that stands for the checkpoint's iteration. */
#define SPREC_ITER INT64_MIN

typedef struct {
  const char *name;
  sprec_keep_kind kind;
  void *p;
  int64_t len, lo, hi;
} sprec_keep;

#define SPREC_MAX_KEEP 24

/* One problem's part of a checkpoint, written or resumed (ckpt.c); and the set of
 * them of one solve (a problem, or a batch). */
typedef struct sprec_ckprob sprec_ckprob;
typedef struct sprec_ckset sprec_ckset;

/* Run control (the solver's setters): how a run is watched, stopped and saved. */
typedef struct {
  int monitor;                      /* progress every monitor iterations (0: none)   */
  sprec_monitor_fn monitor_fn;
  void *monitor_ctx;
  volatile sig_atomic_t *stop_flag; /* set on any rank: stop after this iteration   */
  char *checkpoint;                 /* written at a stop and every checkpoint_every  */
  int checkpoint_every;             /* iterations (0: only at a stop)               */
  char *resume;                     /* the run to continue, or NULL                  */
} sprec_run;

/* Who makes a problem's products g = A_rᵀ r: without a hook the problem itself
 * (sprec_op_apply_T); in a batch the driver, which serves every waiting problem with
 * one pass over A (batch.c). */
typedef struct {
  sprec_err (*apply_T)(void *arg, const double *r, double *g);
  void *arg;
} sprec_product_hook;

typedef struct {
  sprec_ctx ctx;
  sprec_op A;
  const double *y;
  const double *init;  /* this rank's slice of a starting vector, or NULL */
  sprec_opts o;        /* with k, iters and step filled in                */
  sprec_run run;       /* progress, stop flag, checkpoint paths           */
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
  const sprec_product_hook *hook; /* the batch driver's, or NULL                 */
  sprec_keep keep[SPREC_MAX_KEEP]; /* what a checkpoint holds                    */
  int nkeep;
  sprec_ckprob *ck;    /* this problem's checkpoint, or NULL (no checkpoint, no resume) */
  int phase;           /* 0: the only algorithm, or a chain's init; 1: a chain's main */
} sprec_work;

typedef sprec_err (*sprec_algo_fn)(sprec_work *w, sprec_sparse *x);

/* An algorithm of the table (algorithms.c): what sprec_algo handles point to. */
struct sprec_algo_s {
  const char *name;
  sprec_algo_fn run;
  int iters;           /* default budget, after the k-atom fill if `fill`        */
  int fill;            /* starts by adding k atoms one at a time (OMP-like)      */
  int needs_L;         /* ‖A‖₂² is estimated (w->o.step = 1/L unless --step)    */
  int l1;              /* Lasso method: needs λ, no k; w->lsq is NULL          */
};

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

/* The driver (solver.c, batch.c). */
struct sprec_solver_s {
  sprec_ctx ctx;
  sprec_opts o;
  sprec_run run;
  sprec_stats st; /* of the last solve; for a batch, of the batch as a whole */
};
/* One problem: its algorithm, or a chain (opts.init_algo), or its result taken from
 * the checkpoint ck. L: ‖A‖₂² if known, else 0. hook: the batch driver's products, or
 * NULL (solver.c). */
sprec_err sprec_run_problem(sprec_ctx c, const sprec_opts *o, const sprec_run *run, sprec_op A,
                            const double *y, const double *init, double L,
                            const sprec_product_hook *hook, sprec_ckprob *ck, sprec_sparse *x,
                            sprec_stats *st);
/* budget[0]: of the only algorithm or a chain's init; budget[1]: of a chain's main. */
void sprec_budgets(const sprec_opts *o, int budget[2]);
/* Collective. Each time of st becomes its maximum over the ranks. */
void sprec_max_times(sprec_ctx c, sprec_stats *st);

/* Timed building blocks (work.c). */
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
/* μ = ‖g_T‖² / ‖A_T g_T‖² (normalized step of NIHT/NHTP), T the support of x when it
 * has k entries, else that of the k largest |g_j| (the first iteration's Γ⁰, into S).
 * gT: scratch sparse vector (receives g on T); v: scratch of length m. */
sprec_err sprec_adaptive_step(sprec_work *w, const double *g, const sprec_sparse *x,
                              sprec_sparse *S, sprec_sparse *gT, double *v, double *mu);
/* Fill the statistics at the end of a run: iterations, which iterate is returned and
 * its objective; stop reason "tol" if the last objective met the tolerance. */
void sprec_w_finish(sprec_work *w, int iterations, int best_iteration, double fbest,
                    double flast);
/* SPREC_ERR_NUMERIC "NAME: objective became non-finite at iteration t" (then hint, if
 * not empty) unless f is finite: a run that diverged stops with one line. */
sprec_err sprec_w_finite(const char *name, double f, int t, const char *hint);
/* Stop test on the relative residual. */
int sprec_w_converged(const sprec_work *w, double obj);

/* End of iteration t: sprec_w_progress, then sprec_w_save. Everything that decides
 * how the run goes on (including a decision to stop there: a fixed point) must be in
 * the named state by then. *stop: the run must stop now. */
sprec_err sprec_w_end_iteration(sprec_work *w, int t, double obj, int64_t changes, int *stop);

/* Checkpoints (ckpt_write.c, ckpt_read.c; the file's layout in ckpt_format.h).
 *
 * An algorithm names the variables that define where it is (sprec_w_keep: pointers,
 * read when a checkpoint is written and filled when one is restored), then calls
 * sprec_w_restore: with a file to resume (run.resume), it loads them (and the state of
 * the replicated least squares w->lsq, implied) and sets *resumed; the algorithm then
 * goes on from the end of the saved iteration instead of its start. sprec_w_save, at
 * the end of an iteration after sprec_w_progress (sprec_w_end_iteration): writes the
 * checkpoint (run.checkpoint) if the run stops there (stop) or every
 * run.checkpoint_every iterations. */
void sprec_w_keep(sprec_work *w, const char *name, sprec_keep_kind kind, void *p, int64_t len);
/* An integer item and its valid range; SPREC_ITER stands for the checkpoint's
 * iteration (lo = hi = SPREC_ITER: the iteration counter itself). */
void sprec_w_keep_int(sprec_work *w, const char *name, int *p, int64_t lo, int64_t hi);
void sprec_w_keep_i64(sprec_work *w, const char *name, int64_t *p, int64_t lo, int64_t hi);
/* The items most methods keep, by their names in the file: the iterate of a support
 * method ("x", at most k nonzeros; "r", its residual, m entries; "f", its objective),
 * its best iterate so far ("best", "fbest"), and the passes over A ("passes"). */
void sprec_w_keep_iterate(sprec_work *w, sprec_sparse *x, int64_t k, double **r, double *f);
void sprec_w_keep_best(sprec_work *w, sprec_sparse *best, int64_t k, double *fbest);
void sprec_w_keep_passes(sprec_work *w);
sprec_err sprec_w_restore(sprec_work *w, int *resumed);
sprec_err sprec_w_save(sprec_work *w, int iteration, int stop);

/* The driver's side (solver.c, batch.c). A solve with a checkpoint or a resume file
 * opens a set for its b problems (sprec_ck_open: fingerprints of A and of each y; with
 * resume, the file read, its checksum verified and every header and problem field
 * checked against the problem before anything is used). budget[0]: the budget of the
 * only algorithm or of a chain's init, budget[1]: of a chain's main algorithm. */
sprec_err sprec_ck_open(sprec_ctx c, sprec_op A, const sprec_opts *o, const sprec_run *run, int b,
                        const double *Y, const int budget[2], sprec_ckset **set);
void sprec_ck_close(sprec_ckset **set);
sprec_ckprob *sprec_ck_problem(sprec_ckset *set, int p);
/* What the resumed file holds for problem p: -1 nothing (run from the start), 0 or 1
 * the state of that phase, 2 the problem's result. */
int sprec_ck_resume_kind(const sprec_ckprob *ck);
/* The result of a finished problem (kind 2). */
sprec_err sprec_ck_take_result(sprec_ckprob *ck, sprec_sparse *x, sprec_stats *st);
/* A chain's init result: recorded before its main algorithm runs (saved with every
 * checkpoint of phase 1), or taken from the resumed file (kind 1). */
sprec_err sprec_ck_set_chain(sprec_ckprob *ck, const sprec_sparse *xi, const sprec_stats *sti);
sprec_err sprec_ck_take_chain(sprec_ckprob *ck, sprec_sparse *xi, sprec_stats *sti);
/* Batches: problem p finished (its result goes into every later checkpoint). */
sprec_err sprec_ck_set_result(sprec_ckprob *ck, const sprec_sparse *x, const sprec_stats *st);
/* Batches: write the file if a problem saved its state since the last write. */
sprec_err sprec_ck_flush(sprec_ckset *set);

#endif
