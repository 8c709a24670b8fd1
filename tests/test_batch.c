/* Batched right-hand sides (sprec_solver_solve_batch): b problems sharing A, their
 * products Aᵀr made together in one pass per round. Checked against the independent
 * computation that defines them: b separate sprec_solver_solve calls, which must give
 * the same supports, values, iterations and stops bit for bit, for every algorithm,
 * on double and float storage, with and without a starting point; and the batched
 * kernel against the single-vector kernel. A problem that fails stops the batch with
 * an error naming it, on every rank, without hanging. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The batched kernels equal the single-vector kernels bit for bit, for every shape:
 * row tails, column tails, right-hand-side tails, lda > m. */
START_TEST(many_kernel_equals_single_kernel)
{
  int bad = 0;
  sprec_rng rng;
  sprec_rng_seed(&rng, 5, 21, 0);
  for (int64_t m = 1; m <= 29; m += (m < 9 ? 1 : 5))
    for (int64_t nc = 1; nc <= 11; nc++)
      for (int nb = 1; nb <= 14; nb += (nb < 8 ? 1 : 3)) {
        int64_t lda = m + (nc % 3);
        double *A = malloc(sizeof(double) * (size_t)(lda * nc));
        float *Af = malloc(sizeof(float) * (size_t)(lda * nc));
        double *R = malloc(sizeof(double) * (size_t)(m * nb));
        double *G1 = malloc(sizeof(double) * (size_t)(nc * nb)), *G2 = malloc(sizeof(double) * (size_t)(nc * nb));
        const double *r[14];
        double *g[14];
        for (int64_t i = 0; i < lda * nc; i++) Af[i] = (float)(A[i] = sprec_rng_normal(&rng) * (1 + 50.0 * (i % 5 == 0)));
        for (int64_t i = 0; i < m * nb; i++) R[i] = sprec_rng_normal(&rng);
        for (int p = 0; p < nb; p++) r[p] = R + p * m, g[p] = G2 + p * nc;
        for (int p = 0; p < nb; p++) sprec_kernel_gemv_t(m, nc, A, lda, r[p], G1 + p * nc);
        sprec_kernel_gemv_t_many(m, nc, A, lda, nb, r, g);
        bad += memcmp(G1, G2, sizeof(double) * (size_t)(nc * nb)) != 0;
        for (int p = 0; p < nb; p++) sprec_kernel_gemv_t_f32(m, nc, Af, lda, r[p], G1 + p * nc);
        sprec_kernel_gemv_t_many_f32(m, nc, Af, lda, nb, r, g);
        bad += memcmp(G1, G2, sizeof(double) * (size_t)(nc * nb)) != 0;
        if (bad == 1) fprintf(stderr, "batched kernel differs at m=%lld nc=%lld nb=%d\n", (long long)m, (long long)nc, nb), bad++;
        free(A), free(Af), free(R), free(G1), free(G2);
      }
  ck_assert_all(bad == 0, "the batched kernel differs from the single-vector kernel");
}
END_TEST

#define NB 6

/* Observations for NB problems on one dictionary: y_p = y + p·0.3·(noise), problem 2
 * a copy of problem 1, problem 4 zero (it stops at once). */
static void make_Y(const double *y, int64_t m, double *Y)
{
  sprec_rng g;
  sprec_rng_seed(&g, 77, 3, 0);
  for (int p = 0; p < NB; p++)
    for (int64_t i = 0; i < m; i++) {
      double e = sprec_rng_normal(&g);
      Y[i + p * m] = p == 2 ? Y[i + m] : p == 4 ? 0.0 : y[i] + 0.3 * p * e;
    }
}

static int same_result(const sprec_sparse *a, const sprec_stats *sa, const sprec_sparse *b,
                       const sprec_stats *sb)
{
  return a->nnz == b->nnz && !memcmp(a->idx, b->idx, sizeof(int64_t) * (size_t)a->nnz) &&
         !memcmp(a->val, b->val, sizeof(double) * (size_t)a->nnz) &&
         sa->iterations == sb->iterations && sa->best_iteration == sb->best_iteration &&
         !strcmp(sa->stop_reason, sb->stop_reason) && sa->objective == sb->objective &&
         sa->data_fit == sb->data_fit && sa->gap == sb->gap && sa->lambda == sb->lambda &&
         sa->apply_T_passes == sb->apply_T_passes;
}

/* Batch against separate solves for one algorithm on one problem. with_init: every
 * problem starts from its own point (a scaled copy of the true x, shifted). */
static int batch_equals_separate(const sprec_problem *P, const sprec_opts *o, int with_init)
{
  sprec_ctx ctx;
  sprec_op A;
  sprec_solver s;
  double *y;
  sprec_sparse xt = {0}, xb[NB] = {{0}}, x1 = {0};
  sprec_stats sb[NB], s1, sall;
  sprec_ctx_create(MPI_COMM_WORLD, &ctx);
  sprec_problem_generate(ctx, P, &A, &y, &xt);
  int64_t m = A->m, nl = A->n_local, c0 = A->col_start;
  double *Y = malloc(sizeof(double) * (size_t)(m * NB)), *X0 = NULL;
  make_Y(y, m, Y);
  if (with_init) {
    X0 = calloc((size_t)(nl * NB), sizeof *X0);
    for (int p = 0; p < NB; p++)
      for (int64_t t = 0; t < xt.nnz; t++) {
        int64_t j = (xt.idx[t] + p) % A->n;
        if (j >= c0 && j < c0 + nl) X0[j - c0 + p * nl] = (1 + 0.1 * p) * xt.val[t];
      }
  }
  int ok = 1;
  sprec_err e = sprec_solver_create(ctx, o, &s);
  if (!e) e = sprec_solver_solve_batch(s, A, NB, Y, X0, xb, sb);
  sprec_solver_get_stats(s, &sall);
  ok &= e == SPREC_OK;
  int64_t passes = 0;
  for (int p = 0; p < NB && ok; p++) {
    e = sprec_solver_solve(s, A, Y + p * m, X0 ? X0 + p * nl : NULL, &x1);
    sprec_solver_get_stats(s, &s1);
    int same = e == SPREC_OK && same_result(&xb[p], &sb[p], &x1, &s1);
    if (!same && ctx->rank == 0)
      fprintf(stderr, "%s problem %d: batch (%lld nnz, %d it, %s, %.17g) vs alone (%lld nnz, %d it, %s, %.17g)\n",
              sprec_algo_name(o->algo), p, (long long)xb[p].nnz, sb[p].iterations, sb[p].stop_reason,
              sb[p].objective, (long long)x1.nnz, s1.iterations, s1.stop_reason, s1.objective);
    ok &= same;
    passes = sb[p].apply_T_passes > passes ? sb[p].apply_T_passes : passes;
    sprec_sparse_free(&x1);
  }
  /* One pass per round: as many rounds as the longest problem needs, not the sum. */
  if (ok && sall.apply_T_passes > passes + 1) {
    if (ctx->rank == 0)
      fprintf(stderr, "%s: %lld batched passes for at most %lld per problem\n", sprec_algo_name(o->algo),
              (long long)sall.apply_T_passes, (long long)passes);
    ok = 0;
  }
  for (int p = 0; p < NB; p++) sprec_sparse_free(&xb[p]);
  sprec_solver_destroy(&s);
  sprec_op_destroy(&A);
  sprec_ctx_destroy(&ctx);
  free(y), free(Y), free(X0);
  sprec_sparse_free(&xt);
  return ok;
}

static void every_algorithm(sprec_problem_kind kind, int64_t m, int64_t n, int single)
{
  sprec_problem P = tu_problem(kind, m, n, 4, 30, 41);
  P.single = single;
  if (kind == SPREC_PROBLEM_DECONV) P.width = 0.05;
  int bad = 0;
  for (const char *const *a = sprec_algorithms(); *a; a++) {
    sprec_opts o;
    sprec_opts_default(&o);
    o.algo = sprec_algo_find(*a);
    o.k = 4;
    if (tu_is_lasso(*a)) {
      o.lambda_ratio = 0.1;
      o.tol = 1e-10;
      o.iters = 3000;
    }
    for (int init = 0; init <= 1; init++) bad += !batch_equals_separate(&P, &o, init);
  }
  ck_assert_all(bad == 0, "%d algorithm(s) give a different answer in a batch", bad);
}

START_TEST(batch_equals_separate_gaussian) { every_algorithm(SPREC_PROBLEM_GAUSSIAN, 30, 97, 0); }
END_TEST

START_TEST(batch_equals_separate_deconv) { every_algorithm(SPREC_PROBLEM_DECONV, 40, 120, 0); }
END_TEST

START_TEST(batch_equals_separate_float32) { every_algorithm(SPREC_PROBLEM_GAUSSIAN, 30, 97, 1); }
END_TEST

/* The variants of the options that change the course of a run. */
START_TEST(batch_equals_separate_options)
{
  sprec_problem P;
  sprec_problem_default(&P);
  P.kind = SPREC_PROBLEM_DECONV;
  P.m = 40, P.n = 120, P.k = 4, P.snr_db = 30, P.seed = 43, P.width = 0.05;
  int bad = 0;
  struct { const char *algo; int rule, restart, continuation, debias; double tol; } v[] = {
      {"htp", SPREC_STEP_ADAPTIVE, 0, 0, 0, 0},  {"iht", SPREC_STEP_FIXED, 0, 0, 0, 0},
      {"sea", 0, 0, 0, 0, 1e-3},                  {"fista", 0, 1, 0, 1, 1e-10},
      {"fista", 0, 0, 3, 0, 1e-10},               {"oista", 0, 0, 2, 0, 1e-10},
  };
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    sprec_opts o;
    sprec_opts_default(&o);
    o.algo = sprec_algo_find(v[i].algo);
    o.k = 4;
    o.step_rule = (sprec_step_rule)v[i].rule;
    o.restart = v[i].restart;
    o.continuation = v[i].continuation;
    o.debias = v[i].debias;
    o.tol = v[i].tol;
    if (tu_is_lasso(v[i].algo)) o.lambda_ratio = 0.05, o.iters = 3000;
    bad += !batch_equals_separate(&P, &o, 0);
  }
  ck_assert_all(bad == 0, "%d option set(s) give a different answer in a batch", bad);
}
END_TEST

/* A problem that fails ends the batch: an error naming the problem, the same on every
 * rank, the other problems unwound. IHT with a fixed step far too large diverges on
 * every nonzero observation; problem 0 is zero and stops at once. */
START_TEST(failing_problem_stops_the_batch)
{
  sprec_problem P;
  sprec_problem_default(&P);
  P.m = 30, P.n = 97, P.k = 4, P.seed = 9;
  sprec_ctx ctx;
  sprec_op A;
  sprec_solver s;
  double *y;
  sprec_sparse xt = {0}, x[3] = {{0}};
  sprec_stats st[3];
  sprec_ctx_create(MPI_COMM_WORLD, &ctx);
  sprec_problem_generate(ctx, &P, &A, &y, &xt);
  double *Y = calloc((size_t)(3 * P.m), sizeof *Y);
  for (int64_t i = 0; i < P.m; i++) Y[i + P.m] = y[i], Y[i + 2 * P.m] = -y[i];
  sprec_opts o;
  sprec_opts_default(&o);
  o.algo = sprec_algo_find("iht");
  o.k = 4;
  o.step_rule = SPREC_STEP_FIXED;
  o.step = 1e6;
  sprec_solver_create(ctx, &o, &s);
  sprec_err e = sprec_solver_solve_batch(s, A, 3, Y, NULL, x, st);
  int named = strstr(sprec_errmsg(), "problem 1 of the batch") != NULL &&
              strstr(sprec_errmsg(), "non-finite") != NULL;
  if (!named && ctx->rank == 0) fprintf(stderr, "batch error: %s\n", sprec_errmsg());
  ck_assert_all(e == SPREC_ERR_NUMERIC && named, "the failing problem is not reported");
  /* The solver is usable afterwards. */
  sprec_solver_destroy(&s);
  o.step = 0;
  o.step_rule = SPREC_STEP_DEFAULT;
  sprec_solver_create(ctx, &o, &s);
  e = sprec_solver_solve_batch(s, A, 3, Y, NULL, x, st);
  ck_assert_all(e == SPREC_OK && x[0].nnz == 0 && x[1].nnz == 4, "a batch after a failed one fails");
  for (int p = 0; p < 3; p++) sprec_sparse_free(&x[p]);
  sprec_solver_destroy(&s);
  sprec_op_destroy(&A);
  sprec_ctx_destroy(&ctx);
  free(y), free(Y);
  sprec_sparse_free(&xt);
}
END_TEST

TU_MAIN("batch", 600, NULL, many_kernel_equals_single_kernel, batch_equals_separate_gaussian,
        batch_equals_separate_deconv, batch_equals_separate_float32,
        batch_equals_separate_options, failing_problem_stops_the_batch)
