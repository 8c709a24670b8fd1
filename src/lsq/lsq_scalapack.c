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

sprec_err sprec_lsq_scalapack_solve(sprec_lsq l, int64_t k, const int64_t *S, double *z, double *r)
{
  sprec_op A = l->A;
  sprec_ctx c = A->ctx;
  int p = c->size, pr = c->nprow, pc = c->npcol;
  int m = (int)l->m, ki = (int)k, zero = 0, one = 1, mb = MB, nb = NB, info = 0;
  sprec_err err = SPREC_OK;
  double *Al = NULL, *Bl = NULL, *sbuf = NULL, *rbuf = NULL, *work = NULL;
  int *scnt = NULL, *sdsp = NULL, *rcnt = NULL, *rdsp = NULL, *mloc = NULL;

  int myml = numroc_(&m, &mb, &c->myrow, &zero, &pr);
  int mykl = numroc_(&ki, &nb, &c->mycol, &zero, &pc);
  int lld = myml > 1 ? myml : 1;
  int descA[9], descB[9];
  descinit_(descA, &m, &ki, &mb, &nb, &zero, &zero, &c->blacs_ctx, &lld, &info);
  if (!info) descinit_(descB, &m, &one, &mb, &nb, &zero, &zero, &c->blacs_ctx, &lld, &info);
  SPREC_CHECK(info == 0, SPREC_ERR_LAPACK, "descinit failed (info %d)", info);

  /* Allocation can fail on some ranks only: agree before the first collective. */
  err = sprec_calloc((size_t)lld * (mykl > 0 ? mykl : 1), sizeof *Al, &Al, "block-cyclic A_S");
  if (!err) err = sprec_calloc((size_t)lld, sizeof *Bl, &Bl, "block-cyclic y");
  if (!err) err = sprec_calloc((size_t)p, sizeof(int), &scnt, "counts");
  if (!err) err = sprec_calloc((size_t)p, sizeof(int), &sdsp, "counts");
  if (!err) err = sprec_calloc((size_t)p, sizeof(int), &rcnt, "counts");
  if (!err) err = sprec_calloc((size_t)p, sizeof(int), &rdsp, "counts");
  if (!err) err = sprec_calloc((size_t)pr, sizeof(int), &mloc, "counts");
  SPREC_TRY(sprec_agree(c->comm, err), done);
  for (int q = 0; q < pr; q++) mloc[q] = numroc_(&m, &mb, &q, &zero, &pr);

  /* Counts: support position t (global column S[t]) goes to process column
   * (t / NB) % pc; the owner sends each process row its rows. */
  int64_t lo = 0, hi = 0, nsend = 0;
  while (lo < k && S[lo] < A->col_start) lo++;
  for (hi = lo; hi < k && S[hi] < A->col_start + A->n_local; hi++) {
    int q = (int)((hi / NB) % pc);
    for (int rr = 0; rr < pr; rr++) scnt[Cblacs_pnum(c->blacs_ctx, rr, q)] += mloc[rr];
  }
  for (int64_t t = 0; t < k; t++)
    if ((int)((t / NB) % pc) == c->mycol) rcnt[sprec_block_owner(A->n, p, S[t])] += myml;
  int64_t nrecv = 0;
  for (int q = 0; q < p; q++) {
    sdsp[q] = (int)nsend;
    rdsp[q] = (int)nrecv;
    nsend += scnt[q];
    nrecv += rcnt[q];
  }
  err = sprec_check_int(nsend, "ScaLAPACK send buffer");
  if (!err) err = sprec_check_int(nrecv, "ScaLAPACK receive buffer");
  if (!err) err = sprec_calloc((size_t)nsend + 1, sizeof *sbuf, &sbuf, "send buffer");
  if (!err) err = sprec_calloc((size_t)nrecv + 1, sizeof *rbuf, &rbuf, "receive buffer");
  if (!err) err = sprec_calloc((size_t)m, sizeof *work, &work, "a column");
  /* Pack: destinations in rank order, within each, our columns in support order,
   * rows in increasing local order of the destination process row. */
  {
    int64_t *cur = NULL;
    if (!err) err = sprec_calloc((size_t)p, sizeof *cur, &cur, "cursors");
    for (int q = 0; !err && q < p; q++) cur[q] = sdsp[q];
    for (int64_t t = lo; !err && t < hi; t++) {
      int64_t jl = S[t] - A->col_start;
      err = A->ops->columns(A, 1, &jl, work);
      if (err) break;
      int q = (int)((t / NB) % pc);
      for (int rr = 0; rr < pr; rr++) {
        int dst = Cblacs_pnum(c->blacs_ctx, rr, q);
        for (int64_t li = 0; li < mloc[rr]; li++) sbuf[cur[dst]++] = work[grow(li, rr, pr)];
      }
    }
    free(cur);
  }
  SPREC_TRY(sprec_agree(c->comm, err), done);
  int rc;
  SPREC_TIMED(c->t_comm, rc = MPI_Alltoallv(sbuf, scnt, sdsp, MPI_DOUBLE, rbuf, rcnt, rdsp,
                                            MPI_DOUBLE, c->comm));
  SPREC_TRY(rc ? SPREC_ERROR(SPREC_ERR_MPI, "moving support columns to the grid failed") : SPREC_OK,
            done);
  /* Unpack: sources in rank order; from each, its support positions of our process
   * column in order, our rows in order. Local column of position t: block-cyclic. */
  {
    int64_t pos = 0;
    for (int q = 0; q < p; q++)
      for (int64_t t = 0; t < k; t++) {
        if ((int)((t / NB) % pc) != c->mycol || sprec_block_owner(A->n, p, S[t]) != q) continue;
        int64_t lc = (t / (NB * pc)) * NB + t % NB;
        memcpy(Al + lc * lld, rbuf + pos, (size_t)myml * sizeof(double));
        pos += myml;
      }
  }
  if (c->mycol == 0)
    for (int64_t li = 0; li < myml; li++) Bl[li] = l->y[grow(li, c->myrow, pr)];

  double wq;
  int lwork = -1;
  pdgels_("N", &m, &ki, &one, Al, &one, &one, descA, Bl, &one, &one, descB, &wq, &lwork, &info, 1);
  lwork = (int)wq + 1;
  free(work);
  work = NULL;
  SPREC_TRY(sprec_agree(c->comm, sprec_calloc((size_t)lwork, sizeof *work, &work, "pdgels workspace")), done);
  pdgels_("N", &m, &ki, &one, Al, &one, &one, descA, Bl, &one, &one, descB, work, &lwork, &info, 1);
  if (info != 0) err = SPREC_ERROR(SPREC_ERR_LAPACK, "pdgels failed (info %d)", info);
  SPREC_TRY(sprec_agree(c->comm, err), done);

  memset(z, 0, (size_t)k * sizeof *z);
  if (c->mycol == 0)
    for (int64_t li = 0; li < myml; li++) {
      int64_t i = grow(li, c->myrow, pr);
      if (i < k) z[i] = Bl[li];
    }
  SPREC_TRY(MPI_Allreduce(MPI_IN_PLACE, z, ki, MPI_DOUBLE, MPI_SUM, c->comm)
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
  free(sbuf);
  free(rbuf);
  free(work);
  free(scnt);
  free(sdsp);
  free(rcnt);
  free(rdsp);
  free(mloc);
  return err;
}
