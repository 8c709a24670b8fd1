/* Checkpoints: the state of a run in one file, so that a run stopped by a signal (a
 * preempted or time-limited batch job) continues later, on any number of ranks, and
 * ends bit for bit as it would have without the interruption.
 *
 * An algorithm names the variables that define where it is (sprec_w_keep: pointers,
 * read when a checkpoint is written and filled when one is restored), at a point of
 * its loop where they are consistent: the end of an iteration. The replicated least
 * squares keep their factorization in the file too, since it is updated, not
 * recomputed, from one iteration to the next.
 *
 * File: a header and the replicated items (identical on every rank; rank 0 writes
 * them), then the distributed vectors in global order, each rank writing its slice,
 * so that any number of ranks can read them back. Written to a temporary name and
 * renamed. The header holds fingerprints of A (a hash of Aᵀu for a fixed u: one pass,
 * the same bits for any number of ranks), of y and of the options, checked on resume:
 * a checkpoint of another problem is refused. */
#include "algo.h"
#include "../lsq/lsq.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CK_MAGIC "SPRECCK1"
#define CK_OPTS 512 /* the options, as text */

typedef struct {
  char magic[8];
  uint64_t blob_len; /* header + replicated items                      */
  uint64_t m, n, fp_A, fp_y;
  int64_t iteration;
  uint64_t nitems;
  char algo[16];
  char opts[CK_OPTS];
} ck_header;

typedef struct {
  char name[24];
  int64_t kind, len; /* len: entries of the payload (DIST: n, in the tail) */
} ck_item_head;

void sprec_w_keep(sprec_work *w, const char *name, sprec_keep_kind kind, void *p, int64_t len)
{
  if (w->nkeep < SPREC_MAX_KEEP) w->keep[w->nkeep] = (sprec_keep){name, kind, p, len};
  w->nkeep++; /* more than SPREC_MAX_KEEP: a programming error, reported by save and restore */
}

static uint64_t mix(uint64_t x)
{
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

static uint64_t bits(double v)
{
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  return u;
}

/* Hash of y and of A (through g = Aᵀu, u_i = mix(i) scaled to [−1, 1)): a sum of
 * per-entry hashes, which does not depend on how the entries are split over ranks. */
static sprec_err fingerprints(sprec_work *w, uint64_t *fp_A, uint64_t *fp_y)
{
  double *u = NULL, *g = NULL;
  sprec_err err = sprec_calloc((size_t)w->m, sizeof *u, &u, "checkpoint fingerprint");
  if (!err) err = sprec_calloc((size_t)w->nl + 1, sizeof *g, &g, "checkpoint fingerprint");
  uint64_t h = 0, hy = 0;
  if (!err) {
    for (int64_t i = 0; i < w->m; i++) {
      u[i] = (double)(mix((uint64_t)i + 1) >> 11) * 0x1p-52 - 1.0;
      hy += mix(bits(w->y[i]) ^ mix((uint64_t)i));
    }
    err = sprec_op_apply_T(w->A, u, g);
    for (int64_t j = 0; j < w->nl && !err; j++)
      h += mix(bits(g[j]) ^ mix((uint64_t)(w->A->col_start + j)));
  }
  free(u);
  free(g);
  SPREC_CALL(sprec_agree(w->ctx->comm, err));
  SPREC_MPI(MPI_Allreduce(MPI_IN_PLACE, &h, 1, MPI_UINT64_T, MPI_SUM, w->ctx->comm));
  *fp_A = h;
  *fp_y = hy;
  return SPREC_OK;
}

/* The options that change the course of a run, as text (compared on resume). Not the
 * budget: a run may be resumed with a larger --iters, and goes on as far as an
 * uninterrupted run with that budget. Nor the top-k method: both give the same sets. */
static void options_text(const sprec_work *w, char *s, size_t len)
{
  static const char *const lsq[] = {"auto", "scalapack", "replicated"};
  static const char *const rule[] = {"default", "fixed", "adaptive"};
  const sprec_opts *o = &w->o;
  snprintf(s, len,
           "algo=%s k=%lld tol=%.17g step=%.17g step-rule=%s lambda=%.17g continuation=%d "
           "restart=%d debias=%d lsq=%s",
           o->algo, (long long)o->k, o->tol, o->step, rule[o->step_rule % 3], w->lambda,
           o->continuation, o->restart, o->debias, lsq[o->lsq % 3]);
}

/* A growing byte buffer for the replicated part. */
typedef struct {
  unsigned char *p;
  size_t len, cap;
  int failed;
} buf;

static void put(buf *b, const void *src, size_t n)
{
  if (b->failed) return;
  if (b->len + n > b->cap) {
    size_t cap = 2 * (b->len + n) + 4096;
    unsigned char *q = realloc(b->p, cap);
    if (!q) {
      b->failed = 1;
      return;
    }
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->len, src, n);
  b->len += n;
}

static void put_item(buf *b, const char *name, int64_t kind, int64_t len)
{
  ck_item_head h;
  memset(&h, 0, sizeof h);
  snprintf(h.name, sizeof h.name, "%s", name);
  h.kind = kind;
  h.len = len;
  put(b, &h, sizeof h);
}

static void put_lsq(buf *b, sprec_lsq l)
{
  int64_t kf = l->kf, m = l->m, v[2] = {l->kf, l->ndep};
  put_item(b, "lsq", SPREC_KEEP_LSQ, kf);
  put(b, v, sizeof v);
  put(b, l->fidx, (size_t)kf * sizeof(int64_t));
  put(b, l->cols, (size_t)(m * kf) * sizeof(double));
  put(b, l->Q, (size_t)(m * kf) * sizeof(double));
  put(b, l->R, (size_t)(l->kmax * kf) * sizeof(double));
  put(b, l->qty, (size_t)kf * sizeof(double));
}

/* The header and replicated items, the same bytes on every rank. */
static void serialize(sprec_work *w, int iteration, buf *b)
{
  ck_header h;
  memset(&h, 0, sizeof h);
  memcpy(h.magic, CK_MAGIC, 8);
  h.m = (uint64_t)w->m;
  h.n = (uint64_t)w->n;
  h.fp_A = w->fp_A;
  h.fp_y = w->fp_y;
  h.iteration = iteration;
  snprintf(h.algo, sizeof h.algo, "%s", w->o.algo);
  options_text(w, h.opts, sizeof h.opts);
  put(b, &h, sizeof h);
  uint64_t nitems = 0;
  for (int i = 0; i < w->nkeep; i++) {
    const sprec_keep *k = &w->keep[i];
    nitems++;
    switch (k->kind) {
    case SPREC_KEEP_DIST: put_item(b, k->name, k->kind, w->n); break;
    case SPREC_KEEP_REP:
      put_item(b, k->name, k->kind, k->len);
      put(b, *(double **)k->p, (size_t)k->len * sizeof(double));
      break;
    case SPREC_KEEP_SPARSE: {
      const sprec_sparse *s = k->p;
      put_item(b, k->name, k->kind, s->nnz);
      put(b, s->idx, (size_t)s->nnz * sizeof(int64_t));
      put(b, s->val, (size_t)s->nnz * sizeof(double));
      break;
    }
    case SPREC_KEEP_DBL: put_item(b, k->name, k->kind, 1), put(b, k->p, sizeof(double)); break;
    case SPREC_KEEP_INT: {
      int64_t v = *(int *)k->p;
      put_item(b, k->name, k->kind, 1);
      put(b, &v, sizeof v);
      break;
    }
    case SPREC_KEEP_I64: put_item(b, k->name, k->kind, 1), put(b, k->p, sizeof(int64_t)); break;
    default: break;
    }
  }
  if (w->lsq && !w->lsq->scalapack) put_lsq(b, w->lsq), nitems++;
  if (!b->failed) {
    ck_header *hp = (ck_header *)b->p;
    hp->blob_len = b->len;
    hp->nitems = nitems;
  }
}

static sprec_err io_fail(const char *what, const char *path, int rc)
{
  char msg[MPI_MAX_ERROR_STRING] = "";
  int len = 0;
  if (rc != MPI_SUCCESS) MPI_Error_string(rc, msg, &len);
  return SPREC_ERROR(SPREC_ERR_IO, "checkpoint %s: cannot %s%s%s", path, what, len ? ": " : "",
                     msg);
}

/* len bytes at off, in pieces that fit MPI's int counts (the replicated part holds the
 * least squares' m x k factors, which can pass 2 GiB). Independent, not collective. */
static int write_bytes(MPI_File fh, MPI_Offset off, const void *p, size_t len)
{
  const size_t piece = (size_t)1 << 30;
  for (size_t at = 0; at < len; at += piece) {
    int n = (int)(len - at < piece ? len - at : piece), got = 0, rc;
    MPI_Status st;
    rc = MPI_File_write_at(fh, off + (MPI_Offset)at, (const char *)p + at, n, MPI_BYTE, &st);
    if (rc != MPI_SUCCESS) return rc;
    MPI_Get_count(&st, MPI_BYTE, &got);
    if (got != n) return MPI_ERR_IO;
  }
  return MPI_SUCCESS;
}

static int read_bytes(MPI_File fh, MPI_Offset off, void *p, size_t len)
{
  const size_t piece = (size_t)1 << 30;
  for (size_t at = 0; at < len; at += piece) {
    int n = (int)(len - at < piece ? len - at : piece), got = 0, rc;
    MPI_Status st;
    rc = MPI_File_read_at(fh, off + (MPI_Offset)at, (char *)p + at, n, MPI_BYTE, &st);
    if (rc != MPI_SUCCESS) return rc;
    MPI_Get_count(&st, MPI_BYTE, &got);
    if (got != n) return MPI_ERR_IO;
  }
  return MPI_SUCCESS;
}

sprec_err sprec_w_save(sprec_work *w, int iteration, int stop)
{
  const char *path = w->o.checkpoint;
  int every = w->o.checkpoint_every;
  if (!path || !(stop || (every > 0 && iteration > 0 && iteration % every == 0))) return SPREC_OK;
  SPREC_CHECK(w->nkeep <= SPREC_MAX_KEEP, SPREC_ERR_ARG, "too many checkpoint items");
  double t0 = MPI_Wtime();
  sprec_ctx c = w->ctx;
  if (!w->have_fp) SPREC_CALL(fingerprints(w, &w->fp_A, &w->fp_y));
  w->have_fp = 1;
  buf b = {0};
  serialize(w, iteration, &b);
  sprec_err err = b.failed ? SPREC_ERROR(SPREC_ERR_MEM, "checkpoint: out of memory") : SPREC_OK;
  char tmp[4200];
  long pid = (long)getpid();
  MPI_Bcast(&pid, 1, MPI_LONG, 0, c->comm);
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, pid);
  MPI_File fh = MPI_FILE_NULL;
  int rc = MPI_SUCCESS;
  if (!err) {
    rc = MPI_File_open(c->comm, tmp, MPI_MODE_WRONLY | MPI_MODE_CREATE, MPI_INFO_NULL, &fh);
    if (rc != MPI_SUCCESS) err = io_fail("create", tmp, rc);
  }
  SPREC_TRY(sprec_agree(c->comm, err), done);
  MPI_File_set_errhandler(fh, MPI_ERRORS_RETURN);
  MPI_File_set_size(fh, 0);
  if (c->rank == 0) {
    rc = write_bytes(fh, 0, b.p, b.len);
    if (rc != MPI_SUCCESS) err = io_fail("write", path, rc);
  }
  MPI_Offset off = (MPI_Offset)b.len;
  for (int i = 0; i < w->nkeep && !err; i++) {
    if (w->keep[i].kind != SPREC_KEEP_DIST) continue;
    const double *v = *(double **)w->keep[i].p;
    rc = write_bytes(fh, off + 8 * (MPI_Offset)w->A->col_start, v, (size_t)w->nl * 8);
    if (rc != MPI_SUCCESS) err = io_fail("write", path, rc);
    off += 8 * (MPI_Offset)w->n;
  }
  rc = MPI_File_close(&fh);
  if (rc != MPI_SUCCESS && !err) err = io_fail("write", path, rc);
  err = sprec_agree(c->comm, err);
  if (c->rank == 0) {
    if (!err && rename(tmp, path) != 0)
      err = SPREC_ERROR(SPREC_ERR_IO, "checkpoint %s: cannot write: %s", path, strerror(errno));
    if (err) unlink(tmp);
  }
  SPREC_TRY(sprec_agree(c->comm, err), done);
  w->st->checkpoint_iteration = iteration;
done:
  free(b.p);
  w->t_checkpoint += MPI_Wtime() - t0;
  return err;
}

/* ---------------------------------------------------------------- resume -- */
/* Reads len bytes at *pos of the blob, or fails. */
static int take(const unsigned char *blob, size_t blen, size_t *pos, void *dst, size_t len)
{
  if (*pos + len > blen) return 0;
  if (dst) memcpy(dst, blob + *pos, len);
  *pos += len;
  return 1;
}

/* The first option that differs between two option texts, for the message. */
static void first_difference(const char *a, const char *b, char *out, size_t len)
{
  while (*a && *b) {
    size_t la = strcspn(a, " "), lb = strcspn(b, " ");
    if (la != lb || strncmp(a, b, la)) {
      snprintf(out, len, "%.*s in the checkpoint, %.*s here", (int)la, a, (int)lb, b);
      return;
    }
    a += la + (a[la] == ' ');
    b += lb + (b[lb] == ' ');
  }
  snprintf(out, len, "they differ");
}

static sprec_err restore_lsq(sprec_lsq l, const unsigned char *blob, size_t blen, size_t *pos,
                             int64_t kf, const char *path)
{
  int64_t v[2], m = l->m;
  int ok = kf >= 0 && kf <= l->kmax && take(blob, blen, pos, v, sizeof v) && v[0] == kf &&
           take(blob, blen, pos, l->fidx, (size_t)kf * sizeof(int64_t)) &&
           take(blob, blen, pos, l->cols, (size_t)(m * kf) * sizeof(double)) &&
           take(blob, blen, pos, l->Q, (size_t)(m * kf) * sizeof(double)) &&
           take(blob, blen, pos, l->R, (size_t)(l->kmax * kf) * sizeof(double)) &&
           take(blob, blen, pos, l->qty, (size_t)kf * sizeof(double));
  SPREC_CHECK(ok, SPREC_ERR_FORMAT, "--resume %s: the least-squares state is damaged", path);
  l->kf = kf;
  l->ndep = v[1];
  return SPREC_OK;
}

/* Parses the blob into the registered items (every rank: the blob is replicated). */
static sprec_err restore_items(sprec_work *w, const unsigned char *blob, size_t blen,
                               const char *path)
{
  const ck_header *h = (const ck_header *)blob;
  size_t pos = sizeof *h;
  int nlsq = w->lsq && !w->lsq->scalapack;
  SPREC_CHECK(h->nitems == (uint64_t)(w->nkeep + nlsq), SPREC_ERR_FORMAT,
              "--resume %s: the checkpoint holds %llu items, this run keeps %d: written by "
              "another version of sprec?", path, (unsigned long long)h->nitems, w->nkeep + nlsq);
  for (int i = 0; i < w->nkeep + nlsq; i++) {
    ck_item_head ih;
    SPREC_CHECK(take(blob, blen, &pos, &ih, sizeof ih), SPREC_ERR_FORMAT,
                "--resume %s: the checkpoint is truncated", path);
    ih.name[sizeof ih.name - 1] = 0;
    if (i == w->nkeep) {
      SPREC_CHECK(ih.kind == SPREC_KEEP_LSQ, SPREC_ERR_FORMAT,
                  "--resume %s: item '%s' where the least-squares state should be", path,
                  ih.name);
      SPREC_CALL(restore_lsq(w->lsq, blob, blen, &pos, ih.len, path));
      continue;
    }
    const sprec_keep *k = &w->keep[i];
    SPREC_CHECK(!strcmp(ih.name, k->name) && ih.kind == k->kind, SPREC_ERR_FORMAT,
                "--resume %s: item '%s' where '%s' should be: written by another version of "
                "sprec?", path, ih.name, k->name);
    int ok = 1;
    switch (k->kind) {
    case SPREC_KEEP_DIST: ok = ih.len == w->n; break;
    case SPREC_KEEP_REP:
      ok = ih.len == k->len && take(blob, blen, &pos, *(double **)k->p, (size_t)k->len * 8);
      break;
    case SPREC_KEEP_SPARSE: {
      sprec_sparse *s = k->p;
      ok = ih.len >= 0 && ih.len <= w->n;
      if (ok && ih.len > s->cap) { /* grow it */
        sprec_sparse_free(s);
        SPREC_CALL(sprec_sparse_init(s, ih.len));
      }
      ok = ok && take(blob, blen, &pos, s->idx, (size_t)ih.len * 8) &&
           take(blob, blen, &pos, s->val, (size_t)ih.len * 8);
      if (ok) s->nnz = ih.len;
      break;
    }
    case SPREC_KEEP_DBL:
    case SPREC_KEEP_I64: ok = ih.len == 1 && take(blob, blen, &pos, k->p, 8); break;
    case SPREC_KEEP_INT: {
      int64_t v = 0;
      ok = ih.len == 1 && take(blob, blen, &pos, &v, 8) && v >= INT32_MIN && v <= INT32_MAX;
      if (ok) *(int *)k->p = (int)v;
      break;
    }
    default: ok = 0;
    }
    SPREC_CHECK(ok, SPREC_ERR_FORMAT, "--resume %s: item '%s' is damaged", path, k->name);
  }
  return SPREC_OK;
}

sprec_err sprec_w_restore(sprec_work *w, int *resumed)
{
  const char *path = w->o.resume;
  *resumed = 0;
  if (!path) return SPREC_OK;
  sprec_ctx c = w->ctx;
  SPREC_CHECK(w->nkeep <= SPREC_MAX_KEEP, SPREC_ERR_ARG, "too many checkpoint items");
  double t0 = MPI_Wtime();
  SPREC_CALL(fingerprints(w, &w->fp_A, &w->fp_y));
  w->have_fp = 1;
  MPI_File fh = MPI_FILE_NULL;
  sprec_err err = SPREC_OK;
  unsigned char *blob = NULL;
  ck_header h;
  MPI_Offset size = 0;
  int rc = MPI_File_open(c->comm, (char *)path, MPI_MODE_RDONLY, MPI_INFO_NULL, &fh);
  if (rc != MPI_SUCCESS) {
    err = SPREC_ERROR(SPREC_ERR_IO, "--resume %s: cannot open the checkpoint", path);
    fh = MPI_FILE_NULL;
  } else {
    MPI_File_set_errhandler(fh, MPI_ERRORS_RETURN);
    MPI_File_get_size(fh, &size);
    if (read_bytes(fh, 0, &h, sizeof h) != MPI_SUCCESS || memcmp(h.magic, CK_MAGIC, 8))
      err = SPREC_ERROR(SPREC_ERR_FORMAT, "--resume %s: not a sprec checkpoint", path);
  }
  char here[CK_OPTS], diff[2 * CK_OPTS];
  options_text(w, here, sizeof here);
  h.opts[CK_OPTS - 1] = 0;
  h.algo[sizeof h.algo - 1] = 0;
  uint64_t nd = 0;
  for (int i = 0; i < w->nkeep; i++) nd += w->keep[i].kind == SPREC_KEEP_DIST;
  if (!err && (h.m != (uint64_t)w->m || h.n != (uint64_t)w->n))
    err = SPREC_ERROR(SPREC_ERR_ARG,
                      "--resume %s: the checkpoint is for a %llu x %llu dictionary, this one is "
                      "%lld x %lld", path, (unsigned long long)h.m, (unsigned long long)h.n,
                      (long long)w->m, (long long)w->n);
  else if (!err && strcmp(h.algo, w->o.algo))
    err = SPREC_ERROR(SPREC_ERR_ARG, "--resume %s: the checkpoint is of --algo %s, not %s", path,
                      h.algo, w->o.algo);
  else if (!err && h.fp_A != w->fp_A)
    err = SPREC_ERROR(SPREC_ERR_ARG, "--resume %s: the checkpoint is for another dictionary A",
                      path);
  else if (!err && h.fp_y != w->fp_y)
    err = SPREC_ERROR(SPREC_ERR_ARG, "--resume %s: the checkpoint is for another observation y",
                      path);
  else if (!err && strcmp(h.opts, here)) {
    first_difference(h.opts, here, diff, sizeof diff);
    err = SPREC_ERROR(SPREC_ERR_ARG, "--resume %s: the checkpoint was made with other options (%s)",
                      path, diff);
  } else if (!err && (h.blob_len < sizeof h || h.blob_len > (uint64_t)size ||
                      (uint64_t)size != h.blob_len + 8 * nd * h.n))
    err = SPREC_ERROR(SPREC_ERR_FORMAT, "--resume %s: the checkpoint is truncated or damaged", path);
  if (!err) err = sprec_calloc(h.blob_len, 1, &blob, "checkpoint");
  if (!err) {
    rc = read_bytes(fh, 0, blob, h.blob_len);
    if (rc != MPI_SUCCESS) err = io_fail("read", path, rc);
  }
  if (!err) err = restore_items(w, blob, h.blob_len, path);
  MPI_Offset off = (MPI_Offset)h.blob_len;
  for (int i = 0; i < w->nkeep && !err; i++) {
    if (w->keep[i].kind != SPREC_KEEP_DIST) continue;
    rc = read_bytes(fh, off + 8 * (MPI_Offset)w->A->col_start, *(double **)w->keep[i].p,
                    (size_t)w->nl * 8);
    if (rc != MPI_SUCCESS) err = io_fail("read", path, rc);
    off += 8 * (MPI_Offset)w->n;
  }
  if (fh != MPI_FILE_NULL) MPI_File_close(&fh);
  free(blob);
  w->t_checkpoint += MPI_Wtime() - t0;
  SPREC_CALL(sprec_agree(c->comm, err));
  w->st->resumed_iteration = (int)h.iteration;
  *resumed = 1;
  return SPREC_OK;
}
