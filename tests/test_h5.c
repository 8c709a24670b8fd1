/* HDF5 input (src/fmt/h5.c and the generic loaders of src/io/load.c), at any number of
 * ranks. The files are written by h5py (a script run on rank 0), never by the code
 * under test, with the expected values beside them as raw little-endian float64
 * (column-major): every layout the reader meets (C and Fortran order, by attribute
 * and by the :F suffix; contiguous, chunked, compressed; float64, float32, big-endian;
 * vectors, m x 1, n x b both orders) must give the data bit for bit, through few
 * rounds and through many (the staging size lowered). Then the writer, read back by
 * h5py, and the bad inputs: each one error, the same on every rank, naming the input. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#define M 7  /* rows: odd, so that no tile or vector width divides them */
#define N 23 /* columns: no rank count of 2..4 divides them */
#define B 3  /* problems of the n x b and m x b arrays */

extern int64_t sprec_h5_chunk_bytes; /* h5.c's staging size (not in a header) */

static char g_dir[256];
static int g_rank, g_size;
static double g_A[M * N], g_A32[M * N], g_Y[M * B], g_X[N * B];

static void path_of(char *out, size_t len, const char *name)
{
  snprintf(out, len, "%s/%s", g_dir, name);
}

static const char fixtures_py[] =
    "import sys, numpy as np, h5py\n"
    "d = sys.argv[1]; m, n, b = 7, 23, 3\n"
    "g = np.random.default_rng(15)\n"
    "A = g.standard_normal((m, n)) * 10.0 ** g.integers(-5, 6, (m, n))\n"
    "Y = g.standard_normal((m, b)); X = g.standard_normal((n, b))\n"
    "A32 = A.astype(np.float32)\n"
    "for name, a in (('A', A), ('A32', A32.astype(np.float64)), ('Y', Y), ('X', X)):\n"
    "    a.T.astype('<f8').tofile(d + '/' + name + '.bin')\n"
    "with h5py.File(d + '/a.h5', 'w') as f:\n"
    "    f['c'] = A\n"
    "    f.create_dataset('chunked', data=A, chunks=(3, 5))\n"
    "    f.create_dataset('gzip', data=A, chunks=(7, 4), compression='gzip')\n"
    "    f['grp/fattr'] = np.ascontiguousarray(A.T); f['grp/fattr'].attrs['order'] = 'F'\n"
    "    f['t'] = np.ascontiguousarray(A.T)\n"
    "    f.create_dataset('tchunked', data=np.ascontiguousarray(A.T), chunks=(4, 3))\n"
    "    f['cattr'] = A; f['cattr'].attrs['order'] = np.bytes_(b'C')\n"
    "    f['f32'] = A32\n"
    "    f.create_dataset('f32t', data=np.ascontiguousarray(A32.T), chunks=(5, 2))\n"
    "    f.create_dataset('be', data=A.astype('>f8'))\n"
    "    f['y'] = Y[:, 0]; f['ycol'] = Y[:, :1]; f['Y'] = Y\n"
    "    f['YF'] = np.ascontiguousarray(Y.T); f['YF'].attrs['order'] = 'F'\n"
    "    f['x'] = X[:, 0]; f['xcol'] = X[:, :1]; f['X'] = X; f['XT'] = np.ascontiguousarray(X.T)\n"
    "    f['xcolT'] = np.ascontiguousarray(X[:, :1].T)\n"
    "    f['cube'] = np.zeros((2, 3, 4)); f['int'] = np.zeros((m, n), dtype=np.int32)\n"
    "    f['str'] = 'text'; f['empty'] = np.zeros((0, 3))\n"
    "    f['badorder'] = A; f['badorder'].attrs['order'] = 'Z'\n"
    "    f['nan'] = np.where(np.arange(m * n).reshape(m, n) == 40, np.nan, A)\n"
    "    f['narrow'] = A[:, :1]\n"
    "raw = open(d + '/a.h5', 'rb').read()\n"
    "open(d + '/trunc.h5', 'wb').write(raw[:len(raw) // 2])\n"
    "open(d + '/plain.h5', 'wb').write(b'not an HDF5 file\\n' * 40)\n";

static int read_raw(const char *name, double *out, size_t count)
{
  char p[512];
  path_of(p, sizeof p, name);
  FILE *f = fopen(p, "rb");
  size_t got = f ? fread(out, sizeof *out, count, f) : 0;
  if (f) fclose(f);
  return got == count;
}

/* The suite's directory, the files h5py writes there, and the values beside them. */
static int make_fixtures(void)
{
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
  const char *d = tu_tmpdir();
  if (!d || !tu_python(fixtures_py, (const char *const[]){d, NULL})) return 0;
  snprintf(g_dir, sizeof g_dir, "%s", d);
  int ok = read_raw("A.bin", g_A, M * N) && read_raw("A32.bin", g_A32, M * N) &&
           read_raw("Y.bin", g_Y, M * B) && read_raw("X.bin", g_X, N * B);
  return tu_all(ok);
}

static sprec_ctx world(void)
{
  sprec_ctx ctx = NULL;
  ck_assert_int_eq(sprec_ctx_create(MPI_COMM_WORLD, &ctx), SPREC_OK);
  return ctx;
}

/* The operator of spec holds this rank's columns of ref exactly (as float if f32). */
static int op_matches(sprec_ctx ctx, const char *spec, sprec_dtype dt, const double *ref)
{
  char s[512];
  sprec_op A = NULL;
  path_of(s, sizeof s, spec);
  sprec_err e = sprec_op_load(ctx, s, dt, &A);
  int ok = e == SPREC_OK && sprec_op_rows(A) == M && sprec_op_cols(A) == N;
  if (ok) {
    int64_t c0 = sprec_op_col_start(A), nl = sprec_op_local_cols(A);
    ok = c0 == sprec_block_start(N, g_size, g_rank) && sprec_op_dtype(A) == dt;
    for (int64_t t = 0; ok && t < M * nl; t++) {
      double v = dt == SPREC_FLOAT64 ? ((const double *)sprec_op_local_block(A))[t]
                                     : (double)((const float *)sprec_op_local_block(A))[t];
      double want = dt == SPREC_FLOAT64 ? ref[c0 * M + t] : (double)(float)ref[c0 * M + t];
      ok = memcmp(&v, &want, sizeof v) == 0;
    }
  }
  if (!ok && g_rank == 0)
    fprintf(stderr, "%s (%s): %s\n", spec, dt == SPREC_FLOAT64 ? "float64" : "float32",
            e ? sprec_errmsg() : "columns differ from the data");
  sprec_op_destroy(&A);
  return tu_all(ok);
}

static const char *const layouts64[] = {"a.h5:/c",        "a.h5:/chunked", "a.h5:/gzip",
                                        "a.h5:/grp/fattr", "a.h5:/t:F",     "a.h5:/tchunked:F",
                                        "a.h5:/cattr",     "a.h5:/be",      "a.h5:/grp/fattr:F",
                                        NULL};

static void every_layout(sprec_ctx ctx)
{
  for (int i = 0; layouts64[i]; i++) {
    ck_assert_msg(op_matches(ctx, layouts64[i], SPREC_FLOAT64, g_A), "%s float64", layouts64[i]);
    ck_assert_msg(op_matches(ctx, layouts64[i], SPREC_FLOAT32, g_A), "%s float32", layouts64[i]);
  }
  ck_assert_msg(op_matches(ctx, "a.h5:/f32", SPREC_FLOAT64, g_A32), "f32 as float64");
  ck_assert_msg(op_matches(ctx, "a.h5:/f32t:F", SPREC_FLOAT64, g_A32), "f32t:F as float64");
  ck_assert_msg(op_matches(ctx, "a.h5:/f32t:F", SPREC_FLOAT32, g_A32), "f32t:F as float32");
}

START_TEST(dictionary_every_layout_bit_for_bit)
{
  sprec_ctx ctx = world();
  every_layout(ctx);
  sprec_ctx_destroy(&ctx);
}
END_TEST

/* Staging of 2 or 3 columns: many collective rounds, the ranks with fewer columns
 * taking part with empty selections. */
START_TEST(dictionary_many_rounds_bit_for_bit)
{
  int64_t keep = sprec_h5_chunk_bytes;
  sprec_ctx ctx = world();
  for (int64_t cols = 1; cols <= 3; cols += 2) {
    sprec_h5_chunk_bytes = cols * 8 * M;
    every_layout(ctx);
  }
  sprec_h5_chunk_bytes = keep;
  sprec_ctx_destroy(&ctx);
}
END_TEST

/* y (m, m x 1, m x b both orders) replicated; x and n x b rows distributed. */
START_TEST(vectors_and_batches_bit_for_bit)
{
  sprec_ctx ctx = world();
  const char *ys[] = {"a.h5:/y", "a.h5:/ycol", "a.h5:/Y", "a.h5:/YF"};
  const int yb[] = {1, 1, B, B};
  for (int i = 0; i < 4; i++) {
    char s[512];
    int b = 0;
    double *Y = NULL;
    path_of(s, sizeof s, ys[i]);
    sprec_err e = sprec_y_load(ctx, s, M, &b, &Y);
    int ok = e == SPREC_OK && b == yb[i] && memcmp(Y, g_Y, sizeof(double) * (size_t)(M * b)) == 0;
    if (!ok && g_rank == 0) fprintf(stderr, "%s: %s\n", ys[i], e ? sprec_errmsg() : "differs");
    free(Y);
    ck_assert_msg(tu_all(ok), "%s", ys[i]);
  }
  sprec_op A = NULL;
  char s[512];
  path_of(s, sizeof s, "a.h5:/c");
  ck_assert_int_eq(sprec_op_load(ctx, s, SPREC_FLOAT64, &A), SPREC_OK);
  int64_t c0 = sprec_op_col_start(A), nl = sprec_op_local_cols(A);
  const char *xs[] = {"a.h5:/x", "a.h5:/xcol", "a.h5:/X", "a.h5:/XT:F", "a.h5:/xcolT:F"};
  const int xb[] = {1, 1, B, B, 1};
  for (int i = 0; i < 5; i++) {
    double *X = NULL;
    path_of(s, sizeof s, xs[i]);
    sprec_err e = sprec_x_load(A, s, xb[i], &X);
    int ok = e == SPREC_OK;
    for (int p = 0; ok && p < xb[i]; p++)
      ok = memcmp(X + p * nl, g_X + p * N + c0, sizeof(double) * (size_t)nl) == 0;
    if (!ok && g_rank == 0) fprintf(stderr, "%s: %s\n", xs[i], e ? sprec_errmsg() : "differs");
    free(X);
    ck_assert_msg(tu_all(ok), "%s", xs[i]);
  }
  sprec_op_destroy(&A);
  sprec_ctx_destroy(&ctx);
}
END_TEST

/* The writer: each rank writes its columns; h5py reads the file back and compares it
 * with the data (the problem writer: /A C order, /y, /x_true dense). */
START_TEST(writer_read_back_by_h5py)
{
  sprec_ctx ctx = world();
  char s[512], dims[4][24];
  int64_t c0 = sprec_block_start(N, g_size, g_rank), nl = sprec_block_size(N, g_size, g_rank);
  double *blk = malloc(sizeof(double) * (size_t)(M * nl) + 1);
  memcpy(blk, g_A + c0 * M, sizeof(double) * (size_t)(M * nl));
  sprec_op A = NULL;
  ck_assert_int_eq(sprec_op_create_dense(ctx, M, N, blk, &A), SPREC_OK);
  sprec_sparse xt;
  sprec_sparse_init(&xt, 2);
  xt.nnz = 2, xt.idx[0] = 3, xt.idx[1] = N - 1, xt.val[0] = g_X[3], xt.val[1] = g_X[N - 1];
  path_of(s, sizeof s, "written.h5");
  sprec_err e = sprec_problem_save_h5(A, g_Y, &xt, s);
  ck_assert_msg(tu_all(e == SPREC_OK), "write: %s", sprec_errmsg());
  snprintf(dims[0], sizeof dims[0], "%d", M);
  snprintf(dims[1], sizeof dims[1], "%d", N);
  static const char check_py[] =
      "import sys, os, numpy as np, h5py\n"
      "d, m, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])\n"
      "f = h5py.File(d + '/written.h5', 'r')\n"
      "A = np.fromfile(d + '/A.bin').reshape(n, m).T; y = np.fromfile(d + '/Y.bin')[:m]\n"
      "X = np.fromfile(d + '/X.bin')[:n]; x = np.zeros(n); x[[3, n - 1]] = X[[3, n - 1]]\n"
      "ok = f['A'].dtype == '<f8' and np.array_equal(f['A'][()], A) and "
      "np.array_equal(f['y'][()], y) and np.array_equal(f['x_true'][()], x) and "
      "not [e for e in os.listdir(d) if '.tmp' in e]\n"
      "raise SystemExit(0 if ok else 1)\n";
  ck_assert_msg(tu_python(check_py, (const char *const[]){g_dir, dims[0], dims[1], NULL}),
                "h5py reads back other values");
  sprec_sparse_free(&xt);
  sprec_op_destroy(&A);
  sprec_ctx_destroy(&ctx);
}
END_TEST

/* spec must fail with code on every rank, the message holding want. */
static void refused(sprec_ctx ctx, const char *spec, sprec_err code, const char *want)
{
  char s[512];
  sprec_op A = NULL;
  path_of(s, sizeof s, spec);
  sprec_err e = sprec_op_load(ctx, s, SPREC_FLOAT64, &A);
  int ok = e == code && A == NULL && strstr(sprec_errmsg(), want) && !strchr(sprec_errmsg(), '\n');
  if (!ok && g_rank == 0)
    fprintf(stderr, "%s: got error %d '%s', want %d with '%s'\n", spec, (int)e, sprec_errmsg(),
            (int)code, want);
  sprec_op_destroy(&A);
  ck_assert_msg(tu_all(ok), "%s", spec);
}

START_TEST(bad_inputs_one_error_everywhere)
{
  sprec_ctx ctx = world();
  refused(ctx, "missing.h5:/A", SPREC_ERR_IO, "No such file");
  refused(ctx, "plain.h5:/A", SPREC_ERR_FORMAT, "not an HDF5 file");
  refused(ctx, "trunc.h5:/c", SPREC_ERR_FORMAT, "truncated");
  refused(ctx, "a.h5:/nope", SPREC_ERR_FORMAT, "no dataset /nope in the file; its datasets: /X (float64, 23 x 3), /XT");
  refused(ctx, "a.h5", SPREC_ERR_ARG, "name the dataset");
  refused(ctx, "a.h5:/cube", SPREC_ERR_FORMAT, "has 3 dimensions");
  refused(ctx, "a.h5:/int", SPREC_ERR_FORMAT, "element type int32");
  refused(ctx, "a.h5:/str", SPREC_ERR_FORMAT, "element type string");
  refused(ctx, "a.h5:/empty", SPREC_ERR_FORMAT, "is empty");
  refused(ctx, "a.h5:/badorder", SPREC_ERR_FORMAT, "attribute order must be");
  refused(ctx, "a.h5:/nan", SPREC_ERR_FORMAT, "NaN or Inf (row 1, column 17)");
  refused(ctx, "a.h5:/y", SPREC_ERR_FORMAT, "must be a 2-D array");
  if (g_size > 1) refused(ctx, "a.h5:/narrow", SPREC_ERR_ARG, "every rank needs at least one column");
  /* y of the wrong length for the dictionary */
  char s[512];
  int b;
  double *Y = NULL;
  path_of(s, sizeof s, "a.h5:/x");
  sprec_err e = sprec_y_load(ctx, s, M, &b, &Y);
  ck_assert_msg(tu_all(e == SPREC_ERR_FORMAT && strstr(sprec_errmsg(), "has 23 rows but the dictionary has m = 7")),
                "y shape: %s", sprec_errmsg());
  sprec_ctx_destroy(&ctx);
}
END_TEST

START_TEST(spec_split)
{
  char f[64], d[64];
  int h5 = -1;
  ck_assert_int_eq(sprec_h5_spec("dir/a.h5:/g/A", f, sizeof f, d, sizeof d, &h5), SPREC_OK);
  ck_assert_int_eq(h5, 1);
  ck_assert_str_eq(f, "dir/a.h5");
  ck_assert_str_eq(d, "/g/A");
  ck_assert_int_eq(sprec_h5_spec("x.hdf5:/A:F", f, sizeof f, d, sizeof d, &h5), SPREC_OK);
  ck_assert_int_eq(h5, 1);
  ck_assert_str_eq(f, "x.hdf5");
  ck_assert_str_eq(d, "/A:F");
  ck_assert_int_eq(sprec_h5_spec("x.H5", f, sizeof f, d, sizeof d, &h5), SPREC_OK);
  ck_assert_int_eq(h5, 1);
  ck_assert_str_eq(d, "");
  const char *not_h5[] = {"a.h5.npy", "A.npy", "h5:/A"};
  for (int t = 0; t < 3; t++) {
    h5 = -1;
    ck_assert_int_eq(sprec_h5_spec(not_h5[t], f, sizeof f, d, sizeof d, &h5), SPREC_OK);
    ck_assert_int_eq(h5, 0);
  }
  /* A part that does not fit: refused with a message naming the spec. */
  h5 = -1;
  ck_assert_int_eq(sprec_h5_spec("a.h5:/A", f, 4, d, sizeof d, &h5), SPREC_ERR_ARG);
  ck_assert_int_eq(h5, 0);
  ck_assert_str_eq(sprec_errmsg(), "a.h5:/A...: name too long");
  ck_assert_int_eq(sprec_h5_spec("a.h5:/Dataset", f, sizeof f, d, 4, &h5), SPREC_ERR_ARG);
}
END_TEST

TU_MAIN("h5", 120, make_fixtures, spec_split, dictionary_every_layout_bit_for_bit,
        dictionary_many_rounds_bit_for_bit, vectors_and_batches_bit_for_bit, writer_read_back_by_h5py,
        bad_inputs_one_error_everywhere)
