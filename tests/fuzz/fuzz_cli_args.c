/* libFuzzer harness: the command-line parser (src/cli/args.c).
 *
 * The input is an argument vector, its arguments separated by NUL bytes; the first
 * names the subcommand (gen, solve, info, study, bench; any other picks one of them by
 * its first byte), as main() passes argv + 1 to the command. Each argument is its own
 * heap block of exactly its length, so that reading past one is caught. The harness
 * then does what the command does before it touches MPI or a file: cli_help_requested,
 * cli_parse against the command's option table (a copy of it: tests/cli/test_fuzz.sh
 * checks that the copies match src/cli/cmd_*.c), cli_seen, and the command's own
 * parsing of the values (cli_problem_kind, cli_pick, cli_split_list, the k list).
 * Properties checked on top of the sanitizers: every string option points into an
 * argument, at most maxpos positional arguments, an accepted integer is the value its
 * argument spells (a non-negative one has no minus sign), and every error is
 * SPREC_ERR_ARG with a message. */
#include "cli/cli.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXARGS 64

/* The option variables of all commands; their defaults as in the commands. */
typedef struct {
  const char *problem, *out, *Af, *yf, *algo, *step_rule, *init, *lsq, *topk, *truth, *xout;
  const char *dtype, *checkpoint, *resume, *problems, *algos, *ks, *format, *kernel;
  int64_t m, n, k, taps, min_sep;
  uint64_t seed;
  double snr, width, tol, step, lambda, lratio, sigma;
  int quiet, iters, monitor, continuation, restart, debias, every, trials, reps, quick, implicit;
} vars;

typedef struct {
  const char *cmd;
  int maxpos;
  int nopts;
  cli_opt opts[40];
} table;

/* The tables of src/cli/cmd_gen.c, cmd_solve.c, cmd_info.c, cmd_study.c, cmd_bench.c. */
static int make_table(int which, vars *v, table *t)
{
  memset(t, 0, sizeof *t);
  switch (which) {
  case 0: {
    cli_opt o[] = {
        {"--problem", OPT_STR, &v->problem, 0}, {"-m", OPT_I64, &v->m, 0},
        {"-n", OPT_I64, &v->n, 0},              {"-k", OPT_I64, &v->k, 0},
        {"--snr", OPT_DBL, &v->snr, 0},         {"--seed", OPT_U64, &v->seed, 0},
        {"--width", OPT_DBL, &v->width, 0},     {"--out", OPT_STR, &v->out, 0},
        {"--quiet", OPT_FLAG, &v->quiet, 0},    {"--format", OPT_STR, &v->format, 0},
        {"--sigma", OPT_DBL, &v->sigma, 0},     {"--taps", OPT_I64, &v->taps, 0},
        {"--min-sep", OPT_I64, &v->min_sep, 0},
    };
    t->cmd = "gen", t->maxpos = 0, t->nopts = (int)(sizeof o / sizeof *o);
    memcpy(t->opts, o, sizeof o);
    break;
  }
  case 1: {
    cli_opt o[] = {
        {"--A", OPT_STR, &v->Af, 0},          {"--y", OPT_STR, &v->yf, 0},
        {"--problem", OPT_STR, &v->problem, 0}, {"-m", OPT_I64, &v->m, 0},
        {"-n", OPT_I64, &v->n, 0},            {"-k", OPT_I64, &v->k, 0},
        {"--snr", OPT_DBL, &v->snr, 0},       {"--seed", OPT_U64, &v->seed, 0},
        {"--width", OPT_DBL, &v->width, 0},   {"--algo", OPT_STR, &v->algo, 0},
        {"--iters", OPT_INT, &v->iters, 0},   {"--tol", OPT_DBL, &v->tol, 0},
        {"--step", OPT_DBL, &v->step, 0},     {"--step-rule", OPT_STR, &v->step_rule, 0},
        {"--init", OPT_STR, &v->init, 0},     {"--lsq", OPT_STR, &v->lsq, 0},
        {"--topk", OPT_STR, &v->topk, 0},     {"--truth", OPT_STR, &v->truth, 0},
        {"--out", OPT_STR, &v->out, 0},       {"--x-out", OPT_STR, &v->xout, 0},
        {"--monitor", OPT_INT, &v->monitor, 0}, {"--quiet", OPT_FLAG, &v->quiet, 0},
        {"--lambda", OPT_DBL, &v->lambda, 0}, {"--lambda-ratio", OPT_DBL, &v->lratio, 0},
        {"--continuation", OPT_INT, &v->continuation, 0}, {"--restart", OPT_FLAG, &v->restart, 0},
        {"--debias", OPT_FLAG, &v->debias, 0}, {"--dtype", OPT_STR, &v->dtype, 0},
        {"--checkpoint", OPT_STR, &v->checkpoint, 0}, {"--resume", OPT_STR, &v->resume, 0},
        {"--checkpoint-every", OPT_INT, &v->every, 0},
        {"--kernel", OPT_STR, &v->kernel, 0}, {"--sigma", OPT_DBL, &v->sigma, 0},
        {"--taps", OPT_I64, &v->taps, 0},     {"--min-sep", OPT_I64, &v->min_sep, 0},
        {"--implicit", OPT_FLAG, &v->implicit, 0},
    };
    t->cmd = "solve", t->maxpos = 0, t->nopts = (int)(sizeof o / sizeof *o);
    memcpy(t->opts, o, sizeof o);
    break;
  }
  case 2:
    t->cmd = "info", t->maxpos = 1, t->nopts = 0;
    break;
  case 3: {
    cli_opt o[] = {
        {"--problems", OPT_STR, &v->problems, 0}, {"--algos", OPT_STR, &v->algos, 0},
        {"-m", OPT_I64, &v->m, 0},                {"-n", OPT_I64, &v->n, 0},
        {"--ks", OPT_STR, &v->ks, 0},             {"--trials", OPT_INT, &v->trials, 0},
        {"--snr", OPT_DBL, &v->snr, 0},           {"--width", OPT_DBL, &v->width, 0},
        {"--seed", OPT_U64, &v->seed, 0},         {"--lambda-ratio", OPT_DBL, &v->lratio, 0},
        {"--out", OPT_STR, &v->out, 0},           {"--quiet", OPT_FLAG, &v->quiet, 0},
    };
    t->cmd = "study", t->maxpos = 0, t->nopts = (int)(sizeof o / sizeof *o);
    memcpy(t->opts, o, sizeof o);
    break;
  }
  default: {
    cli_opt o[] = {
        {"-m", OPT_I64, &v->m, 0},         {"-n", OPT_I64, &v->n, 0},        {"-k", OPT_I64, &v->k, 0},
        {"--iters", OPT_INT, &v->iters, 0}, {"--reps", OPT_INT, &v->reps, 0}, {"--out", OPT_STR, &v->out, 0},
        {"--quick", OPT_FLAG, &v->quick, 0}, {"--dtype", OPT_STR, &v->dtype, 0},
    };
    t->cmd = "bench", t->maxpos = 0, t->nopts = (int)(sizeof o / sizeof *o);
    memcpy(t->opts, o, sizeof o);
    break;
  }
  }
  return 0;
}
#define NTABLES 5

static const char *const type_names[] = {"OPT_FLAG", "OPT_INT", "OPT_I64", "OPT_U64", "OPT_DBL", "OPT_STR"};

/* SPREC_FUZZ_PRINT_TABLES=1: print "command option type" for every entry and exit
 * (test_fuzz.sh compares them with the commands' sources). */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc, (void)argv;
  const char *p = getenv("SPREC_FUZZ_PRINT_TABLES");
  if (p && *p == '1') {
    vars v;
    table t;
    for (int w = 0; w < NTABLES; w++) {
      make_table(w, &v, &t);
      for (int i = 0; i < t.nopts; i++) printf("%s %s %s\n", t.cmd, t.opts[i].name, type_names[t.opts[i].type]);
    }
    exit(0);
  }
  return 0;
}

static void fail(const char *what)
{
  fprintf(stderr, "fuzz_cli_args: %s\nmessage: %s\n", what, sprec_errmsg());
  abort();
}

static int inside(const char *s, char **argv, int argc)
{
  for (int i = 0; i < argc; i++)
    if (s >= argv[i] && s <= argv[i] + strlen(argv[i])) return 1;
  return 0;
}

/* The value of the last occurrence of option o in argv, as cli_parse reads it once it
 * has accepted argv: --name=value, or --name value (a value is consumed whatever it
 * looks like); NULL if none. */
static const char *last_value(const table *t, const cli_opt *o, int argc, char **argv)
{
  const char *v = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] != '-' || !a[1]) continue;
    const char *eq = strchr(a, '=');
    size_t len = eq ? (size_t)(eq - a) : strlen(a);
    const cli_opt *p = NULL;
    for (int k = 0; k < t->nopts; k++)
      if (strlen(t->opts[k].name) == len && !strncmp(t->opts[k].name, a, len)) p = &t->opts[k];
    if (!p) fail("cli_parse accepted an unknown option");
    if (p->type == OPT_FLAG) continue;
    const char *val = eq ? eq + 1 : argv[++i];
    if (p == o) v = val;
  }
  return v;
}

/* Accepted numbers are what their arguments spell. */
static void check_numbers(const table *t, int argc, char **argv)
{
  for (int i = 0; i < t->nopts; i++) {
    const cli_opt *o = &t->opts[i];
    if (!o->seen || (o->type != OPT_INT && o->type != OPT_I64 && o->type != OPT_U64)) continue;
    const char *v = last_value(t, o, argc, argv);
    if (!v) fail("cli_parse: a seen option without a value");
    if (o->type == OPT_U64) {
      if (strchr(v, '-')) fail("cli_parse: a negative number accepted as non-negative");
      if (*(uint64_t *)o->ptr != strtoull(v, NULL, 10)) fail("cli_parse: wrong unsigned value");
    } else {
      long long x = strtoll(v, NULL, 10);
      if (o->type == OPT_INT ? *(int *)o->ptr != x : *(int64_t *)o->ptr != x)
        fail("cli_parse: wrong integer value");
    }
  }
}

/* An error from the command's parsing: a usage error with a message. */
static void check_err(sprec_err e)
{
  if (e == SPREC_OK) return;
  if (e != SPREC_ERR_ARG) fail("parsing failed with another error than SPREC_ERR_ARG");
  if (!*sprec_errmsg()) fail("error without a message");
}

/* What the command does with the values once cli_parse succeeded. */
static void command_values(int which, vars *v, table *t)
{
  sprec_problem_kind kind;
  int x;
  if (which == 0) {
    check_err(cli_problem_kind(v->problem, &kind));
    (void)(cli_seen(t->opts, t->nopts, "-m") && cli_seen(t->opts, t->nopts, "-n") &&
           cli_seen(t->opts, t->nopts, "-k"));
  } else if (which == 1) { /* the name lists of cmd_solve.c */
    static const char *const lsq_names[] = {"auto", "scalapack", "replicated", NULL};
    static const char *const topk_names[] = {"auto", "gather", "threshold", NULL};
    static const char *const rule_names[] = {"default", "fixed", "adaptive", NULL};
    static const char *const dtype_names[] = {"float64", "float32", NULL};
    check_err(cli_pick("--dtype", v->dtype, dtype_names, &x));
    check_err(cli_pick("--lsq", v->lsq, lsq_names, &x));
    check_err(cli_pick("--topk", v->topk, topk_names, &x));
    if (v->step_rule) check_err(cli_pick("--step-rule", v->step_rule, rule_names, &x));
    if (v->problem) check_err(cli_problem_kind(v->problem, &kind));
    (void)cli_seen(t->opts, t->nopts, "--lambda");
  } else if (which == 3) { /* as cmd_study.c */
    enum { MAXLIST = 32 };
    char P[MAXLIST][CLI_ITEM], Al[MAXLIST][CLI_ITEM], K[MAXLIST][CLI_ITEM];
    int np_, na, nk;
    sprec_err e = cli_split_list("--problems", v->problems, P, MAXLIST, &np_);
    if (!e) e = cli_split_list("--algos", v->algos, Al, MAXLIST, &na);
    if (!e) e = cli_split_list("--ks", v->ks, K, MAXLIST, &nk);
    check_err(e);
    if (e) return;
    if (np_ < 1 || np_ > MAXLIST || na < 1 || na > MAXLIST || nk < 1 || nk > MAXLIST)
      fail("cli_split_list: count out of range");
    for (int i = 0; i < np_; i++) {
      if (strlen(P[i]) == 0 || strlen(P[i]) >= CLI_ITEM || strchr(P[i], ',')) fail("cli_split_list: bad item");
      check_err(cli_problem_kind(P[i], &kind));
    }
    for (int i = 0; i < nk; i++) {
      char *end;
      long long k = strtoll(K[i], &end, 10);
      (void)(!*end && k >= 1 && k <= (v->m < v->n ? v->m : v->n));
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *argv[MAXARGS + 1];
  int argc = 0;
  size_t s = 0;
  do { /* NUL-separated; a final NUL only ends the last argument */
    size_t len = 0;
    while (s + len < size && data[s + len]) len++;
    argv[argc] = malloc(len + 1);
    if (!argv[argc]) fail("out of memory");
    if (len) memcpy(argv[argc], data + s, len);
    argv[argc][len] = '\0';
    argc++;
    s += len + 1;
  } while (s < size && argc < MAXARGS);
  argv[argc] = NULL;

  int which = -1;
  static const char *const names[NTABLES] = {"gen", "solve", "info", "study", "bench"};
  for (int w = 0; w < NTABLES; w++)
    if (!strcmp(argv[0], names[w])) which = w;
  if (which < 0) which = (unsigned char)argv[0][0] % NTABLES;

  vars v = {0};
  v.problem = which == 0 ? "gaussian" : NULL; /* gen's default; solve: none */
  v.algo = "sea", v.lsq = "auto", v.topk = "auto", v.dtype = "float64";
  v.problems = "gaussian,deconv", v.algos = "sea,htp,iht,omp,ompr,els,cosamp,sp,fista";
  v.ks = "2,4,6,8,10,12,14,16,18,20";
  v.m = 64, v.n = 256, v.trials = 50, v.iters = 20, v.reps = 5;
  table t;
  make_table(which, &v, &t);

  (void)cli_help_requested(argc, argv);
  const char *pos[1] = {NULL};
  int npos = -1;
  sprec_err e = cli_parse(t.cmd, argc, argv, t.opts, t.nopts, pos, t.maxpos, &npos);
  check_err(e);
  if (!e) {
    if (npos < 0 || npos > t.maxpos) fail("cli_parse: too many positional arguments");
    if (npos == 1 && !inside(pos[0], argv, argc)) fail("cli_parse: positional argument not from argv");
    for (int i = 0; i < t.nopts; i++)
      if (t.opts[i].type == OPT_STR && t.opts[i].seen &&
          !inside(*(const char **)t.opts[i].ptr, argv, argc))
        fail("cli_parse: string option not from argv");
    check_numbers(&t, argc, argv);
    command_values(which, &v, &t);
  }
  for (int i = 0; i < argc; i++) free(argv[i]);
  return 0;
}
