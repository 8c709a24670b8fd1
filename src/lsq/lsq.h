/* Restricted least squares: shared state of the two paths. */
#ifndef SPREC_LSQ_H
#define SPREC_LSQ_H

#include "../core/impl.h"

struct sprec_lsq_s {
  sprec_op A;
  double *y;
  int64_t m, kmax;
  int scalapack;
  /* Replicated path: the support columns in factor order, A_F = Q R. */
  int64_t kf, ndep;   /* columns held; how many of them are dependent (q = 0)     */
  int64_t *fidx;      /* global index of each held column, factor order           */
  double *cols;       /* m x kmax: the held columns                                */
  double *Q;          /* m x kmax: orthonormal basis (zero column if dependent)   */
  double *R;          /* kmax x kmax, upper triangular                             */
  double *qty;        /* Qᵀy                                                       */
  double *work;       /* 2 kmax + m scratch                                        */
};

sprec_err sprec_lsq_replicated_solve(sprec_lsq l, int64_t k, const int64_t *S, double *z,
                                     double *r);
sprec_err sprec_lsq_scalapack_solve(sprec_lsq l, int64_t k, const int64_t *S, double *z,
                                    double *r);

#endif
