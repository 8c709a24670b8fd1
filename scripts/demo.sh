#!/usr/bin/env bash
# make demo: what sprec is for. Spike deconvolution (m=256 samples of a signal made of
# k=12 narrow Gaussian bumps at unknown places among n=1024 candidates, 40 dB noise):
# a coherent dictionary, where SEA recovers the exact support and HTP, OMP, IHT and ELS
# do not. Solved on 2 ranks from files, as a user would: `sprec gen`, then `sprec solve`
# per method. Prints a table whose figures are the same on every machine (the kernels
# sum in a fixed order, see README) and draws build/demo/spikes.png.
set -euo pipefail
cd "$(dirname "$0")/.."
NP=${NP:-2}
out=build/demo
algos=(sea htp omp iht els)
mkdir -p "$out"
scripts/mpirun.sh -np "$NP" bin/sprec gen --problem deconv -m 256 -n 1024 -k 12 --snr 40 \
  --seed 1 --width 0.005 --out "$out" --quiet
echo "sprec demo: spike deconvolution, m=256 samples, n=1024 candidate positions, k=12 spikes,"
echo "bump width 0.005, SNR 40 dB, $NP ranks"
for algo in "${algos[@]}"; do
  scripts/mpirun.sh -np "$NP" bin/sprec solve --A "$out/A.npy" --y "$out/y.npy" -k 12 \
    --truth "$out/x_true.npy" --algo "$algo" --out "$out/$algo.json" --quiet
done
${PYTHON:-/usr/bin/python3} scripts/demo-report.py "$out" "${algos[@]}"
