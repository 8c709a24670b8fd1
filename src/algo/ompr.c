/* Orthogonal Matching Pursuit with Replacement, l = 1 (Jain, Tewari, Dhillon,
 * NeurIPS 2011).
 *
 *   g = Aᵀ(y − A x),  j = argmax_{j ∉ S} |g_j|,  z = (x + η g) restricted to S ∪ {j},
 *   S ← S ∪ {j} minus the index of smallest |z_i|,  x = least squares on S
 *
 * stopping when the removed index is j itself: the support is a fixed point (stop
 * "fixed_point"). η = --step, default 1/‖A‖₂². Ties in |z| remove the larger index
 * (the collective top-k's rule: the smaller index is kept).
 *
 * Start: x = 0, as the SEA paper's comparison initializes every method (or the
 * support of --init, with least-squares coefficients). While |S| < k nothing is
 * removed (the k largest |z| over S ∪ {j} are all of it), so the first k iterations
 * from x = 0 are exactly OMP's; they count as iterations. After that the objective is
 * not monotone in general, so the best iterate is returned (best_iteration). Also
 * stops at ‖r‖/‖y‖ <= tol, or "converged" when max_{j∉S} |g_j| = 0. */
#include "greedy.h"

#include <math.h>
#include <string.h>

/* One replacement: the smallest |z| on S (z = x + η g, gS: g on S; ties: the larger
 * index goes), then against z_j = η g_j. If j would leave at once, *fin = 2 (a fixed
 * point); else j replaces it, x is re-fitted by least squares, r and *f follow. */
static sprec_err replace(sprec_work *w, double eta, const double *gS, int64_t j, double gj,
                         int it, sprec_sparse *x, double *r, double *f, int *fin)
{
  int64_t out = -1;
  double zout = INFINITY;
  for (int64_t t = 0; t < x->nnz; t++) {
    double z = fabs(x->val[t] + eta * gS[t]);
    if (z <= zout) zout = z, out = t; /* indices ascend: <= prefers the larger one */
  }
  double zj = fabs(eta * gj);
  if (zj < zout || (zj == zout && j > x->idx[out])) { /* j would leave at once */
    *fin = 2;
    return SPREC_OK;
  }
  sprec_g_remove_at(x, out);
  sprec_g_insert(x, j, 0.0);
  SPREC_CALL(sprec_w_lsq(w, x, r));
  *f = sprec_w_objective(w, r);
  SPREC_CALL(sprec_w_finite("OMPR", *f, it, ""));
  return SPREC_OK;
}

sprec_err sprec_ompr(sprec_work *w, sprec_sparse *best)
{
  int64_t k = w->o.k;
  double eta = w->o.step, *g = NULL, *r = NULL, *gS = NULL;
  sprec_sparse x = {0}, one = {0};
  sprec_err err = sprec_calloc((size_t)w->nl, sizeof *g, &g, "gradient");
  if (!err) err = sprec_calloc((size_t)w->m, sizeof *r, &r, "residual");
  if (!err) err = sprec_calloc((size_t)k + 1, sizeof *gS, &gS, "gradient on the support");
  if (!err) err = sprec_sparse_init(&x, k + 1);
  if (!err) err = sprec_sparse_init(&one, 1);
  SPREC_TRY(sprec_agree(w->ctx->comm, err), done);

  SPREC_TRY(sprec_g_start(w, &x, r), done);
  double f = sprec_w_objective(w, r), fbest = f;
  int it = 0, best_it = 0, why = SPREC_G_FULL, phase = 0, fin = 0, stop = 0, resumed;
  SPREC_TRY(sprec_sparse_copy(best, &x), done);
  strcpy(w->st->stop_reason, "iterations");
  /* The state at the end of an iteration. phase 0: filling, 1: replacing; fin: the
   * replacing ended there (1 converged, 2 fixed point). */
  sprec_w_keep_iterate(w, &x, k, &r, &f);
  sprec_w_keep_best(w, best, k, &fbest);
  sprec_w_keep_int(w, "best_it", &best_it, 0, SPREC_ITER);
  sprec_w_keep_int(w, "it", &it, SPREC_ITER, SPREC_ITER);
  sprec_w_keep_int(w, "why", &why, SPREC_G_FULL, SPREC_G_STOPPED);
  sprec_w_keep_int(w, "phase", &phase, 0, 1);
  sprec_w_keep_int(w, "fin", &fin, 0, 2);
  sprec_w_keep_passes(w);
  SPREC_TRY(sprec_w_restore(w, &resumed), done);
  if (!resumed) sprec_w_progress(w, 0, f, 0);

  if (phase == 0) {
    /* Filling: OMP steps (nothing is removed while |S| < k). */
    if (x.nnz < k) SPREC_TRY(sprec_g_omp_steps(w, &x, r, g, k, w->o.iters, &it, &f, &why), done);
    stop = why == SPREC_G_STOPPED;
    if (f < fbest) {
      fbest = f;
      best_it = it;
      SPREC_TRY(sprec_sparse_copy(best, &x), done);
    }
    phase = 1;
  }
  if (why == SPREC_G_ZERO) strcpy(w->st->stop_reason, "converged");

  while (why == SPREC_G_FULL && !fin && it < w->o.iters && !sprec_w_converged(w, f)) {
    int64_t j = 0;
    double gj = 0;
    SPREC_TRY(sprec_w_gradient(w, r, g), done);
    SPREC_TRY(sprec_w_values_at(w, g, &x, gS), done); /* ≈ 0: x is least squares on S */
    SPREC_TRY(sprec_g_select(w, g, &x, &one, &j, &gj), done);
    it++;
    int64_t changes = 2;
    if (gj == 0) {
      fin = 1; /* converged */
      changes = 0;
    } else {
      SPREC_TRY(replace(w, eta, gS, j, gj, it, &x, r, &f, &fin), done);
      if (fin) changes = 0;
      else if (f < fbest) {
        fbest = f;
        best_it = it;
        SPREC_TRY(sprec_sparse_copy(best, &x), done);
      }
    }
    SPREC_TRY(sprec_w_end_iteration(w, it, f, changes, &stop), done);
    if (stop) break;
  }
  if (fin && !stop) strcpy(w->st->stop_reason, fin == 1 ? "converged" : "fixed_point");
  sprec_w_finish(w, it, best_it, fbest, f);
done:
  free(g);
  free(r);
  free(gS);
  sprec_sparse_free(&x);
  sprec_sparse_free(&one);
  return err;
}
