/* The solver's options by name: one table gives each option its name (the CLI flag
 * without its dashes, the service's JSON field, the word library messages use), its
 * type, where it goes in sprec_opts and its valid range; one function checks them all.
 * Front ends set options through this table and call the check once, so that every
 * option is validated in one place, with one wording. */
#include "algo.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { T_ALGO, T_INT, T_I64, T_DBL, T_FLAG, T_ENUM } opt_type;

/* A number's range: [lo, hi], lo excluded with R_ABOVE, infinity excluded with
 * R_FINITE. R_DEFAULT: 0 stands for "the default" (step: the algorithm's own), taken
 * in the struct and by name (sprec_opts_get writes it, a stored request reads it
 * back) but refused from a user (sprec_opts_check_given), who means a step of 0 by
 * it. R_SIZES: the range depends on the problem's sizes (k), checked with them. */
enum { R_ABOVE = 1, R_FINITE = 2, R_DEFAULT = 4, R_SIZES = 8 };

typedef struct {
  const char *name;
  opt_type type;
  size_t off;
  const char *const *values; /* T_ENUM: the names, index = value; else NULL */
  double lo, hi;             /* T_INT, T_I64, T_DBL: the range, with flags    */
  unsigned flags;
  const char *range;         /* the range in a message's words: "name must be ..." */
} opt_desc;

static const char *const lsq_names[] = {"auto", "scalapack", "replicated", NULL};
static const char *const topk_names[] = {"auto", "gather", "threshold", NULL};
static const char *const rule_names[] = {"default", "fixed", "adaptive", NULL};

#define OFF(f) offsetof(sprec_opts, f)
static const opt_desc table[] = {
    {"algo", T_ALGO, OFF(algo), NULL, 0, 0, 0, NULL},
    {"k", T_I64, OFF(k), NULL, 1, INT64_MAX, R_SIZES, "in [1, min(m, n)]"},
    {"iters", T_INT, OFF(iters), NULL, 0, INT_MAX, 0, ">= 0"},
    {"tol", T_DBL, OFF(tol), NULL, 0, INFINITY, R_FINITE, ">= 0"},
    {"step", T_DBL, OFF(step), NULL, 0, INFINITY, R_ABOVE | R_FINITE | R_DEFAULT,
     "a positive number"},
    {"step_rule", T_ENUM, OFF(step_rule), rule_names, 0, 0, 0, NULL},
    {"lsq", T_ENUM, OFF(lsq), lsq_names, 0, 0, 0, NULL},
    {"topk", T_ENUM, OFF(topk), topk_names, 0, 0, 0, NULL},
    /* lambda = inf is a Lasso whose answer is x = 0; 0 with lambda_ratio: unset */
    {"lambda", T_DBL, OFF(lambda), NULL, 0, INFINITY, R_ABOVE | R_DEFAULT, "> 0"},
    {"lambda_ratio", T_DBL, OFF(lambda_ratio), NULL, 0, INFINITY, R_ABOVE | R_FINITE | R_DEFAULT,
     "a finite number > 0"},
    {"continuation", T_INT, OFF(continuation), NULL, 0, INT_MAX, 0, ">= 0"},
    {"restart", T_FLAG, OFF(restart), NULL, 0, 0, 0, NULL},
    {"debias", T_FLAG, OFF(debias), NULL, 0, 0, 0, NULL},
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

/* A number option's value, as a double (exact for every int, and for the int64 k up
 * to 2^53) and as the text of a message. */
static double number(const sprec_opts *o, const opt_desc *d, char *text, size_t len)
{
  const char *p = (const char *)o + d->off;
  if (d->type == T_INT) return snprintf(text, len, "%d", *(const int *)p), *(const int *)p;
  if (d->type == T_I64)
    return snprintf(text, len, "%lld", (long long)*(const int64_t *)p), (double)*(const int64_t *)p;
  return snprintf(text, len, "%g", *(const double *)p), *(const double *)p;
}

/* One option's value against its table entry: in range, or (R_DEFAULT) 0. */
static sprec_err check_one(const sprec_opts *o, const opt_desc *d)
{
  const char *p = (const char *)o + d->off;
  char text[64];
  switch (d->type) {
  case T_ALGO: SPREC_CHECK(*(const sprec_algo *)p, SPREC_ERR_ARG, "algo: no algorithm given"); break;
  case T_FLAG:
    SPREC_CHECK(*(const int *)p == 0 || *(const int *)p == 1, SPREC_ERR_ARG,
                "%s: %d is not a flag (0 or 1)", d->name, *(const int *)p);
    break;
  case T_ENUM: {
    int v = *(const int *)p, n = 0;
    while (d->values[n]) n++;
    SPREC_CHECK(v >= 0 && v < n, SPREC_ERR_ARG, "%s: value %d out of range", d->name, v);
    break;
  }
  default: {
    if (d->flags & R_SIZES) break; /* with the sizes, in sprec_opts_check */
    double x = number(o, d, text, sizeof text);
    int in = x >= d->lo && x <= d->hi && !((d->flags & R_ABOVE) && x == d->lo) &&
             !((d->flags & R_FINITE) && !isfinite(x));
    SPREC_CHECK(in || ((d->flags & R_DEFAULT) && x == 0), SPREC_ERR_ARG, "%s must be %s (got %s)",
                d->name, d->range, text);
  }
  }
  return SPREC_OK;
}

sprec_err sprec_opts_check_given(const sprec_opts *o, const char *name)
{
  const opt_desc *d = find(name);
  SPREC_CHECK(d, SPREC_ERR_ARG, "unknown option '%s'", name);
  char text[64];
  if ((d->flags & R_DEFAULT) && number(o, d, text, sizeof text) == 0)
    return SPREC_ERROR(SPREC_ERR_ARG, "%s must be %s (got %s)", d->name, d->range, text);
  return SPREC_OK; /* the rest of its range: sprec_opts_check, after the rules between options */
}

sprec_err sprec_opts_check(const sprec_opts *o, int64_t m, int64_t n)
{
  SPREC_CALL(check_one(o, &table[0])); /* algo, which the rules below read */
  /* The rules between options and sizes first; then every option's own range. A chain
   * (init_algo) needs what both of its algorithms need. */
  int l1 = o->algo->l1, il1 = o->init_algo ? o->init_algo->l1 : -1;
  int64_t kmax = m < n ? m : n;
  if (l1 || il1 == 1)
    SPREC_CHECK((o->lambda > 0) != (o->lambda_ratio > 0), SPREC_ERR_ARG,
                "%s %s solves the Lasso: give one of lambda > 0 or lambda_ratio > 0 (got %g "
                "and %g)",
                l1 ? "algo" : "init_algo", (l1 ? o->algo : o->init_algo)->name, o->lambda,
                o->lambda_ratio);
  if ((!l1 || il1 == 0) && m > 0)
    SPREC_CHECK(o->k >= 1 && o->k <= kmax, SPREC_ERR_ARG,
                "k must be in [1, min(m, n)] = [1, %lld] (got %lld)", (long long)kmax,
                (long long)o->k);
  for (int i = 1; i < NOPT; i++) SPREC_CALL(check_one(o, &table[i]));
  return SPREC_OK;
}
