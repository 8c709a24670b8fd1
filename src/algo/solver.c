/* The solver object, the algorithm table and the timed building blocks. Adding an
 * algorithm is one file and one line in `algorithms`. */
#include "algo.h"

#include <math.h>
#include <string.h>

static const sprec_algo algorithms[] = {
    /* name     run           iters fill needs_L l1 */
    {"sea",    sprec_sea,    1000,  0, 1, 0},
    {"htp",    sprec_htp,    500,   0, 0, 0},
    {"iht",    sprec_iht,    500,   0, 1, 0},
    {"omp",    sprec_omp,    0,     1, 0, 0},
    {"ompr",   sprec_ompr,   500,   1, 1, 0},
    {"els",    sprec_els,    500,   1, 0, 0},
    {"cosamp", sprec_cosamp, 500,   0, 0, 0},
    {"sp",     sprec_sp,     500,   0, 0, 0},
    {"ista",   sprec_ista,   10000, 0, 1, 1},
    {"fista",  sprec_fista,  10000, 0, 1, 1},
    {"oista",  sprec_oista,  10000, 0, 1, 1},
};
#define NALGO ((int)(sizeof algorithms / sizeof algorithms[0]))

const char *const *sprec_algorithms(void)
{
  static const char *names[NALGO + 1];
  for (int i = 0; i < NALGO; i++) names[i] = algorithms[i].name;
  names[NALGO] = NULL;
  return names;
}

static const sprec_algo *find_algo(const char *name)
{
  for (int i = 0; i < NALGO; i++)
    if (!strcmp(algorithms[i].name, name)) return &algorithms[i];
  return NULL;
}

int sprec_algorithm_kind(const char *name)
{
  const sprec_algo *a = find_algo(name);
  return a ? a->l1 : -1;
}

struct sprec_solver_s {
  sprec_ctx ctx;
  sprec_opts o;
  sprec_stats st;
};

void sprec_opts_default(sprec_opts *o)
{
  memset(o, 0, sizeof *o);
  strcpy(o->algo, "sea");
}

sprec_err sprec_solver_create(sprec_ctx ctx, const sprec_opts *opts, sprec_solver *s)
{
  *s = NULL;
  SPREC_CHECK(find_algo(opts->algo), SPREC_ERR_ARG, "unknown algorithm '%s'", opts->algo);
  SPREC_CHECK(opts->iters >= 0, SPREC_ERR_ARG, "--iters must be >= 0 (got %d)", opts->iters);
  SPREC_CHECK(opts->tol >= 0 && isfinite(opts->tol), SPREC_ERR_ARG, "--tol must be >= 0");
  SPREC_CHECK(opts->step >= 0 && isfinite(opts->step), SPREC_ERR_ARG, "--step must be > 0");
  SPREC_ALLOC(*s, 1);
  (*s)->ctx = ctx;
  (*s)->o = *opts;
  return SPREC_OK;
}

sprec_err sprec_solver_destroy(sprec_solver *s)
{
  if (!s || !*s) return SPREC_OK;
  free(*s);
  *s = NULL;
  return SPREC_OK;
}

void sprec_solver_get_stats(sprec_solver s, sprec_stats *st) { *st = s->st; }

static int cmp_dbl(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n)
{
  if (n <= 0) return 0;
  qsort(v, (size_t)n, sizeof *v, cmp_dbl);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

sprec_err sprec_solver_solve(sprec_solver s, sprec_op A, const double *y, const double *init,
                             sprec_sparse *x)
{
  sprec_ctx c = s->ctx;
  const sprec_algo *alg = find_algo(s->o.algo);
  sprec_work w = {0};
  sprec_err err = SPREC_OK;
  double t0 = MPI_Wtime();
  memset(&s->st, 0, sizeof s->st);
  SPREC_CHECK(A->ctx == c, SPREC_ERR_ARG, "operator and solver have different contexts");
  int64_t kmax = A->m < A->n ? A->m : A->n;
  if (alg->l1) {
    SPREC_CHECK((s->o.lambda > 0) != (s->o.lambda_ratio > 0), SPREC_ERR_ARG,
                "%s solves the Lasso: give one of --lambda L > 0 or --lambda-ratio R > 0",
                alg->name);
    s->o.k = kmax; /* the largest support a debiasing least squares may need */
  } else
    SPREC_CHECK(s->o.k >= 1 && s->o.k <= kmax, SPREC_ERR_ARG,
                "-k %lld is out of range: need 1 <= k <= min(m, n) = %lld", (long long)s->o.k,
                (long long)kmax);
  c->t_comm = 0;
  w.ctx = c;
  w.A = A;
  w.y = y;
  w.init = init;
  w.o = s->o;
  w.st = &s->st;
  w.m = A->m;
  w.n = A->n;
  w.nl = A->n_local;
  w.t_start = t0;
  w.ynorm = sqrt(sprec_nrm2sq(w.m, y));
  if (w.o.iters == 0) /* the default budget */
    w.o.iters = alg->iters + (alg->fill ? (int)(w.o.k < 100000000 ? w.o.k : 100000000) : 0);
  if (alg->needs_L && (w.o.step == 0 || alg->l1)) {
    SPREC_CALL(sprec_op_norm2_est(A, &s->st.L));
    SPREC_CHECK(s->st.L > 0, SPREC_ERR_ARG, "the dictionary is zero: ‖A‖ = 0");
    w.L = s->st.L;
    if (w.o.step == 0) w.o.step = 1.0 / s->st.L;
  }
  if (alg->l1) { /* λ_max = ‖Aᵀy‖∞: above it the solution is 0 */
    double *g = NULL;
    SPREC_CALL(sprec_agree(c->comm, sprec_calloc((size_t)w.nl, sizeof *g, &g, "Aᵀy")));
    sprec_op_apply_T(A, y, g);
    double mx = 0;
    for (int64_t j = 0; j < w.nl; j++) mx = fmax(mx, fabs(g[j]));
    free(g);
    MPI_Allreduce(MPI_IN_PLACE, &mx, 1, MPI_DOUBLE, MPI_MAX, c->comm);
    s->st.lambda_max = mx;
    w.lambda = w.o.lambda > 0 ? w.o.lambda : w.o.lambda_ratio * mx;
    s->st.lambda = w.lambda;
  } else {
    SPREC_CALL(sprec_lsq_create(A, y, w.o.k, w.o.lsq, &w.lsq));
    s->st.lsq_scalapack = sprec_lsq_is_scalapack(w.lsq);
  }
  s->st.step = w.o.step;
  s->st.t_setup = MPI_Wtime() - t0;
  s->st.t_comm = 0;

  SPREC_TRY(sprec_sparse_init(x, w.o.k), done);
  SPREC_TRY(sprec_agree(c->comm, sprec_calloc((size_t)w.o.iters + 1, sizeof *w.iter_t, &w.iter_t,
                                             "iteration times")), done);
  w.t_last = MPI_Wtime();
  SPREC_TRY(alg->run(&w, x), done);
  s->st.iteration_seconds_median = median(w.iter_t, w.n_iter_t);

done:
  free(w.iter_t);
  sprec_lsq_destroy(&w.lsq);
  s->st.t_total = MPI_Wtime() - t0;
  s->st.t_comm += c->t_comm;
  double t[7] = {s->st.t_total, s->st.t_setup, s->st.t_apply_T, s->st.t_topk, s->st.t_lsq,
                 s->st.t_comm, s->st.iteration_seconds_median};
  MPI_Allreduce(MPI_IN_PLACE, t, 7, MPI_DOUBLE, MPI_MAX, c->comm);
  s->st.iteration_seconds_median = t[6];
  s->st.t_total = t[0];
  s->st.t_setup = t[1];
  s->st.t_apply_T = t[2];
  s->st.t_topk = t[3];
  s->st.t_lsq = t[4];
  s->st.t_comm = t[5];
  return err;
}

/* ------------------------------------------------------ building blocks -- */
sprec_err sprec_w_gradient(sprec_work *w, const double *r, double *g)
{
  double t0 = MPI_Wtime();
  SPREC_CALL(sprec_op_apply_T(w->A, r, g));
  w->st->t_apply_T += MPI_Wtime() - t0;
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
  SPREC_TIMED(w->ctx->t_comm, MPI_Allreduce(MPI_IN_PLACE, vals, (int)T->nnz, MPI_DOUBLE, MPI_SUM,
                                            w->ctx->comm));
  return SPREC_OK;
}

double sprec_w_objective(const sprec_work *w, const double *r) { return 0.5 * sprec_nrm2sq(w->m, r); }

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
  if (w->o.monitor > 0 && iter % w->o.monitor == 0 && w->ctx->rank == 0 && w->o.monitor_fn)
    w->o.monitor_fn(w->o.monitor_ctx, iter, obj, changes, MPI_Wtime() - w->t_start);
  if (!w->o.stop_flag) return 0;
  int stop = w->ctx->rank == 0 ? *w->o.stop_flag : 0; /* rank 0's signal decides for all */
  MPI_Bcast(&stop, 1, MPI_INT, 0, w->ctx->comm);
  if (stop) strcpy(w->st->stop_reason, "interrupted");
  return stop;
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

int sprec_w_converged(const sprec_work *w, double obj)
{
  double rel = w->ynorm > 0 ? sqrt(2 * obj) / w->ynorm : 0.0;
  return rel <= w->o.tol;
}
