/* Oracle ISTA (Ablin, Moreau, Massias, Gramfort, NeurIPS 2019): ISTA with the step
 * 1/L_S of the current support S = supp(xᵗ), L_S = ‖A_Sᵀ A_S‖₂ ≤ L = ‖A‖₂²:
 *
 *   u = ST(xᵗ + (1/L_S) Aᵀ(y − A xᵗ), λ/L_S)
 *   xᵗ⁺¹ = u if supp(u) ⊆ S, else the ISTA step ST(xᵗ + η Aᵀ(y − A xᵗ), λη)
 *
 * On S the majorization ½‖A(v − x)‖² ≤ (L_S/2)‖v − x‖² holds, so an accepted step
 * decreases F. S = ∅ and a failed test take the ISTA step (η = --step, default 1/L);
 * the oracle step is never shorter than η: 1/L_S is replaced by max(1/L_S, η).
 *
 * L_S is computed when S changes (cached for the last support): the columns of S are
 * gathered on every rank (sprec_op_gather_columns), their Gram matrix is formed with
 * the fixed-order dot product, and its largest eigenvalue comes from LAPACK dsyev
 * (eigenvalues only). Every rank computes the same numbers: the result does not depend
 * on the rank count. Cost per support change: O(m·|S|²) + O(|S|³) and m·|S| words of
 * memory (the method is an oracle: Lasso supports are small). Time counted as "lsq".
 * The supp(u) ⊆ S test is a logical-or reduction. The duality gap and continuation
 * are those of ISTA (lasso.h). */
#include "lasso.h"

#include <lapacke.h>
#include <math.h>
#include <string.h>

typedef struct {
  double *u;          /* candidate (nl)                        */
  double *cols, *G;   /* support columns (m·cap), Gram (cap²)  */
  double *ev;         /* eigenvalues (cap)                     */
  int64_t cap;
  sprec_sparse S;     /* support whose L_S is cached           */
  int valid;
  double LS;
} oista_ws;

static int same_support(const sprec_sparse *a, const sprec_sparse *b)
{
  if (a->nnz != b->nnz) return 0;
  for (int64_t t = 0; t < a->nnz; t++)
    if (a->idx[t] != b->idx[t]) return 0;
  return 1;
}

/* L_S = largest eigenvalue of A_Sᵀ A_S for S = supp(xs). */
static sprec_err support_norm(sprec_work *w, oista_ws *o, const sprec_sparse *xs)
{
  int64_t k = xs->nnz, m = w->m;
  double t0 = MPI_Wtime();
  SPREC_CALL(sprec_check_int(k, "support size"));
  SPREC_CALL(sprec_check_int(m * k, "support columns"));
  if (k > o->cap) {
    int64_t cap = k > 2 * o->cap ? k : 2 * o->cap;
    free(o->cols);
    free(o->G);
    free(o->ev);
    o->cols = o->G = o->ev = NULL;
    o->cap = 0;
    sprec_err err = sprec_calloc((size_t)(m * cap), sizeof *o->cols, &o->cols, "support columns");
    if (!err) err = sprec_calloc((size_t)(cap * cap), sizeof *o->G, &o->G, "Gram matrix");
    if (!err) err = sprec_calloc((size_t)cap, sizeof *o->ev, &o->ev, "eigenvalues");
    SPREC_CALL(sprec_agree(w->ctx->comm, err));
    o->cap = cap;
  }
  SPREC_CALL(sprec_op_gather_columns(w->A, k, xs->idx, o->cols));
  for (int64_t b = 0; b < k; b++)
    for (int64_t a = 0; a <= b; a++) o->G[a + b * k] = sprec_dot(m, o->cols + a * m, o->cols + b * m);
  lapack_int info = LAPACKE_dsyev(LAPACK_COL_MAJOR, 'N', 'U', (lapack_int)k, o->G, (lapack_int)k, o->ev);
  /* Same data on every rank: a failure is the same everywhere. */
  SPREC_CHECK(info == 0, SPREC_ERR_LAPACK, "OISTA: dsyev failed (info %d) on a support of %lld columns",
              (int)info, (long long)k);
  o->LS = o->ev[k - 1];
  SPREC_CALL(sprec_sparse_copy(&o->S, xs));
  o->valid = 1;
  w->st->t_lsq += MPI_Wtime() - t0;
  return SPREC_OK;
}

static sprec_err oista_step(sprec_lasso *s, double lam)
{
  sprec_work *w = s->w;
  oista_ws *o = s->data;
  int64_t nl = w->nl;
  double eta = w->o.step;
  if (s->xs.nnz > 0) {
    if (!o->valid || !same_support(&o->S, &s->xs)) SPREC_CALL(support_norm(w, o, &s->xs));
    double step = o->LS > 0 ? 1.0 / o->LS : eta;
    if (step > eta) {
      sprec_lasso_prox(nl, s->x, s->g, step, lam, o->u);
      int grows = 0; /* an entry outside S became nonzero */
      for (int64_t j = 0; j < nl && !grows; j++) grows = s->x[j] == 0 && o->u[j] != 0;
      int rc;
      rc = sprec_comm_allreduce(w->ctx->comm, SPREC_COMM_SCALAR, MPI_IN_PLACE, &grows, 1, MPI_INT,
                                MPI_LOR);
      SPREC_MPI(rc);
      if (!grows) {
        memcpy(s->x, o->u, (size_t)nl * sizeof *s->x);
        return SPREC_OK;
      }
    }
  }
  sprec_lasso_prox(nl, s->x, s->g, eta, lam, s->x);
  return SPREC_OK;
}

static sprec_err oista_stage(sprec_lasso *s, double lam, double tol)
{
  return sprec_lasso_pg_stage(s, lam, tol, oista_step);
}

sprec_err sprec_oista(sprec_work *w, sprec_sparse *x)
{
  oista_ws o;
  sprec_err err = SPREC_OK;
  memset(&o, 0, sizeof o);
  err = sprec_calloc((size_t)w->nl, sizeof *o.u, &o.u, "candidate");
  if (!err) err = sprec_sparse_init(&o.S, 16);
  SPREC_TRY(sprec_agree(w->ctx->comm, err), done);
  /* The cached L_S is part of the state: a resumed run takes the oracle step with the
   * very value the uninterrupted run has (not one recomputed by LAPACK). */
  sprec_w_keep(w, "oracle_support", SPREC_KEEP_SPARSE, &o.S, 0);
  sprec_w_keep(w, "oracle_LS", SPREC_KEEP_DBL, &o.LS, 1);
  sprec_w_keep_int(w, "oracle_valid", &o.valid, 0, 1);
  SPREC_TRY(sprec_lasso_run(w, x, "OISTA", oista_stage, &o), done);
done:
  sprec_free_n(4, o.u, o.cols, o.G, o.ev);
  sprec_sparse_free(&o.S);
  return err;
}
