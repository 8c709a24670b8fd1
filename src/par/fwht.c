/* The distributed fast Walsh–Hadamard transform (fwht.h). A pass is two local passes
 * over memory (the column pass, through a cache-resident tile, and the row pass, one
 * row at a time) and one transpose between them by point-to-point messages; the
 * moves between the block and the row layouts, needed only when the rank count does
 * not divide n1, exchange at most a row's worth with each neighbour. */
#include "fwht.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* lo values per tile of the column pass: a cache line of each of the n1 rows, so the
 * tile (n1·8 doubles, 1 MiB at n1 = 2^14) stays in cache while its stages run. */
enum { TW = 8, TW_BITS = 3, TAG = 7071 };
#define PH SPREC_COMM_PRODUCTS /* the transform serves the products (the norm estimate holds its own) */
/* Doubles per message of the transpose (512 KiB): the strided side packed or unpacked
 * through two such chunks, one travelling while the other is copied. */
enum { CHUNK = 1 << 16 };

struct sprec_fwht_s {
  MPI_Comm comm;
  int p, rank, aligned;  /* aligned: row layout = block layout on every rank */
  int64_t n, n1, n2;
  int b1, b2;            /* log2 n1, log2 n2                             */
  int64_t c0, nb;        /* block layout                                 */
  int64_t l0, nlo;       /* column layout: lo in [l0, l0 + nlo)          */
  int64_t h0, nh;        /* row layout: hi in [h0, h0 + nh)              */
  double *W;             /* column layout [hi][lo − l0] of the other ranks'
                            rows ((n1 − nh)·nlo; ours are in the row layout) */
  double *B;             /* row layout (nh·n2) when not aligned          */
  double *T;             /* the column pass's tile, n1·TW                */
  double *C[2];          /* two chunks of the transpose's messages         */
  MPI_Request *req;      /* the contiguous side's chunks (nreq)             */
  int nreq;
};

int sprec_fwht_lo_bits(int64_t n)
{
  int L = 0;
  while (((int64_t)1 << L) < n) L++;
  return (L + 1) / 2;
}

void sprec_fwht_columns(const sprec_fwht *f, int64_t *l0, int64_t *nlo)
{
  *l0 = f->l0;
  *nlo = f->nlo;
}

void sprec_fwht_rows(const sprec_fwht *f, int64_t *start, int64_t *len)
{
  *start = f->h0 * f->n2;
  *len = f->nh * f->n2;
}

double sprec_fwht_bytes(const sprec_fwht *f)
{
  return 8.0 * ((double)(f->n1 - f->nh) * (double)f->nlo + (f->B ? (double)f->nh * (double)f->n2 : 0.0) +
                (double)f->n1 * TW);
}

/* Stage e and e+1 together on x[0..len), h = 2^e: the butterflies of the two stages
 * on x_i, x_{i+h}, x_{i+2h}, x_{i+3h}, one stage after the other. Inlined with h a
 * constant for the first stages, whose inner loops are too short otherwise. */
static inline __attribute__((always_inline)) void radix4(double *x, int64_t len, int64_t h)
{
  for (int64_t i0 = 0; i0 < len; i0 += 4 * h) {
    double *restrict x0 = x + i0, *restrict x1 = x0 + h, *restrict x2 = x1 + h,
                     *restrict x3 = x2 + h;
    for (int64_t i = 0; i < h; i++) {
      double a0 = x0[i] + x1[i], a1 = x0[i] - x1[i];
      double a2 = x2[i] + x3[i], a3 = x2[i] - x3[i];
      x0[i] = a0 + a2;
      x2[i] = a0 - a2;
      x1[i] = a1 + a3;
      x3[i] = a1 - a3;
    }
  }
}

static inline __attribute__((always_inline)) void radix2(double *x, int64_t len, int64_t h)
{
  for (int64_t i0 = 0; i0 < len; i0 += 2 * h) {
    double *restrict x0 = x + i0, *restrict x1 = x0 + h;
    for (int64_t i = 0; i < h; i++) {
      double a = x0[i], b = x1[i];
      x0[i] = a + b;
      x1[i] = a - b;
    }
  }
}

/* Stages e0 .. e1−1 on x[0..len) (stage e: x_i, x_{i+2^e} → their sum and difference,
 * bit e of i clear), ascending, two at a time where two remain: the result is bit for
 * bit that of one stage at a time (the same operations on the same operands). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
/* Compiled twice, the AVX2 variant chosen at load time where the CPU has it: wider
 * vectors only, the same additions in the same order, so the same bits. */
__attribute__((target_clones("avx2", "default")))
#endif
static void stages(double *x, int64_t len, int e0, int e1)
{
  int e = e0;
  for (; e + 1 < e1; e += 2) switch (e) {
    case 0: radix4(x, len, 1); break;
    case 1: radix4(x, len, 2); break;
    case 2: radix4(x, len, 4); break;
    case 3: radix4(x, len, 8); break;
    default: radix4(x, len, (int64_t)1 << e);
    }
  if (e < e1) switch (e) {
    case 0: radix2(x, len, 1); break;
    case 1: radix2(x, len, 2); break;
    case 2: radix2(x, len, 4); break;
    default: radix2(x, len, (int64_t)1 << e);
    }
}

/* ±1 for the bits of a byte, filled by sprec_fwht_create (the same values by every
 * call): the signs applied by products with ±1, exact, eight at a time from the
 * table, which vectorizes where a test per value does not. */
static double sign8[256][8];

static void fill_sign8(void)
{
  for (int b = 0; b < 256; b++)
    for (int t = 0; t < 8; t++) sign8[b][t] = (b >> t) & 1 ? -1.0 : 1.0;
}

/* x[j] = (x[j]·s)·Δ_k for k = k0 + j (len and k0 multiples of 8). */
static void scale_signs(double *x, int64_t len, double s, const unsigned char *neg, int64_t k0)
{
  for (int64_t j = 0; j < len; j += 8) {
    const double *d = sign8[neg[(k0 + j) >> 3]];
    for (int t = 0; t < 8; t++) x[j + t] = (x[j + t] * s) * d[t];
  }
}

static void free_plan(sprec_fwht *f)
{
  sprec_free_n(7, f->req, f->W, f->B, f->T, f->C[0], f->C[1], f);
}

/* The buffers and the datatypes; counts checked against MPI's int. */
static sprec_err make_plan(sprec_fwht *f)
{
  int p = f->p;
  SPREC_CALL(sprec_check_int(f->n2, "the transform's row length"));
  SPREC_CALL(sprec_check_int(f->nh, "the transform's rows per rank"));
  if (p > 1) { /* every message is shorter than the larger of the two */
    SPREC_CALL(sprec_check_int(f->n1 * f->nlo, "the transform's messages"));
    SPREC_CALL(sprec_check_int(f->nb + f->nh * f->n2, "the transform's messages"));
  }
  SPREC_CALL(sprec_alloc_block((size_t)((f->n1 - f->nh) * f->nlo) + 1, sizeof(double), &f->W,
                               "the transform's column buffer"));
  if (!f->aligned)
    SPREC_CALL(sprec_alloc_block((size_t)(f->nh * f->n2) + 1, sizeof(double), &f->B,
                                 "the transform's row buffer"));
  SPREC_CALL(sprec_calloc((size_t)(f->n1 * TW), sizeof(double), &f->T, "the transform's tile"));
  for (int c = 0; c < 2 && p > 1; c++)
    SPREC_CALL(sprec_calloc(CHUNK, sizeof(double), &f->C[c], "the transform's chunks"));
  for (int q = 0; q < p; q++)
    if (q != f->rank) f->nreq += (int)((sprec_block_size(f->n1, p, q) * f->nlo + CHUNK - 1) / CHUNK);
  SPREC_CALL(sprec_calloc((size_t)f->nreq + 2 * (size_t)p, sizeof *f->req, &f->req, "requests"));
  return SPREC_OK;
}

sprec_err sprec_fwht_create(MPI_Comm comm, int64_t n, sprec_fwht **out)
{
  sprec_fwht *f;
  *out = NULL;
  SPREC_CHECK(n >= 1 && (n & (n - 1)) == 0, SPREC_ERR_ARG,
              "the transform's length must be a power of two (got %lld)", (long long)n);
  sprec_err err = sprec_agree(comm, sprec_calloc(1, sizeof *f, &f, "the transform's plan"));
  if (err) {
    free(f);
    return err;
  }
  f->comm = comm;
  MPI_Comm_size(comm, &f->p);
  MPI_Comm_rank(comm, &f->rank);
  f->n = n;
  f->b2 = sprec_fwht_lo_bits(n);
  while (((int64_t)1 << (f->b1 + f->b2)) < n) f->b1++;
  f->n1 = (int64_t)1 << f->b1;
  f->n2 = (int64_t)1 << f->b2;
  f->c0 = sprec_block_start(n, f->p, f->rank);
  f->nb = sprec_block_size(n, f->p, f->rank);
  f->l0 = sprec_block_start(f->n2, f->p, f->rank);
  f->nlo = sprec_block_size(f->n2, f->p, f->rank);
  f->h0 = sprec_block_start(f->n1, f->p, f->rank);
  f->nh = sprec_block_size(f->n1, f->p, f->rank);
  f->aligned = f->n1 % f->p == 0;
  fill_sign8();
  err = sprec_agree(comm, make_plan(f));
  if (err) free_plan(f);
  else *out = f;
  return err;
}

void sprec_fwht_destroy(sprec_fwht **f)
{
  if (!f || !*f) return;
  free_plan(*f);
  *f = NULL;
}

/* dst[0..8) = src[0..8), a whole cache line (dst 64-byte aligned) that is not read
 * first: W is written once per pass, a line of each of its n1 rows per tile, which
 * with ordinary stores costs a read of every line and misses at every row. */
static inline void store_line(double *dst, const double *src)
{
#ifdef __SSE2__
  for (int c = 0; c < TW; c += 2) _mm_stream_pd(dst + c, _mm_loadu_pd(src + c));
#else
  memcpy(dst, src, TW * sizeof *dst);
#endif
}

/* Row h of the column layout, from lo = l0 + a on: this rank's own rows are in the row
 * layout (the column pass writes them there and reads them from there: no copy, no
 * room in W), the others' in W, where they are sent from and received into. */
static double *row_at(sprec_fwht *f, double *rows, int64_t h, int64_t a)
{
  if (h >= f->h0 && h < f->h0 + f->nh) return rows + (h - f->h0) * f->n2 + f->l0 + a;
  return f->W + (h < f->h0 ? h : h - f->nh) * f->nlo + a;
}

/* The column pass of the forward transform: the stages over hi on x (given by its
 * entries), a tile of TW values of lo at a time. */
static void column_pass_forward(sprec_fwht *f, int64_t cnt, const int64_t *lo, const int64_t *hi,
                                const double *val, double *rows)
{
  int64_t t = 0, n1 = f->n1, nlo = f->nlo;
  double *T = f->T;
  /* whole cache lines, 16-byte aligned for the streaming stores, in W and rows */
  int lines = nlo % TW == 0 && f->l0 % 2 == 0 && f->n2 % 2 == 0 && ((uintptr_t)rows & 15) == 0;
  for (int64_t a = 0; a < nlo; a += TW) {
    int64_t w = nlo - a < TW ? nlo - a : TW;
    memset(T, 0, (size_t)(n1 * TW) * sizeof *T);
    for (; t < cnt && lo[t] - f->l0 < a + w; t++) T[hi[t] * TW + (lo[t] - f->l0 - a)] = val[t];
    stages(T, n1 * TW, TW_BITS, TW_BITS + f->b1);
    if (lines)
      for (int64_t h = 0; h < n1; h++) store_line(row_at(f, rows, h, a), T + h * TW);
    else
      for (int64_t h = 0; h < n1; h++) memcpy(row_at(f, rows, h, a), T + h * TW, (size_t)w * sizeof *T);
  }
#ifdef __SSE2__
  _mm_sfence(); /* the streamed lines visible before they are sent or transformed */
#endif
}

/* Copies part [o, o + len) of the block nh x nl (row-major) that sits at column lq
 * of the row layout rows: out of it into buf (pack) or from buf into it. */
static void block_part(sprec_fwht *f, double *rows, int64_t lq, int64_t nl, int64_t o, int64_t len,
                       double *buf, int pack)
{
  for (int64_t e = o; e < o + len;) {
    int64_t h = e / nl, l = e % nl, seg = nl - l < o + len - e ? nl - l : o + len - e;
    double *r = rows + h * f->n2 + lq + l, *b = buf + (e - o);
    memcpy(pack ? b : r, pack ? r : b, (size_t)seg * sizeof *b);
    e += seg;
  }
}

/* The transpose between the column layout and the row layout: to_rows 1 moves the
 * other ranks' rows of my lo (W, contiguous per rank) to them and their lo of my rows
 * into rows; 0 the reverse. Each message between two ranks is cut in chunks of CHUNK
 * doubles of its flat order (rows of one, lo of the other), which both sides count
 * alike. The contiguous side sends or receives every chunk in place, all posted at
 * once; the strided side (my rows, q's lo: nh runs of nlo_q in rows) goes through two
 * chunk buffers, rank after rank, chunk after chunk (messages between two ranks keep
 * their order), so it needs no buffer of the message's size. */
static sprec_err transpose(sprec_fwht *f, double *rows, int to_rows)
{
  int nr = 0, p = f->p;
  for (int q = 0; q < p; q++) { /* the contiguous side, every chunk posted at once */
    int64_t hq = sprec_block_start(f->n1, p, q), cnt = sprec_block_size(f->n1, p, q) * f->nlo;
    double *wq = f->W + (hq < f->h0 ? hq : hq - f->nh) * f->nlo;
    for (int64_t o = 0; q != f->rank && o < cnt; o += CHUNK) {
      int len = (int)(cnt - o < CHUNK ? cnt - o : CHUNK);
      if (to_rows) SPREC_MPI(sprec_comm_isend(f->comm, PH, wq + o, len, MPI_DOUBLE, q, TAG, &f->req[nr++]));
      else SPREC_MPI(sprec_comm_irecv(f->comm, PH, wq + o, len, MPI_DOUBLE, q, TAG, &f->req[nr++]));
    }
  }
  MPI_Request cr[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
  int64_t pend_o[2] = {0, 0}, pend_len[2] = {0, 0}, pend_lq[2] = {0, 0}, pend_nl[2] = {0, 0};
  int c = 0;
  for (int s = 1; s < p; s++) { /* the strided side, from rank + 1 on, chunk by chunk */
    int q = (f->rank + s) % p;
    int64_t lq = sprec_block_start(f->n2, p, q), nl = sprec_block_size(f->n2, p, q);
    for (int64_t o = 0; o < f->nh * nl; o += CHUNK, c ^= 1) {
      int64_t len = f->nh * nl - o < CHUNK ? f->nh * nl - o : CHUNK;
      SPREC_MPI(sprec_comm_wait(f->comm, PH, &cr[c])); /* chunk c free (unpacked below) */
      if (to_rows && pend_len[c]) block_part(f, rows, pend_lq[c], pend_nl[c], pend_o[c], pend_len[c], f->C[c], 0);
      if (to_rows) SPREC_MPI(sprec_comm_irecv(f->comm, PH, f->C[c], (int)len, MPI_DOUBLE, q, TAG, &cr[c]));
      else {
        block_part(f, rows, lq, nl, o, len, f->C[c], 1);
        SPREC_MPI(sprec_comm_isend(f->comm, PH, f->C[c], (int)len, MPI_DOUBLE, q, TAG, &cr[c]));
      }
      pend_o[c] = o, pend_len[c] = len, pend_lq[c] = lq, pend_nl[c] = nl;
    }
  }
  for (int k = 0; k < 2; k++, c ^= 1) { /* the last two chunks */
    SPREC_MPI(sprec_comm_wait(f->comm, PH, &cr[c]));
    if (to_rows && pend_len[c]) block_part(f, rows, pend_lq[c], pend_nl[c], pend_o[c], pend_len[c], f->C[c], 0);
    pend_len[c] = 0;
  }
  SPREC_MPI(sprec_comm_waitall(f->comm, PH, nr, f->req));
  if (f->p > 1) sprec_comm_hops(f->comm, PH, 1); /* one exchange step */
  return SPREC_OK;
}

/* Rank q's range in the row layout (rows 1) or in the block layout (rows 0). */
static void range_of(const sprec_fwht *f, int q, int rows, int64_t *a, int64_t *b)
{
  if (rows) {
    *a = sprec_block_start(f->n1, f->p, q) * f->n2;
    *b = *a + sprec_block_size(f->n1, f->p, q) * f->n2;
  } else {
    *a = sprec_block_start(f->n, f->p, q);
    *b = *a + sprec_block_size(f->n, f->p, q);
  }
}

/* From the row layout (src) to the block layout (dst) when to_block, else back. Both
 * are contiguous ranges of [0, n) differing by less than a row at each end, so each
 * rank exchanges a part of a row with its neighbours. */
static sprec_err shift(sprec_fwht *f, const double *src, double *dst, int to_block)
{
  int nr = 0;
  int64_t s0, s1, d0, d1;
  range_of(f, f->rank, to_block, &s0, &s1);
  range_of(f, f->rank, !to_block, &d0, &d1);
  for (int q = 0; q < f->p; q++) {
    int64_t qs0, qs1, qd0, qd1;
    range_of(f, q, to_block, &qs0, &qs1);
    range_of(f, q, !to_block, &qd0, &qd1);
    int64_t a = s0 > qd0 ? s0 : qd0, b = s1 < qd1 ? s1 : qd1; /* mine, for q */
    if (q == f->rank) {
      if (b > a) memcpy(dst + (a - d0), src + (a - s0), (size_t)(b - a) * sizeof *dst);
      continue;
    }
    if (b > a)
      SPREC_MPI(sprec_comm_isend(f->comm, PH, src + (a - s0), (int)(b - a), MPI_DOUBLE, q, TAG, &f->req[nr++]));
    a = qs0 > d0 ? qs0 : d0, b = qs1 < d1 ? qs1 : d1; /* q's, for me */
    if (b > a)
      SPREC_MPI(sprec_comm_irecv(f->comm, PH, dst + (a - d0), (int)(b - a), MPI_DOUBLE, q, TAG, &f->req[nr++]));
  }
  SPREC_MPI(sprec_comm_waitall(f->comm, PH, nr, f->req));
  if (f->p > 1) sprec_comm_hops(f->comm, PH, 1); /* one exchange step */
  return SPREC_OK;
}

static int negated(const unsigned char *neg, int64_t k) { return (neg[k >> 3] >> (k & 7)) & 1; }

sprec_err sprec_fwht_forward(sprec_fwht *f, int64_t cnt, const int64_t *lo, const int64_t *hi,
                             const double *val, double s, const unsigned char *neg, double *out)
{
  double *rows = f->aligned ? out : f->B;
  column_pass_forward(f, cnt, lo, hi, val, rows);
  SPREC_CALL(transpose(f, rows, 1));
  for (int64_t h = 0; h < f->nh; h++) {
    double *x = rows + h * f->n2;
    stages(x, f->n2, 0, f->b2);
    if (f->n2 >= 8) scale_signs(x, f->n2, s, neg, h * f->n2);
    else
      for (int64_t j = 0, k = h * f->n2; j < f->n2; j++, k++) x[j] = (x[j] * s) * (negated(neg, k) ? -1.0 : 1.0);
  }
  if (!f->aligned) SPREC_CALL(shift(f, rows, out, 1));
  return SPREC_OK;
}

/* The column pass of sprec_fwht_pick: only the tiles that hold an entry. */
static void column_pass_pick(sprec_fwht *f, int64_t cnt, const int64_t *lo, const int64_t *hi,
                             double *val, double *rows)
{
  int64_t n1 = f->n1, nlo = f->nlo;
  double *T = f->T;
  memset(T, 0, (size_t)(n1 * TW) * sizeof *T);
  for (int64_t t = 0; t < cnt;) {
    int64_t a = (lo[t] - f->l0) / TW * TW, w = nlo - a < TW ? nlo - a : TW;
    for (int64_t h = 0; h < n1; h++) memcpy(T + h * TW, row_at(f, rows, h, a), (size_t)w * sizeof *T);
    stages(T, n1 * TW, TW_BITS, TW_BITS + f->b1);
    for (; t < cnt && lo[t] - f->l0 < a + w; t++) val[t] = T[hi[t] * TW + (lo[t] - f->l0 - a)];
  }
}

sprec_err sprec_fwht_pick(sprec_fwht *f, const double *v, const unsigned char *neg, int64_t cnt,
                          const int64_t *lo, const int64_t *hi, double *val)
{
  double *rows = NULL;
  sprec_err err = sprec_calloc((size_t)(f->nh * f->n2) + 1, sizeof *rows, &rows,
                               "the transform's row buffer");
  if ((err = sprec_agree(f->comm, err))) {
    free(rows);
    return err;
  }
  if (f->aligned) memcpy(rows, v, (size_t)f->nb * sizeof *rows);
  else SPREC_TRY(shift(f, v, rows, 0), done);
  for (int64_t h = 0; h < f->nh; h++) {
    double *x = rows + h * f->n2;
    for (int64_t j = 0, k = h * f->n2; j < f->n2; j++, k++)
      if (negated(neg, k)) x[j] = -x[j];
    stages(x, f->n2, 0, f->b2);
  }
  SPREC_TRY(transpose(f, rows, 0), done);
  column_pass_pick(f, cnt, lo, hi, val, rows);
done:
  free(rows);
  return err;
}
