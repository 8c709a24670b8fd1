/* Option parsing and the checks every subcommand shares. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static sprec_err parse_value(const char *cmd, cli_opt *o, const char *v)
{
  char *end = NULL;
  errno = 0;
  switch (o->type) {
  case OPT_INT:
  case OPT_I64: {
    long long x = strtoll(v, &end, 10);
    SPREC_CHECK(*v && !*end && !errno, SPREC_ERR_ARG, "%s %s: '%s' is not an integer", cmd,
                o->name, v);
    if (o->type == OPT_INT) {
      SPREC_CHECK(x >= -2147483647 && x <= 2147483647, SPREC_ERR_ARG, "%s %s: %s is too large",
                  cmd, o->name, v);
      *(int *)o->ptr = (int)x;
    } else *(int64_t *)o->ptr = x;
    break;
  }
  case OPT_U64: {
    unsigned long long x = strtoull(v, &end, 10);
    SPREC_CHECK(*v && *v != '-' && !*end && !errno, SPREC_ERR_ARG,
                "%s %s: '%s' is not a non-negative integer", cmd, o->name, v);
    *(uint64_t *)o->ptr = x;
    break;
  }
  case OPT_DBL: {
    double x = strtod(v, &end);
    SPREC_CHECK(*v && !*end && !errno && !isnan(x), SPREC_ERR_ARG, "%s %s: '%s' is not a number",
                cmd, o->name, v);
    *(double *)o->ptr = x;
    break;
  }
  case OPT_STR: *(const char **)o->ptr = v; break;
  case OPT_FLAG: *(int *)o->ptr = 1; break;
  }
  return SPREC_OK;
}

sprec_err cli_parse(const char *cmd, int argc, char **argv, cli_opt *opts, int nopts,
                    const char **pos, int maxpos, int *npos)
{
  *npos = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] != '-' || !a[1]) {
      SPREC_CHECK(*npos < maxpos, SPREC_ERR_ARG, "%s: unexpected argument '%s'", cmd, a);
      pos[(*npos)++] = a;
      continue;
    }
    const char *eq = strchr(a, '=');
    size_t len = eq ? (size_t)(eq - a) : strlen(a);
    cli_opt *o = NULL;
    for (int t = 0; t < nopts; t++)
      if (strlen(opts[t].name) == len && !strncmp(opts[t].name, a, len)) o = &opts[t];
    SPREC_CHECK(o, SPREC_ERR_ARG, "%s: unknown option '%.*s' (see 'sprec %s --help')", cmd,
                (int)len, a, cmd);
    o->seen = 1;
    if (o->type == OPT_FLAG) {
      SPREC_CHECK(!eq, SPREC_ERR_ARG, "%s: option %s takes no value", cmd, o->name);
      *(int *)o->ptr = 1;
      continue;
    }
    const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
    SPREC_CHECK(v, SPREC_ERR_ARG, "%s: option %s needs a value", cmd, o->name);
    SPREC_CALL(parse_value(cmd, o, v));
  }
  return SPREC_OK;
}

int cli_seen(const cli_opt *opts, int nopts, const char *name)
{
  for (int t = 0; t < nopts; t++)
    if (!strcmp(opts[t].name, name)) return opts[t].seen;
  return 0;
}

sprec_err cli_pick(const char *flag, const char *v, const char *const *names, int *out)
{
  for (int i = 0; names[i]; i++)
    if (!strcmp(v, names[i])) {
      *out = i;
      return SPREC_OK;
    }
  return SPREC_ERROR(SPREC_ERR_ARG, "%s: unknown value '%s'", flag, v);
}

sprec_err cli_split_list(const char *flag, const char *s, char items[][CLI_ITEM], int maxitems,
                         int *n)
{
  *n = 0;
  while (*s) {
    const char *e = strchr(s, ',');
    size_t len = e ? (size_t)(e - s) : strlen(s);
    SPREC_CHECK(len > 0 && len < CLI_ITEM && *n < maxitems, SPREC_ERR_ARG, "%s: bad list '%s'",
                flag, s);
    memcpy(items[*n], s, len);
    items[(*n)++][len] = '\0';
    s += len + (e ? 1 : 0);
  }
  SPREC_CHECK(*n > 0, SPREC_ERR_ARG, "%s: empty list", flag);
  return SPREC_OK;
}

int cli_help_requested(int argc, char **argv)
{
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
  return 0;
}

int cli_help(int argc, char **argv, const char *text)
{
  if (!cli_help_requested(argc, argv)) return 0;
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0) fputs(text, stdout);
  return 1;
}

sprec_err cli_problem_kind(const char *name, sprec_problem_kind *kind)
{
  if (!strcmp(name, "gaussian")) *kind = SPREC_PROBLEM_GAUSSIAN;
  else if (!strcmp(name, "deconv")) *kind = SPREC_PROBLEM_DECONV;
  else if (!strcmp(name, "hadamard")) *kind = SPREC_PROBLEM_HADAMARD;
  else if (!strcmp(name, "spikes")) *kind = SPREC_PROBLEM_SPIKES;
  else return SPREC_ERROR(SPREC_ERR_ARG, "--problem: unknown problem '%s' (gaussian, deconv, hadamard or spikes)", name);
  return SPREC_OK;
}

double cli_peak_rss_mib(MPI_Comm comm)
{
  struct rusage ru;
  double mib = getrusage(RUSAGE_SELF, &ru) == 0 ? (double)ru.ru_maxrss / 1024.0 : 0.0;
  MPI_Allreduce(MPI_IN_PLACE, &mib, 1, MPI_DOUBLE, MPI_MAX, comm);
  return mib;
}

sprec_err cli_make_dir(MPI_Comm comm, const char *flag, const char *dir)
{
  int rank;
  sprec_err err = SPREC_OK;
  MPI_Comm_rank(comm, &rank);
  if (rank == 0) {
    char p[4096];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1; *s; s++) /* mkdir -p, in C: no shell sees the name */
      if (*s == '/') {
        *s = '\0';
        mkdir(p, 0777);
        *s = '/';
      }
    struct stat sb;
    if (mkdir(p, 0777) != 0 && !(errno == EEXIST && stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)))
      err = SPREC_ERROR(SPREC_ERR_IO, "%s %s: cannot create directory: %s", flag, dir,
                        strerror(errno == EEXIST ? ENOTDIR : errno));
  }
  return sprec_agree(comm, err);
}
