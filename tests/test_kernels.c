/* The hot kernels' variants (generic, avx2, avx512: those this CPU runs, selected as
 * SPREC_KERNEL would) against an independent scalar computation of the order the
 * kernels promise: per column four lanes, lane l summing the rows i ≡ l (mod 4) as
 * s_l ← s_l + a_i·r_i, combined as (s_0 + s_1) + (s_2 + s_3). Every variant must give
 * exactly these bits for every shape (row tails, column tails, right-hand-side tails,
 * lda > m, several cache panels), in double and in float storage. The data spans
 * many magnitudes, so that another order of the sums gives other bits: the test
 * checks that it does (a sequential sum differs), so it can fail. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The promised order, in plain scalar code (T: double or float entries). */
#define REF_DOT(T)                                                                       \
  static double ref_dot_##T(int64_t m, const T *a, const double *r)                      \
  {                                                                                      \
    double s[4] = {0, 0, 0, 0};                                                          \
    for (int64_t i = 0; i < m; i++) {                                                    \
      double p = (double)a[i] * r[i];                                                    \
      s[i < (m & ~(int64_t)3) ? i % 4 : i - (m & ~(int64_t)3)] += p;                     \
    }                                                                                    \
    return (s[0] + s[1]) + (s[2] + s[3]);                                                \
  }
REF_DOT(double)
REF_DOT(float)

static double seq_dot(int64_t m, const double *a, const double *r)
{
  double s = 0;
  for (int64_t i = 0; i < m; i++) s += a[i] * r[i];
  return s;
}

typedef struct {
  int64_t m, nc, lda;
  int nb;
  double *A, *R, *V, *G, *Gref, *out, *outref;
  float *Af;
} shape;

static void make(shape *s, int64_t m, int64_t nc, int64_t lda, int nb, sprec_rng *g)
{
  s->m = m, s->nc = nc, s->lda = lda, s->nb = nb;
  s->A = malloc(sizeof(double) * (size_t)(lda * nc));
  s->Af = malloc(sizeof(float) * (size_t)(lda * nc));
  s->R = malloc(sizeof(double) * (size_t)(m * nb));
  s->V = malloc(sizeof(double) * (size_t)nc);
  s->G = malloc(sizeof(double) * (size_t)(nc * nb));
  s->Gref = malloc(sizeof(double) * (size_t)(nc * nb));
  s->out = malloc(sizeof(double) * (size_t)m);
  s->outref = malloc(sizeof(double) * (size_t)m);
  /* Magnitudes from 1e-6 to 1e6: every change of order shows in the last bits. */
  for (int64_t i = 0; i < lda * nc; i++) {
    double x = sprec_rng_normal(g) * pow(10.0, (double)(sprec_rng_next(g) % 13) - 6.0);
    s->Af[i] = (float)x;
    s->A[i] = x;
  }
  for (int64_t i = 0; i < m * nb; i++) s->R[i] = sprec_rng_normal(g);
  for (int64_t j = 0; j < nc; j++) s->V[j] = sprec_rng_normal(g);
}

static void drop(shape *s)
{
  free(s->A), free(s->Af), free(s->R), free(s->V), free(s->G), free(s->Gref), free(s->out),
      free(s->outref);
}

/* Number of results of the selected variant that differ from the reference. */
static int check_shape(shape *s)
{
  int64_t m = s->m, nc = s->nc, lda = s->lda;
  int nb = s->nb, bad = 0;
  const double *r[16];
  double *g[16];
  for (int p = 0; p < nb; p++) r[p] = s->R + p * m, g[p] = s->G + p * nc;
  for (int fl = 0; fl < 2; fl++) {
    for (int p = 0; p < nb; p++)
      for (int64_t j = 0; j < nc; j++)
        s->Gref[j + p * nc] = fl ? ref_dot_float(m, s->Af + j * lda, r[p])
                                 : ref_dot_double(m, s->A + j * lda, r[p]);
    /* single right-hand side */
    for (int p = 0; p < nb; p++) {
      if (fl) sprec_kernel_gemv_t_f32(m, nc, s->Af, lda, r[p], g[p]);
      else sprec_kernel_gemv_t(m, nc, s->A, lda, r[p], g[p]);
    }
    bad += memcmp(s->G, s->Gref, sizeof(double) * (size_t)(nc * nb)) != 0;
    /* all of them in one pass */
    memset(s->G, 0, sizeof(double) * (size_t)(nc * nb));
    if (fl) sprec_kernel_gemv_t_many_f32(m, nc, s->Af, lda, nb, r, g);
    else sprec_kernel_gemv_t_many(m, nc, s->A, lda, nb, r, g);
    bad += memcmp(s->G, s->Gref, sizeof(double) * (size_t)(nc * nb)) != 0;
    /* out += A v, column after column */
    for (int64_t i = 0; i < m; i++) s->out[i] = s->outref[i] = s->R[i];
    for (int64_t j = 0; j < nc; j++)
      for (int64_t i = 0; i < m; i++)
        s->outref[i] += (fl ? (double)s->Af[i + j * lda] : s->A[i + j * lda]) * s->V[j];
    if (fl) sprec_kernel_gemv_n_f32(m, nc, s->Af, lda, s->V, s->out);
    else sprec_kernel_gemv_n(m, nc, s->A, lda, s->V, s->out);
    bad += memcmp(s->out, s->outref, sizeof(double) * (size_t)m) != 0;
  }
  return bad;
}

START_TEST(every_variant_sums_in_the_promised_order)
{
  const char *const *names = sprec_kernel_variants();
  int nvar = 0, bad = 0, order_matters = 0;
  char ran[128] = "";
  for (const char *const *n = names; *n; n++) {
    ck_assert_all(sprec_kernel_select(*n) == SPREC_OK, "cannot select %s", *n);
    ck_assert_all(!strcmp(sprec_kernel_variant(), *n), "selected %s, in use %s", *n,
                  sprec_kernel_variant());
    snprintf(ran + strlen(ran), sizeof ran - strlen(ran), " %s", *n);
    nvar++;
    sprec_rng g;
    sprec_rng_seed(&g, 11, 5, 0);
    /* Small shapes: every tail of rows, columns and right-hand sides. */
    for (int64_t m = 1; m <= 37; m += (m < 12 ? 1 : 5))
      for (int64_t nc = 1; nc <= 19; nc += (nc < 10 ? 1 : 3))
        for (int nb = 1; nb <= 16; nb += (nb < 8 ? 1 : 4)) {
          shape s;
          make(&s, m, nc, m + (nc % 3), nb, &g);
          int b = check_shape(&s);
          if (b && !bad)
            fprintf(stderr, "%s: differs at m=%lld nc=%lld nb=%d\n", *n, (long long)m,
                    (long long)nc, nb);
          bad += b;
          for (int64_t j = 0; j < nc && m >= 8; j++)
            order_matters |= seq_dot(m, s.A + j * s.lda, s.R) != ref_dot_double(m, s.A + j * s.lda, s.R);
          drop(&s);
        }
    /* Larger ones: several cache panels of the batched kernel, long columns. */
    int64_t big[][3] = {{1001, 301, 1001}, {4099, 37, 4103}, {203, 1500, 203}};
    for (int t = 0; t < 3; t++) {
      shape s;
      make(&s, big[t][0], big[t][1], big[t][2], 13, &g);
      int b = check_shape(&s);
      if (b) fprintf(stderr, "%s: differs at m=%lld nc=%lld\n", *n, (long long)big[t][0], (long long)big[t][1]);
      bad += b;
      drop(&s);
    }
  }
  sprec_kernel_select("auto");
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0) fprintf(stderr, "[kernels] variants this CPU runs:%s\n", ran);
  ck_assert_all(nvar >= 1 && !strcmp(names[nvar - 1], "generic"), "the generic variant is missing");
  ck_assert_all(order_matters, "the data does not tell one summation order from another");
  ck_assert_all(bad == 0, "%d kernel results differ from the promised order", bad);
}
END_TEST

/* A name that is unknown, or that this CPU cannot run, is refused and changes nothing. */
START_TEST(bad_variant_names_are_refused)
{
  const char *before = sprec_kernel_variant();
  int ok = sprec_kernel_select("sse9") == SPREC_ERR_ARG &&
           strstr(sprec_errmsg(), "unknown kernel variant") != NULL &&
           !strcmp(sprec_kernel_variant(), before);
  int runs_avx512 = 0;
  for (const char *const *n = sprec_kernel_variants(); *n; n++) runs_avx512 |= !strcmp(*n, "avx512");
  if (!runs_avx512)
    ok &= sprec_kernel_select("avx512") == SPREC_ERR_ARG &&
          strstr(sprec_errmsg(), "cannot run it") != NULL && !strcmp(sprec_kernel_variant(), before);
  ck_assert_all(ok, "a bad variant name was not refused cleanly: %s", sprec_errmsg());
}
END_TEST

TU_MAIN("kernels", 300, NULL, every_variant_sums_in_the_promised_order,
        bad_variant_names_are_refused)
