/* Shared by the greedy and local-search ℓ0 methods: timed top-k of any size, least
 * squares with any solver object, the starting point, OMP steps, and small helpers on
 * sorted index sets. Everything here is either replicated arithmetic (the same on
 * every rank) or one of the exact building blocks, so results do not depend on the
 * number of ranks. */
#include "greedy.h"

#include <math.h>
#include <string.h>

sprec_err sprec_g_topk(sprec_work *w, const double *v, int64_t kk, sprec_sparse *out)
{
  double t0 = MPI_Wtime();
  SPREC_CALL(sprec_topk(w->ctx, w->n, v, kk, w->o.topk, out));
  w->st->t_topk += MPI_Wtime() - t0;
  return SPREC_OK;
}

sprec_err sprec_g_lsq(sprec_work *w, sprec_lsq l, sprec_sparse *x, double *r)
{
  if (x->nnz == 0) {
    if (r) memcpy(r, w->y, (size_t)w->m * sizeof *r);
    return SPREC_OK;
  }
  double t0 = MPI_Wtime();
  SPREC_CALL(sprec_lsq_solve(l, x->nnz, x->idx, x->val, r));
  w->st->t_lsq += MPI_Wtime() - t0;
  return SPREC_OK;
}

sprec_err sprec_g_start(sprec_work *w, sprec_sparse *x, double *r)
{
  x->nnz = 0;
  memcpy(r, w->y, (size_t)w->m * sizeof *r);
  if (!w->init) return SPREC_OK;
  SPREC_CALL(sprec_dense_to_sparse(w->ctx, w->n, w->init, x));
  if (x->nnz > w->o.k) SPREC_CALL(sprec_g_topk(w, w->init, w->o.k, x));
  SPREC_CALL(sprec_g_lsq(w, w->lsq, x, r));
  return SPREC_OK;
}

sprec_err sprec_g_select(sprec_work *w, double *g, const sprec_sparse *S, sprec_sparse *one,
                         int64_t *j, double *gj)
{
  int64_t c0 = w->A->col_start;
  for (int64_t t = 0; t < S->nnz; t++)
    if (S->idx[t] >= c0 && S->idx[t] < c0 + w->nl) g[S->idx[t] - c0] = 0;
  SPREC_CALL(sprec_g_topk(w, g, 1, one));
  *j = one->idx[0];
  *gj = one->val[0];
  return SPREC_OK;
}

/* Collective: make room for cap entries in x, keeping its content. */
static sprec_err ensure_cap(sprec_work *w, sprec_sparse *x, int64_t cap)
{
  sprec_err err = SPREC_OK;
  if (x->cap < cap) {
    sprec_sparse t = {0};
    err = sprec_sparse_init(&t, cap);
    if (!err) {
      memcpy(t.idx, x->idx, (size_t)x->nnz * sizeof *t.idx);
      memcpy(t.val, x->val, (size_t)x->nnz * sizeof *t.val);
      t.nnz = x->nnz;
      sprec_sparse_free(x);
      *x = t;
    } else
      sprec_sparse_free(&t);
  }
  return sprec_agree(w->ctx->comm, err);
}

sprec_err sprec_g_omp_steps(sprec_work *w, sprec_sparse *x, double *r, double *g, int64_t target,
                            int max_it, int *it, double *f, int *why)
{
  sprec_sparse one = {0};
  sprec_err err = SPREC_OK;
  SPREC_CALL(ensure_cap(w, x, target));
  SPREC_CALL(sprec_agree(w->ctx->comm, sprec_sparse_init(&one, 1)));
  *why = SPREC_G_FULL;
  while (x->nnz < target) {
    if (sprec_w_converged(w, *f)) {
      *why = SPREC_G_TOL;
      break;
    }
    if (*it >= max_it) {
      *why = SPREC_G_BUDGET;
      break;
    }
    int64_t j = 0;
    double gj = 0;
    SPREC_TRY(sprec_w_gradient(w, r, g), done);
    SPREC_TRY(sprec_g_select(w, g, x, &one, &j, &gj), done);
    if (gj == 0) { /* r is orthogonal to every column: the global least squares */
      *why = SPREC_G_ZERO;
      break;
    }
    sprec_g_insert(x, j, 0.0);
    SPREC_TRY(sprec_g_lsq(w, w->lsq, x, r), done);
    *f = sprec_w_objective(w, r);
    (*it)++;
    SPREC_TRY(sprec_w_finite(w->o.algo->name, *f, *it, ""), done);
    int stop;
    SPREC_TRY(sprec_w_end_iteration(w, *it, *f, 1, &stop), done);
    if (stop) {
      *why = SPREC_G_STOPPED;
      break;
    }
  }
done:
  sprec_sparse_free(&one);
  return err;
}

/* ------------------------------------------------------- index sets -- */
/* First position t with S.idx[t] >= j. */
static int64_t lower_bound(const sprec_sparse *S, int64_t j)
{
  int64_t lo = 0, hi = S->nnz;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (S->idx[mid] < j) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

int sprec_g_contains(const sprec_sparse *S, int64_t j)
{
  int64_t t = lower_bound(S, j);
  return t < S->nnz && S->idx[t] == j;
}

void sprec_g_insert(sprec_sparse *S, int64_t j, double v)
{
  int64_t t = lower_bound(S, j);
  memmove(S->idx + t + 1, S->idx + t, (size_t)(S->nnz - t) * sizeof *S->idx);
  memmove(S->val + t + 1, S->val + t, (size_t)(S->nnz - t) * sizeof *S->val);
  S->idx[t] = j;
  S->val[t] = v;
  S->nnz++;
}

void sprec_g_remove_at(sprec_sparse *S, int64_t t)
{
  memmove(S->idx + t, S->idx + t + 1, (size_t)(S->nnz - t - 1) * sizeof *S->idx);
  memmove(S->val + t, S->val + t + 1, (size_t)(S->nnz - t - 1) * sizeof *S->val);
  S->nnz--;
}

void sprec_g_union(const sprec_sparse *a, const sprec_sparse *b, sprec_sparse *u)
{
  int64_t i = 0, j = 0, n = 0;
  while (i < a->nnz || j < b->nnz) {
    if (j >= b->nnz || (i < a->nnz && a->idx[i] < b->idx[j])) {
      u->idx[n] = a->idx[i];
      u->val[n++] = a->val[i++];
    } else if (i >= a->nnz || b->idx[j] < a->idx[i]) {
      u->idx[n] = b->idx[j];
      u->val[n++] = b->val[j++];
    } else {
      u->idx[n] = a->idx[i];
      u->val[n++] = a->val[i++];
      j++;
    }
  }
  u->nnz = n;
}

typedef struct {
  double mag;
  int64_t idx;
  double val;
} mag_entry;

static int by_magnitude(const void *pa, const void *pb)
{
  const mag_entry *a = pa, *b = pb;
  if (a->mag != b->mag) return a->mag > b->mag ? -1 : 1;
  return (a->idx > b->idx) - (a->idx < b->idx);
}

static int by_index(const void *pa, const void *pb)
{
  const mag_entry *a = pa, *b = pb;
  return (a->idx > b->idx) - (a->idx < b->idx);
}

sprec_err sprec_g_prune(const sprec_sparse *b, int64_t kk, sprec_sparse *out)
{
  mag_entry *e = NULL;
  SPREC_CALL(sprec_calloc((size_t)b->nnz, sizeof *e, &e, "pruning"));
  for (int64_t t = 0; t < b->nnz; t++) e[t] = (mag_entry){fabs(b->val[t]), b->idx[t], b->val[t]};
  qsort(e, (size_t)b->nnz, sizeof *e, by_magnitude);
  if (kk > b->nnz) kk = b->nnz;
  qsort(e, (size_t)kk, sizeof *e, by_index);
  for (int64_t t = 0; t < kk; t++) {
    out->idx[t] = e[t].idx;
    out->val[t] = e[t].val;
  }
  out->nnz = kk;
  free(e);
  return SPREC_OK;
}

int sprec_g_same_support(const sprec_sparse *a, const sprec_sparse *b)
{
  if (a->nnz != b->nnz) return 0;
  for (int64_t t = 0; t < a->nnz; t++)
    if (a->idx[t] != b->idx[t]) return 0;
  return 1;
}
