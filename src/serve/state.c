/* The state file's integrity: checked at every start, recovered by hand, backed up.
 *
 * A damaged page (a disk, a copy, a tool that wrote into the file) made the service
 * start, answer 500 for the results on that page, and accept new work on top of the
 * damage. Now a start runs PRAGMA quick_check first (every page read once; O(size of
 * the file)) on a connection that never checkpoints, so that a refused file is left as
 * it was, byte for byte; `sprec serve --recover DIR` copies what can still be read into
 * a fresh state and names what could not be; and --backup-every keeps recent copies
 * made with SQLite's online backup API (which reads a consistent snapshot while the
 * service goes on writing). */
#include "store_impl.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

/* DIR/state.sqlite opened as it is: no creation, no checkpoint of the WAL into it when
 * closed (a damaged file must stay as it was). */
static sprec_err open_as_is(const char *path, sqlite3 **out)
{
  sqlite3 *db = NULL;
  *out = NULL;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
    sprec_err err = SPREC_ERROR(SPREC_ERR_IO, "%s: cannot open: %s", path,
                                db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return err;
  }
  sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
  sqlite3_busy_timeout(db, 60000);
  *out = db;
  return SPREC_OK;
}

sprec_err serve_state_check(const char *dir)
{
  char path[4200], what[512] = "";
  snprintf(path, sizeof path, "%s/state.sqlite", dir);
  if (access(path, F_OK) != 0) return SPREC_OK; /* a new state */
  sqlite3 *db = NULL;
  SPREC_CALL(open_as_is(path, &db));
  sqlite3_stmt *q = NULL;
  int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &q, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_step(q);
  if (rc == SQLITE_ROW) snprintf(what, sizeof what, "%s", (const char *)sqlite3_column_text(q, 0));
  else snprintf(what, sizeof what, "%s", sqlite3_errmsg(db));
  sqlite3_finalize(q);
  sqlite3_close(db);
  if (rc == SQLITE_ROW && !strcmp(what, "ok")) return SPREC_OK;
  for (char *c = what; *c; c++) /* one line */
    if (*c == '\n' || *c == '\r') *c = ' ';
  return SPREC_ERROR(SPREC_ERR_FORMAT,
                     "%s is damaged (%s): not started, the file left as it is; 'sprec serve "
                     "--recover %s' copies every request and result that can be read into a "
                     "fresh state and lists the others",
                     path, what, dir);
}

/* --------------------------------------------------------------- recover -- */
/* The readable part of a damaged file: rows by their seq, one at a time (a damaged
 * page loses its rows only), and the ids of the unique index on id, which may name a
 * row whose table page is gone. */
typedef struct {
  sqlite3 *db;
  int64_t max_seq;     /* the largest seq any readable part knows                      */
  int64_t nidx;        /* (seq, id) pairs read from the index                          */
  int index_whole;     /* 1 if the index was read to its end: it names every row       */
  int64_t *iseq;
  char (*iid)[33];
} source;

static int64_t one_int(sqlite3 *db, const char *sql, int64_t dflt)
{
  sqlite3_stmt *q = NULL;
  int64_t v = dflt;
  if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW &&
      sqlite3_column_type(q, 0) != SQLITE_NULL)
    v = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return v;
}

static void read_index(source *s)
{
  sqlite3_stmt *q = NULL;
  int64_t cap = 0;
  if (sqlite3_prepare_v2(s->db, "SELECT seq, id FROM requests INDEXED BY sqlite_autoindex_requests_1",
                         -1, &q, NULL) != SQLITE_OK)
    return;
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) { /* (up to the first damaged page of the index) */
    const char *id = (const char *)sqlite3_column_text(q, 1);
    if (!id || strlen(id) != 32) continue;
    if (s->nidx == cap) {
      cap = cap ? 2 * cap : 1024;
      int64_t *a = realloc(s->iseq, sizeof *a * (size_t)cap);
      char(*b)[33] = realloc(s->iid, sizeof *b * (size_t)cap);
      if (a) s->iseq = a;
      if (b) s->iid = b;
      if (!a || !b) break;
    }
    s->iseq[s->nidx] = sqlite3_column_int64(q, 0);
    snprintf(s->iid[s->nidx], 33, "%s", id);
    if (s->iseq[s->nidx] > s->max_seq) s->max_seq = s->iseq[s->nidx];
    s->nidx++;
  }
  s->index_whole = rc == SQLITE_DONE;
  sqlite3_finalize(q);
}

/* A row worth copying: an id of 32 hex digits, a known status, its texts present. */
static int row_sound(sqlite3_stmt *q)
{
  const char *id = (const char *)sqlite3_column_text(q, 0);
  const char *status = (const char *)sqlite3_column_text(q, 5);
  if (!id || strlen(id) != 32 || strspn(id, "0123456789abcdef") != 32 || !status) return 0;
  int known = 0;
  for (int s = 0; s < 5; s++) known |= !strcmp(status, serve_status_name((serve_status)s));
  return known && sqlite3_column_type(q, 2) == SQLITE_TEXT && sqlite3_column_type(q, 3) == SQLITE_TEXT &&
         sqlite3_column_type(q, 4) == SQLITE_BLOB && sqlite3_column_double(q, 6) > 0 &&
         (strcmp(status, "done") || sqlite3_column_type(q, 9) == SQLITE_TEXT);
}

/* Every readable row of src into dst (in one transaction); the others named on stdout.
 * *copied, *lost: how many. */
static sprec_err copy_rows(source *src, serve_store *dst, int64_t *copied, int64_t *lost)
{
  sqlite3_stmt *q = NULL, *ins = NULL;
  /* The columns added by later versions (store.c), NULL where this file lacks them. */
  static const char *const later[] = {"idem_hash", "fingerprint", "batch", "batch_pos"};
  char sel[512] = "SELECT id, idem, key, opts, y, status, created, started, finished, result";
  for (int c = 0; c < 4; c++) {
    size_t len = strlen(sel);
    snprintf(sel + len, sizeof sel - len, ", %s", serve_store_has_column(src->db, later[c]) > 0 ? later[c] : "NULL");
  }
  strcat(sel, " FROM requests WHERE seq=?");
  if (sqlite3_prepare_v2(src->db, sel, -1, &q, NULL) != SQLITE_OK)
    return SPREC_ERROR(SPREC_ERR_FORMAT, "the table of requests cannot be read: %s", sqlite3_errmsg(src->db));
  sprec_err err = prepare(dst,
                          "INSERT INTO requests(seq, id, idem, key, opts, y, status, created, started, "
                          "finished, result, idem_hash, fingerprint, batch, batch_pos) "
                          "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          &ins, "recover");
  if (!err && exec(dst, "BEGIN IMMEDIATE")) err = fail(dst, "recover");
  for (int64_t seq = 1; !err && seq <= src->max_seq; seq++) {
    sqlite3_bind_int64(q, 1, seq);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW && row_sound(q)) {
      sqlite3_bind_int64(ins, 1, seq);
      for (int c = 0; c < 14; c++) sqlite3_bind_value(ins, c + 2, sqlite3_column_value(q, c));
      if (sqlite3_step(ins) == SQLITE_DONE) ++*copied;
      else err = fail(dst, "recover");
      sqlite3_reset(ins);
    } else {
      const char *id = NULL;
      for (int64_t t = 0; t < src->nidx; t++)
        if (src->iseq[t] == seq) id = src->iid[t];
      /* No row: lost if the index names it, or cannot say (seqs have no gaps, but for
       * the rows an earlier recovery could not copy: the index knows none of those). */
      if (rc == SQLITE_DONE && !id && src->index_whole) {
        sqlite3_reset(q);
        continue;
      }
      if (!id) id = "?";
      printf("lost %s (seq %lld): %s\n", id, (long long)seq,
             rc == SQLITE_ROW    ? "its row is damaged"
             : rc == SQLITE_DONE ? "its row cannot be found (a damaged page)"
                                 : sqlite3_errmsg(src->db));
      ++*lost;
    }
    sqlite3_reset(q);
  }
  sqlite3_finalize(q);
  sqlite3_finalize(ins);
  if (!err && exec(dst, "COMMIT")) err = fail(dst, "recover: commit");
  if (err) exec(dst, "ROLLBACK");
  return err;
}

/* The damaged file set aside (renamed, with its WAL), the fresh one put in its place. */
static sprec_err swap_files(const char *dir, const char *fresh, char *kept, size_t klen)
{
  char path[4200], side[4400], stamp[32];
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  snprintf(path, sizeof path, "%s/state.sqlite-wal", dir);
  snprintf(side, sizeof side, "%s/state.sqlite.damaged-%s-wal", dir, stamp);
  SPREC_CHECK(rename(path, side) == 0 || errno == ENOENT, SPREC_ERR_IO, "%s: cannot rename: %s", path,
              strerror(errno));
  snprintf(path, sizeof path, "%s/state.sqlite", dir);
  snprintf(kept, klen, "%s.damaged-%s", path, stamp);
  int e = 0;
  if (link(path, kept) != 0) e = errno; /* the old file under its new name, then the new */
  else if (rename(fresh, path) != 0) e = errno, unlink(kept);
  if (e) {
    snprintf(path, sizeof path, "%s/state.sqlite-wal", dir);
    rename(side, path); /* (as it was) */
    return SPREC_ERROR(SPREC_ERR_IO, "%s: cannot put the fresh state in place: %s", path, strerror(e));
  }
  snprintf(path, sizeof path, "%s/state.sqlite-shm", dir);
  unlink(path); /* (the index of the WAL set aside: stale) */
  return SPREC_OK;
}

int serve_state_recover(const char *dir)
{
  char path[4200], tmpdir[4200], fresh[4300], kept[4400] = "";
  int lock = -1;
  snprintf(path, sizeof path, "%s/state.sqlite", dir);
  snprintf(tmpdir, sizeof tmpdir, "%s/recover.tmp", dir);
  snprintf(fresh, sizeof fresh, "%s/state.sqlite", tmpdir);
  sprec_err err = serve_lock_take(dir, 0, &lock); /* (no service may run on it meanwhile) */
  if (!err && access(path, F_OK) != 0)
    err = SPREC_ERROR(SPREC_ERR_ARG, "--recover %s: no state.sqlite there", dir);
  if (err) {
    fprintf(stderr, "sprec serve: error: %s\n", sprec_errmsg());
    if (lock >= 0) close(lock);
    return 2;
  }
  source src = {0};
  serve_store *dst = NULL;
  int64_t copied = 0, lost = 0;
  unlink(fresh); /* (a recovery that was cut short) */
  mkdir(tmpdir, 0700);
  err = open_as_is(path, &src.db);
  if (!err) {
    src.max_seq = one_int(src.db, "SELECT seq FROM sqlite_sequence WHERE name='requests'", 0);
    int64_t mx = one_int(src.db, "SELECT MAX(seq) FROM requests", 0);
    if (mx > src.max_seq) src.max_seq = mx;
    read_index(&src);
    err = serve_store_open(tmpdir, 1, &dst);
  }
  if (!err) { /* the dictionary it was made for, if that can be read */
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(src.db, "SELECT value FROM meta WHERE name='fingerprint'", -1, &q, NULL) ==
            SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW) {
      int64_t failed;
      err = serve_store_dictionary(dst, (const char *)sqlite3_column_text(q, 0), 0, &failed);
    }
    sqlite3_finalize(q);
  }
  if (!err) err = copy_rows(&src, dst, &copied, &lost);
  sqlite3_close(src.db);
  serve_store_close(&dst); /* (the last connection: its WAL goes into the file) */
  if (!err) err = swap_files(dir, fresh, kept, sizeof kept);
  if (err) { /* (a fresh file half made: gone; the damaged one is where it was) */
    char p[4400];
    unlink(fresh);
    snprintf(p, sizeof p, "%s-wal", fresh), unlink(p);
    snprintf(p, sizeof p, "%s-shm", fresh), unlink(p);
  }
  rmdir(tmpdir);
  free(src.iseq);
  free(src.iid);
  close(lock);
  if (err) {
    fprintf(stderr, "sprec serve: error: --recover %s: %s (nothing replaced)\n", dir, sprec_errmsg());
    return 1;
  }
  printf("sprec serve: --recover %s: %lld requests copied into a fresh %s, %lld lost%s; the old "
         "file is kept as %s\n",
         dir, (long long)copied, path, (long long)lost, lost ? " (listed above)" : "", kept);
  return 0;
}
