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

/* The files of `gen --out DIR`: the .npy files (A, or the spikes kernel K; y; x_true),
 * or with --format h5 the one file problem.h5. */
typedef struct {
  char a[4096], y[4096], x[4096], h5[4096];
} gen_files;

/* --format h5 writes a stored A: the implicit operators have none to write. */
static sprec_err h5_stores(const sprec_problem *P)
{
  SPREC_CHECK(P->kind != SPREC_PROBLEM_HADAMARD && P->kind != SPREC_PROBLEM_SPIKES, SPREC_ERR_ARG,
              "--format h5 writes a stored A; %s is not stored (use --format npy)",
              P->kind == SPREC_PROBLEM_SPIKES ? "the convolution operator of spikes"
                                              : "hadamard's A");
  return SPREC_OK;
}

/* Collective. The .npy files, each under its partial name (outs). *stored: 0 when A is
 * implicit (hadamard), so not written. */
static sprec_err write_npy(MPI_Comm comm, const sprec_problem *P, sprec_op A, const double *y,
                           const sprec_sparse *xt, const gen_files *f, cli_outset *outs,
                           int *stored)
{
  int rank, spikes = P->kind == SPREC_PROBLEM_SPIKES;
  int64_t m = sprec_op_rows(A);
  MPI_Comm_rank(comm, &rank);
  *stored = spikes || sprec_op_local_block(A) != NULL;
  if (spikes) SPREC_CALL(write_kernel(comm, P, cli_out_add(outs, f->a)));
  else if (*stored) SPREC_CALL(sprec_op_save_npy(A, cli_out_add(outs, f->a)));
  SPREC_CALL(sprec_npy_write_cols(comm, cli_out_add(outs, f->y), 1, 1, m, 0, rank == 0 ? m : 0, y));
  return sprec_x_save_npy(A, cli_out_add(outs, f->x), 1, xt);
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
  if (h5) SPREC_CALL(h5_stores(&P));

  sprec_ctx ctx = NULL;
  sprec_op A = NULL;
  double *y = NULL;
  sprec_sparse xt = {0};
  gen_files f;
  cli_outset outs = {0}; /* every file, or none: what DIR held stays as it was */
  sprec_err err;
  SPREC_TRY(sprec_ctx_create(MPI_COMM_WORLD, &ctx), done);
  MPI_Comm comm = sprec_ctx_comm(ctx);
  snprintf(f.a, sizeof f.a, spikes ? "%s/K.npy" : "%s/A.npy", out);
  snprintf(f.y, sizeof f.y, "%s/y.npy", out);
  snprintf(f.x, sizeof f.x, "%s/x_true.npy", out);
  snprintf(f.h5, sizeof f.h5, "%s/problem.h5", out);
  { /* the files inside only if the directory is there already */
    struct stat sb;
    int have = stat(out, &sb) == 0 && S_ISDIR(sb.st_mode);
    cli_path npy[] = {{"--out", out, 1, 1, NULL, NULL}, {"--out", f.a, 1, 0, NULL, NULL},
                      {"--out", f.y, 1, 0, NULL, NULL}, {"--out", f.x, 1, 0, NULL, NULL}};
    cli_path hdf[] = {{"--out", out, 1, 1, NULL, NULL}, {"--out", f.h5, 1, 0, NULL, NULL}};
    SPREC_TRY(cli_check_paths(comm, h5 ? hdf : npy, !have ? 1 : h5 ? 2 : 4), done);
  }
  SPREC_TRY(sprec_problem_generate(ctx, &P, &A, &y, &xt), done);
  SPREC_TRY(cli_make_dir(comm, "--out", out), done);
  int stored = 1;
  err = h5 ? sprec_problem_save_h5(A, y, &xt, cli_out_add(&outs, f.h5))
           : write_npy(comm, &P, A, y, &xt, &f, &outs, &stored);
  if (err) err = cli_error_prefix(err, "--out", out);
  SPREC_TRY(cli_out_commit(comm, &outs, err), done);
  if (!quiet && sprec_ctx_rank(ctx) == 0) {
    if (h5)
      printf("sprec gen: wrote %s (/A %lld x %lld, /y, /x_true)\n", f.h5, (long long)P.m,
             (long long)P.n);
    else
      printf("sprec gen: wrote %s (%lld x %lld%s), %s, %s\n", stored ? f.a : "no A",
             spikes ? (long long)P.taps : (long long)sprec_op_rows(A),
             spikes ? 1LL : (long long)P.n, stored ? "" : ", implicit", f.y, f.x);
  }
done:
  sprec_free(y);
  sprec_sparse_free(&xt);
  sprec_op_destroy(&A);
  sprec_ctx_destroy(&ctx);
  return err;
}
