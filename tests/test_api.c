/* The public API's contracts that no solver test exercises by itself: algorithms as
 * handles resolved once, options apart from run control (the solver's setters and
 * their checks), sprec_free for what the library returns, at any number of ranks. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

/* Every registered name resolves to a handle that gives the name back; the handle is
 * the same on each lookup; an unknown name gives NULL. */
START_TEST(algorithms_are_handles)
{
  int ok = 1, n = 0;
  for (const char *const *a = sprec_algorithms(); *a; a++, n++) {
    sprec_algo h = sprec_algo_find(*a);
    ok &= h != NULL && h == sprec_algo_find(*a) && !strcmp(sprec_algo_name(h), *a);
  }
  ok &= n == 11 && !sprec_algo_find("nope") && !sprec_algo_find("") && !sprec_algo_find(NULL);
  ok &= sprec_algo_class_of(sprec_algo_find("fista")) == SPREC_ALGO_L1 &&
        sprec_algo_class_of(sprec_algo_find("omp")) == SPREC_ALGO_L0;
  sprec_opts o;
  sprec_opts_default(&o);
  ok &= o.algo == sprec_algo_find("sea") && o.init_algo == NULL;
  ck_assert_all(ok, "algorithm handles");
}
END_TEST

/* "algo" by name: the handle, or one message naming the option and the choices; get
 * writes the name back. */
START_TEST(algo_option_by_name)
{
  sprec_opts o;
  sprec_opts_default(&o);
  char v[64];
  int ok = sprec_opts_set(&o, "algo", "htp") == SPREC_OK && o.algo == sprec_algo_find("htp");
  ok &= sprec_opts_get(&o, "algo", v, sizeof v) == SPREC_OK && !strcmp(v, "htp");
  ok &= sprec_opts_set(&o, "algo", "bogus\nname") == SPREC_ERR_ARG;
  ok &= !strcmp(sprec_errmsg(), "algo: unknown algorithm 'bogus?name' (sea, htp, iht, omp, ompr, "
                                "els, cosamp, sp, ista, fista, oista)");
  ok &= o.algo == sprec_algo_find("htp"); /* unchanged by the refusal */
  /* Run control is not an option any more. */
  ok &= sprec_opts_set(&o, "monitor", "1") == SPREC_ERR_ARG &&
        sprec_opts_set(&o, "checkpoint_every", "1") == SPREC_ERR_ARG;
  o.algo = NULL;
  ok &= sprec_opts_check(&o, 0, 0) == SPREC_ERR_ARG && !strcmp(sprec_errmsg(), "algo: no algorithm given");
  ck_assert_all(ok, "algo by name: %s", sprec_errmsg());
}
END_TEST

static int monitored;
static void count_monitor(void *ctx, int iter, double obj, int64_t changes, double elapsed)
{
  (void)obj, (void)changes, (void)elapsed;
  *(int *)ctx += iter > 0;
}

/* The setters check what they are given, with the options' words, and act on the
 * solves that follow: progress every `every` iterations on rank 0, a stop flag set on
 * one rank stops every rank, a checkpoint written and resumed to the same result. */
START_TEST(run_control_setters)
{
  sprec_ctx ctx;
  sprec_solver s = NULL;
  sprec_opts o;
  sprec_opts_default(&o);
  o.k = 4;
  o.iters = 20;
  ck_assert_all(sprec_ctx_create(MPI_COMM_WORLD, &ctx) == SPREC_OK, "context");
  ck_assert_all(sprec_solver_create(ctx, &o, &s) == SPREC_OK, "solver");
  int ok = sprec_solver_set_monitor(s, -1, count_monitor, &monitored) == SPREC_ERR_ARG &&
           !strcmp(sprec_errmsg(), "monitor must be >= 0 (got -1)");
  ok &= sprec_solver_set_checkpoint(s, "x.ck", -2) == SPREC_ERR_ARG &&
        !strcmp(sprec_errmsg(), "checkpoint_every must be >= 0 (got -2)");
  ok &= sprec_solver_set_checkpoint(s, NULL, 5) == SPREC_ERR_ARG &&
        !strcmp(sprec_errmsg(), "checkpoint_every needs checkpoint FILE");
  ck_assert_all(ok, "setters' checks");

  sprec_problem P = tu_problem(SPREC_PROBLEM_GAUSSIAN, 40, 120, 4, 20, 8);
  sprec_op A = NULL;
  double *y = NULL;
  sprec_sparse xt = {0}, x = {0}, x2 = {0};
  ck_assert_all(sprec_problem_generate(ctx, &P, &A, &y, &xt) == SPREC_OK, "generate");
  monitored = 0;
  ok = sprec_solver_set_monitor(s, 5, count_monitor, &monitored) == SPREC_OK &&
       sprec_solver_solve(s, A, y, NULL, &x) == SPREC_OK;
  ok &= monitored == (sprec_ctx_rank(ctx) == 0 ? 4 : 0); /* iterations 5, 10, 15, 20 */
  volatile sig_atomic_t flag = sprec_ctx_rank(ctx) == sprec_ctx_size(ctx) - 1; /* one rank */
  char path[4200];
  snprintf(path, sizeof path, "%s/api.ck", tu_tmpdir());
  sprec_stats st;
  ok &= sprec_solver_set_monitor(s, 0, NULL, NULL) == SPREC_OK &&
        sprec_solver_set_stop_flag(s, &flag) == SPREC_OK &&
        sprec_solver_set_checkpoint(s, path, 0) == SPREC_OK &&
        sprec_solver_solve(s, A, y, NULL, &x2) == SPREC_OK;
  sprec_solver_get_stats(s, &st);
  ok &= !strcmp(st.stop_reason, "interrupted") && st.iterations == 1 &&
        st.checkpoint_iteration == 1;
  sprec_sparse_free(&x2);
  flag = 0;
  ok &= sprec_solver_set_checkpoint(s, NULL, 0) == SPREC_OK &&
        sprec_solver_set_resume(s, path) == SPREC_OK &&
        sprec_solver_solve(s, A, y, NULL, &x2) == SPREC_OK;
  sprec_solver_get_stats(s, &st);
  ok &= st.resumed_iteration == 1 && x2.nnz == x.nnz;
  for (int64_t t = 0; ok && t < x.nnz; t++) ok &= x.idx[t] == x2.idx[t] && x.val[t] == x2.val[t];
  ck_assert_all(ok, "run control: %d progress reports, %s", monitored, sprec_errmsg());
  sprec_sparse_free(&x);
  sprec_sparse_free(&x2);
  sprec_sparse_free(&xt);
  sprec_free(y);
  sprec_solver_destroy(&s);
  ck_assert_all(s == NULL && sprec_solver_destroy(&s) == SPREC_OK, "destroy twice");
  sprec_op_destroy(&A);
  sprec_ctx_destroy(&ctx);
}
END_TEST

/* sprec_free takes NULL and what the library returned (under SANITIZE=address a
 * mismatched release would be reported). */
START_TEST(sprec_free_releases_what_the_library_returns)
{
  sprec_ctx ctx;
  ck_assert_all(sprec_ctx_create(MPI_COMM_WORLD, &ctx) == SPREC_OK, "context");
  sprec_problem P = tu_problem(SPREC_PROBLEM_GAUSSIAN, 20, 40, 2, INFINITY, 3);
  sprec_op A = NULL;
  double *y = NULL, *blk = NULL;
  sprec_sparse xt = {0};
  int ok = sprec_problem_generate(ctx, &P, &A, &y, &xt) == SPREC_OK;
  ok &= sprec_alloc_block((size_t)1 << 19, sizeof(double), &blk, "block") == SPREC_OK;
  sprec_opts o;
  sprec_opts_default(&o);
  sprec_stats st = {0};
  sprec_result r = {1, &xt, &st, &st, NULL, NULL, NULL, 0, 0};
  char *json = sprec_result_json(ctx, &o, A, &r, -1);
  ok &= json && strstr(json, "\"algo\"") != NULL;
  sprec_free(json);
  sprec_free(blk);
  sprec_free(y);
  sprec_free(NULL);
  sprec_sparse_free(&xt);
  sprec_op_destroy(&A);
  sprec_ctx_destroy(&ctx);
  ck_assert_all(ok, "sprec_free");
}
END_TEST

TU_MAIN("api", 120, NULL, algorithms_are_handles, algo_option_by_name, run_control_setters,
        sprec_free_releases_what_the_library_returns)
