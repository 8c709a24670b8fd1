/* Sparse operator: this rank's columns in compressed sparse column form (offsets, row
 * indices of 32 or 64 bits, double values). A pass reads each nonzero once.
 *
 * The products give the dense operator's bits on the same matrix. The dense kernels
 * sum a column's products in four lanes, lane l taking rows i ≡ l (mod 4) in
 * increasing order, combined as (s0 + s1) + (s2 + s3) (kernels_simd.h); a missing entry
 * adds 0·r_i = ±0 to a lane, which leaves it unchanged (a lane starts at +0 and a sum
 * of doubles is -0 only when both terms are). So with the rows of a column sorted and
 * each nonzero added to its row's lane, g_j is the dense g_j bit for bit; likewise a
 * scatter-add column after column is the dense gemv_n. Solves over a CSC matrix then
 * equal solves over its densified copy, for any number of ranks. */
#include "op.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  int64_t *colptr; /* n_local + 1                              */
  int32_t *r32;    /* row indices, when 32 bits are enough     */
  int64_t *r64;    /* or 64-bit ones                           */
  double *val;
  int64_t nnz;     /* global, for describe                     */
  double mib_max;  /* largest rank's storage, MiB              */
} csc_data;

/* g_j for the columns [0, nl): each product goes to its row's lane, through a mask
 * that keeps it in that lane and puts +0 in the others (which changes nothing), so
 * that random rows cost no branch. The entry of r that the product PF_AHEAD nonzeros
 * later needs is prefetched: the gather r[row] is random access, and without it only
 * the misses that fit in the out-of-order window overlap. Compiled for AVX2 and for
 * the baseline, chosen at load time (the same operations either way: same bits). */
#define PF_AHEAD 32
typedef double v4d __attribute__((vector_size(4 * sizeof(double))));
typedef int64_t v4i __attribute__((vector_size(4 * sizeof(int64_t))));
static const v4i lane_mask[4] = {{-1, 0, 0, 0}, {0, -1, 0, 0}, {0, 0, -1, 0}, {0, 0, 0, -1}};
#define CSC_APPLY_T(NAME, IDX, PF)                                                       \
  __attribute__((target_clones("avx2", "default"))) static void NAME(                    \
      int64_t nl, const int64_t *cp, const IDX *row, const double *val, const double *r, \
      double *g)                                                                         \
  {                                                                                      \
    int64_t last = cp[nl] - 1;                                                           \
    for (int64_t j = 0; j < nl; j++) {                                                   \
      v4d s = {0, 0, 0, 0};                                                              \
      for (int64_t p = cp[j]; p < cp[j + 1]; p++) {                                      \
        if (PF) __builtin_prefetch(r + row[p + PF_AHEAD < last ? p + PF_AHEAD : last]);  \
        IDX i = row[p];                                                                  \
        double t = val[p] * r[i];                                                        \
        v4d tv = {t, t, t, t};                                                           \
        s += (v4d)((v4i)tv & lane_mask[i & 3]);                                          \
      }                                                                                  \
      g[j] = (s[0] + s[1]) + (s[2] + s[3]);                                              \
    }                                                                                    \
  }
CSC_APPLY_T(apply_t32, int32_t, 0)
CSC_APPLY_T(apply_t64, int64_t, 0)
CSC_APPLY_T(apply_t32_pf, int32_t, 1)
CSC_APPLY_T(apply_t64_pf, int64_t, 1)
/* r smaller than this stays in the L2 cache (512 KiB per core on the machines
 * measured) next to the streamed nonzeros: no prefetch, which would only add work. */
#define R_CACHED_BYTES ((int64_t)256 << 10)

static sprec_err csc_apply_T(sprec_op op, const double *r, double *g)
{
  csc_data *d = op->data;
  int pf = op->m * (int64_t)sizeof(double) > R_CACHED_BYTES;
  if (d->r32) (pf ? apply_t32_pf : apply_t32)(op->n_local, d->colptr, d->r32, d->val, r, g);
  else (pf ? apply_t64_pf : apply_t64)(op->n_local, d->colptr, d->r64, d->val, r, g);
  return SPREC_OK;
}

/* g[q] = A_rᵀ r[q] for up to 4 right-hand sides per pass over the nonzeros, each in
 * its own lanes exactly as apply_T sums it (so bit for bit apply_T's result). */
#define CSC_APPLY_T4(NAME, IDX)                                                          \
  __attribute__((target_clones("avx2", "default"))) static void NAME(                    \
      int64_t nl, const int64_t *cp, const IDX *row, const double *val, int nq,          \
      const double *const *r, double *const *g)                                          \
  {                                                                                      \
    for (int64_t j = 0; j < nl; j++) {                                                   \
      v4d s[4] = {{0}};                                                                  \
      for (int64_t p = cp[j]; p < cp[j + 1]; p++) {                                      \
        IDX i = row[p];                                                                  \
        v4i mask = lane_mask[i & 3];                                                     \
        for (int q = 0; q < nq; q++) {                                                   \
          double t = val[p] * r[q][i];                                                   \
          v4d tv = {t, t, t, t};                                                         \
          s[q] += (v4d)((v4i)tv & mask);                                                 \
        }                                                                                \
      }                                                                                  \
      for (int q = 0; q < nq; q++) g[q][j] = (s[q][0] + s[q][1]) + (s[q][2] + s[q][3]);  \
    }                                                                                    \
  }
CSC_APPLY_T4(apply_t4_32, int32_t)
CSC_APPLY_T4(apply_t4_64, int64_t)

static sprec_err csc_apply_T_many(sprec_op op, int nb, const double *const *r, double *const *g)
{
  csc_data *d = op->data;
  for (int q = 0; q < nb; q += 4) {
    int nq = nb - q < 4 ? nb - q : 4;
    if (d->r32) apply_t4_32(op->n_local, d->colptr, d->r32, d->val, nq, r + q, g + q);
    else apply_t4_64(op->n_local, d->colptr, d->r64, d->val, nq, r + q, g + q);
  }
  return SPREC_OK;
}

/* out += v_t a_{jl[t]}, one column after the other, as the dense gemv_n adds them. */
static void scatter(const csc_data *d, int64_t j, double v, double *out)
{
  const double *val = d->val;
  if (d->r32)
    for (int64_t p = d->colptr[j]; p < d->colptr[j + 1]; p++) out[d->r32[p]] += val[p] * v;
  else
    for (int64_t p = d->colptr[j]; p < d->colptr[j + 1]; p++) out[d->r64[p]] += val[p] * v;
}

static sprec_err csc_apply_local(sprec_op op, const double *v, double *out)
{
  for (int64_t j = 0; j < op->n_local; j++) scatter(op->data, j, v[j], out);
  return SPREC_OK;
}

static sprec_err csc_columns(sprec_op op, int64_t nc, const int64_t *jl, double *out)
{
  const csc_data *d = op->data;
  memset(out, 0, (size_t)(nc * op->m) * sizeof *out);
  for (int64_t t = 0; t < nc; t++) {
    double *o = out + t * op->m;
    for (int64_t p = d->colptr[jl[t]]; p < d->colptr[jl[t] + 1]; p++)
      o[d->r32 ? d->r32[p] : d->r64[p]] = d->val[p];
  }
  return SPREC_OK;
}

static void csc_destroy(sprec_op op)
{
  csc_data *d = op->data;
  if (!d) return;
  sprec_free_n(5, d->colptr, d->r32, d->r64, d->val, d);
}

static void csc_describe(sprec_op op, char *buf, size_t len)
{
  const csc_data *d = op->data;
  snprintf(buf, len, "nnz %lld, density %.3g, %s indices, %.4g MiB per rank at most",
           (long long)d->nnz, (double)d->nnz / ((double)op->m * (double)op->n),
           d->r32 ? "int32" : "int64", d->mib_max);
}

/* A pass reads every nonzero (its row index and value) and the column offsets once,
 * and the entries of r it gathers at least once (m doubles, when every row is hit),
 * and writes g; a multiply and an add per nonzero. */
static void csc_cost(sprec_op op, double *bytes, double *flops)
{
  const csc_data *d = op->data;
  double nnz = (double)d->nnz;
  *bytes = nnz * (d->r32 ? 12 : 16) + 16 * (double)op->n + 8 * (double)op->m;
  *flops = 2 * nnz;
}

static const struct sprec_op_ops csc_ops =
    SPREC_OP_TABLE(csc, "csc",
                   .apply_T_many = csc_apply_T_many,
                   .cost = csc_cost);

/* ------------------------------------------------------ canonical form -- */
typedef struct {
  int64_t row, pos;
} row_pos;

static int cmp_row_pos(const void *a, const void *b)
{
  const row_pos *x = a, *y = b;
  if (x->row != y->row) return x->row < y->row ? -1 : 1;
  return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Column j's entries [a, b) sorted by row, stable (the file's order among repeats). */
static sprec_err sort_column(int64_t *row, double *val, int64_t a, int64_t b)
{
  int64_t len = b - a;
  row_pos *rp = NULL;
  double *v = NULL;
  SPREC_CALL(sprec_calloc((size_t)len, sizeof *rp, &rp, "a column's entries"));
  sprec_err err = sprec_calloc((size_t)len, sizeof *v, &v, "a column's entries");
  if (!err) {
    for (int64_t t = 0; t < len; t++) rp[t] = (row_pos){row[a + t], t};
    qsort(rp, (size_t)len, sizeof *rp, cmp_row_pos);
    for (int64_t t = 0; t < len; t++) v[t] = val[a + rp[t].pos];
    for (int64_t t = 0; t < len; t++) row[a + t] = rp[t].row, val[a + t] = v[t];
  }
  free(rp);
  free(v);
  return err;
}

sprec_err sprec_csc_canonical(int64_t nl, int64_t *colptr, int64_t *row, double *val)
{
  int64_t w = 0;
  for (int64_t j = 0; j < nl; j++) {
    int64_t a = colptr[j], b = colptr[j + 1], sorted = 1;
    for (int64_t p = a + 1; p < b && sorted; p++) sorted = row[p] > row[p - 1];
    if (!sorted) SPREC_CALL(sort_column(row, val, a, b));
    colptr[j] = w;
    for (int64_t p = a; p < b; p++) {
      if (p > a && w > colptr[j] && row[w - 1] == row[p]) val[w - 1] += val[p];
      else row[w] = row[p], val[w] = val[p], w++;
    }
  }
  colptr[nl] = w;
  return SPREC_OK;
}

/* ------------------------------------------------------------- creation -- */
/* The entries' checks, in the loop that also hashes them for the fingerprint (*h: this
 * rank's sum). */
static sprec_err check_local(int64_t m, int64_t nl, const int64_t *cp, const int64_t *row,
                             const double *val, int64_t c0, uint64_t *h)
{
  SPREC_CHECK(cp[0] == 0, SPREC_ERR_ARG, "colptr[0] = %lld, must be 0", (long long)cp[0]);
  for (int64_t j = 0; j < nl; j++)
    SPREC_CHECK(cp[j + 1] >= cp[j], SPREC_ERR_ARG, "colptr decreases at column %lld",
                (long long)(c0 + j));
  for (int64_t j = 0; j < nl; j++) {
    uint64_t hj = 0;
    for (int64_t p = cp[j]; p < cp[j + 1]; p++) {
      SPREC_CHECK(row[p] >= 0 && row[p] < m, SPREC_ERR_ARG,
                  "rowind: row index %lld out of range [0, %lld) in column %lld", (long long)row[p],
                  (long long)m, (long long)(c0 + j));
      SPREC_CHECK(isfinite(val[p]), SPREC_ERR_ARG, "val: NaN or Inf at row %lld, column %lld",
                  (long long)row[p], (long long)(c0 + j));
      hj += sprec_fp_entry(row[p], val[p]);
    }
    *h += sprec_fp_combine(c0 + j, hj);
  }
  return SPREC_OK;
}

static sprec_err check_args(sprec_ctx ctx, int64_t m, int64_t n, int index_bits)
{
  SPREC_CALL(sprec_op_check_shape(ctx, m, n));
  SPREC_CHECK(index_bits == 0 || index_bits == 64 || (index_bits == 32 && m <= INT32_MAX),
              SPREC_ERR_ARG, "index_bits %d: 0, 32 (for m < 2^31) or 64", index_bits);
  return SPREC_OK;
}

/* Row indices narrowed to 32 bits (d->r32 for d->r64) unless asked for 64 or m needs
 * them. */
static sprec_err narrow_rows(int64_t m, int index_bits, int64_t nnz, csc_data *d)
{
  if (!(index_bits == 32 || (index_bits == 0 && m <= INT32_MAX))) return SPREC_OK;
  SPREC_CALL(sprec_calloc((size_t)nnz + 1, sizeof *d->r32, &d->r32, "row indices"));
  for (int64_t p = 0; p < nnz; p++) d->r32[p] = (int32_t)d->r64[p];
  free(d->r64);
  d->r64 = NULL;
  return SPREC_OK;
}

/* Collective. For describe: the global nnz and the largest rank's storage. */
static void sum_sizes(sprec_ctx ctx, int64_t nl, csc_data *d)
{
  int64_t nnz = d->colptr[nl];
  double mine[2] = {(double)nnz,
                    ((double)(nl + 1) * 8 + (double)nnz * (d->r32 ? 12 : 16)) / 1048576.0};
  sprec_comm_allreduce(ctx->comm, SPREC_COMM_IO, MPI_IN_PLACE, &mine[0], 1, MPI_DOUBLE, MPI_SUM);
  sprec_comm_allreduce(ctx->comm, SPREC_COMM_IO, MPI_IN_PLACE, &mine[1], 1, MPI_DOUBLE, MPI_MAX);
  d->nnz = (int64_t)mine[0];
  d->mib_max = mine[1];
}

/* Takes colptr, rowind and val: they go into the operator's data at once, so that
 * csc_destroy releases them whatever fails after. */
sprec_err sprec_op_create_csc(sprec_ctx ctx, int64_t m, int64_t n, int64_t *colptr,
                              int64_t *rowind, double *val, int index_bits, sprec_op *out)
{
  struct sprec_op_s o = sprec_op_shape(ctx, m, n, &csc_ops);
  csc_data *d = NULL;
  sprec_err err = sprec_calloc(1, sizeof *d, &d, "operator");
  if (err) {
    free(colptr), free(rowind), free(val);
    return sprec_op_finish(&o, err, out);
  }
  o.data = d;
  d->colptr = colptr, d->r64 = rowind, d->val = val;
  uint64_t h = 0;
  err = check_args(ctx, m, n, index_bits);
  if (!err) err = check_local(m, o.n_local, colptr, rowind, val, o.col_start, &h);
  if (!err) err = sprec_csc_canonical(o.n_local, colptr, rowind, val);
  if (!err) err = narrow_rows(m, index_bits, colptr[o.n_local], d);
  if (!(err = sprec_agree(ctx->comm, err))) sum_sizes(ctx, o.n_local, d);
  SPREC_CALL(sprec_op_finish(&o, err, out));
  if ((err = sprec_op_fp_values(*out, h))) sprec_op_destroy(out);
  return err;
}
