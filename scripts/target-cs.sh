#!/usr/bin/env bash
# The compressed-sensing target of issue 15: the fast-transform operator at n = 2^28
# on 2 ranks, a planted k = 50 support, m = 2^16 measurements, 40 dB.
#   scripts/target-cs.sh [PATH/TO/sprec]
# Environment: L (log2 n, default 28), M (65536), K (50), SNR (40), NP (2 ranks),
#   ALGOS ("htp sea"), SEA_ITERS (100: SEA's budget; it returns its best iterate),
#   SEA_TOL (SEA stops once ‖Ax − y‖/‖y‖ is down to the noise: 1.01·10^(−SNR/20)),
#   OUT (a directory for the result JSONs; default a temporary one, removed).
# For each algorithm: one line with whether the support is recovered exactly, the
# iterations, the passes over A and seconds per pass, the peak memory per rank and
# per local column (the target: at most 64 bytes per local column plus O(m·k)). Then
# the model: streaming n_r doubles (read and write) on each rank at once, measured in
# the same run just before the solves, and the pass's time as a multiple of it and of
# it times log2 n (a pass is O(n log n): the transform's L butterfly stages).
# Memory: about 3 + 8·NP·(n/NP)·3 bytes (SEA: its two n_r vectors, the transform's
# column buffer) plus the stream's 16·n_r bytes per rank, which run apart; the script
# refuses to start with less than that available.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SPREC=${1:-$root/bin/sprec}
L=${L:-28}
M=${M:-65536}
K=${K:-50}
SNR=${SNR:-40}
NP=${NP:-2}
ALGOS=${ALGOS:-"htp sea"}
SEA_ITERS=${SEA_ITERS:-100}
SEA_TOL=${SEA_TOL:-$(awk -v s="$SNR" 'BEGIN {printf "%.6g", 1.01 * 10 ^ (-s / 20)}')}
PY=${PYTHON:-/usr/bin/python3}
n=$((1 << L))
nr=$(((n + NP - 1) / NP))

if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT"
else
  OUT=$(mktemp -d "${TMPDIR:-/tmp}/sprec-cs.XXXXXX")
  trap 'rm -rf "$OUT"' EXIT
fi

need_mib=$((24 * nr * NP / 1048576 + 1024))
avail_mib=$(awk '/MemAvailable/ {print int($2 / 1024)}' /proc/meminfo)
if [ "$avail_mib" -lt "$need_mib" ]; then
  echo "target-cs: $avail_mib MiB available, $need_mib MiB needed at n = 2^$L: not started" >&2
  exit 1
fi

# The model: each rank streams its n_r doubles (b = 1.5·a), all ranks at once, best of 3.
stream=$(for ((r = 0; r < NP; r++)); do
  "$PY" -c '
import sys, time, numpy as np
a = np.ones(int(sys.argv[1])); b = np.empty_like(a)
best = 1e9
for _ in range(3):
    t = time.perf_counter(); np.multiply(a, 1.5, out=b); best = min(best, time.perf_counter() - t)
print(best)' "$nr" &
done | sort -g | tail -1)
wait
echo "target-cs: n = 2^$L = $n, m = $M, k = $K, $SNR dB, $NP ranks (n_r = $nr); streaming n_r doubles: $stream s"

for algo in $ALGOS; do
  extra=()
  [ "$algo" = sea ] && extra=(--iters "$SEA_ITERS" --tol "$SEA_TOL")
  "$root/scripts/mpirun.sh" -np "$NP" "$SPREC" solve --problem hadamard -m "$M" -n "$n" -k "$K" \
    --snr "$SNR" --algo "$algo" "${extra[@]}" --out "$OUT/$algo.json" --quiet
  "$PY" - "$OUT/$algo.json" "$nr" "$stream" "$L" "$M" "$K" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
nr, stream, L, m, k = int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
pf, t = d["perf"], d["time"]
passes = pf["apply_T_passes"]
per_pass = t["apply_T"] / passes
peak = pf.get("peak_rss_MiB", 0.0)
per_col = peak * 1048576 / nr
print(f"target-cs: {d['algo']} operator={d['operator']} recovered={d['truth']['support_recovered']} "
      f"f1={d['truth']['f1']} rel_error={d['truth']['rel_error']:.3e} iterations={d['iterations']} "
      f"best_iteration={d['best_iteration']} stop={d['stop_reason']} passes={passes} seconds_per_pass={per_pass:.3f} "
      f"pass_over_stream={per_pass / stream:.1f} pass_over_stream_log2n={per_pass / (stream * L):.2f} "
      f"total={t['total']:.1f}s setup_io={t['io']:.1f}s peak_MiB_per_rank={peak:.0f} "
      f"bytes_per_local_column={per_col:.1f} (target 64 + O(m*k): m*k*8/n_r = {8 * m * k / nr:.2f})")
EOF
done
