/* Restricted least squares: shared state of the two paths. */
#ifndef SPREC_LSQ_H
#define SPREC_LSQ_H

#include "../op/op.h"

#include <float.h>

/* A column whose component orthogonal to the held ones is below this fraction of its
 * norm is dependent to working precision: its coefficient is 0. Kept at rounding level
 * on purpose: a larger threshold would change the least squares (SEA's operator H) on
 * coherent supports, which are exactly the ones SEA explores; nearly dependent
 * supports keep their exact, possibly huge, least-squares coefficients. */
#define SPREC_LSQ_DEPENDENT (64 * DBL_EPSILON)

struct sprec_lsq_s {
  sprec_op A;
  double *y;
  int64_t m, kmax;
  int scalapack;
  int rows;           /* the operator gives row ranges: lsq_rows.c, no m x k arrays */
  /* Replicated path: the support columns in factor order, A_F = Q R. */
  int64_t kf, ndep;   /* columns held; how many of them are dependent (q = 0)     */
  int64_t *fidx;      /* global index of each held column, factor order           */
  double *cols;       /* m x kmax: the held columns                                */
  double *Q;          /* m x kmax: orthonormal basis (zero column if dependent)   */
  double *R;          /* kmax x kmax, upper triangular                             */
  double *qty;        /* Qᵀy                                                       */
  double *work;       /* 2 kmax + m scratch                                        */
  int64_t shape[2];   /* {kf, ndep}, where sprec_lsq_state points the checkpoint   */
};

/* ---------------------------------------------------------- checkpoints --
 * The state a least-squares object carries from one solve to the next, for the
 * checkpoint writer (src/algo/ckpt.c), which never touches the fields above. The
 * replicated path carries its factorization of the held columns (in factor order):
 * "shape" {kf, ndep}, then "fidx" (kf column indices), "Q" (m·kf), "R" (kmax·kf, the
 * first kf columns of R) and "qty" (kf). The held columns themselves are not part
 * of it: they are columns of A, gathered again on restore (exact copies). The
 * ScaLAPACK path factors every support afresh and carries nothing. */
typedef struct {
  const char *name;
  int is_index;  /* int64_t entries (column indices), else double */
  void *p;
  int64_t len;   /* entries                                        */
} sprec_lsq_part;

#define SPREC_LSQ_MAX_PARTS 5

/* Save: the parts of l's state as it is now, "shape" first; returns their number (0:
 * the object carries no state). Pointers into l, valid until its next solve. */
int sprec_lsq_state(sprec_lsq l, sprec_lsq_part part[SPREC_LSQ_MAX_PARTS]);
/* Restore, step 1. shape: the two entries of "shape" read from a checkpoint. Checks
 * them against l (0 <= ndep <= kf <= kmax; {0, 0} for the ScaLAPACK path) and gives
 * the parts that follow "shape" (where each goes, its length), as sprec_lsq_state
 * lists them for that shape; *nparts = 0 when there are none. SPREC_ERR_FORMAT with a
 * message for the caller to complete ("the least-squares state: ...") if the shape
 * does not fit (l unchanged). Filling the parts overwrites l's arrays: l is used
 * again only after step 2. */
sprec_err sprec_lsq_state_expect(sprec_lsq l, const int64_t shape[2],
                                 sprec_lsq_part part[SPREC_LSQ_MAX_PARTS], int *nparts);
/* Restore, step 2, collective: once the parts are filled, checks them (column indices
 * in [0, n) and distinct, values finite, exactly ndep zero diagonals in R), gathers
 * the held columns from A and makes the shape l's state. On failure
 * (SPREC_ERR_FORMAT, the same on every rank) l holds no columns. */
sprec_err sprec_lsq_state_commit(sprec_lsq l, const int64_t shape[2]);

sprec_err sprec_lsq_replicated_solve(sprec_lsq l, int64_t k, const int64_t *S, double *z,
                                     double *r);
sprec_err sprec_lsq_rows_solve(sprec_lsq l, int64_t k, const int64_t *S, double *z, double *r);
sprec_err sprec_lsq_scalapack_solve(sprec_lsq l, int64_t k, const int64_t *S, double *z,
                                    double *r);

#endif
