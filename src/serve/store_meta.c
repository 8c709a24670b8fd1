/* The state's schema and the dictionary it was made for. meta holds the schema's
 * version and the fingerprint of the dictionary (sprec_op_fingerprint); each request
 * carries the fingerprint it was accepted for, so that no request is ever solved
 * against another dictionary than its own. */
#include "store_impl.h"

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
int serve_store_upgrade(serve_store *st)
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
void serve_store_read_fingerprint(serve_store *st)
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
