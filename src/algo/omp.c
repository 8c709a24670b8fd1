/* Orthogonal Matching Pursuit (Pati, Rezaiifar, Krishnaprasad 1993; Tropp & Gilbert 2007).
 *
 *   j = argmax_{j ∉ S} |a_jᵀ r|,   S ← S ∪ {j},   x = argmin{‖y − Az‖ : supp z ⊆ S},
 *   r = y − A x
 *
 * from x = 0, r = y (or from the support of --init, with least-squares coefficients),
 * until |S| = k, ‖r‖/‖y‖ <= tol (stop "tol"), or max_{j∉S} |a_jᵀr| = 0 (stop
 * "converged": r is orthogonal to every column, no atom can lower it). The argmax is
 * a collective top-1 of |Aᵀr| with S masked to 0, ties to the smaller index. The
 * replicated least-squares path adds the entering column to its QR factorization
 * (O(m·|S|) per atom, never a refactorization). One iteration = one atom; the budget
 * (--iters, default k) limits the atoms added. The objective decreases monotonically,
 * so the last iterate is returned. */
#include "greedy.h"

#include <string.h>

sprec_err sprec_omp(sprec_work *w, sprec_sparse *x)
{
  double *g = NULL, *r = NULL;
  sprec_err err = SPREC_OK;
  err = sprec_calloc((size_t)w->nl, sizeof *g, &g, "gradient");
  if (!err) err = sprec_calloc((size_t)w->m, sizeof *r, &r, "residual");
  SPREC_TRY(sprec_agree(w->ctx->comm, err), done);

  SPREC_TRY(sprec_g_start(w, x, r), done);
  double f = sprec_w_objective(w, r);
  strcpy(w->st->stop_reason, "iterations");
  int it = 0, why, resumed;
  sprec_w_keep_iterate(w, x, w->o.k, &r, &f); /* the state after an atom */
  sprec_w_keep_int(w, "it", &it, SPREC_ITER, SPREC_ITER);
  sprec_w_keep_passes(w);
  SPREC_TRY(sprec_w_restore(w, &resumed), done);
  if (!resumed) sprec_w_progress(w, 0, f, 0);
  SPREC_TRY(sprec_g_omp_steps(w, x, r, g, w->o.k, w->o.iters, &it, &f, &why), done);
  if (why == SPREC_G_ZERO) strcpy(w->st->stop_reason, "converged");
  sprec_w_finish(w, it, it, f, f);
done:
  free(g);
  free(r);
  return err;
}
