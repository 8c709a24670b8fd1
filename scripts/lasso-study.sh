#!/usr/bin/env bash
# The seed-001 study (Ablin, Moreau, Massias, Gramfort 2019, "Learning step sizes for
# unfolded sparse coding"): how many iterations ISTA, FISTA and OISTA need to reach the
# same relative duality gap on the Lasso ½‖y − Ax‖² + λ‖x‖₁.
#
# Setting: a dictionary of n = 256 unit-norm Gaussian atoms in dimension m = 64
# (`sprec gen --problem gaussian`); observations ỹ ~ N(0, I_m) scaled so that
# ‖Aᵀy‖∞ = 1, hence λ_max = 1 and λ = 0.1 and 0.8 are also λ/λ_max. Every method starts
# from x = 0 with the step 1/L (OISTA: 1/L_S on its current support) and stops at the
# first iteration whose certified relative duality gap is ≤ TOL (default 1e-8; see
# src/algo/lasso.h: ISTA and OISTA certify x with the dual point of x's residual,
# FISTA with that of its extrapolated point, at no extra pass over A).
#
# usage: scripts/lasso-study.sh [OPTIONS] [OUTDIR]          (OUTDIR default build/lasso-study)
#   --obs N          observations (default 100)
#   --tol T          relative duality gap to reach (default 1e-8)
#   --lambdas "L.."  λ values (default "0.1 0.8")
#   --methods "M.."  among ista fista fista+restart oista (default "ista fista oista")
#   --iters T        budget per run (default 100000; a run that hits it is reported)
#   --seed S         seed of the dictionary and of the observations (default 1)
#   --jobs J         runs in parallel (default: the number of cores)
# Writes OUTDIR/runs.csv (one row per run) and OUTDIR/summary.csv (mean and median
# iterations per method and λ), and prints the summary table.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SPREC=${SPREC:-$root/bin/sprec}
PY=${PYTHON:-/usr/bin/python3}
obs=100 tol=1e-8 lambdas="0.1 0.8" methods="ista fista oista" iters=100000 seed=1
jobs=$(nproc 2>/dev/null || echo 1)
out=$root/build/lasso-study
while [ $# -gt 0 ]; do
  case "$1" in
    --obs) obs=$2; shift 2 ;;
    --tol) tol=$2; shift 2 ;;
    --lambdas) lambdas=$2; shift 2 ;;
    --methods) methods=$2; shift 2 ;;
    --iters) iters=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "lasso-study: unknown option $1" >&2; exit 2 ;;
    *) out=$1; shift ;;
  esac
done
for m in $methods; do
  case "$m" in ista|fista|fista+restart|oista) ;; *) echo "lasso-study: unknown method $m" >&2; exit 2 ;; esac
done
[ -x "$SPREC" ] || { echo "lasso-study: $SPREC is missing: run 'make bin/sprec'" >&2; exit 2; }
"$PY" -c 'import numpy' 2>/dev/null || { echo "lasso-study: $PY cannot import numpy" >&2; exit 2; }

mkdir -p "$out"
out=$(cd "$out" && pwd)
data=$out/data runs=$out/runs
rm -rf "$data" "$runs"
mkdir -p "$data" "$runs"
start=$(date +%s)

# The dictionary (the generator's y and x_true are not used).
"$SPREC" gen --problem gaussian -m 64 -n 256 -k 1 --seed "$seed" --out "$data" >/dev/null
# The observations, scaled to ‖Aᵀy‖∞ = 1.
"$PY" - "$data" "$obs" "$seed" <<'PY'
import sys, numpy as np
d, obs, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
A = np.load(f"{d}/A.npy")
assert A.shape == (64, 256) and np.allclose(np.linalg.norm(A, axis=0), 1)
rng = np.random.default_rng(seed)
for i in range(obs):
    y = rng.standard_normal(A.shape[0])
    y /= np.abs(A.T @ y).max()
    np.save(f"{d}/y{i:04d}.npy", y)
PY

# One run: method λ observation -> runs/METHOD_λ_i.json (a failed run leaves a .err).
run_one() {
  local m=$1 lam=$2 i=$3 extra=()
  local algo=${m%%+*}
  [ "$m" = "fista+restart" ] && extra=(--restart)
  local f="$runs/${m}_${lam}_$i"
  if ! OPENBLAS_NUM_THREADS=1 "$SPREC" solve --A "$data/A.npy" --y "$(printf '%s/y%04d.npy' "$data" "$i")" \
      --algo "$algo" "${extra[@]}" --lambda "$lam" --tol "$tol" --iters "$iters" --quiet \
      --out "$f.json" 2>"$f.err"; then
    echo "lasso-study: run $m lambda=$lam obs=$i failed: $(head -c 300 "$f.err")" >&2
    return 1
  fi
  rm -f "$f.err"
}
export -f run_one
export SPREC data runs tol iters

for i in $(seq 0 $((obs - 1))); do
  for lam in $lambdas; do
    for m in $methods; do echo "$m $lam $i"; done
  done
done | xargs -P "$jobs" -n 3 bash -c 'run_one "$@"' _ || {
  echo "lasso-study: some runs failed (see above)" >&2
  exit 1
}

"$PY" - "$out" "$obs" "$tol" "$lambdas" "$methods" "$iters" "$(($(date +%s) - start))" <<'PY'
import csv, json, sys, statistics as stat
out, obs, tol, lambdas, methods, iters, secs = sys.argv[1:8]
obs, lambdas, methods, iters = int(obs), lambdas.split(), methods.split(), int(iters)
rows = []
for lam in lambdas:
    for m in methods:
        for i in range(obs):
            r = json.load(open(f"{out}/runs/{m}_{lam}_{i}.json"))
            rows.append(dict(method=m, **{"lambda": lam}, obs=i, iterations=r["iterations"],
                             stop_reason=r["stop_reason"], gap=r["gap"], nnz=len(r["support"]),
                             objective=r["objective"], lambda_max=r["lambda_max"],
                             apply_T_passes=r["apply_T_passes"], time=r["time"]["total"]))
with open(f"{out}/runs.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
# All methods must agree on the optimum (same problem, same gap tolerance).
best = {}
for r in rows:
    k = (r["lambda"], r["obs"])
    best[k] = min(best.get(k, float("inf")), r["objective"])
summary = []
for lam in lambdas:
    for m in methods:
        rs = [r for r in rows if r["lambda"] == lam and r["method"] == m]
        it = [r["iterations"] for r in rs]
        summary.append(dict(
            **{"lambda": lam}, method=m, runs=len(rs), tol=tol,
            mean_iterations=round(stat.mean(it), 1), median_iterations=stat.median(it),
            min_iterations=min(it), max_iterations=max(it),
            not_converged=sum(r["stop_reason"] != "gap" for r in rs),
            mean_nnz=round(stat.mean(r["nnz"] for r in rs), 1),
            max_rel_objective_excess=max((r["objective"] - best[(lam, r["obs"])]) / best[(lam, r["obs"])] for r in rs),
            mean_time_s=round(stat.mean(r["time"] for r in rs), 4)))
with open(f"{out}/summary.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(summary[0]))
    w.writeheader()
    w.writerows(summary)
print(f"Lasso study (seed 001): m=64, n=256 unit-norm Gaussian atoms, {obs} observations "
      f"with ||A'y||_inf = 1, iterations to a relative duality gap <= {tol}")
print(f"{'lambda':>6}  {'method':<14}{'mean':>9}{'median':>9}{'min':>7}{'max':>8}{'nnz':>7}  {'vs ista (median)':>16}")
for s in summary:
    ref = next((t for t in summary if t["lambda"] == s["lambda"] and t["method"] == "ista"), None)
    ratio = f"{s['median_iterations'] / ref['median_iterations']:.2f}x" if ref else ""
    flag = f"  ({s['not_converged']} hit the budget)" if s["not_converged"] else ""
    print(f"{s['lambda']:>6}  {s['method']:<14}{s['mean_iterations']:>9.1f}{s['median_iterations']:>9.1f}"
          f"{s['min_iterations']:>7}{s['max_iterations']:>8}{s['mean_nnz']:>7.1f}  {ratio:>16}{flag}")
print(f"max relative objective above the best method per observation: "
      f"{max(s['max_rel_objective_excess'] for s in summary):.1e}")
print(f"{len(rows)} runs in {secs} s; wrote {out}/runs.csv and {out}/summary.csv")
PY
