/* sprec bench --comm: the constants of the scaling model (scripts/scaling-model.py),
 * measured at the rank count the command runs on:
 *   - communication: one-way time of a ping-pong between ranks 0 and p-1, a ring of
 *     p sequential sends (the hop of sprec_op_apply_sparse's residual chain),
 *     Allreduce, Allgatherv and Bcast, at the message sizes sprec sends (8 B scalars
 *     and 2 KiB histograms up to m doubles, m up to 10^5; Allgatherv: 24-byte top-k
 *     candidates per rank up to m-double columns), each the median of --reps timed
 *     runs (the slowest rank's time), and a least-squares fit t = alpha + beta * bytes
 *     per operation, weighted by 1/t (relative residuals: the small sizes count as much
 *     as the large), with its relative residuals;
 *   - the pass rate per rank: seconds per entry of a dense block's Aᵀr (sprec's kernel),
 *     per column·tap (conv), per column·log2 n (hadamard), per nonzero (csc), per
 *     column of the local top-k selection and per double streamed (the update of
 *     the exploration vector);
 *   - the restricted least squares against k on both paths (bench_lsq).
 * With one rank, the point-to-point cases send to rank 0 itself, and the collectives
 * are what MPI does on one rank (a copy, or nothing: a broadcast to oneself moves no
 * byte, so its beta may be 0).
 * Writes DIR/bench.json and DIR/bench.csv (flat metrics, as `sprec bench`) and prints a
 * short table. */
#include "bench.h"

#include <math.h>
#include <string.h>

static const char help[] =
    "usage: sprec bench --comm [-m M] [--reps R] [--out DIR] [--quick]\n"
    "  communication constants (alpha-beta fits with residuals) of ping-pong, a chain of\n"
    "  sends, Allreduce, Allgatherv and Bcast; the pass rate per rank of each operator\n"
    "  kind; the restricted least squares against k. Medians of R timed runs (default 25;\n"
    "  --quick: 9, and smaller blocks). m: rows of the dense block (default 1000).\n"
    "Writes DIR/bench.json and DIR/bench.csv (default DIR: build/bench/comm).\n";

enum { OP_PINGPONG, OP_CHAIN, OP_ALLREDUCE, OP_ALLGATHERV, OP_BCAST, NOPS, MAXS = 8 };
static const char *const op_name[NOPS] = {"pingpong", "chain", "allreduce", "allgatherv", "bcast"};
/* Message sizes in bytes (Allgatherv: per rank; 24 bytes is one top-k candidate). */
static const int sizes[MAXS] = {8, 64, 512, 2048, 8192, 65536, 262144, 800000};
static const int gsizes[MAXS] = {24, 240, 1200, 4800, 24000, 96000, 400000, 800000};

typedef struct {
  MPI_Comm comm;
  int p, rank;
  char *sbuf, *rbuf; /* the largest message; rbuf p times it (Allgatherv) */
  int *counts, *displs;
} comm_room;

typedef struct { /* one operation's points and its fit */
  int np;
  double bytes[MAXS], t[MAXS], alpha, beta, rel_rms, rel_max;
} series;

/* One operation op of `count` bytes (Allgatherv: per rank). */
static void run_once(comm_room *b, int op, int count)
{
  int p = b->p, r = b->rank;
  MPI_Comm c = b->comm;
  if ((op == OP_PINGPONG || op == OP_CHAIN) && p == 1) {
    MPI_Sendrecv(b->sbuf, count, MPI_BYTE, 0, 1, b->rbuf, count, MPI_BYTE, 0, 1, c, MPI_STATUS_IGNORE);
  } else if (op == OP_PINGPONG) {
    if (r == 0) {
      MPI_Send(b->sbuf, count, MPI_BYTE, p - 1, 1, c);
      MPI_Recv(b->rbuf, count, MPI_BYTE, p - 1, 1, c, MPI_STATUS_IGNORE);
    } else if (r == p - 1) {
      MPI_Recv(b->rbuf, count, MPI_BYTE, 0, 1, c, MPI_STATUS_IGNORE);
      MPI_Send(b->rbuf, count, MPI_BYTE, 0, 1, c);
    }
  } else if (op == OP_CHAIN) { /* a ring: p sequential hops, rank 0 first and last */
    if (r > 0) MPI_Recv(b->rbuf, count, MPI_BYTE, r - 1, 2, c, MPI_STATUS_IGNORE);
    MPI_Send(r > 0 ? b->rbuf : b->sbuf, count, MPI_BYTE, (r + 1) % p, 2, c);
    if (r == 0) MPI_Recv(b->rbuf, count, MPI_BYTE, p - 1, 2, c, MPI_STATUS_IGNORE);
  } else if (op == OP_ALLREDUCE) {
    MPI_Allreduce(b->sbuf, b->rbuf, count / 8, MPI_DOUBLE, MPI_SUM, c);
  } else if (op == OP_ALLGATHERV) {
    for (int q = 0; q < p; q++) b->counts[q] = count, b->displs[q] = q * count;
    MPI_Allgatherv(b->sbuf, count, MPI_BYTE, b->rbuf, b->counts, b->displs, MPI_BYTE, c);
  } else {
    MPI_Bcast(b->sbuf, count / 8, MPI_DOUBLE, 0, c);
  }
}

static int cmp_dbl(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Collective. The median over the runs of the slowest rank's time (t: each run's time on
 * this rank; overwritten). */
static double median_max(MPI_Comm comm, double *t, int reps)
{
  MPI_Allreduce(MPI_IN_PLACE, t, reps, MPI_DOUBLE, MPI_MAX, comm);
  qsort(t, (size_t)reps, sizeof *t, cmp_dbl);
  return reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);
}

/* Collective. The median over reps of the slowest rank's time of one operation (each
 * run repeats it `inner` times, so that short ones outlast the clock's resolution). The
 * first run warms up and is not kept. t: room for reps values. */
static double median_time(comm_room *b, int op, int count, int reps, double *t)
{
  int inner = (int)(200000 / (count + 2000));
  inner = inner < 1 ? 1 : inner > 100 ? 100 : inner;
  for (int rep = -1; rep < reps; rep++) {
    MPI_Barrier(b->comm);
    double t0 = MPI_Wtime();
    for (int i = 0; i < inner; i++) run_once(b, op, count);
    double dt = (MPI_Wtime() - t0) / inner;
    if (op == OP_PINGPONG && b->p > 1) dt /= 2;
    if (op == OP_CHAIN) dt /= b->p; /* per hop */
    if (rep >= 0) t[rep] = dt;
  }
  return median_max(b->comm, t, reps);
}

/* t = alpha + beta·x by least squares on the relative residuals (weights 1/t²), both
 * kept >= 0 (a negative one is set to 0 and the other refitted); then the residuals. */
static void fit_series(series *s)
{
  double sw = 0, sx = 0, sxx = 0, st = 0, sxt = 0;
  for (int i = 0; i < s->np; i++) {
    double w = 1 / (s->t[i] * s->t[i]), x = s->bytes[i];
    sw += w, sx += w * x, sxx += w * x * x, st += w * s->t[i], sxt += w * x * s->t[i];
  }
  double det = sw * sxx - sx * sx;
  s->alpha = det > 0 ? (sxx * st - sx * sxt) / det : st / sw;
  s->beta = det > 0 ? (sw * sxt - sx * st) / det : 0;
  if (s->alpha < 0) s->alpha = 0, s->beta = sxt / sxx;
  if (s->beta < 0) s->beta = 0, s->alpha = st / sw;
  double ss = 0, mx = 0;
  for (int i = 0; i < s->np; i++) {
    double e = fabs(s->alpha + s->beta * s->bytes[i] - s->t[i]) / s->t[i];
    ss += e * e, mx = e > mx ? e : mx;
  }
  s->rel_rms = sqrt(ss / s->np);
  s->rel_max = mx;
}

/* Collective. Every operation at every size (Allgatherv: while p times the size stays
 * under 64 MB), fitted, written. */
static sprec_err measure_comm(bench_sink *o, comm_room *b, int reps, series *S)
{
  double *t = malloc(sizeof(double) * (size_t)reps);
  SPREC_CALL(sprec_agree(b->comm, t ? SPREC_OK : SPREC_ERROR(SPREC_ERR_MEM, "bench: timings")));
  for (int op = 0; op < NOPS; op++) {
    series *s = S + op;
    s->np = 0;
    for (int i = 0; i < MAXS; i++) {
      int count = op == OP_ALLGATHERV ? gsizes[i] : sizes[i];
      if (op == OP_ALLGATHERV && (double)count * b->p > 64e6) continue;
      double med = median_time(b, op, count, reps, t);
      char name[80];
      snprintf(name, sizeof name, "comm_%s_%dB_seconds", op_name[op], count);
      bench_put(o, name, med, op == OP_ALLGATHERV ? "s (bytes per rank)" : "s");
      /* Allgatherv is fitted against the bytes every rank receives in all: p·count. */
      s->bytes[s->np] = op == OP_ALLGATHERV ? (double)count * b->p : count;
      s->t[s->np++] = med;
    }
    fit_series(s);
    char name[80];
    const char *what[4] = {"alpha_seconds", "beta_seconds_per_byte", "fit_rel_rms", "fit_rel_max"};
    double val[4] = {s->alpha, s->beta, s->rel_rms, s->rel_max};
    for (int f = 0; f < 4; f++) {
      snprintf(name, sizeof name, "comm_%s_%s", op_name[op], what[f]);
      bench_put(o, name, val[f], f < 2 ? "fit t = alpha + beta bytes" : "relative residual");
    }
  }
  free(t);
  return SPREC_OK;
}

/* Collective. The median (slowest rank) of reps passes of A (one more first, to warm
 * up). t: room for reps values. */
static sprec_err median_pass(MPI_Comm comm, sprec_op A, const double *r, double *g, int reps,
                             double *t, double *med)
{
  sprec_err err = SPREC_OK;
  for (int rep = -1; rep < reps && !err; rep++) {
    MPI_Barrier(comm);
    double t0 = MPI_Wtime();
    err = sprec_op_apply_T(A, r, g);
    if (rep >= 0) t[rep] = MPI_Wtime() - t0;
  }
  SPREC_CALL(sprec_agree(comm, err));
  *med = median_max(comm, t, reps);
  return SPREC_OK;
}

/* Collective. One kind's pass on n columns: seconds per unit of its work, units per
 * local column: m (dense), taps (conv), log2 n (hadamard), nonzeros per column (csc),
 * taken on the largest block. keep: the operator (dense: for the least squares) and
 * its right-hand side are left there instead of freed. */
static sprec_err kind_rate(bench_sink *o, sprec_ctx ctx, const bench_op_spec *s, int64_t n,
                           int reps, double *t, sprec_op *keep, double **keep_y)
{
  sprec_op A = NULL;
  double *r = NULL, *g = NULL, med = 0;
  SPREC_CALL(bench_make_operator(ctx, s, n, &A, &r));
  int64_t nl = sprec_op_local_cols(A);
  sprec_err err = sprec_agree(sprec_ctx_comm(ctx), cli_alloc((size_t)nl, sizeof *g, &g, "g"));
  if (!err) err = median_pass(sprec_ctx_comm(ctx), A, r, g, reps, t, &med);
  MPI_Allreduce(MPI_IN_PLACE, &nl, 1, MPI_INT64_T, MPI_MAX, sprec_ctx_comm(ctx));
  double per = !strcmp(s->kind, "dense")      ? (double)sprec_op_rows(A)
               : !strcmp(s->kind, "conv")     ? (double)s->taps
               : !strcmp(s->kind, "hadamard") ? log2((double)n)
                                              : (double)s->nnz_per_col;
  const char *unit = !strcmp(s->kind, "dense")      ? "entry (row x column)"
                     : !strcmp(s->kind, "conv")     ? "column x tap"
                     : !strcmp(s->kind, "hadamard") ? "column x log2 n"
                                                    : "nonzero";
  char name[80], u[80];
  snprintf(name, sizeof name, "pass_%s_seconds", s->kind);
  if (!err) bench_put(o, name, med, "s per pass, the largest block");
  snprintf(name, sizeof name, "pass_%s_columns_per_rank", s->kind);
  if (!err) bench_put(o, name, (double)nl, "columns");
  snprintf(name, sizeof name, "pass_%s_seconds_per_unit", s->kind);
  snprintf(u, sizeof u, "s per %s, per rank", unit);
  if (!err) bench_put(o, name, med / ((double)nl * per), u);
  free(g);
  if (keep && !err) *keep = A, *keep_y = r;
  else sprec_op_destroy(&A), free(r);
  return err;
}

/* Collective. The local work of an iteration besides the pass: the top-k selection
 * over a vector of nl entries per rank (sprec_topk, k = 50, gather: its collective is
 * a few microseconds against the scan) and the streaming read of it (the update of
 * the exploration vector reads and writes a few such vectors), per entry. */
static sprec_err local_rates(bench_sink *o, sprec_ctx ctx, int64_t nl, int reps, double *t)
{
  MPI_Comm comm = sprec_ctx_comm(ctx);
  int p = sprec_ctx_size(ctx);
  double *v = NULL, med, keep = 0;
  sprec_sparse S = {0};
  sprec_err err = sprec_agree(comm, cli_alloc((size_t)nl, sizeof *v, &v, "top-k vector"));
  if (err) return err;
  sprec_rng g;
  sprec_rng_seed(&g, 20240021, 5, (uint64_t)sprec_ctx_rank(ctx));
  for (int64_t j = 0; j < nl; j++) v[j] = sprec_rng_normal(&g);
  for (int rep = -1; rep < reps && !err; rep++) {
    MPI_Barrier(comm);
    double t0 = MPI_Wtime();
    err = sprec_topk(ctx, nl * p, v, 50, SPREC_TOPK_GATHER, &S);
    if (rep >= 0) t[rep] = MPI_Wtime() - t0;
  }
  err = sprec_agree(comm, err);
  if (!err) {
    med = median_max(comm, t, reps);
    bench_put(o, "topk_local_seconds_per_column", med / (double)nl, "s per local entry (k = 50)");
    for (int rep = -1; rep < reps; rep++) {
      double t0 = MPI_Wtime();
      keep += bench_read_kernel(v, nl);
      if (rep >= 0) t[rep] = MPI_Wtime() - t0;
    }
    med = median_max(comm, t, reps);
    bench_put(o, "stream_seconds_per_double", med / (double)nl, "s per double read, per rank");
    if (keep == 12345.678) bench_put(o, "unlikely", keep, ""); /* keep the reads alive */
  }
  sprec_sparse_free(&S);
  free(v);
  return err;
}

/* Rank 0: the fits as a short table. */
static void print_table(const series *S, int p, int per_node)
{
  printf("sprec bench --comm: %d ranks (%d per node); t = alpha + beta * bytes, medians\n", p,
         per_node);
  printf("  %-11s %11s %12s %13s %13s %7s\n", "operation", "alpha (us)", "1/beta (GB/s)",
         "residual rms", "residual max", "points");
  for (int op = 0; op < NOPS; op++)
    printf("  %-11s %11.3f %12.3g %13.3f %13.3f %7d\n", op_name[op], S[op].alpha * 1e6,
           S[op].beta > 0 ? 1e-9 / S[op].beta : INFINITY, S[op].rel_rms, S[op].rel_max,
           S[op].np);
  printf("  (chain: per hop of a ring of p sends; allgatherv: bytes = the total gathered)\n");
}

/* Collective. The buffers for the largest message. */
static sprec_err room_open(comm_room *b, MPI_Comm comm)
{
  b->comm = comm;
  MPI_Comm_size(comm, &b->p);
  MPI_Comm_rank(comm, &b->rank);
  size_t big = 800000;
  sprec_err err = cli_alloc(big, 1, &b->sbuf, "send buffer");
  if (!err) err = cli_alloc(big * (size_t)b->p, 1, &b->rbuf, "receive buffer");
  if (!err) err = cli_alloc((size_t)b->p, sizeof(int), &b->counts, "counts");
  if (!err) err = cli_alloc((size_t)b->p, sizeof(int), &b->displs, "counts");
  if (!err) memset(b->sbuf, 1, big), memset(b->rbuf, 0, big * (size_t)b->p);
  return sprec_agree(comm, err);
}

static void room_close(comm_room *b)
{
  free(b->sbuf), free(b->rbuf), free(b->counts), free(b->displs);
}

/* Collective. The pass rates of the four kinds, the local rates, the least squares on
 * the dense block. */
static sprec_err measure_rates(bench_sink *o, sprec_ctx ctx, int64_t m, int quick, int reps,
                               double *t)
{
  int p = sprec_ctx_size(ctx);
  int64_t sc = quick ? 4 : 1; /* --quick: a quarter of the sizes */
  bench_op_spec dense = {"dense", m, 25, 8}, conv = {"conv", 0, 25, 8},
                had = {"hadamard", 1024, 25, 8}, csc = {"csc", 65536, 25, 8};
  sprec_op A = NULL;
  double *y = NULL;
  int rr = reps < 9 ? reps : 9; /* passes take milliseconds: 9 are enough */
  SPREC_CALL(kind_rate(o, ctx, &dense, (int64_t)40000 / sc * p, rr, t, &A, &y));
  sprec_err err = kind_rate(o, ctx, &conv, ((int64_t)1 << 20) / sc * p, rr, t, NULL, NULL);
  int64_t nh = (int64_t)1 << 20;
  while (nh < 4 * p) nh *= 2;
  if (!err) err = kind_rate(o, ctx, &had, nh / sc, rr, t, NULL, NULL);
  if (!err) err = kind_rate(o, ctx, &csc, ((int64_t)1 << 18) / sc * p, rr, t, NULL, NULL);
  if (!err) err = local_rates(o, ctx, ((int64_t)1 << 22) / sc, rr, t);
  o->quiet = 0; /* the least squares, as `sprec bench` prints them */
  if (!err) err = bench_lsq(o, ctx, A, y);
  sprec_op_destroy(&A);
  free(y);
  return err;
}

sprec_err bench_comm(int argc, char **argv)
{
  int64_t m = 1000;
  int reps = 25, quick = 0, npos, rank, comm_flag = 0;
  const char *out = "build/bench/comm", *pos[1];
  cli_opt opts[] = {
      {"--comm", OPT_FLAG, &comm_flag, 0}, {"-m", OPT_I64, &m, 0},    {"--reps", OPT_INT, &reps, 0},
      {"--out", OPT_STR, &out, 0},         {"--quick", OPT_FLAG, &quick, 0},
  };
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (cli_help(argc, argv, help)) return SPREC_OK;
  SPREC_CALL(cli_parse("bench", argc, argv, opts, (int)(sizeof opts / sizeof *opts), pos, 0, &npos));
  if (quick && !cli_seen(opts, 5, "--reps")) reps = 9;
  if (quick && !cli_seen(opts, 5, "-m")) m = 200;
  SPREC_CHECK(reps >= 3 && reps <= 1000, SPREC_ERR_ARG, "--reps must be in [3, 1000] (got %d)", reps);
  SPREC_CHECK(m >= 10 && m <= 100000, SPREC_ERR_ARG, "-m must be in [10, 100000] (got %lld)",
              (long long)m);
  sprec_ctx ctx = NULL;
  bench_sink o = {NULL, NULL, 1, rank, 1};
  cli_outset outs = {0};
  comm_room b = {0};
  series S[NOPS];
  char paths[2][4096];
  double *t = NULL;
  sprec_err err;
  SPREC_TRY(sprec_ctx_create(MPI_COMM_WORLD, &ctx), done);
  MPI_Comm comm = sprec_ctx_comm(ctx);
  SPREC_TRY(bench_open_sinks(comm, out, &o, &outs, paths), done);
  SPREC_TRY(sprec_agree(comm, cli_alloc((size_t)reps, sizeof *t, &t, "timings")), done);
  SPREC_TRY(room_open(&b, comm), done);
  MPI_Comm node;
  int per_node = 1;
  if (MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
    MPI_Comm_size(node, &per_node);
    MPI_Comm_free(&node);
  }
  MPI_Allreduce(MPI_IN_PLACE, &per_node, 1, MPI_INT, MPI_MAX, comm);
  bench_put(&o, "ranks", b.p, "");
  bench_put(&o, "ranks_per_node", per_node, "the most ranks sharing a node");
  bench_put(&o, "reps", reps, "timed runs per median");
  bench_put(&o, "m", (double)m, "rows of the dense block (pass rate, least squares)");
  SPREC_TRY(measure_comm(&o, &b, reps, S), done);
  if (rank == 0) print_table(S, b.p, per_node);
  SPREC_TRY(measure_rates(&o, ctx, m, quick, reps, t), done);
done:
  if (ctx) err = bench_close_sinks(sprec_ctx_comm(ctx), out, &o, &outs, err);
  room_close(&b);
  free(t);
  sprec_ctx_destroy(&ctx);
  return err;
}
