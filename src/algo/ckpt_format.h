/* The checkpoint file's layout and what its writer (ckpt_write.c), its reader
 * (ckpt_read.c) and the set of a solve (ckpt_set.c) share; the format itself is
 * described in ckpt_format.c. Internal to src/algo. */
#ifndef SPREC_CKPT_FORMAT_H
#define SPREC_CKPT_FORMAT_H

#include "algo.h"
#include "../lsq/lsq.h"

#define CK_MAGIC "SPRECCK2"
#define CK_MAGIC_V1 "SPRECCK1"
#define CK_VERSION 2
#define CK_OPTS 512
#define CK_INDEX 100   /* item kind of an int64 array (a least-squares part)    */
/* sprec_keep.lo of a DBL item: 0 finite; CK_DBL_NONNEG finite and >= 0 (a data fit,
 * an objective, a gap, a step); CK_DBL_LAMBDA >= 0, +∞ allowed (λ: --lambda inf). */
#define CK_DBL_NONNEG 1
#define CK_DBL_LAMBDA 2

/* The most a 64-bit counter of a run (passes over A, support changes) can hold in a
 * checkpoint: 2⁶⁰ passes would take millennia, so a larger value is damage; the cap
 * keeps the sums and increments a resumed run makes (a chain adds its init's passes,
 * each iteration adds to both) far from overflow (INT64_MAX + 1 was taken and then
 * incremented: found by tests/fuzz/fuzz_ckpt.c, UBSan). */
#define CK_COUNT_MAX ((int64_t)1 << 60)

enum { CK_FRESH = 0, CK_STATE = 1, CK_DONE = 2 };

typedef struct {
  char magic[8];
  uint64_t version;
  uint64_t checksum;  /* of the whole file, this word read as 0           */
  uint64_t file_len;  /* bytes                                            */
  uint64_t rep_len;   /* header and problem sections; the vectors follow  */
  uint64_t m, n, fp_A;
  int64_t nprob;
  char algo[16];
  char opts[CK_OPTS];
} ck_header;

typedef struct {
  int64_t status;     /* CK_FRESH, CK_STATE, CK_DONE                      */
  int64_t phase, iteration, budget;
  int64_t flags;      /* CK_DONE: 1 if the run ended by its budget        */
  uint64_t fp_y;
  int64_t nitems, bytes; /* items (a least-squares part counts) and their bytes */
} ck_prob_head;

typedef struct {
  char name[24];
  int64_t kind, len; /* len: entries (DIST: n, the payload is in the vectors) */
} ck_item_head;

/* An item of a resumed file, parsed (pointing into the verified replicated part). */
typedef struct {
  char name[24];
  int64_t kind, len;
  const unsigned char *data;
  int dist; /* DIST: its index among the problem's vectors */
} ck_item;

/* A growing byte buffer. */
typedef struct {
  unsigned char *p;
  size_t len, cap;
  int failed;
} buf;

struct sprec_ckprob {
  sprec_ckset *set;
  int slot;
  /* To write. */
  int status;
  int64_t phase, iteration, budget, flags, nitems;
  buf rep;                            /* the items                              */
  int nd;                             /* distributed vectors                    */
  const double *dsrc[SPREC_MAX_KEEP]; /* what is written (nl entries each)      */
  double *dcopy[SPREC_MAX_KEEP];      /* batches: copies taken at the save      */
  /* A chain's init result (phase 1). */
  int have_chain;
  sprec_sparse xi;
  double init_fit;
  int init_iters;
  int64_t init_passes;
  /* Resumed. */
  int rstatus;
  int64_t rphase, riteration;
  ck_item *items;
  int nitems_r, next, used;
  double **rdist;
  int nrdist;
};

struct sprec_ckset {
  sprec_ctx ctx;
  sprec_op A;
  const char *out, *in;
  int b, chain, every;
  int budget[2];
  uint64_t fp_A;
  uint64_t *fp_y;
  char algo[16], opts[CK_OPTS];
  sprec_ckprob *prob;
  int dirty;
  unsigned char *blob; /* the resumed file's replicated part */
};


/* The stop reasons as a finished problem's item stores them (their index), NULL-ended. */
extern const char *const sprec_ck_reasons[];

/* Σ mix(w_i ⊕ key(i)) over the words of p, the first being word `word0` of the file:
 * the checksum, which splits over ranks (each hashes the words it writes or reads). */
uint64_t sprec_ck_hash(const void *p, size_t len, uint64_t word0);
/* Collective. Fingerprint of A (does not depend on the rank count); of a y (local). */
sprec_err sprec_ck_fingerprint_A(sprec_op A, uint64_t *fp);
uint64_t sprec_ck_fingerprint_y(const double *y, int64_t m);
/* The options that change the course of a run, as text (compared on resume). */
void sprec_ck_options_text(const sprec_opts *o, int64_t k, char *s, size_t len);
/* The items of a chain's init result, and of a finished problem (x and statistics):
 * one list for the writer and the reader. Returns how many (k has room for 20). */
int sprec_ck_chain_keeps(sprec_ckprob *ck, sprec_keep *k);
int sprec_ck_result_keeps(const sprec_ckset *set, sprec_sparse *x, sprec_stats *st, int *reason,
                          sprec_keep *k);
/* SPREC_ERR_IO: "OPT PATH: cannot WHAT[: MPI's reason]". */
sprec_err sprec_ck_io_fail(const char *opt, const char *what, const char *path, int rc);
/* Independent (not collective): len bytes at off written from p (write 1) or read into
 * p, in pieces that fit MPI's int counts (the replicated part holds the least squares'
 * m x k factors, which can pass 2 GiB). MPI_SUCCESS or MPI's error code. */
int sprec_ck_io(MPI_Comm comm, int write, MPI_File fh, MPI_Offset off, void *p, size_t len);
/* Collective (ckpt_read.c): reads, verifies and parses set->in. */
sprec_err sprec_ck_read_file(sprec_ckset *set);

#endif
