/* The fast-transform operator (sprec_op_create_hadamard) against the dense matrix
 * built here from its definition, a_ij = d_j·(−1)^popcount(R_i & j)/√m (popcount
 * counted bit by bit, R and d from the operator's documented sources): Aᵀr, A_S x_S,
 * the gathered columns, apply_local and ‖A‖₂² at n = 2^4 .. 2^10; Aᵀr bit for bit the
 * serial transform in the documented stage order (each rank recomputes its block
 * serially) at every rank count; HTP's support the same as on the dense matrix; a
 * batch as the single solves; and the errors. */
#include "testutil.h"

#include "par/fwht.h"
#include "op/op.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static int bits_of(int64_t v)
{
  int c = 0;
  for (; v; v >>= 1) c += (int)(v & 1);
  return c;
}

static int log2i(int64_t n)
{
  int L = 0;
  while (((int64_t)1 << L) < n) L++;
  return L;
}

/* The whole m x n matrix of the definition, column-major. */
static double *dense_of(sprec_op A, uint64_t seed)
{
  int64_t m = A->m, n = A->n;
  const int64_t *R = sprec_hadamard_rows(A);
  double *D = malloc(sizeof(double) * (size_t)(m * n));
  for (int64_t j = 0; j < n; j++)
    for (int64_t i = 0; i < m; i++)
      D[i + j * m] = sprec_hadamard_sign(seed, j) * (bits_of(R[i] & j) % 2 ? -1.0 : 1.0) / sqrt((double)m);
  return D;
}

/* R: m distinct sorted rows of [0, n); the signs: substream j of the seed's stream. */
static int rows_ok(sprec_op A)
{
  const int64_t *R = sprec_hadamard_rows(A);
  int ok = R[0] >= 0 && R[A->m - 1] < A->n;
  for (int64_t i = 1; i < A->m; i++) ok &= R[i] > R[i - 1];
  return ok;
}

static void random_vec(int64_t len, double *v, uint64_t seed)
{
  sprec_rng g;
  sprec_rng_seed(&g, seed, 21, 0);
  for (int64_t i = 0; i < len; i++) v[i] = sprec_rng_normal(&g);
}

/* Every product of the operator against the dense matrix, to 1e-12 relative to the
 * sum of the terms' magnitudes (the transform's error is below L·ε times it, the
 * serial sum's below m·ε: both far below 1e-12 at these sizes). */
static int check_products(int64_t m, int64_t n, uint64_t seed)
{
  sprec_ctx ctx;
  sprec_op A;
  sprec_ctx_create(MPI_COMM_WORLD, &ctx);
  if (sprec_op_create_hadamard(ctx, m, n, seed, &A) != SPREC_OK) return 0;
  int ok = rows_ok(A) && !strcmp(sprec_op_kind(A), "hadamard");
  double *D = dense_of(A, seed);
  int64_t nl = A->n_local, c0 = A->col_start;
  double *r = malloc(sizeof(double) * (size_t)m), *g = malloc(sizeof(double) * (size_t)nl);
  random_vec(m, r, seed + 1);
  ok &= sprec_op_apply_T(A, r, g) == SPREC_OK;
  for (int64_t j = 0; j < nl; j++) {
    double s = 0, mag = 0;
    for (int64_t i = 0; i < m; i++) s += D[i + (c0 + j) * m] * r[i], mag += fabs(D[i + (c0 + j) * m] * r[i]);
    ok &= fabs(g[j] - s) <= 1e-12 * mag;
  }
  /* A_S x_S with S spread over the ranks, and the gathered columns: exact entries. */
  sprec_sparse x = {0};
  sprec_sparse_init(&x, 5);
  for (int t = 0; t < 5; t++) x.idx[t] = (n - 1) * t / 4 - (t == 4 ? 0 : t % 2), x.val[t] = 1.5 - t;
  x.nnz = 5;
  double *ax = malloc(sizeof(double) * (size_t)m), *cols = malloc(sizeof(double) * (size_t)(m * 5));
  ok &= sprec_op_apply_sparse(A, &x, ax) == SPREC_OK;
  ok &= sprec_op_gather_columns(A, 5, x.idx, cols) == SPREC_OK;
  for (int64_t i = 0; i < m; i++) {
    double s = 0, mag = 0;
    for (int t = 0; t < 5; t++) {
      s += D[i + x.idx[t] * m] * x.val[t], mag += fabs(D[i + x.idx[t] * m] * x.val[t]);
      ok &= cols[i + t * m] == D[i + x.idx[t] * m];
    }
    ok &= fabs(ax[i] - s) <= 1e-12 * mag;
  }
  /* apply_local (collective for this operator): summed over the ranks, A v. */
  double *v = malloc(sizeof(double) * (size_t)nl + 8), *av = calloc((size_t)m, sizeof(double));
  double *vall = malloc(sizeof(double) * (size_t)n);
  random_vec(n, vall, seed + 2);
  memcpy(v, vall + c0, sizeof(double) * (size_t)nl);
  ok &= A->ops->apply_local(A, v, av) == SPREC_OK;
  MPI_Allreduce(MPI_IN_PLACE, av, (int)m, MPI_DOUBLE, MPI_SUM, ctx->comm);
  for (int64_t i = 0; i < m; i++) {
    double s = 0, mag = 0;
    for (int64_t j = 0; j < n; j++) s += D[i + j * m] * vall[j], mag += fabs(D[i + j * m] * vall[j]);
    ok &= fabs(av[i] - s) <= 1e-12 * mag;
  }
  /* ‖A‖₂² = n/m: A Aᵀ = (n/m) I on the dense matrix (every singular value √(n/m)),
   * and the operator's estimate is n/m without a power iteration. */
  double L;
  ok &= sprec_op_norm2_est(A, &L) == SPREC_OK && L == (double)n / (double)m;
  int64_t rows[3] = {0, m / 3, m - 1}; /* three rows of A Aᵀ: O(m·n) each */
  for (int q = 0; q < 3; q++)
    for (int64_t a = rows[q], b = 0; b < m; b++) {
      double s = 0;
      for (int64_t j = 0; j < n; j++) s += D[a + j * m] * D[b + j * m];
      ok &= fabs(s - (a == b ? (double)n / (double)m : 0.0)) <= 1e-12 * (double)n / (double)m;
    }
  free(D), free(r), free(g), free(ax), free(cols), free(v), free(av), free(vall);
  sprec_sparse_free(&x);
  sprec_op_destroy(&A);
  sprec_ctx_destroy(&ctx);
  return ok;
}

START_TEST(products_against_the_dense_definition)
{
  int bad = 0;
  for (int L = 4; L <= 10; L++) {
    int64_t n = (int64_t)1 << L, ms[3] = {n / 4, n / 2 + 3, n};
    for (int t = 0; t < 3; t++)
      if (!check_products(ms[t], n, 100 + (uint64_t)L)) {
        bad++;
        fprintf(stderr, "hadamard products differ at m=%lld n=%lld\n", (long long)ms[t], (long long)n);
      }
  }
  ck_assert_all(bad == 0, "a product of the hadamard operator differs from the dense matrix's");
}
END_TEST

/* The serial transform, one stage at a time in the documented order: the bits of hi
 * (the upper ⌊L/2⌋) ascending, then those of lo (the lower ⌈L/2⌉) ascending. */
static void serial_fwht(int64_t n, double *x)
{
  int L = log2i(n), lo = (L + 1) / 2, order[64], no = 0;
  for (int b = lo; b < L; b++) order[no++] = b;
  for (int b = 0; b < lo; b++) order[no++] = b;
  for (int t = 0; t < no; t++) {
    int64_t h = (int64_t)1 << order[t];
    for (int64_t i = 0; i < n; i++)
      if (!(i & h)) {
        double a = x[i], b = x[i + h];
        x[i] = a + b;
        x[i + h] = a - b;
      }
  }
}

/* Aᵀr on this rank's block, bit for bit: the serial transform of Rᵀr, then
 * (z_j·(1/√m))·d_j; and the one-rank operator's on the same columns. apply_local
 * within rounding of the serial A v. */
static int check_bits(int64_t m, int64_t n, uint64_t seed)
{
  sprec_ctx ctx, self;
  sprec_op A, A1;
  sprec_ctx_create(MPI_COMM_WORLD, &ctx);
  sprec_ctx_create(MPI_COMM_SELF, &self);
  int ok = sprec_op_create_hadamard(ctx, m, n, seed, &A) == SPREC_OK;
  ok &= sprec_op_create_hadamard(self, m, n, seed, &A1) == SPREC_OK;
  int64_t nl = A->n_local, c0 = A->col_start;
  double *r = malloc(sizeof(double) * (size_t)m), *g = malloc(sizeof(double) * (size_t)nl);
  double *z = calloc((size_t)n, sizeof(double)), *g1 = malloc(sizeof(double) * (size_t)n);
  random_vec(m, r, seed + 3);
  const int64_t *R = sprec_hadamard_rows(A);
  for (int64_t i = 0; i < m; i++) z[R[i]] = r[i];
  serial_fwht(n, z);
  ok &= sprec_op_apply_T(A, r, g) == SPREC_OK && sprec_op_apply_T(A1, r, g1) == SPREC_OK;
  double s = 1.0 / sqrt((double)m);
  for (int64_t j = 0; j < nl; j++) {
    double want = (z[c0 + j] * s) * sprec_hadamard_sign(seed, c0 + j);
    ok &= memcmp(&g[j], &want, sizeof want) == 0 && memcmp(&g[j], &g1[c0 + j], sizeof want) == 0;
  }
  /* apply_local (the transform the other way, its own stage order) against the serial
   * transform of D v, within 1e-12 of s·Σ|v_j| (each entry a sum of n terms ±s·v_j). */
  double *v = malloc(sizeof(double) * (size_t)n), *av = calloc((size_t)m, sizeof(double)), mag = 0;
  random_vec(n, v, seed + 4);
  ok &= A->ops->apply_local(A, v + c0, av) == SPREC_OK;
  MPI_Allreduce(MPI_IN_PLACE, av, (int)m, MPI_DOUBLE, MPI_SUM, ctx->comm);
  for (int64_t j = 0; j < n; j++) z[j] = v[j] * sprec_hadamard_sign(seed, j), mag += fabs(v[j]) * s;
  serial_fwht(n, z);
  for (int64_t i = 0; i < m; i++) ok &= fabs(av[i] - s * z[R[i]]) <= 1e-12 * mag;
  free(v), free(av);
  free(r), free(g), free(z), free(g1);
  sprec_op_destroy(&A);
  sprec_op_destroy(&A1);
  sprec_ctx_destroy(&self);
  sprec_ctx_destroy(&ctx);
  return ok;
}

START_TEST(same_bits_as_the_serial_transform_any_rank_count)
{
  int bad = 0;
  for (int L = 2; L <= 15; L++) {
    int64_t n = (int64_t)1 << (L == 15 ? 20 : L); /* 2^20: messages of several chunks */
    int size;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (n < size) continue;
    int64_t m = n >= 64 ? n / 8 + 1 : n / 2;
    if (!check_bits(m, n, 7 + (uint64_t)L)) {
      bad++;
      fprintf(stderr, "hadamard Aᵀr not bit for bit the serial transform's at n=%lld\n", (long long)n);
    }
  }
  ck_assert_all(bad == 0, "Aᵀr differs from the serial transform in the documented order");
}
END_TEST

/* The power iteration, run on this operator (norm2 cleared: apply_local and apply_T in
 * turn, both collective here), finds n/m to its stopping precision. */
START_TEST(power_iteration_through_the_transform)
{
  sprec_ctx ctx;
  sprec_op A;
  sprec_ctx_create(MPI_COMM_WORLD, &ctx);
  ck_assert_all(sprec_op_create_hadamard(ctx, 100, 1024, 5, &A) == SPREC_OK, "create failed");
  A->norm2 = 0;
  double L = 0;
  int ok = sprec_op_norm2_est(A, &L) == SPREC_OK;
  ok &= tu_within("power iteration on the hadamard operator", fabs(L - 10.24) / 10.24, 1e-3);
  sprec_op_destroy(&A);
  sprec_ctx_destroy(&ctx);
  ck_assert_all(ok, "power iteration through the transform gave %.8g, not 10.24", L);
}
END_TEST

/* HTP on the generated problem and on the dense matrix of its definition (y the
 * same): the same support, the true one. */
START_TEST(htp_recovers_the_dense_support)
{
  sprec_problem P;
  sprec_problem_default(&P);
  P.kind = SPREC_PROBLEM_HADAMARD;
  P.m = 128, P.n = 1024, P.k = 8, P.snr_db = 40, P.seed = 4;
  sprec_ctx ctx;
  sprec_op A, Ad;
  double *y;
  sprec_sparse xt = {0}, x1 = {0}, x2 = {0};
  sprec_ctx_create(MPI_COMM_WORLD, &ctx);
  ck_assert_all(sprec_problem_generate(ctx, &P, &A, &y, &xt) == SPREC_OK, "generate failed");
  double *D = dense_of(A, P.seed), *blk = malloc(sizeof(double) * (size_t)(P.m * A->n_local));
  memcpy(blk, D + A->col_start * P.m, sizeof(double) * (size_t)(P.m * A->n_local));
  ck_assert_all(sprec_op_create_dense(ctx, P.m, P.n, blk, &Ad) == SPREC_OK, "dense failed");
  /* y = A x + e: the true columns, summed as the generator documents */
  double *yref = calloc((size_t)P.m, sizeof(double));
  for (int64_t t = 0; t < xt.nnz; t++)
    for (int64_t i = 0; i < P.m; i++) yref[i] += D[i + xt.idx[t] * P.m] * xt.val[t];
  double dy = 0, yn = 0;
  for (int64_t i = 0; i < P.m; i++) dy += (y[i] - yref[i]) * (y[i] - yref[i]), yn += yref[i] * yref[i];
  int ok = tu_within("noise at 40 dB", sqrt(dy / yn), 1.01e-2) && sqrt(dy / yn) > 0.99e-2;
  sprec_opts o;
  sprec_opts_default(&o);
  o.algo = sprec_algo_find("htp");
  o.k = P.k;
  sprec_solver s;
  sprec_solver_create(ctx, &o, &s);
  ok &= sprec_solver_solve(s, A, y, NULL, &x1) == SPREC_OK;
  ok &= sprec_solver_solve(s, Ad, y, NULL, &x2) == SPREC_OK;
  ok &= x1.nnz == P.k && x2.nnz == P.k;
  for (int64_t t = 0; ok && t < P.k; t++) ok = x1.idx[t] == x2.idx[t] && x1.idx[t] == xt.idx[t];
  sprec_solver_destroy(&s);
  free(D), free(y), free(yref);
  sprec_sparse_free(&xt), sprec_sparse_free(&x1), sprec_sparse_free(&x2);
  sprec_op_destroy(&A), sprec_op_destroy(&Ad);
  sprec_ctx_destroy(&ctx);
  ck_assert_all(ok, "HTP on the hadamard operator: not the dense matrix's support, or not the true one");
}
END_TEST

/* A batch of three observations (sprec_op_apply_T_many's fallback: apply_T per
 * right-hand side, in the same order on every rank) gives each single solve's answer. */
START_TEST(batch_as_single_solves)
{
  sprec_ctx ctx;
  sprec_op A;
  int64_t m = 64, n = 512;
  sprec_ctx_create(MPI_COMM_WORLD, &ctx);
  ck_assert_all(sprec_op_create_hadamard(ctx, m, n, 9, &A) == SPREC_OK, "create failed");
  double *Y = calloc((size_t)(3 * m), sizeof(double)), *col = malloc(sizeof(double) * (size_t)m);
  for (int p = 0; p < 3; p++)
    for (int t = 0; t < 4; t++) {
      sprec_hadamard_column(A, 37 * (p + 1) + 101 * t, col);
      for (int64_t i = 0; i < m; i++) Y[p * m + i] += (1.0 + t) * col[i];
    }
  sprec_opts o;
  sprec_opts_default(&o);
  o.algo = sprec_algo_find("sea");
  o.k = 4;
  o.iters = 60;
  sprec_solver s;
  sprec_solver_create(ctx, &o, &s);
  sprec_sparse xb[3] = {{0}}, x1 = {0};
  sprec_stats st[3];
  int ok = sprec_solver_solve_batch(s, A, 3, Y, NULL, xb, st) == SPREC_OK;
  for (int p = 0; ok && p < 3; p++) {
    ok &= sprec_solver_solve(s, A, Y + p * m, NULL, &x1) == SPREC_OK && x1.nnz == xb[p].nnz;
    for (int64_t t = 0; ok && t < x1.nnz; t++)
      ok = x1.idx[t] == xb[p].idx[t] && x1.val[t] == xb[p].val[t];
    sprec_sparse_free(&x1);
  }
  for (int p = 0; p < 3; p++) sprec_sparse_free(&xb[p]);
  sprec_solver_destroy(&s);
  free(Y), free(col);
  sprec_op_destroy(&A);
  sprec_ctx_destroy(&ctx);
  ck_assert_all(ok, "a batch on the hadamard operator differs from the single solves");
}
END_TEST

START_TEST(bad_sizes_are_refused)
{
  sprec_ctx ctx;
  sprec_op A = NULL;
  sprec_ctx_create(MPI_COMM_WORLD, &ctx);
  int ok = sprec_op_create_hadamard(ctx, 10, 1000, 1, &A) == SPREC_ERR_ARG && !A &&
           strstr(sprec_errmsg(), "power of two");
  ok &= sprec_op_create_hadamard(ctx, 2048, 1024, 1, &A) == SPREC_ERR_ARG && !A &&
        strstr(sprec_errmsg(), "m must be in [1, n]");
  ok &= sprec_op_create_hadamard(ctx, 0, 1024, 1, &A) == SPREC_ERR_ARG;
  sprec_ctx_destroy(&ctx);
  ck_assert_all(ok, "bad sizes not refused with a message naming them: %s", sprec_errmsg());
}
END_TEST

TU_MAIN("op_hadamard", 300, NULL, products_against_the_dense_definition,
        same_bits_as_the_serial_transform_any_rank_count, power_iteration_through_the_transform,
        htp_recovers_the_dense_support, batch_as_single_solves, bad_sizes_are_refused)
