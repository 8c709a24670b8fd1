/* The fast Walsh–Hadamard transform of length n = 2^L distributed over the ranks of a
 * communicator (fwht.c). Internal: the hadamard operator (src/op/hadamard.c) and the
 * tests use it.
 *
 * An index i of [0, n) is split as i = hi·n2 + lo, n1 = 2^⌊L/2⌋ values of hi, n2 =
 * 2^⌈L/2⌉ of lo. Three layouts of an n-vector are used:
 *   block:  the columns' layout, rank r owns [c_r, c_r + n_r) (sprec_block_*);
 *   column: rank r owns the lo of [l_r, l_r + nlo_r) (block-distributed over n2) for
 *           every hi, stored [hi][lo − l_r] (n1 rows of nlo_r);
 *   row:    rank r owns the hi of [h_r, h_r + nh_r) (block-distributed over n1), each
 *           a contiguous row of n2: the global range [h_r·n2, (h_r + nh_r)·n2), which
 *           is the block layout exactly when p divides n1 ("aligned").
 * The transform H (unnormalized: entries ±1) is made of L butterfly stages
 * (a, b) → (a + b, a − b), one per bit of i; the stages over bits of hi are local in
 * the column layout, those over bits of lo local in the row layout, and one exchange
 * (a transpose, by point-to-point messages) goes between them. Every butterfly is the
 * same operation on the same operands whatever the layouts' boundaries, and the stage
 * order is fixed by n alone, so the result is bit for bit the same for any number of
 * ranks: that of the serial transform in the same stage order.
 */
#ifndef SPREC_FWHT_H
#define SPREC_FWHT_H

#include "../core/impl.h"

typedef struct sprec_fwht_s sprec_fwht;

/* Collective. The plan for length n (a power of two, n >= 1) on comm: layouts, the
 * column-layout buffer for the other ranks' rows ((n1 − nh_r)·nlo_r doubles, about
 * (1 − 1/p)·n_r: this rank's own rows go straight to the row layout), the row-layout
 * buffer when not aligned (nh_r·n2), a tile (n1·8) and the exchange's datatypes.
 * comm is not duplicated: the caller's. */
sprec_err sprec_fwht_create(MPI_Comm comm, int64_t n, sprec_fwht **f);
void sprec_fwht_destroy(sprec_fwht **f);

/* Not collective. log2 n2 (the bits of lo), this rank's column-layout range of lo
 * [*l0, *l0 + *nlo) and its row-layout range of global indices [*start, *start + *len).
 * Bytes held by the plan on this rank. */
int sprec_fwht_lo_bits(int64_t n);
void sprec_fwht_columns(const sprec_fwht *f, int64_t *l0, int64_t *nlo);
void sprec_fwht_rows(const sprec_fwht *f, int64_t *start, int64_t *len);
double sprec_fwht_bytes(const sprec_fwht *f);

/* Collective. out (block layout, n_r) = s·Δ·H x, for the x whose nonzeros are given
 * by this rank in its column-layout range (cnt entries x[hi[t]·n2 + lo[t]] = val[t],
 * lo[t] global and nondecreasing; every other entry 0); Δ = diag(±1): bit k & 7 of
 * neg[k >> 3], k = i − start (row-layout range), set where Δ_ii = −1. Stages: the bits of hi
 * ascending, then those of lo ascending. */
sprec_err sprec_fwht_forward(sprec_fwht *f, int64_t cnt, const int64_t *lo, const int64_t *hi,
                             const double *val, double s, const unsigned char *neg, double *out);
/* Collective. val[t] = (H Δ v)[hi[t]·n2 + lo[t]] for v in the block layout (n_r
 * entries), for this rank's entries (in its column-layout range, lo nondecreasing).
 * Stages: the bits of lo ascending, then those of hi ascending. Allocates a row-layout
 * buffer for the call (the power iteration's path, not the solvers'). */
sprec_err sprec_fwht_pick(sprec_fwht *f, const double *v, const unsigned char *neg, int64_t cnt,
                          const int64_t *lo, const int64_t *hi, double *val);

#endif
