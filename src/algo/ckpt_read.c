/* The checkpoint reader: the file verified (checksum first, then every field against
 * the problem and the options), parsed, and each item checked against what the
 * algorithm keeps before its state is used (the layout: ckpt_format.c). */
#include "ckpt_format.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Text read from a file (the algorithm, the options, item names), once terminated:
 * every byte outside printable ASCII becomes '?', so that a message quoting it stays
 * one line of plain text. Comparisons are unchanged: what sprec writes there is
 * printable ASCII without '?', so a text with such a byte matches nothing before or
 * after. */
static void printable(char *s) { sprec_printable(s, SIZE_MAX, s, SIZE_MAX); }


/* -------------------------------------------------------------- resume -- */
/* A sparse vector item into k's: indices in [0, n), increasing, values finite, at most
 * k->len nonzeros (n if k->len is 0). */
static sprec_err take_sparse(const char *path, const ck_item *it, const sprec_keep *k, int64_t n)
{
  sprec_sparse *s = k->p;
  int64_t most = k->len > 0 ? k->len : n;
  SPREC_CHECK(it->len <= most, SPREC_ERR_FORMAT,
              "resume %s: item '%s' holds %lld nonzeros, more than %lld", path, it->name,
              (long long)it->len, (long long)most);
  const unsigned char *iv = it->data, *vv = it->data + 8 * it->len;
  for (int64_t t = 0; t < it->len; t++) {
    int64_t j, jp = -1;
    double v;
    memcpy(&j, iv + 8 * t, 8);
    if (t > 0) memcpy(&jp, iv + 8 * (t - 1), 8);
    memcpy(&v, vv + 8 * t, 8);
    SPREC_CHECK(j >= 0 && j < n, SPREC_ERR_FORMAT,
                "resume %s: item '%s' holds the index %lld, outside [0, %lld)", path, it->name,
                (long long)j, (long long)n);
    SPREC_CHECK(j > jp, SPREC_ERR_FORMAT,
                "resume %s: item '%s': its indices are not increasing (%lld after %lld)", path,
                it->name, (long long)j, (long long)jp);
    SPREC_CHECK(isfinite(v), SPREC_ERR_FORMAT, "resume %s: item '%s' holds a non-finite value",
                path, it->name);
  }
  if (it->len > s->cap) { /* grow it */
    sprec_sparse_free(s);
    SPREC_CALL(sprec_sparse_init(s, it->len));
  }
  if (it->len > 0) { /* an empty x may have no arrays: memcpy's pointers must not be NULL */
    memcpy(s->idx, iv, (size_t)it->len * 8);
    memcpy(s->val, vv, (size_t)it->len * 8);
  }
  s->nnz = it->len;
  return SPREC_OK;
}

/* Reads an item's payload into the variable k names (or checks it), after checking it
 * against k. Local; the items are replicated, so the verdict is the same on every rank
 * except for distributed vectors (agreed by the caller). */
static sprec_err take_value(const sprec_ckset *set, const sprec_ckprob *ck, const ck_item *it,
                            const sprec_keep *k, int64_t n, int64_t nl)
{
  const char *path = set->in;
  int64_t lo = k->lo == SPREC_ITER ? ck->riteration : k->lo;
  int64_t hi = k->hi == SPREC_ITER ? ck->riteration : k->hi;
  switch (k->kind) {
  case SPREC_KEEP_DIST: {
    SPREC_CHECK(it->len == n, SPREC_ERR_FORMAT,
                "resume %s: item '%s' holds %lld entries, not n = %lld", path, it->name,
                (long long)it->len, (long long)n);
    const double *v = ck->rdist[it->dist];
    for (int64_t j = 0; j < nl; j++)
      SPREC_CHECK(isfinite(v[j]), SPREC_ERR_FORMAT, "resume %s: item '%s' holds a non-finite "
                  "value", path, it->name);
    memcpy(*(double **)k->p, v, (size_t)nl * sizeof(double));
    return SPREC_OK;
  }
  case SPREC_KEEP_REP: {
    SPREC_CHECK(it->len == k->len, SPREC_ERR_FORMAT,
                "resume %s: item '%s' holds %lld entries, not %lld", path, it->name,
                (long long)it->len, (long long)k->len);
    double *v = *(double **)k->p;
    memcpy(v, it->data, (size_t)it->len * sizeof(double));
    for (int64_t i = 0; i < it->len; i++)
      SPREC_CHECK(isfinite(v[i]), SPREC_ERR_FORMAT, "resume %s: item '%s' holds a non-finite "
                  "value", path, it->name);
    return SPREC_OK;
  }
  case SPREC_KEEP_SPARSE: return take_sparse(path, it, k, n);
  case SPREC_KEEP_DBL: {
    double v;
    memcpy(&v, it->data, 8);
    SPREC_CHECK(isfinite(v) || (k->lo == CK_DBL_LAMBDA && v == INFINITY), SPREC_ERR_FORMAT,
                "resume %s: item '%s' is not finite", path, it->name);
    SPREC_CHECK(!k->lo || v >= 0, SPREC_ERR_FORMAT, "resume %s: item '%s' is negative", path,
                it->name);
    *(double *)k->p = v;
    return SPREC_OK;
  }
  case SPREC_KEEP_INT:
  case SPREC_KEEP_I64: {
    int64_t v;
    memcpy(&v, it->data, 8);
    if (k->kind == SPREC_KEEP_INT && hi > INT_MAX) hi = INT_MAX;
    if (k->kind == SPREC_KEEP_I64 && hi > CK_COUNT_MAX) hi = CK_COUNT_MAX;
    SPREC_CHECK(v >= lo && v <= hi, SPREC_ERR_FORMAT,
                "resume %s: item '%s' is %lld, outside [%lld, %lld]", path, it->name,
                (long long)v, (long long)lo, (long long)hi);
    if (k->kind == SPREC_KEEP_INT) *(int *)k->p = (int)v;
    else *(int64_t *)k->p = v;
    return SPREC_OK;
  }
  default: return SPREC_ERROR(SPREC_ERR_FORMAT, "resume %s: item '%s' of unknown kind", path, it->name);
  }
}

/* The least-squares state of item it (its parts follow it), collective. */
static sprec_err take_lsq(const sprec_ckset *set, sprec_ckprob *ck, const ck_item *it, sprec_lsq l)
{
  const char *path = set->in;
  sprec_lsq_part part[SPREC_LSQ_MAX_PARTS];
  int64_t shape[2] = {0, 0};
  int np = 0;
  if (it->len == 0) { /* written by a path that keeps no state */
    SPREC_CHECK(!l || sprec_lsq_is_scalapack(l), SPREC_ERR_FORMAT,
                "resume %s: the least-squares state is missing", path);
    return SPREC_OK;
  }
  SPREC_CHECK(l && ck->next < ck->nitems_r, SPREC_ERR_FORMAT,
              "resume %s: a least-squares state where this run keeps none", path);
  const ck_item *sh = &ck->items[ck->next++];
  SPREC_CHECK(!strcmp(sh->name, "shape") && sh->kind == CK_INDEX && sh->len == 2,
              SPREC_ERR_FORMAT, "resume %s: the least-squares state is damaged", path);
  memcpy(shape, sh->data, sizeof shape);
  char why[512];
  sprec_err err = sprec_lsq_state_expect(l, shape, part, &np);
  if (err) {
    snprintf(why, sizeof why, "%s", sprec_errmsg());
    return SPREC_ERROR(err, "resume %s: %s", path, why);
  }
  SPREC_CHECK(it->len == np + 1, SPREC_ERR_FORMAT,
              "resume %s: the least-squares state has %lld parts, not %d", path,
              (long long)it->len, np + 1);
  for (int i = 0; i < np; i++) {
    const ck_item *pi = &ck->items[ck->next++];
    SPREC_CHECK(!strcmp(pi->name, part[i].name) &&
                    pi->kind == (part[i].is_index ? CK_INDEX : SPREC_KEEP_REP) &&
                    pi->len == part[i].len,
                SPREC_ERR_FORMAT, "resume %s: the least-squares state: part '%s' where '%s' "
                "should be", path, pi->name, part[i].name);
    memcpy(part[i].p, pi->data, (size_t)pi->len * 8);
  }
  err = sprec_lsq_state_commit(l, shape);
  if (err) {
    snprintf(why, sizeof why, "%s", sprec_errmsg());
    return SPREC_ERROR(err, "resume %s: %s", path, why);
  }
  return SPREC_OK;
}

/* The next item of ck into k (collective: every rank takes the same items). */
static sprec_err take(sprec_ckset *set, sprec_ckprob *ck, const sprec_keep *k)
{
  const char *path = set->in;
  SPREC_CHECK(ck->next < ck->nitems_r, SPREC_ERR_FORMAT,
              "resume %s: item '%s' is missing: written by another version of sprec?", path,
              k->name);
  const ck_item *it = &ck->items[ck->next++];
  SPREC_CHECK(!strcmp(it->name, k->name) && it->kind == (int64_t)k->kind, SPREC_ERR_FORMAT,
              "resume %s: item '%s' where '%s' should be: written by another version of sprec?",
              path, it->name, k->name);
  if (k->kind == SPREC_KEEP_LSQ) {
    SPREC_CALL(take_lsq(set, ck, it, *(sprec_lsq *)k->p));
    return SPREC_OK;
  }
  /* Agreed: a distributed vector's slice, or an allocation, can fail on one rank. */
  SPREC_CALL(sprec_agree(set->ctx->comm, take_value(set, ck, it, k, set->A->n, set->A->n_local)));
  return SPREC_OK;
}

sprec_err sprec_w_restore(sprec_work *w, int *resumed)
{
  sprec_ckprob *ck = w->ck;
  *resumed = 0;
  if (!ck || !ck->set->in || ck->used || ck->rstatus != CK_STATE || ck->rphase != w->phase)
    return SPREC_OK;
  SPREC_CHECK(w->nkeep <= SPREC_MAX_KEEP, SPREC_ERR_ARG, "too many checkpoint items");
  double t0 = MPI_Wtime();
  sprec_ckset *set = ck->set;
  int want = w->nkeep + (w->lsq != NULL);
  SPREC_CHECK(ck->nitems_r - ck->next >= want, SPREC_ERR_FORMAT,
              "resume %s: the checkpoint holds fewer items than %s keeps: written by another "
              "version of sprec?", set->in, w->o.algo->name);
  for (int i = 0; i < w->nkeep; i++) SPREC_CALL(take(set, ck, &w->keep[i]));
  if (w->lsq) {
    sprec_keep l = {"lsq", SPREC_KEEP_LSQ, &w->lsq, 0, 0, 0};
    SPREC_CALL(take(set, ck, &l));
  }
  SPREC_CHECK(ck->next == ck->nitems_r, SPREC_ERR_FORMAT,
              "resume %s: the checkpoint holds more items than %s keeps: written by another "
              "version of sprec?", set->in, w->o.algo->name);
  ck->used = 1;
  w->st->resumed_iteration = (int)ck->riteration;
  w->st->t_setup += MPI_Wtime() - t0;
  *resumed = 1;
  return SPREC_OK;
}

int sprec_ck_resume_kind(const sprec_ckprob *ck)
{
  if (!ck || !ck->set->in || ck->rstatus == CK_FRESH) return -1;
  return ck->rstatus == CK_DONE ? 2 : (int)ck->rphase;
}

sprec_err sprec_ck_take_result(sprec_ckprob *ck, sprec_sparse *x, sprec_stats *st)
{
  sprec_keep k[20];
  int reason = 0;
  memset(st, 0, sizeof *st);
  int nk = sprec_ck_result_keeps(ck->set, x, st, &reason, k);
  for (int i = 0; i < nk; i++) SPREC_CALL(take(ck->set, ck, &k[i]));
  snprintf(st->stop_reason, sizeof st->stop_reason, "%s", sprec_ck_reasons[reason]);
  st->resumed_iteration = st->iterations;
  st->checkpoint_iteration = -1;
  ck->used = 1;
  /* A finished problem is kept in every later checkpoint of the batch. */
  SPREC_CALL(sprec_ck_set_result(ck, x, st));
  return SPREC_OK;
}

sprec_err sprec_ck_take_chain(sprec_ckprob *ck, sprec_sparse *xi, sprec_stats *sti)
{
  sprec_keep k[4];
  int nk = sprec_ck_chain_keeps(ck, k);
  for (int i = 0; i < nk; i++) SPREC_CALL(take(ck->set, ck, &k[i]));
  SPREC_CALL(sprec_agree(ck->set->ctx->comm, sprec_sparse_copy(xi, &ck->xi)));
  memset(sti, 0, sizeof *sti);
  sti->data_fit = ck->init_fit;
  sti->iterations = ck->init_iters;
  sti->apply_T_passes = ck->init_passes;
  sti->resumed_iteration = -1;
  sti->checkpoint_iteration = -1;
  ck->have_chain = 1;
  return SPREC_OK;
}

/* Parses the items of one problem section (local: the same on every rank). */
static sprec_err parse_items(const char *path, int p, const unsigned char *q, size_t len,
                             int64_t nitems, int64_t n, sprec_ckprob *ck)
{
  size_t pos = 0, cap = len / sizeof(ck_item_head);
  SPREC_CHECK(nitems >= 0 && (uint64_t)nitems <= cap, SPREC_ERR_FORMAT,
              "resume %s: problem %d: %lld items in %zu bytes", path, p, (long long)nitems, len);
  SPREC_CALL(sprec_calloc(cap + 1, sizeof *ck->items, &ck->items, "checkpoint items"));
  int count = 0, nd = 0;
  for (int64_t i = 0; i < nitems; i++) {
    int64_t nsub = 0;
    for (int64_t s = 0; s <= nsub; s++) {
      ck_item_head h;
      SPREC_CHECK(pos + sizeof h <= len && (size_t)count < cap, SPREC_ERR_FORMAT,
                  "resume %s: problem %d: the items run past their section", path, p);
      memcpy(&h, q + pos, sizeof h);
      pos += sizeof h;
      ck_item *it = &ck->items[count++];
      SPREC_CHECK(memchr(h.name, 0, sizeof h.name) != NULL, SPREC_ERR_FORMAT,
                  "resume %s: problem %d: an item name is not terminated", path, p);
      memcpy(it->name, h.name, sizeof it->name);
      printable(it->name);
      it->kind = h.kind;
      it->len = h.len;
      it->dist = -1;
      size_t left = len - pos;
      int ok = h.len >= 0;
      size_t bytes = 0;
      if (s > 0) ok = ok && (h.kind == CK_INDEX || h.kind == SPREC_KEEP_REP);
      else
        switch (h.kind) {
        case SPREC_KEEP_DIST: ok = ok && h.len == n; break;
        case SPREC_KEEP_REP: break;
        case SPREC_KEEP_SPARSE: ok = ok && (uint64_t)h.len <= left / 16; break;
        case SPREC_KEEP_DBL:
        case SPREC_KEEP_INT:
        case SPREC_KEEP_I64: ok = ok && h.len == 1; break;
        case SPREC_KEEP_LSQ: ok = ok && h.len <= SPREC_LSQ_MAX_PARTS; nsub = h.len; break;
        default: ok = 0;
        }
      SPREC_CHECK(ok, SPREC_ERR_FORMAT, "resume %s: problem %d: item '%s' (kind %lld, length "
                  "%lld) is malformed", path, p, it->name, (long long)h.kind, (long long)h.len);
      if (h.kind == SPREC_KEEP_DIST) it->dist = nd++;
      else if (h.kind == SPREC_KEEP_SPARSE) bytes = (size_t)h.len * 16;
      else if (h.kind != SPREC_KEEP_LSQ || s > 0) {
        SPREC_CHECK((uint64_t)h.len <= left / 8, SPREC_ERR_FORMAT,
                    "resume %s: problem %d: item '%s' runs past its section", path, p, it->name);
        bytes = (size_t)h.len * 8;
      }
      SPREC_CHECK(bytes <= left, SPREC_ERR_FORMAT,
                  "resume %s: problem %d: item '%s' runs past its section", path, p, it->name);
      it->data = q + pos;
      pos += bytes;
    }
  }
  SPREC_CHECK(pos == len, SPREC_ERR_FORMAT,
              "resume %s: problem %d: %zu bytes after its items", path, p, len - pos);
  ck->nitems_r = count;
  ck->nrdist = nd;
  return SPREC_OK;
}

/* The problem sections of a verified replicated part (local: the same on every rank).
 * *ndist: the distributed vectors of all problems. */
static sprec_err parse_problems(sprec_ckset *set, const unsigned char *blob, size_t len,
                                uint64_t *ndist)
{
  const char *path = set->in;
  int64_t n = set->A->n;
  size_t pos = sizeof(ck_header);
  *ndist = 0;
  for (int p = 0; p < set->b; p++) {
    sprec_ckprob *ck = &set->prob[p];
    ck_prob_head ph;
    SPREC_CHECK(pos + sizeof ph <= len, SPREC_ERR_FORMAT,
                "resume %s: the checkpoint is damaged (problem %d is missing)", path, p);
    memcpy(&ph, blob + pos, sizeof ph);
    pos += sizeof ph;
    SPREC_CHECK(ph.status >= CK_FRESH && ph.status <= CK_DONE, SPREC_ERR_FORMAT,
                "resume %s: problem %d: unknown status %lld", path, p, (long long)ph.status);
    SPREC_CHECK(ph.phase == 0 || (ph.phase == 1 && set->chain && ph.status == CK_STATE),
                SPREC_ERR_FORMAT, "resume %s: problem %d: phase %lld out of range", path, p,
                (long long)ph.phase);
    SPREC_CHECK(ph.iteration >= 0 && ph.iteration <= INT_MAX && ph.budget >= 0 &&
                    ph.budget <= INT_MAX && (ph.flags == 0 || ph.flags == 1),
                SPREC_ERR_FORMAT, "resume %s: problem %d: iteration %lld or budget %lld out of "
                "range", path, p, (long long)ph.iteration, (long long)ph.budget);
    SPREC_CHECK(ph.status != CK_FRESH || (ph.nitems == 0 && ph.bytes == 0 && ph.iteration == 0),
                SPREC_ERR_FORMAT, "resume %s: problem %d: items without a state", path, p);
    SPREC_CHECK(ph.bytes >= 0 && (uint64_t)ph.bytes <= len - pos && ph.bytes % 8 == 0,
                SPREC_ERR_FORMAT, "resume %s: problem %d: its section (%lld bytes) runs past "
                "the replicated part", path, p, (long long)ph.bytes);
    if (ph.fp_y != set->fp_y[p]) {
      if (set->b == 1)
        return SPREC_ERROR(SPREC_ERR_ARG, "resume %s: the checkpoint is for another observation y",
                           path);
      return SPREC_ERROR(SPREC_ERR_ARG, "resume %s: problem %d of the checkpoint is for another "
                         "observation y", path, p);
    }
    SPREC_CALL(parse_items(path, p, blob + pos, (size_t)ph.bytes, ph.nitems, n, ck));
    pos += (size_t)ph.bytes;
    ck->rstatus = (int)ph.status;
    ck->rphase = ph.phase;
    ck->riteration = ph.iteration;
    *ndist += (uint64_t)ck->nrdist;
    /* The budget: a checkpoint past it is refused; a finished problem that stopped at
     * its budget is run again when the budget changed. */
    int budget = set->budget[ph.status == CK_DONE ? set->chain : (int)ph.phase];
    char who[64] = "the checkpoint is";
    if (set->b > 1) snprintf(who, sizeof who, "problem %d of the checkpoint is", p);
    SPREC_CHECK(ph.iteration <= budget, SPREC_ERR_ARG,
                "resume %s: %s at iteration %lld, past the budget iters = %d", path, who,
                (long long)ph.iteration, budget);
    if (ph.status == CK_DONE && ph.flags && ph.budget != budget) ck->rstatus = CK_FRESH;
  }
  SPREC_CHECK(pos == len, SPREC_ERR_FORMAT,
              "resume %s: the checkpoint is damaged (%zu bytes after the problems)", path, len - pos);
  return SPREC_OK;
}

/* Collective: the checksum of the whole file, each rank hashing a contiguous part. */
static sprec_err checksum_file(sprec_ckset *set, MPI_File fh, uint64_t size, uint64_t *sum)
{
  sprec_ctx c = set->ctx;
  uint64_t words = size / 8;
  uint64_t w0 = (uint64_t)sprec_block_start((int64_t)words, c->size, c->rank);
  uint64_t nw = (uint64_t)sprec_block_size((int64_t)words, c->size, c->rank);
  const uint64_t piece = (uint64_t)1 << 20; /* words: 8 MiB */
  const uint64_t cw = offsetof(ck_header, checksum) / 8;
  unsigned char *p = NULL;
  uint64_t h = 0;
  sprec_err err = sprec_calloc((size_t)(nw < piece ? nw : piece) + 1, 8, &p, "checkpoint");
  for (uint64_t at = 0; at < nw && !err; at += piece) {
    uint64_t cnt = nw - at < piece ? nw - at : piece;
    int rc = sprec_ck_io(c->comm, 0, fh, (MPI_Offset)(8 * (w0 + at)), p, (size_t)(8 * cnt));
    if (rc != MPI_SUCCESS) {
      err = sprec_ck_io_fail("resume", "read", set->in, rc);
      break;
    }
    if (cw >= w0 + at && cw < w0 + at + cnt) memset(p + 8 * (cw - w0 - at), 0, 8);
    h += sprec_ck_hash(p, (size_t)(8 * cnt), w0 + at);
  }
  free(p);
  SPREC_CALL(sprec_agree(c->comm, err));
  SPREC_MPI(sprec_comm_allreduce(c->comm, SPREC_COMM_CHECKPOINT, MPI_IN_PLACE, &h, 1, MPI_UINT64_T, MPI_SUM));
  *sum = h;
  return SPREC_OK;
}

/* Collective: opens set->in and reads its header, checking that it is a checkpoint of
 * this format whose size is the one it announces. */
static sprec_err open_checked(sprec_ckset *set, MPI_File *fh, MPI_Offset *size, ck_header *h)
{
  sprec_ctx c = set->ctx;
  const char *path = set->in;
  sprec_err err = SPREC_OK;
  memset(h, 0, sizeof *h);
  int rc = sprec_comm_file_open(c->comm, SPREC_COMM_CHECKPOINT, path, MPI_MODE_RDONLY, fh);
  if (rc != MPI_SUCCESS) {
    *fh = MPI_FILE_NULL;
    err = SPREC_ERROR(SPREC_ERR_IO, "resume %s: cannot open the checkpoint", path);
  } else {
    MPI_File_set_errhandler(*fh, MPI_ERRORS_RETURN);
    MPI_File_get_size(*fh, size);
    size_t got = (uint64_t)*size < sizeof *h ? (size_t)*size : sizeof *h;
    if (sprec_ck_io(c->comm, 0, *fh, 0, h, got) != MPI_SUCCESS)
      err = sprec_ck_io_fail("resume", "read", path, MPI_ERR_IO);
    else if (*size < 8 || (memcmp(h->magic, CK_MAGIC, 8) && memcmp(h->magic, CK_MAGIC_V1, 8)))
      err = SPREC_ERROR(SPREC_ERR_FORMAT, "resume %s: not a sprec checkpoint", path);
    else if (!memcmp(h->magic, CK_MAGIC_V1, 8))
      err = SPREC_ERROR(SPREC_ERR_FORMAT, "resume %s: a checkpoint of format 1 (an older sprec), "
                        "which this version does not read", path);
    else if ((uint64_t)*size < sizeof *h || h->file_len != (uint64_t)*size || *size % 8)
      err = SPREC_ERROR(SPREC_ERR_FORMAT, "resume %s: the checkpoint is truncated or damaged "
                        "(%lld bytes, its header announces %llu)", path, (long long)*size,
                        (unsigned long long)h->file_len);
  }
  return sprec_agree(c->comm, err);
}

/* Local (the header is the same on every rank): the header against the problem and the
 * options of this solve. */
static sprec_err check_header(const sprec_ckset *set, ck_header *h)
{
  sprec_op A = set->A;
  const char *path = set->in;
  char here[CK_OPTS], diff[2 * CK_OPTS];
  memcpy(here, set->opts, sizeof here);
  h->opts[CK_OPTS - 1] = 0;
  h->algo[sizeof h->algo - 1] = 0;
  printable(h->opts);
  printable(h->algo);
  SPREC_CHECK(h->version == CK_VERSION, SPREC_ERR_FORMAT,
              "resume %s: checkpoint format %llu, this sprec reads %d", path,
              (unsigned long long)h->version, CK_VERSION);
  SPREC_CHECK(h->rep_len >= sizeof *h && h->rep_len <= h->file_len && h->rep_len % 8 == 0,
              SPREC_ERR_FORMAT, "resume %s: the checkpoint is damaged (replicated part of %llu "
              "bytes)", path, (unsigned long long)h->rep_len);
  SPREC_CHECK(h->m == (uint64_t)A->m && h->n == (uint64_t)A->n, SPREC_ERR_ARG,
              "resume %s: the checkpoint is for a %llu x %llu dictionary, this one is %lld x %lld",
              path, (unsigned long long)h->m, (unsigned long long)h->n, (long long)A->m,
              (long long)A->n);
  SPREC_CHECK(!strcmp(h->algo, set->algo), SPREC_ERR_ARG,
              "resume %s: the checkpoint is of algo %s, not %s", path, h->algo, set->algo);
  SPREC_CHECK(h->fp_A == set->fp_A, SPREC_ERR_ARG,
              "resume %s: the checkpoint is for another dictionary A", path);
  if (strcmp(h->opts, here)) {
    const char *a = h->opts, *b = here;
    snprintf(diff, sizeof diff, "they differ");
    while (*a && *b) { /* the first option that differs, for the message */
      size_t la = strcspn(a, " "), lb = strcspn(b, " ");
      if (la != lb || strncmp(a, b, la)) {
        snprintf(diff, sizeof diff, "%.*s in the checkpoint, %.*s here", (int)la, a, (int)lb, b);
        break;
      }
      a += la + (a[la] == ' ');
      b += lb + (b[lb] == ' ');
    }
    return SPREC_ERROR(SPREC_ERR_ARG, "resume %s: the checkpoint was made with other options (%s)",
                       path, diff);
  }
  SPREC_CHECK(h->nprob == set->b, SPREC_ERR_ARG,
              "resume %s: the checkpoint holds %lld problems, this solve has %d", path,
              (long long)h->nprob, set->b);
  return SPREC_OK;
}

/* Collective: the problem sections (replicated), then this rank's slices of the
 * distributed vectors. */
static sprec_err read_sections(sprec_ckset *set, MPI_File fh, const ck_header *h)
{
  sprec_op A = set->A;
  MPI_Comm comm = set->ctx->comm;
  const char *path = set->in;
  uint64_t ndist = 0;
  int rc;
  sprec_err err = sprec_calloc((size_t)h->rep_len, 1, &set->blob, "checkpoint");
  if (!err && (rc = sprec_ck_io(comm, 0, fh, 0, set->blob, (size_t)h->rep_len)) != MPI_SUCCESS)
    err = sprec_ck_io_fail("resume", "read", path, rc);
  SPREC_CALL(sprec_agree(comm, err));
  SPREC_CALL(parse_problems(set, set->blob, (size_t)h->rep_len, &ndist));
  SPREC_CHECK(h->file_len == h->rep_len + 8 * (uint64_t)A->n * ndist, SPREC_ERR_FORMAT,
              "resume %s: the checkpoint is damaged (%llu bytes, its items need %llu)", path,
              (unsigned long long)h->file_len,
              (unsigned long long)(h->rep_len + 8 * (uint64_t)A->n * ndist));
  MPI_Offset off = (MPI_Offset)h->rep_len, mine = 8 * (MPI_Offset)A->col_start;
  for (int p = 0; p < set->b && !err; p++) {
    sprec_ckprob *ck = &set->prob[p];
    err = sprec_calloc((size_t)ck->nrdist + 1, sizeof *ck->rdist, &ck->rdist, "checkpoint");
    for (int d = 0; d < ck->nrdist && !err; d++, off += 8 * (MPI_Offset)A->n) {
      err = sprec_calloc((size_t)A->n_local + 1, sizeof(double), &ck->rdist[d], "checkpoint");
      if (!err && (rc = sprec_ck_io(comm, 0, fh, off + mine, ck->rdist[d], (size_t)A->n_local * 8)) !=
                      MPI_SUCCESS)
        err = sprec_ck_io_fail("resume", "read", path, rc);
    }
  }
  return sprec_agree(comm, err);
}

/* Collective: reads, verifies and parses set->in: the checksum before anything else is
 * looked at, then the header against the problem, then the sections. */
static sprec_err read_file(sprec_ckset *set)
{
  MPI_File fh = MPI_FILE_NULL;
  MPI_Offset size = 0;
  ck_header h;
  uint64_t sum = 0;
  sprec_err err;
  SPREC_TRY(open_checked(set, &fh, &size, &h), done);
  SPREC_TRY(checksum_file(set, fh, (uint64_t)size, &sum), done);
  SPREC_TRY(sum == h.checksum ? SPREC_OK
                              : SPREC_ERROR(SPREC_ERR_FORMAT, "resume %s: the checkpoint is "
                                            "damaged (its checksum does not match)", set->in),
            done);
  SPREC_TRY(check_header(set, &h), done);
  SPREC_TRY(read_sections(set, fh, &h), done);
done:
  if (fh != MPI_FILE_NULL) sprec_comm_file_close(set->ctx->comm, SPREC_COMM_CHECKPOINT, &fh);
  return err;
}


/* read_file with Open MPI's own messages muted: a failed read is this error alone. */
sprec_err sprec_ck_read_file(sprec_ckset *set)
{
  sprec_mute mute = sprec_io_mute();
  sprec_err err = read_file(set);
  sprec_io_unmute(&mute);
  return err;
}
