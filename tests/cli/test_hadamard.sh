#!/usr/bin/env bash
# The fast-transform problem from the command line (--problem hadamard), at several
# rank counts: gen writes y and the true x (A is implicit: no A.npy), the same files
# at every rank count; solve recovers the planted support (x_true.npy, from gen) with
# the residual at the noise level that --snr sets, the same support and objective at
# every rank count; bad sizes get one line and exit status 2, and no output file.
#   tests/cli/test_hadamard.sh [PATH/TO/sprec]      NPS="1 2 3" (default "1 2")
# Each case prints "ok - NAME" or "not ok - NAME: reason"; the last line is
# "N passed, M failed", and the exit status is 1 when M > 0.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
quick_failures
make_workdir hadamard
cd "$W" || exit 1
require_setup numpy

# bad NAME PATTERN ARGS...: exit 2, exactly one line on stderr matching PATTERN, and no
# $W/bad.json left behind (every bad case is given --out bad.json).
bad() {
  local name=$1 pat=$2
  shift 2
  rm -f "$W/bad.json"
  sprec "$P" "$@" --out "$W/bad.json"
  if [ "$rc" != 2 ]; then notok "$name P=$P" "exit $rc, want 2; $(last)"
  elif [ "$(wc -l <"$W/err")" != 1 ]; then notok "$name P=$P" "want one line; $(last)"
  elif ! grep -q -- "$pat" "$W/err"; then notok "$name P=$P" "no '$pat'; $(last)"
  elif [ -e "$W/bad.json" ]; then notok "$name P=$P" "bad.json left behind"
  else ok "$name P=$P"; fi
}

read -r -a nps <<<"$NPS"
m=128 n=4096 k=8 seed=5
first=${nps[0]}
for P in "${nps[@]}"; do
  sprec "$P" gen --problem hadamard -m $m -n $n -k $k --snr 40 --seed $seed --out "g$P" --quiet
  if ran "gen P=$P"; then
    if [ -e "g$P/A.npy" ]; then notok "gen P=$P" "A.npy written for an implicit A"
    elif [ "$P" != "$first" ] && ! { cmp -s "g$P/y.npy" "g$first/y.npy" && cmp -s "g$P/x_true.npy" "g$first/x_true.npy"; }; then
      notok "gen P=$P" "y.npy or x_true.npy differ from P=$first's"
    else ok "gen P=$P: y and x_true, no A, the same files at every rank count"; fi
  fi
  for algo in htp sea omp; do
    name="solve --algo $algo P=$P"
    sprec "$P" solve --problem hadamard -m $m -n $n -k $k --snr 40 --seed $seed --algo $algo \
      --iters 200 --out "s.$algo.$P.json" --x-out "x.$algo.$P.npy" --quiet
    ran "$name" || continue
    if out=$("$PY" - "s.$algo.$P.json" "x.$algo.$P.npy" "g$first/x_true.npy" "s.$algo.$first.json" <<'EOF' 2>&1
import json, sys
import numpy as np
d = json.load(open(sys.argv[1]))
x, xt = np.load(sys.argv[2]), np.load(sys.argv[3])
S = list(np.flatnonzero(xt))
assert d["operator"] == "hadamard", d["operator"]
assert d["support"] == S, ("support", d["support"], S)
assert list(np.flatnonzero(x)) == S, "x-out support"
assert d["truth"]["support_recovered"], d["truth"]
# ||e|| = 10^(-40/20) ||A x||: the residual at the true support is e less its part in
# the span of k columns of m, so ||r||/||y|| lies in [0.99, 1.0] * 0.01 (sqrt(1 - k/m)
# is its expected ratio, far inside at k/m = 1/16 for m = 128: bounds with room)
assert 0.0090 < d["rel_residual"] < 0.0101, ("rel_residual", d["rel_residual"])
ref = json.load(open(sys.argv[4]))
assert ref["support"] == d["support"] and ref["objective"] == d["objective"], "differs from the first rank count's"
EOF
    ); then ok "$name: the planted support, residual at the noise level, as at P=$first"
    else notok "$name" "$(echo "$out" | tail -1)"; fi
  done
  bad "n not a power of two" "power of two" solve --problem hadamard -m 64 -n 1000 -k 4
  bad "m > n" "m must be in \[1, n\]" solve --problem hadamard -m 2048 -n 1024 -k 4
  bad "gen: n not a power of two" "power of two" gen --problem hadamard -m 64 -n 3000 -k 4
  bad "float32 of an implicit A" "never stored" solve --problem hadamard -m 64 -n 1024 -k 4 --dtype float32
done

finish
