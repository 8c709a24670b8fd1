/* Hard Thresholding Pursuit (Foucart, SIAM J. Numer. Anal. 2011).
 *
 *   Sⁿ⁺¹ = top-k(xⁿ + μ Aᵀ(y − A xⁿ)),   xⁿ⁺¹ = argmin{‖y − Az‖ : supp z ⊆ Sⁿ⁺¹}
 *
 * stopping when the support repeats (then xⁿ⁺¹ = xⁿ: a fixed point). μ = 1 by
 * default; with the adaptive rule (NHTP) μ = ‖g_S‖² / ‖A_S g_S‖² on the current
 * support S (on top-k(g) at the start), g = Aᵀ(y − A x). */
#include "algo.h"

#include <math.h>
#include <string.h>

/* μ = ‖g_T‖² / ‖A_T g_T‖² (NIHT/NHTP's step); v is scratch of length m. */
sprec_err sprec_adaptive_step(sprec_work *w, const double *g, const sprec_sparse *x,
                              sprec_sparse *S, sprec_sparse *gT, double *v, double *mu)
{
  const sprec_sparse *T = x;
  if (x->nnz != w->o.k) { /* no current support of size k: Γ⁰ = top-k(g) */
    SPREC_CALL(sprec_w_topk(w, g, S));
    T = S;
  }
  SPREC_CALL(sprec_sparse_copy(gT, T));
  SPREC_CALL(sprec_w_values_at(w, g, gT, gT->val));
  SPREC_CALL(sprec_op_apply_sparse(w->A, gT, v));
  double num = 0, den = sprec_nrm2sq(w->m, v);
  for (int64_t t = 0; t < gT->nnz; t++) num += gT->val[t] * gT->val[t];
  *mu = den > 0 ? num / den : w->o.step;
  return SPREC_OK;
}

sprec_err sprec_htp(sprec_work *w, sprec_sparse *x)
{
  int64_t m = w->m, nl = w->nl, c0 = w->A->col_start;
  int adaptive = w->o.step_rule == SPREC_STEP_ADAPTIVE;
  double mu = w->o.step > 0 ? w->o.step : 1.0, *g = NULL, *r = NULL, *v = NULL;
  sprec_sparse S = {0}, gT = {0};
  sprec_err err = SPREC_OK;
  err = sprec_calloc((size_t)nl, sizeof *g, &g, "gradient");
  if (!err) err = sprec_calloc((size_t)m, sizeof *r, &r, "residual");
  if (!err) err = sprec_calloc((size_t)m, sizeof *v, &v, "scratch");
  if (!err) err = sprec_sparse_init(&S, w->o.k);
  if (!err) err = sprec_sparse_init(&gT, w->o.k);
  SPREC_TRY(sprec_agree(w->ctx->comm, err), done);

  memcpy(r, w->y, (size_t)m * sizeof *r);
  x->nnz = 0;
  if (w->init) {
    SPREC_TRY(sprec_dense_to_sparse(w->ctx, w->n, w->init, x), done);
    SPREC_TRY(sprec_w_residual(w, x, r), done);
  }
  double f = sprec_w_objective(w, r);
  strcpy(w->st->stop_reason, "iterations");
  w->st->step = 0;
  int t = 0, fixed = 0, stop = 0, resumed; /* fixed: the support repeated */
  sprec_w_keep_iterate(w, x, w->o.k, &r, &f); /* the state at the end of an iteration */
  sprec_w_keep_int(w, "t", &t, SPREC_ITER, SPREC_ITER);
  sprec_w_keep_int(w, "fixed", &fixed, 0, 1);
  sprec_w_keep(w, "step", SPREC_KEEP_DBL, &w->st->step, 1);
  sprec_w_keep_passes(w);
  SPREC_TRY(sprec_w_restore(w, &resumed), done);
  if (!resumed) sprec_w_progress(w, 0, f, 0);
  while (!fixed && t < w->o.iters && !sprec_w_converged(w, f)) {
    SPREC_TRY(sprec_w_gradient(w, r, g), done);
    if (adaptive) SPREC_TRY(sprec_adaptive_step(w, g, x, &S, &gT, v, &mu), done);
    if (t == 0) w->st->step = mu;
    for (int64_t j = 0; j < nl; j++) g[j] *= mu;
    for (int64_t q = 0; q < x->nnz; q++) /* v = x + μ g on our columns */
      if (x->idx[q] >= c0 && x->idx[q] < c0 + nl) g[x->idx[q] - c0] += x->val[q];
    SPREC_TRY(sprec_w_topk(w, g, &S), done);
    int64_t changes = sprec_support_changes(&S, x);
    SPREC_TRY(sprec_sparse_copy(x, &S), done);
    SPREC_TRY(sprec_w_lsq(w, x, r), done);
    f = sprec_w_objective(w, r);
    t++;
    SPREC_TRY(sprec_w_finite("HTP", f, t, ""), done);
    fixed = changes == 0;
    SPREC_TRY(sprec_w_end_iteration(w, t, f, changes, &stop), done);
    if (stop) break;
  }
  if (fixed && !stop) strcpy(w->st->stop_reason, "fixed_point");
  sprec_w_finish(w, t, t, f, f);
done:
  free(g);
  free(r);
  free(v);
  sprec_sparse_free(&S);
  sprec_sparse_free(&gT);
  return err;
}
