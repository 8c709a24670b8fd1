/* The command-line driver: the only place that calls MPI_Init or names
 * MPI_COMM_WORLD. A client of the library like any other: it includes sprec.h and its
 * own headers only (it is compiled with -Iinclude alone). */
#ifndef SPREC_CLI_H
#define SPREC_CLI_H

#include <sprec.h>

#include <stdlib.h>

typedef enum { OPT_FLAG, OPT_INT, OPT_I64, OPT_U64, OPT_DBL, OPT_STR } cli_opt_type;

typedef struct {
  const char *name; /* with its dashes: "--iters", "-k" */
  cli_opt_type type;
  void *ptr;        /* int for OPT_FLAG and OPT_INT, int64_t, uint64_t, double, const char * */
  int seen;
} cli_opt;

/* Parses argv[1..argc) (argv[0] is the subcommand) against opts. Positional
 * arguments go to pos (at most maxpos). Same result on every rank: no communication. */
sprec_err cli_parse(const char *cmd, int argc, char **argv, cli_opt *opts, int nopts,
                    const char **pos, int maxpos, int *npos);
/* 1 if the option was given. */
int cli_seen(const cli_opt *opts, int nopts, const char *name);
/* The index in names (NULL-terminated) of the value v of option flag, or an error. */
sprec_err cli_pick(const char *flag, const char *v, const char *const *names, int *out);
/* A comma-separated list of option flag into items (at most maxitems, each shorter
 * than CLI_ITEM characters); *n: how many. Empty items and empty lists are errors. */
#define CLI_ITEM 16
sprec_err cli_split_list(const char *flag, const char *s, char items[][CLI_ITEM], int maxitems,
                         int *n);

/* A file a command names (files.c). output: written by the command; dir: a directory
 * (created if missing); may_be: the flag of an input it may be (--checkpoint F
 * --resume F); keep_out: not a file but a directory that no output may be written
 * into (or anywhere under), nor be one of its files through a link; the words that
 * name it in messages ("the service's state directory"). path NULL: not given. */
typedef struct {
  const char *flag, *path;
  int output, dir;
  const char *may_be, *keep_out;
} cli_path;
/* Collective. Before any work, rank 0 checks every path: inputs exist and are regular
 * readable files; outputs are not directories (or are, for dir), go to a directory
 * that exists and takes new files, are neither an input nor another output (device
 * and inode: links and other spellings count) and stay out of every keep_out
 * directory. One error on every rank. */
sprec_err cli_check_paths(MPI_Comm comm, const cli_path *p, int np);

/* err with "flag path: " before the current message. */
sprec_err cli_error_prefix(sprec_err err, const char *flag, const char *path);

/* Outputs written in two phases: each to PATH.sprec-partial (cli_out_add gives the
 * name), then, once every one is written, all renamed into place together
 * (cli_out_commit, collective: with err set, the partial files are removed instead).
 * A command that fails leaves every file that existed before as it was. */
#define CLI_MAX_OUTPUTS 4
typedef struct {
  const char *final[CLI_MAX_OUTPUTS];
  char tmp[CLI_MAX_OUTPUTS][4200];
  int n;
} cli_outset;
const char *cli_out_add(cli_outset *s, const char *path);
sprec_err cli_out_commit(MPI_Comm comm, cli_outset *s, sprec_err err);
/* Collective. mkdir -p dir on rank 0 (flag names the option in the message). */
sprec_err cli_make_dir(MPI_Comm comm, const char *flag, const char *dir);
/* err, with "flag " before the current message when it begins with path (the library
 * names the file; the command adds the flag it came from). */
sprec_err cli_file_error(sprec_err err, const char *flag, const char *path);
/* Not collective. count zeroed elements of size bytes into *(void **)ptrp, or
 * SPREC_ERR_MEM naming what (agree on it before the next collective). */
sprec_err cli_alloc(size_t count, size_t size, void *ptrp, const char *what);
/* Parse a problem name. */
sprec_err cli_problem_kind(const char *name, sprec_problem_kind *kind);

/* 1 if --help or -h is among argv[1..argc) (no communication: the fuzzer calls it). */
int cli_help_requested(int argc, char **argv);
/* The same; then rank 0 of MPI_COMM_WORLD has printed text on stdout. */
int cli_help(int argc, char **argv, const char *text);
/* Collective: the largest peak resident set size over the ranks, MiB. */
double cli_peak_rss_mib(MPI_Comm comm);
/* Set by a command that stopped early on a signal: the exit status is 3. */
extern int cli_interrupted;

sprec_err cmd_gen(int argc, char **argv);
sprec_err cmd_solve(int argc, char **argv);
sprec_err cmd_info(int argc, char **argv);
sprec_err cmd_study(int argc, char **argv);
sprec_err cmd_bench(int argc, char **argv);
sprec_err cmd_submit(int argc, char **argv);
sprec_err cmd_status(int argc, char **argv);

#endif
