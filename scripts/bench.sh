#!/usr/bin/env bash
# make bench: `sprec bench` at 1 and 2 ranks (m=1000, n=200000, k=50 unless given; its
# batched section solves up to b=256 SEA problems at once, ~1 GB and about two minutes
# more per rank count at this size), then the peers (scikit-learn, NumPy; one problem,
# then b=256 sharing A, --quick b=8) when scripts/bench-peers.py is there.
#   scripts/bench.sh [--quick] [--ranks "1 2"] [--out DIR] [-- extra 'sprec bench' options]
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/bench ranks="1 2" quick=() extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=(--quick) ;;
    --ranks) ranks=$2; shift ;;
    --out) out=$2; shift ;;
    --) shift; extra=("$@"); break ;;
    *) echo "bench.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done
for p in $ranks; do
  scripts/mpirun.sh -np "$p" bin/sprec bench "${quick[@]}" "${extra[@]}" --out "$out/np$p"
done
if [ -f scripts/bench-peers.py ]; then
  scripts/install-deps.sh python3-sklearn
  /usr/bin/python3 scripts/bench-peers.py "${quick[@]}" --ranks "$ranks" --out "$out/peers"
fi
