/* The Lasso driver shared by ISTA, FISTA and OISTA: duality gap, continuation,
 * debiasing, statistics. See lasso.h for the formulas and the stopping rules. */
#include "lasso.h"

#include <math.h>
#include <string.h>

void sprec_lasso_prox(int64_t nl, const double *v, const double *g, double step, double lam,
                      double *out)
{
  double t = lam * step;
  for (int64_t j = 0; j < nl; j++) out[j] = sprec_soft(v[j] + step * g[j], t);
}

sprec_err sprec_lasso_evaluate(sprec_lasso *s, double lam, const double *rd, const double *gd,
                               sprec_lasso_eval *ev)
{
  sprec_work *w = s->w;
  const sprec_sparse *xs = &s->xs;
  if (!s->vals || s->vcap < xs->nnz + 1) {
    int64_t cap = xs->nnz + 1 > 2 * s->vcap ? xs->nnz + 1 : 2 * s->vcap;
    if (cap < 16) cap = 16;
    free(s->vals);
    s->vals = NULL;
    s->vcap = 0;
    sprec_err err = sprec_calloc((size_t)cap, sizeof *s->vals, &s->vals, "support values");
    SPREC_CALL(sprec_agree(w->ctx->comm, err));
    s->vcap = cap;
  }
  /* One max-reduction, exact: vals[0] = ‖Aᵀr'‖∞ and vals[1 + t] = (Aᵀr')_j at the
   * support entry t = (j, x_j), which one rank owns (the others give −∞). */
  double *vals = s->vals + 1, gmax = 0;
  int64_t c0 = w->A->col_start;
  for (int64_t j = 0; j < w->nl; j++) gmax = fmax(gmax, fabs(gd[j]));
  s->vals[0] = gmax;
  for (int64_t t = 0; t < xs->nnz; t++) {
    int64_t j = xs->idx[t] - c0;
    vals[t] = j >= 0 && j < w->nl ? gd[j] : -INFINITY;
  }
  SPREC_CALL(sprec_check_int(xs->nnz + 1, "support size"));
  int rc;
  rc = sprec_comm_allreduce(w->ctx->comm, SPREC_COMM_SCALAR, MPI_IN_PLACE, s->vals,
                            (int)(xs->nnz + 1), MPI_DOUBLE, MPI_MAX);
  SPREC_MPI(rc);
  gmax = s->vals[0];
  double sc = gmax > lam ? gmax / lam : 1.0; /* θ = r'/sc */
  double l1 = 0, pen = 0, d = 0;
  for (int64_t t = 0; t < xs->nnz; t++) {
    double a = fabs(xs->val[t]);
    l1 += a;
    pen += lam * a - xs->val[t] * (vals[t] / sc);
  }
  for (int64_t i = 0; i < w->m; i++) {
    double e = s->r[i] - rd[i] / sc;
    d += e * e;
  }
  ev->fit = 0.5 * sprec_nrm2sq(w->m, s->r);
  ev->l1 = l1;
  ev->F = ev->fit + lam * l1;
  ev->gap = 0.5 * d + pen;
  return SPREC_OK;
}

static int stage_done(const sprec_lasso *s, double tol)
{
  if (s->ev.gap <= tol * s->ev.F && tol > 0) return 1;
  return s->xs.nnz == 0 && s->ev.gap <= 0; /* x = 0 is exactly optimal */
}

sprec_err sprec_lasso_report(sprec_lasso *s, double F, int64_t changes, int *stop)
{
  *stop = 0;
  SPREC_CALL(sprec_w_finite(s->name, F, s->it, "(step too large?)"));
  if (s->it > s->reported) {
    s->reported = s->it;
    /* The state of the stage's loop top, where a resumed run starts again: it makes the
     * product of this loop top again, so that pass is not counted in the checkpoint. */
    s->passes = s->w->st->apply_T_passes - 1;
    SPREC_CALL(sprec_w_end_iteration(s->w, s->it, F, changes, stop));
    s->interrupted = *stop;
  }
  return SPREC_OK;
}

sprec_err sprec_lasso_loop_top(sprec_lasso *s, double lam, double tol, const double *rd, int *end)
{
  SPREC_CALL(sprec_lasso_evaluate(s, lam, rd, s->g, &s->ev));
  SPREC_CALL(sprec_lasso_report(s, s->ev.F, s->changes, end));
  if (!*end && stage_done(s, tol)) s->converged = *end = 1;
  if (s->it >= s->w->o.iters) *end = 1;
  return SPREC_OK;
}

sprec_err sprec_lasso_update(sprec_lasso *s, int64_t *changes)
{
  sprec_sparse t = s->prev;
  s->prev = s->xs;
  s->xs = t;
  SPREC_CALL(sprec_dense_to_sparse(s->w->ctx, s->w->n, s->x, &s->xs));
  SPREC_CALL(sprec_w_residual(s->w, &s->xs, s->r));
  s->changes = sprec_support_changes(&s->xs, &s->prev);
  if (changes) *changes = s->changes;
  return SPREC_OK;
}

sprec_err sprec_lasso_pg_stage(sprec_lasso *s, double lam, double tol, sprec_lasso_step_fn step)
{
  sprec_work *w = s->w;
  int end;
  s->rd = s->r;
  s->gd = s->g;
  for (;;) {
    if (!s->have_grad) SPREC_CALL(sprec_w_gradient(w, s->r, s->g));
    s->have_grad = 1;
    SPREC_CALL(sprec_lasso_loop_top(s, lam, tol, s->r, &end));
    if (end) return SPREC_OK;
    SPREC_CALL(step(s, lam));
    s->it++;
    s->have_grad = 0;
    SPREC_CALL(sprec_lasso_update(s, NULL));
  }
}

/* Least squares on the support of x (replicated): x.val and r replaced. */
static sprec_err debias(sprec_work *w, sprec_sparse *x, double *r)
{
  SPREC_CHECK(x->nnz <= w->m, SPREC_ERR_ARG,
              "debias: the Lasso support has %lld > m = %lld entries: least squares on it "
              "is underdetermined",
              (long long)x->nnz, (long long)w->m);
  sprec_lsq l = NULL;
  double t0 = MPI_Wtime();
  SPREC_CALL(sprec_lsq_create(w->A, w->y, x->nnz, w->o.lsq, &l));
  w->st->lsq_scalapack = sprec_lsq_is_scalapack(l);
  sprec_err err = sprec_lsq_solve(l, x->nnz, x->idx, x->val, r);
  sprec_lsq_destroy(&l);
  w->st->t_lsq += MPI_Wtime() - t0;
  SPREC_CALL(err);
  return SPREC_OK;
}

sprec_err sprec_lasso_run(sprec_work *w, sprec_sparse *x, const char *name,
                          sprec_lasso_stage_fn stage, void *data)
{
  sprec_lasso s;
  sprec_err err = SPREC_OK;
  memset(&s, 0, sizeof s);
  s.w = w;
  s.name = name;
  s.data = data;
  s.reported = -1;
  err = sprec_calloc((size_t)w->nl, sizeof *s.x, &s.x, "Lasso iterate");
  if (!err) err = sprec_calloc((size_t)w->m, sizeof *s.r, &s.r, "residual");
  if (!err) err = sprec_calloc((size_t)w->nl, sizeof *s.g, &s.g, "gradient");
  if (!err) err = sprec_sparse_init(&s.xs, 16);
  if (!err) err = sprec_sparse_init(&s.prev, 16);
  SPREC_TRY(sprec_agree(w->ctx->comm, err), done);

  if (w->init) memcpy(s.x, w->init, (size_t)w->nl * sizeof *s.x);
  SPREC_TRY(sprec_lasso_update(&s, NULL), done);
  s.changes = 0;
  strcpy(w->st->stop_reason, "iterations");

  double lam = w->lambda, lmax = w->st->lambda_max, tol = w->o.tol;
  int N = w->o.continuation > 0 && lam < lmax ? w->o.continuation : 1;
  int last = 0;
  s.stage = 1;
  sprec_w_keep(w, "x", SPREC_KEEP_DIST, &s.x, 0); /* after the algorithm's own state */
  sprec_w_keep(w, "r", SPREC_KEEP_REP, &s.r, w->m);
  sprec_w_keep(w, "xs", SPREC_KEEP_SPARSE, &s.xs, 0);
  sprec_w_keep_i64(w, "changes", &s.changes, 0, INT64_MAX);
  sprec_w_keep_int(w, "it", &s.it, SPREC_ITER, SPREC_ITER);
  sprec_w_keep_int(w, "stage", &s.stage, 1, N);
  sprec_w_keep_i64(w, "passes", &s.passes, 0, INT64_MAX);
  SPREC_TRY(sprec_w_restore(w, &s.resumed), done);
  if (s.resumed) {
    w->st->apply_T_passes = s.passes;
    s.reported = s.it; /* shown before the checkpoint */
  }

  for (int l = s.stage; l <= N; l++) {
    s.stage = l;
    double lam_l = l == N ? lam : lmax * pow(lam / lmax, (double)l / N);
    double tol_l = l == N ? tol : fmax(tol, SPREC_LASSO_STAGE_TOL);
    s.converged = 0;
    SPREC_TRY(stage(&s, lam_l, tol_l), done);
    s.resumed = 0; /* only the stage a checkpoint was taken in continues one */
    last = l == N;
    if (s.interrupted || (!s.converged && s.it >= w->o.iters)) break;
  }

  /* The returned iterate at the target λ: objective and certified gap. */
  sprec_lasso_eval ev;
  SPREC_TRY(sprec_lasso_evaluate(&s, lam, s.rd, s.gd, &ev), done);
  w->st->gap = ev.F > 0 && ev.gap > 0 ? ev.gap / ev.F : 0; /* rounding can give −1e-17 */
  if (s.interrupted) strcpy(w->st->stop_reason, "interrupted");
  else if (s.converged && last) strcpy(w->st->stop_reason, "gap");
  SPREC_TRY(sprec_sparse_copy(x, &s.xs), done);
  if (w->o.debias && x->nnz > 0) {
    SPREC_TRY(debias(w, x, s.r), done);
    double l1 = 0;
    for (int64_t t = 0; t < x->nnz; t++) l1 += fabs(x->val[t]);
    ev.fit = 0.5 * sprec_nrm2sq(w->m, s.r);
    ev.l1 = l1;
    ev.F = ev.fit + lam * l1;
  }
  w->st->iterations = s.it;
  w->st->best_iteration = s.it;
  w->st->objective = ev.F;
  w->st->data_fit = ev.fit;
  w->st->rel_residual = w->ynorm > 0 ? sqrt(2 * ev.fit) / w->ynorm : 0;
done:
  free(s.x);
  free(s.r);
  free(s.g);
  free(s.vals);
  sprec_sparse_free(&s.xs);
  sprec_sparse_free(&s.prev);
  return err;
}
