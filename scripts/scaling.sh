#!/usr/bin/env bash
# Strong and weak scaling studies: one solve per rank count of a Gaussian problem generated
# in memory, the results collected into DIR/scaling.csv and drawn in DIR/time.png (time
# per phase against ranks, stacked bars) and DIR/efficiency.png (speedup and parallel
# efficiency against the ideal).
#   scripts/scaling.sh strong|weak [--ranks 1,2,4,...] [-m M] [-n N] [-k K] [--algo ALGO]
#                      [--iters T] [--seed S] [--repeat R] [--out DIR] [--local | --replot]
#                      [--sbatch "OPTIONS"] [-- more 'sprec solve' options]
# strong: the same m x n problem at every rank count; weak: n columns per rank (-n is the
# per-rank count; the problem has n x ranks columns).
# Defaults: ranks 1,2; m=1000, k=50, --algo sea, 50 iterations, seed 1; n=200000 (strong)
# or 100000 per rank (weak); DIR = build/scaling-strong or build/scaling-weak.
# --repeat R runs every point R times (rounds interleaved) and keeps the fastest (by total
# time): on a shared machine, the least disturbed run. --replot runs nothing: it rebuilds
# the CSV and the plots from the results in DIR (give the same options).
# Without --local, each point is a SLURM job (jobs/strong.sbatch, jobs/weak.sbatch, with
# --ntasks=P and the --sbatch options: partition, account, nodes...), all submitted at
# once; they run one after the other where the nodes are few (--exclusive) and the script
# waits for all. More ranks than the cluster has CPUs get --overcommit (the local one-node
# cluster of scripts/slurm-local.sh has as many CPUs as this machine). The SLURM commands
# must reach a cluster: on this machine, scripts/slurm-local.sh start and
# eval "$(scripts/slurm-local.sh env)".
# With --local, each point runs here through scripts/mpirun.sh (which oversubscribes when
# P exceeds the cores).
# CSV columns: scaling, ranks, m, n, k, algorithm, iterations, repeats, total, io, setup,
# apply_T, topk, lsq, comm, other, speedup, efficiency (seconds; each the slowest rank's).
# io is the problem generation, setup the solver's (the power iteration for the step, the
# least-squares set-up); other = total minus io, setup, apply_T, topk and lsq (0 when those
# maxima over ranks add up to more than the total); comm is the time in MPI calls, already
# inside topk, lsq and other. With p0 the smallest rank count and T0 its total time:
# strong speedup p0 T0 / Tp, efficiency p0 T0 / (p Tp); weak efficiency T0 / Tp, (scaled)
# speedup p T0 / Tp.
set -euo pipefail
caller=$PWD
cd "$(dirname "$0")/.."
root=$PWD
die() { echo "scaling.sh: $*" >&2; exit 2; }

mode=${1:-}
case "$mode" in
  strong|weak) shift ;;
  *) die "usage: scripts/scaling.sh strong|weak [--ranks LIST] [-m M] [-n N] [-k K] [--algo A] [--iters T] [--seed S] [--repeat R] [--out DIR] [--local | --replot] [--sbatch OPTIONS] [-- solve options]" ;;
esac
ranks=1,2 m=1000 n="" k=50 algo=sea iters=50 seed=1 repeat=1 out="" local=0 replot=0 sbatch_opts="" extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --ranks) ranks=$2; shift ;;
    -m) m=$2; shift ;;
    -n) n=$2; shift ;;
    -k) k=$2; shift ;;
    --algo) algo=$2; shift ;;
    --iters) iters=$2; shift ;;
    --seed) seed=$2; shift ;;
    --repeat) repeat=$2; shift ;;
    --out) out=$2; shift ;;
    --local) local=1 ;;
    --replot) replot=1 ;;
    --sbatch) sbatch_opts=$2; shift ;;
    --) shift; extra=("$@"); break ;;
    *) die "unknown option '$1'" ;;
  esac
  shift
done
[ -n "$n" ] || { [ "$mode" = strong ] && n=200000 || n=100000; }
if [ -z "$out" ]; then out=build/scaling-$mode
elif [[ "$out" != /* ]]; then out=$caller/$out # relative to where the script was called from
fi
IFS=, read -r -a plist <<<"$ranks"
for p in "${plist[@]}" "$m" "$n" "$k" "$iters" "$repeat"; do
  [[ "$p" =~ ^[1-9][0-9]*$ ]] || die "'$p' is not a positive integer"
done
[ -x bin/sprec ] || die "bin/sprec is missing: build it first (make)"
mkdir -p "$out"
out=$(cd "$out" && pwd)
[ "$replot" -eq 1 ] || rm -f "$out"/np*.json "$out"/np*.log "$out/scaling.csv" "$out/time.png" "$out/efficiency.png"
ncols() { [ "$mode" = strong ] && echo "$n" || echo $((n * $1)); }
# The runs: every rank count, $repeat times (the rounds interleaved, so that a disturbance
# of the machine does not hit one rank count only); np<P>.json, or np<P>.r<R>.json.
runs=()
for ((r = 1; r <= repeat; r++)); do
  for p in "${plist[@]}"; do
    if [ "$repeat" -eq 1 ]; then runs+=("$p:np$p"); else runs+=("$p:np$p.r$r"); fi
  done
done
echo "scaling.sh: $mode scaling, ranks ${plist[*]}, m=$m n=$n$([ "$mode" = weak ] && echo ' per rank') k=$k, $algo, $iters iterations$([ "$repeat" -gt 1 ] && echo ", best of $repeat") -> $out"

if [ "$replot" -eq 1 ]; then
  echo "scaling.sh: --replot: the results already in $out"
elif [ "$local" -eq 1 ]; then
  for run in "${runs[@]}"; do
    p=${run%%:*} tag=${run#*:}
    echo "scaling.sh: $p rank(s), n=$(ncols "$p") ($tag)"
    scripts/mpirun.sh -np "$p" bin/sprec solve --problem gaussian -m "$m" -n "$(ncols "$p")" -k "$k" \
      --seed "$seed" --algo "$algo" --iters "$iters" "${extra[@]}" --out "$out/$tag.json" \
      >"$out/$tag.log" 2>&1 || { tail -5 "$out/$tag.log" >&2; die "the $p-rank run failed (log: $out/$tag.log)"; }
  done
else
  command -v sbatch >/dev/null || die "no sbatch: give --local, or install SLURM's client"
  sinfo -h >/dev/null 2>&1 || die "no SLURM cluster answers (scripts/slurm-local.sh start; eval \"\$(scripts/slurm-local.sh env)\"), or give --local"
  cpus=$(sinfo -h -N -o '%N %c' | sort -u | awk '{ s += $2 } END { print s + 0 }')
  read -r -a sopts <<<"$sbatch_opts"
  ids=()
  for run in "${runs[@]}"; do
    p=${run%%:*} tag=${run#*:}
    over=()
    [ "$p" -gt "$cpus" ] && over=(--overcommit)
    id=$(SPREC_ROOT=$root SPREC_M=$m SPREC_N=$n SPREC_N_PER_RANK=$n SPREC_K=$k SPREC_ALGO=$algo \
         SPREC_ITERS=$iters SPREC_SEED=$seed SPREC_RESULT=$out/$tag.json \
         sbatch --parsable --ntasks="$p" "${over[@]}" --job-name="sprec-$mode-$tag" \
           --output="$out/$tag.log" "${sopts[@]}" "jobs/$mode.sbatch" "${extra[@]}") ||
      die "sbatch failed for $p ranks"
    id=${id%%;*}
    ids+=("$id")
    echo "scaling.sh: $p rank(s), n=$(ncols "$p") ($tag): job $id"
  done
  # Wait for every job (polling squeue: sbatch --wait's back-off would add up to 30 s).
  list=$(IFS=,; echo "${ids[*]}")
  while :; do
    left=$(squeue -h -j "$list" -o '%i %T %r' 2>/dev/null || true)
    [ -n "$left" ] || break
    if grep -Eq 'PartitionConfig|BadConstraints|PartitionNodeLimit|PartitionTimeLimit|AssocMaxJobsLimit|Dependency ?Never|ReqNodeNotAvail' <<<"$left"; then
      scancel "${ids[@]}" 2>/dev/null || true
      die "a job can never start: $(tr '\n' ';' <<<"$left")"
    fi
    sleep 0.5
  done
  for i in "${!runs[@]}"; do
    p=${runs[$i]%%:*} tag=${runs[$i]#*:}
    [ -s "$out/$tag.json" ] || { tail -5 "$out/$tag.log" >&2 || true; die "job ${ids[$i]} ($p ranks) wrote no result (log: $out/$tag.log)"; }
  done
fi

# --- the CSV
/usr/bin/python3 - "$out" "$mode" "$repeat" "${plist[@]}" <<'PY'
import csv, json, shutil, sys
out, mode, repeat, ranks = sys.argv[1], sys.argv[2], int(sys.argv[3]), [int(r) for r in sys.argv[4:]]
phases = ["io", "setup", "apply_T", "topk", "lsq"]
rows = []
for p in sorted(set(ranks)):
    if repeat > 1:  # the fastest of the repeats becomes np<P>.json
        tags = ["np%d.r%d" % (p, r) for r in range(1, repeat + 1)]
        best = min(tags, key=lambda tag: json.load(open("%s/%s.json" % (out, tag)))["time"]["total"])
        shutil.copyfile("%s/%s.json" % (out, best), "%s/np%d.json" % (out, p))
    j = json.load(open("%s/np%d.json" % (out, p)))
    assert j["ranks"] == p, "np%d.json ran on %s ranks" % (p, j["ranks"])
    t = j["time"]
    other = max(0.0, t["total"] - sum(t[f] for f in phases))
    rows.append(dict(scaling=mode, ranks=p, m=j["m"], n=j["n"], k=j["k"], algorithm=j["algo"],
                     iterations=j["iterations"], repeats=repeat, total=t["total"], **{f: t[f] for f in phases},
                     comm=t["comm"], other=other))
p0, t0 = rows[0]["ranks"], rows[0]["total"]
for r in rows:
    p, tp = r["ranks"], r["total"]
    if mode == "strong":
        r["speedup"] = p0 * t0 / tp
        r["efficiency"] = p0 * t0 / (p * tp)
    else:
        r["efficiency"] = t0 / tp
        r["speedup"] = p * t0 / tp
cols = ["scaling", "ranks", "m", "n", "k", "algorithm", "iterations", "repeats", "total"] + phases + \
       ["comm", "other", "speedup", "efficiency"]
with open(out + "/scaling.csv", "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow([("%.6g" % r[c]) if isinstance(r[c], float) else r[c] for c in cols])
PY

# --- the plots
csv=$out/scaling.csv
col() { head -1 "$csv" | tr , '\n' | grep -nx "$1" | cut -d: -f1; }
desc=$(awk -F, 'NR == 2 { printf "m=%s, k=%s, %s, %s iterations%s", $3, $5, $6, $7, ($8 > 1 ? ", best of " $8 : "") }' "$csv")
if [ "$mode" = strong ]; then
  desc="n=$n, $desc"; eff_label="efficiency p0 T0 / (p Tp)"; sp_label="speedup p0 T0 / Tp"
else
  desc="n=$n per rank, $desc"; eff_label="efficiency T0 / Tp"; sp_label="scaled speedup p T0 / Tp"
fi
maxp=$(awk -F, 'NR > 1 { if ($2 > m) m = $2 } END { print m }' "$csv")
gnuplot <<GP
set terminal pngcairo size 800,520 font ",11"
set datafile separator ","
set datafile columnheaders
set output "$out/time.png"
set title "${mode^} scaling, time per phase\n($desc)"
set xrange [-0.6:$(($(awk 'END { print NR }' "$csv") - 2)).6]  # bars at 0, 1, ...
set xlabel "ranks"
set ylabel "seconds (slowest rank)"
set style data histograms
set style histogram rowstacked
set style fill solid 0.85 border -1
set boxwidth 0.6
set key outside right top
set grid ytics
set yrange [0:*]
colors = "#1f77b4 #ff7f0e #2ca02c #d62728 #9467bd #8c564b"
plot "$csv" using $(col io):xtic(2) title "io (problem generation)" lc rgb word(colors, 1), \
     "" using $(col setup) title "setup" lc rgb word(colors, 2), \
     "" using $(col apply_T) title "A^T r" lc rgb word(colors, 3), \
     "" using $(col topk) title "top-k" lc rgb word(colors, 4), \
     "" using $(col lsq) title "least squares" lc rgb word(colors, 5), \
     "" using $(col other) title "other" lc rgb word(colors, 6), \
     "" using 0:$(col comm) with linespoints lw 2 pt 7 lc rgb "black" title "comm (inside the above)"
set output "$out/efficiency.png"
set style data linespoints
set title "${mode^} scaling, speedup and efficiency\n($desc)"
set xlabel "ranks"
set ylabel "speedup"
set y2label "parallel efficiency"
set xrange [0.8:$maxp * 1.1]
set yrange [0:$maxp * 1.2]
set y2range [0:1.25]
set xtics ($(awk -F, 'NR > 1 { printf "%s\"%s\" %s", (NR > 2 ? ", " : ""), $2, $2 }' "$csv"))
set ytics nomirror
set y2tics 0, 0.2
set grid
set bmargin 7
set key at screen 0.5, screen 0.02 center bottom horizontal maxrows 2
plot "$csv" using 2:$(col speedup) lw 2 pt 7 lc rgb "#1f77b4" title "$sp_label", \
     x with lines dt 2 lw 1.5 lc rgb "#1f77b4" title "ideal speedup", \
     "$csv" using 2:$(col efficiency) axes x1y2 lw 2 pt 5 lc rgb "#d62728" title "$eff_label", \
     1 axes x1y2 with lines dt 2 lw 1.5 lc rgb "#d62728" title "ideal efficiency"
GP
echo "scaling.sh: wrote $out/scaling.csv, $out/time.png, $out/efficiency.png"
column -s, -t "$csv" 2>/dev/null || cat "$csv"
