#!/usr/bin/env bash
# The scaling model (README, "The model"): `sprec bench --comm --quick` at 1 and 2 ranks
# writes finite, positive constants whose alpha-beta fits are those of its own points;
# scripts/scaling-model.py gives efficiency 1 at p = 1, communication that never shrinks
# with p, a strong-scaling pass that halves exactly per doubling. (The model against
# measured times is make model's, a benchmark: no time is asserted here.) Bad input:
# one line, exit status 2. About a minute on 2 cores.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
make_workdir model
require_setup numpy
MODEL="$root/scripts/scaling-model.py"

for np in 1 2; do
  if "$MPIRUN" -np "$np" "$SPREC" bench --comm --quick --out "$W/b$np" >"$W/log$np" 2>&1 &&
    "$PY" - "$W/b$np/bench.json" "$np" <<'PY'
import json, math, sys
j, p = json.load(open(sys.argv[1])), int(sys.argv[2])
assert j["ranks"] == p and j["m"] == 200
for key, v in j.items():
    assert math.isfinite(v) and v >= 0, (key, v)
ops = ["pingpong", "chain", "allreduce", "allgatherv", "bcast"]
for op in ops:
    pts = [(int(k.split("_")[2][:-1]), v) for k, v in j.items()
           if k.startswith("comm_%s_" % op) and k.endswith("B_seconds")]
    assert len(pts) == 8 and all(t > 0 for _, t in pts), (op, pts)
    a, b = j["comm_%s_alpha_seconds" % op], j["comm_%s_beta_seconds_per_byte" % op]
    # With one rank a broadcast moves nothing: its beta may be 0. Every other is > 0.
    assert a > 0 and (b > 0 or (p == 1 and op != "pingpong" and op != "chain")), (op, a, b)
    # The residuals reported are those of this line through these points (Allgatherv:
    # against the bytes gathered in all, p times the bytes per rank; printed with %.9g).
    x = lambda s: s * p if op == "allgatherv" else s
    e = [abs(a + b * x(s) - t) / t for s, t in pts]
    rms = math.sqrt(sum(v * v for v in e) / len(e))
    assert abs(rms - j["comm_%s_fit_rel_rms" % op]) <= 1e-6 * (1 + rms), (op, rms)
    # Small relative to the data: one line across the eager and rendezvous protocols
    # misses the 8 KiB point by up to 0.9 here; the RMS stays under 0.6 (0.19-0.56 seen).
    assert j["comm_%s_fit_rel_rms" % op] <= 0.75, (op, j["comm_%s_fit_rel_rms" % op])
    # Latency: the fit's alpha is of the order of the smallest message's time.
    assert a <= 3 * min(t for _, t in pts), (op, a, pts)
for kind in ["dense", "conv", "hadamard", "csc"]:
    assert j["pass_%s_seconds_per_unit" % kind] > 0 and j["pass_%s_seconds" % kind] > 0, kind
assert j["topk_local_seconds_per_column"] > 0 and j["stream_seconds_per_double"] > 0
for k in [10, 50]:
    assert j["lsq_replicated_k%d_seconds" % k] > 0 and j["lsq_scalapack_k%d_seconds" % k] > 0
PY
  then ok "bench --comm --quick -np $np: constants and fits"
  else notok "bench --comm --quick -np $np" "see $W/log$np"; sed 's/^/    /' "$W/log$np" | tail -8; fi
done

sprec 1 bench --comm --reps 1 --out "$W/bad"
check_eval "bench --comm --reps 1: one line, exit 2" \
  '[ "$rc" = 2 ] && [ "$(wc -l <"$W/err")" = 1 ] && grep -q "reps" "$W/err"'
"$PY" "$MODEL" "$W/b2/bench.json" --operators dense,spam --out "$W/bad" >/dev/null 2>"$W/err"
check_eval "model: unknown operator, one line, exit 2" '[ $? = 2 ] && [ "$(wc -l <"$W/err")" = 1 ]'
"$PY" "$MODEL" "$W/log1" --out "$W/bad" >/dev/null 2>"$W/err"
check_eval "model: not a bench JSON, one line, exit 2" '[ $? = 2 ] && [ "$(wc -l <"$W/err")" = 1 ]'

# The model's properties, every operator, setting and method; n = 2^20 so that n/p is
# exact up to p = 4096.
"$PY" "$MODEL" "$W/b2/bench.json" -n 1048576 --out "$W/m" --counts "$W/m/counts.json" >"$W/mlog" 2>&1
check_eval "model runs" '[ $? = 0 ]' || sed 's/^/    /' "$W/mlog" | tail -5
check_eval "model properties" '"$PY" - "$W/m" <<PY
import csv, json, sys
d = sys.argv[1]
rows = list(csv.DictReader(open(d + "/model.csv")))
phases = "products residual topk lsq gathers norm other".split()
groups = {}
for r in rows:
    groups.setdefault((r["setting"], r["operator"], r["topk_method"], r["lsq_method"]), []).append(r)
assert len(groups) == 2 * (3 * 5 + 3), sorted(groups)
for g, rs in groups.items():
    ps = [int(r["p"]) for r in rs]
    assert ps == [2 ** e for e in range(13)], (g, ps)
    assert float(rs[0]["efficiency"]) == 1.0, g  # T1 / T1, printed
    # 6 printed digits each: the sum of the phases within 1e-5 of the total
    tot = [sum(float(r[q]) for q in phases) for r in rs]
    assert all(abs(t - float(r["total"])) <= 1e-5 * t for t, r in zip(tot, rs)), g
    if g[0] == "strong" and g[1] == "dense":  # the pass alone: exactly half per doubling
        pr = [float(r["products"]) for r in rs]
        assert all(abs(a / b - 2) <= 2e-5 for a, b in zip(pr, pr[1:])), (g, pr)
    if g[2] != "auto":  # fixed methods: collective costs never fall as p grows
        for q in ("topk", "norm", "residual"):
            c = [float(r["comm_" + q]) for r in rs]
            assert all(b >= a * (1 - 1e-5) for a, b in zip(c, c[1:])), (g, q, c)
cj = json.load(open(d + "/counts.json"))
seq = {}
for x in cj["rows"]:
    seq.setdefault((x["setting"], x["operator"], x["topk"], x["lsq"]), []).append(x)
for g, xs in seq.items():
    if g[2] == "auto":
        continue
    assert [x["p"] for x in xs] == [2 ** e for e in range(13)]
    assert all(c["max"] == 0 for c in xs[0]["phases"]["topk"].values())  # one rank: no message
    for q in phases:
        for what in ("hops", "bytes"):
            key = "max" if what == "hops" else "total"
            v = [x["phases"][q][what][key] for x in xs]
            assert all(b >= a * (1 - 1e-12) for a, b in zip(v, v[1:])), (g, q, what, v)
PY'

# FISTA's iteration, with A_S x_S reduced both ways: efficiency 1 at p = 1, and the
# tree's residual never more hops than the chain's.
for r in tree chain; do
  "$PY" "$MODEL" "$W/b2/bench.json" --algo fista --residual $r --setting strong --operators dense,conv \
    --out "$W/f-$r" --counts "$W/f-$r/counts.json" >"$W/flog" 2>&1 || { notok "model --algo fista --residual $r" "$(tail -2 "$W/flog")"; continue; }
done
check_eval "model --algo fista: efficiency 1 at p = 1, the tree's residual in fewer hops than the chain's" '"$PY" - "$W" <<PY
import csv, json, sys
d = sys.argv[1]
for r in ("tree", "chain"):
    rows = list(csv.DictReader(open(d + "/f-%s/model.csv" % r)))
    assert all(float(x["efficiency"]) == 1.0 for x in rows if x["p"] == "1"), r
hops = {}
for r in ("tree", "chain"):
    for x in json.load(open(d + "/f-%s/counts.json" % r))["rows"]:
        if x["operator"] == "dense" and x["topk"] == "gather" and x["lsq"] == "replicated":
            hops.setdefault(r, {})[x["p"]] = x["phases"]["residual"]["hops"]["max"]
assert set(hops["tree"]) == set(hops["chain"])
assert all(hops["tree"][p] <= max(hops["chain"][p], 2) for p in hops["tree"]), hops
assert hops["tree"][4096] < hops["chain"][4096], (hops["tree"][4096], hops["chain"][4096])
PY'

# The model against measured times (a local study) is a benchmark, not a test: this
# machine is shared and a time can wander by 2.5x (make model, README "The model").

finish
