/* A solve's result as JSON (cJSON): the object `sprec solve --out` writes and the
 * service returns, from one function. Numbers are written with 17 significant digits,
 * so that they read back as the same doubles (cJSON's own printing tries 15 digits and
 * keeps them when they read back within an epsilon, not exactly). */
#include "../op/op.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* v exactly (%.17g), or null if not finite. */
static cJSON *exact(double v)
{
  char b[40];
  if (!isfinite(v)) return cJSON_CreateNull();
  snprintf(b, sizeof b, "%.17g", v);
  return cJSON_CreateRaw(b);
}

static void num(cJSON *o, const char *k, double v) { cJSON_AddItemToObject(o, k, exact(v)); }

/* A problem's own fields: at the top level for one problem, in "problems" for a batch. */
static void put_problem(cJSON *j, const sprec_result *r, int p, int batch)
{
  const sprec_stats *st = &r->st[p];
  const sprec_sparse *x = &r->x[p];
  num(j, "iterations", st->iterations);
  num(j, "best_iteration", st->best_iteration);
  cJSON_AddStringToObject(j, "stop_reason", st->stop_reason);
  num(j, "objective", st->objective);
  num(j, "data_fit", st->data_fit);
  if (st->lambda > 0) {
    if (batch) {
      num(j, "lambda", st->lambda);
      num(j, "lambda_max", st->lambda_max);
    }
    num(j, "gap", st->gap);
  }
  if (r->init_algo) {
    cJSON *i = cJSON_AddObjectToObject(j, "init");
    cJSON_AddStringToObject(i, "algo", sprec_algo_name(r->init_algo));
    num(i, "data_fit", r->init_data_fit[p]);
  }
  num(j, "rel_residual", st->rel_residual);
  num(j, "step", st->step);
  cJSON *s = cJSON_AddArrayToObject(j, "support"), *c = cJSON_AddArrayToObject(j, "coef");
  for (int64_t t = 0; t < x->nnz; t++) {
    cJSON_AddItemToArray(s, exact((double)x->idx[t]));
    cJSON_AddItemToArray(c, exact(x->val[t]));
  }
  if (r->truth) {
    cJSON *t = cJSON_AddObjectToObject(j, "truth");
    cJSON_AddBoolToObject(t, "support_recovered", r->truth[3 * p] != 0);
    num(t, "f1", r->truth[3 * p + 1]);
    num(t, "rel_error", r->truth[3 * p + 2]);
  }
}

/* perf.comm: per phase {calls, bytes, hops} as {"max": over ranks, "total": over
 * ranks}, for the solve as a whole; phases with no call left out. */
static void put_comm(cJSON *pf, const sprec_stats *st)
{
  cJSON *c = cJSON_AddObjectToObject(pf, "comm");
  for (int ph = 0; ph < SPREC_COMM_NPHASES; ph++) {
    const sprec_comm_count *mx = &st->comm_max[ph], *tot = &st->comm_sum[ph];
    if (tot->calls == 0 && tot->hops == 0) continue;
    cJSON *e = cJSON_AddObjectToObject(c, sprec_comm_phase_name((sprec_comm_phase)ph));
    const char *what[2] = {"max", "total"};
    for (int i = 0; i < 2; i++) {
      const sprec_comm_count *v = i ? tot : mx;
      cJSON *o = cJSON_AddObjectToObject(e, what[i]);
      num(o, "calls", (double)v->calls);
      num(o, "bytes", (double)v->bytes);
      num(o, "hops", (double)v->hops);
    }
  }
}

char *sprec_result_json(sprec_ctx ctx, const sprec_opts *o, sprec_op A, const sprec_result *r,
                        int p)
{
  int b = p >= 0 ? 1 : r->b, l1 = sprec_algo_class_of(o->algo) == SPREC_ALGO_L1, p0 = p >= 0 ? p : 0;
  const sprec_stats *all = p >= 0 || r->b == 1 ? &r->st[p0] : r->all;
  char grid[32];
  cJSON *j = cJSON_CreateObject();
  if (!j) return NULL;
  snprintf(grid, sizeof grid, "%dx%d", ctx->nprow, ctx->npcol);
  cJSON_AddStringToObject(j, "sprec_version", sprec_version());
  cJSON_AddStringToObject(j, "algo", sprec_algo_name(o->algo));
  num(j, "m", (double)A->m);
  num(j, "n", (double)A->n);
  if (l1) {
    cJSON_AddNullToObject(j, "k");
    if (b == 1) {
      num(j, "lambda", all->lambda);
      num(j, "lambda_max", all->lambda_max);
    } else if (o->lambda > 0) num(j, "lambda", o->lambda);
    else { /* each problem has its own λ */
      cJSON_AddNullToObject(j, "lambda");
      num(j, "lambda_ratio", o->lambda_ratio);
    }
  } else {
    num(j, "k", (double)o->k);
    cJSON_AddNullToObject(j, "lambda");
  }
  cJSON_AddStringToObject(j, "operator", sprec_op_kind(A));
  char what[256];
  sprec_op_describe(A, what, sizeof what);
  if (what[0]) cJSON_AddStringToObject(j, "operator_detail", what);
  cJSON_AddStringToObject(j, "dtype", sprec_op_is_dense_f32(A) ? "float32" : "float64");
  num(j, "ranks", ctx->size);
  cJSON_AddStringToObject(j, "grid", grid);
  if (all->L > 0) num(j, "norm2_estimate", all->L);
  cJSON_AddStringToObject(j, "lsq", r->st[p0].lsq_scalapack ? "scalapack" : "replicated");
  if (b == 1) {
    put_problem(j, r, p0, 0);
    if (all->resumed_iteration >= 0) num(j, "resumed_iteration", all->resumed_iteration);
  } else {
    num(j, "batch", b);
    cJSON *ps = cJSON_AddArrayToObject(j, "problems");
    for (int q = 0; q < b; q++) {
      cJSON *e = cJSON_CreateObject();
      put_problem(e, r, q, 1);
      cJSON_AddItemToArray(ps, e);
    }
  }
  double topk = 0, lsq = 0, comm = 0, setup = 0;
  for (int q = p >= 0 ? p : 0; q < (p >= 0 ? p + 1 : r->b); q++) { /* phases summed over problems */
    topk += r->st[q].t_topk;
    lsq += r->st[q].t_lsq;
    comm += r->st[q].t_comm;
    setup += r->st[q].t_setup;
  }
  cJSON *pf = cJSON_AddObjectToObject(j, "perf");
  cJSON_AddStringToObject(pf, "kernel", sprec_kernel_variant());
  num(pf, "apply_T_passes", (double)all->apply_T_passes);
  num(pf, "apply_T_seconds", all->t_apply_T);
  double bytes, flops; /* of one pass, by the operator's own count */
  sprec_op_pass_cost(A, &bytes, &flops);
  if (bytes > 0)
    num(pf, "apply_T_GBps", all->t_apply_T > 0 ? bytes * (double)all->apply_T_passes /
                                                       all->t_apply_T / 1e9
                                                 : 0.0);
  if (b == 1) num(pf, "iteration_seconds_median", all->iteration_seconds_median);
  else num(pf, "problems_per_second", all->t_total > 0 ? b / all->t_total : 0.0);
  if (r->peak_rss_mib > 0) num(pf, "peak_rss_MiB", r->peak_rss_mib);
  if (p < 0) put_comm(pf, all);
  cJSON *t = cJSON_AddObjectToObject(j, "time");
  num(t, "total", all->t_total + r->t_io);
  num(t, "setup", setup);
  num(t, "io", r->t_io);
  num(t, "apply_T", all->t_apply_T);
  num(t, "topk", topk);
  num(t, "lsq", lsq);
  num(t, "comm", comm);
  char *text = cJSON_Print(j);
  cJSON_Delete(j);
  return text;
}

/* Support recovered (0/1), F1 of the support, ‖x − x*‖/‖x*‖. */
void sprec_truth_metrics(const sprec_sparse *x, const sprec_sparse *t, double out[3])
{
  int64_t a = 0, b = 0, common = 0;
  double e2 = 0, t2 = 0;
  while (a < x->nnz || b < t->nnz) {
    if (b >= t->nnz || (a < x->nnz && x->idx[a] < t->idx[b])) e2 += x->val[a] * x->val[a], a++;
    else if (a >= x->nnz || t->idx[b] < x->idx[a]) e2 += t->val[b] * t->val[b], t2 += t->val[b] * t->val[b], b++;
    else {
      double d = x->val[a] - t->val[b];
      e2 += d * d;
      t2 += t->val[b] * t->val[b];
      common++, a++, b++;
    }
  }
  out[0] = common == x->nnz && common == t->nnz;
  out[1] = x->nnz + t->nnz > 0 ? 2.0 * common / (double)(x->nnz + t->nnz) : 1.0;
  out[2] = t2 > 0 ? sqrt(e2 / t2) : sqrt(e2);
}
