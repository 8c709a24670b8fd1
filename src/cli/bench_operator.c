/* sprec bench --operator KIND: seconds per pass (Aᵀr) against n for one kind of
 * operator, from n0 doubling up to the largest n that fits (or --n-max), each pass held
 * against the operator's own bound, measured in the same run: the bytes it must read
 * at the streaming bandwidth of this machine, or the floating-point operations it must
 * make at the in-cache rate of sprec's own dense kernel (the instruction set chosen at
 * run time: a 256 x 16 block per rank, in L1 or L2), whichever takes longer
 * (sprec_op_pass_cost gives the counts; the references are timed in turns with the
 * pass, so the drifts of a shared machine hit them alike). Writes DIR/operator.csv;
 * scripts/bench-operators.sh runs every kind and plots them. */
#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char help[] =
    "usage: sprec bench --operator dense|conv|hadamard|csc [-m M] [--n0 N] [--n-max N]\n"
    "                   [--taps L] [--nnz-per-col D] [--reps R] [--out DIR]\n"
    "  dense: A Gaussian, m rows (default 256); conv: a Gaussian kernel of L taps (25),\n"
    "  m = n + L - 1; hadamard: m rows (default 1024) of the Walsh-Hadamard transform;\n"
    "  csc: D nonzeros per column (8) in m rows (default 65536). n from N0 (default\n"
    "  16384) doubling up to --n-max or the largest n whose operator and vectors fit\n"
    "  in a quarter of this node's memory. Writes DIR/operator.csv (default DIR:\n"
    "  build/bench/operators/KIND): operator, ranks, m, n, seconds per pass, the bytes\n"
    "  and flops of a pass, the bound (the slower of bytes at the streaming reference\n"
    "  and flops at sprec's dense kernel in cache, both measured in the same run) and the\n"
    "  fraction of the bound reached.\n";

/* Bytes per rank the operator of n columns and the bench's vectors take: the guard
 * that stops the doubling. */
static double footprint(const bench_op_spec *s, int64_t n, int p)
{
  double nl = (double)n / p + 1, m = (double)s->m;
  if (!strcmp(s->kind, "dense")) return 8 * m * nl + 16 * m + 8 * nl;
  if (!strcmp(s->kind, "csc")) return 12 * (double)s->nnz_per_col * nl + 16 * nl + 16 * m;
  if (!strcmp(s->kind, "conv")) return 8 * (double)(n + s->taps) * 2 + 48 * nl;
  return 64 * nl + 16 * m; /* hadamard: the transform's vectors */
}

/* Collective. A sparse operator with s->nnz_per_col nonzeros per column in distinct random rows
 * (column j's from a generator seeded with j: the same matrix for any rank count). */
static sprec_err random_csc(sprec_ctx ctx, const bench_op_spec *s, int64_t n, sprec_op *A)
{
  int p = sprec_ctx_size(ctx), rank = sprec_ctx_rank(ctx);
  int64_t nl = sprec_block_size(n, p, rank), c0 = sprec_block_start(n, p, rank);
  int64_t d = s->nnz_per_col < s->m ? s->nnz_per_col : s->m, *colptr = NULL, *row = NULL;
  double *val = NULL;
  sprec_err err = cli_alloc((size_t)nl + 1, sizeof *colptr, &colptr, "column offsets");
  if (!err) err = cli_alloc((size_t)(nl * d) + 1, sizeof *row, &row, "row indices");
  if (!err) err = cli_alloc((size_t)(nl * d) + 1, sizeof *val, &val, "values");
  for (int64_t j = 0; !err && j < nl; j++) {
    sprec_rng g;
    sprec_rng_seed(&g, 11, 1, (uint64_t)(c0 + j));
    colptr[j + 1] = (j + 1) * d;
    for (int64_t t = 0; t < d; t++) { /* d distinct rows: exactly d nonzeros */
      int64_t i, u;
      do {
        i = (int64_t)(sprec_rng_next(&g) % (uint64_t)s->m);
        for (u = 0; u < t && row[j * d + u] != i; u++) continue;
      } while (u < t);
      row[j * d + t] = i;
      val[j * d + t] = sprec_rng_normal(&g);
    }
  }
  err = sprec_agree(sprec_ctx_comm(ctx), err);
  if (err) {
    free(colptr), free(row), free(val);
    return err;
  }
  return sprec_op_create_csc(ctx, s->m, n, colptr, row, val, 0, A); /* takes the arrays */
}

sprec_err bench_make_operator(sprec_ctx ctx, const bench_op_spec *s, int64_t n, sprec_op *A, double **r)
{
  sprec_problem P;
  sprec_problem_default(&P);
  P.n = n, P.k = 1, P.seed = 7;
  sprec_sparse xt = {0};
  *A = NULL, *r = NULL;
  if (strcmp(s->kind, "csc")) { /* the generators' problems (conv: spikes, L taps) */
    P.m = s->m, P.taps = s->taps;
    P.kind = !strcmp(s->kind, "dense")  ? SPREC_PROBLEM_GAUSSIAN
             : !strcmp(s->kind, "conv") ? SPREC_PROBLEM_SPIKES
                                        : SPREC_PROBLEM_HADAMARD;
    SPREC_CALL(sprec_problem_generate(ctx, &P, A, r, &xt));
  } else if (!strcmp(s->kind, "csc")) {
    SPREC_CALL(random_csc(ctx, s, n, A));
    SPREC_CALL(sprec_agree(sprec_ctx_comm(ctx), cli_alloc((size_t)s->m, sizeof **r, r, "r")));
    for (int64_t i = 0; i < s->m; i++) (*r)[i] = 1.0 / (double)(i + 1);
  } else
    return SPREC_ERROR(SPREC_ERR_ARG, "operator: unknown kind '%s' (dense, conv, hadamard, csc)",
                       s->kind);
  sprec_sparse_free(&xt);
  return SPREC_OK;
}

/* One n: the pass, the streaming read of `buf` (len doubles per rank) and the in-cache
 * loop, in turns over reps rounds, each keeping its best. */
static sprec_err one_size(sprec_ctx ctx, const bench_op_spec *s, int64_t n, int reps, const double *buf,
                          int64_t len, sprec_op small, FILE *csv, double *sink_)
{
  MPI_Comm comm = sprec_ctx_comm(ctx);
  int rank = sprec_ctx_rank(ctx), p = sprec_ctx_size(ctx);
  sprec_op A = NULL;
  double *r = NULL, *g = NULL, t_pass = 1e300, t_read = 1e300, t_flop = 1e300;
  sprec_err err;
  SPREC_TRY(bench_make_operator(ctx, s, n, &A, &r), done);
  SPREC_TRY(sprec_agree(comm, cli_alloc((size_t)sprec_op_local_cols(A), sizeof *g, &g, "g")), done);
  enum { LOOPS = 2048 };
  int64_t sm = sprec_op_rows(small), sn = sprec_op_cols(small);
  double sr[256], sg[64];
  for (int i = 0; i < 256; i++) sr[i] = 1.0 / (i + 1);
  for (int rep = 0; rep < reps; rep++) {
    TIME_ONCE(t_pass, comm, err = sprec_op_apply_T(A, r, g));
    SPREC_TRY(sprec_agree(comm, err), done);
    TIME_ONCE(t_read, comm, *sink_ += bench_read_kernel(buf, len));
    TIME_ONCE(t_flop, comm, for (int l = 0; l < LOOPS; l++) sprec_op_apply_T(small, sr, sg));
  }
  double bytes, flops;
  sprec_op_pass_cost(A, &bytes, &flops);
  double bw = 8.0 * (double)len * p / t_read;                   /* bytes/s, all ranks */
  double fr = 2.0 * (double)(sm * sn) * LOOPS / t_flop;         /* flops/s, all ranks */
  *sink_ += sg[0];
  double bound = fmax(bytes / bw, flops / fr);
  if (rank == 0) {
    printf("  %-8s n=%-11lld m=%-10lld %10.4g s/pass  bound %10.4g s (%s)  fraction %.3f\n",
           s->kind, (long long)n, (long long)sprec_op_rows(A), t_pass, bound,
           bytes / bw >= flops / fr ? "bytes" : "flops", bound / t_pass);
    fprintf(csv, "%s,%d,%lld,%lld,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.4f\n", s->kind, p,
            (long long)sprec_op_rows(A), (long long)n, t_pass, bytes, flops, bw / 1e9, fr / 1e9,
            bound, bound / t_pass);
    fflush(stdout);
  }
done:
  free(r);
  free(g);
  sprec_op_destroy(&A);
  return err;
}

sprec_err bench_operator(int argc, char **argv)
{
  bench_op_spec s = {NULL, 0, 25, 8};
  int64_t n0 = 16384, nmax = 0;
  int reps = 3, npos, rank;
  const char *out = NULL, *pos[1];
  cli_opt opts[] = {
      {"--operator", OPT_STR, &s.kind, 0}, {"-m", OPT_I64, &s.m, 0},
      {"--n0", OPT_I64, &n0, 0},           {"--n-max", OPT_I64, &nmax, 0},
      {"--taps", OPT_I64, &s.taps, 0},     {"--nnz-per-col", OPT_I64, &s.nnz_per_col, 0},
      {"--reps", OPT_INT, &reps, 0},       {"--out", OPT_STR, &out, 0},
  };
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (cli_help(argc, argv, help)) return SPREC_OK;
  SPREC_CALL(cli_parse("bench", argc, argv, opts, (int)(sizeof opts / sizeof *opts), pos, 0, &npos));
  static const char *const kinds[] = {"dense", "conv", "hadamard", "csc", NULL};
  int kind;
  SPREC_CALL(cli_pick("--operator", s.kind, kinds, &kind));
  if (!s.m) s.m = kind == 0 ? 256 : kind == 2 ? 1024 : 65536;
  SPREC_CHECK(s.m >= 1 && n0 >= 16 && reps >= 1 && s.taps >= 1 && s.nnz_per_col >= 1,
              SPREC_ERR_ARG, "bench: -m, --taps, --nnz-per-col and --reps must be >= 1, --n0 >= 16");
  char dir[4096], path[4200];
  snprintf(dir, sizeof dir, "%s", out ? out : "build/bench/operators");
  if (!out) snprintf(dir + strlen(dir), sizeof dir - strlen(dir), "/%s", s.kind);

  sprec_ctx ctx = NULL;
  double *buf = NULL, sink_ = 0;
  sprec_op small = NULL;
  FILE *csv = NULL;
  cli_outset outs = {0};
  sprec_err err;
  SPREC_TRY(sprec_ctx_create(MPI_COMM_WORLD, &ctx), done);
  MPI_Comm comm = sprec_ctx_comm(ctx);
  int p = sprec_ctx_size(ctx);
  SPREC_TRY(cli_make_dir(comm, "--out", dir), done);
  snprintf(path, sizeof path, "%s/operator.csv", dir);
  cli_path files[] = {{"--out", path, 1, 0, NULL, NULL}};
  SPREC_TRY(cli_check_paths(comm, files, 1), done);
  if (rank == 0) csv = fopen(cli_out_add(&outs, path), "w");
  SPREC_TRY(sprec_agree(comm, rank == 0 && !csv ? SPREC_ERROR(SPREC_ERR_IO, "--out %s: cannot write", path)
                                                : SPREC_OK),
            done);
  if (rank == 0)
    fprintf(csv, "operator,ranks,m,n,seconds_per_pass,bytes,flops,stream_GBps,incache_Gflops,"
                 "bound_seconds,fraction_of_bound\n");
  /* The streaming reference reads 64 MiB per rank: past every cache. */
  const int64_t len = (int64_t)8 << 20;
  SPREC_TRY(sprec_agree(comm, cli_alloc((size_t)len, sizeof *buf, &buf, "the streaming buffer")), done);
  for (int64_t i = 0; i < len; i++) buf[i] = 1.0 / (double)(i + 1);
  { /* the in-cache reference: 256 x 16 per rank (32 KiB), Gaussian */
    sprec_problem P;
    sprec_problem_default(&P);
    P.m = 256, P.n = 16 * p, P.k = 1;
    double *y = NULL;
    sprec_sparse xt = {0};
    SPREC_TRY(sprec_problem_generate(ctx, &P, &small, &y, &xt), done);
    sprec_free(y);
    sprec_sparse_free(&xt);
  }
  double limit = bench_memory_limit(comm) / 2; /* a quarter of the node, per rank */
  if (rank == 0)
    printf("sprec bench --operator %s: %d ranks, n from %lld%s%lld\n", s.kind, p, (long long)n0,
           nmax ? " to " : " while it fits in a quarter of the node, at most ",
           (long long)(nmax ? nmax : (int64_t)1 << 40));
  for (int64_t n = n0; (!nmax || n <= nmax) && footprint(&s, n, p) <= limit; n *= 2)
    SPREC_TRY(one_size(ctx, &s, n, reps, buf, len, small, csv, &sink_), done);
  if (sink_ == 12345.678) printf("%g\n", sink_); /* keep the reads alive */
done:
  if (csv && (ferror(csv) | fclose(csv)) && !err)
    err = SPREC_ERROR(SPREC_ERR_IO, "--out %s: cannot write", path);
  if (ctx) err = cli_out_commit(sprec_ctx_comm(ctx), &outs, sprec_agree(sprec_ctx_comm(ctx), err));
  free(buf);
  sprec_op_destroy(&small);
  sprec_ctx_destroy(&ctx);
  return err;
}
