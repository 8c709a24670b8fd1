/* The convolution operator (sprec_op_create_conv) against the dense matrix built from
 * the same definition (column j holds K in rows j … j + len − 1), on both paths (over
 * the taps, FFT over tiles), for kernels of 1 tap, short, longer than a rank's block
 * and past the FFT threshold, n not divisible by the rank count: Aᵀr, A_S x_S, the
 * gathered columns, the norm estimate, the least squares on the support's rows; Aᵀr
 * bit for bit what one rank computes (the FFT tiles are global); the spikes problem
 * the same on every rank count; SEA with the conv operator and with the dense matrix
 * give the same support; the implicit deconv operator gives the stored one's bits;
 * the constructors' ownership of the arrays they are given. */
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* A kernel of mixed signs and magnitudes. */
static double *make_kernel(int64_t len, uint64_t seed)
{
  double *K = malloc(sizeof *K * (size_t)len);
  sprec_rng g;
  sprec_rng_seed(&g, seed, 21, 0);
  for (int64_t t = 0; t < len; t++) K[t] = sprec_rng_normal(&g) * (1 + 9 * (t % 5 == 0));
  return K;
}

/* A copy of K for a constructor, which takes the array it is given (sprec.h). */
static double *copy_of(const double *K, int64_t len)
{
  double *c = malloc(sizeof *c * (size_t)len);
  memcpy(c, K, sizeof *c * (size_t)len);
  return c;
}

/* The dense m x n matrix of the definition. */
static double *dense_of(int64_t n, int64_t len, const double *K)
{
  int64_t m = n + len - 1;
  double *D = calloc((size_t)(m * n), sizeof *D);
  for (int64_t j = 0; j < n; j++)
    for (int64_t t = 0; t < len; t++) D[j + t + j * m] = K[t];
  return D;
}

/* A dense operator on the world over D's columns. */
static sprec_op dense_op(sprec_ctx ctx, int64_t m, int64_t n, const double *D)
{
  int64_t c0 = sprec_block_start(n, ctx->size, ctx->rank), nl = sprec_block_size(n, ctx->size, ctx->rank);
  double *blk = malloc(sizeof *blk * (size_t)(m * nl));
  memcpy(blk, D + c0 * m, sizeof *blk * (size_t)(m * nl));
  sprec_op A;
  ck_assert_all(sprec_op_create_dense(ctx, m, n, blk, &A) == SPREC_OK, "dense operator");
  return A;
}

/* Aᵀr against a serial sum over the dense columns, relative to ‖a_j‖‖r‖ (1e-12, the
 * issue's bound: the taps' sum is within len·ε of it, the FFT's within O(ε log nfft)),
 * and bit for bit what the same path computes on one rank. */
static int check_apply_T(sprec_ctx ctx, sprec_op A, int64_t n, int64_t len, const double *K,
                         const double *D, int path)
{
  int64_t m = A->m, nl = A->n_local, c0 = A->col_start;
  double *r = malloc(sizeof *r * (size_t)m), *g = malloc(sizeof *g * (size_t)nl);
  double *g1 = malloc(sizeof *g1 * (size_t)n);
  for (int64_t i = 0; i < m; i++) r[i] = sin(0.37 * (double)i) + 0.5 * cos(3.1 * (double)i);
  int ok = sprec_op_apply_T(A, r, g) == SPREC_OK;
  double worst = 0, rn = sqrt(sprec_nrm2sq(m, r));
  for (int64_t j = 0; j < nl; j++) {
    const double *a = D + (c0 + j) * m;
    double s = 0, an = 0;
    for (int64_t i = 0; i < m; i++) s += a[i] * r[i], an += a[i] * a[i];
    worst = fmax(worst, fabs(g[j] - s) / (sqrt(an) * rn));
  }
  ok &= tu_within("conv Aᵀr against the dense columns", worst, 1e-12);
  sprec_ctx self;
  sprec_op A1;
  sprec_ctx_create(MPI_COMM_SELF, &self);
  ok &= sprec_op_create_conv_path(self, n, len, copy_of(K, len), path, &A1) == SPREC_OK;
  ok &= sprec_op_apply_T(A1, r, g1) == SPREC_OK;
  ok &= memcmp(g, g1 + c0, sizeof *g * (size_t)nl) == 0;
  (void)ctx;
  sprec_op_destroy(&A1);
  sprec_ctx_destroy(&self);
  free(r), free(g), free(g1);
  return ok;
}

/* A_S x_S (rank-chained, replicated) against a serial sum, relative to Σ|x_t|‖a_t‖;
 * the gathered columns exactly the dense ones; both at once for a support that spans
 * every rank. */
static int check_columns(sprec_op A, int64_t n, const double *D)
{
  int64_t m = A->m, k = n < 7 ? n : 7;
  sprec_sparse x = {0};
  sprec_sparse_init(&x, k);
  for (int64_t t = 0; t < k; t++) x.idx[t] = (t * (n - 1)) / (k > 1 ? k - 1 : 1), x.val[t] = 1.5 - t;
  x.nnz = k;
  double *ax = malloc(sizeof *ax * (size_t)m), *cols = malloc(sizeof *cols * (size_t)(m * k));
  int ok = sprec_op_apply_sparse(A, &x, ax) == SPREC_OK;
  double worst = 0, scale = 0;
  for (int64_t t = 0; t < k; t++) scale += fabs(x.val[t]) * sqrt(sprec_nrm2sq(m, D + x.idx[t] * m));
  for (int64_t i = 0; i < m; i++) {
    double s = 0;
    for (int64_t t = 0; t < k; t++) s += D[i + x.idx[t] * m] * x.val[t];
    worst = fmax(worst, fabs(ax[i] - s) / scale);
  }
  ok &= tu_within("conv A_S x_S against the dense columns", worst, 1e-12);
  ok &= sprec_op_gather_columns(A, k, x.idx, cols) == SPREC_OK;
  for (int64_t t = 0; ok && t < k; t++)
    ok = memcmp(cols + t * m, D + x.idx[t] * m, sizeof *cols * (size_t)m) == 0;
  free(ax), free(cols);
  sprec_sparse_free(&x);
  return ok;
}

/* The least squares on the support's rows against LAPACK on the dense columns: z
 * within the backward-stability bound of the exact solution (tu_lsq's zerr, twice:
 * both sides), the residual within the fit bound D. Overlapping columns (spacing
 * below len) make the row ranges merge. */
static int check_lsq(sprec_op A, int64_t n, int64_t len, const double *D)
{
  int64_t m = A->m, k = n < 5 ? n : 5, S[5];
  for (int64_t t = 0; t < k; t++) S[t] = t * (len > 2 ? len / 2 : 1) + (t == k - 1) * (n / 2);
  for (int64_t t = 0; t < k; t++) S[t] = S[t] < n ? S[t] : n - k + t;
  double *y = malloc(sizeof *y * (size_t)m), *r = malloc(sizeof *r * (size_t)m), z[5], zd[5];
  for (int64_t i = 0; i < m; i++) y[i] = cos(0.11 * (double)i * (double)i);
  sprec_lsq l;
  int ok = sprec_lsq_create(A, y, k, SPREC_LSQ_AUTO, &l) == SPREC_OK;
  ok &= sprec_lsq_solve(l, k, S, z, r) == SPREC_OK;
  sprec_lsq_destroy(&l);
  tu_dgels(m, D, y, k, S, zd);
  tu_lsq_bounds b = tu_lsq(m, D, y, k, S, z), bd = tu_lsq(m, D, y, k, S, zd);
  double dz = 0, dr = 0;
  for (int64_t t = 0; t < k; t++) dz += (z[t] - zd[t]) * (z[t] - zd[t]);
  ok &= tu_within("conv least squares z against dgels", sqrt(dz), b.zerr + bd.zerr);
  for (int64_t i = 0; i < m; i++) {
    double s = y[i];
    for (int64_t t = 0; t < k; t++) s -= D[i + S[t] * m] * z[t];
    dr = fmax(dr, fabs(r[i] - s));
  }
  ok &= tu_within("conv least-squares residual", dr, 2 * b.fit.D);
  free(y), free(r);
  return ok;
}

static void check_case(int64_t n, int64_t len, int path)
{
  sprec_ctx ctx;
  sprec_op A, Ad;
  sprec_ctx_create(MPI_COMM_WORLD, &ctx);
  double *K = make_kernel(len, (uint64_t)(n * 1000 + len)), *D = dense_of(n, len, K);
  ck_assert_all(sprec_op_create_conv_path(ctx, n, len, copy_of(K, len), path, &A) == SPREC_OK,
                "create");
  int64_t m = n + len - 1;
  ck_assert_all(A->m == m && !strcmp(sprec_op_kind(A), "conv"), "conv shape or kind");
  ck_assert_all(check_apply_T(ctx, A, n, len, K, D, path),
                "n=%lld len=%lld path=%d: Aᵀr off the dense matrix or not one rank's bits",
                (long long)n, (long long)len, path);
  ck_assert_all(check_columns(A, n, D), "n=%lld len=%lld: A_S x_S or the columns", (long long)n,
                (long long)len);
  ck_assert_all(check_lsq(A, n, len, D), "n=%lld len=%lld: least squares", (long long)n,
                (long long)len);
  /* The same power iteration on the same matrix: equal up to the rounding of the two
   * products (1e-12), and both rounded to 24 bits: in practice the same value. */
  double L, Ld;
  Ad = dense_op(ctx, m, n, D);
  ck_assert_all(sprec_op_norm2_est(A, &L) == SPREC_OK && sprec_op_norm2_est(Ad, &Ld) == SPREC_OK,
                "norm estimates");
  ck_assert_all(tu_within("conv norm estimate against dense", fabs(L - Ld), 1e-12 * Ld),
                "norm estimate %.17g, dense %.17g", L, Ld);
  sprec_op_destroy(&Ad);
  sprec_op_destroy(&A);
  sprec_ctx_destroy(&ctx);
  free(K), free(D);
}

START_TEST(direct_path_matches_dense)
{
  check_case(37, 1, SPREC_CONV_DIRECT);
  check_case(37, 5, SPREC_CONV_DIRECT);
  check_case(37, 20, SPREC_CONV_DIRECT); /* longer than a block at 2+ ranks */
  check_case(301, 25, SPREC_CONV_DIRECT);
}
END_TEST

START_TEST(fft_path_matches_dense)
{
  check_case(37, 1, SPREC_CONV_FFT);
  check_case(203, 5, SPREC_CONV_FFT);  /* tiles of 60: blocks cut through tiles */
  check_case(37, 20, SPREC_CONV_FFT);
  check_case(1001, 70, SPREC_CONV_FFT); /* past the threshold, 2 tiles and a tail */
}
END_TEST

START_TEST(auto_path_and_description)
{
  sprec_ctx ctx;
  sprec_op A, B;
  char d1[128], d2[128];
  double K[100] = {1};
  sprec_ctx_create(MPI_COMM_WORLD, &ctx);
  ck_assert_all(sprec_op_create_conv(ctx, 50, 25, copy_of(K, 25), &A) == SPREC_OK &&
                    sprec_op_create_conv(ctx, 500, 100, copy_of(K, 100), &B) == SPREC_OK,
                "create");
  sprec_op_describe(A, d1, sizeof d1);
  sprec_op_describe(B, d2, sizeof d2);
  ck_assert_all(!strcmp(d1, "kernel of 25 taps, direct") && !strncmp(d2, "kernel of 100 taps, fft", 23),
                "descriptions '%s', '%s'", d1, d2);
  K[3] = NAN;
  sprec_op C = NULL;
  ck_assert_all(sprec_op_create_conv(ctx, 50, 25, copy_of(K, 25), &C) == SPREC_ERR_ARG && !C &&
                    strstr(sprec_errmsg(), "kernel"),
                "a non-finite tap is refused: '%s'", sprec_errmsg());
  sprec_op_destroy(&A);
  sprec_op_destroy(&B);
  sprec_ctx_destroy(&ctx);
}
END_TEST

/* The ownership rule of the constructors (sprec.h): a failing constructor frees the
 * arrays it was given, a successful one hands them to the operator, which frees them
 * on destroy. The caller frees nothing here; a double free aborts, and a build with
 * SANITIZE=address reports a leak. */
START_TEST(constructors_take_their_arrays)
{
  sprec_ctx ctx;
  sprec_op A = NULL;
  double K[5] = {1, 2, NAN, 4, 5};
  sprec_ctx_create(MPI_COMM_WORLD, &ctx);
  int ok = sprec_op_create_conv(ctx, 10, 5, copy_of(K, 5), &A) == SPREC_ERR_ARG && !A;
  ok &= sprec_op_create_conv(ctx, 0, 5, copy_of(K, 5), &A) == SPREC_ERR_ARG && !A;
  ok &= sprec_op_create_dense(ctx, 0, 8, malloc(64), &A) == SPREC_ERR_ARG && !A;
  ok &= sprec_op_create_dense_f32(ctx, 8, 0, malloc(64), &A) == SPREC_ERR_ARG && !A;
  ck_assert_all(ok, "a failing constructor: wrong error or an operator");
  K[2] = 3;
  ok = sprec_op_create_conv(ctx, 10, 5, copy_of(K, 5), &A) == SPREC_OK;
  sprec_op_destroy(&A);
  ok &= sprec_op_create_dense(ctx, 2, 4, calloc(8, sizeof(double)), &A) == SPREC_OK;
  sprec_op_destroy(&A);
  ok &= sprec_op_create_dense_f32(ctx, 2, 4, calloc(8, sizeof(float)), &A) == SPREC_OK;
  sprec_op_destroy(&A);
  ck_assert_all(ok && !A, "constructors that succeed");
  sprec_ctx_destroy(&ctx);
}
END_TEST

/* The spikes problem: K ∗ x against numpy's definition (here: the dense matrix), the
 * spikes separated, and SEA's result the same on every rank count. */
START_TEST(spikes_problem_same_on_every_rank_count)
{
  sprec_problem P;
  sprec_problem_default(&P);
  P.kind = SPREC_PROBLEM_SPIKES;
  P.n = 700;
  P.k = 6;
  P.min_sep = 60;
  P.snr_db = 40;
  P.seed = 5;
  sprec_ctx ctx;
  sprec_op A;
  double *y;
  sprec_sparse xt = {0};
  sprec_ctx_create(MPI_COMM_WORLD, &ctx);
  ck_assert_all(sprec_problem_generate(ctx, &P, &A, &y, &xt) == SPREC_OK, "generate");
  int ok = A->m == P.n + P.taps - 1 && xt.nnz == P.k;
  for (int64_t t = 1; t < xt.nnz; t++) ok &= xt.idx[t] - xt.idx[t - 1] >= P.min_sep;
  ck_assert_all(ok, "shape or separation of the spikes");
  sprec_opts o[2] = {tu_algo_opts("sea", P.k, 200, 0, 0), tu_algo_opts("omp", P.k, 0, 0, 0)};
  const char *labels[2] = {"spikes sea", "spikes omp"};
  tu_same_on_every_rank_count(&P, 2, o, labels);
  free(y);
  sprec_sparse_free(&xt);
  sprec_op_destroy(&A);
  sprec_ctx_destroy(&ctx);
}
END_TEST

static sprec_sparse solve_with(sprec_ctx ctx, sprec_op A, const double *y, int64_t k)
{
  sprec_opts o;
  sprec_opts_default(&o);
  o.k = k;
  o.iters = 300;
  sprec_solver s;
  sprec_sparse x = {0};
  ck_assert_all(sprec_solver_create(ctx, &o, &s) == SPREC_OK, "solver");
  ck_assert_all(sprec_solver_solve(s, A, y, NULL, &x) == SPREC_OK, "solve");
  sprec_solver_destroy(&s);
  return x;
}

/* SEA on the spikes problem through the conv operator and through the dense matrix of
 * the same kernel: the same support, the true one. */
START_TEST(sea_conv_support_equals_dense)
{
  sprec_problem P;
  sprec_problem_default(&P);
  P.kind = SPREC_PROBLEM_SPIKES;
  P.n = 600;
  P.k = 5;
  P.min_sep = 80;
  P.snr_db = 40;
  P.seed = 11;
  sprec_ctx ctx;
  sprec_op A, Ad;
  double *y, *K = malloc(sizeof *K * (size_t)P.taps);
  sprec_sparse xt = {0};
  sprec_ctx_create(MPI_COMM_WORLD, &ctx);
  ck_assert_all(sprec_problem_generate(ctx, &P, &A, &y, &xt) == SPREC_OK, "generate");
  sprec_problem_kernel(&P, K);
  double *D = dense_of(P.n, P.taps, K);
  Ad = dense_op(ctx, A->m, P.n, D);
  sprec_sparse xc = solve_with(ctx, A, y, P.k), xd = solve_with(ctx, Ad, y, P.k);
  int same = xc.nnz == xd.nnz && xc.nnz == xt.nnz;
  for (int64_t t = 0; same && t < xc.nnz; t++) same = xc.idx[t] == xd.idx[t] && xc.idx[t] == xt.idx[t];
  ck_assert_all(same, "SEA: the conv and dense supports differ, or miss the truth");
  sprec_sparse_free(&xc), sprec_sparse_free(&xd), sprec_sparse_free(&xt);
  sprec_op_destroy(&A), sprec_op_destroy(&Ad);
  sprec_ctx_destroy(&ctx);
  free(y), free(K), free(D);
}
END_TEST

/* --implicit: the deconv problem's columns made on every pass give the stored
 * operator's products bit for bit (Aᵀr, A x, columns), so the same SEA result. */
START_TEST(implicit_deconv_equals_stored)
{
  sprec_problem P;
  sprec_problem_default(&P);
  P.kind = SPREC_PROBLEM_DECONV;
  P.m = 150;
  P.n = 301;
  P.k = 4;
  P.snr_db = 40;
  P.width = 0.03;
  sprec_ctx ctx;
  sprec_op A, B;
  double *y, *yb;
  sprec_sparse xt = {0}, xb = {0};
  sprec_ctx_create(MPI_COMM_WORLD, &ctx);
  ck_assert_all(sprec_problem_generate(ctx, &P, &A, &y, &xt) == SPREC_OK, "stored");
  P.implicit = 1;
  ck_assert_all(sprec_problem_generate(ctx, &P, &B, &yb, &xb) == SPREC_OK, "implicit");
  ck_assert_all(!strcmp(sprec_op_kind(B), "deconv-implicit"), "kind %s", sprec_op_kind(B));
  int64_t m = P.m, nl = A->n_local;
  double *g = malloc(sizeof *g * (size_t)nl), *gb = malloc(sizeof *gb * (size_t)nl);
  double *c = malloc(sizeof *c * (size_t)(m * P.k)), *cb = malloc(sizeof *cb * (size_t)(m * P.k));
  double *ax = malloc(sizeof *ax * (size_t)m), *axb = malloc(sizeof *axb * (size_t)m);
  int ok = memcmp(y, yb, sizeof *y * (size_t)m) == 0;
  ok &= sprec_op_apply_T(A, y, g) == SPREC_OK && sprec_op_apply_T(B, y, gb) == SPREC_OK;
  ok &= memcmp(g, gb, sizeof *g * (size_t)nl) == 0;
  ok &= sprec_op_gather_columns(A, P.k, xt.idx, c) == SPREC_OK &&
        sprec_op_gather_columns(B, P.k, xt.idx, cb) == SPREC_OK;
  ok &= memcmp(c, cb, sizeof *c * (size_t)(m * P.k)) == 0;
  ok &= sprec_op_apply_sparse(A, &xt, ax) == SPREC_OK && sprec_op_apply_sparse(B, &xt, axb) == SPREC_OK;
  ok &= memcmp(ax, axb, sizeof *ax * (size_t)m) == 0;
  ck_assert_all(ok, "implicit products differ from the stored operator's");
  sprec_sparse xa = solve_with(ctx, A, y, P.k), xi = solve_with(ctx, B, y, P.k);
  ok = xa.nnz == xi.nnz && memcmp(xa.idx, xi.idx, sizeof *xa.idx * (size_t)xa.nnz) == 0 &&
       memcmp(xa.val, xi.val, sizeof *xa.val * (size_t)xa.nnz) == 0;
  ck_assert_all(ok, "SEA on the implicit operator differs from SEA on the stored one");
  P.kind = SPREC_PROBLEM_GAUSSIAN;
  sprec_op C = NULL;
  double *yc = NULL;
  sprec_sparse xc = {0};
  ck_assert_all(sprec_problem_generate(ctx, &P, &C, &yc, &xc) == SPREC_ERR_ARG && !C,
                "implicit gaussian accepted");
  free(g), free(gb), free(c), free(cb), free(ax), free(axb), free(y), free(yb);
  sprec_sparse_free(&xt), sprec_sparse_free(&xb), sprec_sparse_free(&xa), sprec_sparse_free(&xi);
  sprec_op_destroy(&A), sprec_op_destroy(&B);
  sprec_ctx_destroy(&ctx);
}
END_TEST

TU_MAIN("op_conv", 120, NULL, direct_path_matches_dense, fft_path_matches_dense,
        auto_path_and_description, constructors_take_their_arrays,
        spikes_problem_same_on_every_rank_count, sea_conv_support_equals_dense,
        implicit_deconv_equals_stored)
