/* sprec study: the recovery study. For each problem kind, sparsity k and algorithm,
 * R random instances (seeds S, S+1, ...; generated in memory, so the study is
 * reproducible), solved in one process group; writes one CSV row per
 * (problem, algorithm, k) with the exact support-recovery rate, the mean F1 of the
 * support, the mean relative error, the mean objective and the mean time. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char help[] =
    "usage: sprec study --out FILE.csv [options]\n"
    "  --problems LIST   comma-separated: gaussian,deconv (default both)\n"
    "  --algos LIST      default sea,htp,iht,omp,ompr,els,cosamp,sp,fista\n"
    "                    (fista: the Lasso at --lambda-ratio, debiased on its k largest entries)\n"
    "  -m M -n N         problem size (default 64 x 256)\n"
    "  --ks LIST         sparsities (default 2,4,...,20)\n"
    "  --trials R        instances per point (default 50)\n"
    "  --snr DB          noise (default 40 dB); --width W deconv width (default 0.01)\n"
    "  --seed S          first seed (default 1)\n"
    "  --lambda-ratio R  fista's lambda / lambda_max (default 0.01)\n"
    "  --quiet           no progress lines\n";

#define MAXLIST 32

/* Keep the k largest |x_j| (ties to the smaller index) and re-fit by least squares. */
static sprec_err keep_k_and_debias(sprec_op A, const double *y, int64_t k, sprec_sparse *x)
{
  if (x->nnz > k) {
    for (int64_t t = 0; t < x->nnz; t++) /* selection sort of the k best to the front */
      for (int64_t u = t + 1; t < k && u < x->nnz; u++) {
        double a = fabs(x->val[t]), b = fabs(x->val[u]);
        if (b > a || (b == a && x->idx[u] < x->idx[t])) {
          int64_t i = x->idx[t];
          double v = x->val[t];
          x->idx[t] = x->idx[u], x->val[t] = x->val[u];
          x->idx[u] = i, x->val[u] = v;
        }
      }
    x->nnz = k;
    for (int64_t t = 1; t < k; t++) /* back to index order */
      for (int64_t u = t; u > 0 && x->idx[u - 1] > x->idx[u]; u--) {
        int64_t i = x->idx[u];
        double v = x->val[u];
        x->idx[u] = x->idx[u - 1], x->val[u] = x->val[u - 1];
        x->idx[u - 1] = i, x->val[u - 1] = v;
      }
  }
  if (x->nnz == 0) return SPREC_OK;
  sprec_lsq l;
  SPREC_CALL(sprec_lsq_create(A, y, x->nnz, SPREC_LSQ_AUTO, &l));
  sprec_err err = sprec_lsq_solve(l, x->nnz, x->idx, x->val, NULL);
  sprec_lsq_destroy(&l);
  return err;
}

/* One instance: P generated, solved with algo (an l1 method at lratio, then its k
 * largest entries re-fitted), acc[0..5) += recovered, F1, relative error, objective
 * ½‖Ax − y‖² and seconds. */
static sprec_err one_trial(sprec_ctx ctx, const sprec_problem *P, sprec_algo algo,
                           double lratio, double acc[5])
{
  sprec_op A = NULL;
  sprec_solver s = NULL;
  double *y = NULL, *r = NULL, tm[3];
  sprec_sparse x = {0}, xt = {0};
  sprec_opts o;
  int64_t m = P->m;
  sprec_opts_default(&o);
  int l1 = sprec_algo_class_of(algo) == SPREC_ALGO_L1;
  o.algo = algo;
  o.k = P->k;
  if (l1) o.lambda_ratio = lratio, o.tol = 1e-8;
  double t0 = MPI_Wtime();
  sprec_err err = sprec_problem_generate(ctx, P, &A, &y, &xt);
  if (!err) err = sprec_solver_create(ctx, &o, &s);
  if (!err) err = sprec_solver_solve(s, A, y, NULL, &x);
  if (!err && l1) err = keep_k_and_debias(A, y, o.k, &x);
  if (!err) {
    r = malloc(sizeof(double) * (size_t)m);
    err = r ? sprec_op_apply_sparse(A, &x, r) : SPREC_ERROR(SPREC_ERR_MEM, "residual");
  }
  if (!err) {
    double f2 = 0;
    for (int64_t i = 0; i < m; i++) f2 += (y[i] - r[i]) * (y[i] - r[i]);
    sprec_truth_metrics(&x, &xt, tm);
    acc[0] += tm[0], acc[1] += tm[1], acc[2] += tm[2], acc[3] += 0.5 * f2;
    acc[4] += MPI_Wtime() - t0;
  }
  free(r);
  sprec_solver_destroy(&s);
  sprec_op_destroy(&A);
  sprec_sparse_free(&x);
  sprec_sparse_free(&xt);
  sprec_free(y);
  return err;
}

/* The comma lists: problem kinds, algorithms and sparsities (each in [1, kmax]). */
static sprec_err study_lists(const char *problems, const char *algos, const char *ks,
                             int64_t kmax, char P[][CLI_ITEM], sprec_problem_kind *kinds,
                             int *np_, char Al[][CLI_ITEM], sprec_algo *alg, int *na, int64_t *kv,
                             int *nk)
{
  char K[MAXLIST][CLI_ITEM];
  SPREC_CALL(cli_split_list("--problems", problems, P, MAXLIST, np_));
  SPREC_CALL(cli_split_list("--algos", algos, Al, MAXLIST, na));
  SPREC_CALL(cli_split_list("--ks", ks, K, MAXLIST, nk));
  for (int i = 0; i < *np_; i++) SPREC_CALL(cli_problem_kind(P[i], &kinds[i]));
  for (int i = 0; i < *na; i++)
    SPREC_CHECK((alg[i] = sprec_algo_find(Al[i])), SPREC_ERR_ARG,
                "--algos: unknown algorithm '%s'", Al[i]);
  for (int i = 0; i < *nk; i++) {
    char *e;
    kv[i] = strtoll(K[i], &e, 10);
    SPREC_CHECK(!*e && kv[i] >= 1 && kv[i] <= kmax, SPREC_ERR_ARG,
                "--ks: '%s' is not a sparsity in [1, min(m, n)]", K[i]);
  }
  return SPREC_OK;
}

sprec_err cmd_study(int argc, char **argv)
{
  const char *problems = "gaussian,deconv", *algos = "sea,htp,iht,omp,ompr,els,cosamp,sp,fista";
  const char *ks = "2,4,6,8,10,12,14,16,18,20", *out = NULL, *pos[1];
  int64_t m = 64, n = 256;
  int trials = 50, quiet = 0, npos, rank;
  double snr = 40, width = 0.01, lratio = 0.01;
  uint64_t seed = 1;
  cli_opt opts[] = {
      {"--problems", OPT_STR, &problems, 0}, {"--algos", OPT_STR, &algos, 0},
      {"-m", OPT_I64, &m, 0},                {"-n", OPT_I64, &n, 0},
      {"--ks", OPT_STR, &ks, 0},             {"--trials", OPT_INT, &trials, 0},
      {"--snr", OPT_DBL, &snr, 0},           {"--width", OPT_DBL, &width, 0},
      {"--seed", OPT_U64, &seed, 0},         {"--lambda-ratio", OPT_DBL, &lratio, 0},
      {"--out", OPT_STR, &out, 0},           {"--quiet", OPT_FLAG, &quiet, 0},
  };
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (cli_help(argc, argv, help)) return SPREC_OK;
  SPREC_CALL(cli_parse("study", argc, argv, opts, (int)(sizeof opts / sizeof *opts), pos, 0, &npos));
  SPREC_CHECK(out, SPREC_ERR_ARG, "study: --out FILE.csv is required");
  SPREC_CHECK(trials >= 1, SPREC_ERR_ARG, "--trials must be >= 1");
  char P[MAXLIST][CLI_ITEM], Al[MAXLIST][CLI_ITEM];
  sprec_algo alg[MAXLIST];
  int np_, na, nk;
  sprec_problem_kind kinds[MAXLIST];
  int64_t kv[MAXLIST];
  SPREC_CALL(study_lists(problems, algos, ks, m < n ? m : n, P, kinds, &np_, Al, alg, &na, kv, &nk));

  sprec_ctx ctx = NULL;
  FILE *f = NULL;
  cli_outset outs = {0};
  const char *tmp = cli_out_add(&outs, out);
  sprec_err err;
  SPREC_TRY(sprec_ctx_create(MPI_COMM_WORLD, &ctx), done);
  SPREC_TRY(cli_check_paths(sprec_ctx_comm(ctx), &(cli_path){"--out", out, 1, 0, NULL, NULL}, 1), done);
  if (rank == 0) {
    f = fopen(tmp, "w");
    if (f) fprintf(f, "problem,algo,m,n,k,trials,recovery_rate,f1_mean,rel_error_mean,objective_mean,time_mean\n");
  }
  SPREC_TRY(sprec_agree(sprec_ctx_comm(ctx), rank == 0 && !f ? SPREC_ERROR(SPREC_ERR_IO, "--out %s: cannot write: %s", out, strerror(errno)) : SPREC_OK), done);

  for (int ip = 0; ip < np_; ip++)
    for (int ik = 0; ik < nk; ik++)
      for (int ia = 0; ia < na; ia++) {
        double acc[5] = {0, 0, 0, 0, 0}; /* recovered, f1, rel_error, objective, time */
        for (int t = 0; t < trials; t++) {
          sprec_problem pb;
          sprec_problem_default(&pb);
          pb.kind = kinds[ip];
          pb.m = m, pb.n = n, pb.k = kv[ik], pb.snr_db = snr, pb.width = width;
          pb.seed = seed + (uint64_t)t;
          SPREC_TRY(one_trial(ctx, &pb, alg[ia], lratio, acc), done);
        }
        double tmax = acc[4];
        MPI_Allreduce(MPI_IN_PLACE, &tmax, 1, MPI_DOUBLE, MPI_MAX, sprec_ctx_comm(ctx));
        if (rank == 0) {
          fprintf(f, "%s,%s,%lld,%lld,%lld,%d,%.6g,%.6g,%.6g,%.6g,%.6g\n", P[ip], Al[ia],
                  (long long)m, (long long)n, (long long)kv[ik], trials, acc[0] / trials,
                  acc[1] / trials, acc[2] / trials, acc[3] / trials, tmax / trials);
          if (!quiet)
            printf("study: %-8s k=%-3lld %-7s recovery %5.2f  F1 %.3f  rel_error %.3g  %.4f s\n",
                   P[ip], (long long)kv[ik], Al[ia], acc[0] / trials, acc[1] / trials,
                   acc[2] / trials, tmax / trials);
          fflush(stdout);
        }
      }
  if (rank == 0) {
    int bad = ferror(f) | (fclose(f) != 0);
    f = NULL;
    err = bad ? SPREC_ERROR(SPREC_ERR_IO, "--out %s: cannot write", out) : SPREC_OK;
  }
  err = sprec_agree(sprec_ctx_comm(ctx), err);
done:
  if (f) fclose(f);
  if (ctx) err = cli_out_commit(sprec_ctx_comm(ctx), &outs, err);
  sprec_ctx_destroy(&ctx);
  return err;
}
