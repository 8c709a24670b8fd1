/* Communication counted (src/core/comm.c): the counts of whole solves equal closed
 * forms written here from the algorithms' structure (README, "Communication per
 * iteration"), evaluated independently of the library: per phase the calls, bytes
 * and hops summed over the ranks, and the hops of the longest rank. A collective added
 * to or removed from any phase of these solves changes a count and fails the test.
 *
 * The only data-dependent inputs are what a solve reports itself: its iteration
 * count, each iteration's support changes (the monitor, on rank 0, broadcast here on
 * the world communicator, which the layer does not count: it belongs to no context)
 * and the support it returns. The problems are Gaussian (no dependent columns among
 * k << m), so the replicated least squares never refactors for a dependent column. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAXIT 64
/* The limbs of an exact row sum (SPREC_EXACT_LIMBS of par/exact.h), restated: the
 * closed forms do not read the library. */
#define LIMBS 4
#define NPH SPREC_COMM_NPHASES

typedef struct {
  int64_t calls, bytes, hops, maxhops; /* sums over ranks; hops of the longest rank */
} expect;

typedef struct {
  int p;
  int64_t m, n;
  expect e[NPH];
} model;

/* A collective of `bytes` per rank (every rank calls it once). */
static void coll(model *M, int ph, int64_t bytes)
{
  M->e[ph].calls += M->p;
  M->e[ph].bytes += M->p * bytes;
  M->e[ph].hops += M->p;
  M->e[ph].maxhops += 1;
}

static void agree(model *M) { coll(M, SPREC_COMM_AGREE, 4); } /* Allreduce of an int */

/* sprec_topk by gather-merge (p·kk <= 65536): Allgather of the counts, then Allgatherv
 * of every rank's min(kk, n_r) candidates of 24 bytes (magnitude key, index, value). */
static void topk(model *M, int64_t kk)
{
  int64_t cand = 0;
  for (int r = 0; r < M->p; r++) {
    int64_t nr = sprec_block_size(M->n, M->p, r);
    cand += nr < kk ? nr : kk;
  }
  coll(M, SPREC_COMM_TOPK, 4 * (int64_t)M->p);
  coll(M, SPREC_COMM_TOPK, 24 * cand);
}

/* ne support columns gathered: agreement, Allgatherv of ne·m doubles. */
static void gather(model *M, int64_t ne)
{
  agree(M);
  coll(M, SPREC_COMM_GATHER, 8 * M->m * ne);
}

/* A_S x_S on a dense operator (src/op/op.c, par/exact.h): the largest term agreed on
 * (Allreduce of two doubles: the term and a failure flag), then every row's fixed-point
 * sum (Allreduce of m x LIMBS int64), unless every term is zero. Two collectives
 * whatever the owners: no chain. */
static void residual(model *M, const sprec_sparse *x)
{
  int any = 0;
  for (int64_t t = 0; t < x->nnz; t++) any |= x->val[t] != 0;
  if (x->nnz == 0) return;
  coll(M, SPREC_COMM_RESIDUAL, 16);
  if (any) coll(M, SPREC_COMM_RESIDUAL, 8 * LIMBS * M->m);
}

static void data_fit(model *M, const sprec_sparse *x) /* agreement on its buffer, A x */
{
  agree(M);
  residual(M, x);
}

/* The replicated least squares on k columns after an iteration with `changes`
 * support changes against kf held columns: the entering columns travel, all k when
 * more than half the held ones leave (it refactors). */
static void lsq_step(model *M, int64_t k, int64_t kf, int64_t changes)
{
  int64_t ne = (changes + k - kf) / 2, nleave = changes - ne;
  if (nleave > 0 && 2 * nleave > kf) ne = k;
  if (ne > 0) gather(M, ne);
}

/* ------------------------------------------------------------ measuring -- */
typedef struct {
  int n;
  int64_t changes[MAXIT + 1];
} trace;

static void monitor(void *ctx, int iter, double obj, int64_t changes, double seconds)
{
  trace *t = ctx;
  (void)obj, (void)seconds;
  if (iter >= 0 && iter <= MAXIT) t->changes[iter] = changes, t->n = iter + 1;
}

/* Every rank gets rank 0's trace (the world communicator: not counted). */
static void share(trace *t) { MPI_Bcast(t, (int)sizeof *t, MPI_BYTE, 0, MPI_COMM_WORLD); }

/* The measured counts against the model; names what differs (rank 0). */
static int compare(const char *what, const model *M, const sprec_stats *st)
{
  int ok = 1;
  for (int ph = 0; ph < NPH; ph++) {
    const sprec_comm_count *s = &st->comm_sum[ph], *mx = &st->comm_max[ph];
    const expect *e = &M->e[ph];
    int same = s->calls == e->calls && s->bytes == e->bytes && s->hops == e->hops &&
               mx->hops == e->maxhops;
    same &= mx->calls * M->p == s->calls && mx->bytes * M->p == s->bytes; /* collectives only */
    if (!same && M->p > 0) {
      int rank;
      MPI_Comm_rank(MPI_COMM_WORLD, &rank);
      if (rank == 0)
        fprintf(stderr,
                "%s, %d ranks, phase %s: measured calls %lld bytes %lld hops %lld (max %lld), "
                "closed form calls %lld bytes %lld hops %lld (max %lld)\n",
                what, M->p, sprec_comm_phase_name((sprec_comm_phase)ph), (long long)s->calls,
                (long long)s->bytes, (long long)s->hops, (long long)mx->hops,
                (long long)e->calls, (long long)e->bytes, (long long)e->hops,
                (long long)e->maxhops);
    }
    ok &= same;
  }
  return ok;
}

typedef struct {
  sprec_ctx ctx;
  sprec_op A;
  double *y;
  sprec_sparse xt;
  model M;
} setup;

static void setup_make(setup *S, int64_t m, int64_t n, int64_t k)
{
  memset(S, 0, sizeof *S);
  sprec_problem P = tu_problem(SPREC_PROBLEM_GAUSSIAN, m, n, k, 20.0, 11);
  sprec_ctx_create(MPI_COMM_WORLD, &S->ctx);
  sprec_problem_generate(S->ctx, &P, &S->A, &S->y, &S->xt);
  S->M.p = sprec_ctx_size(S->ctx);
  S->M.m = m;
  S->M.n = n;
}

static void setup_free(setup *S)
{
  sprec_op_destroy(&S->A);
  sprec_ctx_destroy(&S->ctx);
  free(S->y);
  sprec_sparse_free(&S->xt);
}

/* One solve of algo (step given: no norm estimate) with its trace and statistics. */
static int solve(setup *S, const char *algo, int64_t k, int iters, sprec_sparse *x,
                 sprec_stats *st, trace *tr)
{
  sprec_opts o = tu_algo_opts(algo, k, iters, 0, 0);
  sprec_solver s;
  o.step = strcmp(algo, "sea") ? 1.0 : 0.5;
  memset(tr, 0, sizeof *tr);
  sprec_err e = sprec_solver_create(S->ctx, &o, &s);
  if (!e) e = sprec_solver_set_monitor(s, 1, monitor, tr);
  if (!e) e = sprec_solver_solve(s, S->A, S->y, NULL, x);
  sprec_solver_get_stats(s, st);
  sprec_solver_destroy(&s);
  share(tr);
  return e == SPREC_OK && st->iterations <= MAXIT;
}

/* What every ℓ0 solve adds around its algorithm: the least squares' agreement on its
 * buffers, the agreement on the iteration-time buffer; at the end the data fit of the
 * returned x and one Allreduce of the 7 times. */
static void l0_solve_begin(model *M) { agree(M), agree(M); }
static void solve_end(model *M, const sprec_sparse *x)
{
  data_fit(M, x);
  coll(M, SPREC_COMM_SCALAR, 7 * 8);
}

/* SEA from 0: per iteration the top-k and the entering columns; the best iterate's
 * data fit against iterate 0 when it is not iterate 0. */
START_TEST(sea_counts_equal_closed_form)
{
  setup S;
  const int64_t k = 6;
  setup_make(&S, 60, 301, k);
  sprec_sparse x = {0};
  sprec_stats st;
  trace tr;
  int ok = solve(&S, "sea", k, 30, &x, &st, &tr);
  model *M = &S.M;
  l0_solve_begin(M);
  agree(M);       /* SEA's buffers */
  data_fit(M, &(sprec_sparse){0}); /* f0 of x0 = 0: an agreement, no product */
  for (int t = 1; t <= st.iterations; t++) {
    topk(M, k);
    lsq_step(M, k, t == 1 ? 0 : k, tr.changes[t]);
  }
  if (st.best_iteration > 0) data_fit(M, &x);
  solve_end(M, &x);
  ok = ok && tr.n == st.iterations + 1 && compare("SEA", M, &st);
  ck_assert_all(ok, "SEA's communication differs from its closed form");
  sprec_sparse_free(&x);
  setup_free(&S);
}
END_TEST

/* HTP: per iteration the top-k and the entering columns, until the support repeats. */
START_TEST(htp_counts_equal_closed_form)
{
  setup S;
  const int64_t k = 6;
  setup_make(&S, 60, 301, k);
  sprec_sparse x = {0};
  sprec_stats st;
  trace tr;
  int ok = solve(&S, "htp", k, 30, &x, &st, &tr);
  model *M = &S.M;
  l0_solve_begin(M);
  agree(M); /* HTP's buffers */
  for (int t = 1; t <= st.iterations; t++) {
    topk(M, k);
    lsq_step(M, k, t == 1 ? 0 : k, tr.changes[t]);
  }
  solve_end(M, &x);
  ok = ok && tr.n == st.iterations + 1 && compare("HTP", M, &st);
  ck_assert_all(ok, "HTP's communication differs from its closed form");
  sprec_sparse_free(&x);
  setup_free(&S);
}
END_TEST

/* OMP's k steps: a top-1 (the argmax) and one entering column each. */
static void omp_model(model *M, int iterations)
{
  l0_solve_begin(M);
  agree(M), agree(M), agree(M); /* OMP's buffers, the iterate's room, the argmax's */
  for (int t = 1; t <= iterations; t++) {
    topk(M, 1);
    gather(M, 1);
  }
}

START_TEST(omp_counts_equal_closed_form)
{
  setup S;
  const int64_t k = 7;
  setup_make(&S, 60, 301, k);
  sprec_sparse x = {0};
  sprec_stats st;
  trace tr;
  int ok = solve(&S, "omp", k, 0, &x, &st, &tr);
  omp_model(&S.M, st.iterations);
  solve_end(&S.M, &x);
  ok = ok && st.iterations == k && compare("OMP", &S.M, &st);
  ck_assert_all(ok, "OMP's communication differs from its closed form");
  sprec_sparse_free(&x);
  setup_free(&S);
}
END_TEST

#define NB 4

/* A batch of NB OMP problems (what the service runs): each problem's own solve, the
 * products shared (no communication on a dense block), the batch's agreement on its
 * fibers and its Allreduce of times. */
START_TEST(batch_counts_equal_closed_form)
{
  setup S;
  const int64_t k = 5;
  setup_make(&S, 48, 203, k);
  int64_t m = S.M.m;
  double *Y = malloc(sizeof(double) * (size_t)(m * NB));
  for (int p = 0; p < NB; p++)
    for (int64_t i = 0; i < m; i++) Y[i + p * m] = S.y[i] * (1 + p) + (p == 3 ? S.y[(i + 1) % m] : 0);
  sprec_sparse x[NB] = {{0}};
  sprec_stats st[NB], all;
  sprec_opts o = tu_algo_opts("omp", k, 0, 0, 0);
  sprec_solver s;
  sprec_err e = sprec_solver_create(S.ctx, &o, &s);
  if (!e) e = sprec_solver_solve_batch(s, S.A, NB, Y, NULL, x, st);
  sprec_solver_get_stats(s, &all);
  sprec_solver_destroy(&s);
  model *M = &S.M;
  agree(M); /* the fibers */
  for (int p = 0; p < NB; p++) {
    omp_model(M, st[p].iterations);
    solve_end(M, &x[p]);
  }
  coll(M, SPREC_COMM_SCALAR, 7 * 8); /* the batch's times */
  int ok = e == SPREC_OK && compare("batch of OMP", M, &all);
  ck_assert_all(ok, "the batch's communication differs from its closed form");
  for (int p = 0; p < NB; p++) sprec_sparse_free(&x[p]);
  free(Y);
  setup_free(&S);
}
END_TEST

/* The power iteration: per step two scalar Allreduces (max, sum of squares) and one
 * of m doubles (A v), everything in the norm phase; at most 100 steps. */
START_TEST(norm_estimate_counts_equal_closed_form)
{
  setup S;
  setup_make(&S, 40, 157, 3);
  double L = 0;
  sprec_ctx_comm_reset(S.ctx);
  sprec_err e = sprec_op_norm2_est(S.A, &L);
  sprec_comm_count c[NPH];
  sprec_ctx_comm_counts(S.ctx, c);
  int64_t steps = c[SPREC_COMM_NORM].calls / 3, others = 0;
  for (int ph = 0; ph < NPH; ph++) others += ph != SPREC_COMM_NORM ? c[ph].calls : 0;
  int ok = e == SPREC_OK && steps >= 1 && steps <= 100 && c[SPREC_COMM_NORM].calls == 3 * steps &&
           c[SPREC_COMM_NORM].bytes == steps * (8 + 8 + 8 * S.M.m) &&
           c[SPREC_COMM_NORM].hops == 3 * steps && others == 0;
  /* The step count is the same on every rank count (the estimate is). */
  int64_t lo = steps, hi = steps;
  MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_INT64_T, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD);
  ok &= lo == hi;
  ck_assert_all(ok, "the norm estimate's communication differs from its closed form");
  setup_free(&S);
}
END_TEST

/* FISTA at λ = 0.3 λ_max: the phases whose calls do not depend on the iterates'
 * supports. Set-up: the power iteration (3 Allreduces a step), λ_max (one Allreduce of
 * a double). Every iteration: the gap's Allreduce of the support's values (scalar), the
 * sparse iterate gathered (counts, indices, values: 3 collectives after an agreement);
 * T + 1 loop tops and the returned iterate's evaluation; no top-k, no least squares.
 * (The bytes of the gathers and the residuals follow the supports; SEA, HTP and
 * OMP check those.) */
START_TEST(fista_structural_counts)
{
  setup S;
  setup_make(&S, 50, 211, 4);
  sprec_opts o = tu_algo_opts("fista", 0, 40, 0.3, 0);
  sprec_solver s;
  sprec_sparse x = {0};
  sprec_stats st;
  sprec_err e = sprec_solver_create(S.ctx, &o, &s);
  if (!e) e = sprec_solver_solve(s, S.A, S.y, NULL, &x);
  sprec_solver_get_stats(s, &st);
  sprec_solver_destroy(&s);
  int64_t p = S.M.p, T = st.iterations;
  const sprec_comm_count *c = st.comm_sum;
  int64_t steps = c[SPREC_COMM_NORM].calls / (3 * p);
  int ok = e == SPREC_OK && T >= 1;
  ok &= c[SPREC_COMM_NORM].calls == 3 * p * steps && steps >= 1 &&
        c[SPREC_COMM_NORM].bytes == p * steps * (16 + 8 * S.M.m);
  ok &= c[SPREC_COMM_GATHER].calls == 3 * p * (T + 1) && c[SPREC_COMM_GATHER].hops == 3 * p * (T + 1);
  ok &= c[SPREC_COMM_SCALAR].calls == p * (1 + (T + 1) + 1 + 1) &&
        c[SPREC_COMM_SCALAR].hops == c[SPREC_COMM_SCALAR].calls;
  ok &= c[SPREC_COMM_TOPK].calls == 0 && c[SPREC_COMM_LSQ].calls == 0 &&
        c[SPREC_COMM_PRODUCTS].calls == 0 && c[SPREC_COMM_CHECKPOINT].calls == 0 &&
        c[SPREC_COMM_IO].calls == 0;
  if (!ok && S.M.p > 0 && sprec_ctx_rank(S.ctx) == 0)
    for (int ph = 0; ph < NPH; ph++)
      fprintf(stderr, "FISTA (T = %lld): %s calls %lld bytes %lld hops %lld\n", (long long)T,
              sprec_comm_phase_name((sprec_comm_phase)ph), (long long)c[ph].calls,
              (long long)c[ph].bytes, (long long)c[ph].hops);
  ck_assert_all(ok, "FISTA's communication differs from its closed form");
  sprec_sparse_free(&x);
  setup_free(&S);
}
END_TEST

TU_MAIN("comm", 120, NULL, sea_counts_equal_closed_form, htp_counts_equal_closed_form,
        omp_counts_equal_closed_form, batch_counts_equal_closed_form,
        norm_estimate_counts_equal_closed_form, fista_structural_counts)
