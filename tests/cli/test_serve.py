#!/usr/bin/python3
"""sprec serve end to end: a real server on loopback, real ranks, real SQLite files.

  tests/cli/test_serve.py [PATH/TO/sprec]   (NPS="1 2 3 4" chooses the rank counts)

* Each result is bit for bit `sprec solve`'s for the same y and options (support,
  coefficients, objective, iterations), whatever batch it was solved in, at every rank
  count of NPS, for SEA, HTP and OMP, y sent as JSON and as a .npy body; with A held
  in single precision (--dtype float32), sprec solve --dtype float32's.
* No token or a wrong one: 401; each kind of malformed request (not JSON, y of the wrong
  length, a string in y, an unknown option, an out-of-range option, k too large, the
  wrong content type): 400 naming the field (a body over the limit: 413), and the service
  still answers; a full queue: 429 with Retry-After; DELETE of a queued request cancels
  it; endpoint.json is mode 0600; SIGTERM: exit 0 and queued requests kept.
* Strict requests: a JSON member or a query option given twice is a 400 naming it.
* An Idempotency-Key is bound to its request: the same y and options (however spelled)
  get the first id, another y, k, algorithm or one ulp of y a 422 naming the key; a
  key that is empty, over 255 characters or not printable ASCII is a 400 (sprec submit
  refuses it before sending); a state of the previous schema opens, its keys retried
  as before.
* Connections: a Content-Length over --max-body is a 413 before the body is read, a
  chunked body past it is cut; idle and half-header connections are closed at the
  15 s idle timeout, while a long poll and a slow but steady body are served; a flood
  of 640 idle connections from 8 loopback addresses leaves the health check and a
  token holder from another address their way in.
* The client gives up in a bounded time (--retry 0) against a socket that accepts and
  never answers, and one whose connections never complete.
* 1000 requests from 16 concurrent clients (each with an Idempotency-Key, retried
  through connection errors) while the service is killed with SIGKILL three times at
  random moments and restarted on the same state directory: 1000 results, each id
  exactly once, each equal to the CLI's answer for its y.
"""
import json
import os
import random
import signal
import socket
import sqlite3
import stat
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

NPS = [int(p) for p in os.environ.get("NPS", "1 2 3 4").split()]
W = tempfile.mkdtemp(prefix="sprec-serve.")


class Service:
    """sprec serve on np ranks in its own process group (killable as a whole)."""

    def __init__(self, state, np_=2, extra=()):
        self.state, self.np = state, np_
        ep = os.path.join(state, "endpoint.json")
        old = os.stat(ep).st_mtime_ns if os.path.exists(ep) else None
        self.log = open(os.path.join(W, "serve.log"), "a")
        self.p = subprocess.Popen([MPIRUN, "-np", str(np_), SPREC, "serve", "--A", A_PATH,
                                   "--state", state, *extra], stdout=self.log, stderr=self.log,
                                  start_new_session=True)
        deadline = time.time() + 120
        while time.time() < deadline:  # ready once endpoint.json is (re)written
            if os.path.exists(ep) and os.stat(ep).st_mtime_ns != old:
                e = json.load(open(ep))
                if self.get("/v1/health", auth=False, e=e)[0] == 200:
                    return
            if self.p.poll() is not None:
                raise RuntimeError("sprec serve exited with %s" % self.p.returncode)
            time.sleep(0.05)
        raise RuntimeError("sprec serve did not start")

    def endpoint(self):
        return json.load(open(os.path.join(self.state, "endpoint.json")))

    def request(self, method, path, body=None, ctype="application/json", token=True, e=None,
                headers=None, timeout=120):
        e = e or self.endpoint()
        h = dict(headers or {})
        if token is True:
            h["Authorization"] = "Bearer " + e["token"]
        elif token:
            h["Authorization"] = "Bearer " + token
        if body is not None:
            h["Content-Type"] = ctype
        r = urllib.request.Request(e["url"] + path, data=body, method=method, headers=h)
        try:
            with urllib.request.urlopen(r, timeout=timeout) as f:
                return f.status, f.read(), dict(f.headers)
        except urllib.error.HTTPError as x:
            return x.code, x.read(), dict(x.headers)

    def get(self, path, auth=True, e=None):
        return self.request("GET", path, token=auth, e=e)

    def post(self, obj, **kw):
        return self.request("POST", "/v1/solves", json.dumps(obj).encode(), **kw)

    def result(self, rid, wait=60):
        code, body, _ = self.get("/v1/solves/%s?wait=%d" % (rid, wait))
        return code, json.loads(body)

    def stop(self, sig=signal.SIGTERM):
        os.killpg(self.p.pid, sig)
        return self.p.wait(timeout=120)


def same(a, b):
    return all(a[k] == b[k] for k in ["support", "coef", "objective", "iterations",
                                      "best_iteration", "stop_reason"])


# ------------------------------------------------------------------ the problem --
run("gen", "--problem", "gaussian", "-m", "48", "-n", "1500", "-k", "4", "--snr", "40",
    "--seed", "5", "--out", os.path.join(W, "p"), "--quiet")
A_PATH = os.path.join(W, "p", "A.npy")
A = np.load(A_PATH)
rng = np.random.default_rng(7)
YS = []
for p in range(8):  # y_p = A x_p + noise, x_p 4-sparse
    x = np.zeros(A.shape[1])
    x[rng.choice(A.shape[1], 4, replace=False)] = rng.choice([-1, 1], 4) * (1 + abs(rng.normal(size=4)))
    y = A @ x
    y += rng.normal(size=y.shape) * np.linalg.norm(y) / np.sqrt(len(y)) * 0.01
    path = os.path.join(W, "y%d.npy" % p)
    np.save(path, y)
    YS.append((path, y))
ALGOS = [{"algo": "sea", "k": 4, "iters": 200}, {"algo": "htp", "k": 4}, {"algo": "omp", "k": 4}]
REF = {}
for a, opts in enumerate(ALGOS):
    for p, (path, _) in enumerate(YS):
        out = os.path.join(W, "ref_%d_%d.json" % (a, p))
        flags = [f for k, v in opts.items() for f in (("--" + k) if k != "k" else "-k", str(v))]
        run("solve", "--A", A_PATH, "--y", path, *flags, "--out", out, "--quiet")
        REF[a, p] = json.load(open(out))

# ---------------------------------------------- results equal the CLI's, any P --
for np_ in NPS:
    state = os.path.join(W, "state-np%d" % np_)
    s = Service(state, np_, ["--max-wait-ms", "100"])
    ids, lock = {}, threading.Lock()

    def submit(a, p, npy):
        if npy:
            q = "&".join("%s=%s" % kv for kv in ALGOS[a].items())
            code, body, _ = s.request("POST", "/v1/solves?" + q, open(YS[p][0], "rb").read(),
                                      ctype="application/x-npy")
        else:
            code, body, _ = s.post(dict(ALGOS[a], y=list(YS[p][1])))
        with lock:
            ids[a, p, npy] = (code, json.loads(body).get("id"))

    th = [threading.Thread(target=submit, args=(a, p, npy)) for a in range(len(ALGOS))
          for p in range(len(YS)) for npy in (0, 1)]
    [t.start() for t in th]
    [t.join() for t in th]
    bad = []
    for (a, p, npy), (code, rid) in sorted(ids.items()):
        c, r = s.result(rid)
        if code != 202 or c != 200 or r.get("status") != "done" or not same(r, REF[a, p]):
            bad.append((ALGOS[a]["algo"], p, npy, code, c, r.get("status"), r.get("error")))
    check("np=%d: %d results equal sprec solve's bit for bit" % (np_, len(ids)), not bad, bad[:3])
    code, body, _ = s.get("/metrics")
    m = body.decode()
    batches = int([l.split()[-1] for l in m.splitlines() if l.startswith("sprec_batches_total")][0])
    check("np=%d: requests shared batches (%d batches for %d requests)" % (np_, batches, len(ids)),
          code == 200 and batches < len(ids), m[:300])
    check("np=%d: SIGTERM stops the service with exit status 0" % np_, s.stop() == 0)

# ------------------------- A in single precision: sprec solve --dtype float32's --
s = Service(os.path.join(W, "state-f32"), 2, ["--dtype", "float32", "--max-wait-ms", "100"])
bad = []
for p in range(3):
    out = os.path.join(W, "ref_f32_%d.json" % p)
    run("solve", "--A", A_PATH, "--y", YS[p][0], "--dtype", "float32", "-k", "4", "--iters",
        "200", "--out", out, "--quiet")
    ref = json.load(open(out))
    code, body, _ = s.post({"y": list(YS[p][1]), "k": 4, "iters": 200})
    c, r = s.result(json.loads(body).get("id"))
    if code != 202 or c != 200 or r.get("dtype") != "float32" or not same(r, ref):
        bad.append((p, code, c, r.get("dtype"), r.get("error")))
check("--dtype float32: results equal sprec solve --dtype float32's bit for bit", not bad, bad)
s.stop()

# ------------------------------------------------- auth, malformed, limits --
state = os.path.join(W, "state-api")
s = Service(state, 2, ["--max-body", "65536", "--max-queue", "3", "--max-wait-ms", "60000",
                       "--max-batch", "64", "--max-k", "10"])
mode = stat.S_IMODE(os.stat(os.path.join(state, "endpoint.json")).st_mode)
check("endpoint.json is mode 0600", mode == 0o600, oct(mode))
y0 = list(YS[0][1])
check("health needs no token", s.get("/v1/health", auth=False)[0] == 200)
check("no token: 401", s.post({"y": y0, "k": 4}, token=False)[0] == 401)
check("a wrong token: 401", s.post({"y": y0, "k": 4}, token="0" * 64)[0] == 401)
check("metrics without token: 401", s.get("/metrics", auth=False)[0] == 401)
cases = [
    ("not JSON", b"{\"y\": [1, 2", "application/json", "body"),
    ("y of the wrong length", json.dumps({"y": y0[:-1], "k": 4}).encode(), "application/json", "y"),
    ("a string in y", json.dumps({"y": y0[:-1] + ["x"], "k": 4}).encode(), "application/json", "y"),
    ("y missing", json.dumps({"k": 4}).encode(), "application/json", "y"),
    ("an unknown option", json.dumps({"y": y0, "k": 4, "frobnicate": 1}).encode(), "application/json", "frobnicate"),
    ("iters < 0", json.dumps({"y": y0, "k": 4, "iters": -1}).encode(), "application/json", "iters"),
    # a value the options keep for their default, refused when a client gives it, as solve does
    ("step 0", json.dumps({"y": y0, "k": 4, "step": 0}).encode(), "application/json", "step"),
    ("lambda 0", json.dumps({"y": y0, "algo": "fista", "lambda": 0}).encode(), "application/json", "lambda"),
    ("k too large", json.dumps({"y": y0, "k": 11}).encode(), "application/json", "k"),
    ("an unknown algorithm", json.dumps({"y": y0, "k": 4, "algo": "magic"}).encode(), "application/json", "algo"),
    # run-control fields, accepted as since the first version: checkpoint_every only at 0
    ("checkpoint_every > 0", json.dumps({"y": y0, "k": 4, "checkpoint_every": 2}).encode(), "application/json",
     "checkpoint_every"),
    ("monitor < 0", json.dumps({"y": y0, "k": 4, "monitor": -1}).encode(), "application/json", "monitor"),
    ("the wrong content type", json.dumps({"y": y0, "k": 4}).encode(), "text/plain", "Content-Type"),
    ("a .npy that is not one", b"\x93NUMPY garbage", "application/x-npy", "y"),
    # a member given twice: refused, not the first y or the last k taken silently
    ("k given twice", ('{"y": %s, "k": 4, "k": 5}' % json.dumps(y0)).encode(), "application/json", "k"),
    ("y given twice", ('{"y": %s, "k": 4, "y": %s}' % (json.dumps(y0), json.dumps(y0[::-1]))).encode(),
     "application/json", "y"),
    ("algo given twice", ('{"algo": "sea", "y": %s, "k": 4, "algo": "htp"}' % json.dumps(y0)).encode(),
     "application/json", "algo"),
]
for name, body, ctype, field in cases:
    code, out, _ = s.request("POST", "/v1/solves?k=4" if "npy" in ctype else "/v1/solves", body, ctype=ctype)
    try:
        err = json.loads(out)
    except ValueError:
        err = {}
    check("%s: 400 naming %s" % (name, field), code == 400 and err.get("field") == field and err.get("error"),
          (code, out[:200]))
    if code == 202:  # wrongly accepted: out of the queue again, for the queue limit below
        s.request("DELETE", "/v1/solves/" + err["id"])
code, out, _ = s.request("POST", "/v1/solves?k=4&iters=100&k=5", open(YS[0][0], "rb").read(),
                         ctype="application/x-npy")
check("an option given twice in the query of a .npy body: 400 naming it",
      code == 400 and json.loads(out).get("field") == "k", (code, out[:200]))
if code == 202:
    s.request("DELETE", "/v1/solves/" + json.loads(out)["id"])
# A body over --max-body: 413, named, at the headers (Content-Length), without the body read.
try:
    code, out, _ = s.request("POST", "/v1/solves", b"{\"y\": [" + b"1.0, " * 20000 + b"1]}")
    err = json.loads(out)
except (OSError, ValueError, urllib.error.URLError) as x:
    code, err = x, {}
check("a body over the limit: 413 naming body", code == 413 and err.get("field") == "body", (code, err))
check("the service still answers", s.get("/v1/health", auth=False)[0] == 200)
code, out = s.post({"y": y0, "k": 4, "monitor": 5, "checkpoint_every": 0})[:2]
check("the run-control fields monitor and checkpoint_every (0) are accepted", code == 202, (code, out[:200]))
if code == 202:  # out of the queue again: the limit below counts from an empty one
    s.request("DELETE", "/v1/solves/" + json.loads(out)["id"])
check("unknown id: 404", s.get("/v1/solves/00000000000000000000000000000000")[0] == 404)
queued = [json.loads(s.post(dict(ALGOS[0], y=y0))[1])["id"] for _ in range(3)]  # waits 60 s to batch
code, _, hdr = s.post({"y": y0, "k": 4})
check("a full queue: 429 with Retry-After", code == 429 and "Retry-After" in hdr, (code, hdr))
code, out, _ = s.request("DELETE", "/v1/solves/" + queued[0])
c2, r = s.result(queued[0], wait=0)
check("DELETE of a queued request cancels it", code == 200 and r["status"] == "cancelled", (code, out))
key = {"Idempotency-Key": "retry-me"}
a1 = json.loads(s.request("POST", "/v1/solves", json.dumps({"y": y0, "k": 4}).encode(), headers=key)[1])["id"]
a2 = json.loads(s.request("POST", "/v1/solves", json.dumps({"y": y0, "k": 4}).encode(), headers=key)[1])["id"]
check("a retried submission with the same Idempotency-Key gets the first id", a1 == a2, (a1, a2))
code, _, hdr = s.request("POST", "/v1/solves", json.dumps({"y": y0, "k": 4}).encode(),
                         headers={"Idempotency-Key": "a-new-one"})
check("the queue full again: a new Idempotency-Key gets 429 too", code == 429 and "Retry-After" in hdr,
      (code, hdr))
check("SIGTERM with requests queued: exit 0", s.stop() == 0)
# A client waiting while the service is down rides over the restart: it retries, reads
# endpoint.json again (the new service listens on another port) and gets the result.
waiter = subprocess.Popen([SPREC, "status", a1, "--endpoint", os.path.join(state, "endpoint.json"),
                           "--wait", "120", "--retry", "120"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
s = Service(state, 1, ["--max-wait-ms", "0"])
c, r = s.result(queued[1], wait=60)
check("queued requests are solved after a restart", c == 200 and r["status"] == "done"
      and same(r, REF[0, 0]), r.get("status"))
wout, werr = waiter.communicate(timeout=180)
check("sprec status --wait, started while the service was down, gets the result after the restart",
      waiter.returncode == 0 and wout.split()[:2] == [a1, "done"], (waiter.returncode, wout, werr))
s.stop()

# -------------------------------------------- idempotency keys bound to content --
state = os.path.join(W, "state-idem")
s = Service(state, 1, ["--max-wait-ms", "0"])
y1 = list(YS[1][1])


def post_key(key, obj, **kw):
    code, out, _ = s.request("POST", "/v1/solves", json.dumps(obj).encode(), headers={"Idempotency-Key": key}, **kw)
    try:
        return code, json.loads(out)
    except ValueError:
        return code, {"raw": out[:200]}


c1, r1 = post_key("run-42/y7", dict(ALGOS[0], y=y0))
c2, r2 = post_key("run-42/y7", {"tol": 0, "iters": 200.0, "y": y0, "k": 4, "algo": "sea"})  # a default spelled out
npy_same = s.request("POST", "/v1/solves?k=4&algo=sea&iters=200", open(YS[0][0], "rb").read(),
                     ctype="application/x-npy", headers={"Idempotency-Key": "run-42/y7"})
check("the same key with the same y and options (JSON, options spelled out, .npy): the first id",
      c1 == 202 and c2 == 202 and r1.get("id") == r2.get("id") and npy_same[0] == 202
      and json.loads(npy_same[1]).get("id") == r1.get("id"), (c1, r1, c2, r2, npy_same[:2]))
for name, obj in [("another y", dict(ALGOS[0], y=y1)), ("another k", dict(ALGOS[0], y=y0, k=3)),
                  ("another algorithm", dict(ALGOS[0], y=y0, algo="htp")),
                  ("y changed in its last digit", dict(ALGOS[0], y=y0[:-1] + [np.nextafter(y0[-1], 1)]))]:
    code, r = post_key("run-42/y7", obj)
    check("the same key with %s: 422 naming Idempotency-Key" % name,
          code == 422 and r.get("field") == "Idempotency-Key" and "run-42/y7" in r.get("error", ""), (code, r))
code, r = s.result(r1.get("id"), wait=60)
check("the key's request is solved once, for the y it was first sent with",
      code == 200 and r.get("status") == "done" and same(r, REF[0, 0]), r.get("status"))
for name, key in [("empty", ""), ("256 characters", "k" * 256), ("with a space", "run 42"),
                  ("with a control character", "run\x0142"), ("not ASCII", "r\u00e9sum\u00e9")]:
    try:
        code, r = post_key(key, {"y": y0, "k": 4})
    except (OSError, ValueError, urllib.error.URLError) as x:  # a client that refuses to send it
        code, r = x, {}
    check("an Idempotency-Key %s: 400 naming it" % name, code == 400 and r.get("field") == "Idempotency-Key",
          (code, r))
code, r = post_key("k" * 255, {"y": y0, "k": 4})
check("an Idempotency-Key of 255 characters is accepted", code == 202, (code, r))
# The client checks the key before it sends anything: one line, status 2.
ep = os.path.join(state, "endpoint.json")
for key in ["", "a b", "x" * 256]:
    p = subprocess.run([SPREC, "submit", "--endpoint", ep, "--y", YS[0][0], "-k", "4", "--idempotency-key", key],
                       capture_output=True, text=True, timeout=60)
    check("sprec submit --idempotency-key '%s': refused, status 2, one line" % key[:12],
          p.returncode == 2 and len(p.stderr.splitlines()) == 1 and "idempotency" in p.stderr.lower(),
          (p.returncode, p.stdout, p.stderr))
p = subprocess.run([SPREC, "submit", "--endpoint", ep, "--y", YS[1][0], "-k", "4", "--idempotency-key",
                    "run-42/y7"], capture_output=True, text=True, timeout=60)
check("sprec submit with a key used for another y: status 2, the service's 422 in one line",
      p.returncode == 2 and len(p.stderr.splitlines()) == 1 and "422" in p.stderr, (p.returncode, p.stderr))
s.stop()
# A state of the previous version (its table has no idem_hash column; its keys have no
# content hash) opens: the column is added, a retry of an old key gets its id back as
# before (whatever it carries: there is nothing to compare with), a new key is bound.
db = sqlite3.connect(os.path.join(state, "state.sqlite"))
try:
    db.execute("ALTER TABLE requests DROP COLUMN idem_hash")
    db.commit()
    downgraded = True
except sqlite3.Error as x:
    downgraded = x
db.close()
s = Service(state, 1, ["--max-wait-ms", "0"])
code, r = post_key("run-42/y7", {"y": y1, "k": 4})
cols = [row[1] for row in sqlite3.connect(os.path.join(state, "state.sqlite")).execute("PRAGMA table_info(requests)")]
check("a state of the previous version opens; a retry of its key gets the first id (202)",
      downgraded is True and code == 202 and r.get("id") == r1.get("id") and "idem_hash" in cols,
      (downgraded, code, r, cols))
code, _ = post_key("after-upgrade", {"y": y0, "k": 4})
code2, r = post_key("after-upgrade", {"y": y1, "k": 4})
check("after the upgrade a new key is bound to its content (422 for another y)",
      code == 202 and code2 == 422, (code, code2, r))
s.stop()

# ------------------------------------ connections: limits, timeouts, no lock-out --
IDLE_TIMEOUT = 15  # the service's idle timeout (seconds), README "Errors and limits"
MAX_CONN, PER_CLIENT = 512, 64
state = os.path.join(W, "state-conn")
s = Service(state, 1, ["--max-wait-ms", "60000", "--max-body", str(1 << 20)])  # requests stay queued 60 s
e = s.endpoint()
HOST, PORT = e["host"], e["port"]


def raw_request(head, body=b"", source="127.0.0.1", timeout=10):
    """One HTTP/1.1 exchange on a socket from the address source: (status, JSON body)."""
    c = socket.create_connection((HOST, PORT), timeout=timeout, source_address=(source, 0))
    try:
        c.sendall(head + body)
        data = b""
        while True:
            try:
                d = c.recv(65536)
            except ConnectionResetError:
                break
            if not d:
                break
            data += d
            h, _, b = data.partition(b"\r\n\r\n")
            n = [int(l.split(b":")[1]) for l in h.split(b"\r\n") if l.lower().startswith(b"content-length:")]
            if n and len(b) >= n[0]:
                break
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
        try:
            return status, json.loads(data.partition(b"\r\n\r\n")[2] or b"{}")
        except ValueError:
            return status, {}
    finally:
        c.close()


def head(method, path, n=None, ctype="application/json", token=True):
    h = "%s %s HTTP/1.1\r\nHost: %s\r\n" % (method, path, HOST)
    if token:
        h += "Authorization: Bearer %s\r\n" % e["token"]
    if n is not None:
        h += "Content-Type: %s\r\nContent-Length: %d\r\n" % (ctype, n)
    return (h + "\r\n").encode()


# A Content-Length over --max-body: 413 at once, from the headers, the body not read.
c = socket.create_connection((HOST, PORT), timeout=10)
c.sendall(head("POST", "/v1/solves", 64 << 20))
t0 = time.time()
try:
    reply = c.recv(65536)
except OSError as x:
    reply = repr(x).encode()
took = time.time() - t0
c.close()
check("Content-Length 64 MiB over a 1 MiB --max-body: 413 naming body before any of the body is sent",
      reply.startswith(b"HTTP/1.1 413") and b'"field":"body"' in reply and took < 3, (took, reply[:300]))
sent = [0]


def push(c):
    chunk = b" " * (1 << 20)
    try:
        for _ in range(64):
            c.sendall(chunk)
            sent[0] += len(chunk)
    except OSError:
        pass


c = socket.create_connection((HOST, PORT), timeout=20)
c.sendall(head("POST", "/v1/solves", 64 << 20))
t = threading.Thread(target=push, args=(c,))
t0 = time.time()
t.start()
try:
    reply = c.recv(65536)
except OSError as x:
    reply = repr(x).encode()
t.join(60)
took = time.time() - t0
c.close()
check("... and while the client sends the 64 MiB anyway, the service reads at most what the socket "
      "buffers hold (%d MiB went out)" % (sent[0] >> 20),
      reply.startswith(b"HTTP/1.1 413") and sent[0] <= 24 << 20 and took < 10, (took, sent[0], reply[:200]))
# Without a Content-Length (chunked) the limit is seen only as the body comes: the
# connection is closed there (no reply can be sent while a body is coming).
sent = [0]


def push_chunked(c):
    piece = b"%x\r\n%s\r\n" % (1 << 16, b" " * (1 << 16))
    try:
        for _ in range(1024):  # 64 MiB
            c.sendall(piece)
            sent[0] += 1 << 16
        c.sendall(b"0\r\n\r\n")
    except OSError:
        pass


c = socket.create_connection((HOST, PORT), timeout=20)
c.sendall(head("POST", "/v1/solves").replace(b"\r\n\r\n", b"\r\nContent-Type: application/json\r\n"
                                                               b"Transfer-Encoding: chunked\r\n\r\n"))
t = threading.Thread(target=push_chunked, args=(c,))
t.start()
try:
    reply = c.recv(65536)
except OSError as x:
    reply = repr(x).encode()
t.join(60)
c.close()
check("a chunked body past --max-body: the connection is closed (%d MiB went out of 64)" % (sent[0] >> 20),
      sent[0] <= 24 << 20 and not reply.startswith(b"HTTP/1.1 2"), (sent[0], reply[:200]))
check("the service still answers", s.get("/v1/health", auth=False)[0] == 200)

# A connection that sends nothing (or half its headers) is closed after the idle timeout;
# a client that sends a large body slowly but steadily, a piece a second for longer than
# that timeout, is not cut.
closed = {}


def idle(name, first):
    c = socket.create_connection((HOST, PORT), timeout=IDLE_TIMEOUT + 20)
    c.sendall(first)
    t0 = time.time()
    try:
        d = c.recv(1024)
    except OSError:
        d = b""
    closed[name] = (time.time() - t0, d)
    c.close()


slow_body = ('{"y": %s, "k": 4}' % json.dumps(y0)).encode()
slow_body += b" " * ((256 << 10) - len(slow_body))  # 256 KiB
slow = {}


def slow_client():
    c = socket.create_connection((HOST, PORT), timeout=IDLE_TIMEOUT + 20)
    c.sendall(head("POST", "/v1/solves", len(slow_body)))
    t0, pieces = time.time(), 25
    step = len(slow_body) // pieces + 1
    try:
        for i in range(0, len(slow_body), step):
            time.sleep(1)
            c.sendall(slow_body[i:i + step])
        d = c.recv(65536)
    except OSError as x:
        d = repr(x).encode()
    slow["reply"] = (time.time() - t0, d)
    c.close()


polled = {}


def long_poll():  # a reply held for longer than the idle timeout is still sent
    rid = json.loads(s.post(dict(ALGOS[0], y=y0))[1])["id"]
    t0 = time.time()
    code, r = s.result(rid, wait=IDLE_TIMEOUT + 5)
    polled["reply"] = (time.time() - t0, code, r.get("status"))


th = [threading.Thread(target=idle, args=("nothing", b"")),
      threading.Thread(target=idle, args=("half headers", b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")),
      threading.Thread(target=slow_client), threading.Thread(target=long_poll)]
[t.start() for t in th]
[t.join() for t in th]
took, code, status = polled["reply"]
check("a long poll of %d s (longer than the idle timeout) gets its reply" % (IDLE_TIMEOUT + 5),
      took >= IDLE_TIMEOUT + 4 and code == 200 and status == "queued", polled["reply"])
for name in ["nothing", "half headers"]:
    took, d = closed[name]
    check("a connection that sends %s is closed after the idle timeout (%.1f s)" % (name, took),
          IDLE_TIMEOUT - 1 <= took <= IDLE_TIMEOUT + 5 and not d.startswith(b"HTTP/1.1 200"), (took, d[:100]))
took, d = slow["reply"]
check("a 256 KiB body sent in 25 pieces, one a second (%.0f s): accepted" % took,
      took > IDLE_TIMEOUT and d.startswith(b"HTTP/1.1 202"), (took, d[:200]))

# A flood of idle connections from 8 other addresses (each opens 80) takes at most 64 per
# address and leaves the last 64 of the 512 to addresses that hold few: the health check
# and a client with the token still get through at once.
flood = []
for a in range(2, 10):
    for _ in range(80):
        try:
            flood.append(socket.create_connection((HOST, PORT), timeout=5, source_address=("127.0.0.%d" % a, 0)))
        except OSError:
            pass
time.sleep(1.5)  # the service accepts them (and closes those it refuses)
t0 = time.time()
try:
    health = raw_request(head("GET", "/v1/health", token=False), timeout=5)
except OSError as x:
    health = (repr(x), {})
t_health = time.time() - t0
body = json.dumps({"y": y0, "k": 4}).encode()
try:
    posted = raw_request(head("POST", "/v1/solves", len(body)), body, source="127.0.0.10", timeout=5)
except OSError as x:
    posted = (repr(x), {})
try:
    code, out, _ = s.get("/metrics")
    m = {l.split()[0]: float(l.split()[1]) for l in out.decode().splitlines() if l and l[0] != "#"}
except (OSError, urllib.error.URLError, ValueError) as x:
    code, m = repr(x), {}
held = m.get("sprec_connections", -1)
check("a flood of 640 idle connections from 8 addresses: the health check answers (%.2f s)" % t_health,
      health[0] == 200 and health[1].get("status") == "ok" and t_health < 3, (health, t_health))
check("... a POST with the token from another address: 202", posted[0] == 202, posted)
check("... the flooding addresses hold at most %d - 64 connections (%d held, %d refused)"
      % (MAX_CONN, held, m.get("sprec_connections_refused_total", -1)),
      code == 200 and MAX_CONN - 64 - 8 <= held <= MAX_CONN - 64 + 8 and m.get("sprec_connections_refused_total", 0) >= 640 - MAX_CONN,
      (code, held, m.get("sprec_connections_refused_total")))
for c in flood:
    c.close()
time.sleep(1)
check("the flood gone, the service answers", s.get("/v1/health", auth=False)[0] == 200)
s.stop()

# --------------------------------------- the client gives up in a bounded time --
# A "service" that accepts connections and never answers, and one whose accept queue is
# full (connections never complete): sprec submit and sprec status with --retry 0 give
# up after the reply timeout (10 s of silence after the request) or the connect timeout
# (2 s at --retry 0), exit 2 with one line.
mute = socket.socket()
mute.bind(("127.0.0.1", 0))
mute.listen(16)
held_conns = []


def mute_server():
    while True:
        try:
            c, _ = mute.accept()
        except OSError:
            return
        held_conns.append(c)  # read nothing, answer nothing


threading.Thread(target=mute_server, daemon=True).start()
full = socket.socket()
full.bind(("127.0.0.1", 0))
full.listen(0)
filler = socket.create_connection(full.getsockname(), timeout=5)  # fills the accept queue
eps = {}
for name, sock in [("mute", mute), ("full", full)]:
    eps[name] = os.path.join(W, "endpoint-%s.json" % name)
    port = sock.getsockname()[1]
    json.dump({"url": "http://127.0.0.1:%d" % port, "token": "0" * 64, "host": "127.0.0.1", "port": port},
              open(eps[name], "w"))
runs = {}


def give_up(name, args):
    t0 = time.time()
    try:
        p = subprocess.run([SPREC, *args], capture_output=True, text=True, timeout=90)
        runs[name] = (time.time() - t0, p.returncode, p.stderr)
    except subprocess.TimeoutExpired:
        runs[name] = (time.time() - t0, None, "still running after 90 s")


cases = {"submit, a service that never answers": (["submit", "--endpoint", eps["mute"], "--y", YS[0][0], "-k", "4",
                                                  "--retry", "0"], 14),
         "status, a service that never answers": (["status", "0" * 32, "--endpoint", eps["mute"], "--retry", "0"], 14),
         "submit, a connection that never completes": (["submit", "--endpoint", eps["full"], "--y", YS[0][0],
                                                        "-k", "4", "--retry", "0"], 5)}
th = [threading.Thread(target=give_up, args=(name, args)) for name, (args, _) in cases.items()]
[t.start() for t in th]
[t.join() for t in th]
for name, (_, bound) in cases.items():
    took, rc, err = runs[name]
    check("sprec %s, --retry 0: gives up in %.1f s (at most %d), status 2, one line" % (name, took, bound),
          took <= bound and rc == 2 and len(err.splitlines()) == 1, (took, rc, err))
mute.close()
full.close()
filler.close()
for c in held_conns:
    c.close()

# ------------------------------------------- 1000 requests, 3 kills, restarts --
state = os.path.join(W, "state-kill")
s = Service(state, 2, ["--max-wait-ms", "5"])
N, CLIENTS = 1000, 16
got = {}  # request number -> id
glock = threading.Lock()


DEADLINE = time.time() + 900  # a service that never comes back fails the test, not hangs it


def client(c):
    for i in range(c, N, CLIENTS):
        a, p = i % len(ALGOS), i % len(YS)
        body = json.dumps(dict(ALGOS[a], y=list(YS[p][1]))).encode()
        while time.time() < DEADLINE:  # through the kills: the same key returns the same id
            try:
                code, out, _ = s.request("POST", "/v1/solves", body, headers={"Idempotency-Key": "req-%d" % i},
                                         timeout=30)
                if code == 202:
                    with glock:
                        got[i] = json.loads(out)["id"]
                    break
            except (OSError, ValueError, urllib.error.URLError):
                pass
            time.sleep(0.05)  # the service is being restarted: try again


th = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
[t.start() for t in th]
for kill in range(3):
    target = (kill + 1) * N // 4
    while len(got) < target and any(t.is_alive() for t in th) and time.time() < DEADLINE:
        time.sleep(0.01)
    time.sleep(random.uniform(0, 0.3))
    s.stop(signal.SIGKILL)
    s = Service(state, 2, ["--max-wait-ms", "5"])
[t.join() for t in th]
ids = list(got.values())
check("1000 requests accepted through 3 kills", len(got) == N and len(set(ids)) == N, len(set(ids)))
bad = []
for i in range(N):
    c, r = 0, {}
    while i in got and time.time() < DEADLINE + 600:
        try:
            c, r = s.result(got[i], wait=120)
            break
        except (OSError, urllib.error.URLError):
            time.sleep(0.1)
    if c != 200 or r.get("status") != "done" or not same(r, REF[i % len(ALGOS), i % len(YS)]):
        bad.append((i, c, r.get("status"), r.get("error")))
check("each of the 1000 ids has exactly one result, equal to the CLI's", not bad, bad[:3])
db = sqlite3.connect(os.path.join(state, "state.sqlite"))
rows = db.execute("SELECT COUNT(*), COUNT(DISTINCT id), SUM(status='done') FROM requests").fetchone()
check("the state holds 1000 requests, each done once", rows == (N, N, N), rows)
s.stop()

finish()
