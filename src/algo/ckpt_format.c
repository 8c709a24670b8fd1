/* Checkpoints: the state of a run in one file, so that a run stopped by a signal (a
 * preempted or time-limited batch job) continues later, on any number of ranks, and
 * ends bit for bit as it would have without the interruption.
 *
 * An algorithm names the variables that define where it is (sprec_w_keep: pointers,
 * read when a checkpoint is written and filled when one is restored), at a point of
 * its loop where they are consistent: the end of an iteration, after every decision
 * of that iteration. Least-squares objects describe their own state (lsq.h): the
 * replicated path's factorization is updated, not recomputed, from one iteration to
 * the next, so it is part of where the run is.
 *
 * File (format 2), all fields little-endian 8-byte words:
 *   header     magic, version, checksum, file length, length of the replicated part,
 *              m, n, fingerprint of A, number of problems b, algorithm, options
 *   b problem  status (nothing yet / state / result), phase (0: the only algorithm or
 *   sections   a chain's init, 1: a chain's main algorithm), iteration, budget,
 *              fingerprint of y, then items (name, kind, length, payload)
 *   vectors    the distributed vectors of every problem, in global order (n doubles
 *              each): each rank writes and reads its own slice, so a checkpoint of 4
 *              ranks resumes on 1 or on 16
 * Written to a temporary name and renamed: a kill during the write leaves the
 * previous checkpoint intact.
 *
 * Integrity. The checksum is a 64-bit position-keyed hash, Σ_i sprec_mix64(w_i ⊕ key(i)) mod
 * 2⁶⁴ over the file's words w_i (the checksum word read as 0), mix the splitmix64
 * finalizer (a bijection): any change of one word changes exactly one term, so one
 * damaged word (one flipped bit) is always detected, several with probability
 * 1 − 2⁻⁶⁴. Unlike a CRC or FNV over the byte stream, the sum splits over ranks:
 * each rank hashes the slices it writes, and on resume the part of the file it
 * reads; no rank reads the whole file. On resume the checksum is verified first;
 * then every field is checked against the problem (sizes, algorithm, fingerprints of
 * A and y, options, the budget), then each item against what the algorithm keeps
 * (names, kinds, lengths, support indices in [0, n) ascending, counters in range,
 * values finite) before the state is used. */
#include "ckpt_format.h"

#include <stdio.h>
#include <string.h>

const char *const sprec_ck_reasons[] = {"iterations", "tol", "fixed_point", "converged",
                                        "gap", "interrupted", "", NULL};

/* ------------------------------------------------------------- hashing -- */
/* Σ sprec_mix64(w_i ⊕ key(i)) over the words of p, the first being word `word0` of the file. */
uint64_t sprec_ck_hash(const void *p, size_t len, uint64_t word0)
{
  const unsigned char *q = p;
  uint64_t h = 0;
  for (size_t i = 0; i + 8 <= len; i += 8) {
    uint64_t v;
    memcpy(&v, q + i, 8);
    h += sprec_mix64(v ^ sprec_mix64((word0 + i / 8) * 0x9e3779b97f4a7c15ULL + 0x2545f4914f6cdd1dULL));
  }
  return h;
}

/* Fingerprint of A through g = Aᵀu, u_i = sprec_mix64(i) scaled to [−1, 1): a sum of per-entry
 * hashes, which does not depend on how the columns are split over ranks. Made once per
 * operator (every rank keeps it): a resident operator (the service's) checkpoints every
 * long batch, and a pass over A for each would cost a short batch 5-20% more passes. */
sprec_err sprec_ck_fingerprint_A(sprec_op A, uint64_t *fp)
{
  if (A->ck_fp_made) {
    *fp = A->ck_fp;
    return SPREC_OK;
  }
  double *u = NULL, *g = NULL;
  sprec_err err = sprec_calloc((size_t)A->m, sizeof *u, &u, "checkpoint fingerprint");
  if (!err) err = sprec_calloc((size_t)A->n_local + 1, sizeof *g, &g, "checkpoint fingerprint");
  uint64_t h = 0;
  if (!err) {
    for (int64_t i = 0; i < A->m; i++) u[i] = (double)(sprec_mix64((uint64_t)i + 1) >> 11) * 0x1p-52 - 1.0;
    err = sprec_op_apply_T(A, u, g);
    for (int64_t j = 0; j < A->n_local && !err; j++)
      h += sprec_mix64(sprec_bits64(g[j]) ^ sprec_mix64((uint64_t)(A->col_start + j)));
  }
  free(u);
  free(g);
  SPREC_CALL(sprec_agree(A->ctx->comm, err));
  SPREC_MPI(sprec_comm_allreduce(A->ctx->comm, SPREC_COMM_CHECKPOINT, MPI_IN_PLACE, &h, 1, MPI_UINT64_T, MPI_SUM));
  *fp = A->ck_fp = h;
  A->ck_fp_made = 1;
  return SPREC_OK;
}

uint64_t sprec_ck_fingerprint_y(const double *y, int64_t m)
{
  uint64_t h = 0;
  for (int64_t i = 0; i < m; i++) h += sprec_mix64(sprec_bits64(y[i]) ^ sprec_mix64((uint64_t)i));
  return h;
}

/* The options that change the course of a run, as text (compared on resume). Not the
 * budget: a run may be resumed with a larger iters, and goes on as far as an
 * uninterrupted run with that budget. Nor the top-k method: both give the same sets. */
void sprec_ck_options_text(const sprec_opts *o, int64_t k, char *s, size_t len)
{
  static const char *const lsq[] = {"auto", "scalapack", "replicated"};
  static const char *const rule[] = {"default", "fixed", "adaptive"};
  snprintf(s, len,
           "algo=%s init=%s k=%lld tol=%.17g step=%.17g step-rule=%s lambda=%.17g "
           "lambda-ratio=%.17g continuation=%d restart=%d debias=%d lsq=%s",
           o->algo->name, o->init_algo ? o->init_algo->name : "none", (long long)k, o->tol, o->step,
           rule[(unsigned)o->step_rule % 3], o->lambda, o->lambda_ratio, o->continuation,
           o->restart, o->debias, lsq[(unsigned)o->lsq % 3]);
}

/* The items of a chain's init result (before the main algorithm's, in phase 1). */
int sprec_ck_chain_keeps(sprec_ckprob *ck, sprec_keep *k)
{
  k[0] = (sprec_keep){"init.x", SPREC_KEEP_SPARSE, &ck->xi, 0, 0, 0};
  k[1] = (sprec_keep){"init.data_fit", SPREC_KEEP_DBL, &ck->init_fit, 1, CK_DBL_NONNEG, 0};
  k[2] = (sprec_keep){"init.iterations", SPREC_KEEP_INT, &ck->init_iters, 1, 0,
                      ck->set->budget[0]}; /* the init's budget */
  k[3] = (sprec_keep){"init.passes", SPREC_KEEP_I64, &ck->init_passes, 1, 0, INT64_MAX};
  return 4;
}

/* The items of a finished problem: its x and statistics (times aside). Its iterations
 * are those of its section (at most the budget), the best one among them; a chain's
 * init ran at most the init's budget, and there is no init without a chain. */
int sprec_ck_result_keeps(const sprec_ckset *set, sprec_sparse *x, sprec_stats *st, int *reason,
                        sprec_keep *k)
{
  int n = 0;
  k[n++] = (sprec_keep){"x", SPREC_KEEP_SPARSE, x, 0, 0, 0};
  k[n++] = (sprec_keep){"iterations", SPREC_KEEP_INT, &st->iterations, 1, SPREC_ITER, SPREC_ITER};
  k[n++] = (sprec_keep){"best_iteration", SPREC_KEEP_INT, &st->best_iteration, 1, 0, SPREC_ITER};
  k[n++] = (sprec_keep){"stop_reason", SPREC_KEEP_INT, reason, 1, 0, 6};
  double *d[] = {&st->objective, &st->data_fit, &st->lambda, &st->lambda_max, &st->gap,
                 &st->rel_residual, &st->step, &st->L, &st->init_data_fit};
  static const char *const dn[] = {"objective", "data_fit", "lambda", "lambda_max", "gap",
                                   "rel_residual", "step", "L", "init.data_fit"};
  for (int i = 0; i < 9; i++)
    k[n++] = (sprec_keep){dn[i], SPREC_KEEP_DBL, d[i], 1, i == 2 ? CK_DBL_LAMBDA : CK_DBL_NONNEG, 0};
  k[n++] = (sprec_keep){"lsq_scalapack", SPREC_KEEP_INT, &st->lsq_scalapack, 1, 0, 1};
  k[n++] = (sprec_keep){"init.iterations", SPREC_KEEP_INT, &st->init_iterations, 1, 0,
                        set->chain ? set->budget[0] : 0};
  k[n++] = (sprec_keep){"passes", SPREC_KEEP_I64, &st->apply_T_passes, 1, 0, INT64_MAX};
  return n;
}

/* --------------------------------------------------------------- files -- */
sprec_err sprec_ck_io_fail(const char *opt, const char *what, const char *path, int rc)
{
  char msg[MPI_MAX_ERROR_STRING] = "";
  int len = 0;
  if (rc != MPI_SUCCESS) MPI_Error_string(rc, msg, &len);
  return SPREC_ERROR(SPREC_ERR_IO, "%s %s: cannot %s%s%s", opt, path, what, len ? ": " : "", msg);
}

int sprec_ck_io(MPI_Comm comm, int write, MPI_File fh, MPI_Offset off, void *p, size_t len)
{
  const size_t piece = (size_t)1 << 30;
  for (size_t at = 0; at < len; at += piece) {
    int n = (int)(len - at < piece ? len - at : piece), got = 0, rc;
    MPI_Status st;
    char *q = (char *)p + at;
    rc = write ? sprec_comm_write_at(comm, SPREC_COMM_CHECKPOINT, fh, off + (MPI_Offset)at, q, n, MPI_BYTE, &st)
               : sprec_comm_read_at(comm, SPREC_COMM_CHECKPOINT, fh, off + (MPI_Offset)at, q, n, MPI_BYTE, &st);
    if (rc != MPI_SUCCESS) return rc;
    MPI_Get_count(&st, MPI_BYTE, &got);
    if (got != n) return MPI_ERR_IO;
  }
  return MPI_SUCCESS;
}
