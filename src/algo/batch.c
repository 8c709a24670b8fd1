/* The batch driver (sprec_solver_solve_batch): b problems sharing A run as fibers, in
 * lockstep rounds. In a round the driver resumes every unfinished problem in index
 * order; each runs its algorithm until it needs Aᵀr (it yields, leaving r and where g goes) or ends. Then one pass over A
 * serves all the waiting problems (sprec_op_apply_T_many). Every rank resumes the
 * same problems in the same order, so the collectives inside the algorithms match
 * across ranks; every product is bit for bit the single-vector one, so every
 * problem's result is the one sprec_solver_solve gives for it alone. */
#include "algo.h"

#include <stdio.h>
#include <string.h>

#define SPREC_FIBER_STACK ((size_t)4 << 20)

typedef struct {
  sprec_ctx ctx;
  sprec_opts o;
  sprec_run run;
  sprec_op A;
  const double *y, *init;
  double L;
  sprec_product_hook hook; /* its products: batch_apply_T, with this problem as arg */
  sprec_sparse *x;
  sprec_stats *st;
  sprec_ckprob *ck;     /* its part of the batch's checkpoint, or NULL  */
  sprec_fiber *fiber;
  sprec_err err;
  double t_comm;        /* this problem's share of ctx->t_comm          */
  int waiting, cancel;  /* yielded for a product; the batch is failing  */
  const double *r;      /* the product it waits for: g = A_rᵀ r          */
  double *g;
} batch_problem;

struct sprec_batch {
  batch_problem *p;
  int b;
};

static void problem_main(void *arg)
{
  batch_problem *P = arg;
  P->err = sprec_run_problem(P->ctx, &P->o, &P->run, P->A, P->y, P->init, P->L, &P->hook, P->ck,
                             P->x, P->st);
}

/* Inside a problem's fiber (its product hook): wait for the driver's pass. */
static sprec_err batch_apply_T(void *arg, const double *r, double *g)
{
  batch_problem *P = arg;
  P->r = r;
  P->g = g;
  P->waiting = 1;
  sprec_fiber_yield(P->fiber);
  P->waiting = 0;
  if (P->cancel)
    return SPREC_ERROR(SPREC_ERR_ARG, "stopped: another problem of the batch failed");
  return SPREC_OK;
}

/* Run problem P until it yields or ends, with its own communication timer. */
static void batch_resume(sprec_ctx c, batch_problem *P)
{
  double keep = c->t_comm;
  c->t_comm = P->t_comm;
  sprec_fiber_resume(P->fiber);
  P->t_comm = c->t_comm;
  c->t_comm = keep;
}

/* Unwind every unfinished problem (its pending product fails) and return err with
 * the message, prefixed by the problem it concerns (failed >= 0). */
static sprec_err batch_cancel(sprec_ctx c, struct sprec_batch *B, sprec_err err, int failed)
{
  char msg[1024];
  snprintf(msg, sizeof msg, "%s", sprec_errmsg());
  for (int p = 0; p < B->b; p++)
    if (!sprec_fiber_done(B->p[p].fiber)) {
      B->p[p].cancel = 1;
      batch_resume(c, &B->p[p]);
    }
  if (failed < 0) return sprec_error_set(err, __FILE__, __LINE__, __func__, "%s", msg);
  return sprec_error_set(err, __FILE__, __LINE__, __func__, "problem %d of the batch: %s", failed,
                         msg);
}

/* The rounds, until every problem has finished or one has failed (then every other is
 * unwound and the error names the problem). r, g: room for b products. */
static sprec_err batch_rounds(sprec_solver s, sprec_op A, struct sprec_batch *B,
                              sprec_ckset *set, const double **r, double **g)
{
  sprec_ctx c = s->ctx;
  int b = B->b;
  for (;;) {
    int nw = 0, failed = -1;
    for (int p = 0; p < b; p++) {
      batch_problem *P = &B->p[p];
      if (sprec_fiber_done(P->fiber)) continue;
      batch_resume(c, P);
      if (P->waiting) {
        r[nw] = P->r;
        g[nw++] = P->g;
      } else if (P->err) { /* the same problem fails on every rank */
        failed = p;
        break;
      }
    }
    if (failed >= 0) return batch_cancel(c, B, B->p[failed].err, failed);
    sprec_err err = sprec_ck_flush(set); /* a problem saved its state in this round */
    if (err) return batch_cancel(c, B, err, -1);
    if (nw == 0) return SPREC_OK;
    double t = MPI_Wtime();
    err = sprec_op_apply_T_many(A, nw, r, g);
    if (err) return batch_cancel(c, B, err, -1);
    t = MPI_Wtime() - t;
    s->st.apply_T_passes++;
    s->st.t_apply_T += t;
    for (int p = 0; p < b; p++)
      if (B->p[p].waiting) B->p[p].st->t_apply_T += t / nw;
  }
}

sprec_err sprec_solver_solve_batch(sprec_solver s, sprec_op A, int b, const double *Y,
                                   const double *init, sprec_sparse *x, sprec_stats *st)
{
  sprec_ctx c = s->ctx;
  sprec_algo alg = s->o.algo, ia = s->o.init_algo;
  struct sprec_batch B = {NULL, b};
  const double **r = NULL;
  double **g = NULL, t0 = MPI_Wtime();
  sprec_err err = SPREC_OK;
  sprec_ctx_comm_reset(c); /* the counts cover this batch */
  memset(&s->st, 0, sizeof s->st);
  SPREC_CHECK(b >= 1, SPREC_ERR_ARG, "a batch needs at least one problem (got %d)", b);
  SPREC_CHECK(A->ctx == c, SPREC_ERR_ARG, "operator and solver have different contexts");
  SPREC_CALL(sprec_opts_check(&s->o, A->m, A->n)); /* before any problem starts */
  double L = 0;
  if ((alg->needs_L && (s->o.step == 0 || alg->l1)) ||
      (ia && ia->needs_L && (s->o.step == 0 || ia->l1))) { /* once for all the problems */
    SPREC_CALL(sprec_op_norm2_est(A, &L));
    SPREC_CHECK(L > 0, SPREC_ERR_ARG, "the dictionary is zero: ‖A‖ = 0");
  }
  sprec_ckset *set = NULL; /* one checkpoint file for the whole batch */
  int budget[2];
  sprec_budgets(&s->o, budget);
  SPREC_CALL(sprec_ck_open(c, A, &s->o, &s->run, b, Y, budget, &set));
  err = sprec_calloc((size_t)b, sizeof *B.p, &B.p, "batch");
  if (!err) err = sprec_calloc((size_t)b, sizeof *r, &r, "batch");
  if (!err) err = sprec_calloc((size_t)b, sizeof *g, &g, "batch");
  for (int p = 0; p < b && !err; p++) {
    batch_problem *P = &B.p[p];
    *P = (batch_problem){.ctx = c, .o = s->o, .run = s->run, .A = A,
                         .y = Y + (size_t)p * (size_t)A->m, .L = L, .hook = {batch_apply_T, P},
                         .x = &x[p], .st = &st[p], .ck = sprec_ck_problem(set, p)};
    if (p > 0) P->run.monitor = 0; /* progress of the first problem only */
    if (init) P->init = init + (size_t)p * (size_t)A->n_local;
    err = sprec_fiber_create(problem_main, P, SPREC_FIBER_STACK, &P->fiber);
  }
  SPREC_TRY(sprec_agree(c->comm, err), done);
  err = batch_rounds(s, A, &B, set, r, g);
done:
  sprec_ck_close(&set);
  for (int p = 0; p < b && B.p; p++) sprec_fiber_destroy(&B.p[p].fiber);
  free(B.p);
  free(r);
  free(g);
  s->st.t_total = MPI_Wtime() - t0;
  s->st.L = L;
  sprec_max_times(c, &s->st);
  if (!err) err = sprec_comm_reduce(c, s->st.comm_max, s->st.comm_sum);
  return err;
}
