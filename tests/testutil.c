#include "testutil.h"

#include <ctype.h>
#include <ftw.h>
#include <spawn.h>
#include <sys/wait.h>
#include <errno.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

sprec_problem tu_problem(sprec_problem_kind kind, int64_t m, int64_t n, int64_t k, double snr_db,
                         uint64_t seed)
{
  sprec_problem P;
  sprec_problem_default(&P);
  P.kind = kind, P.m = m, P.n = n, P.k = k, P.snr_db = snr_db, P.seed = seed;
  return P;
}

int tu_is_lasso(const char *name)
{
  return sprec_algo_class_of(sprec_algo_find(name)) == SPREC_ALGO_L1;
}

int tu_every_algorithm(sprec_opts *o, int64_t k, int iters, double lambda_ratio, int debias)
{
  int n = 0;
  for (const char *const *a = sprec_algorithms(); *a && n < TU_MAX_ALGOS; a++)
    o[n++] = tu_algo_opts(*a, k, iters, lambda_ratio, debias);
  return n;
}

sprec_opts tu_algo_opts(const char *algo, int64_t k, int iters, double lambda_ratio, int debias)
{
  sprec_opts o;
  sprec_opts_default(&o);
  o.algo = sprec_algo_find(algo);
  o.k = k;
  o.iters = iters;
  if (tu_is_lasso(algo)) {
    o.lambda_ratio = lambda_ratio;
    o.tol = 1e-10;
    o.debias = debias;
  }
  return o;
}

int tu_all(int ok)
{
  int all = ok != 0;
  MPI_Allreduce(MPI_IN_PLACE, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
  return all;
}

static char tu_dir[4096]; /* tu_tmpdir's, "" until made */

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
  (void)sb, (void)flag, (void)ftw;
  return remove(p);
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
  MPI_Barrier(MPI_COMM_WORLD); /* every rank is done with the files */
  MPI_Finalize();
  if (rank == 0 && tu_dir[0] && getenv("TU_KEEP")) fprintf(stderr, "files kept in %s\n", tu_dir);
  else if (rank == 0 && tu_dir[0]) nftw(tu_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  return failed;
}

int tu_main(int *argc, char ***argv, const char *name, double timeout, int (*setup)(void),
            const TTest *const *tests)
{
  MPI_Init(argc, argv);
  if (setup && !setup()) {
    fprintf(stderr, "%s: the set-up failed\n", name);
    MPI_Finalize();
    return 1;
  }
  Suite *s = suite_create(name);
  TCase *tc = tcase_create(name);
  tcase_set_timeout(tc, timeout);
  for (int i = 0; tests[i]; i++) tcase_add_test(tc, tests[i]);
  suite_add_tcase(s, tc);
  return tu_run(s) ? 1 : 0;
}

const char *tu_tmpdir(void)
{
  int rank, ok = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (tu_dir[0]) return tu_dir;
  if (rank == 0) {
    const char *t = getenv("TMPDIR");
    snprintf(tu_dir, sizeof tu_dir, "%s/sprec-%s.XXXXXX", t && *t ? t : "/tmp",
             program_invocation_short_name);
    ok = mkdtemp(tu_dir) != NULL;
    if (!ok) tu_dir[0] = 0;
  }
  MPI_Bcast(tu_dir, (int)sizeof tu_dir, MPI_CHAR, 0, MPI_COMM_WORLD);
  return tu_dir[0] ? tu_dir : NULL;
}

int tu_python(const char *script, const char *const *args)
{
  int rank, ok = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0) {
    const char *py = getenv("PYTHON") && *getenv("PYTHON") ? getenv("PYTHON") : "/usr/bin/python3";
    const char *argv[64] = {py, "-c", script};
    int n = 3;
    for (int i = 0; args && args[i] && n < 63; i++) argv[n++] = args[i];
    pid_t pid;
    int st = 0;
    ok = posix_spawn(&pid, py, NULL, NULL, (char *const *)argv, environ) == 0 &&
         waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (!ok) fprintf(stderr, "python failed (status %d): %.200s\n", st, script);
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
  return ok;
}

void tu_reference_problem(const sprec_problem *p, double **A, double **y, sprec_sparse *xt)
{
  sprec_ctx self = NULL;
  sprec_op op = NULL;
  if (sprec_ctx_create(MPI_COMM_SELF, &self) || sprec_problem_generate(self, p, &op, y, xt)) {
    /* local to this rank: stop the job rather than leave the others in a collective */
    fprintf(stderr, "tu_reference_problem: %s\n", sprec_errmsg());
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
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
  sprec_ctx ctx = NULL;
  sprec_op A = NULL;
  sprec_solver s = NULL;
  double *y = NULL, *x0 = NULL;
  sprec_sparse xt = {0};
  sprec_err err;
  SPREC_TRY(sprec_ctx_create(comm, &ctx), done);
  SPREC_TRY(sprec_problem_generate(ctx, P, &A, &y, &xt), done);
  if (init) {
    SPREC_TRY(sprec_agree(comm, sprec_calloc((size_t)A->n_local + 1, sizeof *x0, &x0, "init")), done);
    for (int64_t t = 0; t < init->nnz; t++)
      if (init->idx[t] >= A->col_start && init->idx[t] < A->col_start + A->n_local)
        x0[init->idx[t] - A->col_start] = init->val[t];
  }
  SPREC_TRY(sprec_solver_create(ctx, o, &s), done);
  err = sprec_solver_solve(s, A, y, x0, &res.x);
  sprec_solver_get_stats(s, &res.st);
done:
  res.err = err;
  sprec_solver_destroy(&s);
  sprec_op_destroy(&A);
  sprec_ctx_destroy(&ctx);
  sprec_free(y);
  free(x0);
  sprec_sparse_free(&xt);
  return res;
}

/* A result as text, every number exactly (hexadecimal floating point): two results
 * are the same iff their texts are, whichever run or file each comes from. */
static char *result_text(const tu_result *r)
{
  size_t len = 256 + 64 * (size_t)r->x.nnz, at;
  char *t = malloc(len);
  at = (size_t)snprintf(t, len, "err %d iterations %d stop %s objective %a data_fit %a gap %a nnz %lld\n",
                        (int)r->err, r->st.iterations, r->st.stop_reason, r->st.objective,
                        r->st.data_fit, r->st.gap, (long long)r->x.nnz);
  for (int64_t i = 0; i < r->x.nnz && at < len; i++)
    at += (size_t)snprintf(t + at, len - at, "%lld %a\n", (long long)r->x.idx[i], r->x.val[i]);
  return t;
}

/* $TU_REF_DIR/SUITE.LABEL.HASH: the stored reference of problem P solved with o (the
 * hash of every field of both), or "" without $TU_REF_DIR. */
static void ref_path(const sprec_problem *P, const sprec_opts *o, const char *label, char *path,
                     size_t len)
{
  const char *dir = getenv("TU_REF_DIR");
  char key[2048], v[64];
  path[0] = '\0';
  if (!dir || !*dir) return;
  int at = snprintf(key, sizeof key, "%d %lld %lld %lld %a %llu %a %d %a %lld %lld %d", (int)P->kind,
                    (long long)P->m, (long long)P->n, (long long)P->k, P->snr_db,
                    (unsigned long long)P->seed, P->width, P->single, P->sigma,
                    (long long)P->taps, (long long)P->min_sep, P->implicit);
  for (const char *const *nm = sprec_opts_names(); *nm && at < (int)sizeof key; nm++) {
    sprec_opts_get(o, *nm, v, sizeof v);
    at += snprintf(key + at, sizeof key - (size_t)at, " %s=%s", *nm, v);
  }
  at += snprintf(key + at, sizeof key - (size_t)at, " init=%s",
                 o->init_algo ? sprec_algo_name(o->init_algo) : "");
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (const char *c = key; *c; c++) h = (h ^ (unsigned char)*c) * 1099511628211ULL;
  char name[64];
  snprintf(name, sizeof name, "%s", label);
  for (char *c = name; *c; c++)
    if (!isalnum((unsigned char)*c)) *c = '_';
  snprintf(path, len, "%s/%s.%s.%016llx", dir, program_invocation_short_name, name,
           (unsigned long long)h);
}

/* Rank 0: text against the stored reference at path (stored there if there is none).
 * 1 if they agree or nothing was stored yet. */
static int against_reference(const char *path, const char *text, const char *label)
{
  if (!*path) return 1;
  FILE *f = fopen(path, "r");
  if (!f) { /* the first run: store it (a temporary name, renamed: never half a file) */
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.%ld", path, (long)getpid());
    f = fopen(tmp, "w");
    int ok = f && fputs(text, f) >= 0;
    ok &= f && fclose(f) == 0;
    if (!ok || rename(tmp, path) != 0) {
      fprintf(stderr, "%s: cannot store the reference %s\n", label, path);
      return 0;
    }
    return 1;
  }
  char *stored = calloc(strlen(text) + 2, 1);
  size_t got = fread(stored, 1, strlen(text) + 1, f);
  fclose(f);
  int same = got == strlen(text) && !memcmp(stored, text, got);
  if (!same)
    fprintf(stderr, "%s: the one-rank result differs from the stored reference %s:\n%.300s\nvs "
            "stored\n%.300s\n", label, path, text, stored);
  free(stored);
  return same;
}

/* One option set: 1 on rank 0 iff every rank count agrees with one rank, and one rank
 * with the stored reference (the other ranks return 1). */
static int same_for(const sprec_problem *P, const sprec_opts *o, const char *label)
{
  int rank, size, ok = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  char *ref = NULL;
  for (int q = 1; q <= size; q++) {
    MPI_Comm sub;
    MPI_Comm_split(MPI_COMM_WORLD, rank < q ? 0 : MPI_UNDEFINED, rank, &sub);
    if (sub == MPI_COMM_NULL) continue;
    tu_result res = tu_solve(sub, P, o, NULL);
    MPI_Comm_free(&sub);
    if (rank == 0) { /* rank 0 takes part in every run and judges */
      char *text = result_text(&res);
      if (res.err) fprintf(stderr, "%s at %d ranks: %s\n", label, q, sprec_errmsg());
      ok &= res.err == SPREC_OK;
      if (q == 1) ref = text;
      else {
        if (strcmp(text, ref))
          fprintf(stderr, "%s at %d ranks:\n%.300s\nvs one rank\n%.300s\n", label, q, text, ref);
        ok &= !strcmp(text, ref);
        free(text);
      }
    }
    sprec_sparse_free(&res.x);
  }
  if (rank == 0) {
    char path[4200];
    ref_path(P, o, label, path, sizeof path);
    if (ok) ok = against_reference(path, ref, label);
  }
  free(ref);
  return ok;
}

void tu_same_on_every_rank_count(const sprec_problem *P, int n, const sprec_opts *o,
                                 const char *const *labels)
{
  int ok = 1;
  for (int i = 0; i < n; i++) ok &= same_for(P, &o[i], labels ? labels[i] : sprec_algo_name(o[i].algo));
  ck_assert_all(ok, "results differ between rank counts or from the stored reference (stderr "
                    "says which)");
}

double tu_objective(int64_t m, const double *A, const double *y, const sprec_sparse *x,
                            double *r, double *kkt)
{
  memcpy(r, y, sizeof(double) * m);
  for (int64_t t = 0; t < x->nnz; t++)
    for (int64_t i = 0; i < m; i++) r[i] -= A[i + x->idx[t] * m] * x->val[t];
  double f = 0, yn = 0;
  for (int64_t i = 0; i < m; i++) f += r[i] * r[i], yn += y[i] * y[i];
  *kkt = 0;
  for (int64_t t = 0; t < x->nnz; t++) {
    const double *a = A + x->idx[t] * m;
    double g = 0, an = 0;
    for (int64_t i = 0; i < m; i++) g += a[i] * r[i], an += a[i] * a[i];
    *kkt = fmax(*kkt, fabs(g) / sqrt(an * yn));
  }
  return 0.5 * f;
}

double tu_exhaustive(int64_t m, int64_t n, int64_t k, const double *A, const double *y,
                         double *low)
{
  int64_t S[3];
  double z[3], best = INFINITY;
  *low = INFINITY;
  for (S[0] = 0; S[0] < n; S[0]++)
    for (S[1] = k > 1 ? S[0] + 1 : 0; k < 2 || S[1] < n; S[1]++) {
      for (S[2] = k > 2 ? S[1] + 1 : 0; k < 3 || S[2] < n; S[2]++) {
        double f = tu_dgels(m, A, y, k, S, z);
        tu_lsq_bounds b = tu_lsq(m, A, y, k, S, z);
        best = fmin(best, f);
        *low = fmin(*low, f - b.fit.fit_err - b.excess);
        if (k < 3) break;
      }
      if (k < 2) break;
    }
  return best;
}

sprec_problem tu_tiny_problem(int kind, int trial)
{
  sprec_problem P = tu_problem(kind ? SPREC_PROBLEM_DECONV : SPREC_PROBLEM_GAUSSIAN, kind ? 16 : 8,
                               kind ? 20 : 16, 1 + trial % 3, 15, 100 + (uint64_t)trial);
  P.width = 0.08;
  return P;
}

int tu_check_least_squares(const char *label, const sprec_problem *P, const double *A,
                           const double *y, const tu_result *res, double flow, double *r,
                           double *f)
{
  double kkt;
  *f = tu_objective(P->m, A, y, &res->x, r, &kkt);
  tu_lsq_bounds lb = tu_lsq_x(P->m, A, y, &res->x);
  int ok = res->err == SPREC_OK && res->x.nnz <= P->k;
  ok &= tu_within("never below the exhaustive optimum", flow - *f, lb.fit.fit_err);
  ok &= tu_within("honest objective", fabs(*f - res->st.objective), 2 * lb.fit.fit_err);
  ok &= tu_within("least squares on the support (KKT)", kkt, lb.kkt);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (!ok && rank == 0)
    fprintf(stderr, "%s: f %.17g (optimum >= %.17g) reported %.17g (bound %.3g) kkt %.3g (bound "
            "%.3g) stop %s\n", label, *f, flow, res->st.objective, 2 * lb.fit.fit_err, kkt, lb.kkt,
            res->st.stop_reason);
  return ok;
}
