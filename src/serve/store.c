/* The service's durable state: one SQLite database in the state directory, in WAL mode
 * with synchronous FULL, so that a committed request or result survives a SIGKILL or a
 * crash of the node. A request is committed before the HTTP reply acknowledges it; a
 * result is committed in the same transaction that marks its request done. At start-up
 * the requests a killed process left running go back to the queue: each accepted id
 * gets exactly one result. */
#include "store_impl.h"

/* A submission waiting for the writer (it lives on the submitting thread's stack). The
 * writer stores its outcome here, the message too: sprec_errmsg() is per thread, and
 * the submitting thread raises the error again on its own (serve_store_add). */
typedef struct pending {
  const char *key, *opts, *idem, *hash;
  const double *y;
  int64_t m;
  char *id;
  serve_idem *existing;
  sprec_err err;
  char msg[512]; /* the length of the HTTP reply's message, as it always was */
  int done;
  struct pending *next;
} pending;

static const char *const status_names[] = {"queued", "running", "done", "failed", "cancelled"};

const char *serve_status_name(serve_status s) { return status_names[s]; }

static serve_status status_of(const char *name)
{
  for (int s = 0; s < 5; s++)
    if (name && !strcmp(name, status_names[s])) return (serve_status)s;
  return ST_FAILED;
}

/* ------------------------------------------------- the schema and the dictionary -- */
/* meta holds the schema's version and the fingerprint of the dictionary
 * (sprec_op_fingerprint); each request carries the fingerprint it was accepted for, so
 * that no request is ever solved against another dictionary than its own. */
int serve_store_has_column(sqlite3 *db, const char *name)
{
  sqlite3_stmt *q = NULL;
  int found = -1;
  if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM pragma_table_info('requests') WHERE name=?", -1, &q,
                         NULL) == SQLITE_OK) {
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW) found = sqlite3_column_int(q, 0);
  }
  sqlite3_finalize(q);
  return found;
}

/* The tables, and the upgrade of a state written by an earlier version, in one
 * transaction (two processes opening at once upgrade it once). Columns newer than the
 * table are added: idem_hash (what an Idempotency-Key's request asked for; the keys
 * stored before keys were bound keep NULL, and their retries are taken as before),
 * fingerprint, batch and batch_pos (schema 1 had no meta, and recorded neither the
 * dictionary nor the batches). Their rows keep NULL: serve_store_dictionary gives them
 * the fingerprint of the first dictionary the state is started with, and their running
 * rows, which belong to no recorded batch, go back to the queue as they always did. */
static int serve_store_upgrade(serve_store *st)
{
  static const char *const added[][2] = {{"idem_hash", "TEXT"}, {"fingerprint", "TEXT"},
                                         {"batch", "TEXT"},     {"batch_pos", "INTEGER"}};
  int bad = exec(st, "BEGIN IMMEDIATE") ||
            exec(st, "CREATE TABLE IF NOT EXISTS requests ("
                     " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                     " id TEXT UNIQUE NOT NULL,"
                     " idem TEXT UNIQUE,"
                     " key TEXT NOT NULL,"
                     " opts TEXT NOT NULL,"
                     " y BLOB NOT NULL,"
                     " status TEXT NOT NULL,"
                     " created REAL NOT NULL, started REAL, finished REAL,"
                     " result TEXT, idem_hash TEXT, fingerprint TEXT, batch TEXT, batch_pos INTEGER)") ||
            exec(st, "CREATE INDEX IF NOT EXISTS by_status ON requests(status, seq)") ||
            exec(st, "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)");
  for (size_t i = 0; !bad && i < sizeof added / sizeof *added; i++) {
    int found = serve_store_has_column(st->db, added[i][0]);
    char sql[128];
    snprintf(sql, sizeof sql, "ALTER TABLE requests ADD COLUMN %s %s", added[i][0], added[i][1]);
    bad = found < 0 || (!found && exec(st, sql));
  }
  bad = bad || exec(st, "INSERT OR IGNORE INTO meta VALUES('schema', '2')") || exec(st, "COMMIT");
  if (bad) exec(st, "ROLLBACK");
  return bad;
}

/* st->fp from meta ("" when the state has recorded no dictionary yet). */
static void serve_store_read_fingerprint(serve_store *st)
{
  sqlite3_stmt *q = NULL;
  st->fp[0] = '\0';
  if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE name='fingerprint'", -1, &q, NULL) ==
          SQLITE_OK &&
      sqlite3_step(q) == SQLITE_ROW)
    snprintf(st->fp, sizeof st->fp, "%s", (const char *)sqlite3_column_text(q, 0));
  sqlite3_finalize(q);
}

sprec_err serve_store_dictionary(serve_store *st, const char *fp, int replace, int64_t *failed)
{
  sqlite3_stmt *q = NULL;
  char was[SPREC_FINGERPRINT_LEN];
  *failed = 0;
  serve_store_read_fingerprint(st);
  snprintf(was, sizeof was, "%s", st->fp);
  if (!strcmp(was, fp)) return SPREC_OK;
  int64_t waiting = -1;
  if (sqlite3_prepare_v2(st->db, "SELECT COUNT(*) FROM requests WHERE status IN ('queued', 'running')",
                         -1, &q, NULL) == SQLITE_OK &&
      sqlite3_step(q) == SQLITE_ROW)
    waiting = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  SPREC_CHECK(waiting >= 0, SPREC_ERR_IO, "%s/state.sqlite: %s", st->dir, sqlite3_errmsg(st->db));
  SPREC_CHECK(!was[0] || replace, SPREC_ERR_ARG,
              "--state %s is for the dictionary '%s', not for this one, '%s': start with that "
              "dictionary, or add --new-dictionary to serve this one (the %lld request%s still "
              "waiting in %s then fail%s, never solved against it)",
              st->dir, was, fp, (long long)waiting, waiting == 1 ? "" : "s", st->dir,
              waiting == 1 ? "s" : "");
  /* No dictionary recorded (a new state, or one of the previous version: its requests
   * adopt this one), or --new-dictionary: the waiting requests fail with the reason,
   * in the transaction that records the new fingerprint. */
  char why[2 * SPREC_FINGERPRINT_LEN + 128];
  snprintf(why, sizeof why,
           "not solved: the service was restarted with another dictionary ('%s'; this request "
           "was accepted for '%s')",
           fp, was);
  int bad = exec(st, "BEGIN IMMEDIATE");
  if (!bad && was[0]) {
    bad = sqlite3_prepare_v2(st->db,
                             "UPDATE requests SET status='failed', finished=?, result=?, y=x'' "
                             "WHERE status IN ('queued', 'running')",
                             -1, &q, NULL) != SQLITE_OK;
    if (!bad) {
      sqlite3_bind_double(q, 1, now_s());
      sqlite3_bind_text(q, 2, why, -1, SQLITE_TRANSIENT);
      bad = sqlite3_step(q) != SQLITE_DONE;
      *failed = bad ? 0 : sqlite3_changes(st->db);
    }
    sqlite3_finalize(q);
    q = NULL;
  }
  for (int i = 0; !bad && i < 2; i++) {
    static const char *const sql[2] = {"INSERT OR REPLACE INTO meta VALUES('fingerprint', ?)",
                                       "UPDATE requests SET fingerprint=? WHERE fingerprint IS NULL"};
    bad = sqlite3_prepare_v2(st->db, sql[i], -1, &q, NULL) != SQLITE_OK;
    if (!bad) sqlite3_bind_text(q, 1, fp, -1, SQLITE_TRANSIENT), bad = sqlite3_step(q) != SQLITE_DONE;
    sqlite3_finalize(q);
  }
  if (!bad) bad = exec(st, "COMMIT");
  if (bad) {
    sprec_err err = fail(st, "the dictionary's fingerprint");
    exec(st, "ROLLBACK");
    *failed = 0;
    return err;
  }
  if (*failed) st->resume = 0; /* (the batch left running failed with the rest) */
  snprintf(st->fp, sizeof st->fp, "%s", fp);
  return SPREC_OK;
}

sprec_err serve_store_open(const char *dir, int requeue, serve_store **out)
{
  char path[4096];
  serve_store *st = calloc(1, sizeof *st);
  *out = NULL;
  SPREC_CHECK(st, SPREC_ERR_MEM, "out of memory");
  pthread_mutex_init(&st->mu, NULL);
  pthread_cond_init(&st->work, NULL);
  pthread_cond_init(&st->done, NULL);
  st->tail = &st->head;
  snprintf(st->dir, sizeof st->dir, "%s", dir);
  snprintf(path, sizeof path, "%s/state.sqlite", dir);
  if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      NULL) != SQLITE_OK) {
    sprec_err err = fail(st, path);
    serve_store_close(&st);
    return err;
  }
  sqlite3_busy_timeout(st->db, 60000);
  /* At start-up (requeue): the tables made or upgraded; the requests a killed process
   * left running in a recorded batch are kept for the next take (resumed from the
   * batch's checkpoint), those of no batch (the previous version's) queued again. */
  sqlite3_stmt *q = NULL;
  if (exec(st, "PRAGMA journal_mode=WAL") || exec(st, "PRAGMA synchronous=FULL") ||
      (requeue && (serve_store_upgrade(st) ||
                   exec(st, "UPDATE requests SET status='queued', started=NULL "
                            "WHERE status='running' AND batch IS NULL") ||
                   sqlite3_prepare_v2(st->db, "SELECT COUNT(*) FROM requests WHERE status='running'", -1,
                                      &q, NULL) != SQLITE_OK ||
                   sqlite3_step(q) != SQLITE_ROW))) {
    sqlite3_finalize(q);
    sprec_err err = fail(st, path);
    serve_store_close(&st);
    return err;
  }
  st->resume = q && sqlite3_column_int(q, 0) > 0;
  sqlite3_finalize(q);
  serve_store_read_fingerprint(st);
  *out = st;
  return SPREC_OK;
}

void serve_store_close(serve_store **st)
{
  if (!st || !*st) return;
  serve_store *s = *st;
  if (s->started) { /* (no submission is pending: the HTTP server has stopped) */
    pthread_mutex_lock(&s->mu);
    s->closing = 1;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->writer, NULL);
    serve_store_close(&s->w);
  }
  sqlite3_close(s->db);
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->work);
  pthread_cond_destroy(&s->done);
  free(s);
  *st = NULL;
}

/* The request stored under Idempotency-Key idem, compared with hash: its id into id (33
 * bytes) unless *match is SERVE_IDEM_NEW. */
static sprec_err find_idem(serve_store *st, const char *idem, const char *hash, char *id, serve_idem *match)
{
  sqlite3_stmt *q = NULL;
  *match = SERVE_IDEM_NEW;
  SPREC_CALL(prepare(st, "SELECT id, idem_hash FROM requests WHERE idem=?", &q, "idempotency key"));
  sqlite3_bind_text(q, 1, idem, -1, SQLITE_TRANSIENT);
  int s = sqlite3_step(q);
  sprec_err err = s == SQLITE_ROW || s == SQLITE_DONE ? SPREC_OK : fail(st, "idempotency key");
  if (s == SQLITE_ROW) {
    const char *h = (const char *)sqlite3_column_text(q, 1);
    snprintf(id, 33, "%s", (const char *)sqlite3_column_text(q, 0));
    /* no hash: stored before keys were bound, nothing to compare with */
    *match = !h || !strcmp(h, hash) ? SERVE_IDEM_SAME : SERVE_IDEM_OTHER;
  }
  sqlite3_finalize(q);
  return err;
}

/* One submission on connection st (in the writer's transaction). */
static sprec_err add_one(serve_store *st, pending *p)
{
  sqlite3_stmt *q = NULL;
  *p->existing = SERVE_IDEM_NEW;
  if (p->idem) { /* a retried submission: the first id, if it asked for the same */
    SPREC_CALL(find_idem(st, p->idem, p->hash, p->id, p->existing));
    if (*p->existing != SERVE_IDEM_NEW) return SPREC_OK;
  }
  new_id(p->id);
  SPREC_CALL(prepare(st,
                     "INSERT INTO requests(id, idem, idem_hash, key, opts, y, status, created, fingerprint) "
                     "VALUES(?, ?, ?, ?, ?, ?, 'queued', ?, ?)",
                     &q, "store"));
  sqlite3_bind_text(q, 1, p->id, -1, SQLITE_TRANSIENT);
  if (p->idem) {
    sqlite3_bind_text(q, 2, p->idem, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 3, p->hash, -1, SQLITE_TRANSIENT);
  } else sqlite3_bind_null(q, 2), sqlite3_bind_null(q, 3);
  sqlite3_bind_text(q, 4, p->key, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(q, 5, p->opts, -1, SQLITE_TRANSIENT);
  sqlite3_bind_blob64(q, 6, p->y, (sqlite3_uint64)p->m * sizeof *p->y, SQLITE_TRANSIENT);
  sqlite3_bind_double(q, 7, now_s());
  sqlite3_bind_text(q, 8, st->fp, -1, SQLITE_TRANSIENT); /* the dictionary it is accepted for */
  return step_done(st, q, "store");
}

/* p's outcome, with the message raised on this thread (the writer's, or the
 * submitter's when there is no writer). */
static void settle(pending *p, sprec_err err)
{
  p->err = err;
  if (err) snprintf(p->msg, sizeof p->msg, "%s", sprec_errmsg());
}

/* A group of submissions in one transaction on the writer's connection w: durable
 * (WAL, synchronous FULL) once COMMIT returns; if it fails, none is stored. */
static void add_group(serve_store *w, pending *g)
{
  int ok = sqlite3_exec(w->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
  for (pending *p = g; p; p = p->next) settle(p, ok ? add_one(w, p) : fail(w, "store"));
  if (ok && sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
    for (pending *p = g; p; p = p->next)
      if (!p->err) settle(p, fail(w, "store: commit")), *p->existing = SERVE_IDEM_NEW;
    ok = 0;
  }
  if (!ok) sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
}

static void *writer_main(void *arg)
{
  serve_store *st = arg;
  pthread_mutex_lock(&st->mu);
  for (;;) {
    while (!st->head && !st->closing) pthread_cond_wait(&st->work, &st->mu);
    if (!st->head) break;
    pending *g = st->head; /* everything that came in meanwhile */
    st->head = NULL;
    st->tail = &st->head;
    pthread_mutex_unlock(&st->mu);
    add_group(st->w, g);
    pthread_mutex_lock(&st->mu);
    for (pending *p = g, *next; p; p = next) { /* (a waiter returns only once we unlock) */
      next = p->next;
      p->done = 1;
    }
    pthread_cond_broadcast(&st->done);
  }
  pthread_mutex_unlock(&st->mu);
  return NULL;
}

sprec_err serve_store_add(serve_store *st, const char *key, const char *opts, const double *y,
                          int64_t m, const char *idem, const char *hash, char id[33], serve_idem *existing)
{
  pending p = {key, opts, idem, hash, y, m, id, existing, SPREC_OK, "", 0, NULL};
  pthread_mutex_lock(&st->mu);
  if (!st->started) { /* the writer, at the first submission */
    if (serve_store_open(st->dir, 0, &st->w) == SPREC_OK &&
        pthread_create(&st->writer, NULL, writer_main, st) == 0)
      st->started = 1;
    else serve_store_close(&st->w);
  }
  if (!st->started) { /* no writer: this submission alone, on this connection */
    pthread_mutex_unlock(&st->mu);
    add_group(st, &p);
  } else {
    *st->tail = &p;
    st->tail = &p.next;
    pthread_cond_signal(&st->work);
    while (!p.done) pthread_cond_wait(&st->done, &st->mu);
    pthread_mutex_unlock(&st->mu);
  }
  return p.err ? SPREC_ERROR(p.err, "%s", p.msg) : SPREC_OK;
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

sprec_err serve_store_get(serve_store *st, const char *id, serve_request *r, int *found)
{
  sqlite3_stmt *q = NULL;
  memset(r, 0, sizeof *r);
  *found = 0;
  SPREC_CALL(prepare(st,
                     "SELECT id, status, created, started, finished, result FROM requests "
                     "WHERE id=?",
                     &q, "get"));
  sqlite3_bind_text(q, 1, id, -1, SQLITE_TRANSIENT);
  int s = sqlite3_step(q);
  sprec_err err = s == SQLITE_ROW || s == SQLITE_DONE ? SPREC_OK : fail(st, "get");
  if (s == SQLITE_ROW) {
    read_row(q, r);
    *found = 1;
  }
  sqlite3_finalize(q);
  return err;
}

sprec_err serve_store_cancel(serve_store *st, const char *id, serve_request *r, int *cancelled)
{
  sqlite3_stmt *q = NULL;
  int found;
  memset(r, 0, sizeof *r);
  *cancelled = 0;
  SPREC_CALL(prepare(st,
                     "UPDATE requests SET status='cancelled', finished=? "
                     "WHERE id=? AND status='queued'",
                     &q, "cancel"));
  sqlite3_bind_double(q, 1, now_s());
  sqlite3_bind_text(q, 2, id, -1, SQLITE_TRANSIENT);
  SPREC_CALL(step_done(st, q, "cancel"));
  int changed = sqlite3_changes(st->db);
  SPREC_CALL(serve_store_get(st, id, r, &found));
  SPREC_CHECK(found, SPREC_ERR_ARG, "no such request");
  *cancelled = changed;
  return SPREC_OK;
}

sprec_err serve_store_count(serve_store *st, serve_status s, int64_t *count)
{
  sqlite3_stmt *q = NULL;
  *count = -1;
  SPREC_CALL(prepare(st, "SELECT COUNT(*) FROM requests WHERE status=?", &q, "count"));
  sqlite3_bind_text(q, 1, status_names[s], -1, SQLITE_STATIC);
  if (sqlite3_step(q) == SQLITE_ROW) *count = sqlite3_column_int64(q, 0);
  sprec_err err = *count >= 0 ? SPREC_OK : fail(st, "count");
  sqlite3_finalize(q);
  return err;
}

sprec_err serve_store_find_idem(serve_store *st, const char *idem, const char *hash, serve_idem *match)
{
  char id[33];
  sprec_err err = find_idem(st, idem, hash, id, match);
  if (err) *match = SERVE_IDEM_NEW;
  return err;
}
