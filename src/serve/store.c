/* The service's durable state: one SQLite database in the state directory, in WAL mode
 * with synchronous FULL, so that a committed request or result survives a SIGKILL or a
 * crash of the node. A request is committed before the HTTP reply acknowledges it; a
 * result is committed in the same transaction that marks its request done. At start-up
 * the requests a killed process left running go back to the queue: each accepted id
 * gets exactly one result. */
#include "serve.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

struct serve_store {
  sqlite3 *db;
};

static const char *const status_names[] = {"queued", "running", "done", "failed", "cancelled"};

const char *serve_status_name(serve_status s) { return status_names[s]; }

static serve_status status_of(const char *name)
{
  for (int s = 0; s < 5; s++)
    if (name && !strcmp(name, status_names[s])) return (serve_status)s;
  return ST_FAILED;
}

static double now_s(void)
{
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int fail(serve_store *st, char *why, size_t len, const char *what)
{
  snprintf(why, len, "%s: %s", what, st && st->db ? sqlite3_errmsg(st->db) : "no database");
  return -1;
}

static int exec(serve_store *st, const char *sql) { return sqlite3_exec(st->db, sql, NULL, NULL, NULL); }

int serve_store_open(const char *dir, int requeue, serve_store **out, char *why, size_t len)
{
  char path[4096];
  serve_store *st = calloc(1, sizeof *st);
  *out = NULL;
  if (!st) return snprintf(why, len, "out of memory"), -1;
  snprintf(path, sizeof path, "%s/state.sqlite", dir);
  if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      NULL) != SQLITE_OK) {
    fail(st, why, len, path);
    serve_store_close(&st);
    return -1;
  }
  sqlite3_busy_timeout(st->db, 60000);
  if (exec(st, "PRAGMA journal_mode=WAL") || exec(st, "PRAGMA synchronous=FULL") ||
      exec(st, "CREATE TABLE IF NOT EXISTS requests ("
               " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
               " id TEXT UNIQUE NOT NULL,"
               " idem TEXT UNIQUE,"
               " key TEXT NOT NULL,"
               " opts TEXT NOT NULL,"
               " y BLOB NOT NULL,"
               " status TEXT NOT NULL,"
               " created REAL NOT NULL, started REAL, finished REAL,"
               " result TEXT)") ||
      exec(st, "CREATE INDEX IF NOT EXISTS by_status ON requests(status, seq)") ||
      (requeue && exec(st, "UPDATE requests SET status='queued', started=NULL WHERE status='running'"))) {
    fail(st, why, len, path);
    serve_store_close(&st);
    return -1;
  }
  *out = st;
  return 0;
}

void serve_store_close(serve_store **st)
{
  if (!st || !*st) return;
  sqlite3_close((*st)->db);
  free(*st);
  *st = NULL;
}

static void new_id(char id[33])
{
  unsigned char r[16];
  if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) /* (never short for 16 bytes) */
    for (int i = 0; i < 16; i++) r[i] = (unsigned char)rand();
  for (int i = 0; i < 16; i++) snprintf(id + 2 * i, 3, "%02x", r[i]);
}

int serve_store_add(serve_store *st, const char *key, const char *opts, const double *y,
                    int64_t m, const char *idem, char id[33], int *existing, char *why,
                    size_t len)
{
  sqlite3_stmt *q = NULL;
  int rc = -1;
  *existing = 0;
  if (idem) { /* a retried submission: the first id */
    if (sqlite3_prepare_v2(st->db, "SELECT id FROM requests WHERE idem=?", -1, &q, NULL) != SQLITE_OK)
      return fail(st, why, len, "store");
    sqlite3_bind_text(q, 1, idem, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(q) == SQLITE_ROW) {
      snprintf(id, 33, "%s", (const char *)sqlite3_column_text(q, 0));
      *existing = 1;
      sqlite3_finalize(q);
      return 0;
    }
    sqlite3_finalize(q);
  }
  new_id(id);
  if (sqlite3_prepare_v2(st->db,
                         "INSERT INTO requests(id, idem, key, opts, y, status, created) "
                         "VALUES(?, ?, ?, ?, ?, 'queued', ?)",
                         -1, &q, NULL) != SQLITE_OK)
    return fail(st, why, len, "store");
  sqlite3_bind_text(q, 1, id, -1, SQLITE_TRANSIENT);
  if (idem) sqlite3_bind_text(q, 2, idem, -1, SQLITE_TRANSIENT);
  else sqlite3_bind_null(q, 2);
  sqlite3_bind_text(q, 3, key, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(q, 4, opts, -1, SQLITE_TRANSIENT);
  sqlite3_bind_blob64(q, 5, y, (sqlite3_uint64)m * sizeof *y, SQLITE_TRANSIENT);
  sqlite3_bind_double(q, 6, now_s());
  int s = sqlite3_step(q); /* autocommit: durable (WAL, synchronous FULL) when it returns */
  sqlite3_finalize(q);
  if (s == SQLITE_DONE) rc = 0;
  else if (s == SQLITE_CONSTRAINT && idem) /* the same key, concurrently: its id */
    return serve_store_add(st, key, opts, y, m, idem, id, existing, why, len);
  else fail(st, why, len, "store");
  return rc;
}

static void read_row(sqlite3_stmt *q, serve_request *r)
{
  snprintf(r->id, sizeof r->id, "%s", (const char *)sqlite3_column_text(q, 0));
  r->status = status_of((const char *)sqlite3_column_text(q, 1));
  r->created = sqlite3_column_double(q, 2);
  r->started = sqlite3_column_double(q, 3);
  r->finished = sqlite3_column_double(q, 4);
  const char *t = (const char *)sqlite3_column_text(q, 5);
  r->result = t ? strdup(t) : NULL;
}

int serve_store_get(serve_store *st, const char *id, serve_request *r)
{
  sqlite3_stmt *q = NULL;
  memset(r, 0, sizeof *r);
  if (sqlite3_prepare_v2(st->db,
                         "SELECT id, status, created, started, finished, result FROM requests "
                         "WHERE id=?",
                         -1, &q, NULL) != SQLITE_OK)
    return -1;
  sqlite3_bind_text(q, 1, id, -1, SQLITE_TRANSIENT);
  int s = sqlite3_step(q), found = s == SQLITE_ROW;
  if (found) read_row(q, r);
  sqlite3_finalize(q);
  return found ? 1 : s == SQLITE_DONE ? 0 : -1;
}

int serve_store_cancel(serve_store *st, const char *id, serve_request *r)
{
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(st->db,
                         "UPDATE requests SET status='cancelled', finished=? "
                         "WHERE id=? AND status='queued'",
                         -1, &q, NULL) != SQLITE_OK)
    return -1;
  sqlite3_bind_double(q, 1, now_s());
  sqlite3_bind_text(q, 2, id, -1, SQLITE_TRANSIENT);
  int s = sqlite3_step(q);
  sqlite3_finalize(q);
  if (s != SQLITE_DONE) return -1;
  int changed = sqlite3_changes(st->db);
  int found = serve_store_get(st, id, r);
  return found == 1 ? changed : -1;
}

int serve_store_peek(serve_store *st, double now, double *age, int *same_key)
{
  sqlite3_stmt *q = NULL;
  *age = 0;
  *same_key = 0;
  if (sqlite3_prepare_v2(st->db,
                         "SELECT created, (SELECT COUNT(*) FROM requests r2 WHERE r2.status="
                         "'queued' AND r2.key=r1.key) FROM requests r1 WHERE status='queued' "
                         "ORDER BY seq LIMIT 1",
                         -1, &q, NULL) != SQLITE_OK)
    return -1;
  int s = sqlite3_step(q);
  if (s == SQLITE_ROW) {
    *age = now - sqlite3_column_double(q, 0);
    *same_key = sqlite3_column_int(q, 1);
  }
  sqlite3_finalize(q);
  return s == SQLITE_ROW ? 1 : s == SQLITE_DONE ? 0 : -1;
}

int serve_store_take(serve_store *st, int max, int64_t m, char (*ids)[33], char **opts,
                     double **Y, double *oldest)
{
  sqlite3_stmt *q = NULL, *u = NULL;
  int count = 0, ok = 1;
  *opts = NULL;
  *Y = NULL;
  if (exec(st, "BEGIN IMMEDIATE")) return -1;
  if (sqlite3_prepare_v2(st->db,
                         "SELECT id, opts, y, created FROM requests WHERE status='queued' AND "
                         "key=(SELECT key FROM requests WHERE status='queued' ORDER BY seq "
                         "LIMIT 1) ORDER BY seq LIMIT ?",
                         -1, &q, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(st->db, "UPDATE requests SET status='running', started=? WHERE id=?", -1,
                         &u, NULL) != SQLITE_OK)
    ok = 0;
  if (ok) {
    sqlite3_bind_int(q, 1, max);
    *Y = malloc(sizeof(double) * (size_t)(m * max));
    ok = *Y != NULL;
  }
  double t = now_s();
  while (ok && sqlite3_step(q) == SQLITE_ROW) {
    snprintf(ids[count], 33, "%s", (const char *)sqlite3_column_text(q, 0));
    if (count == 0) {
      *opts = strdup((const char *)sqlite3_column_text(q, 1));
      *oldest = sqlite3_column_double(q, 3);
    }
    const void *b = sqlite3_column_blob(q, 2);
    ok = *opts && b && sqlite3_column_bytes(q, 2) == (int)(m * (int64_t)sizeof(double));
    if (ok) memcpy(*Y + (size_t)count * (size_t)m, b, sizeof(double) * (size_t)m);
    sqlite3_bind_double(u, 1, t);
    sqlite3_bind_text(u, 2, ids[count], -1, SQLITE_TRANSIENT);
    ok = ok && sqlite3_step(u) == SQLITE_DONE;
    sqlite3_reset(u);
    count++;
  }
  sqlite3_finalize(q);
  sqlite3_finalize(u);
  if (!ok || exec(st, "COMMIT")) {
    exec(st, "ROLLBACK");
    free(*opts);
    free(*Y);
    *opts = NULL;
    *Y = NULL;
    return -1;
  }
  return count;
}

int serve_store_finish(serve_store *st, const char *id, int ok, const char *text)
{
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(st->db,
                         "UPDATE requests SET status=?, finished=?, result=?, y=x'' "
                         "WHERE id=? AND status='running'",
                         -1, &q, NULL) != SQLITE_OK)
    return -1;
  sqlite3_bind_text(q, 1, ok ? "done" : "failed", -1, SQLITE_STATIC);
  sqlite3_bind_double(q, 2, now_s());
  sqlite3_bind_text(q, 3, text, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(q, 4, id, -1, SQLITE_TRANSIENT);
  int s = sqlite3_step(q);
  sqlite3_finalize(q);
  return s == SQLITE_DONE ? 0 : -1;
}

int serve_store_finish_batch(serve_store *st, int b, char (*ids)[33], char *const *texts,
                             const char *why)
{
  if (exec(st, "BEGIN IMMEDIATE")) return -1;
  int ok = 1;
  for (int p = 0; p < b && ok; p++)
    ok = !serve_store_finish(st, ids[p], texts[p] != NULL, texts[p] ? texts[p] : why);
  if (!ok || exec(st, "COMMIT")) { /* (a failed COMMIT leaves the transaction open) */
    exec(st, "ROLLBACK");
    return -1;
  }
  return 0;
}

int64_t serve_store_count(serve_store *st, serve_status s)
{
  sqlite3_stmt *q = NULL;
  int64_t c = -1;
  if (sqlite3_prepare_v2(st->db, "SELECT COUNT(*) FROM requests WHERE status=?", -1, &q, NULL) != SQLITE_OK)
    return -1;
  sqlite3_bind_text(q, 1, status_names[s], -1, SQLITE_STATIC);
  if (sqlite3_step(q) == SQLITE_ROW) c = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return c;
}
