/* libFuzzer harness: the checkpoint reader (src/algo/ckpt_read.c) end to end, through the
 * library's public entry that `sprec solve --resume FILE` uses (sprec_solver_set_resume, then
 * sprec_solver_solve, or sprec_solver_solve_batch for a batch), real files and real
 * MPI-IO on MPI_COMM_SELF.
 *
 * One small problem is made once (Gaussian, m = 24, n = 64, k = 4; a batch's second
 * observation is zero, a problem finished at once). A table of configurations
 * (algorithm, chain, batch size, options, budget) covers SEA, HTP (replicated and
 * ScaLAPACK least squares), OMP, ISTA with continuation, FISTA with restart, a chain
 * (SEA after OMP) and batches of 2 (SEA, ISTA). Each input is written to a file in a
 * private directory (on tmpfs: $SPREC_FUZZ_TMPDIR, else /dev/shm, else $TMPDIR or
 * /tmp) and resumed with the configuration its header names: the one whose real
 * checkpoint has the same options text and number of problems, else the first with
 * the same algorithm and chain, else the first (a foreign file must be refused).
 *
 * Reaching the field checks. The file carries a 64-bit checksum that rejects almost
 * every mutation before any field is looked at. An input whose first byte is 0xC5
 * (MARKER) stands for the rest of the input with the two words a writer computes from
 * the others recomputed: the file length (word 3, bytes 24..31) set to the input's
 * length, then the checksum (word 2, bytes 16..23). The checksum is the one ckpt.c
 * defines and tests/test_ckpt.c recomputes (put_checksum): over the file's 8-byte
 * little-endian words w_i, the checksum word read as 0,
 *     Σ_i mix(w_i ⊕ mix(i · 0x9e3779b97f4a7c15 + 0x2545f4914f6cdd1d))  mod 2⁶⁴,
 * mix the splitmix64 finalizer; a trailing partial word is not hashed. So a mutation
 * of a marked seed changes fields under a valid checksum, and goes on to the header
 * checks, the problem sections, the items and the least-squares state. Unmarked
 * inputs exercise the checks made before and by the checksum.
 *
 * Properties checked on top of the sanitizers, for every input:
 *   refused:  SPREC_ERR_FORMAT or SPREC_ERR_ARG (SPREC_ERR_IO for a file too short to
 *             read), with one line of printable text starting "resume FILE: " (in a
 *             batch, "problem P of the batch: resume FILE: " for a problem's items); or
 *             stopped by the solver's own guard, SPREC_ERR_NUMERIC with one line of
 *             text ("FISTA: objective became non-finite at iteration 12"): values
 *             that are finite but not a state a run reaches (a residual of 1e300 that
 *             is not y − A x) pass every check of the file, as only recomputing the
 *             state could tell, and may overflow in the next iterations;
 *   accepted: every problem's x has at most n nonzeros, indices strictly increasing in
 *             [0, n), finite values; its objective, data fit, gap, relative residual,
 *             step, L, λ_max and init data fit are finite and >= 0, λ >= 0; its
 *             iterations lie in [0, budget], the best one in [0, iterations], the
 *             init's in [0, the init's budget] (0 without a chain); then
 *   no leak (LeakSanitizer after each input that allocates more than it frees) and
 *   no file descriptor left open.
 * MPI_Init, the problem, and the set-up that Open MPI keeps until exit (its I/O
 * components, loaded at the first file opened) run with LeakSanitizer disabled, in
 * LLVMFuzzerInitialize, which also writes a real checkpoint of every configuration and
 * resumes it (it must resume: the table agrees with the library).
 *
 * Seeds: SPREC_FUZZ_WRITE_SEEDS=DIR writes those real checkpoints into DIR (file
 * names: the configuration and the iteration) and exits; tests/fuzz/mkcorpus.py makes
 * the seed corpus tests/fuzz/corpus/ckpt/ from them. SPREC_FUZZ_EXPECT_OK=1 makes a
 * refusal fatal (tests/cli/test_fuzz.sh runs the committed ok_* and fix_* seeds so:
 * stale seeds, of an older format, would fuzz nothing but the first checks).
 *
 * Open MPI: no signal handlers of its own (OMPI_MCA_opal_signal empty), so that
 * libFuzzer's handle an abort and write the input; shared file pointers by the
 * "individual" component (the default "sm" creates two files in /tmp at every open:
 * three times slower). Both unless the environment says otherwise. */
#include "sprec.h"
#include "fuzz_tmp.h"

#include <fcntl.h>
#include <math.h>
#include <mpi.h>
#include <sanitizer/lsan_interface.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MARKER 0xC5
#define B_MAX 2

/* The layout of the file's header (src/algo/ckpt_format.h, ck_header). */
enum { OFF_CHECKSUM = 16, OFF_FILE_LEN = 24, OFF_NPROB = 64, OFF_ALGO = 72, OFF_OPTS = 88,
       HEADER = 600 };

typedef struct {
  const char *name, *algo, *init;
  int b, iters; /* problems; the budget (0: the algorithm's default) */
  sprec_lsq_method lsq;
  int continuation, restart;
  double lambda_ratio, tol;
  int stops[2]; /* the seeds: checkpoints at these iterations (0: none) */
} config;

static const config configs[] = {
    /* name          algo     init   b iters lsq                  cont rst ratio tol      stops */
    {"sea",          "sea",   "",    1, 12, SPREC_LSQ_AUTO,      0, 0, 0,    0,       {3, 8}},
    {"htp",          "htp",   "",    1, 20, SPREC_LSQ_AUTO,      0, 0, 0,    0,       {1, 2}},
    {"htp_scalapack", "htp",  "",    1, 20, SPREC_LSQ_SCALAPACK, 0, 0, 0,    0,       {1, 0}},
    {"omp",          "omp",   "",    1, 0,  SPREC_LSQ_AUTO,      0, 0, 0,    0,       {2, 0}},
    {"ista_cont",    "ista",  "",    1, 30, SPREC_LSQ_AUTO,      3, 0, 0.05, 1e-10,   {8, 20}},
    {"fista_restart", "fista", "",   1, 24, SPREC_LSQ_AUTO,      0, 1, 0.05, 1e-10,   {12, 0}},
    {"sea_after_omp", "sea",  "omp", 1, 12, SPREC_LSQ_AUTO,      0, 0, 0,    0,       {4, 0}},
    {"batch_sea",    "sea",   "",    2, 12, SPREC_LSQ_AUTO,      0, 0, 0,    0,       {5, 0}},
    {"batch_ista",   "ista",  "",    2, 30, SPREC_LSQ_AUTO,      3, 0, 0.05, 1e-10,   {16, 0}},
};
#define NCONFIG ((int)(sizeof configs / sizeof configs[0]))

static sprec_ctx g_ctx;
static sprec_op g_A;
static double *g_Y; /* m x B_MAX: y, then zero */
static int64_t g_m, g_n;
static int g_expect_ok;
static char g_opts[NCONFIG][HEADER - OFF_OPTS]; /* each configuration's options text */

static volatile sig_atomic_t g_stop;
static int g_stop_at;

static const char *g_config = "(set-up)"; /* the configuration of the input running */
static int g_failed;                       /* its resume failed: sprec_errmsg is its message */

static void fail(const char *what)
{
  fprintf(stderr, "fuzz_ckpt: %s\nconfiguration: %s\nmessage: %s\n", what, g_config,
          g_failed ? sprec_errmsg() : "(none: the resume succeeded)");
  abort();
}

static void stop_monitor(void *c, int iter, double obj, int64_t changes, double elapsed)
{
  (void)c, (void)obj, (void)changes, (void)elapsed;
  if (g_stop_at > 0 && iter == g_stop_at) g_stop = 1;
}

static sprec_opts options(const config *c)
{
  sprec_opts o;
  sprec_opts_default(&o);
  o.algo = sprec_algo_find(c->algo);
  o.init_algo = sprec_algo_find(c->init); /* "" names none: no chain */
  o.k = 4;
  o.iters = c->iters;
  o.lsq = c->lsq;
  o.continuation = c->continuation;
  o.restart = c->restart;
  o.lambda_ratio = c->lambda_ratio;
  o.tol = c->tol;
  return o;
}

/* The budget of the algorithm a result comes from (the main one of a chain). */
static int budget_of(const config *c)
{
  return c->iters > 0 ? c->iters : !strcmp(c->algo, "omp") ? 4 : 0;
}

/* Solves configuration c once: from checkpoint `resume` if given, writing `checkpoint`
 * (stopped at iteration stop_at of problem 0) if given. */
static sprec_err run(const config *c, const char *resume, const char *checkpoint, int stop_at,
                     sprec_sparse *x, sprec_stats *st)
{
  sprec_opts o = options(c);
  g_stop = 0;
  g_stop_at = stop_at;
  sprec_solver s = NULL;
  memset(x, 0, B_MAX * sizeof *x);
  memset(st, 0, B_MAX * sizeof *st);
  sprec_err e = sprec_solver_create(g_ctx, &o, &s);
  if (!e) e = sprec_solver_set_resume(s, resume);
  if (!e) e = sprec_solver_set_checkpoint(s, checkpoint, 0);
  if (!e) e = sprec_solver_set_stop_flag(s, &g_stop);
  if (!e && stop_at > 0) e = sprec_solver_set_monitor(s, 1, stop_monitor, NULL);
  if (!e && c->b == 1) {
    e = sprec_solver_solve(s, g_A, g_Y, NULL, &x[0]);
    sprec_solver_get_stats(s, &st[0]);
  } else if (!e)
    e = sprec_solver_solve_batch(s, g_A, c->b, g_Y, NULL, x, st);
  sprec_solver_destroy(&s);
  return e;
}

static uint8_t *read_file(const char *path, size_t *size)
{
  FILE *f = fopen(path, "rb");
  if (!f) fail("cannot open a checkpoint just written");
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *p = malloc((size_t)len + 1);
  if (!p || fread(p, 1, (size_t)len, f) != (size_t)len) fail("cannot read a checkpoint just written");
  fclose(f);
  *size = (size_t)len;
  return p;
}

/* -------------------------------------------------------------- checksum -- */
static uint64_t mix(uint64_t x)
{
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/* The file length and the checksum, as a writer makes them (see the top). */
static void fix_words(uint8_t *p, size_t len)
{
  if (len >= OFF_FILE_LEN + 8) {
    uint64_t fl = len;
    memcpy(p + OFF_FILE_LEN, &fl, 8);
  }
  if (len < OFF_CHECKSUM + 8) return;
  uint64_t h = 0, zero = 0;
  memcpy(p + OFF_CHECKSUM, &zero, 8);
  for (size_t i = 0; i + 8 <= len; i += 8) {
    uint64_t v;
    memcpy(&v, p + i, 8);
    h += mix(v ^ mix((i / 8) * 0x9e3779b97f4a7c15ULL + 0x2545f4914f6cdd1dULL));
  }
  memcpy(p + OFF_CHECKSUM, &h, 8);
}

/* The configuration the file's header names: the one whose real checkpoint has the
 * same options text (which names the algorithm, the chain and every option that
 * changes a run) and number of problems; else the first with the same algorithm,
 * chain ("algo=A init=I " at the start of the text) and number of problems; else 0. */
static int pick(const uint8_t *p, size_t len)
{
  if (len < HEADER) return 0;
  int64_t nprob;
  memcpy(&nprob, p + OFF_NPROB, 8);
  const char *opts = (const char *)p + OFF_OPTS;
  for (int i = 0; i < NCONFIG; i++)
    if (nprob == configs[i].b && !memcmp(opts, g_opts[i], HEADER - OFF_OPTS)) return i;
  for (int i = 0; i < NCONFIG; i++) {
    char key[64];
    int kl = snprintf(key, sizeof key, "algo=%s init=%s ", configs[i].algo,
                      configs[i].init[0] ? configs[i].init : "none");
    if (nprob == configs[i].b && !strncmp((const char *)p + OFF_ALGO, configs[i].algo, 16) &&
        !strncmp(opts, key, (size_t)kl))
      return i;
  }
  return 0;
}

/* ---------------------------------------------------------------- checks -- */
static void check_result(const config *c, const sprec_sparse *x, const sprec_stats *st)
{
  int budget = budget_of(c);
  for (int p = 0; p < c->b; p++) {
    const sprec_sparse *v = &x[p];
    if (v->nnz < 0 || v->nnz > g_n || (v->nnz > 0 && (!v->idx || !v->val)))
      fail("an accepted checkpoint gave a support of impossible size");
    for (int64_t t = 0; t < v->nnz; t++) {
      if (v->idx[t] < 0 || v->idx[t] >= g_n || (t > 0 && v->idx[t] <= v->idx[t - 1]))
        fail("an accepted checkpoint gave support indices out of range or out of order");
      if (!isfinite(v->val[t])) fail("an accepted checkpoint gave a non-finite coefficient");
    }
    const sprec_stats *s = &st[p];
    const double fig[] = {s->objective, s->data_fit, s->gap, s->rel_residual, s->step, s->L,
                          s->lambda_max, s->init_data_fit};
    for (int i = 0; i < (int)(sizeof fig / sizeof fig[0]); i++)
      if (!(isfinite(fig[i]) && fig[i] >= 0)) {
        fprintf(stderr, "fuzz_ckpt: problem %d: figure %d of (objective, data fit, gap, "
                "relative residual, step, L, λ_max, init data fit) is %g\n", p, i, fig[i]);
        fail("an accepted checkpoint gave a non-finite or negative figure");
      }
    if (!(s->lambda >= 0)) fail("an accepted checkpoint gave a negative or NaN λ");
    int init_budget = c->init[0] ? 4 : 0; /* the chain's init: OMP, k = 4 */
    if (s->iterations < 0 || (budget > 0 && s->iterations > budget) || s->best_iteration < 0 ||
        s->best_iteration > s->iterations || s->init_iterations < 0 ||
        s->init_iterations > init_budget) {
      fprintf(stderr, "fuzz_ckpt: problem %d: %d iterations (best %d), budget %d, %d of the "
              "init\n", p, s->iterations, s->best_iteration, budget, s->init_iterations);
      fail("an accepted checkpoint gave iteration counts out of range");
    }
  }
}

static void check_refusal(sprec_err e, const char *path)
{
  const char *m = sprec_errmsg();
  char pre[4300];
  snprintf(pre, sizeof pre, "resume %s: ", path);
  if (e != SPREC_ERR_FORMAT && e != SPREC_ERR_ARG && e != SPREC_ERR_IO && e != SPREC_ERR_NUMERIC)
    fail("refused with an error other than SPREC_ERR_FORMAT, _ARG, _IO or _NUMERIC");
  const char *r = m;
  int at = 0, p = -1;
  /* A batch names the problem whose state or result was refused. */
  if (sscanf(m, "problem %d of the batch: %n", &p, &at) == 1 && at > 0 && p >= 0 && p < B_MAX)
    r = m + at;
  if (e != SPREC_ERR_NUMERIC && strncmp(r, pre, strlen(pre)) != 0)
    fail("the message does not start with \"resume FILE: \" (\"problem P of the batch: \" before)");
  if (!*m) fail("an error without a message");
  for (const char *q = m; *q; q++)
    if ((unsigned char)*q < 0x20 || (unsigned char)*q == 0x7f)
      fail("the message is not one line of printable text");
}

/* -------------------------------------------------------------- set-up -- */
/* The real checkpoints of every configuration, each resumed (it must resume); written
 * into seeds (a directory) too when given. */
static void real_checkpoints(const char *seeds)
{
  sprec_sparse x[B_MAX];
  sprec_stats st[B_MAX];
  for (int i = 0; i < NCONFIG; i++)
    for (int s = 0; s < 2 && configs[i].stops[s] > 0; s++) {
      const config *c = &configs[i];
      g_config = c->name;
      sprec_err e = run(c, NULL, g_path, c->stops[s], x, st);
      if (e || strcmp(st[0].stop_reason, "interrupted") || st[0].iterations != c->stops[s]) {
        fprintf(stderr, "fuzz_ckpt: %s: the run to stop at %d gave %s after %d: %s\n", c->name,
                c->stops[s], st[0].stop_reason, st[0].iterations, e ? sprec_errmsg() : "");
        exit(1);
      }
      for (int p = 0; p < c->b; p++) sprec_sparse_free(&x[p]);
      size_t len;
      uint8_t *p = read_file(g_path, &len);
      if (len < HEADER) fail("a checkpoint shorter than its header");
      memcpy(g_opts[i], p + OFF_OPTS, sizeof g_opts[i]);
      if (seeds) {
        char out[4400];
        snprintf(out, sizeof out, "%s/%s_%d", seeds, c->name, c->stops[s]);
        fuzz_write_file(out, p, len);
      }
      free(p);
      e = run(c, g_path, NULL, 0, x, st);
      if (e) {
        fprintf(stderr, "fuzz_ckpt: %s: its checkpoint at %d does not resume: %s\n", c->name,
                c->stops[s], sprec_errmsg());
        exit(1);
      }
      check_result(c, x, st);
      for (int p = 0; p < c->b; p++) sprec_sparse_free(&x[p]);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc, (void)argv;
  /* What Open MPI allocates for itself at its set-up, and keeps, is not our leak; nor
   * is the problem, kept for every input. */
  __lsan_disable();
  /* No signal handlers of Open MPI's: libFuzzer installs its own (which write the
   * crashing input) only where none is installed. */
  setenv("OMPI_MCA_opal_signal", "", 0);
  /* The library uses no shared file pointer; Open MPI's default component for them
   * (sm) creates two files in its session directory (/tmp) at every open, which took
   * more than half of the time of an input. */
  setenv("OMPI_MCA_sharedfp", "individual", 0);
  MPI_Init(NULL, NULL);
  fuzz_tmp_make("fuzz_ckpt", "ckpt", "input.ck");
  g_expect_ok = getenv("SPREC_FUZZ_EXPECT_OK") && !strcmp(getenv("SPREC_FUZZ_EXPECT_OK"), "1");

  sprec_problem P;
  sprec_problem_default(&P);
  P.kind = SPREC_PROBLEM_GAUSSIAN;
  P.m = 24, P.n = 64, P.k = 4, P.snr_db = 20, P.seed = 3;
  double *y = NULL;
  sprec_sparse xt = {0};
  if (sprec_ctx_create(MPI_COMM_SELF, &g_ctx) || sprec_problem_generate(g_ctx, &P, &g_A, &y, &xt)) {
    fprintf(stderr, "fuzz_ckpt: cannot make the problem: %s\n", sprec_errmsg());
    exit(1);
  }
  g_m = P.m, g_n = P.n;
  g_Y = calloc((size_t)(g_m * B_MAX), sizeof *g_Y);
  if (!g_Y) fail("out of memory");
  memcpy(g_Y, y, (size_t)g_m * sizeof *y); /* the second observation stays zero */
  free(y);
  sprec_sparse_free(&xt);

  const char *seeds = getenv("SPREC_FUZZ_WRITE_SEEDS");
  real_checkpoints(seeds && *seeds ? seeds : NULL);
  if (seeds && *seeds) {
    MPI_Finalize();
    exit(0);
  }
  __lsan_enable();
  return 0;
}

/* The lowest free file descriptor. */
static int lowest_fd(void)
{
  int fd = open("/dev/null", O_RDONLY);
  if (fd < 0) fail("cannot open /dev/null");
  close(fd);
  return fd;
}

static void one_input(const uint8_t *data, size_t size)
{
  uint8_t *own = NULL;
  g_failed = 0;
  if (size > 0 && data[0] == MARKER) {
    own = malloc(size); /* size - 1 bytes used, at least one allocated */
    if (!own) fail("out of memory");
    size -= 1;
    memcpy(own, data + 1, size);
    fix_words(own, size);
    data = own;
  }
  fuzz_write_file(g_path, data, size);
  const config *c = &configs[pick(data, size)];
  free(own);
  sprec_sparse x[B_MAX];
  sprec_stats st[B_MAX];
  g_config = c->name;
  sprec_err e = run(c, g_path, NULL, 0, x, st);
  g_failed = e != SPREC_OK;
  if (e == SPREC_OK) check_result(c, x, st);
  else if (g_expect_ok) fail("SPREC_FUZZ_EXPECT_OK: a checkpoint was refused");
  else check_refusal(e, g_path);
  for (int p = 0; p < B_MAX; p++) sprec_sparse_free(&x[p]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  int fd0 = lowest_fd();
  one_input(data, size);
  if (lowest_fd() != fd0) fail("a file descriptor was left open");
  return 0;
}
