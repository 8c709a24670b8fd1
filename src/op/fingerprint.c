/* An operator's fingerprint: one line of text that tells whether two operators hold
 * the same dictionary, so that what was stored against one (a service's queued
 * requests) is never solved against another. "KIND DTYPE MxN WHAT":
 *   - a generated dictionary: its parameters, exactly ("gaussian seed=5",
 *     "deconv width=0.02", "seed=5" for the fast transform): nothing to hash;
 *   - stored values (dense, CSC) or a kernel: "sum:" and a 64-bit hash of the values.
 * The loaders hash the values in the loop that checks them finite, as they are read,
 * and the sparse and convolution constructors in the loop that checks their input,
 * so that no operator needs a pass of its own; only a dense operator built from a
 * caller's block is hashed when it is first asked for (sprec_op_fingerprint).
 *
 * The hash of stored values is Σ_j sprec_mix64(h_j ⊕ sprec_mix64(j + 1)) mod 2⁶⁴ over the global
 * columns j, h_j a hash of column j alone: a sum, so each rank adds its own columns
 * and one reduction gives the same value for any number of ranks (as the checkpoints'
 * fingerprint of A does, ckpt_format.c). A dense column is hashed in four lanes of
 * h ← (h ⊕ w)·P (w the bits of an entry as a double, P odd): each step is injective
 * in w and bijective in h, so any one changed entry always changes h_j; a sparse
 * column as Σ sprec_mix64(w ⊕ sprec_mix64(row)) over its entries, as given. */
#include "op.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define FP_P 0x100000001b3ULL /* FNV's 64-bit prime: odd, so multiplying is a bijection */
#define EXP_MASK 0x7ff0000000000000ULL

/* The four lanes folded, each through the bijective mix: a change of one lane changes
 * the result. */
static uint64_t fold(const uint64_t h[4], int64_t m)
{
  return sprec_mix64(h[0] ^ sprec_mix64(h[1] ^ sprec_mix64(h[2] ^ sprec_mix64(h[3] ^ (uint64_t)m))));
}

uint64_t sprec_fp_column(int64_t m, const double *a, int *finite)
{
  uint64_t h[4] = {1, 2, 3, 4}, inf = 0;
  int64_t i = 0;
  for (; i + 4 <= m; i += 4)
    for (int l = 0; l < 4; l++) {
      uint64_t w = sprec_bits64(a[i + l]);
      inf |= (uint64_t)((w & EXP_MASK) == EXP_MASK);
      h[l] = (h[l] ^ w) * FP_P;
    }
  for (; i < m; i++) {
    uint64_t w = sprec_bits64(a[i]);
    inf |= (uint64_t)((w & EXP_MASK) == EXP_MASK);
    h[i & 3] = (h[i & 3] ^ w) * FP_P;
  }
  *finite = !inf;
  return fold(h, m);
}

uint64_t sprec_fp_column_f32(int64_t m, const float *a)
{
  uint64_t h[4] = {1, 2, 3, 4};
  int64_t i = 0;
  for (; i + 4 <= m; i += 4)
    for (int l = 0; l < 4; l++) h[l] = (h[l] ^ sprec_bits64((double)a[i + l])) * FP_P;
  for (; i < m; i++) h[i & 3] = (h[i & 3] ^ sprec_bits64((double)a[i])) * FP_P;
  return fold(h, m);
}

uint64_t sprec_fp_entry(int64_t row, double v) { return sprec_mix64(sprec_bits64(v) ^ sprec_mix64((uint64_t)row + 0x51ED)); }

uint64_t sprec_fp_combine(int64_t j, uint64_t h) { return sprec_mix64(h ^ sprec_mix64((uint64_t)j + 1)); }

void sprec_op_fp_set(sprec_op op, const char *fmt, ...)
{
  int n = snprintf(op->fp, sizeof op->fp, "%s %s %lldx%lld ", op->ops->kind,
                   op->dtype == SPREC_FLOAT32 ? "float32" : "float64", (long long)op->m,
                   (long long)op->n);
  va_list ap;
  va_start(ap, fmt);
  if (n > 0 && (size_t)n < sizeof op->fp) vsnprintf(op->fp + n, sizeof op->fp - (size_t)n, fmt, ap);
  va_end(ap);
}

sprec_err sprec_op_fp_values(sprec_op op, uint64_t local)
{
  SPREC_MPI(sprec_comm_allreduce(op->ctx->comm, SPREC_COMM_CHECKPOINT, MPI_IN_PLACE, &local, 1,
                                 MPI_UINT64_T, MPI_SUM));
  sprec_op_fp_set(op, "sum:%016llx", (unsigned long long)local);
  return SPREC_OK;
}

sprec_err sprec_op_fingerprint(sprec_op op, char *buf, size_t len)
{
  SPREC_CHECK(op && buf && len > 0, SPREC_ERR_ARG, "fingerprint: no operator or no buffer");
  if (!op->fp[0]) {
    /* Only a dense operator made from a caller's block comes here: every other
     * constructor, loader and generator records its fingerprint as it is made. */
    const void *blk = sprec_op_local_block(op);
    SPREC_CHECK(blk, SPREC_ERR_ARG, "fingerprint: the %s operator recorded none", op->ops->kind);
    uint64_t h = 0;
    int finite;
    for (int64_t j = 0; j < op->n_local; j++)
      h += sprec_fp_combine(op->col_start + j,
                            op->dtype == SPREC_FLOAT32
                                ? sprec_fp_column_f32(op->m, (const float *)blk + j * op->m)
                                : sprec_fp_column(op->m, (const double *)blk + j * op->m, &finite));
    SPREC_CALL(sprec_op_fp_values(op, h));
  }
  SPREC_CHECK(strlen(op->fp) < len, SPREC_ERR_ARG, "fingerprint: needs %zu bytes (got %zu)",
              strlen(op->fp) + 1, len);
  memcpy(buf, op->fp, strlen(op->fp) + 1);
  return SPREC_OK;
}
