/* sprec gen: write a generated problem as DIR/A.npy (m x n, Fortran order),
 * DIR/y.npy (m) and DIR/x_true.npy (n). Each rank generates and writes its columns.
 * The spikes problem has no A: its kernel goes to DIR/K.npy instead. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char help[] =
    "usage: sprec gen --problem gaussian|deconv|hadamard -m M -n N -k K [--snr DB] [--seed S]\n"
    "                 [--width W] [--format npy|h5] --out DIR [--quiet]\n"
    "       sprec gen --problem spikes -n N -k K [--sigma S] [--taps L] [--min-sep D]\n"
    "                 [--snr DB] [--seed S] --out DIR [--quiet]\n"
    "Writes DIR/A.npy (m x n float64, Fortran order), DIR/y.npy (m), DIR/x_true.npy (n);\n"
    "with --format h5 one file DIR/problem.h5 holding /A (m x n float64, C order), /y and\n"
    "/x_true (solve --A DIR/problem.h5:/A --y DIR/problem.h5:/y).\n"
    "  spikes: DIR/K.npy (L taps) instead of A.npy, and m = n + L - 1.\n"
    "  hadamard: A = sqrt(n/m)*R*H*D (Walsh-Hadamard, n a power of two, m rows and the\n"
    "            signs drawn from the seed) is implicit, defined by (m, n, seed): no A\n"
    "            is written; 'sprec solve --problem hadamard' with the same -m -n --seed\n"
    "            rebuilds it\n"
    "  --snr DB     noise level: ||Ax|| / ||e|| = 10^(DB/20) (default: noiseless)\n"
    "  --seed S     random seed (default 1); the problem depends on the seed only\n"
    "  --width W    deconv bump width (default 0.02)\n"
    "  --sigma S    spikes: the Gaussian kernel's standard deviation in samples (default 3)\n"
    "  --taps L     spikes: the kernel's length (default 25)\n"
    "  --min-sep D  spikes: the least distance between two spikes (default 100)\n";

/* The spikes problem's kernel as a vector of taps, written by rank 0. */
static sprec_err write_kernel(MPI_Comm comm, const sprec_problem *P, const char *path)
{
  int rank;
  MPI_Comm_rank(comm, &rank);
  double *K = calloc((size_t)P->taps, sizeof *K);
  sprec_err err = K ? sprec_problem_kernel(P, K)
                    : SPREC_ERROR(SPREC_ERR_MEM, "cannot allocate the kernel (%lld taps)",
                                  (long long)P->taps);
  err = sprec_agree(comm, err);
  if (!err) err = sprec_npy_write_cols(comm, path, 1, 1, P->taps, 0, rank == 0 ? P->taps : 0, K);
  free(K);
  return err;
}

/* --format h5: DIR/problem.h5, checked and written like the .npy files. */
static sprec_err gen_h5(const sprec_problem *P, const char *out, int quiet)
{
  sprec_ctx ctx = NULL;
  sprec_op A = NULL;
  double *y = NULL;
  sprec_sparse xt = {0};
  char ph[4096];
  cli_outset outs = {0};
  sprec_err err;
  SPREC_TRY(P->kind == SPREC_PROBLEM_HADAMARD || P->kind == SPREC_PROBLEM_SPIKES
                ? SPREC_ERROR(SPREC_ERR_ARG, "--format h5 writes a stored A; %s is not stored "
                              "(use --format npy)", P->kind == SPREC_PROBLEM_SPIKES
                                                        ? "the convolution operator of spikes"
                                                        : "hadamard's A")
                : SPREC_OK,
            done);
  SPREC_TRY(sprec_ctx_create(MPI_COMM_WORLD, &ctx), done);
  MPI_Comm comm = sprec_ctx_comm(ctx);
  snprintf(ph, sizeof ph, "%s/problem.h5", out);
  {
    struct stat sb;
    int have = stat(out, &sb) == 0 && S_ISDIR(sb.st_mode);
    cli_path files[] = {{"--out", out, 1, 1, NULL}, {"--out", ph, 1, 0, NULL}};
    SPREC_TRY(cli_check_paths(comm, files, have ? 2 : 1), done);
  }
  SPREC_TRY(sprec_problem_generate(ctx, P, &A, &y, &xt), done);
  SPREC_TRY(cli_make_dir(comm, "--out", out), done);
  err = sprec_problem_save_h5(A, y, &xt, cli_out_add(&outs, ph));
  if (err) err = cli_error_prefix(err, "--out", out);
  SPREC_TRY(cli_out_commit(comm, &outs, err), done);
  if (!quiet && sprec_ctx_rank(ctx) == 0)
    printf("sprec gen: wrote %s (/A %lld x %lld, /y, /x_true)\n", ph, (long long)P->m,
           (long long)P->n);
done:
  sprec_free(y);
  sprec_sparse_free(&xt);
  sprec_op_destroy(&A);
  sprec_ctx_destroy(&ctx);
  return err;
}

sprec_err cmd_gen(int argc, char **argv)
{
  sprec_problem P;
  sprec_problem_default(&P);
  const char *problem = "gaussian", *out = NULL, *format = "npy", *pos[1];
  int quiet = 0, npos;
  cli_opt opts[] = {
      {"--problem", OPT_STR, &problem, 0}, {"-m", OPT_I64, &P.m, 0},
      {"-n", OPT_I64, &P.n, 0},           {"-k", OPT_I64, &P.k, 0},
      {"--snr", OPT_DBL, &P.snr_db, 0},   {"--seed", OPT_U64, &P.seed, 0},
      {"--width", OPT_DBL, &P.width, 0},  {"--out", OPT_STR, &out, 0},
      {"--quiet", OPT_FLAG, &quiet, 0},   {"--format", OPT_STR, &format, 0},
      {"--sigma", OPT_DBL, &P.sigma, 0},  {"--taps", OPT_I64, &P.taps, 0},
      {"--min-sep", OPT_I64, &P.min_sep, 0},
  };
  int nopts = (int)(sizeof opts / sizeof opts[0]);
  if (cli_help(argc, argv, help)) return SPREC_OK;
  SPREC_CALL(cli_parse("gen", argc, argv, opts, nopts, pos, 0, &npos));
  SPREC_CALL(cli_problem_kind(problem, &P.kind));
  int spikes = P.kind == SPREC_PROBLEM_SPIKES;
  SPREC_CHECK((cli_seen(opts, nopts, "-m") || spikes) && cli_seen(opts, nopts, "-n") &&
                  cli_seen(opts, nopts, "-k"),
              SPREC_ERR_ARG, "gen: -m, -n and -k are required (spikes: -n and -k)");
  SPREC_CHECK(out, SPREC_ERR_ARG, "gen: --out DIR is required");
  static const char *const formats[] = {"npy", "h5", NULL};
  int h5;
  SPREC_CALL(cli_pick("--format", format, formats, &h5));
  if (h5) return gen_h5(&P, out, quiet);

  sprec_ctx ctx = NULL;
  sprec_op A = NULL;
  double *y = NULL;
  sprec_sparse xt = {0};
  char pa[4096], py[4096], px[4096];
  cli_outset outs = {0}; /* the three files, or none: what DIR held stays as it was */
  sprec_err err;
  SPREC_TRY(sprec_ctx_create(MPI_COMM_WORLD, &ctx), done);
  MPI_Comm comm = sprec_ctx_comm(ctx);
  int rank = sprec_ctx_rank(ctx);
  snprintf(pa, sizeof pa, spikes ? "%s/K.npy" : "%s/A.npy", out);
  snprintf(py, sizeof py, "%s/y.npy", out);
  snprintf(px, sizeof px, "%s/x_true.npy", out);
  { /* the files inside only if the directory is there already */
    struct stat sb;
    int have = stat(out, &sb) == 0 && S_ISDIR(sb.st_mode);
    cli_path files[] = {{"--out", out, 1, 1, NULL}, {"--out", pa, 1, 0, NULL},
                        {"--out", py, 1, 0, NULL}, {"--out", px, 1, 0, NULL}};
    SPREC_TRY(cli_check_paths(comm, files, have ? 4 : 1), done);
  }
  SPREC_TRY(sprec_problem_generate(ctx, &P, &A, &y, &xt), done);
  SPREC_TRY(cli_make_dir(comm, "--out", out), done);
  int64_t m = sprec_op_rows(A);
  int stored = spikes || sprec_op_local_block(A) != NULL; /* an implicit A is not written */
  if (spikes) err = write_kernel(comm, &P, cli_out_add(&outs, pa));
  else err = stored ? sprec_op_save_npy(A, cli_out_add(&outs, pa)) : SPREC_OK;
  if (!err)
    err = sprec_npy_write_cols(comm, cli_out_add(&outs, py), 1, 1, m, 0, rank == 0 ? m : 0, y);
  if (!err) err = sprec_x_save_npy(A, cli_out_add(&outs, px), 1, &xt);
  if (err) err = cli_error_prefix(err, "--out", out);
  SPREC_TRY(cli_out_commit(comm, &outs, err), done);
  if (!quiet && rank == 0)
    printf("sprec gen: wrote %s (%lld x %lld%s), %s, %s\n", stored ? pa : "no A",
           spikes ? (long long)P.taps : (long long)m, spikes ? 1LL : (long long)P.n,
           stored ? "" : ", implicit", py, px);
done:
  sprec_free(y);
  sprec_sparse_free(&xt);
  sprec_op_destroy(&A);
  sprec_ctx_destroy(&ctx);
  return err;
}
