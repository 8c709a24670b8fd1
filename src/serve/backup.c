/* Periodic backups of the state (--backup-every S, --backup-keep K): a thread of rank 0
 * that, every S seconds when the state has changed since its last copy, copies it with
 * SQLite's online backup API into DIR/backups/state-TIME.sqlite (TIME in UTC to the
 * millisecond: the names sort by age) and removes all but the newest K. The API reads
 * one consistent snapshot, in a read transaction that in WAL mode holds up no writer;
 * the copy is made under a temporary name and renamed once complete, in rollback
 * journal mode: one self-contained file, which restores the state when copied to
 * DIR/state.sqlite (the service stopped). A copy that fails is reported on stderr and
 * the service goes on. */
#include "store_impl.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

struct serve_backup {
  char dir[4096];
  double every;
  int keep, stop;
  sqlite3 *src;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
};

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* All but the newest keep copies removed. */
static void prune(const char *dir, int keep)
{
  DIR *d = opendir(dir);
  char **names = NULL, path[4400];
  size_t n = 0, cap = 0;
  struct dirent *e;
  while (d && (e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (strncmp(e->d_name, "state-", 6) || len < 7 || strcmp(e->d_name + len - 7, ".sqlite")) continue;
    if (n == cap) {
      char **p = realloc(names, sizeof *names * (cap = cap ? 2 * cap : 16));
      if (!p) break;
      names = p;
    }
    if (!(names[n] = strdup(e->d_name))) break;
    n++;
  }
  if (d) closedir(d);
  if (n) qsort(names, n, sizeof *names, by_name);
  for (size_t i = 0; i < n; i++) {
    if (i + (size_t)keep < n) snprintf(path, sizeof path, "%s/%s", dir, names[i]), unlink(path);
    free(names[i]);
  }
  free(names);
}

/* One copy of the state into DIR/backups. */
static sprec_err backup_once(serve_backup *b)
{
  char dir[4200], tmp[4420], path[4400], stamp[40];
  struct timespec t;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &t);
  gmtime_r(&t.tv_sec, &tm);
  strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
  snprintf(dir, sizeof dir, "%s/backups", b->dir);
  snprintf(path, sizeof path, "%s/state-%s.%03ldZ.sqlite", dir, stamp, t.tv_nsec / 1000000);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  SPREC_CHECK(mkdir(dir, 0700) == 0 || errno == EEXIST, SPREC_ERR_IO, "%s: cannot create: %s", dir,
              strerror(errno));
  unlink(tmp);
  sqlite3 *dst = NULL;
  int rc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  sqlite3_backup *bk = rc == SQLITE_OK ? sqlite3_backup_init(dst, "main", b->src, "main") : NULL;
  if (bk) {
    rc = sqlite3_backup_step(bk, -1); /* every page, in one snapshot */
    sqlite3_backup_finish(bk);
    rc = rc == SQLITE_DONE ? sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) : rc;
  } else if (rc == SQLITE_OK) rc = sqlite3_errcode(dst);
  char why[256];
  snprintf(why, sizeof why, "%s", dst ? sqlite3_errmsg(dst) : "out of memory");
  if (sqlite3_close(dst) != SQLITE_OK && rc == SQLITE_OK) rc = SQLITE_ERROR;
  if (rc != SQLITE_OK || rename(tmp, path) != 0) {
    unlink(tmp);
    return SPREC_ERROR(SPREC_ERR_IO, "%s: %s", path, rc != SQLITE_OK ? why : strerror(errno));
  }
  prune(dir, b->keep);
  return SPREC_OK;
}

static void *backup_main(void *arg)
{
  serve_backup *b = arg;
  int64_t last = -1; /* PRAGMA data_version at the last copy: it changes with every
                        commit of another connection (the service's) */
  pthread_mutex_lock(&b->mu);
  while (!b->stop) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    double t = (double)until.tv_sec + 1e-9 * (double)until.tv_nsec + b->every;
    until.tv_sec = (time_t)t;
    until.tv_nsec = (long)((t - (double)until.tv_sec) * 1e9);
    int rc = 0;
    while (!b->stop && rc != ETIMEDOUT) rc = pthread_cond_timedwait(&b->cv, &b->mu, &until);
    if (b->stop) break;
    pthread_mutex_unlock(&b->mu);
    sqlite3_stmt *q = NULL;
    int64_t v = -2;
    if (sqlite3_prepare_v2(b->src, "PRAGMA data_version", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
      v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    if (v != last || v == -2) {
      if (backup_once(b) == SPREC_OK) last = v;
      else fprintf(stderr, "sprec serve: error: cannot back up the state: %s (the service goes on)\n",
                   sprec_errmsg());
    }
    pthread_mutex_lock(&b->mu);
  }
  pthread_mutex_unlock(&b->mu);
  return NULL;
}

sprec_err serve_backup_start(const char *dir, double every, int keep, serve_backup **out)
{
  char path[4200];
  serve_backup *b = calloc(1, sizeof *b);
  *out = NULL;
  SPREC_CHECK(b, SPREC_ERR_MEM, "out of memory");
  snprintf(b->dir, sizeof b->dir, "%s", dir);
  b->every = every;
  b->keep = keep;
  pthread_mutex_init(&b->mu, NULL);
  pthread_cond_init(&b->cv, NULL);
  snprintf(path, sizeof path, "%s/state.sqlite", dir);
  int rc = sqlite3_open_v2(path, &b->src, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL);
  if (rc == SQLITE_OK) sqlite3_busy_timeout(b->src, 60000);
  if (rc != SQLITE_OK || pthread_create(&b->thread, NULL, backup_main, b) != 0) {
    sprec_err err = SPREC_ERROR(SPREC_ERR_IO, "%s: cannot start the backups: %s", path,
                                b->src ? sqlite3_errmsg(b->src) : "out of memory");
    sqlite3_close(b->src);
    free(b);
    return err;
  }
  *out = b;
  return SPREC_OK;
}

void serve_backup_stop(serve_backup **bp)
{
  if (!bp || !*bp) return;
  serve_backup *b = *bp;
  pthread_mutex_lock(&b->mu);
  b->stop = 1;
  pthread_cond_signal(&b->cv);
  pthread_mutex_unlock(&b->mu);
  pthread_join(b->thread, NULL);
  sqlite3_close(b->src);
  pthread_mutex_destroy(&b->mu);
  pthread_cond_destroy(&b->cv);
  free(b);
  *bp = NULL;
}
