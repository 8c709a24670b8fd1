/* Collective top-k by magnitude: the k entries of largest |v| over all ranks, ties
 * broken by the smaller global index, so the answer never depends on the number of
 * ranks. Every rank first keeps its local top-k (the global top-k is inside their
 * union), then either
 *   gather-merge: all candidates are gathered and every rank selects the same k; or
 *   threshold:    the k-th key is found exactly by a most-significant-digit radix
 *                 select with Allreduce'd 256-bucket histograms (at most 8 rounds),
 *                 and only the k winners travel.
 * Magnitudes are compared through the bits of |v|: for non-negative doubles the
 * unsigned integer order is the numeric order. */
#include "../core/impl.h"

#include <math.h>
#include <string.h>

typedef struct {
  uint64_t key; /* bits of |v| */
  int64_t idx;  /* global index */
  double val;
} entry;

static inline uint64_t mag_key(double v)
{
  double a = fabs(v);
  uint64_t u;
  memcpy(&u, &a, sizeof u);
  return u;
}

/* a ranks before b: larger magnitude, then smaller index. */
static inline int before(const entry *a, const entry *b)
{
  return a->key > b->key || (a->key == b->key && a->idx < b->idx);
}

/* Min-heap on `before` (root = the worst kept entry). */
static void sift_down(entry *h, int64_t n, int64_t i)
{
  for (;;) {
    int64_t l = 2 * i + 1, w = i;
    if (l < n && before(h + w, h + l)) w = l;
    if (l + 1 < n && before(h + w, h + l + 1)) w = l + 1;
    if (w == i) return;
    entry t = h[i];
    h[i] = h[w];
    h[w] = t;
    i = w;
  }
}

static void sift_up(entry *h, int64_t i)
{
  while (i > 0) {
    int64_t p = (i - 1) / 2;
    if (!before(h + p, h + i)) return;
    entry t = h[i];
    h[i] = h[p];
    h[p] = t;
    i = p;
  }
}

/* Select into h (capacity k) the best k of the entries produced by next(); returns
 * the count kept. One comparison rejects most entries once the heap is full. */
static int64_t heap_offer(entry *h, int64_t cnt, int64_t k, const entry *e)
{
  if (cnt < k) {
    h[cnt] = *e;
    sift_up(h, cnt);
    return cnt + 1;
  }
  if (before(e, h)) {
    h[0] = *e;
    sift_down(h, k, 0);
  }
  return cnt;
}

static int cmp_idx(const void *a, const void *b)
{
  int64_t x = ((const entry *)a)->idx, y = ((const entry *)b)->idx;
  return (x > y) - (x < y);
}

static sprec_err gather_entries(MPI_Comm comm, int p, const entry *mine, int64_t nmine,
                                entry **all, int64_t *nall)
{
  int *counts = NULL, *displs = NULL, c = (int)nmine;
  MPI_Datatype t;
  sprec_err err = SPREC_OK;
  *all = NULL;
  SPREC_TRY(sprec_calloc((size_t)p, sizeof(int), &counts, "counts"), done);
  SPREC_TRY(sprec_calloc((size_t)p, sizeof(int), &displs, "displacements"), done);
  SPREC_TRY(sprec_comm_allgather(comm, SPREC_COMM_TOPK, &c, 1, MPI_INT, counts, 1, MPI_INT)
                ? SPREC_ERROR(SPREC_ERR_MPI, "top-k: gathering counts failed")
                : SPREC_OK,
            done);
  int64_t tot = 0;
  for (int r = 0; r < p; r++) {
    SPREC_TRY(sprec_check_int(tot, "top-k candidates"), done);
    displs[r] = (int)tot;
    tot += counts[r];
  }
  SPREC_TRY(sprec_check_int(tot, "top-k candidates"), done);
  SPREC_TRY(sprec_calloc((size_t)tot, sizeof(entry), all, "top-k candidates"), done);
  MPI_Type_contiguous((int)sizeof(entry), MPI_BYTE, &t);
  MPI_Type_commit(&t);
  int rc = sprec_comm_allgatherv(comm, SPREC_COMM_TOPK, mine, c, t, *all, counts, displs, t);
  MPI_Type_free(&t);
  if (rc != MPI_SUCCESS) err = SPREC_ERROR(SPREC_ERR_MPI, "top-k: gathering candidates failed");
  *nall = tot;
done:
  free(counts);
  free(displs);
  return err;
}

/* Exact k-th key among all ranks' candidates; leaves in *need how many entries equal
 * to the returned key belong to the top k (or 0 if every key >= *lo_out is taken). */
static sprec_err radix_threshold(MPI_Comm comm, const entry *c, int64_t nc, int64_t k,
                                 uint64_t *lo_out, int64_t *need_out, int *exact)
{
  uint64_t prefix = 0;
  int64_t need = k, hist[256];
  for (int shift = 56; shift >= 0; shift -= 8) {
    uint64_t hi_mask = shift == 56 ? 0 : ~0ull << (shift + 8);
    memset(hist, 0, sizeof hist);
    for (int64_t t = 0; t < nc; t++)
      if ((c[t].key & hi_mask) == prefix) hist[(c[t].key >> shift) & 255]++;
    SPREC_MPI(sprec_comm_allreduce(comm, SPREC_COMM_TOPK, MPI_IN_PLACE, hist, 256, MPI_INT64_T, MPI_SUM));
    int b = 255;
    while (b > 0 && hist[b] < need) need -= hist[b--];
    prefix |= (uint64_t)b << shift;
    if (hist[b] == need) { /* the whole bucket is in: everything >= its bottom */
      *lo_out = prefix;
      *need_out = 0;
      *exact = 0;
      return SPREC_OK;
    }
  }
  *lo_out = prefix;
  *need_out = need;
  *exact = 1;
  return SPREC_OK;
}

sprec_err sprec_topk(sprec_ctx ctx, int64_t n, const double *v, int64_t k,
                     sprec_topk_method method, sprec_sparse *out)
{
  MPI_Comm comm = ctx->comm;
  int p = ctx->size;
  int64_t nl = sprec_block_size(n, p, ctx->rank), c0 = sprec_block_start(n, p, ctx->rank);
  SPREC_CHECK(k >= 1 && k <= n, SPREC_ERR_ARG, "top-k: k = %lld outside [1, %lld]",
              (long long)k, (long long)n);
  if (out->cap < k) {
    sprec_sparse_free(out);
    SPREC_CALL(sprec_sparse_init(out, k));
  }
  entry *h = NULL, *all = NULL, *win = NULL;
  int64_t cnt = 0, nall = 0;
  sprec_err err = SPREC_OK;
  SPREC_TRY(sprec_calloc((size_t)k, sizeof *h, &h, "top-k heap"), done);
  for (int64_t j = 0; j < nl; j++) {
    entry e = {mag_key(v[j]), c0 + j, v[j]};
    cnt = heap_offer(h, cnt, k, &e);
  }
  if (method == SPREC_TOPK_AUTO)
    method = (int64_t)p * k <= 65536 ? SPREC_TOPK_GATHER : SPREC_TOPK_THRESHOLD;

  if (method == SPREC_TOPK_GATHER) {
    err = gather_entries(comm, p, h, cnt, &all, &nall);
    if (err) goto done;
    cnt = 0;
    for (int64_t t = 0; t < nall; t++) cnt = heap_offer(h, cnt, k, all + t);
    win = h;
  } else {
    uint64_t lo;
    int64_t need, mine = 0, ties = 0, before_me = 0;
    int exact;
    err = radix_threshold(comm, h, cnt, k, &lo, &need, &exact);
    if (err) goto done;
    /* Keys strictly above the threshold (or >= the bucket bottom) all win. */
    SPREC_TRY(sprec_calloc((size_t)k, sizeof *win, &win, "top-k winners"), done);
    for (int64_t t = 0; t < cnt; t++)
      if (exact ? h[t].key > lo : h[t].key >= lo) win[mine++] = h[t];
      else if (exact && h[t].key == lo) ties++;
    if (exact) { /* the lowest-index ties: they sit on the lowest ranks */
      SPREC_TRY(sprec_comm_exscan(comm, SPREC_COMM_TOPK, &ties, &before_me, 1, MPI_INT64_T, MPI_SUM)
                    ? SPREC_ERROR(SPREC_ERR_MPI, "top-k: scan failed")
                    : SPREC_OK,
                done);
      if (ctx->rank == 0) before_me = 0;
      int64_t take = need - before_me;
      if (take > ties) take = ties;
      if (take > 0) {
        entry *tie = h; /* reuse: collect ties at the front of h after winners copied */
        int64_t nt = 0;
        for (int64_t t = 0; t < cnt; t++)
          if (h[t].key == lo) tie[nt++] = h[t];
        qsort(tie, (size_t)nt, sizeof *tie, cmp_idx);
        for (int64_t t = 0; t < take; t++) win[mine++] = tie[t];
      }
    }
    err = gather_entries(comm, p, win, mine, &all, &nall);
    if (err) goto done;
    free(win);
    win = all;
    cnt = nall;
  }
  qsort(win, (size_t)cnt, sizeof *win, cmp_idx);
  for (int64_t t = 0; t < cnt; t++) {
    out->idx[t] = win[t].idx;
    out->val[t] = win[t].val;
  }
  out->nnz = cnt;
done:
  if (win != h && win != all) free(win);
  free(h);
  free(all);
  return err;
}
