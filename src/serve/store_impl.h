/* Internal to the service's store (store.c: the connection, the schema and its
 * upgrade, the dictionary's fingerprint, requests and results; store_batch.c: the
 * dispatch's side, batches taken and finished): the connection object and the small
 * helpers they share. */
#ifndef SPREC_SERVE_STORE_IMPL_H
#define SPREC_SERVE_STORE_IMPL_H

#include "serve.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

struct serve_store {
  sqlite3 *db;
  char dir[4096];
  /* Group commit of submissions: one writer thread, on a connection of its own, stores
   * every submission that has come in while it synced the previous group to disk, in
   * one transaction: one sync for them all, not one each (4.4 ms here, serialized: a
   * burst of 64 took 0.3 s to be accepted, and the dispatch cut it in two batches). */
  pthread_mutex_t mu;
  pthread_cond_t work, done;
  struct pending *head, **tail;
  serve_store *w; /* the writer's connection */
  pthread_t writer;
  int started, closing;
  char fp[SPREC_FINGERPRINT_LEN]; /* the dictionary's, as meta holds it ("" if none yet) */
  int resume; /* a batch a killed process left running: the next take returns it */
};

static inline double now_s(void)
{
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The connection's last error: "what: SQLite's message". */
static inline sprec_err fail(serve_store *st, const char *what)
{
  return SPREC_ERROR(SPREC_ERR_IO, "%s: %s", what,
                     st && st->db ? sqlite3_errmsg(st->db) : "no database");
}

static inline int exec(serve_store *st, const char *sql) { return sqlite3_exec(st->db, sql, NULL, NULL, NULL); }

/* sql compiled on st's connection into *q. */
static inline sprec_err prepare(serve_store *st, const char *sql, sqlite3_stmt **q, const char *what)
{
  return sqlite3_prepare_v2(st->db, sql, -1, q, NULL) == SQLITE_OK ? SPREC_OK : fail(st, what);
}

/* A statement that returns no rows, run and finalized. */
static inline sprec_err step_done(serve_store *st, sqlite3_stmt *q, const char *what)
{
  sprec_err err = sqlite3_step(q) == SQLITE_DONE ? SPREC_OK : fail(st, what);
  sqlite3_finalize(q);
  return err;
}

/* A fresh id: 128 random bits in hex. */
static inline void new_id(char id[33])
{
  unsigned char r[16];
  if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) /* (never short for 16 bytes) */
    for (int i = 0; i < 16; i++) r[i] = (unsigned char)rand();
  for (int i = 0; i < 16; i++) snprintf(id + 2 * i, 3, "%02x", r[i]);
}

/* store.c (state.c's --recover too): whether the table requests of db has the column
 * name: 1, 0, or -1 when that cannot be read. */
int serve_store_has_column(sqlite3 *db, const char *name);

#endif
