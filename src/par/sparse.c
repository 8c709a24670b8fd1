/* Conversions between block-distributed dense vectors and replicated sparse ones. */
#include "../core/impl.h"

sprec_err sprec_dense_to_sparse(sprec_ctx c, int64_t n, const double *v, sprec_sparse *x)
{
  int64_t nl = sprec_block_size(n, c->size, c->rank), c0 = sprec_block_start(n, c->size, c->rank);
  int64_t nz = 0;
  for (int64_t j = 0; j < nl; j++) nz += v[j] != 0;
  int *cnt = NULL, *dsp = NULL;
  int64_t *li = NULL;
  double *lv = NULL;
  sprec_err err = sprec_calloc((size_t)c->size, sizeof(int), &cnt, "counts");
  if (!err) err = sprec_calloc((size_t)c->size, sizeof(int), &dsp, "counts");
  if (!err) err = sprec_calloc((size_t)nz, sizeof *li, &li, "nonzeros");
  if (!err) err = sprec_calloc((size_t)nz, sizeof *lv, &lv, "nonzeros");
  SPREC_TRY(sprec_agree(c->comm, err), done);
  for (int64_t j = 0, t = 0; j < nl; j++)
    if (v[j] != 0) {
      li[t] = c0 + j;
      lv[t++] = v[j];
    }
  int mine = (int)nz;
  SPREC_TRY(sprec_comm_allgather(c->comm, SPREC_COMM_GATHER, &mine, 1, MPI_INT, cnt, 1, MPI_INT)
                ? SPREC_ERROR(SPREC_ERR_MPI, "gathering nonzero counts failed")
                : SPREC_OK,
            done);
  int64_t tot = 0;
  for (int r = 0; r < c->size; r++) {
    dsp[r] = (int)tot;
    tot += cnt[r];
    if (tot > 2147483647) break;
  }
  SPREC_TRY(sprec_check_int(tot, "number of nonzeros"), done);
  if (x->cap < tot) {
    sprec_sparse_free(x);
    SPREC_TRY(sprec_sparse_init(x, tot), done);
  }
  sprec_comm_allgatherv(c->comm, SPREC_COMM_GATHER, li, mine, MPI_INT64_T, x->idx, cnt, dsp, MPI_INT64_T);
  sprec_comm_allgatherv(c->comm, SPREC_COMM_GATHER, lv, mine, MPI_DOUBLE, x->val, cnt, dsp, MPI_DOUBLE);
  x->nnz = tot;
done:
  free(cnt);
  free(dsp);
  free(li);
  free(lv);
  return err;
}
