#!/usr/bin/env bash
# The recovery study in its --quick setting: the CSV has one row per
# (problem, algorithm, k) with values in range, and both plots are PNG images.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
make_workdir study

start=$(date +%s)
"$root/scripts/recovery-study.sh" --quick --out "$W" >"$W/log" 2>&1
check_eval "study runs" '[ $? -eq 0 ]'
check_eval "quick study under a minute" '[ $(( $(date +%s) - start )) -lt 60 ]'
# Expected rows: 2 problems x 2 sparsities x 9 algorithms, each once.
check_eval "CSV rows" '"$PY" - "$W/recovery.csv" <<PY
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
algos = "sea htp iht omp ompr els cosamp sp fista".split()
want = {(p, a, k) for p in ("gaussian", "deconv") for a in algos for k in ("2", "4")}
got = [(r["problem"], r["algo"], r["k"]) for r in rows]
assert sorted(got) == sorted(want), (sorted(set(want) ^ set(got)))
for r in rows:
    assert r["trials"] == "2" and r["m"] == "64" and r["n"] == "256", r
    assert 0 <= float(r["recovery_rate"]) <= 1 and 0 <= float(r["f1_mean"]) <= 1, r
    assert float(r["rel_error_mean"]) >= 0 and float(r["time_mean"]) > 0, r
    # a recovered support has F1 = 1: the rate can never exceed the mean F1. Exact: the
    # sum of the F1 values is at least the count of ones in it (rounding is monotone),
    # both divided by the same count and printed with %.6g (monotone too).
    assert float(r["recovery_rate"]) <= float(r["f1_mean"]), r
# Two spikes in a Gaussian dictionary at 40 dB: every method recovers them.
for r in rows:
    if r["problem"] == "gaussian" and r["k"] == "2":
        assert float(r["recovery_rate"]) == 1.0, r
PY'
for p in gaussian deconv; do
  check_eval "plot $p is a PNG" '[ "$(head -c 8 "$W/recovery-$p.png" | od -An -tx1 | tr -d " \n")" = 89504e470d0a1a0a ]'
done
[ "$fail" -eq 0 ] || sed 's/^/    /' "$W/log" | tail -20
finish
