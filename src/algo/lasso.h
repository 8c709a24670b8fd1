/* What the ℓ1 (Lasso) solvers share: the problem
 *
 *   min_x F(x) = ½‖Ax − y‖² + λ‖x‖₁
 *
 * its duality gap, homotopy continuation on λ, debiasing and the statistics.
 *
 * Layout: the iterate x is a dense vector distributed like the columns (this rank's
 * nl entries); its sparse form xs (replicated, sorted) gives the residual
 * r = y − A x through sprec_w_residual, which sums in index order: the same bits for
 * any number of ranks. Every floating-point reduction that feeds the iteration is
 * either a max (exact) or a sum computed in index order on replicated data.
 *
 * Duality gap. For any r' with g' = Aᵀr' (this rank's slice), θ = r'/s with
 * s = max(1, ‖g'‖∞/λ) is dual feasible (‖Aᵀθ‖∞ ≤ λ) and, with D(θ) = ½‖y‖² − ½‖y − θ‖²,
 *
 *   F(x) − D(θ) = ½‖r − θ‖² + Σ_j (λ|x_j| − x_j (Aᵀθ)_j)
 *
 * (substitute y = r + Ax). Both parts are ≥ 0 and are computed as written, without
 * the cancellation of F − D, so relative gaps down to about 1e-16 are resolved. ISTA
 * and OISTA take r' = r (the gradient they need anyway: the gap costs no pass over
 * A); FISTA takes r' = the residual at its extrapolated point z, whose gradient it
 * computes anyway: a valid certificate for x, also free.
 *
 * Stopping: a stage ends when gap ≤ tol·F(x) (relative gap; tol > 0), or at exactly
 * zero gap with x = 0 (λ ≥ ‖Aᵀy‖∞, any tol), or when the iteration budget (all stages
 * together) is spent, or on a stop request. tol = 0 runs the whole budget.
 *
 * Continuation (--continuation N > 0, λ < λ_max): stages l = 1..N with
 * λ_l = λ_max (λ/λ_max)^{l/N}, each warm-started from the previous one; the
 * intermediate stages stop at the relative gap max(tol, SPREC_LASSO_STAGE_TOL), the
 * last one (λ_N = λ) at tol. Measured on Gaussian and deconvolution problems
 * (λ/λ_max = 0.05 and 0.01, N = 5 and 10), 1e-1 needed the fewest iterations in
 * total, 1e-2 a few percent more, 1e-3 and 1e-4 up to 50% more: the intermediate
 * stages only need to bring the support close for the warm start. Continuation
 * applies to OISTA too. The budget (--iters) counts the iterations of all stages.
 *
 * Statistics: iterations (all stages) = best_iteration, the last iterate is
 * returned; objective, data_fit and rel_residual are those of the returned x at the
 * target λ; gap is the certified relative gap of the Lasso iterate at the target λ
 * (before debiasing); stop_reason "gap", "iterations" or "interrupted". The monitor
 * shows F(x) at the λ of the current stage.
 *
 * Debiasing (--debias): after the Lasso iterations, least squares on the final
 * support (sprec_lsq, |S| ≤ m); the returned x carries those coefficients and the
 * reported objective is ½‖Ax − y‖² + λ‖x‖₁ of that x (no longer the Lasso minimum). */
#ifndef SPREC_LASSO_H
#define SPREC_LASSO_H

#include "algo.h"

/* Relative duality gap at which an intermediate continuation stage ends. */
#define SPREC_LASSO_STAGE_TOL 1e-1

typedef struct {
  double fit; /* ½‖r‖²                    */
  double l1;  /* ‖x‖₁ (index order)        */
  double F;   /* fit + λ‖x‖₁               */
  double gap; /* F(x) − D(θ), absolute      */
} sprec_lasso_eval;

typedef struct sprec_lasso_s sprec_lasso;

/* One stage: iterate on s->x at weight lam until gap ≤ tol·F (sprec_lasso_done), the
 * budget w->o.iters is spent or a stop is requested (sprec_lasso_report). On return
 * s->x, s->xs, s->r describe the iterate and s->rd, s->gd point to the dual point r'
 * and g' = Aᵀr' of its last certificate. */
typedef sprec_err (*sprec_lasso_stage_fn)(sprec_lasso *s, double lam, double tol);

struct sprec_lasso_s {
  sprec_work *w;
  const char *name;      /* "ISTA", ... for messages                              */
  double *x;             /* iterate, this rank's slice (nl)                      */
  double *r;             /* y − A x (m), always that of x                         */
  double *g;             /* scratch gradient (nl), for the stages' use            */
  sprec_sparse xs;       /* x as a replicated sparse vector                      */
  sprec_sparse prev;     /* scratch sparse vector (previous iterate)              */
  const double *rd, *gd; /* dual point of the last certificate: r' (m), Aᵀr' (nl) */
  sprec_lasso_eval ev;   /* the last evaluation                                   */
  int64_t changes;       /* support changes of the last update                    */
  int have_grad;         /* g = Aᵀr holds the gradient at x (proximal-gradient stage) */
  int it;                /* iterations done, all stages                           */
  int reported;          /* last iteration shown to sprec_w_progress              */
  int converged;         /* the last stage reached its tolerance                  */
  int interrupted;       /* a stop was requested                                  */
  int stage;             /* continuation stage (1 ..), kept in checkpoints         */
  int resumed;           /* the stage continues a checkpoint: its state is loaded  */
  int64_t passes;        /* passes over A before the last reported loop top (saved) */
  double *vals;          /* scratch for values at the support                     */
  int64_t vcap;
  void *data;            /* the algorithm's own workspace                         */
};

/* The whole run: start from w->init or 0, continuation stages, final statistics,
 * debiasing (--debias), the result in x (replicated sparse). */
sprec_err sprec_lasso_run(sprec_work *w, sprec_sparse *x, const char *name,
                          sprec_lasso_stage_fn stage, void *data);

/* Collective. Evaluates s->x (with s->xs and s->r) at lam against the dual point
 * (rd, gd = Aᵀrd): objective and absolute duality gap, into *ev. */
sprec_err sprec_lasso_evaluate(sprec_lasso *s, double lam, const double *rd, const double *gd,
                               sprec_lasso_eval *ev);

/* Collective. A stage's loop top: s->x evaluated against the dual point (rd, s->g =
 * Aᵀrd) at lam (sprec_lasso_evaluate), the iteration reported (sprec_lasso_report);
 * *end = 1 if the stage ends there: a stop requested, the relative gap ≤ tol (tol > 0)
 * or x = 0 with a zero gap (s->converged = 1), or the budget w->o.iters spent. */
sprec_err sprec_lasso_loop_top(sprec_lasso *s, double lam, double tol, const double *rd, int *end);

/* Progress report of iteration s->it (once per iteration); 1 if the run must stop.
 * Fails (SPREC_ERR_NUMERIC) if the objective is not finite. */
sprec_err sprec_lasso_report(sprec_lasso *s, double F, int64_t changes, int *stop);

/* Collective. s->xs ← sparse form of s->x (the previous one goes to s->prev) and
 * s->r ← y − A x; *changes = |supp x Δ supp prev|. */
sprec_err sprec_lasso_update(sprec_lasso *s, int64_t *changes);

/* One proximal-gradient step: s->x ← the new iterate, from s->x and s->g = Aᵀ(y − Ax)
 * (this rank's slices). */
typedef sprec_err (*sprec_lasso_step_fn)(sprec_lasso *s, double lam);

/* The stage of ISTA and OISTA: evaluate x with the gradient it needs anyway (the gap
 * costs no pass over A), stop or take a step. */
sprec_err sprec_lasso_pg_stage(sprec_lasso *s, double lam, double tol, sprec_lasso_step_fn step);

/* out_j = ST(v_j + step·g_j, lam·step) for this rank's nl entries; v, g may alias out. */
void sprec_lasso_prox(int64_t nl, const double *v, const double *g, double step, double lam,
                      double *out);

/* Soft threshold sign(v) max(|v| − t, 0). */
static inline double sprec_soft(double v, double t)
{
  return v > t ? v - t : v < -t ? v + t : 0.0;
}

#endif
