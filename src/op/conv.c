/* Convolution operator: the columns are the shifts of a kernel K of len taps ('full'
 * convolution, m = n + len − 1, column j holds K in rows j … j + len − 1). Nothing of
 * size m·n is stored: Aᵀr, the columns and the products come from K on demand.
 *
 * (Aᵀr)_j = Σ_t K_t r_{j+t} is a correlation. Short kernels take it directly over the
 * taps (O(len) per column, t in increasing order for every j); long ones by FFT over
 * fixed global tiles of columns: tile q covers columns [qT, qT + T), T and the FFT
 * length chosen from len alone, and each tile is transformed whole whatever part of
 * it a rank owns. So g_j depends on j's tile only, and every rank count gives the same
 * bits. FFTW plans are made once, with FFTW_ESTIMATE (no timing: the same plan, so the
 * same arithmetic, on every rank and every run). */
#include "op.h"

#include <fftw3.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Columns taken at a time by the direct path: g and the rows they read stay in cache. */
#define CONV_CHUNK 2048

typedef struct {
  int64_t len;         /* taps                                          */
  double *K;           /* the kernel, len                               */
  int fft;             /* 1: the FFT path                               */
  int64_t nfft, tile;  /* FFT path: transform length, columns per tile  */
  double *seg;         /* nfft: a tile's rows of r, then its correlation */
  fftw_complex *spec;  /* nfft/2 + 1: its transform                     */
  fftw_complex *khat;  /* conj(FFT(K zero-padded)) / nfft               */
  fftw_plan fwd, bwd;
} conv_data;

/* g_j for global columns [j0, j0 + nc): over the taps, t outer so that the inner loop
 * runs over j (vectorizable) and each g_j still sums its terms in increasing t. The
 * vector width changes which j share an instruction, never a g_j's operations (no
 * contraction: -ffp-contract=off), so every clone gives the same bits. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void direct_T(const conv_data *d, const double *r, int64_t j0, int64_t nc, double *g)
{
  for (int64_t a = 0; a < nc; a += CONV_CHUNK) {
    int64_t b = a + CONV_CHUNK < nc ? a + CONV_CHUNK : nc;
    for (int64_t j = a; j < b; j++) g[j] = 0;
    for (int64_t t = 0; t < d->len; t++) {
      double kt = d->K[t];
      const double *rt = r + j0 + t;
      for (int64_t j = a; j < b; j++) g[j] += kt * rt[j];
    }
  }
}

/* Correlation of tile q (columns [qT, qT + T)) into d->seg[0..T): the tile's rows
 * r[qT, qT + nfft) (zeros past m), transformed, multiplied by conj(K̂), transformed
 * back. The outputs used never wrap around: j + t < T + len − 1 <= nfft. */
static void fft_tile(conv_data *d, int64_t m, const double *r, int64_t q)
{
  int64_t r0 = q * d->tile, nr = m - r0 < d->nfft ? m - r0 : d->nfft;
  memcpy(d->seg, r + r0, (size_t)nr * sizeof *d->seg);
  for (int64_t i = nr; i < d->nfft; i++) d->seg[i] = 0;
  fftw_execute_dft_r2c(d->fwd, d->seg, d->spec);
  for (int64_t f = 0; f <= d->nfft / 2; f++) {
    double a = d->spec[f][0], b = d->spec[f][1], c = d->khat[f][0], e = d->khat[f][1];
    d->spec[f][0] = a * c - b * e;
    d->spec[f][1] = a * e + b * c;
  }
  fftw_execute_dft_c2r(d->bwd, d->spec, d->seg);
}

static sprec_err conv_apply_T(sprec_op op, const double *r, double *g)
{
  conv_data *d = op->data;
  int64_t c0 = op->col_start, nl = op->n_local;
  if (!d->fft) {
    direct_T(d, r, c0, nl, g);
    return SPREC_OK;
  }
  for (int64_t q = c0 / d->tile; q * d->tile < c0 + nl; q++) {
    int64_t a = q * d->tile > c0 ? q * d->tile : c0;
    int64_t b = (q + 1) * d->tile < c0 + nl ? (q + 1) * d->tile : c0 + nl;
    fft_tile(d, op->m, r, q);
    memcpy(g + (a - c0), d->seg + (a - q * d->tile), (size_t)(b - a) * sizeof *g);
  }
  return SPREC_OK;
}

static sprec_err conv_apply_local(sprec_op op, const double *v, double *out)
{
  conv_data *d = op->data;
  for (int64_t j = 0; j < op->n_local; j++) {
    double *o = out + op->col_start + j, vj = v[j];
    for (int64_t t = 0; t < d->len; t++) o[t] += d->K[t] * vj;
  }
  return SPREC_OK;
}

static sprec_err conv_columns(sprec_op op, int64_t nc, const int64_t *jl, double *out)
{
  conv_data *d = op->data;
  for (int64_t t = 0; t < nc; t++) {
    double *o = out + t * op->m;
    memset(o, 0, (size_t)op->m * sizeof *o);
    memcpy(o + op->col_start + jl[t], d->K, (size_t)d->len * sizeof *o);
  }
  return SPREC_OK;
}

static void conv_row_range(sprec_op op, int64_t jl, int64_t *lo, int64_t *hi)
{
  conv_data *d = op->data;
  *lo = op->col_start + jl;
  *hi = *lo + d->len;
}

static sprec_err conv_column_rows(sprec_op op, int64_t jl, int64_t lo, int64_t hi, double *out)
{
  conv_data *d = op->data;
  int64_t j = op->col_start + jl;
  for (int64_t i = lo; i < hi; i++) out[i - lo] = i >= j && i < j + d->len ? d->K[i - j] : 0.0;
  return SPREC_OK;
}

static void conv_destroy(sprec_op op)
{
  conv_data *d = op->data;
  if (!d) return;
  if (d->fwd) fftw_destroy_plan(d->fwd);
  if (d->bwd) fftw_destroy_plan(d->bwd);
  fftw_free(d->seg);
  fftw_free(d->spec);
  fftw_free(d->khat);
  free(d->K);
  free(d);
}

static void conv_describe(sprec_op op, char *buf, size_t len)
{
  conv_data *d = op->data;
  if (d->fft)
    snprintf(buf, len, "kernel of %lld taps, fft (tiles of %lld columns, length %lld)",
             (long long)d->len, (long long)d->tile, (long long)d->nfft);
  else snprintf(buf, len, "kernel of %lld taps, direct", (long long)d->len);
}

/* A pass reads r and writes g once (8(m + n) bytes). Direct: a multiply and an add
 * per tap and column. FFT: per tile of T columns, a real transform of length N each
 * way (2.5·N·log2 N flops each, the usual count) and the spectrum's product (6 flops
 * per frequency). */
static void conv_cost(sprec_op op, double *bytes, double *flops)
{
  const conv_data *d = op->data;
  double n = (double)op->n;
  *bytes = 8 * ((double)op->m + n);
  if (!d->fft) *flops = 2 * (double)d->len * n;
  else {
    double N = (double)d->nfft, tiles = ceil(n / (double)d->tile);
    *flops = tiles * (5 * N * log2(N) + 6 * (N / 2 + 1));
  }
}

static const struct sprec_op_ops conv_ops =
    SPREC_OP_TABLE(conv, "conv",
                   .cost = conv_cost,
                   .row_range = conv_row_range, .column_rows = conv_column_rows);

/* The FFT path's plans and K̂. The transform length is the power of two >= 8 len: a
 * tile then yields nfft − len + 1 >= 7/8 of its outputs. */
static sprec_err fft_setup(conv_data *d)
{
  int64_t N = 16;
  while (N < 8 * d->len) N *= 2;
  SPREC_CALL(sprec_check_int(N, "FFT length of the convolution"));
  d->nfft = N;
  d->tile = N - d->len + 1;
  d->seg = fftw_alloc_real((size_t)N);
  d->spec = fftw_alloc_complex((size_t)(N / 2 + 1));
  d->khat = fftw_alloc_complex((size_t)(N / 2 + 1));
  SPREC_CHECK(d->seg && d->spec && d->khat, SPREC_ERR_MEM, "out of memory (FFT buffers)");
  d->fwd = fftw_plan_dft_r2c_1d((int)N, d->seg, d->spec, FFTW_ESTIMATE);
  d->bwd = fftw_plan_dft_c2r_1d((int)N, d->spec, d->seg, FFTW_ESTIMATE);
  SPREC_CHECK(d->fwd && d->bwd, SPREC_ERR_MEM, "FFTW could not plan a transform of length %lld",
              (long long)N);
  memset(d->seg, 0, (size_t)N * sizeof *d->seg);
  memcpy(d->seg, d->K, (size_t)d->len * sizeof *d->seg);
  fftw_execute_dft_r2c(d->fwd, d->seg, d->khat);
  for (int64_t f = 0; f <= N / 2; f++) { /* conjugate: a correlation; 1/N: FFTW's scale */
    d->khat[f][0] /= (double)N;
    d->khat[f][1] = -d->khat[f][1] / (double)N;
  }
  return SPREC_OK;
}

static sprec_err check_kernel(sprec_ctx ctx, int64_t n, int64_t len, const double *kernel)
{
  SPREC_CHECK(n > 0 && len > 0, SPREC_ERR_ARG,
              "convolution with %lld columns and a kernel of %lld taps: both must be positive",
              (long long)n, (long long)len);
  SPREC_CALL(sprec_op_check_shape(ctx, n + len - 1, n));
  for (int64_t t = 0; t < len; t++)
    SPREC_CHECK(isfinite(kernel[t]), SPREC_ERR_ARG, "kernel: tap %lld is not finite", (long long)t);
  return SPREC_OK;
}

/* Takes kernel: it becomes d->K at once, so that conv_destroy releases it whatever
 * fails after. */
sprec_err sprec_op_create_conv_path(sprec_ctx ctx, int64_t n, int64_t len, double *kernel,
                                    int path, sprec_op *out)
{
  struct sprec_op_s o = sprec_op_shape(ctx, n + len - 1, n, &conv_ops);
  conv_data *d = NULL;
  sprec_err err = sprec_calloc(1, sizeof *d, &d, "convolution operator");
  if (err) {
    free(kernel);
    return sprec_op_finish(&o, err, out);
  }
  o.data = d;
  d->K = kernel;
  d->len = len;
  d->fft = path == SPREC_CONV_AUTO ? len >= SPREC_CONV_FFT_MIN : path == SPREC_CONV_FFT;
  err = check_kernel(ctx, n, len, kernel);
  if (!err && d->fft) err = fft_setup(d);
  SPREC_CALL(sprec_op_finish(&o, err, out));
  /* The kernel defines the operator (its length is in the shape): the same on every
   * rank, hashed without communication. */
  uint64_t h = 0;
  for (int64_t t = 0; t < len; t++) h += sprec_fp_entry(t, kernel[t]);
  sprec_op_fp_set(*out, "sum:%016llx", (unsigned long long)sprec_fp_combine(0, h));
  return SPREC_OK;
}

sprec_err sprec_op_create_conv(sprec_ctx ctx, int64_t n, int64_t len, double *kernel,
                               sprec_op *out)
{
  return sprec_op_create_conv_path(ctx, n, len, kernel, SPREC_CONV_AUTO, out);
}
