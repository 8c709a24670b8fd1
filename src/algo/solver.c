/* The solver object: options and run control, one problem from its set-up to its
 * statistics (an algorithm, a chain of two, or a result taken from a checkpoint), and
 * the solve of a single problem. The algorithm table is in algorithms.c, the batch
 * driver in batch.c, the algorithms' building blocks in work.c. */
#include "algo.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

sprec_err sprec_solver_create(sprec_ctx ctx, const sprec_opts *opts, sprec_solver *s)
{
  *s = NULL;
  SPREC_CALL(sprec_opts_check(opts, 0, 0)); /* k once the sizes are known: at the solve */
  SPREC_ALLOC(*s, 1);
  (*s)->ctx = ctx;
  (*s)->o = *opts;
  return SPREC_OK;
}

sprec_err sprec_solver_destroy(sprec_solver *s)
{
  if (!s || !*s) return SPREC_OK;
  free((*s)->run.checkpoint);
  free((*s)->run.resume);
  free(*s);
  *s = NULL;
  return SPREC_OK;
}

sprec_err sprec_solver_set_monitor(sprec_solver s, int every, sprec_monitor_fn fn, void *ctx)
{
  SPREC_CHECK(every >= 0, SPREC_ERR_ARG, "monitor must be >= 0 (got %d)", every);
  s->run.monitor = fn ? every : 0;
  s->run.monitor_fn = fn;
  s->run.monitor_ctx = ctx;
  return SPREC_OK;
}

sprec_err sprec_solver_set_stop_flag(sprec_solver s, volatile sig_atomic_t *flag)
{
  s->run.stop_flag = flag;
  return SPREC_OK;
}

/* *dst becomes a copy of path (NULL for NULL). */
static sprec_err set_path(char **dst, const char *path, const char *what)
{
  char *copy = NULL;
  if (path) SPREC_CALL(sprec_calloc(strlen(path) + 1, 1, &copy, what));
  if (path) strcpy(copy, path);
  free(*dst);
  *dst = copy;
  return SPREC_OK;
}

sprec_err sprec_solver_set_checkpoint(sprec_solver s, const char *path, int every)
{
  SPREC_CHECK(every >= 0, SPREC_ERR_ARG, "checkpoint_every must be >= 0 (got %d)", every);
  SPREC_CHECK(!every || path, SPREC_ERR_ARG, "checkpoint_every needs checkpoint FILE");
  SPREC_CALL(set_path(&s->run.checkpoint, path, "checkpoint"));
  s->run.checkpoint_every = every;
  return SPREC_OK;
}

sprec_err sprec_solver_set_resume(sprec_solver s, const char *path)
{
  return set_path(&s->run.resume, path, "resume");
}

void sprec_solver_get_stats(sprec_solver s, sprec_stats *st) { *st = s->st; }

static double median(double *v, int n)
{
  if (n <= 0) return 0;
  qsort(v, (size_t)n, sizeof *v, sprec_cmp_dbl);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Each time becomes its maximum over the ranks. */
void sprec_max_times(sprec_ctx c, sprec_stats *st)
{
  double t[7] = {st->t_total, st->t_setup, st->t_apply_T, st->t_topk, st->t_lsq, st->t_comm,
                 st->iteration_seconds_median};
  sprec_comm_allreduce(c->comm, SPREC_COMM_SCALAR, MPI_IN_PLACE, t, 7, MPI_DOUBLE, MPI_MAX);
  st->t_total = t[0];
  st->t_setup = t[1];
  st->t_apply_T = t[2];
  st->t_topk = t[3];
  st->t_lsq = t[4];
  st->t_comm = t[5];
  st->iteration_seconds_median = t[6];
}

/* The budget of algorithm alg under o: o->iters, or its default. */
static int resolve_iters(sprec_algo alg, const sprec_opts *o)
{
  if (o->iters > 0) return o->iters;
  int64_t k = o->k > 0 ? o->k : 0;
  return alg->iters + (alg->fill ? (int)(k < 100000000 ? k : 100000000) : 0);
}

/* The options of a chain's init algorithm: the chain's, with the init's default
 * budget and tol 0 for an ℓ0 method (and no progress reports: see sprec_run_problem). */
static void init_options(const sprec_opts *o, sprec_opts *oi)
{
  *oi = *o;
  oi->algo = o->init_algo;
  oi->init_algo = NULL;
  oi->iters = 0;
  if (!oi->algo->l1) oi->tol = 0;
}

/* budget[0]: of the only algorithm or a chain's init; budget[1]: of a chain's main. */
void sprec_budgets(const sprec_opts *o, int budget[2])
{
  budget[0] = budget[1] = resolve_iters(o->algo, o);
  if (o->init_algo) {
    sprec_opts oi;
    init_options(o, &oi);
    budget[0] = resolve_iters(oi.algo, &oi);
  }
}

/* The set-up an algorithm needs: ‖A‖₂² (L if the caller has it, else estimated) and
 * the default step 1/L; for an ℓ1 method λ_max = ‖Aᵀy‖∞ and λ, for the others the
 * restricted least squares. */
static sprec_err setup(sprec_work *w, sprec_algo alg, double L)
{
  sprec_stats *st = w->st;
  if (alg->needs_L && (w->o.step == 0 || alg->l1)) {
    if (L == 0) SPREC_CALL(sprec_op_norm2_est(w->A, &L));
    SPREC_CHECK(L > 0, SPREC_ERR_ARG, "the dictionary is zero: ‖A‖ = 0");
    st->L = w->L = L;
    if (w->o.step == 0) w->o.step = 1.0 / L;
  }
  if (!alg->l1) {
    SPREC_CALL(sprec_lsq_create(w->A, w->y, w->o.k, w->o.lsq, &w->lsq));
    st->lsq_scalapack = sprec_lsq_is_scalapack(w->lsq);
    return SPREC_OK;
  }
  double *g = NULL; /* λ_max = ‖Aᵀy‖∞: above it the solution is 0 */
  SPREC_CALL(sprec_agree(w->ctx->comm, sprec_calloc((size_t)w->nl, sizeof *g, &g, "Aᵀy")));
  sprec_err err = sprec_w_apply_T(w, w->y, g);
  double mx = 0;
  for (int64_t j = 0; j < w->nl && !err; j++) mx = fmax(mx, fabs(g[j]));
  free(g);
  SPREC_CALL(err);
  sprec_comm_allreduce(w->ctx->comm, SPREC_COMM_SCALAR, MPI_IN_PLACE, &mx, 1, MPI_DOUBLE, MPI_MAX);
  st->lambda_max = mx;
  w->lambda = w->o.lambda > 0 ? w->o.lambda : w->o.lambda_ratio * mx;
  st->lambda = w->lambda;
  return SPREC_OK;
}

/* Every algorithm's figures come from the x it returns, through one function: two
 * results compare exactly as their objectives do, whichever algorithm made them. */
static sprec_err final_figures(sprec_work *w, sprec_algo alg, const sprec_sparse *x)
{
  sprec_stats *st = w->st;
  SPREC_CALL(sprec_w_data_fit(w, x, &st->data_fit));
  st->objective = st->data_fit;
  if (alg->l1) {
    double l1 = 0;
    for (int64_t t = 0; t < x->nnz; t++) l1 += fabs(x->val[t]);
    if (l1 > 0) st->objective += w->lambda * l1; /* (λ may be ∞ when x = 0) */
  }
  /* Never a silent infinite answer (an iteration that diverged, or a resumed state
   * whose finite values overflow together); the same on every rank (x is replicated,
   * the fit reduced). */
  SPREC_CHECK(isfinite(st->objective), SPREC_ERR_NUMERIC,
              "the objective of the returned x is not finite (the iteration diverged)");
  st->rel_residual = w->ynorm > 0 ? sqrt(2 * st->data_fit) / w->ynorm : 0;
  return SPREC_OK;
}

/* One algorithm on one problem, from the set-up to the statistics. L: ‖A‖₂² when the
 * caller has it already (a batch estimates it once), else 0. hook: the batch driver's
 * products, or NULL. ck: the problem's checkpoint, or NULL; phase: 1 for a chain's
 * main algorithm. */
static sprec_err solve_one(sprec_ctx c, const sprec_opts *o, const sprec_run *run, sprec_op A,
                           const double *y, const double *init, double L,
                           const sprec_product_hook *hook, sprec_ckprob *ck, int phase,
                           sprec_sparse *x, sprec_stats *st)
{
  sprec_algo alg = o->algo;
  sprec_work w = {0};
  sprec_err err = SPREC_OK;
  double t0 = MPI_Wtime();
  memset(st, 0, sizeof *st);
  SPREC_CHECK(A->ctx == c, SPREC_ERR_ARG, "operator and solver have different contexts");
  int64_t kmax = A->m < A->n ? A->m : A->n;
  w.o = *o;
  w.run = *run;
  SPREC_CALL(sprec_opts_check(o, A->m, A->n));
  if (alg->l1) w.o.k = kmax; /* the largest support a debiasing least squares may need */
  st->resumed_iteration = -1;
  st->checkpoint_iteration = -1;
  c->t_comm = 0;
  w.ctx = c;
  w.A = A;
  w.y = y;
  w.init = init;
  w.st = st;
  w.hook = hook;
  w.ck = ck;
  w.phase = phase;
  w.m = A->m;
  w.n = A->n;
  w.nl = A->n_local;
  w.t_start = t0;
  w.ynorm = sqrt(sprec_nrm2sq(w.m, y));
  w.o.iters = resolve_iters(alg, &w.o);
  SPREC_CALL(setup(&w, alg, L));
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
  SPREC_TRY(final_figures(&w, alg, x), done);

done:
  free(w.iter_t);
  sprec_lsq_destroy(&w.lsq);
  st->t_total = MPI_Wtime() - t0;
  st->t_comm += c->t_comm;
  sprec_max_times(c, st);
  return err;
}

/* One problem: its algorithm, or a chain (opts.init_algo: the init algorithm, then
 * the main one from its result), or its result taken from a checkpoint. */
sprec_err sprec_run_problem(sprec_ctx c, const sprec_opts *o, const sprec_run *run, sprec_op A,
                            const double *y, const double *init, double L,
                            const sprec_product_hook *hook, sprec_ckprob *ck, sprec_sparse *x,
                            sprec_stats *st)
{
  int kind = sprec_ck_resume_kind(ck);
  sprec_err err = SPREC_OK;
  if (kind == 2) { /* finished when the checkpoint was written */
    memset(x, 0, sizeof *x);
    SPREC_CALL(sprec_ck_take_result(ck, x, st));
    return SPREC_OK;
  }
  if (!o->init_algo) {
    SPREC_CALL(solve_one(c, o, run, A, y, init, L, hook, ck, 0, x, st));
  } else {
    sprec_opts oi;
    sprec_run ri = *run; /* the init reports no progress */
    ri.monitor = 0;
    sprec_sparse xi = {0};
    sprec_stats sti;
    double *x0 = NULL;
    init_options(o, &oi);
    if (kind == 1) { /* the checkpoint is of the main algorithm: the init had finished */
      SPREC_TRY(sprec_ck_take_chain(ck, &xi, &sti), chain_done);
    } else {
      SPREC_TRY(solve_one(c, &oi, &ri, A, y, init, L, hook, ck, 0, &xi, &sti), chain_done);
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
    SPREC_TRY(solve_one(c, o, run, A, y, x0, L > 0 ? L : sti.L, hook, ck, 1, x, st), chain_done);
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
  if (hook && ck && strcmp(st->stop_reason, "interrupted")) SPREC_CALL(sprec_ck_set_result(ck, x, st));
  return SPREC_OK;
}

sprec_err sprec_solver_solve(sprec_solver s, sprec_op A, const double *y, const double *init,
                             sprec_sparse *x)
{
  sprec_ckset *set = NULL;
  int budget[2];
  sprec_ctx_comm_reset(s->ctx); /* the counts cover this solve */
  memset(&s->st, 0, sizeof s->st);
  s->st.resumed_iteration = s->st.checkpoint_iteration = -1;
  SPREC_CHECK(A->ctx == s->ctx, SPREC_ERR_ARG, "operator and solver have different contexts");
  SPREC_CALL(sprec_opts_check(&s->o, A->m, A->n));
  sprec_budgets(&s->o, budget);
  SPREC_CALL(sprec_ck_open(s->ctx, A, &s->o, &s->run, 1, y, budget, &set));
  sprec_err err = sprec_run_problem(s->ctx, &s->o, &s->run, A, y, init, 0, NULL,
                                    sprec_ck_problem(set, 0), x, &s->st);
  sprec_ck_close(&set);
  if (!err) err = sprec_comm_reduce(s->ctx, s->st.comm_max, s->st.comm_sum);
  return err;
}
