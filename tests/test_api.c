/* The public API's contracts that no solver test exercises by itself: algorithms as
 * handles resolved once, options apart from run control (the solver's setters and
 * their checks), sprec_free for what the library returns, at any number of ranks. */
#include "testutil.h"

#include <math.h>
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

/* Every numeric option's range, from the options table: the defaults and every option
 * written out and read back by name (what the service stores) pass; a value out of
 * range fails sprec_opts_check with one message naming the option; a value the options
 * reserve for "the default" (step 0) is taken by name but refused when a user gave it. */
START_TEST(option_ranges)
{
  sprec_opts o;
  char v[64];
  sprec_opts_default(&o);
  int ok = sprec_opts_check(&o, 0, 0) == SPREC_OK;
  for (const char *const *n = sprec_opts_names(); *n; n++)
    ok &= sprec_opts_get(&o, *n, v, sizeof v) == SPREC_OK && sprec_opts_set(&o, *n, v) == SPREC_OK;
  ok &= sprec_opts_check(&o, 0, 0) == SPREC_OK;
  ck_assert_all(ok, "defaults, round trip by name: %s", sprec_errmsg());
  static const char *const bad[][3] = {
      {"iters", "-1", "iters must be >= 0 (got -1)"},
      {"tol", "-1", "tol must be >= 0 (got -1)"},
      {"tol", "inf", "tol must be >= 0 (got inf)"},
      {"step", "-1", "step must be a positive number (got -1)"},
      {"step", "inf", "step must be a positive number (got inf)"},
      {"lambda", "-1", "lambda must be > 0 (got -1)"},
      {"lambda_ratio", "-0.5", "lambda_ratio must be a finite number > 0 (got -0.5)"},
      {"lambda_ratio", "inf", "lambda_ratio must be a finite number > 0 (got inf)"},
      {"continuation", "-1", "continuation must be >= 0 (got -1)"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    sprec_opts_default(&o);
    int one = sprec_opts_set(&o, bad[i][0], bad[i][1]) == SPREC_OK &&
              sprec_opts_check(&o, 0, 0) == SPREC_ERR_ARG && !strcmp(sprec_errmsg(), bad[i][2]);
    ck_assert_all(one, "%s = %s: '%s', want '%s'", bad[i][0], bad[i][1], sprec_errmsg(), bad[i][2]);
  }
  sprec_opts_default(&o);
  ok = sprec_opts_set(&o, "step", "0") == SPREC_OK && sprec_opts_check(&o, 0, 0) == SPREC_OK;
  ok &= sprec_opts_check_given(&o, "step") == SPREC_ERR_ARG &&
        !strcmp(sprec_errmsg(), "step must be a positive number (got 0)");
  ok &= sprec_opts_set(&o, "lambda", "0") == SPREC_OK &&
        sprec_opts_check_given(&o, "lambda") == SPREC_ERR_ARG &&
        !strcmp(sprec_errmsg(), "lambda must be > 0 (got 0)");
  ok &= sprec_opts_set(&o, "step", "0.5") == SPREC_OK && sprec_opts_check_given(&o, "step") == SPREC_OK;
  ok &= sprec_opts_check_given(&o, "iters") == SPREC_OK && sprec_opts_check_given(&o, "tol") == SPREC_OK;
  ok &= sprec_opts_check_given(&o, "bogus") == SPREC_ERR_ARG;
  ck_assert_all(ok, "given by a user: %s", sprec_errmsg());
}
END_TEST

/* The generators' parameters, checked in one place with messages naming them; at the
 * narrowest width allowed every generated column is finite with unit norm. */
START_TEST(problem_parameters)
{
  sprec_problem P = tu_problem(SPREC_PROBLEM_DECONV, 64, 128, 3, 20, 5);
  int ok = sprec_problem_check(&P) == SPREC_OK;
  static const double widths[] = {1e-200, 1e-4, 0, -1, INFINITY, NAN};
  for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++) {
    P.width = widths[i];
    ok &= sprec_problem_check(&P) == SPREC_ERR_ARG && !strncmp(sprec_errmsg(), "width must be", 13);
  }
  P.width = 0.02;
  static const double snrs[] = {-INFINITY, NAN, -1e6};
  for (size_t i = 0; i < sizeof snrs / sizeof snrs[0]; i++) {
    P.snr_db = snrs[i];
    ok &= sprec_problem_check(&P) == SPREC_ERR_ARG && !strncmp(sprec_errmsg(), "snr must be", 11);
  }
  P.snr_db = INFINITY;
  ok &= sprec_problem_check(&P) == SPREC_OK;
  ck_assert_all(ok, "deconv parameters: %s", sprec_errmsg());
  sprec_problem S = tu_problem(SPREC_PROBLEM_SPIKES, 0, 400, 2, INFINITY, 5);
  S.min_sep = 10;
  S.taps = 24, S.sigma = 0.01; /* even: the kernel's centre between two taps, all of it 0 */
  ok = sprec_problem_check(&S) == SPREC_ERR_ARG && !strncmp(sprec_errmsg(), "sigma must be", 13);
  S.taps = 25; /* odd: the centre tap holds it */
  ok &= sprec_problem_check(&S) == SPREC_OK;
  S.min_sep = 0;
  ok &= sprec_problem_check(&S) == SPREC_ERR_ARG && !strncmp(sprec_errmsg(), "min_sep", 7);
  ck_assert_all(ok, "spikes parameters: %s", sprec_errmsg());

  sprec_ctx ctx;
  ck_assert_all(sprec_ctx_create(MPI_COMM_WORLD, &ctx) == SPREC_OK, "context");
  for (int64_t m = 1; m <= 64; m += 63) {
    double lo = 1;
    sprec_problem D = tu_problem(SPREC_PROBLEM_DECONV, m, 50, 1, 10, 7);
    for (D.width = 1; sprec_problem_check(&D) == SPREC_OK; D.width /= 1.01) lo = D.width;
    D.width = lo; /* within 1% of the least width allowed */
    sprec_op A = NULL;
    double *y = NULL;
    sprec_sparse xt = {0};
    ok = sprec_problem_generate(ctx, &D, &A, &y, &xt) == SPREC_OK;
    const double *a = ok ? sprec_op_local_block(A) : NULL;
    for (int64_t j = 0; a && j < sprec_op_local_cols(A); j++) {
      double s = 0;
      for (int64_t i = 0; i < m; i++) ok &= isfinite(a[i + j * m]), s += a[i + j * m] * a[i + j * m];
      ok &= fabs(s - 1) < 1e-12;
    }
    ok &= y && isfinite(y[0]);
    ck_assert_all(ok, "m = %lld, width %g: finite unit columns (%s)", (long long)m, D.width, sprec_errmsg());
    sprec_free(y);
    sprec_sparse_free(&xt);
    sprec_op_destroy(&A);
  }
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
        option_ranges, problem_parameters, sprec_free_releases_what_the_library_returns)
