/* ISTA, the proximal gradient method for the Lasso (Daubechies, Defrise, De Mol 2004):
 *
 *   xᵗ⁺¹ = ST(xᵗ + η Aᵀ(y − A xᵗ), λη)
 *
 * η = --step, default 1/L with L = ‖A‖₂² (power iteration). The gradient at xᵗ also
 * gives the duality gap of xᵗ, so the stopping test costs no pass over A. With
 * --continuation N the driver (lasso.c) runs N stages on a decreasing λ. Returns the
 * last iterate (best_iteration = iterations). */
#include "lasso.h"

static sprec_err ista_step(sprec_lasso *s, double lam)
{
  sprec_lasso_prox(s->w->nl, s->x, s->g, s->w->o.step, lam, s->x);
  return SPREC_OK;
}

static sprec_err ista_stage(sprec_lasso *s, double lam, double tol)
{
  return sprec_lasso_pg_stage(s, lam, tol, ista_step);
}

sprec_err sprec_ista(sprec_work *w, sprec_sparse *x)
{
  SPREC_CALL(sprec_lasso_run(w, x, "ISTA", ista_stage, NULL));
  return SPREC_OK;
}
