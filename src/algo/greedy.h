/* What the greedy and local-search ℓ0 methods (OMP, OMPR, ELS, CoSaMP, SP) share:
 * sparse-set helpers, timed top-k of any size, the starting point and OMP steps. */
#ifndef SPREC_GREEDY_H
#define SPREC_GREEDY_H

#include "algo.h"

/* Why a run of OMP steps ended. */
enum {
  SPREC_G_FULL = 0, /* the support reached its target size               */
  SPREC_G_BUDGET,   /* the step budget is spent                          */
  SPREC_G_TOL,      /* ‖r‖/‖y‖ <= tol                                     */
  SPREC_G_ZERO,     /* max_{j∉S} |a_jᵀr| = 0: nothing can lower the residual */
  SPREC_G_STOPPED   /* the stop flag was raised                           */
};

/* Collective, timed into t_topk: the kk largest |v| (kk in [1, n]), ties to the
 * smaller index, replicated and sorted by index. */
sprec_err sprec_g_topk(sprec_work *w, const double *v, int64_t kk, sprec_sparse *out);
/* Collective, timed into t_lsq: x.val ← least squares on x.idx with the solver l
 * (w->lsq or one of the algorithm's own); r (may be NULL) ← y − A x. x.nnz = 0
 * gives r = y. */
sprec_err sprec_g_lsq(sprec_work *w, sprec_lsq l, sprec_sparse *x, double *r);
/* Collective. The start: x ← the nonzeros of w->init (its k largest if it has more)
 * with least-squares coefficients on that support, r ← y − A x; without init x = 0,
 * r = y. */
sprec_err sprec_g_start(sprec_work *w, sprec_sparse *x, double *r);
/* Collective. j = argmax_{j ∉ S} |g_j| (ties to the smaller index): the entries of
 * g on S are zeroed, then a timed top-1. *gj: the value (0 when every g_j outside S
 * is 0; *j is then meaningless). one: scratch. */
sprec_err sprec_g_select(sprec_work *w, double *g, const sprec_sparse *S, sprec_sparse *one,
                         int64_t *j, double *gj);
/* Collective. OMP steps from (x, r) with x least-squares optimal on its support:
 * g = Aᵀr, j = argmax_{j∉S} |g_j|, S ← S ∪ {j}, least squares on S (w->lsq: the
 * replicated path adds the entering column to its factorization), until |S| =
 * target, the iteration counter *it (one per atom, reported to the monitor) reaches
 * max_it, the tolerance is met, or max |g_j| = 0. *f: the objective; *why one of
 * SPREC_G_*. g: scratch of w->nl. Each step ends with sprec_w_end_iteration: the
 * caller names x, r, *f and *it (and w->lsq is implied) as its state. */
sprec_err sprec_g_omp_steps(sprec_work *w, sprec_sparse *x, double *r, double *g, int64_t target,
                            int max_it, int *it, double *f, int *why);

/* Local helpers on sorted index sets. */
int sprec_g_contains(const sprec_sparse *S, int64_t j);   /* 1 if j ∈ S        */
void sprec_g_insert(sprec_sparse *S, int64_t j, double v); /* needs cap > nnz */
void sprec_g_remove_at(sprec_sparse *S, int64_t t);
/* u = a ∪ b (values of a where both hold an index, b's elsewhere); u.cap >= |a|+|b|. */
void sprec_g_union(const sprec_sparse *a, const sprec_sparse *b, sprec_sparse *u);
/* out = the kk entries of largest |b.val| (ties to the smaller index), sorted by
 * index; out.cap >= min(kk, |b|). Local and replicated (the same on every rank); it
 * allocates, so callers agree on its error before the next collective. */
sprec_err sprec_g_prune(const sprec_sparse *b, int64_t kk, sprec_sparse *out);
/* 1 if the index sets are equal. */
int sprec_g_same_support(const sprec_sparse *a, const sprec_sparse *b);

#endif
