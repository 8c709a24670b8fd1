/* The fast-transform operator of compressed sensing, never stored:
 *
 *   A = √(n/m)·R·H·D,   n = 2^L,
 *
 * H the orthonormal Walsh–Hadamard transform (H_ij = (−1)^popcount(i&j)/√n), R the m
 * sampled rows of [0, n) (drawn from the seed, sorted), D = diag(d_j) with d_j = ±1
 * from (seed, j) alone. So a_ij = d_j·(−1)^popcount(R_i & j)/√m: unit columns, and
 * ‖A‖₂² = n/m exactly (R H D has orthonormal rows), set at creation so that no power
 * iteration runs.
 *
 * Aᵀr = (1/√m)·D·H·Rᵀr is one fast transform of length n distributed over the ranks
 * (src/par/fwht.c): O(n log n) work, O(n_r) memory per rank, and messages between the
 * ranks. So, unlike the stored operators, apply_T (and apply_local) of this operator
 * are collective: every rank must call them together, in the same order, as the
 * solvers do (each pass over A is made by every rank in step, and a batch's fallback
 * calls apply_T for each right-hand side in the same order on every rank). The result
 * does not depend on the number of ranks, bit for bit (fwht.h says why). Columns for
 * the least squares are made on demand from their formula, O(m) each.
 */
#include "op.h"

#include "../par/fwht.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  uint64_t seed;
  double s;           /* 1/√m = √(n/m)·(1/√n)                                  */
  int64_t *R;         /* the m rows, sorted                                    */
  sprec_fwht *f;
  int64_t cnt;        /* the rows R_i = hi·n2 + lo whose lo is in this rank's
                         column-layout range, ordered by (lo, hi):            */
  int64_t *lo, *hi, *ri; /* ... their lo, hi and i                             */
  double *val;        /* r_i (apply_T) or (H D v)_{R_i} (apply_local) there    */
  unsigned char *neg; /* bit k & 7 of neg[k >> 3]: d_j = −1, j = start + k (row layout) */
} hadamard;

static const struct sprec_op_ops hadamard_ops;

int sprec_op_is_hadamard(sprec_op op) { return op && op->ops == &hadamard_ops; }

double sprec_hadamard_sign(uint64_t seed, int64_t j)
{
  sprec_rng g;
  sprec_rng_seed(&g, seed, SPREC_STREAM_SIGNS, (uint64_t)j);
  return sprec_rng_next(&g) >> 63 ? -1.0 : 1.0;
}

const int64_t *sprec_hadamard_rows(sprec_op op) { return ((const hadamard *)op->data)->R; }

static int parity(int64_t a) { return __builtin_parityll((unsigned long long)a); }

void sprec_hadamard_column(sprec_op op, int64_t j, double *a)
{
  const hadamard *d = op->data;
  double v = sprec_hadamard_sign(d->seed, j) * d->s;
  for (int64_t i = 0; i < op->m; i++) a[i] = parity(d->R[i] & j) ? -v : v;
}

static sprec_err hadamard_apply_T(sprec_op op, const double *r, double *g)
{
  hadamard *d = op->data;
  for (int64_t t = 0; t < d->cnt; t++) d->val[t] = r[d->ri[t]];
  return sprec_fwht_forward(d->f, d->cnt, d->lo, d->hi, d->val, d->s, d->neg, g);
}

/* Collective (see the top): the sum over the ranks of what each adds is A v, as the
 * power iteration's reduction expects of apply_local. */
static sprec_err hadamard_apply_local(sprec_op op, const double *v, double *out)
{
  hadamard *d = op->data;
  SPREC_CALL(sprec_fwht_pick(d->f, v, d->neg, d->cnt, d->lo, d->hi, d->val));
  for (int64_t t = 0; t < d->cnt; t++) out[d->ri[t]] += d->s * d->val[t];
  return SPREC_OK;
}

static sprec_err hadamard_columns(sprec_op op, int64_t nc, const int64_t *jl, double *out)
{
  for (int64_t t = 0; t < nc; t++) sprec_hadamard_column(op, op->col_start + jl[t], out + t * op->m);
  return SPREC_OK;
}

static void hadamard_destroy(sprec_op op)
{
  hadamard *d = op->data;
  if (!d) return;
  sprec_fwht_destroy(&d->f);
  sprec_free_n(7, d->R, d->lo, d->hi, d->ri, d->val, d->neg, d);
}

static void hadamard_describe(sprec_op op, char *buf, size_t len)
{
  const hadamard *d = op->data;
  int lo = sprec_fwht_lo_bits(op->n), L = 0;
  while (((int64_t)1 << L) < op->n) L++;
  snprintf(buf, len,
           "implicit sqrt(n/m)*R*H*D, Walsh-Hadamard of 2^%d (2^%d x 2^%d), seed %llu, "
           "%.4g MiB of transform buffers per rank",
           L, L - lo, lo, (unsigned long long)d->seed, sprec_fwht_bytes(d->f) / 1048576.0);
}

/* The transform's two phases (the high bits within each slice, the low bits row by
 * row) each read and write the n-vector once, and the exchange between them moves it
 * once more: at least 32·n bytes, however well the stages within a phase stay in
 * cache; n·log2(n) additions and subtractions. */
static void hadamard_cost(sprec_op op, double *bytes, double *flops)
{
  double n = (double)op->n;
  *bytes = 32 * n;
  *flops = n * log2(n);
}

static const struct sprec_op_ops hadamard_ops =
    SPREC_OP_TABLE(hadamard, "hadamard",
                   .cost = hadamard_cost);

/* m distinct rows of [0, n), uniform, sorted: the same on every rank (rng.c). */
static sprec_err draw_rows(uint64_t seed, int64_t n, int64_t m, int64_t *R)
{
  return sprec_rng_distinct(seed, SPREC_STREAM_ROWS, n, m, R);
}

/* The rows whose lo falls in this rank's column-layout range, ordered by (lo, hi):
 * key lo·n + i keeps that order and gives i back. */
static sprec_err local_entries(sprec_op op, hadamard *d)
{
  int64_t l0, nlo, n = op->n, m = op->m, n2 = (int64_t)1 << sprec_fwht_lo_bits(n);
  sprec_fwht_columns(d->f, &l0, &nlo);
  int64_t *key;
  SPREC_ALLOC(key, m + 1);
  for (int64_t i = 0; i < m; i++) {
    int64_t lo = d->R[i] & (n2 - 1);
    if (lo >= l0 && lo < l0 + nlo) key[d->cnt++] = (lo - l0) * m + i;
  }
  qsort(key, (size_t)d->cnt, sizeof *key, sprec_cmp_i64); /* (lo, then i: hi ascending) */
  sprec_err err = SPREC_OK;
  SPREC_TRY(sprec_calloc((size_t)d->cnt + 1, sizeof *d->lo, &d->lo, "row list"), done);
  SPREC_TRY(sprec_calloc((size_t)d->cnt + 1, sizeof *d->hi, &d->hi, "row list"), done);
  SPREC_TRY(sprec_calloc((size_t)d->cnt + 1, sizeof *d->ri, &d->ri, "row list"), done);
  SPREC_TRY(sprec_calloc((size_t)d->cnt + 1, sizeof *d->val, &d->val, "row list"), done);
  for (int64_t t = 0; t < d->cnt; t++) {
    int64_t i = key[t] % m;
    d->ri[t] = i;
    d->lo[t] = l0 + key[t] / m;
    d->hi[t] = d->R[i] / n2;
  }
done:
  free(key);
  return err;
}

/* R, this rank's entries of R and the signs over its row-layout range. */
static sprec_err make_data(sprec_op op, hadamard *d)
{
  int64_t start, len;
  SPREC_CALL(sprec_calloc((size_t)op->m, sizeof *d->R, &d->R, "the sampled rows"));
  SPREC_CALL(draw_rows(d->seed, op->n, op->m, d->R));
  SPREC_CALL(local_entries(op, d));
  sprec_fwht_rows(d->f, &start, &len);
  SPREC_CALL(sprec_calloc((size_t)(len / 8 + 1), sizeof *d->neg, &d->neg, "the signs"));
  for (int64_t k = 0; k < len; k++)
    if (sprec_hadamard_sign(d->seed, start + k) < 0) d->neg[k >> 3] |= (unsigned char)(1u << (k & 7));
  return SPREC_OK;
}

sprec_err sprec_op_create_hadamard(sprec_ctx ctx, int64_t m, int64_t n, uint64_t seed,
                                   sprec_op *out)
{
  *out = NULL;
  SPREC_CHECK(n >= 1 && (n & (n - 1)) == 0, SPREC_ERR_ARG,
              "n must be a power of two for the hadamard operator (got %lld)", (long long)n);
  SPREC_CHECK(m >= 1 && m <= n, SPREC_ERR_ARG,
              "m must be in [1, n] = [1, %lld] for the hadamard operator (got %lld)",
              (long long)n, (long long)m);
  SPREC_CALL(sprec_op_check_shape(ctx, m, n));
  sprec_fwht *f = NULL;
  SPREC_CALL(sprec_fwht_create(ctx->comm, n, &f));
  struct sprec_op_s o = sprec_op_shape(ctx, m, n, &hadamard_ops);
  o.norm2 = (double)n / (double)m;
  hadamard *d = NULL;
  sprec_err err = sprec_calloc(1, sizeof *d, &d, "the operator");
  if (err) sprec_fwht_destroy(&f);
  else {
    o.data = d;
    d->seed = seed;
    d->s = 1.0 / sqrt((double)m);
    d->f = f;
    err = make_data(&o, d);
  }
  SPREC_CALL(sprec_op_finish(&o, err, out));
  sprec_op_fp_set(*out, "seed=%llu", (unsigned long long)seed); /* (m, n, seed) define it */
  return SPREC_OK;
}
