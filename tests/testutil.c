#include "testutil.h"

#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

int tu_is_lasso(const char *name)
{
  return sprec_algo_class_of(sprec_algo_find(name)) == SPREC_ALGO_L1;
}

int tu_all(int ok)
{
  int all = ok != 0;
  MPI_Allreduce(MPI_IN_PLACE, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
  return all;
}

#define TU_LABELS 64
static struct {
  const char *label;
  double worst;
  long n, unbounded;
} tu_used[TU_LABELS];

int tu_within(const char *label, double diff, double bound)
{
  double ratio = bound > 0 ? diff / bound : diff <= 0 ? 0 : INFINITY;
  for (int i = 0; i < TU_LABELS; i++)
    if (!tu_used[i].label || !strcmp(tu_used[i].label, label)) {
      if (!tu_used[i].label) tu_used[i].label = label, tu_used[i].worst = ratio;
      tu_used[i].worst = fmax(tu_used[i].worst, ratio);
      tu_used[i].n++;
      tu_used[i].unbounded += isinf(bound) || isnan(bound);
      break;
    }
  return diff <= bound;
}

int tu_run(Suite *s)
{
  SRunner *sr = srunner_create(s);
  srunner_set_fork_status(sr, CK_NOFORK);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  /* Only rank 0 reports; all ranks run every test. */
  srunner_run_all(sr, rank == 0 ? CK_NORMAL : CK_SILENT);
  for (int i = 0; rank == 0 && i < TU_LABELS && tu_used[i].label; i++)
    fprintf(stderr, "[tolerance] %s: worst difference/bound %.3g over %ld checks (fails above 1)%s\n",
            tu_used[i].label, tu_used[i].worst, tu_used[i].n,
            tu_used[i].unbounded ? " (some with no finite bound: ill-conditioned)" : "");
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return failed;
}

void tu_reference_problem(const sprec_problem *p, double **A, double **y, sprec_sparse *xt)
{
  sprec_ctx self;
  sprec_op op;
  sprec_ctx_create(MPI_COMM_SELF, &self);
  sprec_problem_generate(self, p, &op, y, xt);
  *A = op->data; /* take the block (the whole matrix on one rank) */
  op->data = NULL;
  sprec_op_destroy(&op);
  sprec_ctx_destroy(&self);
}

double tu_dgels(int64_t m, const double *A, const double *y, int64_t k, const int64_t *S, double *z)
{
  double *As = malloc(sizeof(double) * m * k), *b = malloc(sizeof(double) * m);
  for (int64_t t = 0; t < k; t++) memcpy(As + t * m, A + S[t] * m, sizeof(double) * m);
  memcpy(b, y, sizeof(double) * m);
  LAPACKE_dgels(LAPACK_COL_MAJOR, 'N', (int)m, (int)k, 1, As, (int)m, b, (int)m);
  memcpy(z, b, sizeof(double) * k);
  /* Objective from the residual recomputed with the original columns. */
  double f = 0;
  for (int64_t i = 0; i < m; i++) {
    double r = y[i];
    for (int64_t t = 0; t < k; t++) r -= A[i + S[t] * m] * z[t];
    f += r * r;
  }
  free(As);
  free(b);
  return 0.5 * f;
}

tu_fit_bounds tu_fit(int64_t m, const double *A, const double *y, int64_t k, const int64_t *S,
                     const double *z)
{
  const double eps = DBL_EPSILON;
  tu_fit_bounds b = {k, 0, 0, 0, 0, 0, 0, 0, 0};
  double yy = 0, rr = 0;
  for (int64_t i = 0; i < m; i++) {
    double r = y[i];
    for (int64_t t = 0; t < k; t++) r -= A[i + S[t] * m] * z[t];
    rr += r * r;
    yy += y[i] * y[i];
  }
  for (int64_t t = 0; t < k; t++) {
    double an = 0;
    for (int64_t i = 0; i < m; i++) an += A[i + S[t] * m] * A[i + S[t] * m];
    b.l1 += fabs(z[t]);
    b.sax += fabs(z[t]) * sqrt(an);
  }
  b.ynorm = sqrt(yy);
  b.rnorm = sqrt(rr);
  b.fit = 0.5 * rr;
  b.D = (double)(k + 1) * eps * (b.ynorm + b.sax);
  double rmax = b.rnorm + 2 * b.D; /* >= the norm of any evaluation of r */
  b.fit_err = 0.5 * (b.D * (2 * b.rnorm + 3 * b.D) + (double)m * eps * rmax * rmax);
  b.grad_err = b.D + (double)m * eps * rmax;
  return b;
}

tu_fit_bounds tu_fit_x(int64_t m, const double *A, const double *y, const sprec_sparse *x)
{
  return tu_fit(m, A, y, x->nnz, x->idx, x->val);
}

double tu_lasso_err(const tu_fit_bounds *b, double lam)
{
  const double eps = DBL_EPSILON;
  double pen = lam * b->l1;
  return b->fit_err + (double)(b->k + 1) * eps * pen + eps * (b->fit + pen);
}

double tu_lasso_gap_err(int64_t m, int64_t n, const double *A, const double *y,
                        const sprec_sparse *x, double lam)
{
  const double eps = DBL_EPSILON;
  tu_fit_bounds fb = tu_fit_x(m, A, y, x);
  double *r = malloc(sizeof(double) * (size_t)m), gmax = 0, amax = 0, th2 = 0, rt2 = 0;
  for (int64_t i = 0; i < m; i++) {
    r[i] = y[i];
    for (int64_t t = 0; t < x->nnz; t++) r[i] -= A[i + x->idx[t] * m] * x->val[t];
  }
  for (int64_t j = 0; j < n; j++) {
    double c = 0, an = 0;
    for (int64_t i = 0; i < m; i++) c += A[i + j * m] * r[i], an += A[i + j * m] * A[i + j * m];
    gmax = fmax(gmax, fabs(c));
    amax = fmax(amax, sqrt(an));
  }
  double s = fmax(1.0, gmax / lam);
  for (int64_t i = 0; i < m; i++) {
    th2 += (r[i] / s) * (r[i] / s);
    rt2 += (r[i] - r[i] / s) * (r[i] - r[i] / s);
  }
  free(r);
  double ds = amax * fb.grad_err / lam + eps * s, th = sqrt(th2);
  double dth = fb.D / s + th * ds / s + eps * th;
  return (double)(fb.k + 2) * eps * lam * fb.l1 + fb.sax * (fb.grad_err + ds * th) +
         sqrt(rt2) * dth + 0.5 * dth * dth + 0.5 * (double)(m + 2) * eps * rt2 + fb.D * fb.sax;
}

tu_lsq_bounds tu_lsq(int64_t m, const double *A, const double *y, int64_t k, const int64_t *S,
                     const double *z)
{
  const double eps = DBL_EPSILON;
  tu_lsq_bounds b;
  memset(&b, 0, sizeof b);
  b.fit = tu_fit(m, A, y, k, S, z);
  double *As = malloc(sizeof(double) * (size_t)(m * k)), *s = malloc(sizeof(double) * (size_t)k);
  double *sup = malloc(sizeof(double) * (size_t)k), nf = 0, zn = 0;
  for (int64_t t = 0; t < k; t++) {
    memcpy(As + t * m, A + S[t] * m, sizeof(double) * (size_t)m);
    zn += z[t] * z[t];
  }
  for (int64_t i = 0; i < m * k; i++) nf += As[i] * As[i];
  b.normF = sqrt(nf);
  lapack_int info = LAPACKE_dgesvd(LAPACK_COL_MAJOR, 'N', 'N', (lapack_int)m, (lapack_int)k, As,
                                   (lapack_int)m, s, NULL, 1, NULL, 1, sup);
  b.smax = info == 0 ? s[0] : INFINITY;
  b.smin = info == 0 ? s[k - 1] : 0;
  b.kappa = b.smin > 0 ? b.smax / b.smin : INFINITY;
  b.eta = (double)m * (double)k * eps;
  double q = b.smin > 0 ? b.eta * b.normF / b.smin : INFINITY; /* the relative perturbation */
  if (q < 0.5) {
    b.dev = b.eta * (b.fit.ynorm + b.normF * sqrt(zn) + b.normF * b.fit.rnorm / b.smin) / (1 - q);
    b.excess = 0.5 * b.dev * b.dev;
    b.zerr = b.dev / b.smin;
    b.kkt = (b.dev + b.fit.grad_err) / b.fit.ynorm * (1 + 2 * (double)(m + 2) * eps);
  } else
    b.dev = b.excess = b.zerr = b.kkt = INFINITY;
  free(As);
  free(s);
  free(sup);
  return b;
}

tu_lsq_bounds tu_lsq_x(int64_t m, const double *A, const double *y, const sprec_sparse *x)
{
  return tu_lsq(m, A, y, x->nnz, x->idx, x->val);
}

tu_result tu_solve(MPI_Comm comm, const sprec_problem *P, const sprec_opts *o,
                   const sprec_sparse *init)
{
  tu_result res = {{0}, {0}, SPREC_OK};
  sprec_ctx ctx;
  sprec_op A;
  sprec_solver s = NULL;
  double *y, *x0 = NULL;
  sprec_sparse xt = {0};
  sprec_ctx_create(comm, &ctx);
  sprec_problem_generate(ctx, P, &A, &y, &xt);
  if (init) {
    x0 = calloc((size_t)A->n_local + 1, sizeof *x0);
    for (int64_t t = 0; t < init->nnz; t++)
      if (init->idx[t] >= A->col_start && init->idx[t] < A->col_start + A->n_local)
        x0[init->idx[t] - A->col_start] = init->val[t];
  }
  res.err = sprec_solver_create(ctx, o, &s);
  if (!res.err) res.err = sprec_solver_solve(s, A, y, x0, &res.x);
  if (s) sprec_solver_get_stats(s, &res.st);
  sprec_solver_destroy(&s);
  sprec_op_destroy(&A);
  sprec_ctx_destroy(&ctx);
  free(y);
  free(x0);
  sprec_sparse_free(&xt);
  return res;
}

int tu_same_on_every_rank_count(const sprec_problem *P, const sprec_opts *o, const char *label)
{
  int rank, size, ok = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  tu_result ref = {{0}, {0}, SPREC_OK};
  for (int q = 1; q <= size; q++) {
    MPI_Comm sub;
    MPI_Comm_split(MPI_COMM_WORLD, rank < q ? 0 : MPI_UNDEFINED, rank, &sub);
    if (sub == MPI_COMM_NULL) continue;
    tu_result res = tu_solve(sub, P, o, NULL);
    MPI_Comm_free(&sub);
    if (rank != 0) { /* rank 0 takes part in every run and judges */
      sprec_sparse_free(&res.x);
      continue;
    }
    if (q == 1) {
      ref = res;
      ok &= res.err == SPREC_OK;
      continue;
    }
    /* Exact: the values are compared bit for bit below, and the objective is computed
     * from them by one function that gives the same bits on any number of ranks. */
    int same = res.err == SPREC_OK && res.x.nnz == ref.x.nnz &&
               res.st.objective == ref.st.objective && res.st.data_fit == ref.st.data_fit &&
               res.st.iterations == ref.st.iterations && res.st.gap == ref.st.gap &&
               !strcmp(res.st.stop_reason, ref.st.stop_reason);
    for (int64_t t = 0; same && t < ref.x.nnz; t++)
      same = res.x.idx[t] == ref.x.idx[t] && res.x.val[t] == ref.x.val[t];
    if (!same)
      fprintf(stderr, "%s at %d ranks: objective %.17g vs %.17g, iterations %d vs %d at one rank\n",
              label, q, res.st.objective, ref.st.objective, res.st.iterations, ref.st.iterations);
    ok &= same;
    sprec_sparse_free(&res.x);
  }
  sprec_sparse_free(&ref.x);
  return tu_all(ok);
}
