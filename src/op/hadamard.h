/* Internal: what the generator and the tests need of the hadamard operator
 * (hadamard.c) beyond the operator table. */
#ifndef SPREC_HADAMARD_H
#define SPREC_HADAMARD_H

#include "op.h"

/* 1 if op is sprec_op_create_hadamard's. */
int sprec_op_is_hadamard(sprec_op op);
/* Not collective. Global column j (any j of [0, n), not only this rank's), m entries:
 * d_j·(−1)^popcount(R_i & j)/√m. */
void sprec_hadamard_column(sprec_op op, int64_t j, double *a);
/* Not collective. The m sampled rows R (sorted), owned by the operator. */
const int64_t *sprec_hadamard_rows(sprec_op op);
/* Not collective. d_j = ±1, from (seed, j) alone. */
double sprec_hadamard_sign(uint64_t seed, int64_t j);

#endif
