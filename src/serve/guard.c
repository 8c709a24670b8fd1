/* What keeps two services, or a dying one and its successor, from sharing a state.
 *
 * The lock. Two services on one DIR would both take its queue, both answer for its
 * ids, and the second would overwrite the first's endpoint.json. Rank 0 holds an
 * exclusive fcntl lock on DIR/lock from before it reads the state until it exits; the
 * kernel releases it when the process ends however it ends (a SIGKILL too), so a
 * killed service never blocks its successor, and a successor started while the old
 * one is still ending waits for it (--start-wait) instead of failing. The holder
 * writes "PID HOST" into the file, so that a refused start can name it (fcntl's own
 * F_GETLK pid means nothing across the nodes of a shared file system).
 *
 * The launcher. A SIGKILL of the launcher's process group does not reach the ranks
 * (mpirun puts them in process groups of their own): rank 0 went on accepting requests
 * for up to a second, held the port, and its successor could not bind it. A rank whose
 * parent (mpirun, srun's step daemon) is gone belongs to a job that is being killed:
 * the HTTP server answers 503 from that moment (http.c reads sh->launcher), and the
 * watcher ends the process at once. Ending it is safe: every acknowledged request is
 * committed (WAL, synchronous FULL), and a batch cut short is resumed or solved again
 * by the next start. A service started without a launcher (a singleton, under nohup)
 * is left alone: its parent's end means nothing. */
#include "serve.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The service that holds DIR's lock, in words: "pid P on HOST at URL" (the URL when
 * its endpoint.json is written: it listens), else "pid P on HOST (starting)". */
static void holder(const char *dir, int fd, char *who, size_t len)
{
  char buf[512] = "", host[256] = "?", path[4200];
  long pid = 0;
  ssize_t got = pread(fd, buf, sizeof buf - 1, 0);
  if (got > 0) buf[got] = '\0';
  if (sscanf(buf, "%ld %255s", &pid, host) < 1) { /* written a moment after it is taken */
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK) pid = (long)fl.l_pid;
  }
  snprintf(path, sizeof path, "%s/endpoint.json", dir);
  FILE *f = fopen(path, "r");
  char text[4096] = "";
  size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
  if (f) fclose(f);
  text[n] = '\0';
  cJSON *e = cJSON_Parse(text);
  const cJSON *url = cJSON_GetObjectItemCaseSensitive(e, "url");
  const cJSON *epid = cJSON_GetObjectItemCaseSensitive(e, "pid");
  if (cJSON_IsString(url) && cJSON_IsNumber(epid) && (long)epid->valuedouble == pid)
    snprintf(who, len, "the service of pid %ld on %s at %s", pid, host, url->valuestring);
  else snprintf(who, len, "the service of pid %ld on %s (starting: not listening yet)", pid, host);
  cJSON_Delete(e);
}

sprec_err serve_lock_take(const char *dir, double wait_s, int *out)
{
  char path[4200], who[1024], host[256] = "";
  *out = -1;
  snprintf(path, sizeof path, "%s/lock", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  SPREC_CHECK(fd >= 0, SPREC_ERR_IO, "--state %s: cannot open %s: %s", dir, path, strerror(errno));
  struct timespec t0, now, tick = {0, 100000000};
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int said = 0;;) {
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET}; /* the whole file */
    if (fcntl(fd, F_SETLK, &fl) == 0) break;
    int e = errno;
    if (e != EACCES && e != EAGAIN) {
      close(fd);
      return SPREC_ERROR(SPREC_ERR_IO, "--state %s: cannot lock %s: %s", dir, path, strerror(e));
    }
    holder(dir, fd, who, sizeof who);
    clock_gettime(CLOCK_MONOTONIC, &now);
    double waited = (double)(now.tv_sec - t0.tv_sec) + 1e-9 * (double)(now.tv_nsec - t0.tv_nsec);
    if (waited >= wait_s) {
      close(fd);
      return SPREC_ERROR(SPREC_ERR_ARG,
                         "--state %s is in use by %s (waited %g s): stop it first (SIGTERM: it "
                         "drains and exits), or give another --state",
                         dir, who, wait_s);
    }
    if (!said++) {
      printf("sprec serve: --state %s is in use by %s: waiting up to %g s for it to end\n", dir, who, wait_s);
      fflush(stdout);
    }
    nanosleep(&tick, NULL);
  }
  gethostname(host, sizeof host - 1);
  char line[512];
  int n = snprintf(line, sizeof line, "%ld %s\n", (long)getpid(), host[0] ? host : "?");
  /* (read only by the messages of a refused start: a failure here changes nothing) */
  int wrote = ftruncate(fd, 0) == 0 && pwrite(fd, line, (size_t)n, 0) == n;
  (void)wrote;
  *out = fd;
  return SPREC_OK;
}

typedef struct {
  pid_t parent;
  int rank;
} watch;

static void *watch_main(void *arg)
{
  const watch *w = arg;
  const struct timespec tick = {0, 20000000};
  while (getppid() == w->parent) nanosleep(&tick, NULL);
  if (w->rank == 0)
    fprintf(stderr, "sprec serve: error: the launcher (pid %ld) is gone: the job is being killed; "
                    "stopping at once (every acknowledged request is kept in the state)\n",
            (long)w->parent);
  _exit(1); /* (a clean exit would wait for peers and a batch that may never end) */
}

void serve_watch_launcher(serve_shared *sh, int rank)
{
  static watch w;
  /* Started by a launcher: Open MPI's mpirun, PMIx (Open MPI 5, srun --mpi=pmix), PMI. */
  if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMIX_RANK") && !getenv("PMI_RANK") &&
      !getenv("SLURM_STEP_ID"))
    return;
  w.parent = getppid();
  w.rank = rank;
  if (w.parent <= 1) return; /* (already orphaned, or started by init: nothing to watch) */
  sh->launcher = w.parent;
  pthread_t t;
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  if (pthread_create(&t, &at, watch_main, &w) != 0) sh->launcher = 0;
  pthread_attr_destroy(&at);
}
