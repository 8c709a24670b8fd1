/* The checkpoint writer: the items an algorithm keeps, serialized with the problem's
 * status into the replicated part, and the distributed vectors each rank writes;
 * written to a temporary name and renamed (the layout: ckpt_format.c). */
#include "ckpt_format.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ----------------------------------------------------------------- items -- */
void sprec_w_keep(sprec_work *w, const char *name, sprec_keep_kind kind, void *p, int64_t len)
{
  /* The doubles an algorithm keeps are objectives, steps, momenta and eigenvalues: a
   * negative one in a checkpoint is damage, refused like a non-finite one. */
  int64_t lo = kind == SPREC_KEEP_DBL ? CK_DBL_NONNEG : 0;
  if (w->nkeep < SPREC_MAX_KEEP) w->keep[w->nkeep] = (sprec_keep){name, kind, p, len, lo, 0};
  w->nkeep++; /* more than SPREC_MAX_KEEP: a programming error, reported by save and restore */
}

void sprec_w_keep_int(sprec_work *w, const char *name, int *p, int64_t lo, int64_t hi)
{
  sprec_w_keep(w, name, SPREC_KEEP_INT, p, 1);
  if (w->nkeep <= SPREC_MAX_KEEP) w->keep[w->nkeep - 1].lo = lo, w->keep[w->nkeep - 1].hi = hi;
}

void sprec_w_keep_i64(sprec_work *w, const char *name, int64_t *p, int64_t lo, int64_t hi)
{
  sprec_w_keep(w, name, SPREC_KEEP_I64, p, 1);
  if (w->nkeep <= SPREC_MAX_KEEP) w->keep[w->nkeep - 1].lo = lo, w->keep[w->nkeep - 1].hi = hi;
}

void sprec_w_keep_iterate(sprec_work *w, sprec_sparse *x, int64_t k, double **r, double *f)
{
  sprec_w_keep(w, "x", SPREC_KEEP_SPARSE, x, k);
  sprec_w_keep(w, "r", SPREC_KEEP_REP, r, w->m);
  sprec_w_keep(w, "f", SPREC_KEEP_DBL, f, 1);
}

void sprec_w_keep_best(sprec_work *w, sprec_sparse *best, int64_t k, double *fbest)
{
  sprec_w_keep(w, "best", SPREC_KEEP_SPARSE, best, k);
  sprec_w_keep(w, "fbest", SPREC_KEEP_DBL, fbest, 1);
}

void sprec_w_keep_passes(sprec_work *w)
{
  sprec_w_keep_i64(w, "passes", &w->st->apply_T_passes, 0, INT64_MAX);
}

/* --------------------------------------------------------- serializing -- */
static void put(buf *b, const void *src, size_t n)
{
  if (b->failed || n == 0) return;
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

static void put_head(buf *b, const char *name, int64_t kind, int64_t len)
{
  ck_item_head h;
  memset(&h, 0, sizeof h);
  snprintf(h.name, sizeof h.name, "%s", name);
  h.kind = kind;
  h.len = len;
  put(b, &h, sizeof h);
}

/* Appends one item to problem ck's items; a DIST item's vector is noted for the write. */
static void put_keep(sprec_ckprob *ck, const sprec_keep *k, int64_t n)
{
  buf *b = &ck->rep;
  ck->nitems++;
  switch (k->kind) {
  case SPREC_KEEP_DIST:
    put_head(b, k->name, k->kind, n);
    ck->dsrc[ck->nd++] = *(double **)k->p;
    break;
  case SPREC_KEEP_REP:
    put_head(b, k->name, k->kind, k->len);
    put(b, *(double **)k->p, (size_t)k->len * sizeof(double));
    break;
  case SPREC_KEEP_SPARSE: {
    const sprec_sparse *s = k->p;
    put_head(b, k->name, k->kind, s->nnz);
    put(b, s->idx, (size_t)s->nnz * sizeof(int64_t));
    put(b, s->val, (size_t)s->nnz * sizeof(double));
    break;
  }
  case SPREC_KEEP_DBL:
  case SPREC_KEEP_I64:
    put_head(b, k->name, k->kind, 1);
    put(b, k->p, 8);
    break;
  case SPREC_KEEP_INT: {
    int64_t v = *(int *)k->p;
    put_head(b, k->name, k->kind, 1);
    put(b, &v, sizeof v);
    break;
  }
  case SPREC_KEEP_LSQ: {
    sprec_lsq l = *(sprec_lsq *)k->p;
    sprec_lsq_part part[SPREC_LSQ_MAX_PARTS];
    int np = l ? sprec_lsq_state(l, part) : 0;
    put_head(b, k->name, k->kind, np);
    for (int i = 0; i < np; i++) {
      put_head(b, part[i].name, part[i].is_index ? CK_INDEX : SPREC_KEEP_REP, part[i].len);
      put(b, part[i].p, (size_t)part[i].len * 8);
    }
    break;
  }
  }
}


/* Local: the replicated part of the file (the header, then every problem's section)
 * into b; *ndist: the distributed vectors that follow it. The checksum word is 0. */
static void replicated_part(const sprec_ckset *set, buf *b, uint64_t *ndist)
{
  sprec_op A = set->A;
  ck_header h;
  memset(&h, 0, sizeof h);
  memcpy(h.magic, CK_MAGIC, 8);
  h.version = CK_VERSION;
  h.m = (uint64_t)A->m;
  h.n = (uint64_t)A->n;
  h.fp_A = set->fp_A;
  h.nprob = set->b;
  memcpy(h.algo, set->algo, sizeof h.algo);
  memcpy(h.opts, set->opts, sizeof h.opts);
  put(b, &h, sizeof h);
  *ndist = 0;
  for (int p = 0; p < set->b; p++) {
    const sprec_ckprob *ck = &set->prob[p];
    ck_prob_head ph = {ck->status, ck->phase, ck->iteration, ck->budget, ck->flags,
                       set->fp_y[p], ck->nitems, (int64_t)ck->rep.len};
    if (ck->status == CK_FRESH) ph.nitems = ph.bytes = 0;
    put(b, &ph, sizeof ph);
    if (ck->status != CK_FRESH) put(b, ck->rep.p, ck->rep.len), *ndist += (uint64_t)ck->nd;
    b->failed |= ck->rep.failed;
  }
}

/* A write of len bytes to tmp (for path) failed with rc: MPI-IO says MPI_ERR_IO for
 * a full disk where no space could be reserved first; say it as it is. */
static sprec_err write_fail(const char *path, const char *tmp, int rc, uint64_t len)
{
  if (sprec_io_full(tmp, len))
    return SPREC_ERROR(SPREC_ERR_IO, "checkpoint %s: cannot write: %s", path, strerror(ENOSPC));
  return sprec_ck_io_fail("checkpoint", "write", path, rc);
}

/* Collective: writes the set's file from every problem's items and vectors, to a
 * temporary name renamed on success. */
static sprec_err write_file_as_is(sprec_ckset *set)
{
  sprec_ctx c = set->ctx;
  sprec_op A = set->A;
  const char *path = set->out;
  int64_t n = A->n, nl = A->n_local;
  buf b = {0};
  uint64_t ndist;
  replicated_part(set, &b, &ndist);
  sprec_err err = b.failed ? SPREC_ERROR(SPREC_ERR_MEM, "checkpoint %s: out of memory", path)
                           : SPREC_OK;
  uint64_t sum = 0;
  if (!err) {
    ck_header *hp = (ck_header *)b.p;
    hp->rep_len = b.len;
    hp->file_len = b.len + 8 * (uint64_t)n * ndist;
    if (c->rank == 0) sum = sprec_ck_hash(b.p, b.len, 0); /* the checksum word is 0 here */
  }
  char tmp[4200];
  long pid = (long)getpid();
  sprec_comm_bcast(c->comm, SPREC_COMM_CHECKPOINT, &pid, 1, MPI_LONG, 0);
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, pid);
  MPI_File fh = MPI_FILE_NULL;
  int rc = MPI_SUCCESS;
  if (!err) {
    rc = sprec_comm_file_open(c->comm, SPREC_COMM_CHECKPOINT, tmp, MPI_MODE_WRONLY | MPI_MODE_CREATE, &fh);
    if (rc != MPI_SUCCESS) err = sprec_ck_io_fail("checkpoint", "create", tmp, rc), fh = MPI_FILE_NULL;
  }
  SPREC_TRY(sprec_agree(c->comm, err), done);
  MPI_File_set_errhandler(fh, MPI_ERRORS_RETURN);
  sprec_comm_file_set_size(c->comm, SPREC_COMM_CHECKPOINT, fh, 0);
  /* The whole file's space first: on a full disk, one error before any write, and the
   * last checkpoint left as it was. */
  if (c->rank == 0) {
    int e = sprec_io_reserve(tmp, ((ck_header *)b.p)->file_len);
    if (e) err = SPREC_ERROR(SPREC_ERR_IO, "checkpoint %s: cannot write: %s", path, strerror(e));
  }
  err = sprec_agree(c->comm, err);
  if (c->rank == 0 && !err) {
    rc = sprec_ck_io(c->comm, 1, fh, 0, b.p, b.len);
    if (rc != MPI_SUCCESS) err = write_fail(path, tmp, rc, b.len);
  }
  MPI_Offset off = (MPI_Offset)b.len;
  MPI_Offset mine = 8 * (MPI_Offset)A->col_start;
  for (int p = 0; p < set->b; p++) {
    sprec_ckprob *ck = &set->prob[p];
    if (ck->status == CK_FRESH) continue;
    for (int d = 0; d < ck->nd; d++, off += 8 * (MPI_Offset)n) {
      if (err) continue;
      sum += sprec_ck_hash(ck->dsrc[d], (size_t)nl * 8, (uint64_t)(off + mine) / 8);
      rc = sprec_ck_io(c->comm, 1, fh, off + mine, (void *)ck->dsrc[d], (size_t)nl * 8);
      if (rc != MPI_SUCCESS) err = write_fail(path, tmp, rc, (uint64_t)nl * 8);
    }
  }
  sprec_comm_allreduce(c->comm, SPREC_COMM_CHECKPOINT, MPI_IN_PLACE, &sum, 1, MPI_UINT64_T, MPI_SUM);
  if (c->rank == 0 && !err) {
    rc = sprec_ck_io(c->comm, 1, fh, offsetof(ck_header, checksum), &sum, sizeof sum);
    if (rc != MPI_SUCCESS) err = sprec_ck_io_fail("checkpoint", "write", path, rc);
  }
  rc = sprec_comm_file_close(c->comm, SPREC_COMM_CHECKPOINT, &fh);
  if (rc != MPI_SUCCESS && !err) err = sprec_ck_io_fail("checkpoint", "write", path, rc);
  err = sprec_agree(c->comm, err);
  if (c->rank == 0) {
    if (!err && rename(tmp, path) != 0)
      err = SPREC_ERROR(SPREC_ERR_IO, "checkpoint %s: cannot write: %s", path, strerror(errno));
    if (err) unlink(tmp);
  }
  err = sprec_agree(c->comm, err);
done:
  free(b.p);
  return err;
}

/* write_file_as_is with Open MPI's own messages muted: a failed write is this error
 * alone. */
static sprec_err write_file(sprec_ckset *set)
{
  sprec_mute mute = sprec_io_mute();
  sprec_err err = write_file_as_is(set);
  sprec_io_unmute(&mute);
  return err;
}

sprec_err sprec_w_save(sprec_work *w, int iteration, int stop)
{
  sprec_ckprob *ck = w->ck;
  int every = w->run.checkpoint_every;
  if (!ck || !ck->set->out) return SPREC_OK;
  if (!(stop || (every > 0 && iteration > 0 && iteration % every == 0))) return SPREC_OK;
  SPREC_CHECK(w->nkeep <= SPREC_MAX_KEEP, SPREC_ERR_ARG, "too many checkpoint items");
  sprec_keep chain[4];
  ck->rep.len = 0;
  ck->rep.failed = 0;
  ck->nitems = 0;
  ck->nd = 0;
  if (w->phase == 1)
    for (int i = 0, nc = sprec_ck_chain_keeps(ck, chain); i < nc; i++) put_keep(ck, &chain[i], w->n);
  for (int i = 0; i < w->nkeep; i++) put_keep(ck, &w->keep[i], w->n);
  if (w->lsq) {
    sprec_keep l = {"lsq", SPREC_KEEP_LSQ, &w->lsq, 0, 0, 0};
    put_keep(ck, &l, w->n);
  }
  ck->status = CK_STATE;
  ck->phase = w->phase;
  ck->iteration = iteration;
  ck->budget = w->o.iters;
  ck->flags = 0;
  sprec_err err = SPREC_OK;
  if (!w->hook) {
    err = write_file(ck->set);
  } else { /* the batch driver writes the file after the round: copy the vectors now */
    for (int d = 0; d < ck->nd && !err; d++) {
      if (!ck->dcopy[d]) err = sprec_calloc((size_t)w->nl + 1, sizeof(double), &ck->dcopy[d],
                                            "checkpoint");
      if (!err) {
        memcpy(ck->dcopy[d], ck->dsrc[d], (size_t)w->nl * sizeof(double));
        ck->dsrc[d] = ck->dcopy[d];
      }
    }
    if (!err && ck->rep.failed) err = SPREC_ERROR(SPREC_ERR_MEM, "checkpoint: out of memory");
    err = sprec_agree(w->ctx->comm, err);
    ck->set->dirty = 1;
  }
  SPREC_CALL(err);
  w->st->checkpoint_iteration = iteration;
  return SPREC_OK;
}

sprec_err sprec_ck_flush(sprec_ckset *set)
{
  if (!set || !set->out || !set->dirty) return SPREC_OK;
  set->dirty = 0;
  SPREC_CALL(write_file(set));
  return SPREC_OK;
}

sprec_err sprec_ck_set_result(sprec_ckprob *ck, const sprec_sparse *x, const sprec_stats *st)
{
  if (!ck || !ck->set->out) return SPREC_OK;
  sprec_keep k[20];
  sprec_stats s = *st;
  sprec_sparse xx = *x;
  int reason = 0;
  while (sprec_ck_reasons[reason] && strcmp(sprec_ck_reasons[reason], st->stop_reason)) reason++;
  if (!sprec_ck_reasons[reason]) reason = 6;
  int nk = sprec_ck_result_keeps(ck->set, &xx, &s, &reason, k);
  ck->rep.len = 0;
  ck->rep.failed = 0;
  ck->nitems = 0;
  ck->nd = 0;
  for (int i = 0; i < nk; i++) put_keep(ck, &k[i], ck->set->A->n);
  ck->status = CK_DONE;
  ck->phase = 0;
  ck->iteration = st->iterations;
  ck->budget = ck->set->budget[ck->set->chain];
  ck->flags = !strcmp(st->stop_reason, "iterations");
  sprec_err err = ck->rep.failed ? SPREC_ERROR(SPREC_ERR_MEM, "checkpoint: out of memory") : SPREC_OK;
  SPREC_CALL(sprec_agree(ck->set->ctx->comm, err));
  return SPREC_OK;
}

sprec_err sprec_ck_set_chain(sprec_ckprob *ck, const sprec_sparse *xi, const sprec_stats *sti)
{
  if (!ck) return SPREC_OK;
  SPREC_CALL(sprec_agree(ck->set->ctx->comm, sprec_sparse_copy(&ck->xi, xi)));
  ck->init_fit = sti->data_fit;
  ck->init_iters = sti->iterations;
  ck->init_passes = sti->apply_T_passes;
  ck->have_chain = 1;
  return SPREC_OK;
}

