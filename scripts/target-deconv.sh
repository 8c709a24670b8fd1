#!/usr/bin/env bash
# The deconvolution target of issue 15: spikes convolved with a sampled Gaussian
# (sigma = 3 samples, 25 taps, unit norm), 20 spikes at least 100 samples apart,
# amplitudes ±(1 + |N(0,1)|), 40 dB, solved through the convolution operator (nothing
# m x n stored) on 2 ranks.
#   scripts/target-deconv.sh [OUTDIR]            (default: a temporary directory)
#   N=16777216 NP=2 SEEDS=10 ITERS=200 ALGOS="sea omp htp iht" SMALL=1 BIG=1
# 1. SMALL: n = 4096, SEEDS seeds: sprec gen writes K, y, x_true; an independent NumPy
#    SEA, OMP and HTP (np.correlate for Aᵀr, dense lstsq on the support) and sprec's
#    (--kernel K.npy --y y.npy) each say whether they recover the support.
# 2. BIG: n = N (2^24 by default; a dense A would take 2 PB), seed 1, each algorithm of
#    ALGOS with --iters ITERS (OMP: k): recovery, iterations, the iteration of the best
#    iterate, seconds per pass (apply_T seconds / passes), the whole run, and the peak
#    memory per rank (the result's perf.peak_rss_MiB). Results in OUTDIR/big.ALGO.json.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
SPREC=${SPREC:-$root/bin/sprec}
PY=${PYTHON:-/usr/bin/python3}
N=${N:-16777216}
NP=${NP:-2}
SEEDS=${SEEDS:-10}
ITERS=${ITERS:-200}
ALGOS=${ALGOS:-"sea omp htp iht"}
OUT=${1:-$(mktemp -d "${TMPDIR:-/tmp}/sprec-deconv.XXXXXX")}
mkdir -p "$OUT"
run() { "$root/scripts/mpirun.sh" -np "$NP" "$SPREC" "$@"; }
problem=(-k 20 --sigma 3 --taps 25 --min-sep 100 --snr 40)

if [ "${SMALL:-1}" = 1 ]; then
  echo "== n = 4096, $SEEDS seeds: support recovered (1) or not (0)"
  for s in $(seq 1 "$SEEDS"); do
    d="$OUT/small.$s"
    rm -rf "$d"
    run gen --problem spikes -n 4096 "${problem[@]}" --seed "$s" --out "$d" --quiet
    line="seed $s numpy: $("$PY" - "$d" <<'EOF'
import sys, numpy as np
d = sys.argv[1]
K, y, xt = np.load(d + "/K.npy"), np.load(d + "/y.npy"), np.load(d + "/x_true.npy")
L, m = len(K), len(y); n = m - L + 1
k = np.count_nonzero(xt); T = set(np.flatnonzero(xt))
AT = lambda r: np.correlate(r, K, "valid")          # (Aᵀr)_j = Σ_t K_t r_{j+t}
def lsq(S):
    C = np.zeros((m, len(S)))
    for t, j in enumerate(S): C[j:j + L, t] = K
    z = np.linalg.lstsq(C, y, rcond=None)[0]
    return z, y - C @ z
L2 = np.max(np.abs(np.fft.rfft(K, 1 << 16))) ** 2     # >= ‖A‖₂²: sup |K̂|²
def sea():                                            # SEA: X += η Aᵀr, x = H(X), best by fit
    X = np.zeros(n); r = y.copy(); best = (np.inf, None)
    for _ in range(1000):
        X += AT(r) / L2
        S = np.sort(np.argsort(-np.abs(X), kind="stable")[:k])
        z, r = lsq(S); f = 0.5 * r @ r
        if f < best[0]: best = (f, S)
    return set(best[1])
def omp():
    S = []; r = y.copy()
    for _ in range(k):
        g = np.abs(AT(r)); g[S] = 0; S = sorted(S + [int(np.argmax(g))]); z, r = lsq(S)
    return set(S)
def htp():                                            # HTP, step 1, until the support repeats
    x = np.zeros(n); S = None
    for _ in range(500):
        u = x + AT(y - np.convolve(K, x))
        S2 = np.sort(np.argsort(-np.abs(u), kind="stable")[:k])
        if S is not None and np.array_equal(S, S2): break
        S = S2; z, _ = lsq(S); x = np.zeros(n); x[S] = z
    return set(S)
print(" ".join("%s=%d" % (a, f() == T) for a, f in (("sea", sea), ("omp", omp), ("htp", htp))))
EOF
)"
    line="$line | sprec:"
    for a in $ALGOS; do
      run solve --kernel "$d/K.npy" --y "$d/y.npy" -k 20 --algo "$a" --truth "$d/x_true.npy" \
        --out "$d/$a.json" --quiet
      line="$line $a=$("$PY" -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["truth"]["support_recovered"]))' "$d/$a.json")"
    done
    echo "$line"
  done
fi

if [ "${BIG:-1}" = 1 ]; then
  echo "== n = $N on $NP ranks (seed 1)"
  for a in $ALGOS; do
    it=(--iters "$ITERS")
    [ "$a" = omp ] && it=()
    run solve --problem spikes -n "$N" "${problem[@]}" --seed 1 --algo "$a" "${it[@]}" \
      --out "$OUT/big.$a.json" --quiet
    "$PY" - "$OUT/big.$a.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1])); p = r["perf"]; t = r["truth"]
print("%-4s recovered=%-5s f1=%.3f iterations=%d best=%d passes=%d s/pass=%.3f total=%.1fs "
      "(apply_T %.1f, topk %.1f, lsq %.1f, setup+gen %.1f) peak_rss/rank=%.0f MiB operator=%s"
      % (r["algo"], t["support_recovered"], t["f1"], r["iterations"], r["best_iteration"],
         p["apply_T_passes"], p["apply_T_seconds"] / max(p["apply_T_passes"], 1),
         r["time"]["total"], r["time"]["apply_T"], r["time"]["topk"], r["time"]["lsq"],
         r["time"]["setup"] + r["time"]["io"], p["peak_rss_MiB"], r["operator"]))
EOF
  done
fi
echo "results in $OUT"
