#!/usr/bin/env bash
# make bench (and by hand): `sprec bench --operator KIND` for every kind of operator at
# the given rank count, then one plot of seconds per pass against n (log-log), with the
# slope each kind should have drawn through its largest n: n for dense, conv and csc
# (a pass touches each column a fixed number of times), n log n for hadamard (the fast
# transform). The fraction of each pass's own bound is in the CSV files and the table
# printed at the end.
#   scripts/bench-operators.sh [--ranks P] [--out DIR] [--kinds "dense conv hadamard csc"]
#                              [-- extra 'sprec bench --operator' options]
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/bench/operators ranks=2 kinds="dense conv hadamard csc" extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --ranks) ranks=$2; shift ;;
    --out) out=$2; shift ;;
    --kinds) kinds=$2; shift ;;
    --) shift; extra=("$@"); break ;;
    *) echo "bench-operators.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$out"
all=$out/operators.csv
first=1
for k in $kinds; do
  scripts/mpirun.sh -np "$ranks" bin/sprec bench --operator "$k" --out "$out/$k" "${extra[@]}"
  if [ $first = 1 ]; then cat "$out/$k/operator.csv" >"$all"; first=0
  else tail -n +2 "$out/$k/operator.csv" >>"$all"; fi
done
command -v gnuplot >/dev/null || { echo "bench-operators.sh: no gnuplot, no plot" >&2; exit 0; }
plot=""
for k in $kinds; do
  f=$out/$k/operator.csv
  # The guide through the last point: t_last * (n/n_last) or t_last * (n log n)/(n_last log n_last).
  read -r nl tl <<<"$(awk -F, 'NR > 1 { n = $4; t = $5 } END { print n, t }' "$f")"
  [ -n "$nl" ] || continue
  if [ "$k" = hadamard ]; then guide="$tl*(x*log(x))/($nl*log($nl))"; slope="n log n"
  else guide="$tl*x/$nl"; slope="n"; fi
  plot+="'$f' using 4:5 with linespoints lw 2 title '$k', $guide with lines dt 2 lc rgb 'gray' title '$k: slope $slope', "
done
gnuplot <<GP
set terminal pngcairo size 900,600 font ",11"
set datafile separator ","
set output "$out/operators.png"
set title "Seconds per pass (A^T r) against n, $ranks ranks"
set logscale xy
set xlabel "n (columns)"
set ylabel "seconds per pass (slowest rank)"
set key left top
set grid
plot ${plot%, }
GP
echo "bench-operators.sh: $all, $out/operators.png"
column -s, -t "$all" | cut -c1-160
