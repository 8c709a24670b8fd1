/* Internal: the file formats (src/fmt) between themselves and towards the layers above
 * (io, and the tests). Bytes in, arrays out: nothing here knows an operator. Not
 * installed. */
#ifndef SPREC_FMT_H
#define SPREC_FMT_H

#include "../core/impl.h"

/* ------------------------------------------------ .npy header (npy_header.c) -- */
/* One parser for every .npy header, a file's (npy.c) or an .npz member's (npz.c), so
 * that both accept the same headers. It checks the syntax and reports what the header
 * says; each caller then checks the dtype, order and shape it can use. Its messages
 * start with the name it is given: the path for a file, "FILE: MEMBER" for a member. */

/* Bytes at the start of a .npy file that hold its magic, version and header length
 * (and, for version 1, the first two bytes of the header text). */
#define SPREC_NPY_PREFIX 12
/* Most dimensions a header's shape may list. */
#define SPREC_NPY_MAX_NDIM 32
/* The first 6 bytes of every .npy file. */
extern const unsigned char sprec_npy_magic[6];

typedef struct {
  char descr[64];    /* the dtype string ("" when not a string: a structured dtype) */
  int descr_is_str;  /* 1 if descr is a string                                    */
  int fortran_order; /* 1 if True                                                  */
  int ndim;          /* 0 to SPREC_NPY_MAX_NDIM                                    */
  int64_t shape[SPREC_NPY_MAX_NDIM]; /* each >= 0                                  */
} sprec_npy_header;

/* pre[0..got) (got <= SPREC_NPY_PREFIX; fewer when the file is shorter) are the first
 * bytes of a .npy file of size bytes: checks the magic, the version (1, 2 or 3) and
 * that the header length is plausible and fits in the file. *hstart: where the header
 * text starts (10 or 12), *hlen: its length. Not collective. */
sprec_err sprec_npy_header_prefix(const char *name, const unsigned char *pre, size_t got,
                                  int64_t size, int64_t *hstart, int64_t *hlen);
/* The header text text[0..len) (exactly that: nothing past it is read): a Python dict
 * literal with the keys 'descr', 'fortran_order' and 'shape', each once, and no other.
 * Strict about everything but what numpy's writers varied in (key order, quotes,
 * spacing, trailing commas, a Python 2 'L' suffix). Not collective. */
sprec_err sprec_npy_header_dict(const char *name, const char *text, int64_t len,
                                sprec_npy_header *h);

/* -------------------------------------- .npy reader and writer (npy_mpiio.c) -- */
/* Elements per collective read or write call on contiguous data. Keeps every MPI
 * count far below INT_MAX and every single transfer below 2 GiB (some MPI-IO layers
 * mishandle larger ones). Overridable at build time to exercise the chunk loops. */
#ifndef SPREC_NPY_CHUNK
#define SPREC_NPY_CHUNK ((int64_t)1 << 26)
#endif
/* Columns [c0, c0 + nc) of an array of cols columns into or out of buf: the range, the
 * buffer and the host's byte order (the data are little-endian and MPI-IO reads them
 * "native"). SPREC_ERR_ARG naming path. Not collective. */
sprec_err sprec_npy_check_block(const char *path, int64_t cols, int64_t c0, int64_t nc,
                                const void *buf);
/* A failed MPI-IO call (return code rc) as "path: what: reason", the reason in the
 * words of strerror where MPI's error class has a POSIX equivalent. SPREC_ERR_IO. */
sprec_err sprec_npy_io_error(int rc, const char *path, const char *what);
/* The number of collective calls every rank makes to move total elements in chunks of
 * chunk (the most any rank needs; 0 when err, on this rank, or the reduction, fails:
 * the error is kept in *err). Collective. */
long long sprec_npy_calls(MPI_Comm comm, int64_t total, int64_t chunk, sprec_err *err);

/* --------------------------------------------- sparse matrices (csc_local.c) -- */
/* What the sparse readers (npz.c, mtx.c) hand over: this rank's columns of the matrix
 * as the file holds them. */
typedef struct {
  int64_t m, n;      /* global shape                                               */
  int64_t c0, nl;    /* this rank's columns [c0, c0 + nl)                           */
  int64_t *colptr;   /* nl + 1 offsets, colptr[0] = 0                               */
  int64_t *row;      /* colptr[nl] row indices, 0 <= row < m, in the file's order
                        within a column (repeats possible)                          */
  double *val;       /* their values, widened to double, not yet checked finite    */
  char format[96];   /* what the file is, for sprec_csc_inspect                     */
} sprec_csc_local;

/* Frees the three arrays and sets them to NULL; accepts a zeroed struct. */
void sprec_csc_local_free(sprec_csc_local *a);

/* Collective on comm (every rank returns the same error; out freed on failure). Each
 * rank reads its own columns' entries, checking the structure (offsets, row range)
 * against the file. */
sprec_err sprec_npz_read(MPI_Comm comm, const char *path, sprec_csc_local *out);
sprec_err sprec_mtx_read(MPI_Comm comm, const char *path, sprec_csc_local *out);

#endif
