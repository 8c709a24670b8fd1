#!/usr/bin/env bash
# Several hosts, for real, on this machine: the 4-host cluster of scripts/cluster-local.sh
# (network namespaces node1..node4 with their own addresses and slurmd; started here and
# stopped at the end whatever happens, unless it was running already). Real daemons, real
# ranks over TCP between the hosts:
# * jobs/solve.sbatch on --nodes=4: one rank per host, result.json equal to a 1-rank
#   solve of the same problem (support, coefficients, objective, iterations);
# * jobs/serve.sbatch on --nodes=4 (--listen 0.0.0.0): endpoint.json names the first
#   host; `sprec submit` run on node3 (its network, its hosts file) is answered, the
#   result equal to `sprec solve`'s for its y;
# * node loss: node4's link cut mid-solve (after a checkpoint): SLURM ends the job within
#   30 s (NODE_FAIL; job.json state node_fail); the run resumed from its last checkpoint
#   on the 3 hosts left ends with the result of the uninterrupted run.
# (The longer cases, the scaling study across hosts and the service's node loss with its
# continuation job, are `make cluster`: tests/cli/cluster-long.sh.)
# Needs root and network namespaces; elsewhere it says so and skips. Runs of this test on
# one machine take turns (one cluster per machine: a lock).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$root" || exit 1
cl=$root/scripts/cluster-local.sh
cluster_dir=${SPREC_CLUSTER_DIR:-/tmp/sprec-cluster}
started_here=0
diagnose() {
  echo "    --- slurmctld.log, slurmd logs (last lines)"
  tail -n 8 "$cluster_dir"/log/slurm*.log 2>/dev/null | sed 's/^/    /'
  echo "    --- nodes, queue"
  { sinfo -N; squeue; } 2>&1 | sed 's/^/    /'
}
cleanup() {
  trap '' PIPE INT TERM HUP
  [ "$fail" -eq 0 ] || diagnose
  if [ "$started_here" -eq 1 ]; then
    "$cl" stop >/dev/null 2>&1 || echo "warning: cluster-local.sh stop failed" >&2
  else # a cluster that was up before: leave it as found (links up, our jobs gone)
    for n in node1 node2 node3 node4; do "$cl" heal $n >/dev/null 2>&1; done
    [ -n "${jobs_here:-}" ] && scancel $jobs_here 2>/dev/null
  fi
}
if [ "$(id -u)" -ne 0 ]; then
  echo "# skipped: the local cluster needs root (network namespaces, daemons)"
  finish
fi
if ! ip netns add "sprec-probe-$$" 2>/dev/null; then
  echo "# skipped: network namespaces cannot be made here (ip netns add failed)"
  finish
fi
ip netns del "sprec-probe-$$"
require_setup numpy
make_workdir cluster-test cleanup
trap 'exit 1' INT TERM HUP PIPE

exec 9>"${TMPDIR:-/tmp}/sprec-cluster-test.lock"
flock -w 900 9 || { notok "waiting for another run of this test" "not our turn after 900 s"; finish; }

if ! "$cl" status >/dev/null 2>&1; then
  started_here=1
  t=$SECONDS
  "$cl" start >"$W/start.log" 2>&1
  check_eval "the 4-host cluster starts ($((SECONDS - t)) s)" '[ $? -eq 0 ]' || { sed 's/^/    /' "$W/start.log"; finish; }
fi
eval "$("$cl" env)"
export SPREC_RUNS=$W/runs
unset SPREC_ARGS SPREC_RESUBMIT SPREC_CHECKPOINT SPREC_BIN SPREC_ROOT SPREC_RUN_ID SPREC_RESUME \
  SPREC_RESUBMIT_COUNT SPREC_MAX_RESUBMITS SPREC_CHECKPOINT_EVERY SPREC_KEEP_CHECKPOINT SPREC_SRUN_ARGS \
  SPREC_STOP_MARGIN
jobs_here=""
check_eval "4 hosts idle, each with its own address" \
  '[ "$(sinfo -h -N -o "%N %T" | tr "\n" " ")" = "node1 idle node2 idle node3 idle node4 idle " ] &&
   [ "$("$cl" exec node3 hostname -I 2>/dev/null | tr -d " ")" = 10.77.0.3 ]' || "$cl" status | sed 's/^/    /'

# Wait until the jobs given have left the queue (at most $1 seconds).
wait_jobs() {
  local deadline=$((SECONDS + $1)) list
  shift
  list=$(IFS=,; echo "$*")
  while [ -n "$(squeue -h -j "$list" 2>/dev/null)" ]; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}
job_field() { $PY -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2]))' "$SPREC_RUNS/$1/job.json" "$2" 2>/dev/null; }
same() { # result files A B: the solver's answer is the same
  $PY - "$1" "$2" <<'EOF'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
for key in ("support", "coef", "objective", "data_fit", "iterations", "best_iteration", "stop_reason"):
    assert a.get(key) == b.get(key), (key, a.get(key), b.get(key))
assert a["support"], a
EOF
}

# --- the problems: the solve (jobs/solve.sbatch's default, 1500 iterations) and its
# 1-rank reference; the service's dictionary and right-hand sides
solve_args=(--iters 1500)
scripts/mpirun.sh -np 1 bin/sprec solve --problem deconv -m 256 -n 1024 -k 12 --snr 40 --seed 1 --algo sea \
  "${solve_args[@]}" --out "$W/ref.json" --quiet >"$W/ref.log" 2>&1
check_eval "the 1-rank reference solve" '[ $? -eq 0 ]' || sed 's/^/    /' "$W/ref.log"
S=$W/serve
mkdir -p "$S"
sv_opts=(--algo sea -k 4 --iters 100)
scripts/mpirun.sh -np 1 bin/sprec gen --problem gaussian -m 64 -n 3000 -k 4 --snr 40 --seed 9 \
  --out "$S/p" --quiet >"$S/gen.log" 2>&1 &&
  $PY - "$S" <<'EOF' >>"$S/gen.log" 2>&1 &&
import sys
import numpy as np
d = sys.argv[1]
A = np.load(d + "/p/A.npy")
rng = np.random.default_rng(11)
for p in range(2):
    x = np.zeros(A.shape[1])
    x[rng.choice(A.shape[1], 4, replace=False)] = rng.choice([-1, 1], 4) * (1 + abs(rng.normal(size=4)))
    y = A @ x
    np.save("%s/y%d.npy" % (d, p), y + rng.normal(size=y.shape) * np.linalg.norm(y) / 8 * 0.01)
EOF
  for p in 0 1; do
    scripts/mpirun.sh -np 1 bin/sprec solve --A "$S/p/A.npy" --y "$S/y$p.npy" "${sv_opts[@]}" --quiet \
      --out "$S/ref$p.json" || exit 1
  done >>"$S/gen.log" 2>&1
check_eval "the service's problem, right-hand sides and references" '[ $? -eq 0 ]' || sed 's/^/    /' "$S/gen.log"

# --- a 4-host solve and a 4-host service, side by side (each takes one CPU of each host)
id=$(cd "$W" && sbatch --parsable --nodes=4 --ntasks=4 "$root/jobs/solve.sbatch" "${solve_args[@]}")
sid=$(cd "$W" && sbatch --parsable --nodes=4 --ntasks=4 "$root/jobs/serve.sbatch" --A "$S/p/A.npy" --max-batch 1)
jobs_here="$id $sid"
ep=$SPREC_RUNS/$sid/state/endpoint.json
deadline=$((SECONDS + 120))
until grep -q '^serve.sbatch: serving at ' "$SPREC_RUNS/$sid/log" 2>/dev/null; do
  [ $SECONDS -lt $deadline ] && [ -n "$(squeue -h -j "$sid")" ] || break
  sleep 0.2
done
url=$($PY -c 'import json, sys; print(json.load(open(sys.argv[1]))["url"])' "$ep" 2>/dev/null)
check_eval "serve.sbatch --nodes=4 (job $sid) listens on the first host: $url" \
  '[ "$(job_field "$sid" nodes)" = "node[1-4]" ] && [[ "$url" =~ ^http://node1:[0-9]+$ ]]' ||
  sed 's/^/    /' "$SPREC_RUNS/$sid/log"
for p in 0 1; do
  "$cl" exec node3 bin/sprec submit --endpoint "$ep" --y "$S/y$p.npy" "${sv_opts[@]}" --wait 120 \
    --out "$S/res$p.json" >"$S/sub$p.out" 2>&1
done
check_eval "sprec submit on node3 (another host: its network, its host names) answered, equal to sprec solve" \
  'same "$S/res0.json" "$S/ref0.json" && same "$S/res1.json" "$S/ref1.json"' || sed 's/^/    /' "$S"/sub?.out
scancel "$sid"
wait_jobs 180 "$id" "$sid"
check_eval "solve.sbatch --nodes=4 (job $id): one rank per host, completed" \
  '[ "$(job_field "$id" state)" = completed ] && [ "$(job_field "$id" nodes)" = "node[1-4]" ] && [ "$(job_field "$id" ntasks)" = 4 ] &&
   grep -q "^sprec solve: algo=sea .* ranks=4 " "$SPREC_RUNS/$id/log"' || sed 's/^/    /' "$SPREC_RUNS/$id/log"
check_eval "the 4-host solve equals the 1-rank solve" 'same "$SPREC_RUNS/$id/result.json" "$W/ref.json"'

# --- node4's link cut mid-solve, after a checkpoint
cid=$(cd "$W" && SPREC_CHECKPOINT_EVERY=200 sbatch --parsable --nodes=4 --ntasks=4 "$root/jobs/solve.sbatch" "${solve_args[@]}")
jobs_here="$cid"
run=$SPREC_RUNS/$cid
deadline=$((SECONDS + 120))
until [ -s "$run/checkpoint.bin" ] || [ $SECONDS -ge $deadline ] || [ -z "$(squeue -h -j "$cid")" ]; do sleep 0.05; done
t0=$EPOCHREALTIME
"$cl" cut node4 >/dev/null
check_eval "job $cid checkpointed, still running, when node4's link is cut" \
  '[ -s "$run/checkpoint.bin" ] && [ "$(squeue -h -j "$cid" -o %T)" = RUNNING ]'
deadline=$((SECONDS + 90))
until [ "$(squeue -h -j "$cid" -o %T)" != RUNNING ] || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
t1=$EPOCHREALTIME
wait_jobs 90 "$cid"
t2=$EPOCHREALTIME
to_fail=$($PY -c "print('%.1f' % ($t1 - $t0))") to_end=$($PY -c "print('%.1f' % ($t2 - $t0))")
echo "# node4 cut: job $cid NODE_FAIL after $to_fail s, out of the queue after $to_end s"
check_eval "node4 cut: job $cid ends in ${to_end} s (< 30; NODE_FAIL after $to_fail s), job.json state node_fail" \
  '$PY -c "import sys; sys.exit(not float(sys.argv[1]) < 30)" "$to_end" &&
   [ "$(scontrol show job "$cid" 2>/dev/null | grep -o "JobState=[A-Z_]*")" = JobState=NODE_FAIL ] &&
   [ "$(job_field "$cid" state)" = node_fail ] && grep -q "continue from the last checkpoint" "$run/log" &&
   [ ! -e "$run/result.json" ]' || sed 's/^/    /' "$run/log"
# node4 comes back later by itself (its link up, it answers a ping: idle again); the run
# goes on without it. (Its output: SLURM's file in the submit directory, linked as log.2.)
"$cl" heal node4 >/dev/null
rid=$(cd "$W" && SPREC_RUN_ID=$cid SPREC_RESUME=$run/checkpoint.bin sbatch --parsable --nodes=3 --ntasks=3 \
  --exclude=node4 "$root/jobs/solve.sbatch" "${solve_args[@]}")
jobs_here="$rid"
wait_jobs 180 "$rid"
check_eval "resumed from the checkpoint on node[1-3] (job $rid), completed" \
  '[ "$(job_field "$cid" job_id)" = "$rid" ] && [ "$(job_field "$cid" state)" = completed ] &&
   [ "$(job_field "$cid" nodes)" = "node[1-3]" ] && [ "$(job_field "$cid" resumed_from)" = "$run/checkpoint.bin" ] &&
   grep -q "^sprec solve: algo=sea .* ranks=3 " "$run"/log.*' || sed 's/^/    /' "$run"/log.*
check_eval "the resumed run's result equals the uninterrupted one (1 rank)" 'same "$run/result.json" "$W/ref.json"'

finish
