/* sprec_op_fingerprint: the same dictionary gives the same text, another gives another,
 * for any number of ranks. Each operator is made twice in one run, on all the ranks
 * and on each rank alone (a one-rank context), and the two texts compared; the suite
 * runs at several rank counts, so every count is compared with one rank. Covered: the
 * dense loaders (.npy, HDF5, float64 and float32) against the hash of a block given
 * in memory, the sparse loader (.mtx) against sprec_op_create_csc, the generators
 * (their parameters, exactly), the convolution operator; one changed value (one ulp),
 * another shape, another dtype or another seed each change the text. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define M 37 /* not a multiple of 4: the hash's lane tail */
#define N 203

typedef struct {
  sprec_ctx world, self;
} ctxs;

static ctxs contexts(void)
{
  ctxs c = {NULL, NULL};
  ck_assert_all(tu_tmpdir() != NULL, "a directory"); /* (collective at its first call) */
  ck_assert_all(sprec_ctx_create(MPI_COMM_WORLD, &c.world) == SPREC_OK &&
                    sprec_ctx_create(MPI_COMM_SELF, &c.self) == SPREC_OK,
                "contexts");
  return c;
}

static void contexts_free(ctxs *c)
{
  sprec_ctx_destroy(&c->world);
  sprec_ctx_destroy(&c->self);
}

/* op's fingerprint into fp (""; and a failed check, on error), op destroyed. */
static int take(sprec_err made, sprec_op *op, char fp[SPREC_FINGERPRINT_LEN])
{
  fp[0] = '\0';
  int ok = made == SPREC_OK && sprec_op_fingerprint(*op, fp, SPREC_FINGERPRINT_LEN) == SPREC_OK;
  if (!ok) fprintf(stderr, "fingerprint: %s\n", sprec_errmsg());
  sprec_op_destroy(op);
  return ok;
}

/* The file's dictionary on all ranks and on each alone: the same text, into fp. */
static int load_both(ctxs *c, const char *spec, sprec_dtype dt, char fp[SPREC_FINGERPRINT_LEN])
{
  sprec_op A = NULL;
  char alone[SPREC_FINGERPRINT_LEN];
  int ok = take(sprec_op_load(c->world, spec, dt, &A), &A, fp);
  ok &= take(sprec_op_load(c->self, spec, dt, &A), &A, alone);
  if (strcmp(fp, alone)) fprintf(stderr, "%s: %s on all ranks, %s on one\n", spec, fp, alone);
  return ok && !strcmp(fp, alone);
}

static const char *path(const char *name)
{
  static char p[4][4096];
  static int i;
  i = (i + 1) % 4;
  snprintf(p[i], sizeof p[i], "%s/%s", tu_tmpdir(), name);
  return p[i];
}

/* A dense block given in memory (a copy of A, m x n, on one rank) is hashed at the
 * first call, and gives the loaders' text for the same values. */
static int block_fp(sprec_ctx self, const double *A, int64_t m, int64_t n, int single,
                    char fp[SPREC_FINGERPRINT_LEN])
{
  sprec_op op = NULL;
  sprec_err err;
  if (single) {
    float *b = malloc(sizeof(float) * (size_t)(m * n));
    for (int64_t i = 0; i < m * n; i++) b[i] = (float)A[i];
    err = sprec_op_create_dense_f32(self, m, n, b, &op);
  } else {
    double *b = malloc(sizeof(double) * (size_t)(m * n));
    memcpy(b, A, sizeof(double) * (size_t)(m * n));
    err = sprec_op_create_dense(self, m, n, b, &op);
  }
  return take(err, &op, fp);
}

START_TEST(dense_loaders)
{
  ctxs c = contexts();
  sprec_problem P = tu_problem(SPREC_PROBLEM_GAUSSIAN, M, N, 4, INFINITY, 11);
  double *A = NULL, *y = NULL;
  sprec_sparse xt = {0};
  tu_reference_problem(&P, &A, &y, &xt);
  int rank = sprec_ctx_rank(c.world), ok = 1;
  /* the same values as .npy, in HDF5, one entry one ulp off, one column fewer */
  sprec_op full = NULL;
  double *b = malloc(sizeof(double) * M * N);
  memcpy(b, A, sizeof(double) * M * N);
  ok &= sprec_op_create_dense(c.self, M, N, b, &full) == SPREC_OK;
  if (rank == 0) {
    ok &= sprec_op_save_npy(full, path("A.npy")) == SPREC_OK;
    ok &= sprec_problem_save_h5(full, y, &xt, path("A.h5")) == SPREC_OK;
    double keep = A[5 + 100 * M];
    A[5 + 100 * M] = nextafter(keep, INFINITY);
    ok &= sprec_npy_write_cols(MPI_COMM_SELF, path("ulp.npy"), 2, M, N, 0, N, A) == SPREC_OK;
    A[5 + 100 * M] = keep;
    ok &= sprec_npy_write_cols(MPI_COMM_SELF, path("narrow.npy"), 2, M, N - 1, 0, N - 1, A) == SPREC_OK;
  }
  sprec_op_destroy(&full);
  ck_assert_all(ok, "files: %s", sprec_errmsg());
  MPI_Barrier(MPI_COMM_WORLD);

  char npy[SPREC_FINGERPRINT_LEN], h5[SPREC_FINGERPRINT_LEN], f32[SPREC_FINGERPRINT_LEN],
      ulp[SPREC_FINGERPRINT_LEN], narrow[SPREC_FINGERPRINT_LEN], mem[SPREC_FINGERPRINT_LEN],
      mem32[SPREC_FINGERPRINT_LEN];
  char spec[4200];
  snprintf(spec, sizeof spec, "%s:/A", path("A.h5"));
  ok &= load_both(&c, path("A.npy"), SPREC_FLOAT64, npy);
  ok &= load_both(&c, spec, SPREC_FLOAT64, h5);
  ok &= load_both(&c, path("A.npy"), SPREC_FLOAT32, f32);
  ok &= load_both(&c, path("ulp.npy"), SPREC_FLOAT64, ulp);
  ok &= load_both(&c, path("narrow.npy"), SPREC_FLOAT64, narrow);
  ok &= block_fp(c.self, A, M, N, 0, mem) && block_fp(c.self, A, M, N, 1, mem32);
  ck_assert_all(ok, "fingerprints: %s", sprec_errmsg());
  ck_assert_all(!strncmp(npy, "dense float64 37x203 sum:", 25) && strlen(npy) == 25 + 16, "%s", npy);
  ck_assert_all(!strcmp(npy, h5) && !strcmp(npy, mem), "the same values: %s, %s, %s", npy, h5, mem);
  ck_assert_all(!strncmp(f32, "dense float32 37x203 sum:", 25) && !strcmp(f32, mem32), "%s, %s", f32, mem32);
  ck_assert_all(strcmp(npy, ulp) && strcmp(npy + 21, ulp + 21), "one ulp: %s, %s", npy, ulp);
  ck_assert_all(!strncmp(narrow, "dense float64 37x202 ", 21) && strcmp(npy + 21, narrow + 21),
                "a column fewer: %s", narrow);
  free(A);
  free(y);
  sprec_sparse_free(&xt);
  contexts_free(&c);
}
END_TEST

/* A generated problem's fingerprint is its parameters, exactly. */
START_TEST(generators)
{
  ctxs c = contexts();
  struct {
    sprec_problem_kind kind;
    int64_t m, n;
    uint64_t seed;
    int single, implicit;
    const char *want;
  } cases[] = {
      {SPREC_PROBLEM_GAUSSIAN, 40, 120, 5, 0, 0, "dense float64 40x120 gaussian seed=5"},
      {SPREC_PROBLEM_GAUSSIAN, 40, 120, 6, 0, 0, "dense float64 40x120 gaussian seed=6"},
      {SPREC_PROBLEM_GAUSSIAN, 40, 120, 5, 1, 0, "dense float32 40x120 gaussian seed=5"},
      {SPREC_PROBLEM_DECONV, 40, 120, 5, 0, 0, "dense float64 40x120 deconv width=0.02"},
      {SPREC_PROBLEM_DECONV, 40, 120, 9, 0, 1, "deconv-implicit float64 40x120 deconv width=0.02"},
      {SPREC_PROBLEM_HADAMARD, 16, 64, 3, 0, 0, "hadamard float64 16x64 seed=3"},
      {SPREC_PROBLEM_SPIKES, 0, 300, 3, 0, 0, "conv float64 324x300 spikes sigma=3 taps=25"},
  };
  for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
    sprec_problem P = tu_problem(cases[t].kind, cases[t].m, cases[t].n, 2, INFINITY, cases[t].seed);
    P.single = cases[t].single;
    P.implicit = cases[t].implicit;
    if (cases[t].kind == SPREC_PROBLEM_SPIKES) P.min_sep = 10;
    char fp[2][SPREC_FINGERPRINT_LEN];
    int ok = 1;
    for (int w = 0; w < 2; w++) {
      sprec_op A = NULL;
      double *y = NULL;
      sprec_sparse xt = {0};
      ok &= take(sprec_problem_generate(w ? c.self : c.world, &P, &A, &y, &xt), &A, fp[w]);
      sprec_free(y);
      sprec_sparse_free(&xt);
    }
    ck_assert_all(ok && !strcmp(fp[0], cases[t].want) && !strcmp(fp[1], cases[t].want),
                  "case %zu: '%s' and '%s', want '%s'", t, fp[0], fp[1], cases[t].want);
  }
  char small[8];
  sprec_op A = NULL;
  ck_assert_all(sprec_op_create_hadamard(c.world, 16, 64, 3, &A) == SPREC_OK, "hadamard");
  ck_assert_all(sprec_op_fingerprint(A, small, sizeof small) == SPREC_ERR_ARG &&
                    strstr(sprec_errmsg(), "bytes"),
                "too small a buffer: %s", sprec_errmsg());
  sprec_op_destroy(&A);
  contexts_free(&c);
}
END_TEST

/* The sparse loader's text is sprec_op_create_csc's for the same entries; the
 * convolution's, its kernel's. */
START_TEST(sparse_and_conv)
{
  ctxs c = contexts();
  int rank = sprec_ctx_rank(c.world), ok = 1;
  /* column j: rows (j·7 + t) mod M for t < j mod 5, values from the RNG */
  int64_t nnz = 0, colptr[N + 1], rows[N * 5];
  double vals[N * 5];
  sprec_rng g;
  sprec_rng_seed(&g, 4, 1, 0);
  for (int64_t j = 0; j < N; j++) {
    colptr[j] = nnz;
    for (int64_t t = 0; t < j % 5; t++, nnz++) {
      rows[nnz] = (j * 7 + t * 3) % M;
      vals[nnz] = sprec_rng_normal(&g);
    }
  }
  colptr[N] = nnz;
  for (int v = 0; v < 2 && rank == 0; v++) { /* v = 1: one value changed */
    FILE *f = fopen(path(v ? "B1.mtx" : "B.mtx"), "w");
    ok &= f != NULL;
    if (!f) break;
    fprintf(f, "%%%%MatrixMarket matrix coordinate real general\n%d %d %lld\n", M, N, (long long)nnz);
    for (int64_t j = 0; j < N; j++)
      for (int64_t p = colptr[j]; p < colptr[j + 1]; p++)
        fprintf(f, "%lld %lld %.17g\n", (long long)rows[p] + 1, (long long)j + 1,
                v && p == 10 ? vals[p] * 2 : vals[p]);
    ok &= fclose(f) == 0;
  }
  ck_assert_all(ok, "the .mtx files");
  MPI_Barrier(MPI_COMM_WORLD);
  char mtx[SPREC_FINGERPRINT_LEN], mtx1[SPREC_FINGERPRINT_LEN], mem[SPREC_FINGERPRINT_LEN];
  ok &= load_both(&c, path("B.mtx"), SPREC_FLOAT64, mtx);
  ok &= load_both(&c, path("B1.mtx"), SPREC_FLOAT64, mtx1);
  int64_t *cp = malloc(sizeof colptr), *r = malloc(sizeof(int64_t) * (size_t)nnz);
  double *v = malloc(sizeof(double) * (size_t)nnz);
  memcpy(cp, colptr, sizeof colptr);
  memcpy(r, rows, sizeof(int64_t) * (size_t)nnz);
  memcpy(v, vals, sizeof(double) * (size_t)nnz);
  sprec_op B = NULL;
  ok &= take(sprec_op_create_csc(c.self, M, N, cp, r, v, 0, &B), &B, mem);
  ck_assert_all(ok && !strncmp(mtx, "csc float64 37x203 sum:", 23) && !strcmp(mtx, mem) &&
                    strcmp(mtx, mtx1),
                "csc: %s, %s, changed %s", mtx, mem, mtx1);

  char conv[3][SPREC_FINGERPRINT_LEN];
  for (int w = 0; w < 3; w++) { /* all ranks, one rank, one tap changed */
    double *K = malloc(sizeof(double) * 5);
    for (int t = 0; t < 5; t++) K[t] = 1.0 / (1 + t) + (w == 2 && t == 4 ? 1e-9 : 0);
    sprec_op C = NULL;
    ok &= take(sprec_op_create_conv(w == 1 ? c.self : c.world, 100, 5, K, &C), &C, conv[w]);
  }
  ck_assert_all(ok && !strncmp(conv[0], "conv float64 104x100 sum:", 25) && !strcmp(conv[0], conv[1]) &&
                    strcmp(conv[0], conv[2]),
                "conv: %s, %s, %s", conv[0], conv[1], conv[2]);
  contexts_free(&c);
}
END_TEST

TU_MAIN("fingerprint", 120, NULL, dense_loaders, generators, sparse_and_conv)
