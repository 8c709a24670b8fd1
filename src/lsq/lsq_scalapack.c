/* ScaLAPACK restricted least squares: the support columns move from their owners
 * straight into a 2-D block-cyclic m x k matrix on the context's BLACS grid (one
 * Alltoallv, no intermediate copy), y is laid out locally (it is replicated), and
 * pdgels solves by QR. The k coefficients end in process column 0 and are shared
 * with one Allreduce (a single contributor per entry, so the sum is exact). */
#include "lsq.h"

#include <math.h>
#include <string.h>

extern int numroc_(const int *n, const int *nb, const int *iproc, const int *isrc, const int *np);
extern void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb,
                      const int *irsrc, const int *icsrc, const int *ictxt, const int *lld,
                      int *info);
extern void pdgels_(const char *trans, const int *m, const int *n, const int *nrhs, double *a,
                    const int *ia, const int *ja, const int *desca, double *b, const int *ib,
                    const int *jb, const int *descb, double *work, const int *lwork, int *info,
                    size_t trans_len);
extern int Cblacs_pnum(int ctx, int prow, int pcol);

enum { MB = 64, NB = 32 }; /* row and column block sizes */

/* Global row of local row li in process row pr. */
static int64_t grow(int64_t li, int pr, int nprow)
{
  return (li / MB) * MB * nprow + pr * MB + li % MB;
}

/* Where the support columns go: this rank owns support positions [lo, hi); it sends
 * scnt[q] doubles to rank q (at sdsp[q]) and receives rcnt[q] from it (at rdsp[q]).
 * mloc[rr]: the rows of process row rr. */
typedef struct {
  int *scnt, *sdsp, *rcnt, *rdsp, *mloc;
  int64_t lo, hi, nsend, nrecv;
} move_plan;

static void plan_free(move_plan *pl) { free(pl->scnt); /* the block of all five */ }

/* Counts: support position t (global column S[t]) goes to process column
 * (t / NB) % pc; the owner sends each process row its rows. */
static sprec_err plan_move(sprec_op A, int64_t k, const int64_t *S, int m, int myml,
                           move_plan *pl)
{
  sprec_ctx c = A->ctx;
  int p = c->size, pr = c->nprow, pc = c->npcol, zero = 0, mb = MB;
  /* Allocation can fail on some ranks only: agree before the first collective. */
  SPREC_CALL(sprec_agree(c->comm, sprec_calloc((size_t)(4 * p + pr), sizeof(int), &pl->scnt,
                                               "counts")));
  pl->sdsp = pl->scnt + p;
  pl->rcnt = pl->sdsp + p;
  pl->rdsp = pl->rcnt + p;
  pl->mloc = pl->rdsp + p;
  for (int q = 0; q < pr; q++) pl->mloc[q] = numroc_(&m, &mb, &q, &zero, &pr);
  int64_t lo = 0, hi;
  while (lo < k && S[lo] < A->col_start) lo++;
  for (hi = lo; hi < k && S[hi] < A->col_start + A->n_local; hi++) {
    int q = (int)((hi / NB) % pc);
    for (int rr = 0; rr < pr; rr++) pl->scnt[Cblacs_pnum(c->blacs_ctx, rr, q)] += pl->mloc[rr];
  }
  for (int64_t t = 0; t < k; t++)
    if ((int)((t / NB) % pc) == c->mycol) pl->rcnt[sprec_block_owner(A->n, p, S[t])] += myml;
  pl->lo = lo;
  pl->hi = hi;
  pl->nsend = pl->nrecv = 0;
  for (int q = 0; q < p; q++) {
    pl->sdsp[q] = (int)pl->nsend;
    pl->rdsp[q] = (int)pl->nrecv;
    pl->nsend += pl->scnt[q];
    pl->nrecv += pl->rcnt[q];
  }
  return SPREC_OK;
}

/* Pack: destinations in rank order, within each, our columns in support order, rows in
 * increasing local order of the destination process row. work: room for a column. */
static sprec_err pack(sprec_op A, const int64_t *S, const move_plan *pl, double *work,
                      double *sbuf)
{
  sprec_ctx c = A->ctx;
  int p = c->size, pr = c->nprow, pc = c->npcol;
  int64_t *cur = NULL;
  SPREC_CALL(sprec_calloc((size_t)p, sizeof *cur, &cur, "cursors"));
  for (int q = 0; q < p; q++) cur[q] = pl->sdsp[q];
  sprec_err err = SPREC_OK;
  for (int64_t t = pl->lo; !err && t < pl->hi; t++) {
    int64_t jl = S[t] - A->col_start;
    err = A->ops->columns(A, 1, &jl, work);
    if (err) break;
    int q = (int)((t / NB) % pc);
    for (int rr = 0; rr < pr; rr++) {
      int dst = Cblacs_pnum(c->blacs_ctx, rr, q);
      for (int64_t li = 0; li < pl->mloc[rr]; li++) sbuf[cur[dst]++] = work[grow(li, rr, pr)];
    }
  }
  free(cur);
  return err;
}

/* Unpack: sources in rank order; from each, its support positions of our process
 * column in order, our rows in order. Local column of position t: block-cyclic. */
static void unpack(sprec_op A, int64_t k, const int64_t *S, int myml, int lld,
                   const double *rbuf, double *Al)
{
  sprec_ctx c = A->ctx;
  int p = c->size, pc = c->npcol;
  int64_t pos = 0;
  for (int q = 0; q < p; q++)
    for (int64_t t = 0; t < k; t++) {
      if ((int)((t / NB) % pc) != c->mycol || sprec_block_owner(A->n, p, S[t]) != q) continue;
      int64_t lc = (t / (NB * pc)) * NB + t % NB;
      memcpy(Al + lc * lld, rbuf + pos, (size_t)myml * sizeof(double));
      pos += myml;
    }
}

/* Collective. The support columns from their owners straight into the block-cyclic
 * m x k matrix Al (local rows myml, leading dimension lld): one Alltoallv. */
static sprec_err move_columns(sprec_op A, int64_t k, const int64_t *S, int m, int myml,
                              int lld, double *Al)
{
  sprec_ctx c = A->ctx;
  move_plan pl = {0};
  double *sbuf = NULL, *rbuf = NULL, *work = NULL;
  sprec_err err;
  SPREC_TRY(plan_move(A, k, S, m, myml, &pl), done);
  err = sprec_check_int(pl.nsend, "ScaLAPACK send buffer");
  if (!err) err = sprec_check_int(pl.nrecv, "ScaLAPACK receive buffer");
  if (!err) err = sprec_calloc((size_t)pl.nsend + 1, sizeof *sbuf, &sbuf, "send buffer");
  if (!err) err = sprec_calloc((size_t)pl.nrecv + 1, sizeof *rbuf, &rbuf, "receive buffer");
  if (!err) err = sprec_calloc((size_t)m, sizeof *work, &work, "a column");
  if (!err) err = pack(A, S, &pl, work, sbuf);
  SPREC_TRY(sprec_agree(c->comm, err), done);
  int rc;
  rc = sprec_comm_alltoallv(c->comm, SPREC_COMM_LSQ, sbuf, pl.scnt, pl.sdsp, MPI_DOUBLE, rbuf,
                            pl.rcnt, pl.rdsp, MPI_DOUBLE);
  SPREC_TRY(rc ? SPREC_ERROR(SPREC_ERR_MPI, "moving support columns to the grid failed") : SPREC_OK,
            done);
  unpack(A, k, S, myml, lld, rbuf, Al);
done:
  plan_free(&pl);
  free(sbuf);
  free(rbuf);
  free(work);
  return err;
}

/* Collective. pdgels on the grid: the solution in the first k entries of B. */
static sprec_err grid_solve(sprec_ctx c, int m, int ki, double *Al, int *descA, double *Bl,
                            int *descB)
{
  double wq, *work = NULL;
  int lwork = -1, one = 1, info = 0;
  pdgels_("N", &m, &ki, &one, Al, &one, &one, descA, Bl, &one, &one, descB, &wq, &lwork, &info, 1);
  lwork = (int)wq + 1;
  SPREC_CALL(sprec_agree(c->comm, sprec_calloc((size_t)lwork, sizeof *work, &work, "pdgels workspace")));
  pdgels_("N", &m, &ki, &one, Al, &one, &one, descA, Bl, &one, &one, descB, work, &lwork, &info, 1);
  free(work);
  return sprec_agree(c->comm, info != 0 ? SPREC_ERROR(SPREC_ERR_LAPACK, "pdgels failed (info %d)", info)
                                        : SPREC_OK);
}

sprec_err sprec_lsq_scalapack_solve(sprec_lsq l, int64_t k, const int64_t *S, double *z, double *r)
{
  sprec_op A = l->A;
  sprec_ctx c = A->ctx;
  int pr = c->nprow, pc = c->npcol;
  int m = (int)l->m, ki = (int)k, zero = 0, one = 1, mb = MB, nb = NB, info = 0;
  sprec_err err = SPREC_OK;
  double *Al = NULL, *Bl = NULL;

  int myml = numroc_(&m, &mb, &c->myrow, &zero, &pr);
  int mykl = numroc_(&ki, &nb, &c->mycol, &zero, &pc);
  int lld = myml > 1 ? myml : 1;
  int descA[9], descB[9];
  descinit_(descA, &m, &ki, &mb, &nb, &zero, &zero, &c->blacs_ctx, &lld, &info);
  if (!info) descinit_(descB, &m, &one, &mb, &nb, &zero, &zero, &c->blacs_ctx, &lld, &info);
  SPREC_CHECK(info == 0, SPREC_ERR_LAPACK, "descinit failed (info %d)", info);
  err = sprec_calloc((size_t)lld * (mykl > 0 ? mykl : 1), sizeof *Al, &Al, "block-cyclic A_S");
  if (!err) err = sprec_calloc((size_t)lld, sizeof *Bl, &Bl, "block-cyclic y");
  SPREC_TRY(sprec_agree(c->comm, err), done);
  SPREC_TRY(move_columns(A, k, S, m, myml, lld, Al), done);
  if (c->mycol == 0)
    for (int64_t li = 0; li < myml; li++) Bl[li] = l->y[grow(li, c->myrow, pr)];
  SPREC_TRY(grid_solve(c, m, ki, Al, descA, Bl, descB), done);

  /* The k coefficients are in process column 0: shared with one Allreduce (a single
   * contributor per entry, so the sum is exact). */
  memset(z, 0, (size_t)k * sizeof *z);
  if (c->mycol == 0)
    for (int64_t li = 0; li < myml; li++) {
      int64_t i = grow(li, c->myrow, pr);
      if (i < k) z[i] = Bl[li];
    }
  SPREC_TRY(sprec_comm_allreduce(c->comm, SPREC_COMM_LSQ, MPI_IN_PLACE, z, ki, MPI_DOUBLE, MPI_SUM)
                ? SPREC_ERROR(SPREC_ERR_MPI, "sharing the coefficients failed")
                : SPREC_OK,
            done);
  for (int64_t t = 0; t < k; t++)
    if (!isfinite(z[t])) {
      err = SPREC_ERROR(SPREC_ERR_NUMERIC, "least squares on the support gave non-finite values "
                                           "(dependent columns?)");
      goto done;
    }
  if (r) {
    sprec_sparse x = {k, k, (int64_t *)S, z};
    SPREC_TRY(sprec_op_apply_sparse(A, &x, r), done);
    for (int i = 0; i < m; i++) r[i] = l->y[i] - r[i];
  }
done:
  free(Al);
  free(Bl);
  return err;
}
