/* Support Exploration Algorithm (Mohamed, Malgouyres, Emiya, Chaux, ICML 2024).
 *
 *   𝒳ᵗ⁺¹ = 𝒳ᵗ − η Aᵀ(A xᵗ − y),   xᵗ⁺¹ = H(𝒳ᵗ⁺¹)
 *
 * H(𝒳): least squares on the k largest |𝒳_j|. 𝒳 is the straight-through
 * "exploration" vector: it keeps accumulating gradients, so the support keeps
 * moving after plain descent would stop. Start 𝒳⁰ = 0, x⁰ = 0 (or a given x, which
 * is iterate 0 when it has at most k nonzeros, else x⁰ = H(x)). Fixed budget; the
 * best iterate by objective is returned.
 *
 * The iterates are ranked by the least squares' own residuals; the winner is then held
 * against iterate 0 through sprec_w_data_fit, the function the reported objective
 * comes from, so that SEA started from another method's x never reports a worse
 * objective than that method did: by construction, not by luck of rounding. */
#include "algo.h"

#include <math.h>
#include <string.h>

/* Iterate 0: x = 0, r = y; or from the given x (𝒳⁰ = x too): x itself if it has at
 * most k nonzeros, else H(x). */
static sprec_err iterate0(sprec_work *w, double *X, sprec_sparse *x, double *r)
{
  memcpy(r, w->y, (size_t)w->m * sizeof *r);
  if (!w->init) return SPREC_OK;
  memcpy(X, w->init, (size_t)w->nl * sizeof *X);
  SPREC_CALL(sprec_dense_to_sparse(w->ctx, w->n, X, x));
  if (x->nnz <= w->o.k) return sprec_w_residual(w, x, r);
  SPREC_CALL(sprec_w_topk(w, X, x));
  return sprec_w_lsq(w, x, r);
}

sprec_err sprec_sea(sprec_work *w, sprec_sparse *best)
{
  int64_t m = w->m, nl = w->nl;
  double *X = NULL, *g = NULL, *r = NULL;
  sprec_sparse x = {0}, prev = {0}, x0 = {0};
  sprec_err err = SPREC_OK;
  err = sprec_calloc((size_t)nl, sizeof *X, &X, "exploration vector");
  if (!err) err = sprec_calloc((size_t)nl, sizeof *g, &g, "gradient");
  if (!err) err = sprec_calloc((size_t)m, sizeof *r, &r, "residual");
  if (!err) err = sprec_sparse_init(&x, w->o.k);
  if (!err) err = sprec_sparse_init(&prev, w->o.k);
  if (!err) err = sprec_sparse_init(&x0, w->o.k);
  SPREC_TRY(sprec_agree(w->ctx->comm, err), done);

  SPREC_TRY(iterate0(w, X, &x, r), done);
  double f = sprec_w_objective(w, r), fbest = f, f0;
  SPREC_TRY(sprec_sparse_copy(best, &x), done);
  SPREC_TRY(sprec_sparse_copy(&x0, &x), done);
  SPREC_TRY(sprec_w_data_fit(w, &x0, &f0), done);
  w->st->best_iteration = 0;
  strcpy(w->st->stop_reason, "iterations");
  int t = 0, resumed;
  sprec_w_keep(w, "X", SPREC_KEEP_DIST, &X, 0); /* the state at the end of an iteration */
  sprec_w_keep_iterate(w, &x, w->o.k, &r, &f);
  sprec_w_keep_best(w, best, w->o.k, &fbest);
  sprec_w_keep_int(w, "best_iteration", &w->st->best_iteration, 0, SPREC_ITER);
  sprec_w_keep(w, "x0", SPREC_KEEP_SPARSE, &x0, w->o.k);
  sprec_w_keep(w, "f0", SPREC_KEEP_DBL, &f0, 1);
  sprec_w_keep_int(w, "t", &t, SPREC_ITER, SPREC_ITER);
  sprec_w_keep_passes(w);
  SPREC_TRY(sprec_w_restore(w, &resumed), done);
  if (!resumed) sprec_w_progress(w, 0, f, 0);

  while (t < w->o.iters && !sprec_w_converged(w, f)) {
    SPREC_TRY(sprec_w_gradient(w, r, g), done);
    for (int64_t j = 0; j < nl; j++) X[j] += w->o.step * g[j];
    SPREC_TRY(sprec_sparse_copy(&prev, &x), done);
    SPREC_TRY(sprec_w_topk(w, X, &x), done);
    SPREC_TRY(sprec_w_lsq(w, &x, r), done);
    f = sprec_w_objective(w, r);
    t++;
    SPREC_TRY(sprec_w_finite("SEA", f, t, ""), done);
    if (f < fbest) {
      fbest = f;
      w->st->best_iteration = t;
      SPREC_TRY(sprec_sparse_copy(best, &x), done);
    }
    int stop;
    SPREC_TRY(sprec_w_end_iteration(w, t, f, sprec_support_changes(&x, &prev), &stop), done);
    if (stop) break;
  }
  if (w->st->best_iteration > 0) { /* the best against iterate 0, by the one function */
    double fb;
    SPREC_TRY(sprec_w_data_fit(w, best, &fb), done);
    if (fb > f0) {
      SPREC_TRY(sprec_sparse_copy(best, &x0), done);
      w->st->best_iteration = 0;
      fbest = f0;
    }
  }
  sprec_w_finish(w, t, w->st->best_iteration, fbest, f);
done:
  free(X);
  free(g);
  free(r);
  sprec_sparse_free(&x);
  sprec_sparse_free(&prev);
  sprec_sparse_free(&x0);
  return err;
}
