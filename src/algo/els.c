/* Exhaustive Local Search (Axiotis & Sviridenko, "Local search algorithms for sparse
 * optimization"; the baseline of the SEA paper).
 *
 * From a k-sparse x with least-squares coefficients, every single swap (i ∈ S out,
 * j ∉ S in) is evaluated exactly and the one that lowers F = ½‖Ax − y‖² the most is
 * made; stop when no swap lowers it (stop "fixed_point"). Start: x = 0 filled to k
 * atoms by OMP steps (they count as iterations), or --init's support (filled the
 * same way if it has fewer than k entries).
 *
 * Exact swap values without k least squares per candidate. With A_S = QR (Q: m×k
 * orthonormal) and u_i = Q c_i, c_i = R⁻ᵀe_i/‖R⁻ᵀe_i‖, the unit vector of span(S)
 * orthogonal to S − i, P_{S−i} = P_S − u_i u_iᵀ, so with β_i = u_iᵀy, b_j = Qᵀa_j,
 * d_ij = c_iᵀb_j and g_j = a_jᵀr (r = y − A x):
 *   r_{−i} = r + β_i u_i,   a_jᵀ r_{−i} = g_j + β_i d_ij,
 *   ‖P⊥_{S−i} a_j‖² = ‖a_j‖² − ‖b_j‖² + d_ij²,
 *   F(S − i + j) = F(S) + ½β_i² − ½(g_j + β_i d_ij)² / ‖P⊥_{S−i} a_j‖²,
 * the exact decrease of the least squares on S − i + j. One sweep over the local
 * columns (in chunks: a_j fetched once, k + 1 dot products with r and Q's columns,
 * O(k²) for all i) scores every (i, j); each column keeps its best i, a collective
 * top-1 picks the best j (ties: smaller j, then smaller i). Candidates j whose
 * ‖P⊥_{S−i} a_j‖² <= 1e-10‖a_j‖² (numerically in span(S − i)) are skipped. A swap is
 * taken only if its predicted decrease exceeds 1e-12·F, and kept only if the least
 * squares on the new support really lowers F (rounding on ill-conditioned supports
 * could mislead the prediction); otherwise the previous iterate is restored and the
 * run stops at its fixed point. If S holds columns numerically dependent on the
 * others (zero diagonal in R), only those are candidates to leave: removing one costs
 * nothing, and the gain of j is ½g_j²/‖P⊥_S a_j‖².
 *
 * Per swap: k + 1 products with A's columns (counted in apply_T_passes, although A
 * is read once), the gathering of the k support columns and their QR (CGS2, plain
 * loops: the same numbers on every rank), and an update of w->lsq (one column out,
 * one in). The objective decreases strictly; the last iterate is returned. */
#include "greedy.h"

#include <float.h>
#include <math.h>
#include <string.h>

#define ELS_DEP_TOL (64 * DBL_EPSILON)   /* as the replicated least squares           */
#define ELS_DEN_TOL 1e-10                /* ‖P⊥ a_j‖² below this ·‖a_j‖²: skipped       */
#define ELS_GAIN_TOL 1e-12               /* predicted decrease must exceed this · F    */

typedef struct {
  int64_t k, m;
  double *cols, *Q, *R, *C, *beta, *qy; /* m·k, m·k, k·k, k·k (rows c_i), k, k */
  int *dep, *cand;                       /* k, k                                  */
  int ncand;
} els_basis;

/* Q R = A_S by CGS2 in plain loops (deterministic); the candidates i and their c_i,
 * β_i. */
static void els_factor(els_basis *b, const double *y)
{
  int64_t m = b->m, k = b->k;
  int ndep = 0;
  memset(b->R, 0, (size_t)(k * k) * sizeof *b->R);
  for (int64_t t = 0; t < k; t++) {
    double *q = b->Q + t * m, *a = b->cols + t * m;
    memcpy(q, a, (size_t)m * sizeof *q);
    for (int pass = 0; pass < 2; pass++)
      for (int64_t s = 0; s < t; s++) {
        const double *qs = b->Q + s * m;
        double c = sprec_dot(m, qs, q);
        for (int64_t i = 0; i < m; i++) q[i] -= c * qs[i];
        b->R[s + t * k] += c;
      }
    double anrm = sqrt(sprec_nrm2sq(m, a)), rho = sqrt(sprec_nrm2sq(m, q));
    b->dep[t] = rho == 0 || rho <= ELS_DEP_TOL * anrm;
    if (b->dep[t]) {
      memset(q, 0, (size_t)m * sizeof *q);
      ndep++;
    } else {
      for (int64_t i = 0; i < m; i++) q[i] /= rho;
      b->R[t + t * k] = rho;
    }
  }
  for (int64_t t = 0; t < k; t++) b->qy[t] = sprec_dot(m, b->Q + t * m, y);
  memset(b->C, 0, (size_t)(k * k) * sizeof *b->C);
  b->ncand = 0;
  if (ndep > 0) { /* only dependent columns may leave; c_i = 0, β_i = 0 */
    for (int64_t t = 0; t < k; t++)
      if (b->dep[t]) b->cand[b->ncand++] = (int)t, b->beta[t] = 0;
    return;
  }
  /* Row i of R⁻¹ is R⁻ᵀe_i: solve R z = e_col column by column (back substitution),
   * storing z_i in C[i][col]. */
  for (int64_t col = 0; col < k; col++)
    for (int64_t i = col; i >= 0; i--) {
      double s = i == col ? 1.0 : 0.0;
      for (int64_t l = i + 1; l <= col; l++) s -= b->R[i + l * k] * b->C[l * k + col];
      b->C[i * k + col] = s / b->R[i + i * k];
    }
  for (int64_t i = 0; i < k; i++) {
    double *c = b->C + i * k, nrm = sqrt(sprec_nrm2sq(k, c)), be = 0;
    for (int64_t t = 0; t < k; t++) c[t] /= nrm;
    for (int64_t t = 0; t < k; t++) be += c[t] * b->qy[t];
    b->beta[i] = be;
    b->cand[b->ncand++] = (int)i;
  }
}

/* For every local column j ∉ S: v[j] = the best decrease over i (0 if none), vi[j] =
 * that i. ch: m·nc, bt: k·nc, gc: nc scratch. */
static sprec_err els_score(sprec_work *w, const els_basis *b, const sprec_sparse *S,
                           const double *r, int64_t nc, double *ch, double *bt, double *gc,
                           double *v, double *vi)
{
  sprec_op A = w->A;
  int64_t m = w->m, k = b->k, nl = w->nl, c0 = A->col_start, s = 0;
  int64_t *jl = NULL;
  SPREC_CALL(sprec_calloc((size_t)nc, sizeof *jl, &jl, "column list"));
  sprec_err err = SPREC_OK;
  for (int64_t j0 = 0; j0 < nl; j0 += nc) {
    int64_t cnt = nl - j0 < nc ? nl - j0 : nc;
    for (int64_t c = 0; c < cnt; c++) jl[c] = j0 + c;
    SPREC_TRY(A->ops->columns(A, cnt, jl, ch), done);
    sprec_kernel_gemv_t(m, cnt, ch, m, r, gc);
    for (int64_t t = 0; t < k; t++)
      if (b->dep[t]) memset(bt + t * cnt, 0, (size_t)cnt * sizeof *bt);
      else sprec_kernel_gemv_t(m, cnt, ch, m, b->Q + t * m, bt + t * cnt);
    for (int64_t c = 0; c < cnt; c++) {
      int64_t jg = c0 + j0 + c;
      double best = 0, bi = 0;
      while (s < S->nnz && S->idx[s] < jg) s++;
      v[j0 + c] = 0;
      vi[j0 + c] = 0;
      if (s < S->nnz && S->idx[s] == jg) continue;
      double na = sprec_nrm2sq(m, ch + c * m), bb = 0;
      if (!(na > 0)) continue;
      for (int64_t t = 0; t < k; t++) bb += bt[t * cnt + c] * bt[t * cnt + c];
      double p = na - bb, gj = gc[c];
      for (int q = 0; q < b->ncand; q++) {
        int i = b->cand[q];
        const double *ci = b->C + (int64_t)i * k;
        double d = 0;
        for (int64_t t = 0; t < k; t++) d += ci[t] * bt[t * cnt + c];
        double den = p + d * d, num = gj + b->beta[i] * d;
        if (!(den > ELS_DEN_TOL * na)) continue;
        double D = 0.5 * (num * num / den - b->beta[i] * b->beta[i]);
        if (D > best) best = D, bi = i;
      }
      v[j0 + c] = best;
      vi[j0 + c] = bi;
    }
  }
done:
  free(jl);
  return err;
}

static sprec_err basis_alloc(els_basis *b)
{
  int64_t k = b->k, m = b->m;
  sprec_err err = sprec_calloc((size_t)(m * k), sizeof *b->cols, &b->cols, "support columns");
  if (!err) err = sprec_calloc((size_t)(m * k), sizeof *b->Q, &b->Q, "Q factor");
  if (!err) err = sprec_calloc((size_t)(k * k), sizeof *b->R, &b->R, "R factor");
  if (!err) err = sprec_calloc((size_t)(k * k), sizeof *b->C, &b->C, "swap directions");
  if (!err) err = sprec_calloc((size_t)k, sizeof *b->beta, &b->beta, "removal gains");
  if (!err) err = sprec_calloc((size_t)k, sizeof *b->qy, &b->qy, "Q'y");
  if (!err) err = sprec_calloc((size_t)k, sizeof *b->dep, &b->dep, "dependent columns");
  if (!err) err = sprec_calloc((size_t)k, sizeof *b->cand, &b->cand, "candidates");
  return err;
}

static void basis_free(els_basis *b)
{
  sprec_free_n(8, b->cols, b->Q, b->R, b->C, b->beta, b->qy, b->dep, b->cand);
}

/* Collective. The support's columns gathered and factored (timed as least squares),
 * then every swap scored in passes over A (timed as products, k + 1 of them): g, vi
 * as els_score gives them. */
static sprec_err score_swaps(sprec_work *w, els_basis *b, const sprec_sparse *x,
                             const double *r, int64_t nc, double *ch, double *bt, double *gc,
                             double *g, double *vi)
{
  double t0 = MPI_Wtime();
  SPREC_CALL(sprec_op_gather_columns(w->A, b->k, x->idx, b->cols));
  els_factor(b, w->y);
  double t1 = MPI_Wtime();
  w->st->t_lsq += t1 - t0;
  sprec_err err = els_score(w, b, x, r, nc, ch, bt, gc, g, vi);
  SPREC_CALL(sprec_agree(w->ctx->comm, err));
  w->st->t_apply_T += MPI_Wtime() - t1;
  w->st->apply_T_passes += b->k + 1;
  return SPREC_OK;
}

/* The best swap: position ipos of x leaves, column jin enters, x re-fitted (r, *f). If
 * the objective does not decrease (the prediction was misled by rounding) the previous
 * x and r come back (xs, rs: scratch) and *fixed = 1. */
static sprec_err swap(sprec_work *w, int64_t ipos, int64_t jin, int it, sprec_sparse *x,
                      double *r, sprec_sparse *xs, double *rs, double *f, int *fixed)
{
  int64_t m = w->m;
  SPREC_CALL(sprec_sparse_copy(xs, x));
  memcpy(rs, r, (size_t)m * sizeof *r);
  sprec_g_remove_at(x, ipos);
  sprec_g_insert(x, jin, 0.0);
  SPREC_CALL(sprec_w_lsq(w, x, r));
  double fn = sprec_w_objective(w, r);
  SPREC_CALL(sprec_w_finite("ELS", fn, it, ""));
  if (!(fn < *f)) {
    SPREC_CALL(sprec_sparse_copy(x, xs));
    memcpy(r, rs, (size_t)m * sizeof *r);
    *fixed = 1;
  } else
    *f = fn;
  return SPREC_OK;
}

sprec_err sprec_els(sprec_work *w, sprec_sparse *x)
{
  int64_t k = w->o.k, m = w->m, nl = w->nl;
  int64_t nc = ((int64_t)1 << 20) / m; /* chunk: about 8 MB of columns */
  if (nc < 4) nc = 4;
  if (nc > 1024) nc = 1024;
  if (nc > nl) nc = nl;
  double *g = NULL, *vi = NULL, *r = NULL, *rs = NULL, *ch = NULL, *bt = NULL, *gc = NULL;
  els_basis b = {k, m, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0};
  sprec_sparse xs = {0}, one = {0};
  sprec_err err = sprec_calloc((size_t)nl, sizeof *g, &g, "gradient");
  if (!err) err = sprec_calloc((size_t)nl, sizeof *vi, &vi, "swap partners");
  if (!err) err = sprec_calloc((size_t)m, sizeof *r, &r, "residual");
  if (!err) err = sprec_calloc((size_t)m, sizeof *rs, &rs, "residual");
  if (!err) err = sprec_calloc((size_t)(m * nc), sizeof *ch, &ch, "column chunk");
  if (!err) err = sprec_calloc((size_t)(k * nc), sizeof *bt, &bt, "projections");
  if (!err) err = sprec_calloc((size_t)nc, sizeof *gc, &gc, "correlations");
  if (!err) err = basis_alloc(&b);
  if (!err) err = sprec_sparse_init(&xs, k);
  if (!err) err = sprec_sparse_init(&one, 1);
  SPREC_TRY(sprec_agree(w->ctx->comm, err), done);

  SPREC_TRY(sprec_g_start(w, x, r), done);
  double f = sprec_w_objective(w, r);
  int it = 0, best_it = 0, why = SPREC_G_FULL, phase = 0, fixed = 0, stop = 0, resumed;
  strcpy(w->st->stop_reason, "iterations");
  /* The state at the end of an iteration. phase 0: filling, 1: swapping; fixed: the
   * swaps ended there. */
  sprec_w_keep_iterate(w, x, k, &r, &f);
  sprec_w_keep_int(w, "best_it", &best_it, 0, SPREC_ITER);
  sprec_w_keep_int(w, "it", &it, SPREC_ITER, SPREC_ITER);
  sprec_w_keep_int(w, "why", &why, SPREC_G_FULL, SPREC_G_STOPPED);
  sprec_w_keep_int(w, "phase", &phase, 0, 1);
  sprec_w_keep_int(w, "fixed", &fixed, 0, 1);
  sprec_w_keep_passes(w);
  SPREC_TRY(sprec_w_restore(w, &resumed), done);
  if (!resumed) sprec_w_progress(w, 0, f, 0);
  if (phase == 0) {
    if (x->nnz < k) SPREC_TRY(sprec_g_omp_steps(w, x, r, g, k, w->o.iters, &it, &f, &why), done);
    stop = why == SPREC_G_STOPPED;
    best_it = it;
    phase = 1;
  }
  if (why == SPREC_G_ZERO) strcpy(w->st->stop_reason, "converged");

  while (why == SPREC_G_FULL && !fixed && it < w->o.iters && !sprec_w_converged(w, f)) {
    SPREC_TRY(score_swaps(w, &b, x, r, nc, ch, bt, gc, g, vi), done);
    SPREC_TRY(sprec_g_topk(w, g, 1, &one), done);
    it++;
    double gain = one.val[0], ipos;
    int64_t changes = 0;
    if (!(gain > ELS_GAIN_TOL * f)) {
      fixed = 1;
    } else {
      SPREC_TRY(sprec_w_values_at(w, vi, &one, &ipos), done);
      SPREC_TRY(swap(w, (int64_t)ipos, one.idx[0], it, x, r, &xs, rs, &f, &fixed), done);
      if (!fixed) best_it = it, changes = 2;
    }
    SPREC_TRY(sprec_w_end_iteration(w, it, f, changes, &stop), done);
    if (stop) break;
  }
  if (fixed && !stop) strcpy(w->st->stop_reason, "fixed_point");
  sprec_w_finish(w, it, best_it, f, f);
done:
  sprec_free_n(7, g, vi, r, rs, ch, bt, gc);
  basis_free(&b);
  sprec_sparse_free(&xs);
  sprec_sparse_free(&one);
  return err;
}
