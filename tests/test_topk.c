/* Collective top-k against a serial sort, on many vectors with ties, for both
 * algorithms: the answer must not depend on the rank count or on the algorithm. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const double *g_v; /* for the serial comparator */

static int by_rank(const void *a, const void *b)
{
  int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
  double x = fabs(g_v[i]), y = fabs(g_v[j]);
  if (x != y) return x > y ? -1 : 1;
  return (i > j) - (i < j);
}

static int by_index(const void *a, const void *b)
{
  int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
  return (i > j) - (i < j);
}

/* kind 0: few distinct values (many ties, zeros, both signs); 1: continuous;
 * 2: all equal magnitude. */
static void make_vector(int64_t n, int kind, uint64_t seed, double *v)
{
  sprec_rng g;
  sprec_rng_seed(&g, seed, 99, (uint64_t)kind);
  for (int64_t j = 0; j < n; j++) {
    if (kind == 0) v[j] = 0.5 * (double)((int64_t)(sprec_rng_next(&g) % 7) - 3);
    else if (kind == 1) v[j] = sprec_rng_normal(&g) * exp(4 * sprec_rng_normal(&g));
    else v[j] = (sprec_rng_next(&g) & 1) ? 2.0 : -2.0;
  }
  if (n > 3) v[1] = -0.0;
}

START_TEST(topk_equals_serial_sort)
{
  sprec_ctx ctx;
  sprec_ctx_create(MPI_COMM_WORLD, &ctx);
  int p = ctx->size, r = ctx->rank, cases = 0, bad = 0;
  static const int64_t sizes[] = {1, 2, 3, 5, 8, 17, 64, 100, 1000, 4099};
  for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
    int64_t n = sizes[s];
    double *v = malloc(sizeof(double) * n);
    int64_t *order = malloc(sizeof(int64_t) * n);
    for (int kind = 0; kind < 3; kind++) {
      make_vector(n, kind, 1000 + (uint64_t)s, v);
      g_v = v;
      for (int64_t j = 0; j < n; j++) order[j] = j;
      qsort(order, (size_t)n, sizeof *order, by_rank);
      int64_t ks[] = {1, 2, 3, n / 3, n / 2, n - 1, n};
      for (size_t t = 0; t < sizeof ks / sizeof *ks; t++) {
        int64_t k = ks[t];
        if (k < 1 || k > n) continue;
        int64_t *want = malloc(sizeof(int64_t) * k);
        memcpy(want, order, sizeof(int64_t) * k);
        qsort(want, (size_t)k, sizeof *want, by_index);
        for (int method = 0; method < 3; method++) {
          sprec_sparse out = {0};
          int64_t c0 = sprec_block_start(n, p, r);
          sprec_err e = sprec_topk(ctx, n, v + c0, k, (sprec_topk_method)method, &out);
          int ok = e == SPREC_OK && out.nnz == k;
          for (int64_t q = 0; ok && q < k; q++)
            ok = out.idx[q] == want[q] && memcmp(&out.val[q], &v[want[q]], sizeof(double)) == 0;
          if (!ok) {
            bad++;
            fprintf(stderr, "rank %d: n=%lld k=%lld kind=%d method=%d wrong\n", r, (long long)n,
                    (long long)k, kind, method);
          }
          cases++;
          sprec_sparse_free(&out);
        }
        free(want);
      }
    }
    free(v);
    free(order);
  }
  ck_assert_all(bad == 0, "%d of %d top-k cases differ from the serial sort", bad, cases);
  sprec_ctx_destroy(&ctx);
}
END_TEST

START_TEST(topk_rejects_bad_k)
{
  sprec_ctx ctx;
  sprec_ctx_create(MPI_COMM_WORLD, &ctx);
  double v[4] = {1, 2, 3, 4};
  int64_t n = ctx->size;
  sprec_sparse out = {0};
  ck_assert_all(sprec_topk(ctx, n, v, 0, SPREC_TOPK_AUTO, &out) == SPREC_ERR_ARG, "k = 0 accepted");
  ck_assert_all(sprec_topk(ctx, n, v, n + 1, SPREC_TOPK_AUTO, &out) == SPREC_ERR_ARG, "k > n accepted");
  sprec_sparse_free(&out);
  sprec_ctx_destroy(&ctx);
}
END_TEST

TU_MAIN("topk", 120, NULL, topk_equals_serial_sort, topk_rejects_bad_k)
