#!/usr/bin/env bash
# Recovery study: every l0 algorithm (and FISTA, debiased on its k largest entries)
# on R random gaussian and deconv instances per sparsity k; writes DIR/recovery.csv
# and one plot per problem, DIR/recovery-gaussian.png and DIR/recovery-deconv.png
# (exact support-recovery rate against k, one line per algorithm).
#   scripts/recovery-study.sh [--quick] [--out DIR] [--np P] [-- extra 'sprec study' options]
# Default: m=64, n=256, k = 2..20, 50 instances, 40 dB, deconv width 0.01, 2 ranks
# (about a minute on 2 cores).
# --quick: k = 2,4, 2 instances (under a minute; used by the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/recovery-study np=2 quick=0 extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --out) out=$2; shift ;;
    --np) np=$2; shift ;;
    --) shift; extra=("$@"); break ;;
    *) echo "recovery-study.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$out"
args=()
[ "$quick" -eq 1 ] && args=(--ks 2,4 --trials 2)
scripts/mpirun.sh -np "$np" bin/sprec study "${args[@]}" "${extra[@]}" --out "$out/recovery.csv"

algos=$(awk -F, 'NR > 1 && !seen[$2]++ { printf "%s ", $2 }' "$out/recovery.csv")
for problem in $(awk -F, 'NR > 1 && !seen[$1]++ { print $1 }' "$out/recovery.csv"); do
  gnuplot <<GP
set terminal pngcairo size 800,520 font ",11"
set output "$out/recovery-$problem.png"
set datafile separator ","
set title "Exact support recovery, $problem ($(awk -F, 'NR==2 {printf "m=%s, n=%s, %s instances per point", $3, $4, $6}' "$out/recovery.csv"))"
set xlabel "sparsity k"
set ylabel "recovery rate"
set yrange [-0.03:1.03]
set key outside right
set grid
# Ten distinguishable line styles (the default palette repeats after eight).
colors = "#1f77b4 #d62728 #2ca02c #ff7f0e #9467bd #8c564b #e377c2 #7f7f7f #bcbd22 #17becf"
do for [i=1:10] { set linetype i lc rgb word(colors, i) lw 2 pt i }
plot for [a in "$algos"] sprintf("< grep '^$problem,%s,' $out/recovery.csv", a) using 5:7 with linespoints title a
GP
done
echo "recovery study: wrote $out/recovery.csv and $(ls "$out"/recovery-*.png | tr '\n' ' ')"
