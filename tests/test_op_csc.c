/* The sparse (CSC) operator and its readers. A matrix is defined here column by column
 * from the RNG (some columns empty, one full, rows unsorted and repeated, values over
 * six orders of magnitude so that another summation order gives other bits), written
 * by this file's own writers as a stored and a deflated .npz (zlib; the central
 * directory with and without Zip64 fields) and as a .mtx, and also handed to
 * sprec_op_create_csc in memory. Each operator is checked against the dense matrix of
 * the same entries (repeats summed in order), built here serially:
 *  - Aᵀr, A_S x_S and the gathered columns bit for bit what the dense kernels give on
 *    it (the operator's promise, src/op/csc.c), and Aᵀr within 2mε‖a_j‖‖r‖ of a plain
 *    serial sum (independent of the kernels' order);
 *  - the norm estimate equal to the dense operator's;
 *  - a SEA solve giving the dense solve's support and values;
 * on every rank count the suite runs at (each against the same serial reference, so
 * the results are the same on all). Then hostile archives the CLI test cannot make
 * with SciPy: sizes that lie, a .npy header that announces more than its member; and
 * members' headers that numpy may write, or that a .npy file is refused for. */
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define M 37 /* not a multiple of 4: the lanes' tail */
#define N 203

/* Column j's entries in the order they are written: count, rows, values. */
static int column(int64_t j, int64_t *rows, double *vals)
{
  sprec_rng g;
  sprec_rng_seed(&g, 99, 5, (uint64_t)j);
  int c = (int)(sprec_rng_uniform(&g) * 9);
  if (j % 17 == 3) c = 0;
  if (j == 40) c = M + 3;
  for (int t = 0; t < c; t++) {
    rows[t] = j == 40 ? (t < M ? M - 1 - t : t - M) : (int64_t)(sprec_rng_uniform(&g) * M);
    double mag = (t % 3 == 0) ? 1e3 : (t % 3 == 1) ? 1e-3 : 1.0;
    vals[t] = sprec_rng_normal(&g) * mag;
  }
  return c;
}

/* The whole matrix as the files hold it (CSC, file order) and densified. */
typedef struct {
  int64_t nnz, colptr[N + 1], *rows;
  double *vals, *dense;
} matrix;

static void make_matrix(matrix *a)
{
  int64_t r[2 * M];
  double v[2 * M];
  a->rows = malloc(sizeof(int64_t) * N * 2 * M);
  a->vals = malloc(sizeof(double) * N * 2 * M);
  a->dense = calloc(M * N, sizeof(double));
  a->nnz = 0;
  for (int64_t j = 0; j < N; j++) {
    a->colptr[j] = a->nnz;
    int c = column(j, r, v);
    for (int t = 0; t < c; t++) {
      a->rows[a->nnz] = r[t], a->vals[a->nnz++] = v[t];
      a->dense[r[t] + j * M] += v[t];
    }
  }
  a->colptr[N] = a->nnz;
}

/* ------------------------------------------------------------- writers -- */
typedef struct {
  const char *name;
  unsigned char *buf;
  size_t len;
} blob;

/* A version 1 .npy array of one dimension (or none: count < 0). */
static blob npy(const char *name, const char *descr, int64_t count, const void *data, int elsize)
{
  char h[128];
  int hl = count >= 0 ? snprintf(h, sizeof h, "{'descr': '%s', 'fortran_order': False, 'shape': (%lld,), }",
                                 descr, (long long)count)
                      : snprintf(h, sizeof h, "{'descr': '%s', 'fortran_order': False, 'shape': (), }", descr);
  int total = (10 + hl + 1 + 63) / 64 * 64;
  size_t dl = (size_t)(count < 0 ? 1 : count) * (size_t)elsize;
  blob b = {name, calloc(1, (size_t)total + dl), (size_t)total + dl};
  memcpy(b.buf, "\x93NUMPY\x01\x00", 8);
  b.buf[8] = (unsigned char)((total - 10) & 255), b.buf[9] = (unsigned char)((total - 10) >> 8);
  memset(b.buf + 10, ' ', (size_t)(total - 10));
  memcpy(b.buf + 10, h, (size_t)hl);
  b.buf[total - 1] = '\n';
  memcpy(b.buf + total, data, dl);
  return b;
}

static void put(FILE *f, uint64_t v, int n)
{
  for (int i = 0; i < n; i++) fputc((int)(v >> (8 * i)) & 255, f);
}

/* A zip archive of the blobs: stored or deflated; zip64: the central directory gives
 * sizes and offsets in Zip64 extra fields and its own place in the Zip64 end record (as
 * for members or archives over 4 GiB); lie_usize: the
 * central directory claims this uncompressed size for the last member. */
static void write_zip(const char *path, blob *m, int nm, int deflated, int zip64, uint64_t lie_usize)
{
  FILE *f = fopen(path, "wb");
  uint32_t crc[8];
  uint64_t off[8], cs[8];
  for (int k = 0; k < nm; k++) {
    crc[k] = (uint32_t)crc32(0, m[k].buf, (uInt)m[k].len);
    unsigned char *out = m[k].buf;
    cs[k] = m[k].len;
    if (deflated) {
      z_stream z = {0};
      deflateInit2(&z, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
      out = malloc(deflateBound(&z, m[k].len));
      z.next_in = m[k].buf, z.avail_in = (uInt)m[k].len;
      z.next_out = out, z.avail_out = (uInt)deflateBound(&z, m[k].len);
      if (deflate(&z, Z_FINISH) != Z_STREAM_END) abort(); /* not in a test: no ck_assert */
      cs[k] = z.total_out;
      deflateEnd(&z);
    }
    off[k] = (uint64_t)ftell(f);
    put(f, 0x04034b50, 4), put(f, 20, 2), put(f, 0, 2), put(f, deflated ? 8 : 0, 2);
    put(f, 0, 2), put(f, 0x21, 2), put(f, crc[k], 4), put(f, cs[k], 4), put(f, m[k].len, 4);
    put(f, strlen(m[k].name), 2), put(f, 0, 2);
    fputs(m[k].name, f);
    fwrite(out, 1, cs[k], f);
    if (out != m[k].buf) free(out);
  }
  uint64_t cd = (uint64_t)ftell(f);
  for (int k = 0; k < nm; k++) {
    uint64_t us = k == nm - 1 && lie_usize ? lie_usize : m[k].len;
    put(f, 0x02014b50, 4), put(f, 20, 2), put(f, 20, 2), put(f, 0, 2), put(f, deflated ? 8 : 0, 2);
    put(f, 0, 2), put(f, 0x21, 2), put(f, crc[k], 4);
    put(f, zip64 ? 0xFFFFFFFFu : cs[k], 4), put(f, zip64 ? 0xFFFFFFFFu : us, 4);
    put(f, strlen(m[k].name), 2), put(f, zip64 ? 28 : 0, 2), put(f, 0, 2), put(f, 0, 2);
    put(f, 0, 2), put(f, 0, 4), put(f, zip64 ? 0xFFFFFFFFu : off[k], 4);
    fputs(m[k].name, f);
    if (zip64) put(f, 1, 2), put(f, 24, 2), put(f, us, 8), put(f, cs[k], 8), put(f, off[k], 8);
  }
  uint64_t cde = (uint64_t)ftell(f);
  if (zip64) { /* the Zip64 end record and its locator; the classic record says "see there" */
    put(f, 0x06064b50, 4), put(f, 44, 8), put(f, 45, 2), put(f, 45, 2), put(f, 0, 4), put(f, 0, 4);
    put(f, (uint64_t)nm, 8), put(f, (uint64_t)nm, 8), put(f, cde - cd, 8), put(f, cd, 8);
    put(f, 0x07064b50, 4), put(f, 0, 4), put(f, cde, 8), put(f, 1, 4);
  }
  put(f, 0x06054b50, 4), put(f, 0, 4), put(f, zip64 ? 0xFFFF : (uint64_t)nm, 2);
  put(f, zip64 ? 0xFFFF : (uint64_t)nm, 2), put(f, zip64 ? 0xFFFFFFFFu : cde - cd, 4);
  put(f, zip64 ? 0xFFFFFFFFu : cd, 4), put(f, 0, 2);
  fclose(f);
}

/* The blob's .npy header text replaced by dict (padded with spaces: it must fit). */
static void set_dict(blob *b, const char *dict)
{
  size_t room = (size_t)(b->buf[8] | b->buf[9] << 8) - 1;
  if (strlen(dict) > room) abort(); /* not in a test: no ck_assert */
  memset(b->buf + 10, ' ', room);
  memcpy(b->buf + 10, dict, strlen(dict));
}

/* The matrix as save_npz writes it: int32 indices and indptr, float64 data; indptr_dict:
 * another header text for indptr.npy (NULL: numpy's). */
static void write_npz(const char *path, const matrix *a, int deflated, int zip64, uint64_t lie,
                      int64_t lie_count, const char *indptr_dict)
{
  int32_t *ind = malloc(sizeof(int32_t) * (size_t)a->nnz), ip[N + 1];
  for (int64_t p = 0; p < a->nnz; p++) ind[p] = (int32_t)a->rows[p];
  for (int j = 0; j <= N; j++) ip[j] = (int32_t)a->colptr[j];
  int64_t shape[2] = {M, N};
  blob m[5] = {npy("indices.npy", "<i4", a->nnz, ind, 4), npy("indptr.npy", "<i4", N + 1, ip, 4),
               npy("format.npy", "|S3", -1, "csc", 3), npy("shape.npy", "<i8", 2, shape, 8),
               npy("data.npy", "<f8", a->nnz, a->vals, 8)};
  if (lie_count) { /* the header announces more values than the member holds */
    free(m[4].buf);
    m[4] = npy("data.npy", "<f8", a->nnz, a->vals, 8);
    char *s = strstr((char *)m[4].buf + 10, "(");
    char num[32];
    int k = snprintf(num, sizeof num, "(%lld,)", (long long)lie_count);
    memcpy(s, num, (size_t)k);
  }
  if (indptr_dict) set_dict(&m[1], indptr_dict);
  write_zip(path, m, 5, deflated, zip64, lie);
  for (int k = 0; k < 5; k++) free(m[k].buf);
  free(ind);
}

static void write_mtx(const char *path, const matrix *a)
{
  FILE *f = fopen(path, "w");
  fprintf(f, "%%%%MatrixMarket matrix coordinate real general\n%% written by test_op_csc\n");
  fprintf(f, "%d %d %lld\n", M, N, (long long)a->nnz);
  /* columns in reverse, so that the reader's order within a column is what counts */
  for (int64_t j = N - 1; j >= 0; j--)
    for (int64_t p = a->colptr[j]; p < a->colptr[j + 1]; p++)
      fprintf(f, "%lld %lld %.17g\n", (long long)a->rows[p] + 1, (long long)j + 1, a->vals[p]);
  fclose(f);
}

/* ------------------------------------------------------------- checks -- */
static matrix A0;
static char dir[256];

static const char *file(const char *name)
{
  static char p[512];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return p;
}

/* The dense operator over the reference matrix, on the world. */
static sprec_op dense_op(sprec_ctx ctx)
{
  int64_t c0 = sprec_block_start(N, ctx->size, ctx->rank), nl = sprec_block_size(N, ctx->size, ctx->rank);
  double *blk = malloc(sizeof(double) * (size_t)(M * nl));
  memcpy(blk, A0.dense + c0 * M, sizeof(double) * (size_t)(M * nl));
  sprec_op D;
  ck_assert(sprec_op_create_dense(ctx, M, N, blk, &D) == SPREC_OK);
  return D;
}

/* Aᵀr, A x, columns, norm estimate and a SEA solve against the dense matrix. */
static void check_op(sprec_op A, const char *what)
{
  sprec_ctx ctx = A->ctx;
  int64_t nl = A->n_local, c0 = A->col_start;
  const double *Ad = A0.dense;
  ck_assert_all(A->m == M && A->n == N && !strcmp(sprec_op_kind(A), "csc"), "%s: shape or kind", what);
  char desc[160];
  sprec_op_describe(A, desc, sizeof desc);
  int64_t nnz = 0;
  for (int64_t t = 0; t < M * N; t++) nnz += Ad[t] != 0;
  char want[64];
  snprintf(want, sizeof want, "nnz %lld,", (long long)nnz);
  ck_assert_all(strstr(desc, want) != NULL, "%s: describe '%s' lacks '%s'", what, desc, want);

  double r[M], g[N], gd[N];
  for (int i = 0; i < M; i++) r[i] = cos(1.7 * i) * (i % 4 == 1 ? 1e-4 : 1.0);
  ck_assert_all(sprec_op_apply_T(A, r, g) == SPREC_OK, "%s: apply_T", what);
  sprec_kernel_gemv_t(M, nl, Ad + c0 * M, M, r, gd);
  int ok = memcmp(g, gd, sizeof(double) * (size_t)nl) == 0;
  double worst = 0, rn = sqrt(sprec_nrm2sq(M, r));
  for (int64_t j = 0; j < nl; j++) {
    const double *a = Ad + (c0 + j) * M;
    double s = 0, an = 0;
    for (int i = 0; i < M; i++) s += a[i] * r[i], an += a[i] * a[i];
    worst = fmax(worst, an > 0 ? fabs(g[j] - s) / (sqrt(an) * rn) : fabs(g[j]));
  }
  ok &= tu_within("csc Aᵀr against a serial sum", worst, 2 * (double)M * DBL_EPSILON);
  ck_assert_all(ok, "%s: Aᵀr not the dense kernel's bits, or %.3g from the serial sum", what, worst);

  /* several right-hand sides in one pass: each apply_T's bits (groups of 4 and a tail) */
  double R[6][M], G[6][N], *rp[6], *gp[6];
  for (int q = 0; q < 6; q++) {
    for (int i = 0; i < M; i++) R[q][i] = sin(0.3 * i + q) * (q == 2 ? 1e5 : 1.0);
    rp[q] = R[q], gp[q] = G[q];
  }
  ok = sprec_op_apply_T_many(A, 6, (const double *const *)rp, gp) == SPREC_OK;
  for (int q = 0; ok && q < 6; q++) {
    ok = sprec_op_apply_T(A, R[q], gd) == SPREC_OK;
    ok = ok && memcmp(G[q], gd, sizeof(double) * (size_t)nl) == 0;
  }
  ck_assert_all(ok, "%s: apply_T_many differs from apply_T", what);

  int64_t S[6] = {0, 3, 40, 41, 150, 202};
  double xv[6] = {1.5, -2, 0.25, 3, -1e-3, 7}, ax[M], ref[M], cols[M * 6];
  sprec_sparse x = {6, 6, S, xv};
  sprec_op D = dense_op(ctx);
  /* A x: the dense operator's bits (the same terms, the same exact sums) */
  ck_assert_all(sprec_op_apply_sparse(A, &x, ax) == SPREC_OK, "%s: apply_sparse", what);
  ck_assert_all(sprec_op_apply_sparse(D, &x, ref) == SPREC_OK, "%s: apply_sparse (dense)", what);
  ok = memcmp(ax, ref, sizeof ax) == 0;
  ok &= sprec_op_gather_columns(A, 6, S, cols) == SPREC_OK;
  for (int t = 0; ok && t < 6; t++) ok = memcmp(cols + t * M, Ad + S[t] * M, sizeof(double) * M) == 0;
  ck_assert_all(ok, "%s: A x or the gathered columns differ from the dense matrix", what);

  double L, Ld;
  ck_assert_all(sprec_op_norm2_est(A, &L) == SPREC_OK && sprec_op_norm2_est(D, &Ld) == SPREC_OK,
                "%s: norm estimate", what);
  ck_assert_all(L == Ld, "%s: norm estimate %.17g, dense %.17g", what, L, Ld);

  int64_t St[4] = {5, 40, 77, 120};
  double vt[4] = {2, -1.5, 1, 3}, y[M];
  sprec_sparse xt = {4, 4, St, vt};
  ck_assert_all(sprec_op_apply_sparse(D, &xt, y) == SPREC_OK, "y");
  sprec_opts o;
  sprec_opts_default(&o);
  o.k = 4;
  o.iters = 150;
  sprec_solver s;
  sprec_sparse xs = {0}, xd = {0};
  ck_assert_all(sprec_solver_create(ctx, &o, &s) == SPREC_OK, "solver");
  ok = sprec_solver_solve(s, A, y, NULL, &xs) == SPREC_OK;
  ok &= sprec_solver_solve(s, D, y, NULL, &xd) == SPREC_OK;
  ok &= xs.nnz == xd.nnz;
  for (int64_t t = 0; ok && t < xs.nnz; t++) ok = xs.idx[t] == xd.idx[t] && xs.val[t] == xd.val[t];
  ck_assert_all(ok, "%s: the SEA solve differs from the dense solve", what);
  sprec_solver_destroy(&s);
  sprec_sparse_free(&xs);
  sprec_sparse_free(&xd);
  sprec_op_destroy(&D);
}

static void check_file(const char *name)
{
  sprec_ctx ctx;
  sprec_op A = NULL;
  sprec_ctx_create(MPI_COMM_WORLD, &ctx);
  sprec_err e = sprec_op_load_csc(ctx, file(name), &A);
  ck_assert_all(e == SPREC_OK, "%s: %s", name, sprec_errmsg());
  check_op(A, name);
  sprec_op_destroy(&A);
  sprec_ctx_destroy(&ctx);
}

START_TEST(npz_stored) { check_file("stored.npz"); }
END_TEST
START_TEST(npz_deflated) { check_file("deflated.npz"); }
END_TEST
START_TEST(npz_zip64_fields) { check_file("zip64.npz"); }
END_TEST
START_TEST(matrix_market) { check_file("a.mtx"); }
END_TEST

/* This rank's columns handed over in memory, rows unsorted and repeated, with 32- and
 * 64-bit indices kept. */
START_TEST(in_memory)
{
  for (int bits = 32; bits <= 64; bits += 32) {
    sprec_ctx ctx;
    sprec_op A = NULL;
    sprec_ctx_create(MPI_COMM_WORLD, &ctx);
    int64_t c0 = sprec_block_start(N, ctx->size, ctx->rank), nl = sprec_block_size(N, ctx->size, ctx->rank);
    int64_t lo = A0.colptr[c0], cnt = A0.colptr[c0 + nl] - lo;
    int64_t *cp = malloc(sizeof(int64_t) * (size_t)(nl + 1)), *rows = malloc(sizeof(int64_t) * (size_t)(cnt + 1));
    double *vals = malloc(sizeof(double) * (size_t)(cnt + 1));
    for (int64_t j = 0; j <= nl; j++) cp[j] = A0.colptr[c0 + j] - lo;
    memcpy(rows, A0.rows + lo, sizeof(int64_t) * (size_t)cnt);
    memcpy(vals, A0.vals + lo, sizeof(double) * (size_t)cnt);
    ck_assert_all(sprec_op_create_csc(ctx, M, N, cp, rows, vals, bits, &A) == SPREC_OK, "create: %s",
                  sprec_errmsg());
    char desc[160];
    sprec_op_describe(A, desc, sizeof desc);
    ck_assert_all(strstr(desc, bits == 32 ? "int32 indices" : "int64 indices") != NULL, "%s", desc);
    check_op(A, bits == 32 ? "in memory, int32" : "in memory, int64");
    sprec_op_destroy(&A);
    sprec_ctx_destroy(&ctx);
  }
}
END_TEST

/* Archives whose sizes lie: every rank refuses, with the same message naming the file. */
static void refused(const char *name, const char *phrase)
{
  sprec_ctx ctx;
  sprec_op A = NULL;
  sprec_ctx_create(MPI_COMM_WORLD, &ctx);
  sprec_err e = sprec_op_load_csc(ctx, file(name), &A);
  const char *msg = sprec_errmsg();
  ck_assert_all(e == SPREC_ERR_FORMAT && A == NULL && strstr(msg, file(name)) && strstr(msg, phrase),
                "%s: error %d '%s', want '%s'", name, (int)e, msg, phrase);
  sprec_ctx_destroy(&ctx);
}

START_TEST(lying_sizes)
{
  refused("huge.npz", "more than deflate can give");
  refused("announce.npz", "announces");
  refused("short.npz", "indices but"); /* data.npy announces one value more */
  refused("cut.npz", "damaged central directory");
}
END_TEST

/* A member's .npy header goes through the parser of .npy files: what numpy writes is
 * read (double quotes, a tab, keys in another order, a Python 2 long), what a .npy file
 * is refused for is refused, with the member named. */
START_TEST(member_headers)
{
  sprec_ctx ctx;
  sprec_op A = NULL;
  sprec_ctx_create(MPI_COMM_WORLD, &ctx);
  sprec_err e = sprec_op_load_csc(ctx, file("dquote.npz"), &A);
  ck_assert_all(e == SPREC_OK && sprec_op_cols(A) == N, "dquote.npz: %s", sprec_errmsg());
  sprec_op_destroy(&A);
  sprec_ctx_destroy(&ctx);
  refused("key.npz", "indptr.npy: malformed .npy header: unexpected key 'x'");
  refused("after.npz", "indptr.npy: malformed .npy header: unexpected text after the dict");
  refused("dtype.npz", "indptr.npy: unsupported dtype '<i+4'");
}
END_TEST

static void write_files(void)
{
  write_npz(file("stored.npz"), &A0, 0, 0, 0, 0, NULL);
  write_npz(file("deflated.npz"), &A0, 1, 0, 0, 0, NULL);
  write_npz(file("zip64.npz"), &A0, 1, 1, 0, 0, NULL);
  write_mtx(file("a.mtx"), &A0);
  /* indptr.npy's header as numpy may write it, and as no .npy file may have it */
  char d[128];
  snprintf(d, sizeof d, "{\"shape\": (%dL,),\t\"fortran_order\": False, \"descr\": \"<i4\"}", N + 1);
  write_npz(file("dquote.npz"), &A0, 1, 0, 0, 0, d);
  snprintf(d, sizeof d, "{'descr': '<i4', 'fortran_order': False, 'shape': (%d,), 'x': 1}", N + 1);
  write_npz(file("key.npz"), &A0, 1, 0, 0, 0, d);
  snprintf(d, sizeof d, "{'descr': '<i4', 'fortran_order': False, 'shape': (%d,)} x", N + 1);
  write_npz(file("after.npz"), &A0, 0, 0, 0, 0, d);
  snprintf(d, sizeof d, "{'descr': '<i+4', 'fortran_order': False, 'shape': (%d,)}", N + 1);
  write_npz(file("dtype.npz"), &A0, 0, 0, 0, 0, d);
  write_npz(file("huge.npz"), &A0, 1, 0, 0xF0000000u, 0, NULL);
  write_npz(file("announce.npz"), &A0, 1, 0, 8 * (uint64_t)A0.nnz + 128 + 4096, 0, NULL);
  /* consistent header and size, one value more than the stream holds */
  write_npz(file("short.npz"), &A0, 1, 0, 8 * (uint64_t)(A0.nnz + 1) + 128, A0.nnz + 1, NULL);
  /* a stored archive whose central directory size says 0 while it lists 5 entries */
  write_npz(file("cut.npz"), &A0, 0, 0, 0, 0, NULL);
  FILE *f = fopen(file("cut.npz"), "r+b");
  fseek(f, -22 + 12, SEEK_END);
  put(f, 0, 4); /* the central directory's size: 0, so data.npy's entry is missing */
  fclose(f);
}


/* ---------------------------------------------------------- bandwidth -- */
/* SPREC_CSC_BENCH=1: instead of the suite, the pass over a CSC matrix of n = 10^6
 * columns with 10 random rows each (m from 10^4, r in L2, to 10^7, r in memory) at
 * 32- and 64-bit indices, against references measured in the same run on the same
 * ranks: a streaming read of the same bytes (eight accumulators) and the dense
 * operator's pass (sprec_kernel_gemv_t) over a dense block of the same bytes; and the
 * same rows in a band (row ≈ j·m/n: r read almost in order). Best of 5, max over
 * ranks. Also a plain one-accumulator sum over the same arrays: the price of summing
 * in the dense kernel's lanes (which is what makes the results the dense ones). */
static double stream_read(const double *a, int64_t len)
{
  double s[8] = {0};
  for (int64_t i = 0; i + 8 <= len; i += 8)
    for (int l = 0; l < 8; l++) s[l] += a[i + l];
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

static void plain_sum(int64_t nl, const int64_t *cp, const int32_t *row, const double *val,
                      const double *r, double *g)
{
  for (int64_t j = 0; j < nl; j++) {
    double s = 0;
    for (int64_t p = cp[j]; p < cp[j + 1]; p++) s += val[p] * r[row[p]];
    g[j] = s;
  }
}

/* One timed pass, the slowest rank's. */
#define BEST1(var, stmt)                                                                 \
  do {                                                                                   \
    MPI_Barrier(MPI_COMM_WORLD);                                                         \
    double t0_ = MPI_Wtime();                                                            \
    stmt;                                                                                \
    var = MPI_Wtime() - t0_;                                                             \
    MPI_Allreduce(MPI_IN_PLACE, &var, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);           \
  } while (0)

static void bench_case(sprec_ctx ctx, int64_t m, int banded, int bits)
{
  const int64_t n = 1000000, per = 10;
  int64_t c0 = sprec_block_start(n, ctx->size, ctx->rank), nl = sprec_block_size(n, ctx->size, ctx->rank);
  int64_t nnz = nl * per;
  int64_t *cp = malloc(sizeof(int64_t) * (size_t)(nl + 1)), *rows = malloc(sizeof(int64_t) * (size_t)nnz);
  double *vals = malloc(sizeof(double) * (size_t)nnz), *r = malloc(sizeof(double) * (size_t)m);
  double *g = malloc(sizeof(double) * (size_t)nl);
  int32_t *r32 = malloc(sizeof(int32_t) * (size_t)nnz);
  sprec_rng rng;
  sprec_rng_seed(&rng, 5, 1, (uint64_t)ctx->rank);
  for (int64_t j = 0; j <= nl; j++) cp[j] = j * per;
  for (int64_t p = 0; p < nnz; p++) {
    int64_t j = c0 + p / per, base = j * m / n;
    rows[p] = banded ? (base + (int64_t)(sprec_rng_uniform(&rng) * 64)) % m
                     : (int64_t)(sprec_rng_uniform(&rng) * (double)m);
    vals[p] = sprec_rng_normal(&rng);
  }
  for (int64_t i = 0; i < m; i++) r[i] = sprec_rng_normal(&rng);
  /* the plain sum's own copy of the same entries */
  int64_t *cpl = malloc(sizeof(int64_t) * (size_t)(nl + 1));
  double *vl = malloc(sizeof(double) * (size_t)nnz);
  memcpy(cpl, cp, sizeof(int64_t) * (size_t)(nl + 1));
  memcpy(vl, vals, sizeof(double) * (size_t)nnz);
  for (int64_t p = 0; p < nnz; p++) r32[p] = (int32_t)rows[p];
  sprec_op A;
  if (sprec_op_create_csc(ctx, m, n, cp, rows, vals, bits, &A)) {
    fprintf(stderr, "create: %s\n", sprec_errmsg());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  /* the references over the same bytes, timed pass by pass with the CSC passes */
  double bytes = (double)nnz * (bits == 64 ? 16 : 12) + (double)(nl + 1) * 8;
  int64_t len = (int64_t)(bytes / 8), md = 1000, nd = len / md;
  double *buf = malloc(sizeof(double) * (size_t)len), *rd = malloc(sizeof(double) * md);
  double *gd = malloc(sizeof(double) * (size_t)nd), sink = 0;
  for (int64_t i = 0; i < len; i++) buf[i] = 1.0 / (double)(i + 1);
  for (int64_t i = 0; i < md; i++) rd[i] = 1;
  double t = INFINITY, tp = INFINITY, ts = INFINITY, td = INFINITY;
  for (int rep = 0; rep < 5; rep++) {
    double x;
    BEST1(x, sink += stream_read(buf, len));
    ts = fmin(ts, x);
    BEST1(x, sprec_kernel_gemv_t(md, nd, buf, md, rd, gd));
    td = fmin(td, x);
    BEST1(x, sprec_op_apply_T(A, r, g));
    t = fmin(t, x);
    BEST1(x, plain_sum(nl, cpl, r32, vl, r, g));
    tp = fmin(tp, x);
  }
  if (ctx->rank == 0)
    printf("m=%-9lld %-6s int%d  %.4f s/pass  %5.2f GB/s/rank  stream %5.2f GB/s: x%.2f  dense "
           "%5.2f GB/s: x%.2f  plain sum %.4f s (lanes x%.2f)%s\n",
           (long long)m, banded ? "banded" : "random", bits, t, bytes / t / 1e9,
           8.0 * (double)len / ts / 1e9, ts / t, 8.0 * (double)(md * nd) / td / 1e9,
           td / t * (double)len / (double)(md * nd), tp, t / tp, sink == 0 ? "" : " ");
  free(buf), free(rd), free(gd);
  sprec_op_destroy(&A);
  free(r), free(g), free(r32), free(cpl), free(vl);
}

static int bench(void)
{
  sprec_ctx ctx;
  sprec_ctx_create(MPI_COMM_WORLD, &ctx);
  if (ctx->rank == 0)
    printf("ranks %d, kernel %s; best of 5 passes each, taken in turn (x: CSC bytes per second "
           "over the reference's)\n", ctx->size, sprec_kernel_variant());
  int64_t ms[4] = {10000, 100000, 1000000, 10000000};
  for (int k = 0; k < 4; k++) bench_case(ctx, ms[k], 0, 32);
  bench_case(ctx, 10000000, 1, 32);
  bench_case(ctx, 100000, 0, 64);
  bench_case(ctx, 10000000, 0, 64);
  sprec_ctx_destroy(&ctx);
  MPI_Finalize();
  return 0;
}

/* The matrix, the suite's directory and (rank 0) the files in it. */
static int setup(void)
{
  make_matrix(&A0);
  const char *d = tu_tmpdir();
  if (!d) return 0;
  snprintf(dir, sizeof dir, "%s", d);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0) write_files();
  MPI_Barrier(MPI_COMM_WORLD);
  return 1;
}

/* SPREC_CSC_BENCH=1: the bandwidth measurement instead of the tests (README). */
int main(int argc, char **argv)
{
  if (getenv("SPREC_CSC_BENCH")) {
    MPI_Init(&argc, &argv);
    return bench();
  }
  return tu_main(&argc, &argv, "op_csc", 120, setup,
                 (const TTest *const[]){in_memory, npz_stored, npz_deflated, npz_zip64_fields,
                                        matrix_market, lying_sizes, member_headers, NULL});
}
