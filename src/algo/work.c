/* The timed building blocks the algorithms are made of (algo.h): products, top-k,
 * least squares, residuals and objectives, progress and the stop test, each adding its
 * time to the problem's statistics. */
#include "algo.h"

#include <math.h>
#include <string.h>

sprec_err sprec_w_apply_T(sprec_work *w, const double *r, double *g)
{
  if (w->hook) return w->hook->apply_T(w->hook->arg, r, g); /* timed by the driver */
  double t0 = MPI_Wtime();
  SPREC_CALL(sprec_op_apply_T(w->A, r, g));
  w->st->t_apply_T += MPI_Wtime() - t0;
  return SPREC_OK;
}

sprec_err sprec_w_gradient(sprec_work *w, const double *r, double *g)
{
  SPREC_CALL(sprec_w_apply_T(w, r, g));
  w->st->apply_T_passes++;
  return SPREC_OK;
}

sprec_err sprec_w_topk(sprec_work *w, const double *v, sprec_sparse *S)
{
  double t0 = MPI_Wtime();
  SPREC_CALL(sprec_topk(w->ctx, w->n, v, w->o.k, w->o.topk, S));
  w->st->t_topk += MPI_Wtime() - t0;
  return SPREC_OK;
}

sprec_err sprec_w_lsq(sprec_work *w, sprec_sparse *x, double *r)
{
  double t0 = MPI_Wtime();
  SPREC_CALL(sprec_lsq_solve(w->lsq, x->nnz, x->idx, x->val, r));
  w->st->t_lsq += MPI_Wtime() - t0;
  return SPREC_OK;
}

sprec_err sprec_w_residual(sprec_work *w, const sprec_sparse *x, double *r)
{
  double t0 = MPI_Wtime();
  SPREC_CALL(sprec_op_apply_sparse(w->A, x, r));
  for (int64_t i = 0; i < w->m; i++) r[i] = w->y[i] - r[i];
  w->st->t_lsq += MPI_Wtime() - t0;
  return SPREC_OK;
}

sprec_err sprec_w_values_at(sprec_work *w, const double *v, const sprec_sparse *T, double *vals)
{
  int64_t c0 = w->A->col_start;
  for (int64_t t = 0; t < T->nnz; t++) {
    int64_t j = T->idx[t] - c0;
    vals[t] = (j >= 0 && j < w->nl) ? v[j] : 0.0;
  }
  SPREC_CALL(sprec_check_int(T->nnz, "support size"));
  sprec_comm_allreduce(w->ctx->comm, SPREC_COMM_SCALAR, MPI_IN_PLACE, vals, (int)T->nnz, MPI_DOUBLE,
                       MPI_SUM);
  return SPREC_OK;
}

double sprec_w_objective(const sprec_work *w, const double *r) { return 0.5 * sprec_nrm2sq(w->m, r); }

sprec_err sprec_w_data_fit(sprec_work *w, const sprec_sparse *x, double *fit)
{
  double *r = NULL;
  SPREC_CALL(sprec_agree(w->ctx->comm, sprec_calloc((size_t)w->m, sizeof *r, &r, "residual")));
  sprec_err err = sprec_w_residual(w, x, r);
  *fit = err ? 0 : sprec_w_objective(w, r);
  free(r);
  return err;
}

int64_t sprec_support_changes(const sprec_sparse *S, const sprec_sparse *P)
{
  int64_t a = 0, b = 0, common = 0;
  while (a < S->nnz && b < P->nnz) {
    if (S->idx[a] == P->idx[b]) common++, a++, b++;
    else if (S->idx[a] < P->idx[b]) a++;
    else b++;
  }
  return S->nnz + P->nnz - 2 * common;
}

int sprec_w_progress(sprec_work *w, int iter, double obj, int64_t changes)
{
  double now = MPI_Wtime();
  if (iter > 0 && w->iter_t && w->n_iter_t < w->o.iters + 1) w->iter_t[w->n_iter_t++] = now - w->t_last;
  w->t_last = now;
  if (w->run.monitor > 0 && iter % w->run.monitor == 0 && w->ctx->rank == 0 && w->run.monitor_fn)
    w->run.monitor_fn(w->run.monitor_ctx, iter, obj, changes, MPI_Wtime() - w->t_start);
  if (!w->run.stop_flag) return 0;
  int stop = *w->run.stop_flag != 0; /* a signal on any rank stops them all */
  sprec_comm_allreduce(w->ctx->comm, SPREC_COMM_SCALAR, MPI_IN_PLACE, &stop, 1, MPI_INT, MPI_MAX);
  if (stop) strcpy(w->st->stop_reason, "interrupted");
  return stop;
}

sprec_err sprec_w_end_iteration(sprec_work *w, int t, double obj, int64_t changes, int *stop)
{
  *stop = sprec_w_progress(w, t, obj, changes);
  SPREC_CALL(sprec_w_save(w, t, *stop));
  return SPREC_OK;
}

void sprec_w_finish(sprec_work *w, int iterations, int best_iteration, double fbest, double flast)
{
  if (sprec_w_converged(w, flast)) strcpy(w->st->stop_reason, "tol");
  w->st->iterations = iterations;
  w->st->best_iteration = best_iteration;
  w->st->objective = fbest;
  w->st->data_fit = fbest;
  w->st->rel_residual = w->ynorm > 0 ? sqrt(2 * fbest) / w->ynorm : 0;
}

sprec_err sprec_w_finite(const char *name, double f, int t, const char *hint)
{
  SPREC_CHECK(isfinite(f), SPREC_ERR_NUMERIC, "%s: objective became non-finite at iteration %d%s%s",
              name, t, *hint ? " " : "", hint);
  return SPREC_OK;
}

int sprec_w_converged(const sprec_work *w, double obj)
{
  double rel = w->ynorm > 0 ? sqrt(2 * obj) / w->ynorm : 0.0;
  return rel <= w->o.tol;
}
