#!/usr/bin/python3
"""Compare sprec with what a Python user would run instead, on one Gaussian problem.

  OMP    sprec --algo omp    vs sklearn OrthogonalMatchingPursuit
  Lasso  sprec --algo fista  vs sklearn Lasso (cyclic coordinate descent), same minimizer
  HTP    sprec --algo htp    vs a plain NumPy HTP (below)

Peers run in this process, single-threaded, timed with time.perf_counter (best of
--reps). sprec is timed by its result JSON, time.total - time.io (the solve: what the
ratio uses), and by the wall time of the whole mpirun command (start-up and reading A
included). Answers are checked: same support for OMP and HTP, Lasso objectives within
1e-8 relative. Exit status 1 on a mismatch.

Then the same three comparisons with b right-hand sides sharing A (--batch, default
256; --quick 8): Y = A X + noise (m x b, each column its own k-sparse x and 40 dB
noise), solved by one `sprec solve --y Y.npy` (a batch: one pass over A per round
serves every problem), by sklearn's multi-target fit(A, Y) for OMP and Lasso, and by
the NumPy HTP in a loop over the columns. For the Lasso every problem gets the same
lambda (0.1 min_p ||A'y_p||_inf), passed as --lambda, so that sklearn's single alpha
matches. Checked per problem: same supports (OMP, HTP), Lasso objectives within 1e-8
relative. The b > 1 rows are best of --batch-reps (default 1: the peers take minutes).
The rows carry b; the ratios are for the whole batch (= per problem).

Usage: scripts/bench-peers.py [--m M --n N --k K] [--ranks "1 2"] [--reps R]
                              [--batch B] [--batch-reps R] [--out DIR] [--quick]
"""
import os

# One thread for every BLAS/OpenMP pool, set before numpy is imported: the peers are
# compared per core. The sprec ranks inherit OPENBLAS_NUM_THREADS=1 as well.
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

import argparse
import csv
import json
import subprocess
import sys
import time

import numpy as np
import sklearn
from sklearn.linear_model import Lasso, OrthogonalMatchingPursuit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPREC = os.path.join(ROOT, "bin", "sprec")
MPIRUN = os.path.join(ROOT, "scripts", "mpirun.sh")
LASSO_RATIO = 0.1      # lambda = 0.1 * ||A'y||_inf
LASSO_TOL = 1e-10      # relative duality gap both Lasso solvers must reach
OBJ_RTOL = 1e-8        # Lasso objectives must agree to this


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--m", type=int)
    p.add_argument("--n", type=int)
    p.add_argument("--k", type=int)
    p.add_argument("--ranks", default="1 2", help='rank counts for sprec, e.g. "1 2"')
    p.add_argument("--reps", type=int, help="best of this many runs (default 3)")
    p.add_argument("--out", default=os.path.join(ROOT, "build", "bench-peers"))
    p.add_argument("--batch", type=int, help="right-hand sides of the batched comparison "
                   "(default 256; --quick 8; 0 skips it)")
    p.add_argument("--batch-reps", type=int, help="best of this many batched runs (default 1)")
    p.add_argument("--quick", action="store_true", help="m=200 n=2000 k=10, 1 rep, b=8")
    a = p.parse_args()
    base = dict(m=200, n=2000, k=10, reps=1, batch=8, batch_reps=1) if a.quick else \
        dict(m=1000, n=20000, k=50, reps=3, batch=256, batch_reps=1)
    for key, val in base.items():
        if getattr(a, key) is None:
            setattr(a, key, val)
    a.ranks = [int(r) for r in a.ranks.split()]
    a.out = os.path.abspath(a.out)
    return a


def sh(cmd):
    """Run a command from the repository root; stop the benchmark if it fails."""
    t = time.perf_counter()
    res = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - t
    if res.returncode != 0:
        sys.exit(f"bench-peers: failed ({res.returncode}): {' '.join(cmd)}\n{res.stdout}")
    return wall


def best_of(reps, fn):
    """(best seconds, result of the last call) of reps calls of fn()."""
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def run_sprec(args, data, ranks, solver_args, tag, y="y.npy", reps=None):
    """Best solve time (total - io), best wall time, result JSON and x of sprec solve
    (x: n, or n x b for a batch)."""
    res_path = os.path.join(args.out, f"sprec-{tag}-np{ranks}.json")
    x_path = os.path.join(args.out, f"sprec-{tag}-np{ranks}-x.npy")
    cmd = [MPIRUN, "-np", str(ranks), SPREC, "solve", "--A", f"{data}/A.npy",
           "--y", f"{data}/{y}", *solver_args, "--quiet", "--out", res_path, "--x-out", x_path]
    solve, wall = float("inf"), float("inf")
    for _ in range(reps or args.reps):
        wall = min(wall, sh(cmd))
        with open(res_path) as f:
            result = json.load(f)
        solve = min(solve, result["time"]["total"] - result["time"]["io"])
    return solve, wall, result, np.load(x_path)


def numpy_htp(A, y, k, max_iter=500):
    """HTP as a user would write it: mu = 1, top-k by argpartition, lstsq on S."""
    x = np.zeros(A.shape[1])
    r = y.copy()
    S_prev = None
    for it in range(1, max_iter + 1):
        S = np.sort(np.argpartition(np.abs(x + A.T @ r), -k)[-k:])
        if S_prev is not None and np.array_equal(S, S_prev):
            break
        coef = np.linalg.lstsq(A[:, S], y, rcond=None)[0]
        x = np.zeros(A.shape[1])
        x[S] = coef
        r = y - A[:, S] @ coef
        S_prev = S
    return S_prev, it


def lasso_obj(A, y, lam, x):
    return 0.5 * np.sum((A @ x - y) ** 2) + lam * np.abs(x).sum()


def lasso_rel_gap(A, y, lam, x):
    """Relative duality gap with theta = r / max(1, ||A'r||_inf / lam), r = y - Ax. sprec's
    FISTA certifies with the residual of its extrapolated point instead: another valid
    dual point, so the two gaps differ (each bounds the suboptimality)."""
    r = y - A @ x
    theta = r / max(1.0, np.abs(A.T @ r).max() / lam)
    dual = 0.5 * (y @ y) - 0.5 * np.sum((y - theta) ** 2)
    primal = lasso_obj(A, y, lam, x)
    return (primal - dual) / primal


def threads_info():
    """What thread pools the peers actually ran with (threadpoolctl ships with sklearn)."""
    try:
        from threadpoolctl import threadpool_info
        return [f"{p['internal_api']}:{p['num_threads']}" for p in threadpool_info()]
    except ImportError:
        return ["threadpoolctl unavailable"]


def row(method, ranks, solve, wall, peer, match, note, b=1):
    return dict(method=method, b=b, ranks=ranks, sprec_solve_s=solve, sprec_wall_s=wall,
                peer_s=peer, ratio=solve / peer, wall_ratio=wall / peer,
                match="MATCH" if match else "MISMATCH", note=note)


def bench_omp(args, data, A, y):
    k = args.k
    peer_s, model = best_of(args.reps, lambda: OrthogonalMatchingPursuit(
        n_nonzero_coefs=k, fit_intercept=False).fit(A, y))
    peer_S = np.flatnonzero(model.coef_)
    rows = []
    for p in args.ranks:
        solve, wall, res, _ = run_sprec(args, data, p, ["--algo", "omp", "-k", str(k)], "omp")
        match = np.array_equal(np.array(res["support"]), peer_S)
        rows.append(row("omp", p, solve, wall, peer_s, match, f"peer=sklearn OMP, |S|={len(peer_S)}"))
    return rows


def bench_htp(args, data, A, y):
    k = args.k
    peer_s, (peer_S, peer_it) = best_of(args.reps, lambda: numpy_htp(A, y, k))
    rows = []
    for p in args.ranks:
        solve, wall, res, _ = run_sprec(args, data, p, ["--algo", "htp", "-k", str(k)], "htp")
        match = np.array_equal(np.array(res["support"]), peer_S)
        rows.append(row("htp", p, solve, wall, peer_s, match,
                        f"peer=numpy HTP, iterations sprec {res['iterations']} numpy {peer_it}"))
    return rows


def bench_lasso(args, data, A, y):
    m = A.shape[0]
    lam = LASSO_RATIO * np.abs(A.T @ y).max()
    rows = []
    for p in args.ranks:
        solve, wall, res, x = run_sprec(args, data, p, ["--algo", "fista", "--lambda", repr(lam),
                                                        "--tol", repr(LASSO_TOL)], "fista")
        if p == args.ranks[0]:
            # sklearn stops when its gap < tol * ||y||^2 (objective scaled by m, alpha = lam/m):
            # this tol makes that gap at most LASSO_TOL times sprec's objective.
            sk_tol = LASSO_TOL * res["objective"] / (y @ y)
            peer_s, model = best_of(args.reps, lambda: Lasso(
                alpha=lam / m, fit_intercept=False, tol=sk_tol, max_iter=1_000_000,
                selection="cyclic").fit(A, y))
            F_peer = lasso_obj(A, y, lam, model.coef_)
            gap_peer = lasso_rel_gap(A, y, lam, model.coef_)
        F = lasso_obj(A, y, lam, x)
        rel = abs(F - F_peer) / F_peer
        note = (f"lambda={lam:.6g} F_sprec={F:.15g} F_sklearn={F_peer:.15g} rel_diff={rel:.1e} "
                f"rel gap, theta from r(x): sprec {lasso_rel_gap(A, y, lam, x):.1e} "
                f"sklearn {gap_peer:.1e}; sprec's own certificate {res['gap']:.1e} "
                f"(sklearn tol={sk_tol:.2e}, {model.n_iter_} epochs; sprec {res['iterations']} it)")
        rows.append(row("lasso", p, solve, wall, peer_s, rel <= OBJ_RTOL, note))
    return rows


# ------------------------------------------------------------- b problems at once --
def make_batch(args, data, A):
    """Y = A X + E (m x b) for b random k-sparse columns of X (amplitudes +-(1 + |N|), as
    sprec gen draws them) and Gaussian noise at 40 dB per column; written to
    data/Y.npy. Deterministic (seed 2)."""
    m, n = A.shape
    b, k = args.batch, args.k
    rng = np.random.default_rng(2)
    X = np.zeros((n, b))
    for p in range(b):
        S = np.sort(rng.choice(n, size=k, replace=False))
        X[S, p] = rng.choice([-1.0, 1.0], size=k) * (1.0 + np.abs(rng.standard_normal(k)))
    Y = A @ X
    E = rng.standard_normal((m, b))
    Y += E * (np.linalg.norm(Y, axis=0) / np.linalg.norm(E, axis=0) * 10 ** (-40 / 20))
    np.save(f"{data}/Y.npy", Y)
    return Y


def problems(res, b):
    """The per-problem entries of a batch result, checked to be b of them."""
    if res.get("batch") != b or len(res.get("problems", [])) != b:
        sys.exit(f"bench-peers: sprec's batch result has batch={res.get('batch')} and "
                 f"{len(res.get('problems', []))} problems, {b} expected")
    return res["problems"]


def bench_omp_batch(args, data, A, Y):
    k, b = args.k, Y.shape[1]
    peer_s, model = best_of(args.batch_reps, lambda: OrthogonalMatchingPursuit(
        n_nonzero_coefs=k, fit_intercept=False).fit(A, Y))
    coef = model.coef_.reshape(b, -1)
    peer_S = [np.flatnonzero(coef[p]) for p in range(b)]
    rows = []
    for p in args.ranks:
        solve, wall, res, _ = run_sprec(args, data, p, ["--algo", "omp", "-k", str(k)], f"omp-b{b}",
                                        y="Y.npy", reps=args.batch_reps)
        probs = problems(res, b)
        bad = [q for q in range(b) if not np.array_equal(np.array(probs[q]["support"]), peer_S[q])]
        rows.append(row("omp", p, solve, wall, peer_s, not bad,
                        f"peer=sklearn OMP multi-target fit(A, Y); supports differ in {len(bad)} of "
                        f"{b} problems{' ' + str(bad[:10]) if bad else ''}; sprec {b / solve:.1f} "
                        f"problems/s, sklearn {b / peer_s:.1f}", b))
    return rows


def bench_htp_batch(args, data, A, Y):
    k, b = args.k, Y.shape[1]
    peer_s, peer = best_of(args.batch_reps, lambda: [numpy_htp(A, Y[:, p], k) for p in range(b)])
    rows = []
    for p in args.ranks:
        solve, wall, res, _ = run_sprec(args, data, p, ["--algo", "htp", "-k", str(k)], f"htp-b{b}",
                                        y="Y.npy", reps=args.batch_reps)
        probs = problems(res, b)
        bad = [q for q in range(b) if not np.array_equal(np.array(probs[q]["support"]), peer[q][0])]
        its_s = sum(q["iterations"] for q in probs)
        its_p = sum(it for _, it in peer)
        rows.append(row("htp", p, solve, wall, peer_s, not bad,
                        f"peer=numpy HTP, a loop over the {b} columns; supports differ in {len(bad)} "
                        f"of {b} problems{' ' + str(bad[:10]) if bad else ''}; iterations in all: "
                        f"sprec {its_s} numpy {its_p}; sprec {b / solve:.1f} problems/s, numpy "
                        f"{b / peer_s:.1f}", b))
    return rows


def bench_lasso_batch(args, data, A, Y):
    m, b = A.shape[0], Y.shape[1]
    lam = LASSO_RATIO * np.abs(A.T @ Y).max(axis=0).min()  # one lambda for every problem
    rows = []
    for p in args.ranks:
        solve, wall, res, X = run_sprec(args, data, p, ["--algo", "fista", "--lambda", repr(lam),
                                                        "--tol", repr(LASSO_TOL)], f"fista-b{b}",
                                        y="Y.npy", reps=args.batch_reps)
        probs = problems(res, b)
        X = X.reshape(-1, b)
        if p == args.ranks[0]:
            # One tol for all the targets (sklearn scales it by each ||y_p||^2): the
            # strictest of the single-problem choice, so that every problem's gap is at
            # most LASSO_TOL times sprec's objective.
            sk_tol = min(LASSO_TOL * probs[q]["objective"] / (Y[:, q] @ Y[:, q]) for q in range(b))
            peer_s, model = best_of(args.batch_reps, lambda: Lasso(
                alpha=lam / m, fit_intercept=False, tol=sk_tol, max_iter=1_000_000,
                selection="cyclic").fit(A, Y))
            coef = model.coef_.reshape(b, -1)
            F_peer = np.array([lasso_obj(A, Y[:, q], lam, coef[q]) for q in range(b)])
            epochs = np.atleast_1d(model.n_iter_)
        F = np.array([lasso_obj(A, Y[:, q], lam, X[:, q]) for q in range(b)])
        rel = np.abs(F - F_peer) / F_peer
        its = [q["iterations"] for q in probs]
        rows.append(row("lasso", p, solve, wall, peer_s, bool(np.all(rel <= OBJ_RTOL)),
                        f"peer=sklearn Lasso multi-target fit(A, Y); lambda={lam:.6g} for all; "
                        f"max rel objective diff {rel.max():.1e} (problem {int(rel.argmax())}); "
                        f"sprec's certificates max {max(q['gap'] for q in probs):.1e}; "
                        f"sklearn tol={sk_tol:.2e}, epochs {int(epochs.min())}..{int(epochs.max())}; "
                        f"sprec iterations {min(its)}..{max(its)}; sprec {b / solve:.1f} "
                        f"problems/s, sklearn {b / peer_s:.1f}", b))
    return rows


def report(rows, args, meta):
    head = f"{'method':<7}{'b':>5}{'ranks':>6}{'sprec solve s':>15}{'sprec wall s':>14}{'peer s':>10}" \
           f"{'ratio':>9}{'wall ratio':>12}  match"
    print(head)
    for r in rows:
        print(f"{r['method']:<7}{r['b']:>5}{r['ranks']:>6}{r['sprec_solve_s']:>15.4f}"
              f"{r['sprec_wall_s']:>14.4f}{r['peer_s']:>10.4f}{r['ratio']:>9.3f}"
              f"{r['wall_ratio']:>12.3f}  {r['match']}")
    print("ratio = sprec solve (time.total - time.io) / peer; < 1 means sprec is faster. "
          "wall ratio uses the whole mpirun command (start-up, reading A). With b > 1 both "
          "sides solve all b problems.")
    for r in rows:
        print(f"  {r['method']} b={r['b']} np={r['ranks']}: {r['note']}")
    with open(os.path.join(args.out, "peers.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with open(os.path.join(args.out, "peers.json"), "w") as f:
        json.dump(dict(meta, rows=rows), f, indent=2)
    print(f"wrote {args.out}/peers.csv, {args.out}/peers.json")


def main():
    args = parse_args()
    if not os.access(SPREC, os.X_OK):
        sys.exit("bench-peers: bin/sprec missing; run 'make' first")
    data = os.path.join(args.out, "data")
    os.makedirs(data, exist_ok=True)
    sh([MPIRUN, "-np", "1", SPREC, "gen", "--problem", "gaussian", "-m", str(args.m), "-n", str(args.n),
        "-k", str(args.k), "--snr", "40", "--seed", "1", "--out", data, "--quiet"])
    A = np.load(f"{data}/A.npy")
    y = np.load(f"{data}/y.npy")
    threads = threads_info()
    print(f"bench-peers: gaussian m={args.m} n={args.n} k={args.k} snr=40 seed=1, "
          f"best of {args.reps}, sprec ranks {args.ranks} on {os.cpu_count()} cores")
    print(f"peers: numpy {np.__version__}, sklearn {sklearn.__version__}, single-threaded "
          f"(thread pools {', '.join(threads)}); sprec: 1 thread per rank")
    rows = bench_omp(args, data, A, y) + bench_lasso(args, data, A, y) + bench_htp(args, data, A, y)
    if args.batch > 1:
        print(f"batch: b={args.batch} right-hand sides sharing A, best of {args.batch_reps}")
        Y = make_batch(args, data, A)
        rows += bench_omp_batch(args, data, A, Y) + bench_lasso_batch(args, data, A, Y) + \
            bench_htp_batch(args, data, A, Y)
    meta = dict(m=args.m, n=args.n, k=args.k, reps=args.reps, ranks=args.ranks, cores=os.cpu_count(),
                numpy=np.__version__, sklearn=sklearn.__version__, peer_threads=threads,
                lasso_lambda_ratio=LASSO_RATIO, lasso_tol=LASSO_TOL,
                multi_rhs=dict(b=args.batch, reps=args.batch_reps, seed=2, snr_db=40,
                               lasso_lambda="0.1 min_p ||A'y_p||_inf, the same for every problem")
                if args.batch > 1 else "skipped")
    report(rows, args, meta)
    if any(r["match"] != "MATCH" for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
