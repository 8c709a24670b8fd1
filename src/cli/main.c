/* sprec: one binary, several subcommands. Exit status 0 on success, 1 when the solver
 * fails, 2 for bad usage or bad input, 3 when a signal (SIGTERM, SIGUSR1) stopped a
 * solve early (after writing its checkpoint, if asked for one); errors are one line on
 * stderr from rank 0. */
#include "cli.h"
#include "../serve/serve.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: sprec <command> [options]\n"
    "  gen    generate a test problem into .npy files\n"
    "  solve  recover a sparse x from y = A x + e\n"
    "  info   describe a .npy file\n"
    "  study  recovery study: every algorithm on many random problems, CSV out\n"
    "  bench  bandwidth, iteration and least-squares timings, measured side by side\n"
    "  serve  the resident solver service: A loaded once, requests over HTTP\n"
    "  submit send a solve request to a running service; status: ask about one\n"
    "Run 'sprec <command> --help' for the options of a command; 'sprec --version'.\n";

int cli_interrupted = 0;

/* Open MPI's in-process messages go to the descriptor OPAL_OUTPUT_STDERR_FD names, read
 * by MPI_Init: a copy of stderr of their own, so that the library can mute it while
 * its MPI-IO calls run (a failed write is then sprec's one line, not Open MPI's
 * "mca_fbtl_posix_pwritev: error in (p)write(v)" above it) and nothing else: every
 * other message of Open MPI, and everything sprec prints, still reaches stderr. A
 * value already set (a launcher's) is kept. The copy stays open across exec, for the
 * helper a singleton MPI_Init starts with the same environment. */
static void route_mpi_messages(void)
{
  if (getenv("OPAL_OUTPUT_STDERR_FD")) return;
  int fd = fcntl(2, F_DUPFD, 3);
  if (fd < 0) return;
  char v[16];
  snprintf(v, sizeof v, "%d", fd);
  setenv("OPAL_OUTPUT_STDERR_FD", v, 1);
}

int main(int argc, char **argv)
{
  route_mpi_messages();
  MPI_Init(&argc, &argv);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const char *cmd = argc > 1 ? argv[1] : "";
  sprec_err err;
  int serve_code = 0;
  if (!strcmp(cmd, "gen")) err = cmd_gen(argc - 1, argv + 1);
  else if (!strcmp(cmd, "solve")) err = cmd_solve(argc - 1, argv + 1);
  else if (!strcmp(cmd, "info")) err = cmd_info(argc - 1, argv + 1);
  else if (!strcmp(cmd, "study")) err = cmd_study(argc - 1, argv + 1);
  else if (!strcmp(cmd, "bench")) err = cmd_bench(argc - 1, argv + 1);
  else if (!strcmp(cmd, "submit")) err = cmd_submit(argc - 1, argv + 1);
  else if (!strcmp(cmd, "status")) err = cmd_status(argc - 1, argv + 1);
  else if (!strcmp(cmd, "serve")) { /* a front end of its own, with its own messages */
    serve_code = serve_main(argc - 1, argv + 1);
    err = SPREC_OK;
  }
  else if (!strcmp(cmd, "--version")) {
    if (rank == 0) printf("sprec %s (kernels: %s)\n", sprec_version(), sprec_kernel_variant());
    err = SPREC_OK;
  } else if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
    if (rank == 0) fputs(usage, stdout);
    err = SPREC_OK;
  } else if (!*cmd) err = SPREC_ERROR(SPREC_ERR_ARG, "missing command (gen, solve, info, study, bench, serve, submit or status)");
  else err = SPREC_ERROR(SPREC_ERR_ARG, "unknown command '%s' (gen, solve, info, study, bench, serve, submit or status)", cmd);

  int code = serve_code ? serve_code : cli_interrupted ? 3 : 0;
  if (err) {
    code = (err == SPREC_ERR_ARG || err == SPREC_ERR_IO || err == SPREC_ERR_FORMAT) ? 2 : 1;
    if (rank == 0) {
      int named = *cmd && *cmd != '-'; /* "sprec solve: error: ..." or "sprec: error: ..." */
      fprintf(stderr, "sprec%s%s: error: %s\n", named ? " " : "", named ? cmd : "", sprec_errmsg());
      if (getenv("SPREC_TRACE")) fputs(sprec_errtrace(), stderr);
    }
  }
  /* Under scripts/mpirun.sh the status goes through SPREC_STATUS_FILE (rank 0 writes
   * it) and every rank exits 0: mpirun, when the signal that stops a run reaches it
   * too, exits 1 whatever the ranks return; and a rank's non-zero exit makes it kill
   * the others, waiting odls_base_sigkill_timeout seconds even when they are exiting
   * on their own. Launched any other way, sprec exits with its status. */
  const char *sf = getenv("SPREC_STATUS_FILE");
  if (sf && *sf) {
    if (rank == 0) {
      FILE *f = fopen(sf, "w");
      if (f) fprintf(f, "%d\n", code), fclose(f);
    }
    code = 0;
  }
  MPI_Finalize();
  return code;
}
