/* Checkpoints: the state of a run in one file, so that a run stopped by a signal (a
 * preempted or time-limited batch job) continues later, on any number of ranks, and
 * ends bit for bit as it would have without the interruption.
 *
 * An algorithm names the variables that define where it is (sprec_w_keep: pointers,
 * read when a checkpoint is written and filled when one is restored), at a point of
 * its loop where they are consistent: the end of an iteration, after every decision
 * of that iteration. Least-squares objects describe their own state (lsq.h): the
 * replicated path's factorization is updated, not recomputed, from one iteration to
 * the next, so it is part of where the run is.
 *
 * File (format 2), all fields little-endian 8-byte words:
 *   header     magic, version, checksum, file length, length of the replicated part,
 *              m, n, fingerprint of A, number of problems b, algorithm, options
 *   b problem  status (nothing yet / state / result), phase (0: the only algorithm or
 *   sections   a chain's init, 1: a chain's main algorithm), iteration, budget,
 *              fingerprint of y, then items (name, kind, length, payload)
 *   vectors    the distributed vectors of every problem, in global order (n doubles
 *              each): each rank writes and reads its own slice, so a checkpoint of 4
 *              ranks resumes on 1 or on 16
 * Written to a temporary name and renamed: a kill during the write leaves the
 * previous checkpoint intact.
 *
 * Integrity. The checksum is a 64-bit position-keyed hash, Σ_i mix(w_i ⊕ key(i)) mod
 * 2⁶⁴ over the file's words w_i (the checksum word read as 0), mix the splitmix64
 * finalizer (a bijection): any change of one word changes exactly one term, so one
 * damaged word (one flipped bit) is always detected, several with probability
 * 1 − 2⁻⁶⁴. Unlike a CRC or FNV over the byte stream, the sum splits over ranks:
 * each rank hashes the slices it writes, and on resume the part of the file it
 * reads; no rank reads the whole file. On resume the checksum is verified first;
 * then every field is checked against the problem (sizes, algorithm, fingerprints of
 * A and y, options, the budget), then each item against what the algorithm keeps
 * (names, kinds, lengths, support indices in [0, n) ascending, counters in range,
 * values finite) before the state is used. */
#include "algo.h"
#include "../lsq/lsq.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CK_MAGIC "SPRECCK2"
#define CK_MAGIC_V1 "SPRECCK1"
#define CK_VERSION 2
#define CK_OPTS 512
#define CK_INDEX 100   /* item kind of an int64 array (a least-squares part)    */
/* sprec_keep.lo of a DBL item: 0 finite; CK_DBL_NONNEG finite and >= 0 (a data fit,
 * an objective, a gap, a step); CK_DBL_LAMBDA >= 0, +∞ allowed (λ: --lambda inf). */
#define CK_DBL_NONNEG 1
#define CK_DBL_LAMBDA 2

/* The most a 64-bit counter of a run (passes over A, support changes) can hold in a
 * checkpoint: 2⁶⁰ passes would take millennia, so a larger value is damage; the cap
 * keeps the sums and increments a resumed run makes (a chain adds its init's passes,
 * each iteration adds to both) far from overflow (INT64_MAX + 1 was taken and then
 * incremented: found by tests/fuzz/fuzz_ckpt.c, UBSan). */
#define CK_COUNT_MAX ((int64_t)1 << 60)

enum { CK_FRESH = 0, CK_STATE = 1, CK_DONE = 2 };

typedef struct {
  char magic[8];
  uint64_t version;
  uint64_t checksum;  /* of the whole file, this word read as 0           */
  uint64_t file_len;  /* bytes                                            */
  uint64_t rep_len;   /* header and problem sections; the vectors follow  */
  uint64_t m, n, fp_A;
  int64_t nprob;
  char algo[16];
  char opts[CK_OPTS];
} ck_header;

typedef struct {
  int64_t status;     /* CK_FRESH, CK_STATE, CK_DONE                      */
  int64_t phase, iteration, budget;
  int64_t flags;      /* CK_DONE: 1 if the run ended by its budget        */
  uint64_t fp_y;
  int64_t nitems, bytes; /* items (a least-squares part counts) and their bytes */
} ck_prob_head;

typedef struct {
  char name[24];
  int64_t kind, len; /* len: entries (DIST: n, the payload is in the vectors) */
} ck_item_head;

/* An item of a resumed file, parsed (pointing into the verified replicated part). */
typedef struct {
  char name[24];
  int64_t kind, len;
  const unsigned char *data;
  int dist; /* DIST: its index among the problem's vectors */
} ck_item;

/* A growing byte buffer. */
typedef struct {
  unsigned char *p;
  size_t len, cap;
  int failed;
} buf;

struct sprec_ckprob {
  sprec_ckset *set;
  int slot;
  /* To write. */
  int status;
  int64_t phase, iteration, budget, flags, nitems;
  buf rep;                            /* the items                              */
  int nd;                             /* distributed vectors                    */
  const double *dsrc[SPREC_MAX_KEEP]; /* what is written (nl entries each)      */
  double *dcopy[SPREC_MAX_KEEP];      /* batches: copies taken at the save      */
  /* A chain's init result (phase 1). */
  int have_chain;
  sprec_sparse xi;
  double init_fit;
  int init_iters;
  int64_t init_passes;
  /* Resumed. */
  int rstatus;
  int64_t rphase, riteration;
  ck_item *items;
  int nitems_r, next, used;
  double **rdist;
  int nrdist;
};

struct sprec_ckset {
  sprec_ctx ctx;
  sprec_op A;
  const char *out, *in;
  int b, chain, every;
  int budget[2];
  uint64_t fp_A;
  uint64_t *fp_y;
  char algo[16], opts[CK_OPTS];
  sprec_ckprob *prob;
  int dirty;
  unsigned char *blob; /* the resumed file's replicated part */
};

static const char *const reasons[] = {"iterations", "tol", "fixed_point", "converged",
                                      "gap", "interrupted", "", NULL};

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

sprec_err sprec_w_end_iteration(sprec_work *w, int t, double obj, int64_t changes, int *stop)
{
  *stop = sprec_w_progress(w, t, obj, changes);
  SPREC_CALL(sprec_w_save(w, t, *stop));
  return SPREC_OK;
}

/* Text read from a file (the algorithm, the options, item names), once terminated:
 * every byte outside printable ASCII becomes '?', so that a message quoting it stays
 * one line of plain text. Comparisons are unchanged: what sprec writes there is
 * printable ASCII without '?', so a text with such a byte matches nothing before or
 * after. */
static void printable(char *s) { sprec_printable(s, SIZE_MAX, s, SIZE_MAX); }

/* ------------------------------------------------------------- hashing -- */
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

/* Σ mix(w_i ⊕ key(i)) over the words of p, the first being word `word0` of the file. */
static uint64_t hash_words(const void *p, size_t len, uint64_t word0)
{
  const unsigned char *q = p;
  uint64_t h = 0;
  for (size_t i = 0; i + 8 <= len; i += 8) {
    uint64_t v;
    memcpy(&v, q + i, 8);
    h += mix(v ^ mix((word0 + i / 8) * 0x9e3779b97f4a7c15ULL + 0x2545f4914f6cdd1dULL));
  }
  return h;
}

/* Fingerprint of A through g = Aᵀu, u_i = mix(i) scaled to [−1, 1): a sum of per-entry
 * hashes, which does not depend on how the columns are split over ranks. */
static sprec_err fingerprint_A(sprec_op A, uint64_t *fp)
{
  double *u = NULL, *g = NULL;
  sprec_err err = sprec_calloc((size_t)A->m, sizeof *u, &u, "checkpoint fingerprint");
  if (!err) err = sprec_calloc((size_t)A->n_local + 1, sizeof *g, &g, "checkpoint fingerprint");
  uint64_t h = 0;
  if (!err) {
    for (int64_t i = 0; i < A->m; i++) u[i] = (double)(mix((uint64_t)i + 1) >> 11) * 0x1p-52 - 1.0;
    err = sprec_op_apply_T(A, u, g);
    for (int64_t j = 0; j < A->n_local && !err; j++)
      h += mix(bits(g[j]) ^ mix((uint64_t)(A->col_start + j)));
  }
  free(u);
  free(g);
  SPREC_CALL(sprec_agree(A->ctx->comm, err));
  SPREC_MPI(MPI_Allreduce(MPI_IN_PLACE, &h, 1, MPI_UINT64_T, MPI_SUM, A->ctx->comm));
  *fp = h;
  return SPREC_OK;
}

static uint64_t fingerprint_y(const double *y, int64_t m)
{
  uint64_t h = 0;
  for (int64_t i = 0; i < m; i++) h += mix(bits(y[i]) ^ mix((uint64_t)i));
  return h;
}

/* The options that change the course of a run, as text (compared on resume). Not the
 * budget: a run may be resumed with a larger iters, and goes on as far as an
 * uninterrupted run with that budget. Nor the top-k method: both give the same sets. */
static void options_text(const sprec_opts *o, int64_t k, char *s, size_t len)
{
  static const char *const lsq[] = {"auto", "scalapack", "replicated"};
  static const char *const rule[] = {"default", "fixed", "adaptive"};
  snprintf(s, len,
           "algo=%s init=%s k=%lld tol=%.17g step=%.17g step-rule=%s lambda=%.17g "
           "lambda-ratio=%.17g continuation=%d restart=%d debias=%d lsq=%s",
           o->algo, o->init_algo[0] ? o->init_algo : "none", (long long)k, o->tol, o->step,
           rule[(unsigned)o->step_rule % 3], o->lambda, o->lambda_ratio, o->continuation,
           o->restart, o->debias, lsq[(unsigned)o->lsq % 3]);
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

/* The items of a chain's init result (before the main algorithm's, in phase 1). */
static int chain_keeps(sprec_ckprob *ck, sprec_keep *k)
{
  k[0] = (sprec_keep){"init.x", SPREC_KEEP_SPARSE, &ck->xi, 0, 0, 0};
  k[1] = (sprec_keep){"init.data_fit", SPREC_KEEP_DBL, &ck->init_fit, 1, CK_DBL_NONNEG, 0};
  k[2] = (sprec_keep){"init.iterations", SPREC_KEEP_INT, &ck->init_iters, 1, 0,
                      ck->set->budget[0]}; /* the init's budget */
  k[3] = (sprec_keep){"init.passes", SPREC_KEEP_I64, &ck->init_passes, 1, 0, INT64_MAX};
  return 4;
}

/* The items of a finished problem: its x and statistics (times aside). Its iterations
 * are those of its section (at most the budget), the best one among them; a chain's
 * init ran at most the init's budget, and there is no init without a chain. */
static int result_keeps(const sprec_ckset *set, sprec_sparse *x, sprec_stats *st, int *reason,
                        sprec_keep *k)
{
  int n = 0;
  k[n++] = (sprec_keep){"x", SPREC_KEEP_SPARSE, x, 0, 0, 0};
  k[n++] = (sprec_keep){"iterations", SPREC_KEEP_INT, &st->iterations, 1, SPREC_ITER, SPREC_ITER};
  k[n++] = (sprec_keep){"best_iteration", SPREC_KEEP_INT, &st->best_iteration, 1, 0, SPREC_ITER};
  k[n++] = (sprec_keep){"stop_reason", SPREC_KEEP_INT, reason, 1, 0, 6};
  double *d[] = {&st->objective, &st->data_fit, &st->lambda, &st->lambda_max, &st->gap,
                 &st->rel_residual, &st->step, &st->L, &st->init_data_fit};
  static const char *const dn[] = {"objective", "data_fit", "lambda", "lambda_max", "gap",
                                   "rel_residual", "step", "L", "init.data_fit"};
  for (int i = 0; i < 9; i++)
    k[n++] = (sprec_keep){dn[i], SPREC_KEEP_DBL, d[i], 1, i == 2 ? CK_DBL_LAMBDA : CK_DBL_NONNEG, 0};
  k[n++] = (sprec_keep){"lsq_scalapack", SPREC_KEEP_INT, &st->lsq_scalapack, 1, 0, 1};
  k[n++] = (sprec_keep){"init.iterations", SPREC_KEEP_INT, &st->init_iterations, 1, 0,
                        set->chain ? set->budget[0] : 0};
  k[n++] = (sprec_keep){"passes", SPREC_KEEP_I64, &st->apply_T_passes, 1, 0, INT64_MAX};
  return n;
}

/* --------------------------------------------------------------- files -- */
static sprec_err io_fail(const char *opt, const char *what, const char *path, int rc)
{
  char msg[MPI_MAX_ERROR_STRING] = "";
  int len = 0;
  if (rc != MPI_SUCCESS) MPI_Error_string(rc, msg, &len);
  return SPREC_ERROR(SPREC_ERR_IO, "%s %s: cannot %s%s%s", opt, path, what, len ? ": " : "", msg);
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

/* Collective: writes the set's file from every problem's items and vectors, to a
 * temporary name renamed on success. */
static sprec_err write_file(sprec_ckset *set)
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
    if (c->rank == 0) sum = hash_words(b.p, b.len, 0); /* the checksum word is 0 here */
  }
  char tmp[4200];
  long pid = (long)getpid();
  MPI_Bcast(&pid, 1, MPI_LONG, 0, c->comm);
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, pid);
  MPI_File fh = MPI_FILE_NULL;
  int rc = MPI_SUCCESS;
  if (!err) {
    rc = MPI_File_open(c->comm, tmp, MPI_MODE_WRONLY | MPI_MODE_CREATE, MPI_INFO_NULL, &fh);
    if (rc != MPI_SUCCESS) err = io_fail("checkpoint", "create", tmp, rc), fh = MPI_FILE_NULL;
  }
  SPREC_TRY(sprec_agree(c->comm, err), done);
  MPI_File_set_errhandler(fh, MPI_ERRORS_RETURN);
  MPI_File_set_size(fh, 0);
  if (c->rank == 0) {
    rc = write_bytes(fh, 0, b.p, b.len);
    if (rc != MPI_SUCCESS) err = io_fail("checkpoint", "write", path, rc);
  }
  MPI_Offset off = (MPI_Offset)b.len;
  MPI_Offset mine = 8 * (MPI_Offset)A->col_start;
  for (int p = 0; p < set->b; p++) {
    sprec_ckprob *ck = &set->prob[p];
    if (ck->status == CK_FRESH) continue;
    for (int d = 0; d < ck->nd; d++, off += 8 * (MPI_Offset)n) {
      if (err) continue;
      sum += hash_words(ck->dsrc[d], (size_t)nl * 8, (uint64_t)(off + mine) / 8);
      rc = write_bytes(fh, off + mine, ck->dsrc[d], (size_t)nl * 8);
      if (rc != MPI_SUCCESS) err = io_fail("checkpoint", "write", path, rc);
    }
  }
  MPI_Allreduce(MPI_IN_PLACE, &sum, 1, MPI_UINT64_T, MPI_SUM, c->comm);
  if (c->rank == 0 && !err) {
    rc = write_bytes(fh, offsetof(ck_header, checksum), &sum, sizeof sum);
    if (rc != MPI_SUCCESS) err = io_fail("checkpoint", "write", path, rc);
  }
  rc = MPI_File_close(&fh);
  if (rc != MPI_SUCCESS && !err) err = io_fail("checkpoint", "write", path, rc);
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

sprec_err sprec_w_save(sprec_work *w, int iteration, int stop)
{
  sprec_ckprob *ck = w->ck;
  int every = w->o.checkpoint_every;
  if (!ck || !ck->set->out) return SPREC_OK;
  if (!(stop || (every > 0 && iteration > 0 && iteration % every == 0))) return SPREC_OK;
  SPREC_CHECK(w->nkeep <= SPREC_MAX_KEEP, SPREC_ERR_ARG, "too many checkpoint items");
  sprec_keep chain[4];
  ck->rep.len = 0;
  ck->rep.failed = 0;
  ck->nitems = 0;
  ck->nd = 0;
  if (w->phase == 1)
    for (int i = 0, nc = chain_keeps(ck, chain); i < nc; i++) put_keep(ck, &chain[i], w->n);
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
  if (!w->batch) {
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
  while (reasons[reason] && strcmp(reasons[reason], st->stop_reason)) reason++;
  if (!reasons[reason]) reason = 6;
  int nk = result_keeps(ck->set, &xx, &s, &reason, k);
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
              "version of sprec?", set->in, w->o.algo);
  for (int i = 0; i < w->nkeep; i++) SPREC_CALL(take(set, ck, &w->keep[i]));
  if (w->lsq) {
    sprec_keep l = {"lsq", SPREC_KEEP_LSQ, &w->lsq, 0, 0, 0};
    SPREC_CALL(take(set, ck, &l));
  }
  SPREC_CHECK(ck->next == ck->nitems_r, SPREC_ERR_FORMAT,
              "resume %s: the checkpoint holds more items than %s keeps: written by another "
              "version of sprec?", set->in, w->o.algo);
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
  int nk = result_keeps(ck->set, x, st, &reason, k);
  for (int i = 0; i < nk; i++) SPREC_CALL(take(ck->set, ck, &k[i]));
  snprintf(st->stop_reason, sizeof st->stop_reason, "%s", reasons[reason]);
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
  int nk = chain_keeps(ck, k);
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
    int rc = read_bytes(fh, (MPI_Offset)(8 * (w0 + at)), p, (size_t)(8 * cnt));
    if (rc != MPI_SUCCESS) {
      err = io_fail("resume", "read", set->in, rc);
      break;
    }
    if (cw >= w0 + at && cw < w0 + at + cnt) memset(p + 8 * (cw - w0 - at), 0, 8);
    h += hash_words(p, (size_t)(8 * cnt), w0 + at);
  }
  free(p);
  SPREC_CALL(sprec_agree(c->comm, err));
  SPREC_MPI(MPI_Allreduce(MPI_IN_PLACE, &h, 1, MPI_UINT64_T, MPI_SUM, c->comm));
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
  int rc = MPI_File_open(c->comm, (char *)path, MPI_MODE_RDONLY, MPI_INFO_NULL, fh);
  if (rc != MPI_SUCCESS) {
    *fh = MPI_FILE_NULL;
    err = SPREC_ERROR(SPREC_ERR_IO, "resume %s: cannot open the checkpoint", path);
  } else {
    MPI_File_set_errhandler(*fh, MPI_ERRORS_RETURN);
    MPI_File_get_size(*fh, size);
    size_t got = (uint64_t)*size < sizeof *h ? (size_t)*size : sizeof *h;
    if (read_bytes(*fh, 0, h, got) != MPI_SUCCESS)
      err = io_fail("resume", "read", path, MPI_ERR_IO);
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
  if (!err && (rc = read_bytes(fh, 0, set->blob, (size_t)h->rep_len)) != MPI_SUCCESS)
    err = io_fail("resume", "read", path, rc);
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
      if (!err && (rc = read_bytes(fh, off + mine, ck->rdist[d], (size_t)A->n_local * 8)) !=
                      MPI_SUCCESS)
        err = io_fail("resume", "read", path, rc);
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
  if (fh != MPI_FILE_NULL) MPI_File_close(&fh);
  return err;
}

/* ---------------------------------------------------------------- sets -- */
sprec_err sprec_ck_open(sprec_ctx c, sprec_op A, const sprec_opts *o, int b, const double *Y,
                        const int budget[2], sprec_ckset **out)
{
  *out = NULL;
  if (!o->checkpoint && !o->resume) return SPREC_OK;
  sprec_ckset *set = NULL;
  sprec_err err = sprec_calloc(1, sizeof *set, &set, "checkpoint");
  if (!err) err = sprec_calloc((size_t)b, sizeof *set->prob, &set->prob, "checkpoint");
  if (!err) err = sprec_calloc((size_t)b, sizeof *set->fp_y, &set->fp_y, "checkpoint");
  err = sprec_agree(c->comm, err);
  if (err) {
    if (set) free(set->prob), free(set->fp_y);
    free(set);
    return err;
  }
  *out = set;
  set->ctx = c;
  set->A = A;
  set->out = o->checkpoint;
  set->in = o->resume;
  set->b = b;
  set->chain = o->init_algo[0] != 0;
  set->every = o->checkpoint_every;
  set->budget[0] = budget[0];
  set->budget[1] = budget[1];
  snprintf(set->algo, sizeof set->algo, "%s", o->algo);
  int64_t k = o->k, kmax = A->m < A->n ? A->m : A->n;
  if (sprec_algorithm_kind(o->algo) == 1 && (!set->chain || sprec_algorithm_kind(o->init_algo) == 1))
    k = kmax; /* the Lasso ignores k */
  options_text(o, k, set->opts, sizeof set->opts);
  for (int p = 0; p < b; p++) {
    set->prob[p].set = set;
    set->prob[p].slot = p;
    set->prob[p].rstatus = CK_FRESH;
    set->fp_y[p] = fingerprint_y(Y + (size_t)p * (size_t)A->m, A->m);
  }
  err = fingerprint_A(A, &set->fp_A);
  if (!err && set->in) err = read_file(set);
  if (err) sprec_ck_close(out);
  return err;
}

void sprec_ck_close(sprec_ckset **setp)
{
  if (!setp || !*setp) return;
  sprec_ckset *set = *setp;
  for (int p = 0; p < set->b; p++) {
    sprec_ckprob *ck = &set->prob[p];
    free(ck->rep.p);
    for (int d = 0; d < SPREC_MAX_KEEP; d++) free(ck->dcopy[d]);
    sprec_sparse_free(&ck->xi);
    free(ck->items);
    for (int d = 0; ck->rdist && d < ck->nrdist; d++) free(ck->rdist[d]);
    free(ck->rdist);
  }
  free(set->prob);
  free(set->fp_y);
  free(set->blob);
  free(set);
  *setp = NULL;
}

sprec_ckprob *sprec_ck_problem(sprec_ckset *set, int p) { return set ? &set->prob[p] : NULL; }
