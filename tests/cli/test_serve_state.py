#!/usr/bin/python3
"""sprec serve's state directory under misuse: each promise of README's "Service"
(state) tried against what breaks it, with real ranks, real SQLite files and real kills.

  tests/cli/test_serve_state.py [PATH/TO/sprec]

* The state knows its dictionary: a restart with another dictionary of the same shape,
  or of another shape, is refused (exit 2, one line naming both fingerprints; the
  queued requests untouched); with --new-dictionary they are failed with the reason,
  never solved, and the new dictionary is served; a state of the previous version
  (no fingerprint) opens, adopts the dictionary and solves what it had queued.
* One service per state: a second start on a state in use exits 2 naming the running
  one's pid and URL, and leaves endpoint.json alone; a restart right after a SIGKILL of
  the launcher's process group, on the same fixed port, comes up and answers every
  acknowledged request.
* State integrity: a page of state.sqlite overwritten: the start is refused (exit 2,
  naming the file, the file untouched); --recover copies what is readable, lists what
  was lost, and the service serves the rest unchanged; --backup-every keeps at most
  --backup-keep sound copies.
* A long batch is not solved twice: killed with SIGKILL after its checkpoint, the
  restarted service resumes the batch from it, and every result is bit for bit
  `sprec solve`'s.
"""
import glob
import hashlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import MPIRUN, SPREC, check, finish, run  # noqa: E402

W = tempfile.mkdtemp(prefix="sprec-serve-state.")


def serve_cmd(state, A, extra=(), np_=2):
    return [MPIRUN, "-np", str(np_), SPREC, "serve", "--A", A, "--state", state, *extra]


def refused(state, A, extra=(), np_=2, timeout=60):
    """A start expected to fail: (status, stderr lines); ("serving", ...) when it was
    still running after timeout seconds (then stopped with SIGTERM)."""
    p = subprocess.Popen(serve_cmd(state, A, extra, np_), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
        code = p.returncode
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGTERM)
        out, err = p.communicate(timeout=120)
        code = "serving"
    return code, [l for l in err.splitlines() if l.strip()]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Service:
    """sprec serve in its own process group (killable as a whole), ready once its
    endpoint.json is rewritten and /v1/health answers."""

    def __init__(self, state, A, extra=(), np_=2, log="serve.log"):
        self.state = state
        ep = os.path.join(state, "endpoint.json")
        old = os.stat(ep).st_mtime_ns if os.path.exists(ep) else None
        self.logpath = os.path.join(W, log)
        self.log = open(self.logpath, "a")
        self.p = subprocess.Popen(serve_cmd(state, A, extra, np_), stdout=self.log, stderr=self.log,
                                  start_new_session=True)
        deadline = time.time() + 120
        while time.time() < deadline:
            if os.path.exists(ep) and os.stat(ep).st_mtime_ns != old:
                try:
                    e = json.load(open(ep))
                    if self.request("GET", "/v1/health", token=False, e=e)[0] == 200:
                        return
                except (OSError, ValueError):
                    pass
            if self.p.poll() is not None:
                raise RuntimeError("sprec serve exited with %s" % self.p.returncode)
            time.sleep(0.05)
        raise RuntimeError("sprec serve did not start")

    def endpoint(self):
        return json.load(open(os.path.join(self.state, "endpoint.json")))

    def request(self, method, path, body=None, token=True, e=None, headers=None, timeout=120):
        e = e or self.endpoint()
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + e["token"]
        if body is not None:
            h["Content-Type"] = "application/json"
        r = urllib.request.Request(e["url"] + path, data=body, method=method, headers=h)
        try:
            with urllib.request.urlopen(r, timeout=timeout) as f:
                return f.status, f.read()
        except urllib.error.HTTPError as x:
            return x.code, x.read()

    def post(self, obj, key=None):
        code, body = self.request("POST", "/v1/solves", json.dumps(obj).encode(),
                                  headers={"Idempotency-Key": key} if key else None)
        return code, json.loads(body)

    def result(self, rid, wait=120):
        code, body = self.request("GET", "/v1/solves/%s?wait=%d" % (rid, wait))
        return code, json.loads(body)

    def stop(self, sig=signal.SIGTERM):
        os.killpg(self.p.pid, sig)
        return self.p.wait(timeout=120)


def same(a, b):
    return all(a.get(k) == b.get(k) for k in ["support", "coef", "objective", "iterations",
                                              "best_iteration", "stop_reason"])


def queued_count(state):
    db = sqlite3.connect(os.path.join(state, "state.sqlite"))
    n = db.execute("SELECT COUNT(*) FROM requests WHERE status='queued'").fetchone()[0]
    db.close()
    return n


def solve_ref(A, y, opts, name):
    out = os.path.join(W, name + ".json")
    flags = [f for k, v in opts.items() for f in (("--" + k) if k != "k" else "-k", str(v))]
    run("solve", "--A", A, "--y", y, *flags, "--out", out, "--quiet")
    return json.load(open(out))


# ------------------------------------------------------------------ problems --
run("gen", "--problem", "gaussian", "-m", "48", "-n", "1500", "-k", "4", "--snr", "40", "--seed", "5",
    "--out", os.path.join(W, "p"), "--quiet")
A1 = os.path.join(W, "p", "A.npy")
M1 = np.load(A1)
A2 = os.path.join(W, "A2.npy")  # the same shape, one entry changed
M2 = M1.copy()
M2[3, 700] += 1e-3
np.save(A2, M2)
A3 = os.path.join(W, "A3.npy")  # another shape
np.save(A3, np.ascontiguousarray(M1[:, :1400]))
rng = np.random.default_rng(3)
YS = []
for p in range(4):
    x = np.zeros(1500)
    x[rng.choice(1400, 4, replace=False)] = rng.choice([-1, 1], 4) * (1 + abs(rng.normal(size=4)))
    y = M1 @ x + rng.normal(size=48) * 0.01
    path = os.path.join(W, "y%d.npy" % p)
    np.save(path, y)
    YS.append((path, list(y)))
OPTS = {"algo": "htp", "k": 4}

# ------------------------------------------------- the state knows its dictionary --
def section_dictionary():
    state = os.path.join(W, "state-dict")
    s = Service(state, A1, ["--max-wait-ms", "60000"])
    ids = [s.post(dict(OPTS, y=YS[p][1]))[1]["id"] for p in range(3)]  # they wait to be batched
    check("3 requests queued against A1, then SIGTERM", s.stop() == 0 and queued_count(state) == 3)
    code, err = refused(state, A2)
    check("a restart with another dictionary of the same shape: exit 2, one line naming both",
          code == 2 and len(err) == 1 and err[0].count("dense float64 48x1500 sum:") == 2, (code, err))
    check("... and the queued requests are untouched", queued_count(state) == 3)
    code, err = refused(state, A3)
    check("a restart with a dictionary of another shape: exit 2, one line naming both",
          code == 2 and len(err) == 1 and "48x1400" in err[0] and "48x1500" in err[0], (code, err))
    s = Service(state, A2, ["--new-dictionary", "--max-wait-ms", "0"])
    res = [s.result(i, wait=5)[1] for i in ids]
    check("--new-dictionary: the requests queued against A1 are failed with the reason, never solved",
          all(r.get("status") == "failed" and "dictionary" in r.get("error", "") and "support" not in r
              for r in res), res)
    code, r = s.post(dict(OPTS, y=YS[3][1]))
    c, r = s.result(r["id"])
    ref2 = solve_ref(A2, YS[3][0], OPTS, "ref-A2")
    check("--new-dictionary: a new request is solved against the new dictionary (sprec solve's answer)",
          c == 200 and r.get("status") == "done" and same(r, ref2), r.get("error"))
    s.stop()
    code, err = refused(state, A1)
    check("the state now holds A2's fingerprint: a start with A1 is refused", code == 2 and len(err) == 1, err)

    # A state written by the previous version (no fingerprint anywhere): it opens, adopts
    # the dictionary it is started with, and solves what it had queued.
    db = sqlite3.connect(os.path.join(state, "state.sqlite"))
    key, opts = db.execute("SELECT key, opts FROM requests WHERE status='done' LIMIT 1").fetchone()
    db.close()
    old = os.path.join(W, "state-v1")
    os.makedirs(old, 0o700)
    db = sqlite3.connect(os.path.join(old, "state.sqlite"))
    db.executescript("""PRAGMA journal_mode=WAL;
    CREATE TABLE requests ( seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, idem TEXT UNIQUE,
     key TEXT NOT NULL, opts TEXT NOT NULL, y BLOB NOT NULL, status TEXT NOT NULL,
     created REAL NOT NULL, started REAL, finished REAL, result TEXT);
    CREATE INDEX by_status ON requests(status, seq);""")
    db.execute("INSERT INTO requests(id, key, opts, y, status, created) VALUES(?, ?, ?, ?, 'queued', ?)",
               ("a" * 32, key, opts, np.array(YS[0][1]).tobytes(), time.time()))
    db.execute("INSERT INTO requests(id, key, opts, y, status, created, started, finished, result) "
               "VALUES(?, ?, ?, x'', 'done', ?, ?, ?, ?)", ("b" * 32, key, opts, time.time(), time.time(),
                                                          time.time(), '{"old": 1}'))
    db.commit()
    db.close()
    ref1 = solve_ref(A1, YS[0][0], OPTS, "ref-A1")
    try:
        s = Service(old, A1, ["--max-wait-ms", "0"])
        c, r = s.result("a" * 32)
        c2, r2 = s.result("b" * 32, wait=0)
        s.stop()
    except RuntimeError as x:
        c, r, c2, r2 = 0, {"error": str(x)}, 0, {}
    check("a state of the previous version opens and solves its queued request (sprec solve's answer)",
          c == 200 and r.get("status") == "done" and same(r, ref1), r.get("error"))
    check("... and keeps its results", c2 == 200 and r2.get("old") == 1, r2)
    code, err = refused(old, A2)
    check("... and has adopted the dictionary it was started with: another one is refused",
          code == 2 and len(err) == 1 and "dense float64 48x1500 sum:" in err[0], (code, err))


# ------------------------------------------------------- one service per state --
def section_one_service():
    state = os.path.join(W, "state-lock")
    s = Service(state, A1, ["--max-wait-ms", "0"])
    ep = os.path.join(state, "endpoint.json")
    before, mtime, e = open(ep).read(), os.stat(ep).st_mtime_ns, s.endpoint()
    t0 = time.time()
    code, err = refused(state, A1)
    check("a second service on a state in use: exit 2, one line naming the running one's pid and URL",
          code == 2 and len(err) == 1 and str(e["pid"]) in err[0] and e["url"] in err[0], (code, err))
    check("... after waiting for it (--start-wait, 10 s by default)", 10 <= time.time() - t0 < 60,
          time.time() - t0)
    check("... and endpoint.json is the running service's, untouched",
          open(ep).read() == before and os.stat(ep).st_mtime_ns == mtime)
    code, r = s.post(dict(OPTS, y=YS[0][1]))
    check("the running service still serves", code == 202 and s.result(r["id"])[1].get("status") == "done")
    s.stop()

    # SIGKILL of the launcher's process group with a fixed port, and a restart at once: the
    # dying rank 0 must not go on accepting requests that no service would then solve, and
    # the new service must come up on the same port.
    state = os.path.join(W, "state-port")
    port = free_port()
    extra = ["--listen", "127.0.0.1:%d" % port, "--max-wait-ms", "5"]
    s = Service(state, A1, extra)
    N, acked, alock = 40, {}, threading.Lock()
    deadline = time.time() + 300

    def client(c):
        for i in range(c, N, 4):
            body = json.dumps(dict(OPTS, y=YS[i % 4][1])).encode()
            while time.time() < deadline:
                try:
                    e = json.load(open(os.path.join(state, "endpoint.json")))
                    r = urllib.request.Request(e["url"] + "/v1/solves", data=body, method="POST",
                                               headers={"Authorization": "Bearer " + e["token"],
                                                        "Content-Type": "application/json",
                                                        "Idempotency-Key": "port-%d" % i})
                    with urllib.request.urlopen(r, timeout=30) as f:
                        if f.status == 202:
                            with alock:
                                acked[i] = json.loads(f.read())["id"]
                            break
                except (OSError, ValueError, urllib.error.URLError):
                    pass
                time.sleep(0.02)

    th = [threading.Thread(target=client, args=(c,)) for c in range(4)]
    [t.start() for t in th]
    while len(acked) < 10 and time.time() < deadline:
        time.sleep(0.01)
    os.killpg(s.p.pid, signal.SIGKILL)
    s.p.wait()
    try:
        s = Service(state, A1, extra)
        up = True
    except RuntimeError:
        up, s = False, None
    check("a restart right after a SIGKILL of the launcher's group comes up on the same port", up)
    [t.join() for t in th]
    bad = []
    for i, rid in sorted(acked.items()):
        c, r = s.result(rid, wait=60) if s else (0, {})
        if c != 200 or r.get("status") != "done":
            bad.append((i, c, r.get("status")))
    check("every acknowledged request (%d of %d) is solved by the new service" % (len(acked), N),
          len(acked) == N and not bad, bad[:5])
    if s:
        s.stop()


# ------------------------------------------------------------- state integrity --
def section_integrity():
    state = os.path.join(W, "state-damage")
    s = Service(state, A1, ["--max-wait-ms", "5"])
    ids = [s.post(dict(OPTS, y=YS[i % 4][1]))[1]["id"] for i in range(40)]
    results = {i: s.result(i)[1] for i in ids}
    s.stop()
    dbpath = os.path.join(state, "state.sqlite")
    data = bytearray(open(dbpath, "rb").read())
    page = 4096
    target = None
    for pg in range(1, len(data) // page):  # a leaf page of the table: results in it
        chunk = data[pg * page:(pg + 1) * page]
        if chunk[0] == 0x0D and chunk.count(b'"support"') >= 1:
            target = pg
            break
    data[target * page + 8:(target + 1) * page] = bytes(np.random.default_rng(1).integers(0, 256, page - 8,
                                                                                           dtype=np.uint8))
    open(dbpath, "wb").write(data)
    digest = hashlib.sha256(data).hexdigest()
    code, err = refused(state, A1)
    check("a damaged state.sqlite: exit 2, one line naming the file",
          code == 2 and len(err) == 1 and "state.sqlite" in err[0] and "--recover" in err[0], (code, err))
    check("... and the file is untouched", hashlib.sha256(open(dbpath, "rb").read()).hexdigest() == digest)
    p = subprocess.run([MPIRUN, "-np", "1", SPREC, "serve", "--recover", state], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=120)
    lost = [l.split()[1] for l in p.stdout.splitlines() if l.startswith("lost ")]
    check("--recover: exit 0, the lost requests listed by id", p.returncode == 0 and 0 < len(lost) < 40
          and set(lost) <= set(ids), (p.returncode, p.stdout[-400:], p.stderr[-400:]))
    kept = [i for i in ids if i not in lost]
    s = None
    try:
        s = Service(state, A1, ["--max-wait-ms", "5"])
        got = {i: s.result(i, wait=0) for i in ids}
    except RuntimeError:
        got = {}
    check("after --recover the service starts and serves every other result unchanged (%d of 40)" % len(kept),
          got and all(got[i][0] == 200 and got[i][1] == results[i] for i in kept), len(got))
    check("... and a lost id is unknown (404)", got and all(got[i][0] == 404 for i in lost))
    if s:
        s.stop()

    state = os.path.join(W, "state-backup")
    try:
        s = Service(state, A1, ["--max-wait-ms", "0", "--backup-every", "1", "--backup-keep", "2"])
        for i in range(12):  # changes for 4 s: a backup each second
            s.result(s.post(dict(OPTS, y=YS[i % 4][1]))[1]["id"])
            time.sleep(0.33)
        time.sleep(1.5)
        backups = sorted(glob.glob(os.path.join(state, "backups", "state-*.sqlite")))
        ok = 1 <= len(backups) <= 2
        for b in backups:
            db = sqlite3.connect("file:%s?mode=ro" % b, uri=True)
            ok &= db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
            db.close()
        db = sqlite3.connect("file:%s?mode=ro" % backups[-1], uri=True)
        ndone = db.execute("SELECT COUNT(*) FROM requests WHERE status='done'").fetchone()[0]
        db.close()
        s.stop()
    except (RuntimeError, IndexError, sqlite3.Error) as x:
        ok, ndone, backups = False, 0, [str(x)]
    check("--backup-every 1 --backup-keep 2: at most 2 sound backups in DIR/backups, the newest with all 12 results",
          ok and ndone == 12, (backups, ndone))


# ----------------------------------------------- a long batch is not solved twice --
def section_long_batch():
    run("gen", "--problem", "gaussian", "-m", "200", "-n", "20000", "-k", "10", "--snr", "10", "--seed", "3",
        "--out", os.path.join(W, "big"), "--quiet")
    AB = os.path.join(W, "big", "A.npy")
    MB = np.load(AB)
    LONG = {"algo": "sea", "k": 10, "iters": 1000}
    ybig = []
    for p in range(3):
        x = np.zeros(MB.shape[1])
        x[rng.choice(MB.shape[1], 10, replace=False)] = rng.normal(size=10)
        y = MB @ x
        y += rng.normal(size=y.shape) * np.linalg.norm(y) / np.sqrt(len(y)) * 0.3
        path = os.path.join(W, "yb%d.npy" % p)
        np.save(path, y)
        ybig.append((path, list(y)))
    refs = [solve_ref(AB, ybig[p][0], LONG, "ref-big%d" % p) for p in range(3)]
    state = os.path.join(W, "state-ckpt")
    extra = ["--max-wait-ms", "500", "--checkpoint-every", "100"]
    resumed = False
    try:
        s = Service(state, AB, extra, log="ckpt.log")
        ids = [None] * 3

        def post(p):
            ids[p] = s.post(dict(LONG, y=ybig[p][1]))[1]["id"]

        th = [threading.Thread(target=post, args=(p,)) for p in range(3)]
        [t.start() for t in th]
        [t.join() for t in th]
        t0 = time.time()
        while not glob.glob(os.path.join(state, "batch-*.ckpt")) and time.time() - t0 < 120:
            time.sleep(0.02)
        time.sleep(0.5)  # a few more iterations past the checkpoint
        first = [s.result(i, wait=0)[1].get("status") for i in ids]
        s.stop(signal.SIGKILL)
        s = Service(state, AB, extra, log="ckpt.log")
        res = [s.result(i, wait=300)[1] for i in ids]
        s.stop()
        log = open(os.path.join(W, "ckpt.log")).read()
        resumed = [l for l in log.splitlines() if "resum" in l]
    except RuntimeError as x:
        first, res, log = [], [], str(x)
    check("SIGKILL mid-batch (the batch running, its checkpoint written)", first == ["running"] * 3, first)
    check("the restarted service resumes the batch from its checkpoint (not from iteration 0)",
          resumed and any(" iteration " in l and " iteration 0 " not in l for l in resumed), log[-600:])
    check("each result of the resumed batch is bit for bit sprec solve's",
          len(res) == 3 and all(r.get("status") == "done" and same(r, refs[p]) for p, r in enumerate(res)),
          [(r.get("status"), r.get("error")) for r in res])
    check("no checkpoint file is left once the batch is done", not glob.glob(os.path.join(state, "batch-*")))


def section(name, fn):
    """A section that breaks (a service that does not start, an unknown option) fails
    its case and lets the next sections run."""
    try:
        fn()
    except Exception as x:  # noqa: BLE001 (any failure of the section is a failed case)
        check("%s: the section ran to its end" % name, False, "%s: %s" % (type(x).__name__, x))


section("the state knows its dictionary", section_dictionary)
section("one service per state", section_one_service)
section("state integrity", section_integrity)
section("a long batch is not solved twice", section_long_batch)
finish()
