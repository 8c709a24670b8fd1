#!/usr/bin/env bash
# The main job on its embedded default problem: spike deconvolution, m=256, n=1024,
# k=12, 40 dB SNR, solved with SEA and HTP on 2 ranks. Prints a short table.
set -euo pipefail
cd "$(dirname "$0")/.."
NP=${NP:-2}
problem=(--problem deconv -m 256 -n 1024 -k 12 --snr 40 --seed 1)
echo "sprec demo: spike deconvolution, m=256 n=1024 k=12, SNR 40 dB, $NP ranks"
printf '%-10s %8s %14s %14s %11s %10s\n' algorithm F1 rel_error rel_residual iterations time_s
for algo in sea htp; do
  line=$(scripts/mpirun.sh -np "$NP" bin/sprec solve "${problem[@]}" --algo "$algo")
  get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
  printf '%-10s %8s %14s %14s %11s %10s\n' "$algo" "$(get f1)" "$(get rel_error)" \
    "$(get rel_residual)" "$(get iterations)" "$(get time)"
done
