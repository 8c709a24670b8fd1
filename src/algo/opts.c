/* The solver's options by name: one table gives each option its name (the CLI flag
 * without its dashes, the service's JSON field, the word library messages use), its
 * type and where it goes in sprec_opts; one function checks them all. Front ends set
 * options through this table and call the check once, so that every option is
 * validated in one place, with one wording. */
#include "algo.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { T_ALGO, T_INT, T_I64, T_DBL, T_FLAG, T_ENUM } opt_type;

typedef struct {
  const char *name;
  opt_type type;
  size_t off;
  const char *const *values; /* T_ENUM: the names, index = value; else NULL */
} opt_desc;

static const char *const lsq_names[] = {"auto", "scalapack", "replicated", NULL};
static const char *const topk_names[] = {"auto", "gather", "threshold", NULL};
static const char *const rule_names[] = {"default", "fixed", "adaptive", NULL};

#define OFF(f) offsetof(sprec_opts, f)
static const opt_desc table[] = {
    {"algo", T_ALGO, OFF(algo), NULL},
    {"k", T_I64, OFF(k), NULL},
    {"iters", T_INT, OFF(iters), NULL},
    {"tol", T_DBL, OFF(tol), NULL},
    {"step", T_DBL, OFF(step), NULL},
    {"step_rule", T_ENUM, OFF(step_rule), rule_names},
    {"lsq", T_ENUM, OFF(lsq), lsq_names},
    {"topk", T_ENUM, OFF(topk), topk_names},
    {"lambda", T_DBL, OFF(lambda), NULL},
    {"lambda_ratio", T_DBL, OFF(lambda_ratio), NULL},
    {"continuation", T_INT, OFF(continuation), NULL},
    {"restart", T_FLAG, OFF(restart), NULL},
    {"debias", T_FLAG, OFF(debias), NULL},
};
#define NOPT ((int)(sizeof table / sizeof table[0]))

void sprec_opts_default(sprec_opts *o)
{
  memset(o, 0, sizeof *o);
  o->algo = sprec_algo_find("sea");
}

const char *const *sprec_opts_names(void)
{
  static const char *names[NOPT + 1];
  for (int i = 0; i < NOPT; i++) names[i] = table[i].name;
  names[NOPT] = NULL;
  return names;
}

static const opt_desc *find(const char *name)
{
  for (int i = 0; i < NOPT; i++)
    if (!strcmp(table[i].name, name)) return &table[i];
  return NULL;
}

static const char *choices(const char *const *v, char *buf, size_t len)
{
  buf[0] = '\0';
  for (int i = 0; v[i]; i++)
    snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? ", " : "", v[i]);
  return buf;
}

sprec_err sprec_opts_set(sprec_opts *o, const char *name, const char *value)
{
  const opt_desc *d = find(name);
  SPREC_CHECK(d, SPREC_ERR_ARG, "unknown option '%s'", name);
  SPREC_CHECK(value, SPREC_ERR_ARG, "%s: needs a value", name);
  char *p = (char *)o + d->off, *end = NULL, buf[200];
  errno = 0;
  switch (d->type) {
  case T_ALGO: {
    sprec_algo a = sprec_algo_find(value);
    SPREC_CHECK(a, SPREC_ERR_ARG, "%s: unknown algorithm '%s' (%s)", name,
                sprec_printable(buf, 41, value, SIZE_MAX), choices(sprec_algorithms(), buf + 41,
                                                                     sizeof buf - 41));
    *(sprec_algo *)p = a;
    break;
  }
  case T_INT:
  case T_I64: {
    long long x = strtoll(value, &end, 10);
    SPREC_CHECK(*value && !*end && !errno, SPREC_ERR_ARG, "%s: '%s' is not an integer", name, value);
    if (d->type == T_INT) {
      SPREC_CHECK(x >= -2147483647 && x <= 2147483647, SPREC_ERR_ARG, "%s: %s is too large", name,
                  value);
      *(int *)p = (int)x;
    } else *(int64_t *)p = x;
    break;
  }
  case T_DBL: {
    double x = strtod(value, &end);
    SPREC_CHECK(*value && !*end && !isnan(x) && (!errno || x == 0 || isinf(x)), SPREC_ERR_ARG,
                "%s: '%s' is not a number", name, value);
    *(double *)p = x;
    break;
  }
  case T_FLAG:
    SPREC_CHECK(!strcmp(value, "1") || !strcmp(value, "0") || !strcmp(value, "true") ||
                    !strcmp(value, "false"),
                SPREC_ERR_ARG, "%s: '%s' is not a flag (true or false)", name, value);
    *(int *)p = !strcmp(value, "1") || !strcmp(value, "true");
    break;
  case T_ENUM:
    for (int i = 0; d->values[i]; i++)
      if (!strcmp(value, d->values[i])) {
        *(int *)p = i;
        return SPREC_OK;
      }
    return SPREC_ERROR(SPREC_ERR_ARG, "%s: unknown value '%s' (%s)", name, value,
                       choices(d->values, buf, sizeof buf));
  }
  return SPREC_OK;
}

sprec_err sprec_opts_get(const sprec_opts *o, const char *name, char *value, size_t len)
{
  const opt_desc *d = find(name);
  SPREC_CHECK(d, SPREC_ERR_ARG, "unknown option '%s'", name);
  const char *p = (const char *)o + d->off;
  switch (d->type) {
  case T_ALGO: snprintf(value, len, "%s", (*(const sprec_algo *)p)->name); break;
  case T_INT: snprintf(value, len, "%d", *(const int *)p); break;
  case T_I64: snprintf(value, len, "%lld", (long long)*(const int64_t *)p); break;
  case T_DBL: snprintf(value, len, "%.17g", *(const double *)p); break;
  case T_FLAG: snprintf(value, len, "%s", *(const int *)p ? "true" : "false"); break;
  case T_ENUM: snprintf(value, len, "%s", d->values[*(const int *)p % 3]); break;
  }
  return SPREC_OK;
}

sprec_err sprec_opts_check(const sprec_opts *o, int64_t m, int64_t n)
{
  SPREC_CHECK(o->algo, SPREC_ERR_ARG, "algo: no algorithm given");
  /* A chain (init_algo) needs what both of its algorithms need. */
  int l1 = o->algo->l1, il1 = o->init_algo ? o->init_algo->l1 : -1;
  int64_t kmax = m < n ? m : n;
  if (l1 || il1 == 1) {
    SPREC_CHECK((o->lambda > 0) != (o->lambda_ratio > 0), SPREC_ERR_ARG,
                "%s %s solves the Lasso: give one of lambda > 0 or lambda_ratio > 0 (got %g "
                "and %g)",
                l1 ? "algo" : "init_algo", (l1 ? o->algo : o->init_algo)->name, o->lambda,
                o->lambda_ratio);
    SPREC_CHECK(o->lambda >= 0 && o->lambda_ratio >= 0 && !isnan(o->lambda_ratio) &&
                    isfinite(o->lambda_ratio),
                SPREC_ERR_ARG, "lambda and lambda_ratio must be positive");
  }
  if ((!l1 || il1 == 0) && m > 0)
    SPREC_CHECK(o->k >= 1 && o->k <= kmax, SPREC_ERR_ARG,
                "k must be in [1, min(m, n)] = [1, %lld] (got %lld)", (long long)kmax,
                (long long)o->k);
  SPREC_CHECK(o->iters >= 0, SPREC_ERR_ARG, "iters must be >= 0 (got %d)", o->iters);
  SPREC_CHECK(o->tol >= 0 && isfinite(o->tol), SPREC_ERR_ARG, "tol must be >= 0 (got %g)", o->tol);
  SPREC_CHECK(o->step >= 0 && isfinite(o->step), SPREC_ERR_ARG,
              "step must be a positive number (got %g)", o->step);
  SPREC_CHECK(o->continuation >= 0, SPREC_ERR_ARG, "continuation must be >= 0 (got %d)",
              o->continuation);
  SPREC_CHECK((unsigned)o->lsq <= 2 && (unsigned)o->topk <= 2 && (unsigned)o->step_rule <= 2,
              SPREC_ERR_ARG, "lsq, topk or step_rule out of range");
  return SPREC_OK;
}
