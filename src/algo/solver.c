/* The solver object, the algorithm table and the timed building blocks. Adding an
 * algorithm is one file and one line in `algorithms`. */
#include "algo.h"

#include <math.h>
#include <stdio.h>
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
  sprec_stats st; /* of the last solve; for a batch, of the batch as a whole */
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
  SPREC_CHECK(memchr(opts->init_algo, 0, sizeof opts->init_algo) &&
                  (!opts->init_algo[0] || find_algo(opts->init_algo)),
              SPREC_ERR_ARG, "init_algo: unknown algorithm '%.16s'", opts->init_algo);
  SPREC_CHECK(opts->checkpoint_every >= 0, SPREC_ERR_ARG,
              "checkpoint_every must be >= 0 (got %d)", opts->checkpoint_every);
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

/* Each time becomes its maximum over the ranks. */
static void max_times(sprec_ctx c, sprec_stats *st)
{
  double t[7] = {st->t_total, st->t_setup, st->t_apply_T, st->t_topk, st->t_lsq, st->t_comm,
                 st->iteration_seconds_median};
  MPI_Allreduce(MPI_IN_PLACE, t, 7, MPI_DOUBLE, MPI_MAX, c->comm);
  st->t_total = t[0];
  st->t_setup = t[1];
  st->t_apply_T = t[2];
  st->t_topk = t[3];
  st->t_lsq = t[4];
  st->t_comm = t[5];
  st->iteration_seconds_median = t[6];
}

/* The budget of algorithm alg under o: o->iters, or its default. */
static int resolve_iters(const sprec_algo *alg, const sprec_opts *o)
{
  if (o->iters > 0) return o->iters;
  int64_t k = o->k > 0 ? o->k : 0;
  return alg->iters + (alg->fill ? (int)(k < 100000000 ? k : 100000000) : 0);
}

/* The options of a chain's init algorithm: the chain's, with the init's default
 * budget, no progress reports, and tol 0 for an ℓ0 method. */
static void init_options(const sprec_opts *o, sprec_opts *oi)
{
  *oi = *o;
  snprintf(oi->algo, sizeof oi->algo, "%s", o->init_algo);
  oi->init_algo[0] = 0;
  oi->iters = 0;
  oi->monitor = 0;
  if (sprec_algorithm_kind(oi->algo) == 0) oi->tol = 0;
}

/* budget[0]: of the only algorithm or a chain's init; budget[1]: of a chain's main. */
static void budgets(const sprec_opts *o, int budget[2])
{
  budget[0] = budget[1] = resolve_iters(find_algo(o->algo), o);
  if (o->init_algo[0]) {
    sprec_opts oi;
    init_options(o, &oi);
    budget[0] = resolve_iters(find_algo(oi.algo), &oi);
  }
}

/* One algorithm on one problem, from the set-up to the statistics. L: ‖A‖₂² when the
 * caller has it already (a batch estimates it once), else 0. B, slot: the batch this
 * problem belongs to (its products Aᵀr are made by the batch driver), or NULL. ck:
 * the problem's checkpoint, or NULL; phase: 1 for a chain's main algorithm. */
static sprec_err solve_one(sprec_ctx c, const sprec_opts *o, sprec_op A, const double *y,
                           const double *init, double L, struct sprec_batch *B, int slot,
                           sprec_ckprob *ck, int phase, sprec_sparse *x, sprec_stats *st)
{
  const sprec_algo *alg = find_algo(o->algo);
  sprec_work w = {0};
  sprec_err err = SPREC_OK;
  double t0 = MPI_Wtime();
  memset(st, 0, sizeof *st);
  SPREC_CHECK(A->ctx == c, SPREC_ERR_ARG, "operator and solver have different contexts");
  int64_t kmax = A->m < A->n ? A->m : A->n;
  w.o = *o;
  if (alg->l1) {
    SPREC_CHECK((w.o.lambda > 0) != (w.o.lambda_ratio > 0), SPREC_ERR_ARG,
                "%s solves the Lasso: give one of --lambda L > 0 or --lambda-ratio R > 0",
                alg->name);
    w.o.k = kmax; /* the largest support a debiasing least squares may need */
  } else
    SPREC_CHECK(w.o.k >= 1 && w.o.k <= kmax, SPREC_ERR_ARG,
                "-k %lld is out of range: need 1 <= k <= min(m, n) = %lld", (long long)w.o.k,
                (long long)kmax);
  st->resumed_iteration = -1;
  st->checkpoint_iteration = -1;
  c->t_comm = 0;
  w.ctx = c;
  w.A = A;
  w.y = y;
  w.init = init;
  w.st = st;
  w.batch = B;
  w.slot = slot;
  w.ck = ck;
  w.phase = phase;
  w.m = A->m;
  w.n = A->n;
  w.nl = A->n_local;
  w.t_start = t0;
  w.ynorm = sqrt(sprec_nrm2sq(w.m, y));
  w.o.iters = resolve_iters(alg, &w.o);
  if (alg->needs_L && (w.o.step == 0 || alg->l1)) {
    if (L == 0) SPREC_CALL(sprec_op_norm2_est(A, &L));
    SPREC_CHECK(L > 0, SPREC_ERR_ARG, "the dictionary is zero: ‖A‖ = 0");
    st->L = w.L = L;
    if (w.o.step == 0) w.o.step = 1.0 / L;
  }
  if (alg->l1) { /* λ_max = ‖Aᵀy‖∞: above it the solution is 0 */
    double *g = NULL;
    SPREC_CALL(sprec_agree(c->comm, sprec_calloc((size_t)w.nl, sizeof *g, &g, "Aᵀy")));
    err = sprec_w_apply_T(&w, y, g);
    double mx = 0;
    for (int64_t j = 0; j < w.nl && !err; j++) mx = fmax(mx, fabs(g[j]));
    free(g);
    SPREC_CALL(err);
    MPI_Allreduce(MPI_IN_PLACE, &mx, 1, MPI_DOUBLE, MPI_MAX, c->comm);
    st->lambda_max = mx;
    w.lambda = w.o.lambda > 0 ? w.o.lambda : w.o.lambda_ratio * mx;
    st->lambda = w.lambda;
  } else {
    SPREC_CALL(sprec_lsq_create(A, y, w.o.k, w.o.lsq, &w.lsq));
    st->lsq_scalapack = sprec_lsq_is_scalapack(w.lsq);
  }
  st->step = w.o.step;
  st->t_setup = MPI_Wtime() - t0;
  st->t_comm = 0;

  SPREC_TRY(sprec_sparse_init(x, w.o.k), done);
  SPREC_TRY(sprec_agree(c->comm, sprec_calloc((size_t)w.o.iters + 1, sizeof *w.iter_t, &w.iter_t,
                                             "iteration times")), done);
  w.t_last = MPI_Wtime();
  if (alg->l1 && !(w.lambda < st->lambda_max)) { /* λ ≥ ‖Aᵀy‖∞ (or ∞): x = 0 is the */
    x->nnz = 0;                                     /* minimizer, its duality gap is 0  */
    st->gap = 0;
    strcpy(st->stop_reason, "gap");
  } else
    SPREC_TRY(alg->run(&w, x), done);
  st->iteration_seconds_median = median(w.iter_t, w.n_iter_t);
  /* Every algorithm's figures come from the x it returns, through one function: two
   * results compare exactly as their objectives do, whichever algorithm made them. */
  SPREC_TRY(sprec_w_data_fit(&w, x, &st->data_fit), done);
  st->objective = st->data_fit;
  if (alg->l1) {
    double l1 = 0;
    for (int64_t t = 0; t < x->nnz; t++) l1 += fabs(x->val[t]);
    if (l1 > 0) st->objective += w.lambda * l1; /* (λ may be ∞ when x = 0) */
  }
  st->rel_residual = w.ynorm > 0 ? sqrt(2 * st->data_fit) / w.ynorm : 0;

done:
  free(w.iter_t);
  sprec_lsq_destroy(&w.lsq);
  st->t_total = MPI_Wtime() - t0;
  st->t_comm += c->t_comm;
  max_times(c, st);
  return err;
}

/* One problem: its algorithm, or a chain (opts.init_algo: the init algorithm, then
 * the main one from its result), or its result taken from a checkpoint. */
static sprec_err run_problem(sprec_ctx c, const sprec_opts *o, sprec_op A, const double *y,
                             const double *init, double L, struct sprec_batch *B, int slot,
                             sprec_ckprob *ck, sprec_sparse *x, sprec_stats *st)
{
  int kind = sprec_ck_resume_kind(ck);
  sprec_err err = SPREC_OK;
  if (kind == 2) { /* finished when the checkpoint was written */
    memset(x, 0, sizeof *x);
    SPREC_CALL(sprec_ck_take_result(ck, x, st));
    return SPREC_OK;
  }
  if (!o->init_algo[0]) {
    SPREC_CALL(solve_one(c, o, A, y, init, L, B, slot, ck, 0, x, st));
  } else {
    sprec_opts oi;
    sprec_sparse xi = {0};
    sprec_stats sti;
    double *x0 = NULL;
    init_options(o, &oi);
    if (kind == 1) { /* the checkpoint is of the main algorithm: the init had finished */
      SPREC_TRY(sprec_ck_take_chain(ck, &xi, &sti), chain_done);
    } else {
      SPREC_TRY(solve_one(c, &oi, A, y, init, L, B, slot, ck, 0, &xi, &sti), chain_done);
      if (!strcmp(sti.stop_reason, "interrupted")) { /* stopped inside the init */
        *st = sti;
        *x = xi;
        xi = (sprec_sparse){0};
        goto chain_done;
      }
    }
    SPREC_TRY(sprec_ck_set_chain(ck, &xi, &sti), chain_done);
    SPREC_TRY(sprec_agree(c->comm, sprec_calloc((size_t)A->n_local + 1, sizeof *x0, &x0, "init")),
              chain_done);
    for (int64_t t = 0; t < xi.nnz; t++)
      if (xi.idx[t] >= A->col_start && xi.idx[t] < A->col_start + A->n_local)
        x0[xi.idx[t] - A->col_start] = xi.val[t];
    SPREC_TRY(solve_one(c, o, A, y, x0, L > 0 ? L : sti.L, B, slot, ck, 1, x, st), chain_done);
    st->init_data_fit = sti.data_fit;
    st->init_iterations = sti.iterations;
    st->apply_T_passes += sti.apply_T_passes;
    st->t_total += sti.t_total;
    st->t_setup += sti.t_setup;
    st->t_apply_T += sti.t_apply_T;
    st->t_topk += sti.t_topk;
    st->t_lsq += sti.t_lsq;
    st->t_comm += sti.t_comm;
    if (st->resumed_iteration < 0) st->resumed_iteration = sti.resumed_iteration;
    if (st->checkpoint_iteration < 0) st->checkpoint_iteration = sti.checkpoint_iteration;
  chain_done:
    free(x0);
    sprec_sparse_free(&xi);
    SPREC_CALL(err);
  }
  /* A batch's later checkpoints hold the result of a finished problem. */
  if (B && ck && strcmp(st->stop_reason, "interrupted")) SPREC_CALL(sprec_ck_set_result(ck, x, st));
  return SPREC_OK;
}

sprec_err sprec_solver_solve(sprec_solver s, sprec_op A, const double *y, const double *init,
                             sprec_sparse *x)
{
  sprec_ckset *set = NULL;
  int budget[2];
  memset(&s->st, 0, sizeof s->st);
  s->st.resumed_iteration = s->st.checkpoint_iteration = -1;
  SPREC_CHECK(A->ctx == s->ctx, SPREC_ERR_ARG, "operator and solver have different contexts");
  budgets(&s->o, budget);
  SPREC_CALL(sprec_ck_open(s->ctx, A, &s->o, 1, y, budget, &set));
  sprec_err err = run_problem(s->ctx, &s->o, A, y, init, 0, NULL, 0, sprec_ck_problem(set, 0), x,
                              &s->st);
  sprec_ck_close(&set);
  return err;
}

/* ------------------------------------------------------------- batches -- */
/* b problems sharing A run as fibers, in lockstep rounds. In a round the driver
 * resumes every unfinished problem in index order; each runs its algorithm until it
 * needs Aᵀr (it yields, leaving r and where g goes) or ends. Then one pass over A
 * serves all the waiting problems (sprec_op_apply_T_many). Every rank resumes the
 * same problems in the same order, so the collectives inside the algorithms match
 * across ranks; every product is bit for bit the single-vector one, so every
 * problem's result is the one sprec_solver_solve gives for it alone. */
#define SPREC_FIBER_STACK ((size_t)4 << 20)

typedef struct {
  sprec_ctx ctx;
  sprec_opts o;
  sprec_op A;
  const double *y, *init;
  double L;
  struct sprec_batch *B;
  int slot;
  sprec_sparse *x;
  sprec_stats *st;
  sprec_ckprob *ck;     /* its part of the batch's checkpoint, or NULL  */
  sprec_fiber *fiber;
  sprec_err err;
  double t_comm;        /* this problem's share of ctx->t_comm          */
  int waiting, cancel;  /* yielded for a product; the batch is failing  */
  const double *r;      /* the product it waits for: g = A_rᵀ r          */
  double *g;
} batch_problem;

struct sprec_batch {
  batch_problem *p;
  int b;
};

static void problem_main(void *arg)
{
  batch_problem *P = arg;
  P->err = run_problem(P->ctx, &P->o, P->A, P->y, P->init, P->L, P->B, P->slot, P->ck, P->x,
                       P->st);
}

/* Inside a problem's fiber: wait for the driver's pass. */
static sprec_err batch_apply_T(struct sprec_batch *B, int slot, const double *r, double *g)
{
  batch_problem *P = &B->p[slot];
  P->r = r;
  P->g = g;
  P->waiting = 1;
  sprec_fiber_yield(P->fiber);
  P->waiting = 0;
  if (P->cancel)
    return SPREC_ERROR(SPREC_ERR_ARG, "stopped: another problem of the batch failed");
  return SPREC_OK;
}

/* Run problem P until it yields or ends, with its own communication timer. */
static void batch_resume(sprec_ctx c, batch_problem *P)
{
  double keep = c->t_comm;
  c->t_comm = P->t_comm;
  sprec_fiber_resume(P->fiber);
  P->t_comm = c->t_comm;
  c->t_comm = keep;
}

/* Unwind every unfinished problem (its pending product fails) and return err with
 * the message, prefixed by the problem it concerns (failed >= 0). */
static sprec_err batch_cancel(sprec_ctx c, struct sprec_batch *B, sprec_err err, int failed)
{
  char msg[1024];
  snprintf(msg, sizeof msg, "%s", sprec_errmsg());
  for (int p = 0; p < B->b; p++)
    if (!sprec_fiber_done(B->p[p].fiber)) {
      B->p[p].cancel = 1;
      batch_resume(c, &B->p[p]);
    }
  if (failed < 0) return sprec_error_set(err, __FILE__, __LINE__, __func__, "%s", msg);
  return sprec_error_set(err, __FILE__, __LINE__, __func__, "problem %d of the batch: %s", failed,
                         msg);
}

sprec_err sprec_solver_solve_batch(sprec_solver s, sprec_op A, int b, const double *Y,
                                   const double *init, sprec_sparse *x, sprec_stats *st)
{
  sprec_ctx c = s->ctx;
  const sprec_algo *alg = find_algo(s->o.algo);
  struct sprec_batch B = {NULL, b};
  const double **r = NULL;
  double **g = NULL, t0 = MPI_Wtime();
  sprec_err err = SPREC_OK;
  memset(&s->st, 0, sizeof s->st);
  SPREC_CHECK(b >= 1, SPREC_ERR_ARG, "a batch needs at least one problem (got %d)", b);
  SPREC_CHECK(A->ctx == c, SPREC_ERR_ARG, "operator and solver have different contexts");
  double L = 0;
  const sprec_algo *ia = s->o.init_algo[0] ? find_algo(s->o.init_algo) : NULL;
  if ((alg->needs_L && (s->o.step == 0 || alg->l1)) ||
      (ia && ia->needs_L && (s->o.step == 0 || ia->l1))) { /* once for all the problems */
    SPREC_CALL(sprec_op_norm2_est(A, &L));
    SPREC_CHECK(L > 0, SPREC_ERR_ARG, "the dictionary is zero: ‖A‖ = 0");
  }
  sprec_ckset *set = NULL; /* one checkpoint file for the whole batch */
  int budget[2];
  budgets(&s->o, budget);
  SPREC_CALL(sprec_ck_open(c, A, &s->o, b, Y, budget, &set));
  err = sprec_calloc((size_t)b, sizeof *B.p, &B.p, "batch");
  if (!err) err = sprec_calloc((size_t)b, sizeof *r, &r, "batch");
  if (!err) err = sprec_calloc((size_t)b, sizeof *g, &g, "batch");
  for (int p = 0; p < b && !err; p++) {
    batch_problem *P = &B.p[p];
    *P = (batch_problem){.ctx = c, .o = s->o, .A = A, .y = Y + (size_t)p * (size_t)A->m, .L = L, .B = &B,
                         .slot = p, .x = &x[p], .st = &st[p], .ck = sprec_ck_problem(set, p)};
    if (p > 0) P->o.monitor = 0; /* progress of the first problem only */
    if (init) P->init = init + (size_t)p * (size_t)A->n_local;
    err = sprec_fiber_create(problem_main, P, SPREC_FIBER_STACK, &P->fiber);
  }
  SPREC_TRY(sprec_agree(c->comm, err), done);
  for (;;) {
    int nw = 0, failed = -1;
    for (int p = 0; p < b; p++) {
      batch_problem *P = &B.p[p];
      if (sprec_fiber_done(P->fiber)) continue;
      batch_resume(c, P);
      if (P->waiting) {
        r[nw] = P->r;
        g[nw++] = P->g;
      } else if (P->err) { /* the same problem fails on every rank */
        failed = p;
        break;
      }
    }
    if (failed >= 0) {
      err = batch_cancel(c, &B, B.p[failed].err, failed);
      break;
    }
    err = sprec_ck_flush(set); /* a problem saved its state in this round */
    if (err) {
      err = batch_cancel(c, &B, err, -1);
      break;
    }
    if (nw == 0) break;
    double t = MPI_Wtime();
    err = sprec_op_apply_T_many(A, nw, r, g);
    if (err) {
      err = batch_cancel(c, &B, err, -1);
      break;
    }
    t = MPI_Wtime() - t;
    s->st.apply_T_passes++;
    s->st.t_apply_T += t;
    for (int p = 0; p < b; p++)
      if (B.p[p].waiting) B.p[p].st->t_apply_T += t / nw;
  }
done:
  sprec_ck_close(&set);
  for (int p = 0; p < b && B.p; p++) sprec_fiber_destroy(&B.p[p].fiber);
  free(B.p);
  free(r);
  free(g);
  s->st.t_total = MPI_Wtime() - t0;
  s->st.L = L;
  max_times(c, &s->st);
  return err;
}

/* ------------------------------------------------------ building blocks -- */
sprec_err sprec_w_apply_T(sprec_work *w, const double *r, double *g)
{
  if (w->batch) return batch_apply_T(w->batch, w->slot, r, g); /* timed by the driver */
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
  SPREC_TIMED(w->ctx->t_comm, MPI_Allreduce(MPI_IN_PLACE, vals, (int)T->nnz, MPI_DOUBLE, MPI_SUM,
                                            w->ctx->comm));
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
  if (w->o.monitor > 0 && iter % w->o.monitor == 0 && w->ctx->rank == 0 && w->o.monitor_fn)
    w->o.monitor_fn(w->o.monitor_ctx, iter, obj, changes, MPI_Wtime() - w->t_start);
  if (!w->o.stop_flag) return 0;
  int stop = *w->o.stop_flag != 0; /* a signal on any rank stops them all */
  MPI_Allreduce(MPI_IN_PLACE, &stop, 1, MPI_INT, MPI_MAX, w->ctx->comm);
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
