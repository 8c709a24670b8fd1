/* Checkpoints, with real ranks and real files. For every registered algorithm, on a
 * Gaussian and a deconvolution problem where the run takes several iterations: the
 * uninterrupted run on the world communicator; the same run stopped at an
 * intermediate iteration (opts.stop_flag raised from the monitor) with its checkpoint
 * written on the world; the checkpoint resumed on the first q ranks (q = P − 1, a
 * different rank count): the uninterrupted result bit for bit (support, values,
 * objective, gap, iterations, best iteration, stop reason). Then periodic checkpoints
 * of a run with a smaller budget, written on q ranks and resumed on the world with the
 * full budget. The same for chains (opts.init_algo) stopped inside the init algorithm
 * and inside the main one, for continuation stages, and for a batch of 4 problems.
 *
 * Integrity: a small checkpoint with one bit flipped (several hundred positions over
 * the header, the items and the distributed vectors), truncated at several lengths,
 * or with an out-of-range support index (or another invalid field) written into an
 * otherwise valid file whose checksum the test recomputes, is refused with
 * SPREC_ERR_FORMAT and a message "resume FILE: ..."; a batch's finished problem, its
 * result resumed as it was and each of its statistics checked; messages that quote the
 * file's text stay printable; and the budget rule.
 *
 * The test knows the file format (src/algo/ckpt.c: header of 600 bytes, problem
 * sections of a 64-byte head and items of a 40-byte head, the checksum) to find and
 * change fields. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define NB 4

static int rank_, size_;
static char dir[200];
static int serial; /* file names */

static volatile sig_atomic_t stop_flag;
static int stop_at;               /* the monitor raises the flag at this iteration    */
static int64_t pass_count, stop_pass; /* the counting operator raises it at this pass */

static void stop_monitor(void *c, int iter, double obj, int64_t changes, double elapsed)
{
  (void)c, (void)obj, (void)changes, (void)elapsed;
  if (stop_at > 0 && iter == stop_at) stop_flag = 1;
}

/* An operator that counts its passes over A (Aᵀr, one or many right-hand sides) and
 * raises the stop flag at pass stop_pass: a stop inside a chain's init algorithm,
 * which reports no progress. */
static const struct sprec_op_ops *inner_ops;
static struct sprec_op_ops counting_ops;

static sprec_err count_T(sprec_op op, const double *r, double *g)
{
  if (++pass_count == stop_pass) stop_flag = 1;
  return inner_ops->apply_T(op, r, g);
}

static sprec_err count_T_many(sprec_op op, int nb, const double *const *r, double *const *g)
{
  if (++pass_count == stop_pass) stop_flag = 1;
  return inner_ops->apply_T_many(op, nb, r, g);
}

typedef struct {
  int b;
  sprec_sparse x[NB];
  sprec_stats st[NB];
  sprec_err err;
  char msg[1024];
} out_t;

typedef struct {
  const char *checkpoint, *resume;
  int every, stop_iter, iters; /* iters > 0: overrides the options' budget */
  int64_t stop_pass;
} run_spec;

/* The observations of a batch: y, then variations of it, problem 2 zero (it stops at
 * once: a finished problem in every checkpoint). */
static void batch_y(const double *y, int64_t m, double *Y)
{
  for (int p = 0; p < NB; p++)
    for (int64_t i = 0; i < m; i++)
      Y[i + p * m] = p == 0 ? y[i] : p == 2 ? 0.0 : y[i] * (1 + 0.1 * p) + 0.05 * p * sin(3.0 * i + p);
}

static void out_free(out_t *r)
{
  for (int p = 0; p < NB; p++) sprec_sparse_free(&r->x[p]);
}

/* Collective on comm: generate P there and solve it (b = 1) or the batch of NB. */
static out_t run(MPI_Comm comm, const sprec_problem *P, const sprec_opts *o0, int b,
                 run_spec sp)
{
  out_t r;
  memset(&r, 0, sizeof r);
  r.b = b;
  sprec_opts o = *o0;
  if (sp.iters > 0) o.iters = sp.iters;
  stop_flag = 0;
  stop_at = sp.stop_iter;
  pass_count = 0;
  stop_pass = sp.stop_pass;
  sprec_ctx ctx;
  sprec_op A;
  double *y, *Y = NULL;
  sprec_sparse xt = {0};
  sprec_solver s = NULL;
  sprec_ctx_create(comm, &ctx);
  sprec_problem_generate(ctx, P, &A, &y, &xt);
  if (sp.stop_pass > 0) {
    inner_ops = A->ops;
    counting_ops = *inner_ops;
    counting_ops.apply_T = count_T;
    counting_ops.apply_T_many = inner_ops->apply_T_many ? count_T_many : NULL;
    A->ops = &counting_ops;
  }
  r.err = sprec_solver_create(ctx, &o, &s);
  if (!r.err) r.err = sprec_solver_set_checkpoint(s, sp.checkpoint, sp.every);
  if (!r.err) r.err = sprec_solver_set_resume(s, sp.resume);
  if (!r.err) r.err = sprec_solver_set_stop_flag(s, &stop_flag);
  if (!r.err && sp.stop_iter > 0) r.err = sprec_solver_set_monitor(s, 1, stop_monitor, NULL);
  if (!r.err && b == 1) {
    r.err = sprec_solver_solve(s, A, y, NULL, &r.x[0]);
    sprec_solver_get_stats(s, &r.st[0]);
  } else if (!r.err) {
    Y = malloc(sizeof(double) * (size_t)(A->m * NB));
    batch_y(y, A->m, Y);
    r.err = sprec_solver_solve_batch(s, A, NB, Y, NULL, r.x, r.st);
  }
  if (r.err) snprintf(r.msg, sizeof r.msg, "%s", sprec_errmsg());
  if (sp.stop_pass > 0) A->ops = inner_ops;
  sprec_solver_destroy(&s);
  sprec_op_destroy(&A);
  sprec_ctx_destroy(&ctx);
  free(y);
  free(Y);
  sprec_sparse_free(&xt);
  return r;
}

/* The first q ranks of the world (MPI_COMM_NULL on the others). */
static MPI_Comm first(int q)
{
  MPI_Comm c;
  MPI_Comm_split(MPI_COMM_WORLD, rank_ < q ? 0 : MPI_UNDEFINED, rank_, &c);
  return c;
}

static int bits_equal(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* a and b agree bit for bit, problem by problem. */
static int same(const out_t *a, const out_t *b, const char *label)
{
  if (a->err || b->err) {
    if (rank_ == 0) fprintf(stderr, "%s: failed: %s\n", label, a->err ? a->msg : b->msg);
    return 0;
  }
  int ok = 1;
  for (int p = 0; p < a->b; p++) {
    const sprec_stats *s = &a->st[p], *t = &b->st[p];
    int e = a->x[p].nnz == b->x[p].nnz && bits_equal(s->objective, t->objective) &&
            bits_equal(s->data_fit, t->data_fit) && bits_equal(s->gap, t->gap) &&
            bits_equal(s->init_data_fit, t->init_data_fit) && s->iterations == t->iterations &&
            s->best_iteration == t->best_iteration && s->init_iterations == t->init_iterations &&
            !strcmp(s->stop_reason, t->stop_reason);
    for (int64_t i = 0; e && i < a->x[p].nnz; i++)
      e = a->x[p].idx[i] == b->x[p].idx[i] && bits_equal(a->x[p].val[i], b->x[p].val[i]);
    if (!e && rank_ == 0)
      fprintf(stderr, "%s: problem %d: objective %.17g vs %.17g, iterations %d vs %d, best %d vs "
              "%d, stop %s vs %s, nnz %lld vs %lld\n", label, p, s->objective, t->objective,
              s->iterations, t->iterations, s->best_iteration, t->best_iteration,
              s->stop_reason, t->stop_reason, (long long)a->x[p].nnz, (long long)b->x[p].nnz);
    ok &= e;
  }
  return ok;
}

static void new_path(char *path, size_t len, const char *what)
{
  snprintf(path, len, "%s/%s.%d.ck", dir, what, serial++);
}

/* ------------------------------------------------------- the file format -- */
typedef struct {
  unsigned char *p;
  size_t len;
} fbuf;

static fbuf slurp(const char *path)
{
  fbuf f = {NULL, 0};
  FILE *fp = fopen(path, "rb");
  if (!fp) return f;
  fseek(fp, 0, SEEK_END);
  f.len = (size_t)ftell(fp);
  fseek(fp, 0, SEEK_SET);
  f.p = malloc(f.len + 1);
  if (fread(f.p, 1, f.len, fp) != f.len) f.len = 0;
  fclose(fp);
  return f;
}

static void spit(const char *path, const void *p, size_t len)
{
  FILE *fp = fopen(path, "wb");
  if (fp) {
    if (len) fwrite(p, 1, len, fp);
    fclose(fp);
  }
}

static uint64_t mix(uint64_t x)
{
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/* The checksum as ckpt.c defines it: Σ mix(w_i ⊕ key(i)), word 2 read as 0. */
static void put_checksum(fbuf *f)
{
  uint64_t h = 0, zero = 0;
  memcpy(f->p + 16, &zero, 8);
  for (size_t i = 0; i + 8 <= f->len; i += 8) {
    uint64_t v;
    memcpy(&v, f->p + i, 8);
    h += mix(v ^ mix((i / 8) * 0x9e3779b97f4a7c15ULL + 0x2545f4914f6cdd1dULL));
  }
  memcpy(f->p + 16, &h, 8);
}

enum { HDR = 600, PHEAD = 64, IHEAD = 40 };

static int64_t word(const fbuf *f, size_t off)
{
  int64_t v;
  memcpy(&v, f->p + off, 8);
  return v;
}

/* Offset of problem p's head. */
static size_t prob_at(const fbuf *f, int p)
{
  size_t pos = HDR;
  for (int q = 0; q < p; q++) pos += PHEAD + (size_t)word(f, pos + 56);
  return pos;
}

/* Offset of the payload of item `name` of problem p (its head is IHEAD before), or 0. */
static size_t item_at(const fbuf *f, int p, const char *name, int64_t *len)
{
  size_t pos = prob_at(f, p), end = pos + PHEAD + (size_t)word(f, pos + 56);
  pos += PHEAD;
  while (pos + IHEAD <= end) {
    const char *nm = (const char *)f->p + pos;
    int64_t kind = word(f, pos + 24), n = word(f, pos + 32);
    size_t data = pos + IHEAD, bytes = 0;
    if (kind == 3) bytes = 16 * (size_t)n;
    else if (kind == 2 || kind == 4 || kind == 5 || kind == 6 || kind == 100) bytes = 8 * (size_t)n;
    if (!strcmp(nm, name)) {
      *len = n;
      return data;
    }
    pos = data + bytes; /* a least-squares item's parts follow as items */
  }
  return 0;
}

/* ------------------------------------------------------------ the cases -- */
/* Stop at iteration t (of problem 0) on the world, resume on q ranks: ref's result. */
static int stop_and_resume(const char *label, const sprec_problem *P, const sprec_opts *o, int b,
                           const out_t *ref, int t, int q, int *phase, int *stage)
{
  char path[300];
  int ok = 1;
  new_path(path, sizeof path, "stop");
  out_t s = run(MPI_COMM_WORLD, P, o, b, (run_spec){.checkpoint = path, .stop_iter = t});
  ok &= s.err == SPREC_OK && !strcmp(s.st[0].stop_reason, "interrupted") && s.st[0].iterations == t;
  if (!ok && rank_ == 0)
    fprintf(stderr, "%s: the stop at %d gave %s after %d: %s\n", label, t, s.st[0].stop_reason,
            s.st[0].iterations, s.err ? s.msg : "");
  out_free(&s);
  if (rank_ == 0 && (phase || stage)) { /* which phase / stage the checkpoint is in */
    fbuf f = slurp(path);
    int64_t len = 0;
    size_t at;
    if (phase) *phase = f.len > HDR + PHEAD ? (int)word(&f, prob_at(&f, 0) + 8) : -1;
    if (stage) *stage = f.len && (at = item_at(&f, 0, "stage", &len)) ? (int)word(&f, at) : -1;
    free(f.p);
  }
  MPI_Comm sub = first(q);
  if (sub != MPI_COMM_NULL) {
    out_t r = run(sub, P, o, b, (run_spec){.resume = path});
    char lab[200];
    snprintf(lab, sizeof lab, "%s, stopped at %d on %d ranks, resumed on %d", label, t, size_, q);
    ok &= same(ref, &r, lab) && r.st[0].resumed_iteration == t;
    out_free(&r);
    MPI_Comm_free(&sub);
  }
  return ok;
}

/* Periodic checkpoints every e iterations of a run with budget t, written on q ranks,
 * resumed on the world with the full budget: ref's result. */
static int periodic(const char *label, const sprec_problem *P, const sprec_opts *o, int b,
                    const out_t *ref, int t, int e, int q)
{
  char path[300];
  int ok = 1;
  new_path(path, sizeof path, "every");
  MPI_Comm sub = first(q);
  if (sub != MPI_COMM_NULL) {
    out_t s = run(sub, P, o, b, (run_spec){.checkpoint = path, .every = e, .iters = t});
    ok &= s.err == SPREC_OK && s.st[0].checkpoint_iteration >= e;
    if (!ok && rank_ == 0) fprintf(stderr, "%s: periodic run: %s\n", label, s.msg);
    out_free(&s);
    MPI_Comm_free(&sub);
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
  out_t r = run(MPI_COMM_WORLD, P, o, b, (run_spec){.resume = path});
  char lab[200];
  snprintf(lab, sizeof lab, "%s, every %d of %d on %d ranks, resumed with the full budget on %d",
           label, e, t, q, size_);
  ok &= same(ref, &r, lab);
  out_free(&r);
  return ok;
}

static sprec_problem gaussian(void)
{
  sprec_problem P;
  sprec_problem_default(&P);
  P.kind = SPREC_PROBLEM_GAUSSIAN;
  P.m = 40, P.n = 160, P.k = 10, P.snr_db = 10, P.seed = 6;
  return P;
}

static sprec_problem deconv(void)
{
  sprec_problem P;
  sprec_problem_default(&P);
  P.kind = SPREC_PROBLEM_DECONV;
  P.m = 64, P.n = 192, P.k = 8, P.snr_db = 20, P.width = 0.02, P.seed = 4;
  return P;
}

/* The options of algorithm `name` on problem P, with a budget that keeps the tests
 * short and runs that take several iterations. */
static sprec_opts options_for(const char *name, const sprec_problem *P)
{
  sprec_opts o;
  sprec_opts_default(&o);
  o.algo = sprec_algo_find(name);
  o.k = P->k;
  if (tu_is_lasso(name)) {
    o.lambda_ratio = 0.05;
    o.tol = 1e-10;
    o.iters = 80;
  }
  if (!strcmp(name, "sea") || !strcmp(name, "iht")) o.iters = 60;
  if (!strcmp(name, "ompr")) o.step = 3, o.iters = P->k + 30; /* replacements keep happening */
  return o;
}

static int resumable(const char *label, const sprec_problem *P, const sprec_opts *o, int b)
{
  int q = size_ > 1 ? size_ - 1 : 1;
  out_t ref = run(MPI_COMM_WORLD, P, o, b, (run_spec){0});
  int T = ref.st[0].iterations, ok = ref.err == SPREC_OK && T >= 2;
  if (!ok && rank_ == 0)
    fprintf(stderr, "%s: the reference run: %d iterations %s\n", label, T, ref.err ? ref.msg : "");
  if (ok) {
    int t = T / 2;
    ok &= stop_and_resume(label, P, o, b, &ref, t, q, NULL, NULL);
    int e = t >= 2 ? t / 2 : 1;
    ok &= periodic(label, P, o, b, &ref, t, e, q);
  }
  out_free(&ref);
  return ok;
}

START_TEST(every_algorithm_resumes_on_another_rank_count)
{
  const char *const *names = sprec_algorithms();
  sprec_problem probs[2] = {gaussian(), deconv()};
  int bad = 0;
  for (int i = 0; names[i]; i++)
    for (int pi = 0; pi < 2; pi++) {
      sprec_opts o = options_for(names[i], &probs[pi]);
      char label[100];
      snprintf(label, sizeof label, "%s on %s", names[i], pi ? "deconvolution" : "gaussian");
      bad += !tu_all(resumable(label, &probs[pi], &o, 1));
    }
  ck_assert_msg(bad == 0, "%d algorithm/problem pairs did not resume to the uninterrupted result",
                bad);
}
END_TEST

START_TEST(options_that_change_a_run_resume)
{
  sprec_problem G = gaussian(), D = deconv();
  static const struct {
    const char *label, *algo;
    int deconv, rule, restart, lsq, debias;
  } c[] = {
      {"NHTP", "htp", 0, SPREC_STEP_ADAPTIVE, 0, SPREC_LSQ_AUTO, 0},
      {"IHT fixed step", "iht", 1, SPREC_STEP_FIXED, 0, SPREC_LSQ_AUTO, 0},
      {"FISTA restart", "fista", 0, SPREC_STEP_DEFAULT, 1, SPREC_LSQ_AUTO, 0},
      {"SEA, ScaLAPACK least squares", "sea", 1, SPREC_STEP_DEFAULT, 0, SPREC_LSQ_SCALAPACK, 0},
      {"CoSaMP, ScaLAPACK least squares", "cosamp", 0, SPREC_STEP_DEFAULT, 0, SPREC_LSQ_SCALAPACK, 0},
      {"ISTA debiased", "ista", 1, SPREC_STEP_DEFAULT, 0, SPREC_LSQ_AUTO, 1},
  };
  int bad = 0;
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
    const sprec_problem *P = c[i].deconv ? &D : &G;
    sprec_opts o = options_for(c[i].algo, P);
    o.step_rule = (sprec_step_rule)c[i].rule;
    o.restart = c[i].restart;
    o.lsq = (sprec_lsq_method)c[i].lsq;
    o.debias = c[i].debias;
    bad += !tu_all(resumable(c[i].label, P, &o, 1));
  }
  ck_assert_msg(bad == 0, "%d option sets did not resume", bad);
}
END_TEST

/* Continuation: stops in several stages (the stage read from the file). */
START_TEST(continuation_stages_resume)
{
  sprec_problem D = deconv();
  const char *algos[] = {"ista", "fista", "oista"};
  int bad = 0, q = size_ > 1 ? size_ - 1 : 1;
  for (int a = 0; a < 3; a++) {
    sprec_opts o = options_for(algos[a], &D);
    o.continuation = 3;
    o.lambda_ratio = 0.02;
    o.iters = 150;
    out_t ref = run(MPI_COMM_WORLD, &D, &o, 1, (run_spec){0});
    int T = ref.st[0].iterations, ok = ref.err == SPREC_OK && T >= 8, seen = 0;
    char label[80];
    snprintf(label, sizeof label, "%s, continuation 3", algos[a]);
    for (int f = 1; ok && f <= 7; f++) {
      int stage = -1;
      ok &= stop_and_resume(label, &D, &o, 1, &ref, T * f / 8, q, NULL, &stage);
      MPI_Bcast(&stage, 1, MPI_INT, 0, MPI_COMM_WORLD);
      ok &= stage >= 1 && stage <= 3;
      seen |= 1 << stage;
    }
    ok &= seen != 2 && seen != 4 && seen != 8; /* stops in more than one stage */
    if (!ok && rank_ == 0) fprintf(stderr, "%s: stages seen (bits) %d\n", label, seen);
    bad += !tu_all(ok);
    out_free(&ref);
  }
  ck_assert_msg(bad == 0, "%d continuation runs did not resume from every stage", bad);
}
END_TEST

/* Chains: stopped inside the init algorithm (the counting operator: the init reports
 * no progress) and inside the main one (the monitor); the phase read from the file. */
START_TEST(chains_resume_from_either_phase)
{
  sprec_problem G = gaussian(), D = deconv();
  struct {
    const char *main, *init;
    sprec_problem *P;
  } c[] = {{"sea", "omp", &G}, {"sea", "htp", &D}, {"cosamp", "omp", &D}, {"fista", "omp", &G},
           {"els", "omp", &G}};
  int bad = 0, q = size_ > 1 ? size_ - 1 : 1;
  for (int i = 0; i < (int)(sizeof c / sizeof c[0]); i++) {
    sprec_opts o = options_for(c[i].main, c[i].P);
    o.init_algo = sprec_algo_find(c[i].init);
    o.k = c[i].P->k;
    char label[80], path[300];
    snprintf(label, sizeof label, "%s after %s", c[i].main, c[i].init);
    out_t ref = run(MPI_COMM_WORLD, c[i].P, &o, 1, (run_spec){0});
    int T = ref.st[0].iterations, ok = ref.err == SPREC_OK && T >= 2 && ref.st[0].init_iterations >= 2;
    if (!ok && rank_ == 0) fprintf(stderr, "%s: reference %d + %d iterations %s\n", label,
                                   ref.st[0].init_iterations, T, ref.msg);
    /* In the main algorithm. */
    int phase = -1;
    if (ok) ok &= stop_and_resume(label, c[i].P, &o, 1, &ref, T / 2 > 0 ? T / 2 : 1, q, &phase, NULL);
    MPI_Bcast(&phase, 1, MPI_INT, 0, MPI_COMM_WORLD);
    ok &= phase == 1;
    /* In the init: pass 1 is the fingerprint of A, passes 2.. the init's iterations
     * (OMP, HTP: one each, no norm estimate), so the flag raised in pass 3 stops it at
     * its iteration 2. Written on 1 rank, resumed on the world. */
    new_path(path, sizeof path, "chain");
    MPI_Comm one = first(1);
    if (one != MPI_COMM_NULL) {
      out_t s = run(one, c[i].P, &o, 1, (run_spec){.checkpoint = path, .stop_pass = 3});
      fbuf f = slurp(path);
      int ph = f.len > HDR + PHEAD ? (int)word(&f, prob_at(&f, 0) + 8) : -1;
      int it = f.len > HDR + PHEAD ? (int)word(&f, prob_at(&f, 0) + 16) : -1;
      ok &= s.err == SPREC_OK && !strcmp(s.st[0].stop_reason, "interrupted") && ph == 0 && it == 2;
      if (!ok) fprintf(stderr, "%s: stop in the init: phase %d iteration %d (%s)\n", label, ph, it,
                       s.msg);
      free(f.p);
      out_free(&s);
      MPI_Comm_free(&one);
    }
    MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
    out_t r = run(MPI_COMM_WORLD, c[i].P, &o, 1, (run_spec){.resume = path});
    char lab[200];
    snprintf(lab, sizeof lab, "%s, stopped in the init on 1 rank, resumed on %d", label, size_);
    ok &= same(&ref, &r, lab);
    out_free(&r);
    bad += !tu_all(ok);
    out_free(&ref);
  }
  ck_assert_msg(bad == 0, "%d chains did not resume from both phases", bad);
}
END_TEST

/* A batch of 4 (one zero problem, finished at once): one file for all, for every
 * algorithm; and a chain in a batch, stopped in its init. */
START_TEST(batches_resume)
{
  const char *const *names = sprec_algorithms();
  sprec_problem G = gaussian();
  int bad = 0, q = size_ > 1 ? size_ - 1 : 1;
  for (int i = 0; names[i]; i++) {
    sprec_opts o = options_for(names[i], &G);
    char label[80];
    snprintf(label, sizeof label, "batch of %d, %s", NB, names[i]);
    bad += !tu_all(resumable(label, &G, &o, NB));
  }
  /* A chain stopped in its init: the fingerprint is pass 1, the rounds follow. */
  sprec_opts o = options_for("sea", &G);
  o.init_algo = sprec_algo_find("omp");
  out_t ref = run(MPI_COMM_WORLD, &G, &o, NB, (run_spec){0});
  char path[300];
  new_path(path, sizeof path, "batchchain");
  out_t s = run(MPI_COMM_WORLD, &G, &o, NB, (run_spec){.checkpoint = path, .stop_pass = 3});
  int ok = ref.err == SPREC_OK && s.err == SPREC_OK && !strcmp(s.st[0].stop_reason, "interrupted");
  MPI_Comm sub = first(q);
  if (sub != MPI_COMM_NULL) {
    out_t r = run(sub, &G, &o, NB, (run_spec){.resume = path});
    ok &= same(&ref, &r, "batch chain stopped in the init");
    out_free(&r);
    MPI_Comm_free(&sub);
  }
  bad += !tu_all(ok);
  out_free(&ref);
  out_free(&s);
  ck_assert_msg(bad == 0, "%d batches did not resume", bad);
}
END_TEST

/* ------------------------------------------------------------ integrity -- */
static sprec_problem tiny(void)
{
  sprec_problem P;
  sprec_problem_default(&P);
  P.kind = SPREC_PROBLEM_GAUSSIAN;
  P.m = 10, P.n = 24, P.k = 3, P.snr_db = 20, P.seed = 2;
  return P;
}

/* A small solver kept for many resumes (the operator made once). */
typedef struct {
  sprec_ctx ctx;
  sprec_op A;
  double *y;
  sprec_sparse xt;
} kept;

static kept keep_problem(const sprec_problem *P)
{
  kept k = {0};
  sprec_ctx_create(MPI_COMM_WORLD, &k.ctx);
  sprec_problem_generate(k.ctx, P, &k.A, &k.y, &k.xt);
  return k;
}

static void drop_problem(kept *k)
{
  sprec_op_destroy(&k->A);
  sprec_ctx_destroy(&k->ctx);
  free(k->y);
  sprec_sparse_free(&k->xt);
}

/* Resume `path` on the kept problem: the error, and its message in msg. */
static sprec_err try_resume(kept *k, const sprec_opts *o0, const char *path, int iters, char *msg,
                            size_t len)
{
  sprec_opts o = *o0;
  sprec_solver s = NULL;
  sprec_sparse x = {0};
  if (iters > 0) o.iters = iters;
  sprec_err err = sprec_solver_create(k->ctx, &o, &s);
  if (!err) err = sprec_solver_set_resume(s, path);
  if (!err) err = sprec_solver_solve(s, k->A, k->y, NULL, &x);
  snprintf(msg, len, "%s", err ? sprec_errmsg() : "");
  sprec_solver_destroy(&s);
  sprec_sparse_free(&x);
  return err;
}

/* A refusal: SPREC_ERR_FORMAT and "resume PATH: ..." (and `what` in it, if given). */
static int refused(sprec_err err, const char *msg, const char *path, const char *what)
{
  char pre[400];
  snprintf(pre, sizeof pre, "resume %s: ", path);
  return err == SPREC_ERR_FORMAT && !strncmp(msg, pre, strlen(pre)) && (!what || strstr(msg, what));
}

/* A checkpoint of SEA on the tiny problem at iteration 6 (distributed vector X, sparse
 * items, the least squares' factorization); the file's bytes on rank 0. */
static fbuf small_checkpoint(const sprec_problem *P, const sprec_opts *o, char *path, size_t len)
{
  new_path(path, len, "small");
  out_t s = run(MPI_COMM_WORLD, P, o, 1, (run_spec){.checkpoint = path, .stop_iter = 6});
  ck_assert_all(s.err == SPREC_OK, "the small checkpoint was not written: %s", s.msg);
  out_free(&s);
  fbuf f = {NULL, 0};
  if (rank_ == 0) f = slurp(path);
  return f;
}

START_TEST(damaged_files_are_refused)
{
  sprec_problem P = tiny();
  sprec_opts o = options_for("sea", &P);
  char path[300], bad[320], msg[1024];
  fbuf f = small_checkpoint(&P, &o, path, sizeof path);
  snprintf(bad, sizeof bad, "%s.bad", path);
  uint64_t nbits = 8 * (uint64_t)f.len;
  MPI_Bcast(&nbits, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  kept k = keep_problem(&P);
  int fails = 0, tried = 0;
  /* The untouched file, copied, resumes (and its checksum is the test's too). */
  if (rank_ == 0) {
    fbuf g = {malloc(f.len), f.len};
    memcpy(g.p, f.p, f.len);
    put_checksum(&g);
    fails += memcmp(g.p, f.p, f.len) != 0;
    spit(bad, g.p, g.len);
    free(g.p);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  fails += try_resume(&k, &o, bad, 0, msg, sizeof msg) != SPREC_OK;
  /* Single bits: every bit of the first 64 bytes (magic, version, checksum, lengths,
   * sizes), then about 600 positions spread over the whole file. */
  uint64_t stride = nbits / 600 + 1;
  for (uint64_t b = 0; b < nbits; b += (b < 512 ? 1 : stride + (b % 5))) {
    if (rank_ == 0) {
      f.p[b / 8] ^= (unsigned char)(1u << (b % 8));
      spit(bad, f.p, f.len);
      f.p[b / 8] ^= (unsigned char)(1u << (b % 8));
    }
    MPI_Barrier(MPI_COMM_WORLD);
    sprec_err err = try_resume(&k, &o, bad, 0, msg, sizeof msg);
    tried++;
    if (!refused(err, msg, bad, NULL)) {
      if (rank_ == 0) fprintf(stderr, "bit %llu flipped: error %d: %s\n", (unsigned long long)b,
                              (int)err, msg);
      fails++;
    }
  }
  /* Truncated: inside the header, at its end, inside the problem section, half-way,
   * one word short, one byte short. */
  uint64_t size = f.len;
  MPI_Bcast(&size, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  uint64_t cuts[] = {0, 4, 8, 100, 599, 600, 663, 664, 800, size / 2, size - 8, size - 1};
  for (int i = 0; i < (int)(sizeof cuts / sizeof cuts[0]); i++) {
    if (cuts[i] >= size) continue;
    if (rank_ == 0) spit(bad, f.p, (size_t)cuts[i]);
    MPI_Barrier(MPI_COMM_WORLD);
    sprec_err err = try_resume(&k, &o, bad, 0, msg, sizeof msg);
    tried++;
    if (!refused(err, msg, bad, NULL)) {
      if (rank_ == 0) fprintf(stderr, "truncated to %llu bytes: error %d: %s\n",
                              (unsigned long long)cuts[i], (int)err, msg);
      fails++;
    }
  }
  drop_problem(&k);
  free(f.p);
  ck_assert_all(fails == 0, "%d of %d damaged files were not refused as damaged", fails, tried);
}
END_TEST

/* A field changed in an otherwise valid file, its checksum recomputed: the field checks,
 * not the checksum, refuse it. */
typedef struct {
  const char *label, *item, *what; /* item: NULL for the problem head */
  int word;                        /* which word of the payload (or of the head)      */
  int64_t value;                   /* what goes there; INT64_MIN: swap words 0 and 1  */
} edit;

static int edited_refused(kept *k, const sprec_opts *o, const fbuf *f, const char *bad, edit e)
{
  char msg[1024];
  int ok = 1;
  if (rank_ == 0) {
    fbuf g = {malloc(f->len), f->len};
    memcpy(g.p, f->p, f->len);
    int64_t len = 0;
    size_t at = e.item ? item_at(&g, 0, e.item, &len) : prob_at(&g, 0);
    ok = at != 0 && (!e.item || e.word < len || e.value == INT64_MIN);
    if (ok && e.value == INT64_MIN) { /* two entries out of order */
      int64_t a = word(&g, at), b = word(&g, at + 8);
      memcpy(g.p + at, &b, 8);
      memcpy(g.p + at + 8, &a, 8);
    } else if (ok) {
      if (!strcmp(e.label, "a NaN value")) {
        double nan = NAN;
        memcpy(g.p + at + 8 * (size_t)e.word, &nan, 8);
      } else
        memcpy(g.p + at + 8 * (size_t)e.word, &e.value, 8);
    }
    put_checksum(&g);
    spit(bad, g.p, g.len);
    free(g.p);
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
  sprec_err err = try_resume(k, o, bad, 0, msg, sizeof msg);
  if (!ok || !refused(err, msg, bad, e.what)) {
    if (rank_ == 0) fprintf(stderr, "%s: error %d: %s\n", e.label, (int)err, msg);
    return 0;
  }
  return 1;
}

START_TEST(invalid_fields_are_refused_with_a_valid_checksum)
{
  sprec_problem P = tiny();
  sprec_opts o = options_for("sea", &P);
  char path[300], bad[320], what[64];
  fbuf f = small_checkpoint(&P, &o, path, sizeof path);
  snprintf(bad, sizeof bad, "%s.edit", path);
  snprintf(what, sizeof what, "outside [0, %lld)", (long long)P.n);
  kept k = keep_problem(&P);
  edit edits[] = {
      {"support index n", "x", what, 2, P.n},
      {"support index -1", "x", what, 0, -1},
      {"support indices out of order", "x", "not increasing", 0, INT64_MIN},
      {"best's support index n", "best", what, 1, P.n},
      {"iteration counter", "t", "outside", 0, 7},
      {"best iteration past the iteration", "best_iteration", "outside", 0, 9},
      {"negative pass count", "passes", "outside", 0, -3},
      /* INT64_MAX was taken, and the next pass overflowed (fuzz_ckpt, UBSan) */
      {"pass count at INT64_MAX", "passes", "outside", 0, INT64_MAX},
      {"a NaN value", "f", "not finite", 0, 0},
      {"a least-squares column index n", "fidx", "outside", 0, P.n},
      {"a least-squares column twice", "fidx", "twice", 1, -2},
      {"least-squares shape", "shape", "columns", 0, 99},
      {"phase 1 without a chain", NULL, "phase", 1, 1},
      {"unknown status", NULL, "status", 0, 7},
      {"negative iteration", NULL, "iteration", 2, -1},
  };
  int fails = 0, n = (int)(sizeof edits / sizeof edits[0]);
  for (int i = 0; i < n; i++) {
    if (!strcmp(edits[i].label, "a least-squares column twice") && rank_ == 0) {
      int64_t len = 0; /* the second held column made equal to the first */
      size_t at = item_at(&f, 0, "fidx", &len);
      edits[i].value = len >= 2 ? word(&f, at) : -2;
    }
    MPI_Bcast(&edits[i].value, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
    fails += !edited_refused(&k, &o, &f, bad, edits[i]);
  }
  drop_problem(&k);
  free(f.p);
  ck_assert_all(fails == 0, "%d of %d invalid fields were accepted", fails, n);
}
END_TEST

/* A batch's finished problem (problem 2 of batch_y: y = 0, done at once, an empty x):
 * its result resumes as it was (an empty x once made ckpt.c call memcpy with a NULL
 * destination: UndefinedBehaviorSanitizer's report under make check SANITIZE=undefined,
 * found by tests/fuzz/fuzz_ckpt.c), and its statistics are checked like every other
 * field: finite, not negative, its iterations those of its section, the best one
 * among them, no init iterations without a chain (found by the fuzzer's checks of a
 * resumed result: a NaN objective or 1000 iterations of a budget of 12 were taken). */
START_TEST(finished_problems_are_checked)
{
  sprec_problem P = tiny();
  sprec_opts o = options_for("sea", &P);
  char path[300], bad[320];
  new_path(path, sizeof path, "done");
  snprintf(bad, sizeof bad, "%s.edit", path);
  out_t ref = run(MPI_COMM_WORLD, &P, &o, NB, (run_spec){0});
  out_t s = run(MPI_COMM_WORLD, &P, &o, NB, (run_spec){.checkpoint = path, .stop_iter = 6});
  int ok = s.err == SPREC_OK && !strcmp(s.st[0].stop_reason, "interrupted");
  out_free(&s);
  out_t r = run(MPI_COMM_WORLD, &P, &o, NB, (run_spec){.resume = path});
  ok &= same(&ref, &r, "a batch with a finished problem") && r.x[2].nnz == 0;
  out_free(&r);
  out_free(&ref);
  struct {
    const char *label, *item, *what;
    int is_double;
    int64_t i;
    double d;
  } e[] = {
      {"a NaN objective", "objective", "not finite", 1, 0, NAN},
      {"an infinite gap", "gap", "not finite", 1, 0, INFINITY},
      {"a negative data fit", "data_fit", "negative", 1, 0, -1.0},
      {"a NaN λ", "lambda", "not finite", 1, 0, NAN},
      {"iterations past its section's", "iterations", "outside", 0, 1000, 0},
      {"a best iteration past the iterations", "best_iteration", "outside", 0, 1, 0},
      {"init iterations without a chain", "init.iterations", "outside", 0, 3, 0},
  };
  fbuf f = {NULL, 0};
  if (rank_ == 0) f = slurp(path);
  for (int i = 0; i < (int)(sizeof e / sizeof e[0]); i++) {
    int found = 1;
    if (rank_ == 0) {
      fbuf g = {malloc(f.len), f.len};
      memcpy(g.p, f.p, f.len);
      int64_t len = 0;
      size_t at = item_at(&g, 2, e[i].item, &len);
      found = at != 0 && len == 1;
      if (found && e[i].is_double) memcpy(g.p + at, &e[i].d, 8);
      else if (found) memcpy(g.p + at, &e[i].i, 8);
      put_checksum(&g);
      spit(bad, g.p, g.len);
      free(g.p);
    }
    MPI_Bcast(&found, 1, MPI_INT, 0, MPI_COMM_WORLD);
    out_t t = run(MPI_COMM_WORLD, &P, &o, NB, (run_spec){.resume = bad});
    char want[400];
    snprintf(want, sizeof want, "problem 2 of the batch: resume %s: item '%s' ", bad, e[i].item);
    int e_ok = found && t.err == SPREC_ERR_FORMAT && !strncmp(t.msg, want, strlen(want)) &&
               strstr(t.msg, e[i].what);
    if (!e_ok && rank_ == 0) fprintf(stderr, "%s: error %d: %s\n", e[i].label, (int)t.err, t.msg);
    ok &= e_ok;
    out_free(&t);
  }
  free(f.p);
  ck_assert_all(ok, "a finished problem's result was not resumed as it was, or an invalid one "
                "was accepted");
}
END_TEST

/* Text the messages quote from the file (the algorithm, the options, an item name)
 * with control bytes in it, under a valid checksum: the message stays one line of
 * printable text, those bytes shown as '?' (a newline in the options text went into
 * the message as it was: found by tests/fuzz/fuzz_ckpt.c). */
START_TEST(messages_quote_the_file_printably)
{
  sprec_problem P = tiny();
  sprec_opts o = options_for("sea", &P);
  char path[300], bad[320], msg[1024];
  fbuf f = small_checkpoint(&P, &o, path, sizeof path);
  snprintf(bad, sizeof bad, "%s.text", path);
  kept k = keep_problem(&P);
  const char *what[] = {"options", "algorithm", "item name"};
  const char *want[] = {"(init=no?e in the checkpoint, init=none here)",
                        "the checkpoint is of algo se?, not sea", "item 'X?' where"};
  int ok = 1;
  for (int i = 0; i < 3; i++) {
    if (rank_ == 0) {
      fbuf g = {malloc(f.len), f.len};
      memcpy(g.p, f.p, f.len);
      unsigned char *at = NULL;
      if (i == 0) at = memmem(g.p + 88, 512, "init=none", 9), at = at ? at + 7 : NULL;
      if (i == 1) at = g.p + 72 + 2; /* "sea" */
      if (i == 2) at = g.p + prob_at(&g, 0) + PHEAD + 1; /* after "X", SEA's first item */
      if (at) *at = i == 1 ? 0x1b : '\n';
      put_checksum(&g);
      spit(bad, g.p, g.len);
      free(g.p);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    sprec_err err = try_resume(&k, &o, bad, 0, msg, sizeof msg);
    char pre[400];
    snprintf(pre, sizeof pre, "resume %s: ", bad);
    int e = err != SPREC_OK && !strncmp(msg, pre, strlen(pre)) && strstr(msg, want[i]);
    for (const char *c = msg; *c; c++) e &= (unsigned char)*c >= 0x20 && (unsigned char)*c != 0x7f;
    if (!e && rank_ == 0) fprintf(stderr, "%s: error %d: %s\n", what[i], (int)err, msg);
    ok &= e;
  }
  drop_problem(&k);
  free(f.p);
  ck_assert_all(ok, "a message quoted the file's bytes as they were");
}
END_TEST

/* Budget: a checkpoint at iteration t resumed with iters < t is refused, naming both;
 * with iters = t and iters > t it ends as an uninterrupted run with that budget. */
START_TEST(budget_rule)
{
  sprec_problem D = deconv();
  int ok = 1;
  const char *algos[] = {"sea", "omp", "fista"};
  for (int a = 0; a < 3; a++) {
    sprec_opts o = options_for(algos[a], &D);
    char path[300], want[400];
    int t = !strcmp(algos[a], "omp") ? 5 : 20;
    new_path(path, sizeof path, "budget");
    out_t s = run(MPI_COMM_WORLD, &D, &o, 1, (run_spec){.checkpoint = path, .stop_iter = t});
    ok &= s.err == SPREC_OK;
    out_free(&s);
    out_t r = run(MPI_COMM_WORLD, &D, &o, 1, (run_spec){.resume = path, .iters = t - 2});
    snprintf(want, sizeof want, "resume %s: the checkpoint is at iteration %d, past the budget "
             "iters = %d", path, t, t - 2);
    ok &= r.err == SPREC_ERR_ARG && !strcmp(r.msg, want);
    if (!ok && rank_ == 0) fprintf(stderr, "%s budget: %d %s\n", algos[a], (int)r.err, r.msg);
    out_free(&r);
    for (int extra = 0; extra <= 6; extra += 6) {
      out_t ref = run(MPI_COMM_WORLD, &D, &o, 1, (run_spec){.iters = t + extra});
      out_t res = run(MPI_COMM_WORLD, &D, &o, 1, (run_spec){.resume = path, .iters = t + extra});
      ok &= same(&ref, &res, extra ? "resumed with a larger budget" : "resumed with iters = t");
      out_free(&ref);
      out_free(&res);
    }
  }
  ck_assert_all(ok, "the budget rule does not hold");
}
END_TEST

/* Another problem or other options: refused before any work (SPREC_ERR_ARG). */
START_TEST(foreign_checkpoints_are_refused)
{
  sprec_problem D = deconv(), D2 = deconv(), D3 = deconv();
  D2.width = 0.03; /* another A */
  D3.snr_db = 30;  /* another y */
  sprec_opts o = options_for("htp", &D), o2 = o, o3 = o;
  o2.lsq = SPREC_LSQ_SCALAPACK;
  o3.algo = sprec_algo_find("sp");
  char path[300];
  new_path(path, sizeof path, "foreign");
  out_t s = run(MPI_COMM_WORLD, &D, &o, 1, (run_spec){.checkpoint = path, .stop_iter = 1});
  int ok = s.err == SPREC_OK;
  out_free(&s);
  struct {
    const sprec_problem *P;
    const sprec_opts *o;
    int b;
    const char *what;
  } c[] = {{&D2, &o, 1, "another dictionary A"},
           {&D3, &o, 1, "another observation y"},
           {&D, &o2, 1, "lsq=auto in the checkpoint, lsq=scalapack here"},
           {&D, &o3, 1, "the checkpoint is of algo htp, not sp"},
           {&D, &o, NB, "holds 1 problems, this solve has 4"}};
  for (int i = 0; i < 5; i++) {
    out_t r = run(MPI_COMM_WORLD, c[i].P, c[i].o, c[i].b, (run_spec){.resume = path});
    int e = r.err == SPREC_ERR_ARG && strstr(r.msg, c[i].what) && !strncmp(r.msg, "resume ", 7);
    if (!e && rank_ == 0) fprintf(stderr, "foreign %d: %d %s\n", i, (int)r.err, r.msg);
    ok &= e;
    out_free(&r);
  }
  ck_assert_all(ok, "a foreign checkpoint was not refused as such");
}
END_TEST

/* The ranks and the suite's directory for its checkpoint files (tu_tmpdir). */
static int setup(void)
{
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  const char *d = tu_tmpdir();
  if (d) snprintf(dir, sizeof dir, "%s", d);
  return d != NULL;
}

TU_MAIN("checkpoints", 0, setup, every_algorithm_resumes_on_another_rank_count,
        options_that_change_a_run_resume, continuation_stages_resume,
        chains_resume_from_either_phase, batches_resume, damaged_files_are_refused,
        invalid_fields_are_refused_with_a_valid_checksum, finished_problems_are_checked,
        messages_quote_the_file_printably, budget_rule, foreign_checkpoints_are_refused)
