/* The dispatch's side of the store: what waits, the next batch taken (its members
 * recorded with the batch's id and their place, so that a restart takes the same batch
 * again and resumes it from its checkpoint), and a batch's results stored in one
 * transaction. */
#include "store_impl.h"

sprec_err serve_store_peek(serve_store *st, double now, double *age, int *same_key,
                           double *newest_age, int *found)
{
  sqlite3_stmt *q = NULL;
  *age = *newest_age = 0;
  *same_key = *found = 0;
  SPREC_CALL(prepare(st,
                     "SELECT r1.created, COUNT(*), MAX(r2.created) FROM (SELECT key, created "
                     "FROM requests WHERE status='queued' ORDER BY seq LIMIT 1) r1 JOIN "
                     "requests r2 ON r2.status='queued' AND r2.key=r1.key",
                     &q, "peek"));
  int s = sqlite3_step(q);
  sprec_err err = s == SQLITE_ROW || s == SQLITE_DONE ? SPREC_OK : fail(st, "peek");
  if (s == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL) {
    *found = 1;
    *age = now - sqlite3_column_double(q, 0);
    *same_key = sqlite3_column_int(q, 1);
    *newest_age = now - sqlite3_column_double(q, 2);
  }
  sqlite3_finalize(q);
  return err;
}

/* One row of the batch into ids[count] and Y's column count, marked running as member
 * count of the batch (u, bound to the time it started and the batch). */
static sprec_err take_row(serve_store *st, sqlite3_stmt *q, sqlite3_stmt *u, int count, int64_t m,
                          char (*ids)[33], double *Y)
{
  snprintf(ids[count], 33, "%s", (const char *)sqlite3_column_text(q, 0));
  const void *b = sqlite3_column_blob(q, 2);
  SPREC_CHECK(b && sqlite3_column_bytes(q, 2) == (int)(m * (int64_t)sizeof(double)), SPREC_ERR_FORMAT,
              "take: request %s: y is not %lld values", ids[count], (long long)m);
  memcpy(Y + (size_t)count * (size_t)m, b, sizeof(double) * (size_t)m);
  sqlite3_bind_int(u, 3, count);
  sqlite3_bind_text(u, 4, ids[count], -1, SQLITE_TRANSIENT);
  int s = sqlite3_step(u);
  sqlite3_reset(u);
  return s == SQLITE_DONE ? SPREC_OK : fail(st, "take");
}

int serve_store_resume_pending(const serve_store *st) { return st->resume; }

sprec_err serve_store_take(serve_store *st, int max, int64_t m, char (*ids)[33], char **opts,
                           double **Y, double *oldest, int *count, char batch[33], int *resumed)
{
  sqlite3_stmt *q = NULL, *u = NULL;
  sprec_err err = SPREC_OK;
  *count = 0;
  *opts = NULL;
  *Y = NULL;
  /* The batch a killed process left running, first and once (its members in their
   * order: its checkpoint holds them so), else the oldest queued request and those
   * queued with its key. Its members are recorded with the batch's id and their place,
   * so that a restart finds the same batch again. */
  *resumed = st->resume;
  st->resume = 0;
  if (exec(st, "BEGIN IMMEDIATE")) return fail(st, "take");
  if (*resumed) { /* more than --max-batch of this start: queued again, solved afresh */
    int n = -1;
    if (prepare(st, "SELECT COUNT(*) FROM requests WHERE status='running'", &q, "take") == SPREC_OK &&
        sqlite3_step(q) == SQLITE_ROW)
      n = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    q = NULL;
    if (n > max && !exec(st, "UPDATE requests SET status='queued', started=NULL, batch=NULL "
                             "WHERE status='running'"))
      *resumed = 0;
  }
  if (!*resumed) new_id(batch);
  SPREC_TRY(prepare(st,
                    *resumed ? "SELECT id, opts, y, created, batch FROM requests WHERE "
                               "status='running' AND batch=(SELECT batch FROM requests WHERE "
                               "status='running' ORDER BY seq LIMIT 1) ORDER BY batch_pos LIMIT ?"
                             : "SELECT id, opts, y, created, batch FROM requests WHERE "
                               "status='queued' AND key=(SELECT key FROM requests WHERE "
                               "status='queued' ORDER BY seq LIMIT 1) ORDER BY seq LIMIT ?",
                    &q, "take"),
            done);
  SPREC_TRY(prepare(st, "UPDATE requests SET status='running', started=?, batch=?, batch_pos=? WHERE id=?",
                    &u, "take"),
            done);
  sqlite3_bind_int(q, 1, max);
  sqlite3_bind_double(u, 1, now_s());
  *Y = malloc(sizeof(double) * (size_t)(m * max));
  SPREC_TRY(*Y ? SPREC_OK : SPREC_ERROR(SPREC_ERR_MEM, "take: out of memory"), done);
  while (sqlite3_step(q) == SQLITE_ROW) {
    if (*count == 0) {
      *opts = strdup((const char *)sqlite3_column_text(q, 1));
      *oldest = sqlite3_column_double(q, 3);
      if (*resumed) snprintf(batch, 33, "%s", (const char *)sqlite3_column_text(q, 4));
      sqlite3_bind_text(u, 2, batch, -1, SQLITE_TRANSIENT);
      SPREC_TRY(*opts ? SPREC_OK : SPREC_ERROR(SPREC_ERR_MEM, "take: out of memory"), done);
    }
    SPREC_TRY(take_row(st, q, u, *count, m, ids, *Y), done);
    (*count)++;
  }
  if (exec(st, "COMMIT")) err = fail(st, "take: commit");
done:
  sqlite3_finalize(q);
  sqlite3_finalize(u);
  if (err) { /* (a failed COMMIT leaves the transaction open) */
    exec(st, "ROLLBACK");
    free(*opts);
    free(*Y);
    *opts = NULL;
    *Y = NULL;
    *count = 0;
  }
  return err;
}

sprec_err serve_store_finish(serve_store *st, const char *id, int ok, const char *text)
{
  sqlite3_stmt *q = NULL;
  SPREC_CALL(prepare(st,
                     "UPDATE requests SET status=?, finished=?, result=?, y=x'' "
                     "WHERE id=? AND status='running'",
                     &q, "finish"));
  sqlite3_bind_text(q, 1, ok ? "done" : "failed", -1, SQLITE_STATIC);
  sqlite3_bind_double(q, 2, now_s());
  sqlite3_bind_text(q, 3, text, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(q, 4, id, -1, SQLITE_TRANSIENT);
  return step_done(st, q, "finish");
}

sprec_err serve_store_finish_batch(serve_store *st, int b, char (*ids)[33], char *const *texts,
                                   const char *why)
{
  if (exec(st, "BEGIN IMMEDIATE")) return fail(st, "finish");
  sprec_err err = SPREC_OK;
  for (int p = 0; p < b && !err; p++)
    err = serve_store_finish(st, ids[p], texts[p] != NULL, texts[p] ? texts[p] : why);
  if (!err && exec(st, "COMMIT")) err = fail(st, "finish: commit");
  if (err) exec(st, "ROLLBACK"); /* (a failed COMMIT leaves the transaction open) */
  return err;
}
