/* FISTA (Beck & Teboulle, SIAM J. Imaging Sci. 2009), optionally with the adaptive
 * restart of O'Donoghue & Candès (Found. Comput. Math. 2015, gradient scheme):
 *
 *   xᵏ⁺¹ = ST(zᵏ + η Aᵀ(y − A zᵏ), λη)
 *   tₖ₊₁ = (1 + √(1 + 4tₖ²))/2,   zᵏ⁺¹ = xᵏ⁺¹ + ((tₖ − 1)/tₖ₊₁)(xᵏ⁺¹ − xᵏ)
 *
 * t₀ = 1, z⁰ = x⁰; η = --step, default 1/L. --restart: when
 * (zᵏ − xᵏ⁺¹)ᵀ(xᵏ⁺¹ − xᵏ) > 0 the momentum is dropped (t = 1, zᵏ⁺¹ = xᵏ⁺¹); the inner
 * product is summed in index order over the replicated sparse forms, so the decision
 * is the same for any number of ranks.
 *
 * One pass over A per iteration (the gradient at z). The residual of x is computed
 * every iteration (a sparse product, O(m·nnz)); the residual of z follows from those
 * of the two last iterates, r_z = r + β(r − r_prev), without another product.
 *
 * Duality gap without an extra pass: the gradient at z gives the dual-feasible point
 * θ = r_z / max(1, ‖Aᵀr_z‖∞/λ), and F(xᵏ) − D(θ) certifies xᵏ (lasso.h). It is tested
 * at every iteration; it tends to the usual gap as z − x → 0. Each continuation
 * stage restarts the momentum. Returns the last iterate. */
#include "lasso.h"

#include <math.h>
#include <string.h>

typedef struct {
  double *z, *xo;   /* extrapolated point, previous iterate (nl) */
  double *rz, *ro;  /* their residuals (m)                       */
  sprec_sparse zs;  /* sparse z (for the restart test)           */
  double t;         /* momentum                                  */
} fista_ws;

/* (z − x)ᵀ(x − p) over sorted sparse vectors, summed in index order. */
static double restart_dot(const sprec_sparse *z, const sprec_sparse *x, const sprec_sparse *p)
{
  int64_t a = 0, b = 0, c = 0;
  double s = 0;
  for (;;) {
    int64_t j = INT64_MAX;
    if (a < z->nnz && z->idx[a] < j) j = z->idx[a];
    if (b < x->nnz && x->idx[b] < j) j = x->idx[b];
    if (c < p->nnz && p->idx[c] < j) j = p->idx[c];
    if (j == INT64_MAX) break;
    double zj = a < z->nnz && z->idx[a] == j ? z->val[a++] : 0.0;
    double xj = b < x->nnz && x->idx[b] == j ? x->val[b++] : 0.0;
    double pj = c < p->nnz && p->idx[c] == j ? p->val[c++] : 0.0;
    s += (zj - xj) * (xj - pj);
  }
  return s;
}

static sprec_err fista_stage(sprec_lasso *s, double lam, double tol)
{
  sprec_work *w = s->w;
  fista_ws *f = s->data;
  int64_t nl = w->nl, m = w->m;
  double eta = w->o.step;
  int end;
  if (!s->resumed) { /* a checkpoint holds z, r_z, zs and t */
    f->t = 1;
    memcpy(f->z, s->x, (size_t)nl * sizeof *f->z);
    memcpy(f->rz, s->r, (size_t)m * sizeof *f->rz);
    if (w->o.restart) SPREC_CALL(sprec_sparse_copy(&f->zs, &s->xs));
  }
  s->rd = f->rz;
  s->gd = s->g;
  for (;;) {
    SPREC_CALL(sprec_w_gradient(w, f->rz, s->g));
    SPREC_CALL(sprec_lasso_loop_top(s, lam, tol, f->rz, &end));
    if (end) return SPREC_OK;
    /* xᵏ⁺¹ = prox(zᵏ); the previous iterate and its residual are kept. */
    double *tmp = f->xo;
    f->xo = s->x;
    s->x = tmp;
    tmp = f->ro;
    f->ro = s->r;
    s->r = tmp;
    sprec_lasso_prox(nl, f->z, s->g, eta, lam, s->x);
    s->it++;
    SPREC_CALL(sprec_lasso_update(s, NULL)); /* s->prev: the sparse previous iterate */
    double beta = 0;
    if (w->o.restart && restart_dot(&f->zs, &s->xs, &s->prev) > 0) {
      f->t = 1; /* restart: zᵏ⁺¹ = xᵏ⁺¹ */
    } else {
      double tn = 0.5 * (1 + sqrt(1 + 4 * f->t * f->t));
      beta = (f->t - 1) / tn;
      f->t = tn;
    }
    for (int64_t j = 0; j < nl; j++) f->z[j] = s->x[j] + beta * (s->x[j] - f->xo[j]);
    for (int64_t i = 0; i < m; i++) f->rz[i] = s->r[i] + beta * (s->r[i] - f->ro[i]);
    if (w->o.restart) {
      if (beta == 0) SPREC_CALL(sprec_sparse_copy(&f->zs, &s->xs));
      else SPREC_CALL(sprec_dense_to_sparse(w->ctx, w->n, f->z, &f->zs));
    }
  }
}

sprec_err sprec_fista(sprec_work *w, sprec_sparse *x)
{
  fista_ws f;
  sprec_err err = SPREC_OK;
  memset(&f, 0, sizeof f);
  err = sprec_calloc((size_t)w->nl, sizeof *f.z, &f.z, "extrapolated point");
  if (!err) err = sprec_calloc((size_t)w->nl, sizeof *f.xo, &f.xo, "previous iterate");
  if (!err) err = sprec_calloc((size_t)w->m, sizeof *f.rz, &f.rz, "residual");
  if (!err) err = sprec_calloc((size_t)w->m, sizeof *f.ro, &f.ro, "residual");
  if (!err) err = sprec_sparse_init(&f.zs, 16);
  SPREC_TRY(sprec_agree(w->ctx->comm, err), done);
  sprec_w_keep(w, "z", SPREC_KEEP_DIST, &f.z, 0); /* pointers: swapped every iteration */
  sprec_w_keep(w, "xo", SPREC_KEEP_DIST, &f.xo, 0);
  sprec_w_keep(w, "rz", SPREC_KEEP_REP, &f.rz, w->m);
  sprec_w_keep(w, "ro", SPREC_KEEP_REP, &f.ro, w->m);
  sprec_w_keep(w, "zs", SPREC_KEEP_SPARSE, &f.zs, 0);
  sprec_w_keep(w, "t", SPREC_KEEP_DBL, &f.t, 1);
  SPREC_TRY(sprec_lasso_run(w, x, "FISTA", fista_stage, &f), done);
done:
  sprec_free_n(4, f.z, f.xo, f.rz, f.ro);
  sprec_sparse_free(&f.zs);
  return err;
}
