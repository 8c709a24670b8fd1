/* Compressive Sampling Matching Pursuit (Needell & Tropp, ACHA 2009).
 *
 *   g = Aᵀ(y − A x),  Ω = top-2k(|g|),  T = Ω ∪ supp(x),
 *   b = argmin{‖y − Az‖ : supp z ⊆ T},  x = H_k(b) (the k largest |b_i|)
 *
 * from x = 0 (or from --init's support with least-squares coefficients). Stops when
 * the support repeats (stop "fixed_point"), at ‖y − A x̂‖/‖y‖ <= tol, or when the
 * budget is spent. The iteration itself carries the pruned x = H_k(b), as in the
 * paper; what is monitored and returned is its debiased version x̂ (least squares
 * on supp x, through w->lsq), and the best x̂ over the iterations is returned
 * (best_iteration), since CoSaMP's objective is not monotone.
 *
 * Merged least squares: |T| <= 3k columns, through an own sprec_lsq (same --lsq
 * path) sized kT = min(3k, m, n), so that the merged problem stays overdetermined.
 * When 3k > kT, Ω shrinks to kT − |supp x| entries (|T| <= kT always); if no room
 * is left (k = min(m, n)) the iteration cannot explore and stops ("fixed_point"). */
#include "greedy.h"

#include <math.h>
#include <string.h>

/* One CoSaMP step: the p largest entries of the gradient merged with x's support (T),
 * least squares b on T, x = H_k(b) and r = y − A x. changes: |supp x Δ supp x_prev|.
 * g, om, T, xn: scratch. */
static sprec_err merge_prune(sprec_work *w, sprec_lsq lT, int64_t p, double *g, sprec_sparse *om,
                             sprec_sparse *T, sprec_sparse *xn, sprec_sparse *x, double *r,
                             int64_t *changes)
{
  SPREC_CALL(sprec_w_gradient(w, r, g));
  SPREC_CALL(sprec_g_topk(w, g, p, om));
  sprec_g_union(x, om, T);
  SPREC_CALL(sprec_g_lsq(w, lT, T, NULL));                             /* b on T */
  SPREC_CALL(sprec_agree(w->ctx->comm, sprec_g_prune(T, w->o.k, xn))); /* H_k(b) */
  *changes = sprec_support_changes(xn, x);
  SPREC_CALL(sprec_sparse_copy(x, xn));
  return sprec_w_residual(w, x, r);
}

sprec_err sprec_cosamp(sprec_work *w, sprec_sparse *best)
{
  int64_t k = w->o.k, kT = 3 * k;
  if (kT > w->m) kT = w->m;
  if (kT > w->n) kT = w->n;
  double *g = NULL, *r = NULL, *rd = NULL;
  sprec_sparse x = {0}, xn = {0}, xd = {0}, om = {0}, T = {0};
  sprec_lsq lT = NULL;
  sprec_err err = SPREC_OK;
  err = sprec_calloc((size_t)w->nl, sizeof *g, &g, "gradient");
  if (!err) err = sprec_calloc((size_t)w->m, sizeof *r, &r, "residual");
  if (!err) err = sprec_calloc((size_t)w->m, sizeof *rd, &rd, "residual");
  if (!err) err = sprec_sparse_init(&x, k);
  if (!err) err = sprec_sparse_init(&xn, k);
  if (!err) err = sprec_sparse_init(&xd, k);
  if (!err) err = sprec_sparse_init(&om, 2 * k);
  if (!err) err = sprec_sparse_init(&T, 3 * k);
  SPREC_TRY(sprec_agree(w->ctx->comm, err), done);
  SPREC_TRY(sprec_lsq_create(w->A, w->y, kT, w->o.lsq, &lT), done);

  SPREC_TRY(sprec_g_start(w, &x, r), done);
  double f = sprec_w_objective(w, r), fbest = f;
  int t = 0, best_it = 0, fixed = 0, stop = 0, resumed;
  SPREC_TRY(sprec_sparse_copy(best, &x), done);
  strcpy(w->st->stop_reason, "iterations");
  /* The state at the end of an iteration: the pruned iterate and its residual, the
   * best debiased one, and both least-squares objects (x̂'s, w->lsq, is implied). */
  sprec_w_keep_iterate(w, &x, k, &r, &f);
  sprec_w_keep_best(w, best, k, &fbest);
  sprec_w_keep_int(w, "best_it", &best_it, 0, SPREC_ITER);
  sprec_w_keep_int(w, "t", &t, SPREC_ITER, SPREC_ITER);
  sprec_w_keep_int(w, "fixed", &fixed, 0, 1);
  sprec_w_keep_passes(w);
  sprec_w_keep(w, "lsq_merged", SPREC_KEEP_LSQ, &lT, 0);
  SPREC_TRY(sprec_w_restore(w, &resumed), done);
  if (!resumed) sprec_w_progress(w, 0, f, 0);

  while (!fixed && t < w->o.iters && !sprec_w_converged(w, f)) {
    int64_t p = 2 * k < kT - x.nnz ? 2 * k : kT - x.nnz;
    if (p < 1) {
      fixed = 1;
      break;
    }
    int64_t changes = 0;
    SPREC_TRY(merge_prune(w, lT, p, g, &om, &T, &xn, &x, r, &changes), done);
    SPREC_TRY(sprec_sparse_copy(&xd, &x), done);       /* debiased x̂ */
    SPREC_TRY(sprec_w_lsq(w, &xd, rd), done);
    f = sprec_w_objective(w, rd);
    t++;
    SPREC_TRY(sprec_w_finite("CoSaMP", f + sprec_w_objective(w, r), t, ""), done);
    if (f < fbest) {
      fbest = f;
      best_it = t;
      SPREC_TRY(sprec_sparse_copy(best, &xd), done);
    }
    fixed = changes == 0;
    SPREC_TRY(sprec_w_end_iteration(w, t, f, changes, &stop), done);
    if (stop) break;
  }
  if (fixed && !stop) strcpy(w->st->stop_reason, "fixed_point");
  sprec_w_finish(w, t, best_it, fbest, f);
done:
  sprec_lsq_destroy(&lT);
  free(g);
  free(r);
  free(rd);
  sprec_sparse_free(&x);
  sprec_sparse_free(&xn);
  sprec_sparse_free(&xd);
  sprec_sparse_free(&om);
  sprec_sparse_free(&T);
  return err;
}
