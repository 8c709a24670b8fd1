/* Iterative Hard Thresholding, normalized (NIHT, Blumensath & Davies, IEEE J-STSP 2010).
 *
 *   xⁿ⁺¹ = H_k(xⁿ + μₙ Aᵀ(y − A xⁿ))
 *
 * H_k keeps the k largest entries. Adaptive rule (default): μ = ‖g_Γ‖²/‖A_Γ g_Γ‖² on
 * the current support Γ (Γ⁰ = top-k(Aᵀy)); when the support changes and
 * μ > ω = (1 − c)‖x̃ − x‖²/‖A(x̃ − x)‖², μ ← μ/(κ(1 − c)) and the step is retried
 * (κ = 2, c = 0.01). Fixed rule: μ = --step, default 1/‖A‖₂². Stops when the relative
 * residual reaches --tol or the iterate stops moving (‖xⁿ⁺¹ − xⁿ‖ ≤ 1e-12 ‖xⁿ⁺¹‖).
 * The returned x is debiased: least squares on the final support, as usual for IHT. */
#include "algo.h"

#include <math.h>
#include <string.h>

#define NIHT_KAPPA 2.0
#define NIHT_C 0.01

/* d = a − b over the union of supports (sorted). */
static void sparse_diff(const sprec_sparse *a, const sprec_sparse *b, sprec_sparse *d)
{
  int64_t i = 0, j = 0, n = 0;
  while (i < a->nnz || j < b->nnz) {
    if (j >= b->nnz || (i < a->nnz && a->idx[i] < b->idx[j])) {
      d->idx[n] = a->idx[i];
      d->val[n++] = a->val[i++];
    } else if (i >= a->nnz || b->idx[j] < a->idx[i]) {
      d->idx[n] = b->idx[j];
      d->val[n++] = -b->val[j++];
    } else {
      d->idx[n] = a->idx[i];
      d->val[n++] = a->val[i++] - b->val[j++];
    }
  }
  d->nnz = n;
}

/* xn = H_k(x + μ g); NIHT (adaptive): μ shrunk while the support changes and the step
 * is too long for it (at most 50 times). u: scratch (n_r), v: scratch (m), d: scratch
 * sparse (2k). */
static sprec_err next_iterate(sprec_work *w, int adaptive, const double *g, const sprec_sparse *x,
                              double *u, double *v, sprec_sparse *xn, sprec_sparse *d, double *mu)
{
  int64_t m = w->m, nl = w->nl, c0 = w->A->col_start, k = w->o.k;
  for (int shrink = 0;; shrink++) {
    for (int64_t j = 0; j < nl; j++) u[j] = *mu * g[j];
    for (int64_t q = 0; q < x->nnz; q++)
      if (x->idx[q] >= c0 && x->idx[q] < c0 + nl) u[x->idx[q] - c0] += x->val[q];
    SPREC_CALL(sprec_w_topk(w, u, xn));
    if (!adaptive || sprec_support_changes(xn, x) == 0 || x->nnz != k || shrink >= 50) break;
    sparse_diff(xn, x, d);
    SPREC_CALL(sprec_op_apply_sparse(w->A, d, v));
    double num = 0, den = sprec_nrm2sq(m, v);
    for (int64_t q = 0; q < d->nnz; q++) num += d->val[q] * d->val[q];
    if (den == 0 || *mu <= (1 - NIHT_C) * num / den) break;
    *mu /= NIHT_KAPPA * (1 - NIHT_C);
  }
  return SPREC_OK;
}

sprec_err sprec_iht(sprec_work *w, sprec_sparse *x)
{
  int64_t m = w->m, nl = w->nl, k = w->o.k;
  int adaptive = w->o.step_rule != SPREC_STEP_FIXED;
  double *g = NULL, *r = NULL, *v = NULL, *u = NULL, mu = w->o.step;
  sprec_sparse xn = {0}, d = {0}, gT = {0};
  sprec_err err = sprec_calloc((size_t)nl, sizeof *g, &g, "gradient");
  if (!err) err = sprec_calloc((size_t)nl, sizeof *u, &u, "scratch");
  if (!err) err = sprec_calloc((size_t)m, sizeof *r, &r, "residual");
  if (!err) err = sprec_calloc((size_t)m, sizeof *v, &v, "scratch");
  if (!err) err = sprec_sparse_init(&xn, k);
  if (!err) err = sprec_sparse_init(&d, 2 * k);
  if (!err) err = sprec_sparse_init(&gT, k);
  SPREC_TRY(sprec_agree(w->ctx->comm, err), done);

  memcpy(r, w->y, (size_t)m * sizeof *r);
  x->nnz = 0;
  if (w->init) {
    SPREC_TRY(sprec_dense_to_sparse(w->ctx, w->n, w->init, x), done);
    if (x->nnz > k) SPREC_TRY(sprec_w_topk(w, w->init, x), done); /* x⁰ = H_k(init) */
    SPREC_TRY(sprec_w_residual(w, x, r), done);
  }
  double f = sprec_w_objective(w, r);
  strcpy(w->st->stop_reason, "iterations");
  int t = 0, still = 0, stop = 0, resumed; /* still: the iterate stopped moving */
  sprec_w_keep_iterate(w, x, k, &r, &f); /* the state at the end of an iteration */
  sprec_w_keep_int(w, "t", &t, SPREC_ITER, SPREC_ITER);
  sprec_w_keep_int(w, "still", &still, 0, 1);
  sprec_w_keep(w, "step", SPREC_KEEP_DBL, &w->st->step, 1);
  sprec_w_keep_passes(w);
  SPREC_TRY(sprec_w_restore(w, &resumed), done);
  if (!resumed) sprec_w_progress(w, 0, f, 0);
  while (!still && t < w->o.iters && !sprec_w_converged(w, f)) {
    SPREC_TRY(sprec_w_gradient(w, r, g), done);
    if (adaptive) SPREC_TRY(sprec_adaptive_step(w, g, x, &xn, &gT, v, &mu), done);
    if (t == 0) w->st->step = mu;
    SPREC_TRY(next_iterate(w, adaptive, g, x, u, v, &xn, &d, &mu), done);
    int64_t changes = sprec_support_changes(&xn, x);
    sparse_diff(&xn, x, &d);
    double dn = 0, xnn = 0;
    for (int64_t q = 0; q < d.nnz; q++) dn += d.val[q] * d.val[q];
    for (int64_t q = 0; q < xn.nnz; q++) xnn += xn.val[q] * xn.val[q];
    SPREC_TRY(sprec_sparse_copy(x, &xn), done);
    SPREC_TRY(sprec_w_residual(w, x, r), done);
    f = sprec_w_objective(w, r);
    t++;
    SPREC_TRY(sprec_w_finite("IHT", f, t, "(step too large?)"), done);
    still = dn <= 1e-24 * xnn;
    SPREC_TRY(sprec_w_end_iteration(w, t, f, changes, &stop), done);
    if (stop) break;
  }
  if (still && !stop) strcpy(w->st->stop_reason, "converged");
  if (x->nnz > 0) { /* debias: least squares on the final support */
    SPREC_TRY(sprec_w_lsq(w, x, r), done);
    f = sprec_w_objective(w, r);
  }
  sprec_w_finish(w, t, t, f, f);
done:
  free(g);
  free(u);
  free(r);
  free(v);
  sprec_sparse_free(&xn);
  sprec_sparse_free(&d);
  sprec_sparse_free(&gT);
  return err;
}
