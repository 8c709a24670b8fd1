#!/usr/bin/env bash
# The longer cases of the 4-host local cluster (`make cluster`; tests/cli/test_cluster.sh
# has the short ones, under make check):
# * scripts/scaling.sh strong --ranks 1,2,4 with one rank per host (--sbatch
#   --ntasks-per-node=1): the CSV's rows, the same answer at every rank count;
# * the service's node loss: jobs/serve.sbatch on 4 hosts, requests acknowledged from
#   node3, node4's link cut while a batch runs: the job ends within 30 s (NODE_FAIL,
#   job.json node_fail); its continuation on the 3 hosts left, on the same state, answers
#   every acknowledged request, each result equal to `sprec solve`'s for its y;
# * a host's processes killed mid-solve (its sprec rank, kill -9): KillOnBadExit ends the
#   job within 30 s.
# Prints the measured times ("# ..." lines). Needs root; stops the cluster at the end
# when it started it.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$root" || exit 1
cl=$root/scripts/cluster-local.sh
started_here=0
cleanup() {
  trap '' PIPE INT TERM HUP
  if [ "$started_here" -eq 1 ]; then "$cl" stop >/dev/null 2>&1; else
    for n in node1 node2 node3 node4; do "$cl" heal $n >/dev/null 2>&1; done
  fi
}
[ "$(id -u)" -eq 0 ] || { notok "setup" "the local cluster needs root"; finish; }
require_setup numpy
make_workdir cluster-long cleanup
trap 'exit 1' INT TERM HUP PIPE
exec 9>"${TMPDIR:-/tmp}/sprec-cluster-test.lock"
flock -w 900 9 || { notok "waiting for another run of the cluster tests" "not our turn after 900 s"; finish; }
if ! "$cl" status >/dev/null 2>&1; then
  started_here=1
  "$cl" start >"$W/start.log" 2>&1
  check_eval "the 4-host cluster starts" '[ $? -eq 0 ]' || { sed 's/^/    /' "$W/start.log"; finish; }
fi
eval "$("$cl" env)"
export SPREC_RUNS=$W/runs
unset SPREC_ARGS SPREC_RESUBMIT SPREC_CHECKPOINT SPREC_BIN SPREC_ROOT SPREC_RUN_ID SPREC_RESUME \
  SPREC_RESUBMIT_COUNT SPREC_MAX_RESUBMITS SPREC_CHECKPOINT_EVERY SPREC_KEEP_CHECKPOINT SPREC_SRUN_ARGS \
  SPREC_STOP_MARGIN
wait_jobs() {
  local deadline=$((SECONDS + $1)) list
  shift
  list=$(IFS=,; echo "$*")
  while [ -n "$(squeue -h -j "$list" 2>/dev/null)" ]; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}
wait_idle() { # all 4 hosts idle again (a healed host answers a ping), at most $1 s
  local deadline=$((SECONDS + $1))
  until [ "$(sinfo -h -N -o %T | sort -u)" = idle ]; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.5; done
}
job_field() { $PY -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2]))' "$SPREC_RUNS/$1/job.json" "$2" 2>/dev/null; }
elapsed() { $PY -c "print('%.1f' % ($2 - $1))"; }
under30() { $PY -c "import sys; sys.exit(not float(sys.argv[1]) < 30)" "$1"; }

# --- the strong-scaling study across hosts: P ranks on P hosts
d=$W/scaling
scripts/scaling.sh strong --ranks 1,2,4 -m 200 -n 4000 -k 5 --iters 20 --sbatch "--ntasks-per-node=1" \
  --out "$d" >"$W/scaling.log" 2>&1
check_eval "scaling.sh strong --ranks 1,2,4, one rank per host: 3 points, the same answer at each" '[ $? -eq 0 ] && $PY - "$d" <<EOF
import csv, json, sys
d = sys.argv[1]
rows = list(csv.DictReader(open(d + "/scaling.csv")))
assert [int(r["ranks"]) for r in rows] == [1, 2, 4], rows
r = [json.load(open("%s/np%d.json" % (d, p))) for p in (1, 2, 4)]
assert all((x["support"], x["coef"], x["objective"]) == (r[0]["support"], r[0]["coef"], r[0]["objective"]) for x in r)
for row in rows:
    print("# scaling across hosts: %s ranks, total %s s, efficiency %s" % (row["ranks"], row["total"], row["efficiency"]))
EOF' || tail -20 "$W/scaling.log" | sed 's/^/    /'

# --- a host's processes killed mid-solve
kid=$(cd "$W" && SPREC_CHECKPOINT_EVERY=200 sbatch --parsable --nodes=4 --ntasks=4 "$root/jobs/solve.sbatch" --iters 1500)
deadline=$((SECONDS + 120))
until [ -s "$SPREC_RUNS/$kid/checkpoint.bin" ] || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
t0=$EPOCHREALTIME
victims=$(for p in $(ip netns pids node4); do [ "$(cat /proc/$p/comm 2>/dev/null)" = sprec ] && echo "$p"; done)
[ -n "$victims" ] && kill -9 $victims
wait_jobs 90 "$kid"
t=$(elapsed "$t0" "$EPOCHREALTIME")
echo "# node4's sprec killed: job $kid out of the queue after $t s"
check_eval "node4's rank killed (kill -9 $victims) mid-solve: job $kid ends in $t s (< 30), failed" \
  '[ -n "$victims" ] && under30 "$t" && [ "$(job_field "$kid" state)" = failed ]' || sed 's/^/    /' "$SPREC_RUNS/$kid"/log

# --- the service on 4 hosts, node4 cut during a batch, continued on 3
S=$W/serve
mkdir -p "$S"
sv_opts=(--algo sea -k 4 --iters 20000)
scripts/mpirun.sh -np 1 bin/sprec gen --problem gaussian -m 64 -n 3000 -k 4 --snr 40 --seed 9 \
  --out "$S/p" --quiet >"$S/gen.log" 2>&1 &&
  $PY - "$S" <<'EOF' >>"$S/gen.log" 2>&1
import sys
import numpy as np
d = sys.argv[1]
A = np.load(d + "/p/A.npy")
rng = np.random.default_rng(11)
for p in range(4):
    x = np.zeros(A.shape[1])
    x[rng.choice(A.shape[1], 4, replace=False)] = rng.choice([-1, 1], 4) * (1 + abs(rng.normal(size=4)))
    y = A @ x
    np.save("%s/y%d.npy" % (d, p), y + rng.normal(size=y.shape) * np.linalg.norm(y) / 8 * 0.01)
EOF
check_eval "the service's problem" '[ $? -eq 0 ]' || sed 's/^/    /' "$S/gen.log"
(for p in 0 1 2 3; do
  scripts/mpirun.sh -np 1 bin/sprec solve --A "$S/p/A.npy" --y "$S/y$p.npy" "${sv_opts[@]}" --quiet --out "$S/ref$p.json" || exit 1
done) >"$S/ref.log" 2>&1 &
refpid=$!
wait_idle 120
sargs=(--A "$S/p/A.npy" --max-batch 2 --checkpoint-every 500)
sid=$(cd "$W" && sbatch --parsable --nodes=4 --ntasks=4 "$root/jobs/serve.sbatch" "${sargs[@]}")
ep=$SPREC_RUNS/$sid/state/endpoint.json
deadline=$((SECONDS + 120))
until grep -q '^serve.sbatch: serving at ' "$SPREC_RUNS/$sid/log" 2>/dev/null || [ $SECONDS -ge $deadline ]; do sleep 0.2; done
ids=()
for p in 0 1 2 3; do
  ids+=("$("$cl" exec node3 bin/sprec submit --endpoint "$ep" --y "$S/y$p.npy" "${sv_opts[@]}" 2>>"$S/sub.err")")
done
check_eval "serve.sbatch on 4 hosts (job $sid): 4 requests acknowledged from node3" \
  '[ ${#ids[@]} -eq 4 ] && [ -n "${ids[3]}" ]' || sed 's/^/    /' "$S/sub.err" "$SPREC_RUNS/$sid/log"
deadline=$((SECONDS + 120))
until [ "$("$cl" exec node3 bin/sprec status "${ids[0]}" --endpoint "$ep" 2>/dev/null)" = "${ids[0]} running" ] ||
  [ $SECONDS -ge $deadline ]; do sleep 0.1; done
# at least one batch checkpoint before the cut
until ls "$SPREC_RUNS/$sid/state"/batch-*.ckpt >/dev/null 2>&1 || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
t0=$EPOCHREALTIME
"$cl" cut node4 >/dev/null
wait_jobs 90 "$sid"
t=$(elapsed "$t0" "$EPOCHREALTIME")
echo "# node4 cut during a batch: serve job $sid out of the queue after $t s"
check_eval "node4 cut during a batch: serve job $sid ends in $t s (< 30), NODE_FAIL, job.json node_fail" \
  'under30 "$t" && [ "$(scontrol show job "$sid" 2>/dev/null | grep -o "JobState=[A-Z_]*")" = JobState=NODE_FAIL ] &&
   [ "$(job_field "$sid" state)" = node_fail ]' || sed 's/^/    /' "$SPREC_RUNS/$sid/log"
"$cl" heal node4 >/dev/null
tok() { sed -n 's/.*"token":[[:space:]]*"\([0-9a-f]*\)".*/\1/p' "$ep" 2>/dev/null; }
tok0=$(tok)
nid=$(cd "$W" && SPREC_RUN_ID=$sid sbatch --parsable --nodes=3 --ntasks=3 --exclude=node4 "$root/jobs/serve.sbatch" "${sargs[@]}")
deadline=$((SECONDS + 120)) # the continuation listens: its endpoint.json
until [ "$(tok)" != "$tok0" ] || [ $SECONDS -ge $deadline ]; do sleep 0.2; done
for i in 0 1 2 3; do
  "$cl" exec node2 bin/sprec status "${ids[$i]}" --endpoint "$ep" --wait 300 --out "$S/res$i.json" >"$S/st$i.out" 2>&1
done
wait "$refpid"
check_eval "the continuation (job $nid, node[1-3]) answers every acknowledged request, equal to sprec solve" \
  '[ "$(job_field "$sid" nodes)" = "node[1-3]" ] && $PY - "$S" <<EOF
import json, sys
d = sys.argv[1]
for p in range(4):
    r, ref = json.load(open("%s/res%d.json" % (d, p))), json.load(open("%s/ref%d.json" % (d, p)))
    assert r["status"] == "done", (p, r.get("status"))
    for key in ("support", "coef", "objective", "iterations"):
        assert r[key] == ref[key], (p, key)
EOF' || sed 's/^/    /' "$S"/st?.out "$SPREC_RUNS/$sid"/log*
scancel "$nid"
wait_jobs 60 "$nid"
finish
