#!/usr/bin/python3
"""The service (`sprec serve`) against the command line, on one Gaussian problem.

For each rank count P, in one run (the machine is shared: the ratios compare figures
measured minutes apart, never across runs):

  cli      one `sprec solve` per y, as users run it today: start-up, reading A,
           estimating ||A||^2, the solve (--cli-ys right-hand sides, median wall time)
  batch    one `sprec solve --y Y.npy` with Y of b columns: the same b problems as one
           batch; its solve time, time.total - time.io, without reading A, and without
           estimating ||A||^2 (--step 1/||A||^2 as the single solves found it), both of
           which the service does once, at start-up
  service  `sprec serve` on the same A (--max-batch b, --max-wait-ms T, default 100): b
           requests sent at once by 16 client threads (y as a .npy body, options in the
           query), then their results waited for (GET ?wait); the time from the first
           POST to the last result. (With the service's default of 20 ms, the gaps of a
           loaded machine between the clients' submissions, up to 30 ms, sometimes cut
           the burst in two batches: a second round of passes over A, +10% and more.)
  load     --load-requests requests at a fixed offered load (--rate requests per second,
           Poisson arrivals, fixed seed), each from its own thread: latency from its
           arrival time to its result, p50 and p99

  (batch and service take turns --reps times, default 3: each figure the best of its
  runs; the service stays up, idle, while the CLI runs; "solving" is the time the
  service spent in its batches, read from its state: the rest is its own)

  speedup  = service requests per second / cli requests per second    (target >= 20)
  overhead = service time for the b requests / batch solve time - 1    (target <= 10%)

Every answer is checked: each service result equals the batch's result for its y, and
for the first --cli-ys the CLI's single solve, bit for bit (support, coefficients,
objective, iterations). Exit status 1 on a mismatch.
Algorithm: SEA, k = --k (20), --iters (20) iterations (a fixed budget: every request does
the same work, so that the figures compare). Files in --out (default build/bench/serve):
bench-serve.json, bench-serve.csv, and the problem (reused while its shape is the same).

Usage: scripts/bench-serve.py [--m M --n N --k K --iters T] [--ranks "1 2"] [--batch B]
                              [--cli-ys R] [--rate RPS] [--load-requests N]
                              [--max-wait-ms T] [--reps R] [--out DIR] [--sprec BIN] [--quick]
"""
import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"  # one BLAS thread per rank (scripts/mpirun.sh too)

import argparse
import csv
import http.client
import io
import json
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPREC = os.path.join(ROOT, "bin", "sprec")
MPIRUN = os.path.join(ROOT, "scripts", "mpirun.sh")
SAME = ("support", "coef", "objective", "iterations", "best_iteration", "stop_reason")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--m", type=int)
    p.add_argument("--n", type=int)
    p.add_argument("--k", type=int)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--ranks", default="1 2")
    p.add_argument("--batch", type=int, help="b: requests sent at once, and the CLI batch (default 64)")
    p.add_argument("--cli-ys", type=int, help="single CLI solves timed (default 3)")
    p.add_argument("--rate", type=float, help="offered load, requests per second (default 0.5)")
    p.add_argument("--load-requests", type=int, help="requests of the load test (default 100)")
    p.add_argument("--max-wait-ms", type=int, default=100, help="the service's --max-wait-ms (default 100)")
    p.add_argument("--clients", type=int, default=16, help="client threads for the b requests")
    p.add_argument("--reps", type=int, default=3, help="CLI batch and service rounds, in turns (best of)")
    p.add_argument("--out", default=os.path.join(ROOT, "build", "bench", "serve"))
    p.add_argument("--sprec", default=SPREC, help="the sprec binary (default bin/sprec)")
    p.add_argument("--quick", action="store_true", help="a small problem: a smoke test")
    a = p.parse_args()
    full = dict(m=1000, n=200000, k=20, batch=64, cli_ys=3, rate=0.5, load_requests=100)
    quick = dict(m=200, n=5000, k=5, batch=8, cli_ys=2, rate=10.0, load_requests=24)
    for key, v in (quick if a.quick else full).items():
        if getattr(a, key) is None:
            setattr(a, key, v)
    a.ranks = [int(r) for r in a.ranks.replace(",", " ").split()]
    a.out = os.path.abspath(a.out)
    return a


def sh(*cmd, **kw):
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


def npy_bytes(y):
    b = io.BytesIO()
    np.save(b, y)
    return b.getvalue()


# ------------------------------------------------------------------ the problem --
def make_problem(a, d):
    """A (sprec gen, Gaussian, reused while its shape holds), b right-hand sides
    y_p = A x_p + 1% noise with x_p k-sparse: Y.npy (m x b) and y<p>.npy."""
    pd = os.path.join(d, "problem")
    A_path = os.path.join(pd, "A.npy")
    ok = os.path.exists(A_path) and np.load(A_path, mmap_mode="r").shape == (a.m, a.n)
    if not ok:
        shutil.rmtree(pd, ignore_errors=True)
        print("bench-serve: generating A (%d x %d, %.2f GB)" % (a.m, a.n, a.m * a.n * 8 / 1e9), flush=True)
        sh(MPIRUN, "-np", max(a.ranks), SPREC, "gen", "--problem", "gaussian", "-m", a.m, "-n", a.n,
           "-k", a.k, "--seed", 1, "--out", pd, "--quiet")
    A = np.load(A_path, mmap_mode="r")
    rng = np.random.default_rng(2024)
    Y = np.empty((a.m, a.batch))
    for p in range(a.batch):
        idx = np.sort(rng.choice(a.n, a.k, replace=False))
        y = np.asarray(A[:, idx]) @ (rng.choice([-1, 1], a.k) * (1 + np.abs(rng.normal(size=a.k))))
        Y[:, p] = y + rng.normal(size=a.m) * np.linalg.norm(y) / np.sqrt(a.m) * 0.01
        np.save(os.path.join(pd, "y%d.npy" % p), Y[:, p])
    np.save(os.path.join(pd, "Y.npy"), Y)
    return A_path, Y


# ------------------------------------------------------------------ the service --
class Service:
    def __init__(self, a, p, A_path, state):
        shutil.rmtree(state, ignore_errors=True)
        self.state = state
        self.log = open(state + ".log", "w")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [MPIRUN, "-np", str(p), SPREC, "serve", "--A", A_path, "--state", state, "--max-batch",
             str(a.batch), "--max-wait-ms", str(a.max_wait_ms)],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        ep = os.path.join(state, "endpoint.json")
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("sprec serve exited with status %d (see %s.log)" % (self.proc.returncode, state))
            if os.path.exists(ep):
                try:
                    e = json.load(open(ep))
                    u = urllib.parse.urlsplit(e["url"])
                    self.host, self.port, self.token = u.hostname, u.port, e["token"]
                    if self.call("GET", "/v1/health")[0] == 200:
                        break
                except (ValueError, KeyError, OSError):
                    pass
            time.sleep(0.05)
        self.startup = time.perf_counter() - t0

    def call(self, method, path, body=None, ctype=None, timeout=900):
        c = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        h = {"Authorization": "Bearer " + self.token}
        if ctype:
            h["Content-Type"] = ctype
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def post(self, y, query):
        """Submits y (an array, or its .npy bytes); its id."""
        body = y if isinstance(y, bytes) else npy_bytes(y)
        code, body = self.call("POST", "/v1/solves?" + query, body, "application/x-npy")
        if code != 202:
            raise RuntimeError("POST: %d %s" % (code, body[:200]))
        return json.loads(body)["id"]

    def solve(self, y, query):
        """POST y, then wait for its result."""
        return self.wait(self.post(y, query))

    def wait(self, rid):
        """The result of request rid, once it has one."""
        while True:
            code, body = self.call("GET", "/v1/solves/%s?wait=600" % rid)
            r = json.loads(body)
            if code != 200:
                raise RuntimeError("GET: %d %s" % (code, body[:200]))
            if r["status"] not in ("queued", "running"):
                return r

    def solving_seconds(self, ids):
        """The time the requests ids spent in their batches, start to the last result
        stored, summed over the batches (read from the state database)."""
        db = sqlite3.connect("file:%s/state.sqlite?mode=ro" % self.state, uri=True, timeout=60)
        try:
            q = "SELECT started, MAX(finished) FROM requests WHERE id IN (%s) GROUP BY started" % (
                ",".join("?" * len(ids)))
            return sum(f - t for t, f in db.execute(q, ids).fetchall())
        finally:
            db.close()

    def metrics(self):
        code, body = self.call("GET", "/metrics")
        m = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                m[name] = float(value)
        return m

    def stop(self):
        os.killpg(self.proc.pid, signal.SIGTERM)
        rc = self.proc.wait(timeout=300)
        self.log.close()
        return rc


def run_threads(jobs, nthreads):
    """Runs the callables in jobs on nthreads threads; their results in order."""
    out, lock, it = [None] * len(jobs), threading.Lock(), iter(range(len(jobs)))
    errors = []

    def worker():
        while True:
            with lock:
                i = next(it, None)
            if i is None:
                return
            try:
                out[i] = jobs[i]()
            except Exception as x:  # reported after the join
                errors.append(x)

    th = [threading.Thread(target=worker) for _ in range(nthreads)]
    [t.start() for t in th]
    [t.join() for t in th]
    if errors:
        raise errors[0]
    return out


def pct(xs, q):
    """The q-th percentile (nearest rank): of 100 latencies, p99 is the 99th smallest."""
    s = sorted(xs)
    return s[max(0, min(len(s) - 1, int(np.ceil(q / 100 * len(s))) - 1))]


# ------------------------------------------------------------------ one rank count --
def bench_ranks(a, p, A_path, Y):
    d = os.path.join(a.out, "np%d" % p)
    os.makedirs(d, exist_ok=True)
    pd = os.path.dirname(A_path)
    opts = ["--algo", "sea", "-k", str(a.k), "--iters", str(a.iters)]
    query = "algo=sea&k=%d&iters=%d" % (a.k, a.iters)
    bad = []
    r = {"ranks": p}

    # One sprec solve per y.
    cli, cli_res = [], []
    for q in range(a.cli_ys):
        out = os.path.join(d, "cli%d.json" % q)
        t0 = time.perf_counter()
        sh(MPIRUN, "-np", p, SPREC, "solve", "--A", A_path, "--y", os.path.join(pd, "y%d.npy" % q), *opts,
           "--quiet", "--out", out)
        cli.append(time.perf_counter() - t0)
        cli_res.append(json.load(open(out)))
        print("bench-serve: np=%d cli y%d %.2f s (io %.2f, setup %.2f)" % (
            p, q, cli[-1], cli_res[-1]["time"]["io"], cli_res[-1]["time"]["setup"]), flush=True)
    r["cli_seconds"] = cli
    r["cli_seconds_median"] = statistics.median(cli)
    r["cli_requests_per_second"] = 1 / r["cli_seconds_median"]
    r["cli_io_seconds"] = statistics.median(x["time"]["io"] for x in cli_res)
    r["cli_setup_seconds"] = statistics.median(x["time"]["setup"] for x in cli_res)

    # The service, started once; then, --reps times, taking turns: the same ys as one
    # batch through the CLI, and as b requests to the service (each figure: the best).
    s = Service(a, p, A_path, os.path.join(d, "state"))
    r["service_startup_seconds"] = s.startup
    print("bench-serve: np=%d service started in %.1f s" % (p, s.startup), flush=True)
    r.update(batch_wall_all=[], batch_solve_all=[], service_all=[], service_batches_all=[], service_passes_all=[],
             service_solve_all=[])
    try:
        for rep in range(a.reps):
            # The CLI batch gets the step 1/||A||^2 the single solves computed (the same
            # double: the answers stay the same bit for bit, checked below), so that its
            # time is the solve alone: a batch's time.setup does not count its ||A||^2
            # estimate, which falls in its time.total.
            out = os.path.join(d, "batch.json")
            t0 = time.perf_counter()
            sh(MPIRUN, "-np", p, SPREC, "solve", "--A", A_path, "--y", os.path.join(pd, "Y.npy"), *opts,
               "--quiet", "--step", repr(cli_res[0]["step"]), "--out", out)
            r["batch_wall_all"].append(time.perf_counter() - t0)
            batch = json.load(open(out))
            t = batch["time"]
            r["batch_solve_all"].append(t["total"] - t["io"] - t["setup"])
            r["batch_passes"] = batch["perf"]["apply_T_passes"]
            probs = batch["problems"] if "problems" in batch else [batch]
            for q, c in enumerate(cli_res):
                if any(c[key] != probs[q][key] for key in SAME):
                    bad.append(("cli vs batch", p, q))
            print("bench-serve: np=%d batch of %d: %.2f s wall, solve %.2f s (io %.2f, setup %.2f), %d passes" % (
                p, a.batch, r["batch_wall_all"][-1], r["batch_solve_all"][-1], t["io"], t["setup"],
                r["batch_passes"]), flush=True)

            m0 = s.metrics()
            bodies = [npy_bytes(Y[:, q]) for q in range(a.batch)]  # (the client's work, before the clock)
            t0 = time.perf_counter()
            ids = run_threads([(lambda q=q: s.post(bodies[q], query)) for q in range(a.batch)], a.clients)
            res = run_threads([(lambda i=i: s.wait(i)) for i in ids], a.clients)
            r["service_all"].append(time.perf_counter() - t0)
            m1 = s.metrics()
            r["service_batches_all"].append(int(m1["sprec_batches_total"] - m0["sprec_batches_total"]))
            r["service_passes_all"].append(int(m1["sprec_passes_total"] - m0["sprec_passes_total"]))
            for q, x in enumerate(res):
                if x["status"] != "done" or any(x[key] != probs[q][key] for key in SAME):
                    bad.append(("service vs batch", p, q, x.get("status"), x.get("error")))
            # The time the service spent solving (and storing the results): from its
            # state, each batch's requests started together; the rest of the wall time
            # is the service's own (waiting for a batch to fill, HTTP, the store).
            r["service_solve_all"].append(s.solving_seconds(ids))
            print("bench-serve: np=%d service: %d requests in %.2f s, %d batches, %d passes, solving %.2f s" % (
                p, a.batch, r["service_all"][-1], r["service_batches_all"][-1], r["service_passes_all"][-1],
                r["service_solve_all"][-1]), flush=True)
        best = min(range(a.reps), key=lambda i: r["service_all"][i])
        r["batch_wall_seconds"] = min(r["batch_wall_all"])
        r["batch_solve_seconds"] = min(r["batch_solve_all"])
        r["service_seconds"] = r["service_all"][best]
        r["service_batches"] = r["service_batches_all"][best]
        r["service_passes"] = r["service_passes_all"][best]
        r["service_solve_seconds"] = r["service_solve_all"][best]
        r["service_requests_per_second"] = a.batch / r["service_seconds"]

        # A fixed offered load: Poisson arrivals.
        rng = np.random.default_rng(7)
        arrivals = np.cumsum(rng.exponential(1 / a.rate, a.load_requests))
        lat = [None] * a.load_requests
        m0 = s.metrics()

        def one(i, t_arrive):
            x = s.solve(Y[:, i % a.batch], query)
            lat[i] = time.perf_counter() - t_arrive
            if x["status"] != "done" or any(x[key] != probs[i % a.batch][key] for key in SAME):
                bad.append(("load vs batch", p, i, x.get("status")))

        th, start = [], time.perf_counter()
        for i, at in enumerate(arrivals):
            delay = start + at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            t = threading.Thread(target=one, args=(i, start + at))
            t.start()
            th.append(t)
        [t.join() for t in th]
        m1 = s.metrics()
        done = [x for x in lat if x is not None]
        if len(done) != a.load_requests:
            bad.append(("load: requests without a result", p, a.load_requests - len(done)))
        nb = m1["sprec_batches_total"] - m0["sprec_batches_total"]
        r.update(load_rate=a.rate, load_requests=a.load_requests, load_seconds=time.perf_counter() - start,
                 latency_p50=pct(done, 50), latency_p99=pct(done, 99), latency_mean=statistics.mean(done),
                 latency_max=max(done), load_batches=int(nb), load_mean_batch=a.load_requests / max(nb, 1))
        print("bench-serve: np=%d load %.3g/s: %d requests, p50 %.3f s, p99 %.3f s, %d batches" % (
            p, a.rate, a.load_requests, r["latency_p50"], r["latency_p99"], nb), flush=True)
    finally:
        rc = s.stop()
    if rc != 0:
        bad.append(("sprec serve exit status", p, rc))
    r["speedup_vs_cli"] = r["service_requests_per_second"] / r["cli_requests_per_second"]
    r["overhead_vs_batch"] = r["service_seconds"] / r["batch_solve_seconds"] - 1
    r["overhead_vs_batch_wall"] = r["service_seconds"] / r["batch_wall_seconds"] - 1
    return r, bad


def main():
    global SPREC
    a = parse_args()
    SPREC = os.path.abspath(a.sprec)
    os.makedirs(a.out, exist_ok=True)
    A_path, Y = make_problem(a, a.out)
    rows, bad = [], []
    for p in a.ranks:
        r, b = bench_ranks(a, p, A_path, Y)
        rows.append(r)
        bad += b
    setting = dict(m=a.m, n=a.n, k=a.k, algo="sea", iters=a.iters, batch=a.batch, max_batch=a.batch,
                   max_wait_ms=a.max_wait_ms, clients=a.clients, quick=a.quick)
    json.dump(dict(setting, results=rows), open(os.path.join(a.out, "bench-serve.json"), "w"), indent=1)
    cols = ["ranks", "cli_seconds_median", "cli_requests_per_second", "service_requests_per_second",
            "speedup_vs_cli", "batch_solve_seconds", "batch_wall_seconds", "service_seconds", "overhead_vs_batch",
            "service_batches", "service_passes", "batch_passes", "service_solve_seconds", "service_startup_seconds",
            "load_rate",
            "load_requests", "latency_p50", "latency_p99", "latency_mean", "latency_max", "load_mean_batch"]
    with open(os.path.join(a.out, "bench-serve.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for r in rows:
            w.writerow([("%.6g" % r[c]) if isinstance(r[c], float) else r[c] for c in cols])

    print()
    print("sprec serve vs sprec solve: m=%d n=%d, SEA k=%d, %d iterations, b=%d requests "
          "(--max-batch %d, --max-wait-ms %d)" % (a.m, a.n, a.k, a.iters, a.batch, a.batch, a.max_wait_ms))
    print("%-5s %9s %9s %11s %14s %12s %10s %15s %8s %8s %8s" % (
        "ranks", "cli s/y", "cli y/s", "service y/s", "speedup(>=20)", "batch solve", "service",
        "overhead(<=10%)", "load/s", "p50 s", "p99 s"))
    for r in rows:
        print("%-5d %9.3f %9.4f %11.3f %13.1fx %11.2fs %9.2fs %14.1f%% %8.3g %8.3f %8.3f" % (
            r["ranks"], r["cli_seconds_median"], r["cli_requests_per_second"], r["service_requests_per_second"],
            r["speedup_vs_cli"], r["batch_solve_seconds"], r["service_seconds"], 100 * r["overhead_vs_batch"],
            r["load_rate"], r["latency_p50"], r["latency_p99"]))
    print("(the b requests: %s; the CLI batch: %s passes)" % (
        ", ".join("np=%d %d batches, %d passes, solving %.2f s" % (
            r["ranks"], r["service_batches"], r["service_passes"], r["service_solve_seconds"]) for r in rows),
        ", ".join(str(r["batch_passes"]) for r in rows)))
    print("files: %s/bench-serve.json, bench-serve.csv" % a.out)
    if bad:
        print("bench-serve: MISMATCH: %s" % bad[:5], file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
