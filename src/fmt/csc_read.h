/* The sparse readers (npz.c, mtx.c) and the CSC operator (op/csc.c) between them: each
 * reader hands over this rank's columns of the matrix as the file holds them. */
#ifndef SPREC_CSC_READ_H
#define SPREC_CSC_READ_H

#include "../core/impl.h"

typedef struct {
  int64_t m, n;      /* global shape                                               */
  int64_t c0, nl;    /* this rank's columns [c0, c0 + nl)                           */
  int64_t *colptr;   /* nl + 1 offsets, colptr[0] = 0                               */
  int64_t *row;      /* colptr[nl] row indices, 0 <= row < m, in the file's order
                        within a column (repeats possible)                          */
  double *val;       /* their values, widened to double, not yet checked finite    */
  char format[96];   /* what the file is, for sprec_csc_inspect                     */
} sprec_csc_local;

void sprec_csc_local_free(sprec_csc_local *a);

/* Collective on comm (every rank returns the same error). Each rank reads its own
 * columns' entries, checking the structure (offsets, row range) against the file. */
sprec_err sprec_npz_read(MPI_Comm comm, const char *path, sprec_csc_local *out);
sprec_err sprec_mtx_read(MPI_Comm comm, const char *path, sprec_csc_local *out);

#endif
