#!/usr/bin/env python3
"""The scaling model: seconds per SEA iteration, per phase, for p = 1, 2, 4, ... ranks.

    scripts/scaling-model.py BENCH.json [--setting strong|weak|both] [-m M] [-n N] [-k K]
        [--iters T] [--pmax P] [--operators LIST] [--taps L] [--nnz-per-col D]
        [--power-iters I] [--changes C] [--measured CSV ...] [--counts FILE] [--out DIR]

BENCH.json is `sprec bench --comm --out DIR`'s DIR/bench.json: the constants. The
phases' communication is written here in closed form from the code (src/par/topk.c,
src/op/op.c, src/lsq/*.c, src/par/fwht.c; README, "The model"); every collective costs
its usual algorithm's rounds and bytes, with the per-round latency and per-byte time
of that collective measured by the bench and divided by the same closed form at the
bench's rank count (so the model reproduces the bench at that count).

Writes DIR/model.csv (p, setting, operator, topk_method, lsq_method, each phase's
seconds per iteration, total, efficiency, each phase's seconds in communication), DIR/model-SETTING-OPERATOR.png (predicted efficiency
against p, with the measured points of --measured scaling.csv files), and with
--counts FILE the per-phase counts (calls, bytes, hops; max and total over ranks) as
JSON. Python rather than a `sprec model` subcommand: it reads JSON and CSV and draws
with gnuplot like scripts/scaling.sh, needs no MPI, and the formulas read as formulas.
Bad input: one line on stderr, exit status 2.
"""
import argparse, csv, json, math, os, subprocess, sys

PHASES = ["products", "residual", "topk", "lsq", "gathers", "norm", "other"]
OPERATORS = ["dense", "conv", "hadamard", "csc"]
ENTRY = 24          # bytes of one top-k candidate (key, index, value)
HIST = 256 * 8      # one radix-select histogram (256 int64)
CHUNK = 65536       # doubles per message of the transform's transpose (src/par/fwht.c)
MB, NB = 64, 32     # ScaLAPACK block sizes (src/lsq/lsq_scalapack.c)
AUTO_GATHER = 65536  # --topk auto: gather when p·k <= this (src/par/topk.c)
AUTO_REPLICATED = 1024  # --lsq auto: replicated when k <= this (src/lsq/lsq.c)


def die(msg):
    print("scaling-model.py: " + msg, file=sys.stderr)
    sys.exit(2)


def lg(p):
    """Rounds of a tree or recursive-doubling collective: ceil(log2 p)."""
    return math.ceil(math.log2(p)) if p > 1 else 0


class Machine:
    """The constants of one bench JSON, as per-round and per-byte costs."""

    def __init__(self, j, alpha_scale=1.0, beta_scale=1.0):
        need = ["ranks", "m", "pass_dense_seconds_per_unit", "pass_conv_seconds_per_unit",
                "pass_hadamard_seconds_per_unit", "pass_csc_seconds_per_unit",
                "topk_local_seconds_per_column", "stream_seconds_per_double"]
        for op in ["pingpong", "chain", "allreduce", "allgatherv", "bcast"]:
            need += ["comm_%s_alpha_seconds" % op, "comm_%s_beta_seconds_per_byte" % op]
        miss = [k for k in need if k not in j]
        if miss:
            die("the bench JSON lacks %s (is it `sprec bench --comm`'s?)" % ", ".join(miss))
        self.j, p0 = j, int(j["ranks"])
        self.p0 = p0
        a = lambda op: j["comm_%s_alpha_seconds" % op]
        b = lambda op: j["comm_%s_beta_seconds_per_byte" % op]
        self.a_pp, self.b_pp = a("pingpong"), b("pingpong")
        self.a_hop, self.b_hop = a("chain"), b("chain")
        if p0 == 1:  # no collective was measured between ranks: the point-to-point hop
            self.a_ar = self.a_ag = self.a_bc = self.a_pp
            self.b_ar = self.b_ag = self.b_bc = self.b_pp
        else:  # the fit divided by the closed form's factors at p0 (below)
            self.a_ar, self.b_ar = a("allreduce") / lg(p0), b("allreduce") / min(lg(p0), 2 * (p0 - 1) / p0)
            self.a_ag, self.b_ag = a("allgatherv") / lg(p0), b("allgatherv") * p0 / (p0 - 1)
            self.a_bc, self.b_bc = a("bcast") / lg(p0), b("bcast") / min(lg(p0), 2 * (p0 - 1) / p0)
        for x in ("pp", "hop", "ar", "ag", "bc"):  # what-if: another network
            setattr(self, "a_" + x, getattr(self, "a_" + x) * alpha_scale)
            setattr(self, "b_" + x, getattr(self, "b_" + x) * beta_scale)
        self.lsq = {}
        for key, v in j.items():
            if key.startswith("lsq_") and key.endswith("_seconds"):
                path, kk = key[4:-8].rsplit("_k", 1)
                self.lsq.setdefault(path, {})[int(kk)] = v

    def lsq_time(self, path, k):
        """The measured one-swap least squares at k, log-log interpolated (or extended
        along the last two points' slope)."""
        pts = sorted(self.lsq.get(path, {}).items())
        if not pts:
            die("the bench JSON has no lsq_%s_k*_seconds" % path)
        if len(pts) == 1:
            return pts[0][1] * k / pts[0][0]
        i = 0
        while i < len(pts) - 2 and pts[i + 1][0] < k:
            i += 1
        (k0, t0), (k1, t1) = pts[i], pts[i + 1]
        s = math.log(t1 / t0) / math.log(k1 / k0)
        return t0 * (k / k0) ** s

    # --- collectives: (seconds, hops) for p ranks; 0 on one rank (nothing is sent)
    def allreduce(self, p, nbytes):
        if p == 1:
            return 0.0, 0
        rd = lg(p) * (self.a_ar + nbytes * self.b_ar)                       # recursive doubling
        rab = 2 * lg(p) * self.a_ar + 2 * (p - 1) / p * nbytes * self.b_ar  # Rabenseifner
        return (rd, lg(p)) if rd <= rab else (rab, 2 * lg(p))

    def allgatherv(self, p, total):
        if p == 1:
            return 0.0, 0
        return lg(p) * self.a_ag + (p - 1) / p * total * self.b_ag, lg(p)

    def bcast(self, p, nbytes):
        if p == 1:
            return 0.0, 0
        tree = lg(p) * (self.a_bc + nbytes * self.b_bc)
        sag = (lg(p) + p - 1) * self.a_bc + 2 * (p - 1) / p * nbytes * self.b_bc
        return (tree, lg(p)) if tree <= sag else (sag, lg(p) + p - 1)

    def exchange(self, p, nbytes):
        """Each rank sends nbytes in all to the p - 1 others, all messages posted at once
        (Alltoallv, the transform's transpose): p - 1 latencies, one hop deep."""
        if p == 1:
            return 0.0, 0
        return (p - 1) * self.a_pp + nbytes * self.b_pp, 1


class Phase:
    """One phase of an iteration: seconds, and the counts a rank makes (calls, bytes it
    hands to MPI, hops: sequential message latencies on the critical path), their max
    and total over the ranks."""

    def __init__(self):
        self.t = self.tc = 0.0  # seconds in all, and in communication
        self.c = {q: {"max": 0.0, "total": 0.0} for q in ("calls", "bytes", "hops")}

    def work(self, t):
        self.t += t

    def comm(self, th, calls, nbytes, p):
        """A collective every rank calls: th = (seconds, hops); calls and nbytes (what a
        rank hands to MPI) per rank. Nothing on one rank: no message is sent."""
        if p == 1:
            return
        self.t += th[0]
        self.tc += th[0]
        self.count(th[1], calls, calls * p, nbytes, nbytes * p)

    def count(self, hops, cmax, ctot, bmax, btot):
        for q, mx, tot in (("calls", cmax, ctot), ("bytes", bmax, btot), ("hops", hops, hops)):
            self.c[q]["max"] += mx
            self.c[q]["total"] += tot


def sizes(pr, p):
    """(n, n_r, m) of the problem on p ranks."""
    n = pr.n if pr.setting == "strong" else pr.n * p
    nr = math.ceil(n / p)
    m = n + pr.taps - 1 if pr.op == "conv" else pr.m
    return n, nr, m


def pass_seconds(M, pr, n, nr, m):
    """One Aᵀr pass's local work (the measured rate of its kind times its units)."""
    j = M.j
    if pr.op == "dense":
        return j["pass_dense_seconds_per_unit"] * m * nr
    if pr.op == "conv":
        return j["pass_conv_seconds_per_unit"] * pr.taps * nr
    if pr.op == "hadamard":
        return j["pass_hadamard_seconds_per_unit"] * math.log2(n) * nr
    return j["pass_csc_seconds_per_unit"] * pr.nnz * nr


def products(M, pr, p, ph):
    n, nr, m = sizes(pr, p)
    ph.work(pass_seconds(M, pr, n, nr, m))
    if pr.op == "hadamard":  # the transpose: (1 - 1/p) n_r doubles to the p - 1 others
        nb = 8 * (1 - 1 / p) * nr
        msgs = 2 * (p - 1) * max(1, math.ceil(nr / p / CHUNK))
        ph.comm(M.exchange(p, nb), msgs, nb, p)


RESIDUAL = "tree"  # --residual: how A_S x_S is reduced (tree: 0.8; chain: 0.7)
ALGO = "sea"  # --algo: the iteration modelled
FISTA_NNZ = 2  # a FISTA iterate's nonzeros, in units of k


def owners(p, k):
    """Expected number of ranks owning a random support of k columns."""
    return p * (1 - (1 - 1 / p) ** k)


def residual(M, pr, p, ph, lsq):
    n, nr, m = sizes(pr, p)
    s, k = M.j["stream_seconds_per_double"], pr.k
    col = pr.nnz if pr.op == "csc" else m  # doubles of one support column
    if lsq == "rows":  # conv: r = y - A_S z on the support's row ranges, y copied
        ph.work(s * (2 * m + k * pr.taps))
    elif lsq == "replicated":  # from the replicated columns, no message
        ph.work(s * (m + k * m))
    elif RESIDUAL == "chain":  # version 0.7: the chain along the owners, then a Bcast
        e = owners(p, k)
        ph.work(s * (m + k * col))
        if p > 1:  # e - 1 sequential hops of m doubles; a rank receives and sends one
            ph.t += (e - 1) * (M.a_hop + 8 * m * M.b_hop)
            ph.tc += (e - 1) * (M.a_hop + 8 * m * M.b_hop)
            ph.count(e - 1, 2, 2 * (e - 1), 8 * m, 8 * m * (e - 1))
        ph.comm(M.bcast(p, 8 * m), 1, 8 * m, p)
        ph.comm(M.allreduce(p, 4), 1, 4, p)  # the agreement before the broadcast
    else:  # scalapack, 0.8: exact sums (4 limbs a row, each term cut in 4 steps), a tree
        ph.work(s * (m + 4 * k * col / p + 4 * m))
        ph.comm(M.allreduce(p, 16), 1, 16, p)  # the largest term
        ph.comm(M.allreduce(p, 32 * m), 1, 32 * m, p)  # the rows' fixed-point sums


def topk_method(pr, p, topk):
    if topk != "auto":
        return topk
    return "gather" if p * pr.k <= AUTO_GATHER else "threshold"


def radix_rounds(p, k):
    """Histogram rounds of the threshold select: the first byte of |v| (exponent bits)
    rarely splits the candidates, each later one by up to 256 (data dependent)."""
    return min(8, 1 + math.ceil(math.log(max(p * k, 2)) / math.log(256)))


def topk(M, pr, p, ph, method):
    n, nr, m = sizes(pr, p)
    rate, k = M.j["topk_local_seconds_per_column"], pr.k
    ph.work(rate * nr)
    if method == "threshold":
        for _ in range(radix_rounds(p, k)):
            ph.comm(M.allreduce(p, HIST), 1, HIST, p)
        won = k / p  # the winners, spread over the ranks
    else:
        won = k
    ph.comm(M.allgatherv(p, 4 * p), 1, 4, p)  # the counts (Allgather)
    ph.comm(M.allgatherv(p, ENTRY * won * p), 1, ENTRY * won, p)
    ph.work(rate * won * p)  # the merge of what was gathered


def lsq_path(pr, lsq):
    if pr.op == "conv":
        return "rows"  # columns with row ranges: always their own path
    if lsq != "auto":
        return lsq
    return "replicated" if pr.k <= AUTO_REPLICATED else "scalapack"


def least_squares(M, pr, p, ph, gat, path):
    n, nr, m = sizes(pr, p)
    k = pr.k
    if path == "rows":
        u = k * pr.taps  # rows of the union of the support's ranges, at most
        ph.work(2 * u * k * k * M.j["pass_dense_seconds_per_unit"])  # CGS2 QR, 4 u k^2 flops
        gat.comm(M.allreduce(p, 16 * k), 1, 16 * k, p)
        gat.comm(M.allgatherv(p, 8 * u), 1, 8 * u / p, p)
    elif path == "replicated":  # one swap as measured; the entering columns travel
        ph.work(M.lsq_time("replicated", k) * m / M.j["m"])  # O(m k) per swap
        gat.comm(M.allgatherv(p, 8 * m * pr.changes), 1, 8 * m * pr.changes / p, p)
        gat.comm(M.allreduce(p, 4), 1, 4, p)
    else:  # ScaLAPACK: at most U processes hold blocks of the m x k matrix
        use = math.ceil(m / MB) * math.ceil(k / NB)
        t0 = M.lsq_time("scalapack", k)
        ph.work(t0 * m / M.j["m"] * min(M.p0, use) / min(p, use))
        if p > M.p0:  # pdgels's per-column reductions and broadcasts, beyond the bench's
            ph.t += 3 * k * (lg(p) - lg(M.p0)) * M.a_ar
            ph.tc += 3 * k * (lg(p) - lg(M.p0)) * M.a_ar
        ph.comm(M.allreduce(p, 8 * k), 1, 8 * k, p)  # the coefficients
        gat.comm(M.exchange(p, 8 * m * k / p), 2 * (p - 1), 8 * m * k / p, p)  # Alltoallv
        gat.comm(M.allreduce(p, 4), 1, 4, p)


def norm_estimate(M, pr, p, ph):
    """The power iteration (2 passes, an Allreduce of m and two of a scalar per step),
    over the iterations of the run. The transform's ‖A‖² is exact: none."""
    if pr.op == "hadamard":
        return
    n, nr, m = sizes(pr, p)
    f = pr.power_iters / pr.iters
    ph.work(f * (2 * pass_seconds(M, pr, n, nr, m) + 2 * m * M.j["stream_seconds_per_double"]))
    for nb in (8, 8, 8 * m):
        t, hops = M.allreduce(p, nb)
        ph.comm((f * t, f * hops), f, f * nb, p)  # f of a call per iteration: amortized


def other(M, pr, p, ph):
    """The update of the exploration vector (read 𝒳 and g, write 𝒳), the objective
    (‖r‖²), the stop flag's Allreduce."""
    n, nr, m = sizes(pr, p)
    ph.work(M.j["stream_seconds_per_double"] * (3 * nr + m))
    ph.comm(M.allreduce(p, 4), 1, 4, p)


def sparse_product(M, pr, p, ph, nnz):
    """A_S x_S for an x of nnz entries spread over the columns (sprec_op_apply_sparse):
    the largest term and the rows' exact sums in a tree (0.8), or the chain along the
    owners and a Bcast (0.7, --residual chain)."""
    n, nr, m = sizes(pr, p)
    s = M.j["stream_seconds_per_double"]
    col = pr.nnz if pr.op == "csc" else pr.taps if pr.op == "conv" else m
    if RESIDUAL == "chain":
        e = owners(p, nnz)
        ph.work(s * (m + nnz * col))  # one rank after the other: the whole sum's work
        if p > 1:
            ph.t += (e - 1) * (M.a_hop + 8 * m * M.b_hop)
            ph.tc += (e - 1) * (M.a_hop + 8 * m * M.b_hop)
            ph.count(e - 1, 2, 2 * (e - 1), 8 * m, 8 * m * (e - 1))
        ph.comm(M.bcast(p, 8 * m), 1, 8 * m, p)
        ph.comm(M.allreduce(p, 4), 1, 4, p)
    elif pr.op == "conv":  # the rows the columns touch, (row, 4 limbs) each, gathered
        rows = nnz * col
        ph.work(s * (m + 5 * rows))  # the entries made, merged and rounded on every rank
        ph.comm(M.allreduce(p, 16), 1, 16, p)
        for nb in (4, 4):  # the agreements around the gathers
            ph.comm(M.allreduce(p, nb), 1, nb, p)
        ph.comm(M.allgatherv(p, 4 * p), 1, 4, p)
        ph.comm(M.allgatherv(p, 40 * rows), 1, 40 * rows / p, p)
    else:
        ph.work(s * (5 * m + 4 * nnz * col / p))  # this rank's terms cut into limbs, m rounded
        ph.comm(M.allreduce(p, 16), 1, 16, p)
        ph.comm(M.allreduce(p, 32 * m), 1, 32 * m, p)


def fista_iteration(M, pr, p):
    """{phase: Phase} of one FISTA iteration (src/algo/fista.c): a pass Aᵀr, the
    proximal step on the local block, the sparse iterate gathered (an agreement, then
    counts, indices and values), the residual A_S x_S of its nnz = ALGO_NNZ·k entries,
    the gap's scalar; the norm estimate amortized."""
    ph = {q: Phase() for q in PHASES}
    n, nr, m = sizes(pr, p)
    nnz = FISTA_NNZ * pr.k
    products(M, pr, p, ph["products"])
    sparse_product(M, pr, p, ph["residual"], nnz)
    g = ph["gathers"]
    g.comm(M.allreduce(p, 4), 1, 4, p)
    g.comm(M.allgatherv(p, 4 * p), 1, 4, p)
    for _ in range(2):
        g.comm(M.allgatherv(p, 8 * nnz), 1, 8 * nnz / p, p)
    norm_estimate(M, pr, p, ph["norm"])
    o = ph["other"]
    o.work(M.j["stream_seconds_per_double"] * (4 * nr + m))  # the momentum step, ‖r‖²
    o.comm(M.allreduce(p, 8 * (nnz + 1)), 1, 8 * (nnz + 1), p)  # the gap
    return ph


def iteration(M, pr, p, topk_m, lsq_m):
    """{phase: Phase} of one iteration on p ranks: SEA's, or FISTA's with --algo fista."""
    if ALGO == "fista":
        return fista_iteration(M, pr, p)
    ph = {q: Phase() for q in PHASES}
    path = lsq_path(pr, lsq_m)
    products(M, pr, p, ph["products"])
    residual(M, pr, p, ph["residual"], path)
    topk(M, pr, p, ph["topk"], topk_method(pr, p, topk_m))
    least_squares(M, pr, p, ph["lsq"], ph["gathers"], path)
    norm_estimate(M, pr, p, ph["norm"])
    other(M, pr, p, ph["other"])
    return ph


class Problem:
    def __init__(self, setting, op, a, **kw):
        self.setting, self.op = setting, op
        self.m, self.k, self.iters = a.m, a.k, a.iters
        self.n = a.n if a.n else (200000 if setting == "strong" else 100000)
        self.taps, self.nnz, self.power_iters, self.changes = a.taps, a.nnz_per_col, a.power_iters, a.changes
        self.__dict__.update(kw)


def run(M, pr, ps, topk_m, lsq_m):
    """[(p, {phase: Phase}, total, efficiency)] over ps (ps[0] = 1)."""
    rows = []
    for p in ps:
        ph = iteration(M, pr, p, topk_m, lsq_m)
        rows.append([p, ph, sum(x.t for x in ph.values())])
    t1 = rows[0][2]
    for r in rows:
        r.append(t1 / (r[0] * r[2]) if pr.setting == "strong" else t1 / r[2])
    return rows


def combos(op):
    """(topk, lsq) pairs to model; conv's least squares has one path (rows)."""
    lsqs = ["rows"] if op == "conv" else ["replicated", "scalapack"]
    return [(t, l) for t in ("gather", "threshold") for l in lsqs] + [("auto", "auto")]


def measured_rows(paths):
    """The rows of scripts/scaling.sh's scaling.csv files, with seconds per iteration
    (total less the problem's generation, io, over the iterations: the model's total,
    the norm estimate amortized included) and the efficiency computed from those."""
    out = []
    for path in paths:
        try:
            rows = list(csv.DictReader(open(path)))
        except OSError as e:
            die("--measured %s: %s" % (path, e.strerror))
        if not rows or "io" not in rows[0]:
            die("--measured %s: not a scaling.csv of scripts/scaling.sh" % path)
        rows.sort(key=lambda r: int(r["ranks"]))
        for r in rows:
            it = float(r["iterations"])
            r["per_iter"] = (float(r["total"]) - float(r["io"])) / it
            for q in ("apply_T", "topk", "lsq", "setup"):
                r[q + "_per_iter"] = float(r[q]) / it
        p0, t0 = int(rows[0]["ranks"]), rows[0]["per_iter"]
        for r in rows:
            p = int(r["ranks"])
            strong = r["scaling"] == "strong"
            r["eff"] = p0 * t0 / (p * r["per_iter"]) if strong else t0 / r["per_iter"]
        out += rows
    return out


def compare_measured(M, a, rows, out):
    """The model at each measured point's own problem (dense, --topk and --lsq auto,
    as the studies run): DIR/measured-vs-model.csv."""
    cols = ["scaling", "ranks", "m", "n", "k", "measured_s", "model_s", "model_over_measured",
            "measured_apply_T", "model_products", "measured_topk", "model_topk",
            "measured_lsq", "model_lsq_residual_gathers", "measured_setup", "model_norm"]
    res = []
    for r in rows:
        p, strong = int(r["ranks"]), r["scaling"] == "strong"
        kw = dict(m=int(r["m"]), k=int(r["k"]), iters=int(r["iterations"]),
                  n=int(r["n"]) if strong else int(r["n"]) // p)
        pr = Problem(r["scaling"], "dense", a, **kw)
        ph = iteration(M, pr, p, "auto", "auto")
        tot = sum(x.t for x in ph.values())
        res.append([r["scaling"], p, kw["m"], r["n"], kw["k"], r["per_iter"], tot, tot / r["per_iter"],
                    r["apply_T_per_iter"], ph["products"].t, r["topk_per_iter"], ph["topk"].t,
                    r["lsq_per_iter"], ph["lsq"].t + ph["residual"].t + ph["gathers"].t,
                    r["setup_per_iter"], ph["norm"].t])
    with open(os.path.join(out, "measured-vs-model.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(cols)
        for x in res:
            w.writerow([("%.6g" % v) if isinstance(v, float) else v for v in x])
    return res


def plot(out, setting, op, curves, meas):
    """DIR/model-SETTING-OP.png: predicted efficiency against p (log2 axis), a line per
    (topk, lsq), and the measured points (dense only: the studies' problem)."""
    data = os.path.join(out, "data")
    os.makedirs(data, exist_ok=True)
    plots = []
    for (t, l), rows in curves.items():
        fn = os.path.join(data, "%s-%s-%s-%s.dat" % (setting, op, t, l))
        with open(fn, "w") as f:
            f.writelines("%d %.6g\n" % (r[0], r[3]) for r in rows)
        plots.append('"%s" using 1:2 with linespoints lw 2 pt 7 ps 0.6 title "model, --topk %s --lsq %s"'
                     % (fn, t, l))
    pts = [r for r in meas if r["scaling"] == setting] if op == "dense" else []
    if pts:
        fn = os.path.join(data, "measured-%s.dat" % setting)
        with open(fn, "w") as f:
            f.writelines("%s %.6g\n" % (r["ranks"], r["eff"]) for r in pts)
        plots.append('"%s" using 1:2 with points pt 5 ps 1.8 lc rgb "black" title "measured (scaling.csv, per iteration)"' % fn)
    png = os.path.join(out, "model-%s-%s.png" % (setting, op))
    gp = """set terminal pngcairo size 860,540 font ",11"
set output "%s"
set title "%s scaling model, %s operator: efficiency per SEA iteration"
set logscale x 2
set xlabel "ranks p"
set ylabel "parallel efficiency"
set yrange [0:1.1]
set grid
set key bottom left
plot %s
""" % (png, setting.capitalize(), op, ", ".join(plots))
    try:
        subprocess.run(["gnuplot"], input=gp, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        die("gnuplot failed (%s)" % e)


def counts_json(path, table):
    defs = {"calls": "MPI calls a rank makes per iteration (a collective: one per rank)",
            "bytes": "bytes a rank hands to MPI per iteration (its send buffer's payload)",
            "hops": "sequential message latencies on the critical path per iteration",
            "max": "the most on one rank", "total": "summed over the ranks (hops: the path)",
            "note": "the norm estimate is amortized (fractions of a call); radix-select rounds and "
                    "the owners of the support are expectations, not counts"}
    rows = [{"p": p, "setting": s, "operator": op, "topk": t, "lsq": l,
             "phases": {q: ph[q].c for q in PHASES}} for (p, s, op, t, l, ph) in table]
    tmp = path + ".partial"
    with open(tmp, "w") as f:
        json.dump({"definitions": defs, "rows": rows}, f, indent=1)
    os.replace(tmp, path)


def dominant(rows):
    """[(first p, phase)] each time the largest phase changes."""
    out, last = [], None
    for r in rows:
        q = max(PHASES, key=lambda x: r[1][x].t)
        if q != last:
            out.append((r[0], q))
            last = q
    return out


def summary(results):
    """One paragraph per setting and operator: efficiency at the largest p, which phase
    is largest from which p, the fastest --topk/--lsq at each p where it changes."""
    for (s, op), curves in results.items():
        ps = [r[0] for r in next(iter(curves.values()))]
        best, lines = None, []
        for i, p in enumerate(ps):
            b = min((c for c in curves if c[0] != "auto"), key=lambda c: curves[c][i][2])
            if b != best:
                lines.append("p >= %d: --topk %s --lsq %s" % (p, b[0], b[1]))
                best = b
        print("%s, %s: fastest %s" % (s, op, "; ".join(lines)))
        for c, rows in curves.items():
            eff = ", ".join("p=%d %.3f" % (r[0], r[3]) for r in rows if r[0] in (64, 1024, 4096))
            dom = ", ".join("%s from p=%d" % (q, p) for p, q in dominant(rows))
            print("  %-9s %-10s efficiency %s; largest phase: %s" % (c[0], c[1], eff, dom))


def parse():
    ap = argparse.ArgumentParser(description="the scaling model (README, 'The model')")
    ap.add_argument("bench", help="bench.json of `sprec bench --comm`")
    ap.add_argument("--setting", default="both", choices=["strong", "weak", "both"])
    ap.add_argument("-m", type=int, default=1000, help="rows (dense, hadamard, csc) [1000]")
    ap.add_argument("-n", type=int, default=0,
                    help="columns (strong) or columns per rank (weak) [200000, 100000]")
    ap.add_argument("-k", type=int, default=50)
    ap.add_argument("--iters", type=int, default=50, help="iterations over which the norm estimate is amortized")
    ap.add_argument("--pmax", type=int, default=4096)
    ap.add_argument("--operators", default=",".join(OPERATORS))
    ap.add_argument("--taps", type=int, default=25)
    ap.add_argument("--nnz-per-col", type=int, default=8)
    ap.add_argument("--power-iters", type=int, default=100, help="power iterations (at most 100)")
    ap.add_argument("--changes", type=float, default=1, help="columns entering the support per iteration")
    ap.add_argument("--alpha-scale", type=float, default=1.0,
                    help="multiply every measured latency (what if the network were slower)")
    ap.add_argument("--beta-scale", type=float, default=1.0, help="multiply every time per byte")
    ap.add_argument("--measured", action="append", default=[], help="a scaling.csv (repeatable)")
    ap.add_argument("--residual", default="tree", choices=["tree", "chain"],
                    help="A_S x_S reduced by exact sums in a tree (0.8) or along the owners (0.7)")
    ap.add_argument("--algo", default="sea", choices=["sea", "fista"],
                    help="the iteration modelled (fista: a pass, A_S x_S, the iterate gathered)")
    ap.add_argument("--counts", help="write the per-phase counts as JSON here")
    ap.add_argument("--out", default="build/model")
    ap.error = die  # one line, exit status 2
    a = ap.parse_args()
    ops = a.operators.split(",")
    for o in ops:
        if o not in OPERATORS:
            die("--operators: unknown operator '%s' (%s)" % (o, ", ".join(OPERATORS)))
    if min(a.m, a.k, a.iters, a.pmax, a.taps, a.nnz_per_col) < 1 or a.n < 0 or a.power_iters < 0 or a.changes < 0 \
            or not (a.alpha_scale > 0 and a.beta_scale > 0):
        die("-m, -k, --iters, --pmax, --taps and --nnz-per-col must be >= 1, -n, --power-iters and --changes >= 0, the scales > 0")
    if a.k > a.m:
        die("-k %d exceeds -m %d" % (a.k, a.m))
    a.operators = ops
    return a


def main():
    a = parse()
    try:
        j = json.load(open(a.bench))
    except (OSError, ValueError) as e:
        die("%s: cannot read a JSON object (%s)" % (a.bench, e))
    if not isinstance(j, dict):
        die("%s: not a JSON object" % a.bench)
    global RESIDUAL, ALGO
    RESIDUAL, ALGO = a.residual, a.algo
    M = Machine(j, a.alpha_scale, a.beta_scale)
    meas = measured_rows(a.measured)
    os.makedirs(a.out, exist_ok=True)
    ps = [2 ** e for e in range(0, int(math.log2(a.pmax)) + 1)]
    settings = ["strong", "weak"] if a.setting == "both" else [a.setting]
    results, table = {}, []
    for s in settings:
        for op in a.operators:
            pr = Problem(s, op, a)
            curves = {c: run(M, pr, ps, *c) for c in combos(op)}
            results[(s, op)] = curves
            for c, rows in curves.items():
                table += [(r[0], s, op, c[0], c[1], r[1]) for r in rows]
            plot(a.out, s, op, curves, meas)
    with open(os.path.join(a.out, "model.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["p", "setting", "operator", "topk_method", "lsq_method"] + PHASES + ["total", "efficiency"]
                   + ["comm_" + q for q in PHASES])
        for (s, op), curves in results.items():
            for c, rows in curves.items():
                for r in rows:
                    w.writerow([r[0], s, op, c[0], c[1]] + ["%.6g" % r[1][q].t for q in PHASES]
                               + ["%.6g" % r[2], "%.6g" % r[3]]
                               + ["%.6g" % r[1][q].tc for q in PHASES])
    if a.counts:
        counts_json(a.counts, table)
    print("scaling-model.py: constants from %s (%d ranks, %d per node); m=%d k=%d, %d iterations"
          % (a.bench, M.p0, int(j.get("ranks_per_node", 0)), a.m, a.k, a.iters))
    summary(results)
    if meas:
        print("measured (s per iteration) against the model (dense, auto):")
        for x in compare_measured(M, a, meas, a.out):
            print("  %s p=%d n=%s: measured %.4g s, model %.4g s (model/measured %.2f)"
                  % (x[0], x[1], x[3], x[5], x[6], x[7]))
    print("scaling-model.py: wrote %s/model.csv and %d plots" % (a.out, len(results)))


if __name__ == "__main__":
    main()
