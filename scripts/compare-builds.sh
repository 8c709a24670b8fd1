#!/usr/bin/env bash
# Compares what users see from two builds of sprec: after a change that must not change
# any result (a restructuring, a faster kernel that keeps the bits), run
#   scripts/compare-builds.sh OLD/bin/sprec NEW/bin/sprec [WORKDIR]
# It prints "same - WHAT" or "DIFF - WHAT" per item and exits 1 on any difference:
#   * the demo's table (scripts/demo-report.py over each build's results);
#   * the --out JSON of every algorithm on fixed Gaussian and deconvolution problems at
#     1 to 4 ranks (NPS), of a batch, a chain (--init), float32, and the convolution,
#     Hadamard and sparse operators, compared field by field except the wall times
#     ("time", "perf", "peak_rss_mib") and the version ("sprec_version");
#   * checkpoints across builds: a periodic checkpoint written by OLD resumed by NEW
#     (and the other way) at another rank count ends with OLD's uninterrupted result;
#   * every subcommand's --help, and the exit status and stderr of bad command lines.
# Both binaries run through scripts/mpirun.sh; numpy compares the JSON.
set -u
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ $# -ge 2 ] || { echo "usage: $0 OLD_SPREC NEW_SPREC [WORKDIR]" >&2; exit 2; }
abs() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
OLD=$(abs "$1") NEW=$(abs "$2")
W=${3:-$(mktemp -d "${TMPDIR:-/tmp}/sprec-compare.XXXXXX")}
mkdir -p "$W/old" "$W/new"
NPS=${NPS:-"1 2 3 4"}
PY=${PYTHON:-/usr/bin/python3}
MPIRUN="$root/scripts/mpirun.sh"
same=0 diff=0
verdict() { # WHAT STATUS
  if [ "$2" -eq 0 ]; then echo "same - $1"; same=$((same + 1)); else echo "DIFF - $1"; diff=$((diff + 1)); fi
}
run() { # BUILD NP ARGS...: both builds' outputs land under $W/BUILD
  local b=$1 np=$2
  shift 2
  local bin=$OLD
  [ "$b" = new ] && bin=$NEW
  (cd "$W/$b" && "$MPIRUN" -q -np "$np" "$bin" "$@")
}
jsame() { # WHAT FILE: the JSON of both builds equal but for wall times
  "$PY" - "$W/old/$2" "$W/new/$2" <<'PY'
import json, sys
def strip(o):
    if isinstance(o, dict):
        return {k: strip(v) for k, v in o.items() if k not in ("time", "perf", "peak_rss_mib", "sprec_version")}
    if isinstance(o, list):
        return [strip(v) for v in o]
    return o
try:
    a, b = (strip(json.load(open(f))) for f in sys.argv[1:3])
except Exception as e:
    print("   ", e); sys.exit(1)
if a != b:
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k): print("    %s: %r != %r" % (k, a.get(k), b.get(k)))
    sys.exit(1)
PY
  verdict "$1" $?
}

# ------------------------------------------------------------------ the demo --
for b in old new; do
  run $b 2 gen --problem deconv -m 256 -n 1024 -k 12 --snr 40 --seed 1 --width 0.005 --out demo --quiet
  for a in sea htp omp iht els; do
    run $b 2 solve --A demo/A.npy --y demo/y.npy -k 12 --truth demo/x_true.npy --algo $a \
      --out demo/$a.json --quiet
  done
  "$PY" "$root/scripts/demo-report.py" "$W/$b/demo" sea htp omp iht els 2>&1 | grep -v png >"$W/$b/demo.txt"
done
cmp -s "$W/old/demo.txt" "$W/new/demo.txt"
verdict "demo table" $?

# ------------------------------------------------- every algorithm, 1-4 ranks --
for b in old new; do
  run $b 2 gen --problem gaussian -m 80 -n 300 -k 6 --snr 30 --seed 5 --out g --quiet
  run $b 2 gen --problem deconv -m 90 -n 400 -k 5 --snr 35 --seed 2 --out d --quiet
  "$PY" -c "import numpy as np; y=np.load('$W/$b/g/y.npy'); np.save('$W/$b/g/Y.npy', np.stack([y, 0.5*y[::-1], y+0.1], 1))"
  run $b 1 gen --problem spikes -n 600 -k 4 --snr 30 --seed 3 --out s --quiet
done
L0="sea htp iht omp ompr els cosamp sp"
L1="ista fista oista"
for np in $NPS; do
  for p in g d; do
    for a in $L0 $L1; do
      extra=(-k 6)
      case " $L1 " in *" $a "*) extra=(--lambda-ratio 0.05 --iters 3000) ;; esac
      for b in old new; do
        run $b "$np" solve --A $p/A.npy --y $p/y.npy "${extra[@]}" --algo $a --truth $p/x_true.npy \
          --out $p-$a-$np.json --quiet
      done
      jsame "$a on $p at $np ranks" $p-$a-$np.json
    done
  done
  for b in old new; do
    run $b "$np" solve --A g/A.npy --y g/Y.npy -k 6 --algo htp --out batch-$np.json --quiet
    run $b "$np" solve --A g/A.npy --y g/y.npy -k 6 --algo sea --init omp --iters 50 --out chain-$np.json --quiet
    run $b "$np" solve --A d/A.npy --y d/y.npy -k 5 --dtype float32 --algo sea --iters 200 --out f32-$np.json --quiet
    run $b "$np" solve --kernel s/K.npy --y s/y.npy -k 4 --algo omp --out conv-$np.json --quiet
    run $b "$np" solve --problem hadamard -m 64 -n 1024 -k 5 --seed 4 --algo htp --out had-$np.json --quiet
    run $b "$np" solve --A d/A.npy --y d/y.npy --algo fista --lambda-ratio 0.1 --debias --restart \
      --continuation 3 --out fista-$np.json --quiet
  done
  for f in batch chain f32 conv had fista; do jsame "$f at $np ranks" $f-$np.json; done
done
"$PY" -c "import numpy as np, scipy.sparse as sp; A=np.load('$W/old/g/A.npy'); A[np.abs(A)<0.08]=0; sp.save_npz('$W/old/g/A.npz', sp.csc_matrix(A))"
cp "$W/old/g/A.npz" "$W/new/g/A.npz"
for b in old new; do run $b 2 solve --A g/A.npz --y g/y.npy -k 6 --algo sea --out csc.json --quiet; done
jsame "csc operator at 2 ranks" csc.json

# -------------------------------------------------------- checkpoints across builds --
for pair in "old new 2 3" "new old 3 1"; do
  set -- $pair
  w=$1 r=$2 nw=$3 nr=$4
  for a in sea fista; do
    opt=(-k 6 --iters 100)
    [ $a = fista ] && opt=(--lambda-ratio 0.05 --iters 400 --tol 0)
    run old 2 solve --A g/A.npy --y g/y.npy --algo $a "${opt[@]}" --out full-$a.json --quiet
    run $w "$nw" solve --A g/A.npy --y g/y.npy --algo $a "${opt[@]}" --checkpoint ck-$a \
      --checkpoint-every 30 --quiet
    cp "$W/$w/ck-$a" "$W/$r/ck-$a"
    run $r "$nr" solve --A g/A.npy --y g/y.npy --algo $a "${opt[@]}" --resume ck-$a --out res-$a.json --quiet
    cp "$W/old/full-$a.json" "$W/new/full-$a.json.ref"
    "$PY" - "$W/old/full-$a.json" "$W/$r/res-$a.json" <<'PY'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
keys = ("support", "coef", "objective", "iterations", "best_iteration", "stop_reason")
sys.exit(0 if all(a[k] == b[k] for k in keys) else 1)
PY
    verdict "$a checkpoint of $w at $nw ranks resumed by $r at $nr ranks" $?
  done
done

# ------------------------------------------------------------ help and refusals --
for sub in gen solve info bench study submit status serve; do
  for b in old new; do run $b 1 $sub --help >"$W/$b/help-$sub" 2>&1; done
  cmp -s "$W/old/help-$sub" "$W/new/help-$sub"
  verdict "$sub --help" $?
done
bad=(
  "solve --A g/A.npy --y g/y.npy -k 0"
  "solve --A g/A.npy --y g/y.npy -k 6 --algo nope"
  "solve --A g/A.npy --y g/y.npy --algo fista"
  "solve --A g/A.npy --y g/y.npy -k 6 --iters -1"
  "solve --A g/A.npy --y g/y.npy -k 6 --step -1"
  "solve --A g/A.npy --y d/y.npy -k 6"
  "solve --A nope.npy --y g/y.npy -k 6"
  "solve --A g/y.npy --y g/y.npy -k 6"
  "solve --A g/A.npy --y g/y.npy -k 6 --out g/A.npy"
  "solve --A g/A.npy --y g/y.npy -k 6 --resume d/A.npy"
  "solve --A g/A.npy --y g/y.npy -k 6 --lsq nope"
  "solve --A g/A.npy --y g/y.npy -k 6 --init bogus"
  "solve --problem nope -m 10 -n 20 -k 2"
  "gen --problem gaussian -m 10 -n 20 -k 30 --out x"
  "info nope.npy"
  "info g/A.npz"
  "bench --nope"
)
for cmd in "${bad[@]}"; do
  for b in old new; do
    # shellcheck disable=SC2086
    run $b 2 $cmd >"$W/$b/bad.out" 2>"$W/$b/bad.err"
    echo "rc=$?" >>"$W/$b/bad.err"
    cat "$W/$b/bad.out" >>"$W/$b/bad.err"
  done
  cmp -s "$W/old/bad.err" "$W/new/bad.err"
  st=$?
  [ $st -ne 0 ] && diff "$W/old/bad.err" "$W/new/bad.err" | head -6 | sed 's/^/    /'
  verdict "sprec $cmd" $st
done

echo "$same same, $diff different (outputs in $W)"
[ "$diff" -eq 0 ]
