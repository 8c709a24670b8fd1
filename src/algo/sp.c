/* Subspace Pursuit (Dai & Milenkovic, IEEE Trans. Inf. Theory 2009).
 *
 *   T = S ∪ top-k(|Aᵀr|),  b = argmin{‖y − Az‖ : supp z ⊆ T},
 *   S' = the k largest |b_i|,  x' = least squares on S',  r' = y − A x'
 *
 * from x = 0, r = y (the first iteration is then the paper's initialization: S =
 * top-k(|Aᵀy|) with least squares), or from --init's support. Stops when the support
 * repeats (stop "fixed_point") or when the residual does not decrease, ‖r'‖ >= ‖r‖
 * (stop "converged"; the previous iterate is kept, as in the paper), at
 * ‖r‖/‖y‖ <= tol, or when the budget is spent. The objective decreases strictly
 * along accepted iterates, so the returned x is the last accepted one.
 *
 * Merged least squares: |T| <= 2k columns, through an own sprec_lsq (same --lsq path)
 * sized kT = min(2k, m, n); when 2k > kT the candidate set shrinks to kT − |S|
 * entries, and with no room left (k = min(m, n)) the iteration stops ("fixed_point").
 * The least squares on S' go through w->lsq (k columns). */
#include "greedy.h"

#include <math.h>
#include <string.h>

/* The candidate support: the p largest entries of the gradient merged with x's support
 * (T), least squares on T, xn = its k largest entries. g, om, T: scratch. */
static sprec_err candidate(sprec_work *w, sprec_lsq lT, int64_t p, const double *r, double *g,
                           sprec_sparse *om, sprec_sparse *T, const sprec_sparse *x,
                           sprec_sparse *xn)
{
  SPREC_CALL(sprec_w_gradient(w, r, g));
  SPREC_CALL(sprec_g_topk(w, g, p, om));
  sprec_g_union(x, om, T);
  SPREC_CALL(sprec_g_lsq(w, lT, T, NULL));
  return sprec_agree(w->ctx->comm, sprec_g_prune(T, w->o.k, xn));
}

/* Accept the candidate: swap the buffers (x with xn, r with rn). */
static void accept(sprec_sparse *x, sprec_sparse *xn, double **r, double **rn)
{
  sprec_sparse tmp = *x;
  *x = *xn;
  *xn = tmp;
  double *tr = *r;
  *r = *rn;
  *rn = tr;
}

sprec_err sprec_sp(sprec_work *w, sprec_sparse *x)
{
  int64_t k = w->o.k, kT = 2 * k;
  if (kT > w->m) kT = w->m;
  if (kT > w->n) kT = w->n;
  double *g = NULL, *r = NULL, *rn = NULL;
  sprec_sparse xn = {0}, om = {0}, T = {0};
  sprec_lsq lT = NULL;
  sprec_err err = sprec_calloc((size_t)w->nl, sizeof *g, &g, "gradient");
  if (!err) err = sprec_calloc((size_t)w->m, sizeof *r, &r, "residual");
  if (!err) err = sprec_calloc((size_t)w->m, sizeof *rn, &rn, "residual");
  if (!err) err = sprec_sparse_init(&xn, k);
  if (!err) err = sprec_sparse_init(&om, k);
  if (!err) err = sprec_sparse_init(&T, 2 * k);
  SPREC_TRY(sprec_agree(w->ctx->comm, err), done);
  SPREC_TRY(sprec_lsq_create(w->A, w->y, kT, w->o.lsq, &lT), done);

  SPREC_TRY(sprec_g_start(w, x, r), done);
  double f = sprec_w_objective(w, r);
  int t = 0, best_it = 0, fin = 0, stop = 0, resumed;
  strcpy(w->st->stop_reason, "iterations");
  /* The state at the end of an iteration (fin: it ended the run, 1 at a fixed point,
   * 2 converged), with both least-squares objects (w->lsq implied). r is a pointer
   * that the iterations swap. */
  sprec_w_keep_iterate(w, x, k, &r, &f);
  sprec_w_keep_int(w, "best_it", &best_it, 0, SPREC_ITER);
  sprec_w_keep_int(w, "t", &t, SPREC_ITER, SPREC_ITER);
  sprec_w_keep_int(w, "fin", &fin, 0, 2);
  sprec_w_keep_passes(w);
  sprec_w_keep(w, "lsq_merged", SPREC_KEEP_LSQ, &lT, 0);
  SPREC_TRY(sprec_w_restore(w, &resumed), done);
  if (!resumed) sprec_w_progress(w, 0, f, 0);

  while (!fin && t < w->o.iters && !sprec_w_converged(w, f)) {
    int64_t p = k < kT - x->nnz ? k : kT - x->nnz;
    if (p < 1) {
      fin = 1;
      break;
    }
    SPREC_TRY(candidate(w, lT, p, r, g, &om, &T, x, &xn), done);
    t++;
    int64_t changes = 0;
    if (sprec_g_same_support(&xn, x)) {
      fin = 1;
    } else {
      changes = sprec_support_changes(&xn, x);
      SPREC_TRY(sprec_w_lsq(w, &xn, rn), done);
      double fn = sprec_w_objective(w, rn);
      SPREC_TRY(sprec_w_finite("SP", fn, t, ""), done);
      if (!(fn < f)) { /* no decrease: keep the previous iterate */
        fin = 2;
        changes = 0;
      } else {
        accept(x, &xn, &r, &rn);
        f = fn;
        best_it = t;
      }
    }
    SPREC_TRY(sprec_w_end_iteration(w, t, f, changes, &stop), done);
    if (stop) break;
  }
  if (fin && !stop) strcpy(w->st->stop_reason, fin == 1 ? "fixed_point" : "converged");
  sprec_w_finish(w, t, best_it, f, f);
done:
  sprec_lsq_destroy(&lT);
  free(g);
  free(r);
  free(rn);
  sprec_sparse_free(&xn);
  sprec_sparse_free(&om);
  sprec_sparse_free(&T);
  return err;
}
