#!/usr/bin/env bash
# The convolution operator from the command line, at several rank counts:
#   tests/cli/test_conv.sh [PATH/TO/sprec]        (default: the checkout's bin/sprec)
#   NPS="1 2 3" tests/cli/test_conv.sh            (rank counts, default "1 2")
# sprec gen --problem spikes writes K.npy, y.npy, x_true.npy, checked with numpy (K a
# unit-norm sampled Gaussian, y = np.convolve(K, x) + noise at the SNR asked, spikes at
# least --min-sep apart); sprec solve --kernel K.npy --y y.npy recovers the support
# with SEA and OMP, the same support and objective at every rank count, "operator":
# "conv" in the result; a kernel file of our own (numpy) gives the dense solve's
# support; bad kernels: exit 2, one line on stderr naming --kernel.
# Prints "ok - NAME" / "not ok - NAME: reason"; last line "N passed, M failed".
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
quick_failures
make_workdir conv
cd "$W" || exit 1
require_setup numpy

# ------------------------------------------------------------------ generate --
P0=${NPS%% *}
G="$W/gen"
sprec "$P0" gen --problem spikes -n 3000 -k 8 --min-sep 150 --snr 40 --seed 4 --out "$G" --quiet
if [ "$rc" = 0 ] && "$PY" - "$G" <<'EOF'; then ok "gen spikes: files match numpy's definition"; else notok "gen spikes" "$(last)"; fi
import sys, numpy as np
d = sys.argv[1]
K, y, x = np.load(d + "/K.npy"), np.load(d + "/y.npy"), np.load(d + "/x_true.npy")
assert K.shape == (25,) and y.shape == (3000 + 24,) and x.shape == (3000,), (K.shape, y.shape, x.shape)
t = np.arange(25) - 12.0
G = np.exp(-t * t / 18.0)
assert np.allclose(K, G / np.linalg.norm(G), rtol=1e-14, atol=0), "K is not the unit Gaussian"
S = np.flatnonzero(x)
assert len(S) == 8 and np.diff(S).min() >= 150, S
assert np.all(np.abs(x[S]) >= 1), x[S]
clean = np.convolve(K, x)
snr = 20 * np.log10(np.linalg.norm(clean) / np.linalg.norm(y - clean))
assert abs(snr - 40) < 1e-9, snr
EOF

# ------------------------------------------------------------- solve, P ranks --
ref=""
for P in $NPS; do
  for algo in sea omp; do
    name="solve --kernel $algo P=$P"
    sprec "$P" solve --kernel "$G/K.npy" --y "$G/y.npy" -k 8 --algo "$algo" --iters 300 \
      --truth "$G/x_true.npy" --out "$W/r.$algo.$P.json" --x-out "$W/x.$algo.$P.npy" --quiet
    if [ "$rc" != 0 ]; then notok "$name" "$(last)"; continue; fi
    if "$PY" - "$W/r.$algo.$P.json" "$W/x.$algo.$P.npy" "$G/x_true.npy" <<'EOF'; then ok "$name: operator conv, support recovered"; else notok "$name" "result"; fi
import sys, json, numpy as np
r = json.load(open(sys.argv[1]))
x, t = np.load(sys.argv[2]), np.load(sys.argv[3])
assert r["operator"] == "conv", r.get("operator")
assert r["m"] == 3024 and r["n"] == 3000, (r["m"], r["n"])
assert r["truth"]["support_recovered"] is True, r["truth"]
assert list(np.flatnonzero(x)) == list(np.flatnonzero(t))
EOF
    "$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["objective"], sorted(r["support"]) if "support" in r else "")' \
      "$W/r.$algo.$P.json" >>"$W/obj.$algo"
  done
done
for algo in sea omp; do
  n=$(sort -u "$W/obj.$algo" | wc -l)
  x1=$(ls "$W"/x.$algo.*.npy | head -1)
  same=1
  for f in "$W"/x.$algo.*.npy; do cmp -s "$f" "$x1" || same=0; done
  if [ "$n" = 1 ] && [ "$same" = 1 ]; then ok "$algo: the same x and objective at every rank count ($NPS)"
  else notok "$algo across rank counts" "$(cat "$W/obj.$algo" | tr '\n' ' ')"; fi
done

# A kernel and y of our own (numpy), and the dense matrix of the same definition:
# SEA through --kernel and through --A gives the same support.
"$PY" - "$W" <<'EOF'
import sys, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(7)
K = np.array([0.2, 0.7, 1.0, 0.6, 0.3, 0.1])
n = 400
x = np.zeros(n); S = [40, 130, 220, 310]; x[S] = [1.5, -2.0, 1.2, -1.1]
y = np.convolve(K, x) + 1e-3 * rng.standard_normal(n + len(K) - 1)
A = np.zeros((n + len(K) - 1, n))
for j in range(n): A[j:j + len(K), j] = K
np.save(d + "/K6.npy", K); np.save(d + "/y6.npy", y); np.save(d + "/A6.npy", np.asfortranarray(A))
np.save(d + "/x6.npy", x)
np.save(d + "/Kbig.npy", np.ones(n + 10)); np.save(d + "/Knan.npy", np.array([1.0, np.nan, 2.0]))
np.save(d + "/Kempty.npy", np.zeros(0)); np.save(d + "/K2d.npy", np.ones((3, 2)))
EOF
for P in $NPS; do
  sprec "$P" solve --kernel "$W/K6.npy" --y "$W/y6.npy" -k 4 --iters 200 --x-out "$W/xk.$P.npy" --quiet
  rk=$rc
  sprec "$P" solve --A "$W/A6.npy" --y "$W/y6.npy" -k 4 --iters 200 --x-out "$W/xd.$P.npy" --quiet
  if [ "$rk" = 0 ] && [ "$rc" = 0 ] && "$PY" -c '
import sys, numpy as np
a, b, t = (np.load(f) for f in sys.argv[1:4])
assert list(np.flatnonzero(a)) == list(np.flatnonzero(b)) == list(np.flatnonzero(t))
assert np.allclose(a, b, rtol=1e-9, atol=1e-12)' "$W/xk.$P.npy" "$W/xd.$P.npy" "$W/x6.npy"; then
    ok "numpy kernel P=$P: --kernel and --A (dense) give the same support, the true one"
  else notok "numpy kernel P=$P" "$(last)"; fi
done

# --implicit: the deconv problem's columns computed on every pass, the stored one's x.
for P in $NPS; do
  dc=(solve --problem deconv -m 120 -n 900 -k 4 --snr 40 --iters 100 --quiet)
  sprec "$P" "${dc[@]}" --x-out "$W/xs.$P.npy"
  r1=$rc
  sprec "$P" "${dc[@]}" --implicit --x-out "$W/xi.$P.npy" --out "$W/ri.$P.json"
  if [ "$r1" = 0 ] && [ "$rc" = 0 ] && cmp -s "$W/xs.$P.npy" "$W/xi.$P.npy" &&
    grep -qE '"operator":[[:space:]]*"deconv-implicit"' "$W/ri.$P.json"; then
    ok "deconv --implicit P=$P: the stored operator's x, bit for bit"
  else notok "deconv --implicit P=$P" "$(last)"; fi
done

# ------------------------------------------------------------------ bad input --
# bad NAME PATTERN ARGS...: exit 2, exactly one line "sprec solve: error: ..." with PATTERN.
bad() {
  local name="$1 P=$P" pat=$2
  shift 2
  sprec "$P" solve "$@" -k 2 --quiet
  local nl
  nl=$(wc -l <"$W/err")
  if [ "$rc" != 2 ]; then notok "$name" "exit $rc, want 2; $(last)"
  elif [ "$nl" != 1 ]; then notok "$name" "$nl lines on stderr: $(last)"
  elif ! grep -q "^sprec solve: error: .*$pat" "$W/err"; then notok "$name" "no '$pat': $(last)"
  else ok "$name"
  fi
}
for P in $NPS; do
  bad "kernel longer than y" "--kernel $W/Kbig.npy: 410 taps, longer than --y" --kernel "$W/Kbig.npy" --y "$W/y6.npy"
  bad "non-finite kernel" "--kernel $W/Knan.npy" --kernel "$W/Knan.npy" --y "$W/y6.npy"
  bad "empty kernel" "--kernel $W/Kempty.npy" --kernel "$W/Kempty.npy" --y "$W/y6.npy"
  bad "2-D kernel" "--kernel $W/K2d.npy: has shape 3 x 2, not a vector" --kernel "$W/K2d.npy" --y "$W/y6.npy"
  bad "missing kernel" "--kernel" --kernel "$W/nope.npy" --y "$W/y6.npy"
  bad "kernel without y" "--kernel FILE and --y FILE" --kernel "$W/K6.npy"
  bad "kernel and A" "either" --kernel "$W/K6.npy" --A "$W/A6.npy" --y "$W/y6.npy"
  bad "spikes too many" "k must be in" --problem spikes -n 300 --min-sep 400
done
sprec "$P0" gen --problem spikes -n 100 -k 5 --min-sep 50 --out "$W/g2"
if [ "$rc" = 2 ] && [ "$(wc -l <"$W/err")" = 1 ] && [ ! -e "$W/g2/K.npy" ]; then ok "gen spikes: impossible separation, exit 2, no files"
else notok "gen spikes impossible" "$(last)"; fi

finish
