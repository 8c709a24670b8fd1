#!/usr/bin/env bash
# `sprec bench --quick` at 1 and 2 ranks: it runs, and bench.json / bench.csv hold every
# figure the benchmark promises, each finite and in range. (Timings are not judged:
# the machines are shared; the benchmark reports, it does not pass or fail.)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
make_workdir bench
require_setup
# notok_log NAME LOG: the case failed; the last lines of its log follow.
notok_log() { notok "$1" "the log's last lines:"; sed 's/^/    /' "$2" | tail -15; }
for np in 1 2; do
  if "$MPIRUN" -np "$np" "$SPREC" bench --quick --out "$W/np$np" >"$W/log$np" 2>&1 &&
    "$PY" - "$W/np$np" "$np" <<'PY'
import csv, json, math, sys
d, np_ = sys.argv[1], int(sys.argv[2])
j = json.load(open(d + "/bench.json"))
rows = {r["metric"]: float(r["value"]) for r in csv.DictReader(open(d + "/bench.csv"))}
assert rows == j, "CSV and JSON disagree"
need = ["stream_read_GBps", "dgemv_GBps", "reference_GBps", "apply_T_GBps", "apply_T_over_reference",
        "apply_T_pass_seconds", "peak_rss_MiB_per_rank", "block_MiB_per_rank", "peak_rss_over_block"]
for a in ["sea", "htp", "iht", "omp", "fista"]:
    need += [a + "_iteration_seconds", a + "_iteration_over_apply_T", a + "_share_apply_T"]
for k in [10, 50, 200]:
    need += ["lsq_replicated_k%d_seconds" % k, "lsq_scalapack_k%d_seconds" % k]
for b in [1, 4, 16]:  # batched right-hand sides, --quick's b
    need += ["batch_b%d_problems_per_second" % b, "batch_b%d_speedup" % b,
             "batch_b%d_pass_seconds_per_problem" % b]
missing = [n for n in need if n not in j]
assert not missing, missing
assert j["ranks"] == np_ and j["m"] == 200 and j["n"] == 20000 and j["k"] == 10
for n in need:
    assert math.isfinite(j[n]) and j[n] > 0, (n, j[n])
# Exact: reference = bytes / min(t_read, t_gemv) / 1e9, the same divisions as the larger
# of the two rates (division rounds monotonically), printed the same way.
assert j["reference_GBps"] == max(j["stream_read_GBps"], j["dgemv_GBps"])
for a in ["sea", "htp", "iht", "omp", "fista"]:
    # A sum of timed intervals over the time they lie in: at most 1 but for the
    # rounding of the clock readings (MPI_Wtime counts from the start of the run: half
    # an ulp of a few seconds, ~1e-15 s, per reading), a few hundred readings against
    # iterations of ~0.1 s: far below 1e-9. Not a comparison of two computations of
    # one number.
    assert 0 < j[a + "_share_apply_T"] <= 1.0 + 1e-9
assert j["peak_rss_MiB_per_rank"] >= j["block_MiB_per_rank"]  # the block is resident
assert j["batch_b1_speedup"] == 1, j["batch_b1_speedup"]  # exact: a number over itself
# bench.json prints with %.9g: each number within H = 5e-9 of its value, relative.
H, EPS = 5e-9, sys.float_info.epsilon
for b in [4, 16]:  # the speedup is the ratio of the problems per second measured
    s = j["batch_b%d_problems_per_second" % b] / j["batch_b1_problems_per_second"]
    # s from two printed numbers (2 H), the speedup printed from the exact ratio (H)
    assert abs(j["batch_b%d_speedup" % b] - s) <= (3 * H + 4 * EPS) * s, (b, j["batch_b%d_speedup" % b], s)
assert "batch_b8_problems_per_second" not in j  # --quick: b = 1, 4, 16 only
PY
  then ok "bench --quick -np $np"
  else notok_log "bench --quick -np $np" "$W/log$np"; fi
done
# `sprec bench --operator KIND`: a row per n, doubling from --n0 to --n-max, each pass's
# bytes and flops the analytic count of its kind (computed here from the definition),
# its bound the slower of the two at the run's own references, its fraction bound/time.
for kind in dense hadamard csc conv; do
  if "$MPIRUN" -np 2 "$SPREC" bench --operator $kind --n0 1024 --n-max 8192 \
      --reps 1 --out "$W/op-$kind" >"$W/log-$kind" 2>&1 &&
    "$PY" - "$W/op-$kind/operator.csv" $kind <<'PY'
import csv, math, sys
rows = list(csv.DictReader(open(sys.argv[1])))
kind = sys.argv[2]
assert [int(r["n"]) for r in rows] == [1024, 2048, 4096, 8192], [r["n"] for r in rows]
H = 5e-6  # %.6g: each printed number within H of its value, relative
for r in rows:
    v = {k: float(x) for k, x in r.items() if k != "operator"}
    assert r["operator"] == kind and v["ranks"] == 2
    m, n = v["m"], v["n"]
    nnz = 8 * n  # csc: 8 nonzeros per column (the default), int32 rows: 12 bytes each
    want = {"dense": (8 * m * n, 2 * m * n), "hadamard": (32 * n, n * math.log2(n)),
            "csc": (12 * nnz + 16 * n + 8 * m, 2 * nnz),
            "conv": (8 * (m + n), 2 * 25 * n)}[kind]  # 25 taps: the direct path
    assert kind != "conv" or m == n + 24, r
    assert abs(v["bytes"] - want[0]) <= H * want[0] and abs(v["flops"] - want[1]) <= H * want[1], (r, want)
    bound = max(v["bytes"] / (v["stream_GBps"] * 1e9), v["flops"] / (v["incache_Gflops"] * 1e9))
    assert abs(v["bound_seconds"] - bound) <= 4 * H * bound, (r, bound)
    f = v["bound_seconds"] / v["seconds_per_pass"]
    assert v["seconds_per_pass"] > 0 and abs(v["fraction_of_bound"] - f) <= 4 * H * f + 1e-4, (r, f)
PY
  then ok "bench --operator $kind -np 2"
  else notok_log "bench --operator $kind -np 2" "$W/log-$kind"; fi
done
finish
