/* Run-time choice of the hot kernels' variant, and the scalar dot product that sums
 * in their order.
 *
 * One portable binary: each variant of the kernels (kernels_simd.h) is compiled for its
 * instruction set in a file of its own, and the best one this CPU runs is chosen when
 * the library is first used (BLIS and OpenBLAS's DYNAMIC_ARCH do the same). The order
 * of every sum is fixed in the C code, so the variants differ in speed only: the
 * environment variable SPREC_KERNEL=generic|avx2|avx512 forces one (the tests use it
 * to check that they agree bit for bit). */
#include "impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const sprec_kernel_set sprec_kernels_generic;
#if defined(__x86_64__) && defined(SPREC_HAVE_X86_VARIANTS)
extern const sprec_kernel_set sprec_kernels_avx2, sprec_kernels_avx512;
#endif

typedef struct {
  const char *name;
  const sprec_kernel_set *set;
  int (*runs_here)(void);
} variant;

static int always(void) { return 1; }
#if defined(__x86_64__) && defined(SPREC_HAVE_X86_VARIANTS)
/* libgcc's checks include the operating system's support of the wider registers. */
static int has_avx2(void) { return __builtin_cpu_supports("avx2"); }
static int has_avx512(void)
{
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
}
#endif

/* Best first. */
static const variant variants[] = {
#if defined(__x86_64__) && defined(SPREC_HAVE_X86_VARIANTS)
    {"avx512", &sprec_kernels_avx512, has_avx512},
    {"avx2", &sprec_kernels_avx2, has_avx2},
#endif
    {"generic", &sprec_kernels_generic, always},
};
#define NVARIANT ((int)(sizeof variants / sizeof variants[0]))

static const variant *current;

static const variant *best(void)
{
  for (int v = 0; v < NVARIANT; v++)
    if (variants[v].runs_here()) return &variants[v];
  return &variants[NVARIANT - 1];
}

static sprec_err select_variant(const char *name, const char *what);

/* The first use: $SPREC_KERNEL if it names a variant this CPU runs, else the best
 * (sprec_ctx_create reports a bad $SPREC_KERNEL). */
static const variant *first_use(void)
{
  const char *e = getenv("SPREC_KERNEL");
  if (!e || select_variant(e, "SPREC_KERNEL") != SPREC_OK) current = best();
  return current;
}

const sprec_kernel_set *sprec_kernels(void) { return (current ? current : first_use())->set; }

const char *sprec_kernel_variant(void) { return (current ? current : first_use())->name; }

const char *const *sprec_kernel_variants(void)
{
  static const char *names[NVARIANT + 1];
  int k = 0;
  for (int v = 0; v < NVARIANT; v++)
    if (variants[v].runs_here()) names[k++] = variants[v].name;
  names[k] = NULL;
  return names;
}

/* what: how the name was given, for the message. */
static sprec_err select_variant(const char *name, const char *what)
{
  if (!strcmp(name, "auto")) {
    current = best();
    return SPREC_OK;
  }
  char here[128] = "";
  for (const char *const *n = sprec_kernel_variants(); *n; n++)
    snprintf(here + strlen(here), sizeof here - strlen(here), "%s%s", *here ? ", " : "", *n);
  for (int v = 0; v < NVARIANT; v++)
    if (!strcmp(variants[v].name, name)) {
      SPREC_CHECK(variants[v].runs_here(), SPREC_ERR_ARG,
                  "%s: this CPU cannot run it (it runs: %s)", what, here);
      current = &variants[v];
      return SPREC_OK;
    }
  return SPREC_ERROR(SPREC_ERR_ARG, "%s: unknown kernel variant (auto, or one of: %s)", what, here);
}

sprec_err sprec_kernel_select(const char *name)
{
  char what[96];
  snprintf(what, sizeof what, "kernel variant '%.64s'", name);
  return select_variant(name, what);
}

sprec_err sprec_kernel_select_env(void)
{
  const char *e = getenv("SPREC_KERNEL");
  if (!e || !*e) return SPREC_OK;
  char what[96];
  snprintf(what, sizeof what, "SPREC_KERNEL=%.64s", e);
  return select_variant(e, what);
}

/* The kernels' sum for one column, in scalar code. */
#define NACC 4
#define DEFINE_DOT(NAME, T)                                                              \
  double NAME(int64_t m, const T *a, const double *b)                                    \
  {                                                                                      \
    double s[NACC] = {0, 0, 0, 0};                                                       \
    int64_t i = 0;                                                                       \
    for (; i + NACC <= m; i += NACC)                                                     \
      for (int l = 0; l < NACC; l++) s[l] += (double)a[i + l] * b[i + l];                \
    for (int l = 0; i < m; i++, l++) s[l] += (double)a[i] * b[i];                        \
    return (s[0] + s[1]) + (s[2] + s[3]);                                                \
  }

DEFINE_DOT(sprec_dot, double)
DEFINE_DOT(sprec_dot_f32, float)

double sprec_nrm2sq(int64_t m, const double *a) { return sprec_dot(m, a, a); }
