#!/usr/bin/env bash
# SLURM end to end, on the local one-node cluster of scripts/slurm-local.sh (started here,
# stopped at the end whatever happens):
# * jobs/solve.sbatch with no overrides, with script arguments, with SPREC_ARGS: each
#   result.json equals the same solve run with scripts/mpirun.sh -np 2 (support,
#   coefficients, objective, iterations: the answer does not depend on the launcher);
#   job.json holds the metadata; the log is in runs/<jobid>/ and the submit directory is
#   left clean;
# * the job script's preemption plumbing (SIGUSR1 forwarded, continuation job with
#   --resume, SPREC_RESUBMIT=0, no resubmission after scancel), with a stand-in for sprec;
# * jobs/serve.sbatch: requests answered, `scancel --signal=USR1` with requests queued:
#   the service drains, the job resubmits itself on the same state directory, the new
#   job rewrites endpoint.json and finishes the queue; each accepted id has exactly one
#   result, bit for bit `sprec solve`'s for its y; SIGUSR1 to the batch shell (the
#   time-limit path) during a batch: 503 for new requests at once, the batch finishes,
#   the job continues the same way; plain scancel stops it for good;
# * scripts/scaling.sh strong and weak, 1 and 2 ranks, through sbatch and with --local:
#   the CSV's rows and columns, both plots valid PNG images.
# Runs of this test on one machine take turns (one cluster per machine: a lock).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$root" || exit 1
slurm_dir=${SPREC_SLURM_DIR:-/tmp/sprec-slurm}
started_here=0
diagnose() {
  echo "    --- slurmctld.log, slurmd.log (last lines)"
  tail -n 15 "$slurm_dir/slurmctld.log" "$slurm_dir/slurmd.log" 2>/dev/null | sed 's/^/    /'
  echo "    --- queue"
  squeue 2>&1 | sed 's/^/    /'
}
cleanup() {
  trap '' PIPE INT TERM HUP # finish the clean-up whatever happens to our output
  [ "$fail" -eq 0 ] || diagnose
  if [ "$started_here" -eq 1 ]; then
    scancel -u "$(id -un)" 2>/dev/null
    "$root/scripts/slurm-local.sh" stop >/dev/null 2>&1 || echo "warning: slurm-local.sh stop failed" >&2
  fi
}
make_workdir slurm-test cleanup
trap 'exit 1' INT TERM HUP PIPE

exec 9>"${TMPDIR:-/tmp}/sprec-slurm-test.lock"
flock -w 900 9 || { notok "waiting for another run of this test" "not our turn after 900 s"; finish; }

if ! scripts/slurm-local.sh status >/dev/null 2>&1; then
  started_here=1
  scripts/slurm-local.sh start >"$W/start.log" 2>&1
  check_eval "local cluster starts" '[ $? -eq 0 ]' || { sed 's/^/    /' "$W/start.log"; finish; }
fi
eval "$(scripts/slurm-local.sh env)"
node=$(sinfo -h -o %N)
export SPREC_RUNS=$W/runs # the jobs' runs/ directory, not the repository's
unset SPREC_ARGS SPREC_RESUBMIT SPREC_CHECKPOINT SPREC_BIN SPREC_ROOT SPREC_RUN_ID SPREC_RESUME \
  SPREC_RESUBMIT_COUNT SPREC_MAX_RESUBMITS SPREC_CHECKPOINT_EVERY SPREC_KEEP_CHECKPOINT SPREC_SRUN_ARGS \
  SPREC_STOP_MARGIN

# Does this sprec checkpoint? (then solve.sbatch adds --checkpoint for sea and fista)
ckpt_supported=0
bin/sprec solve --help 2>&1 | grep -q -- --checkpoint && ckpt_supported=1

# Wait until the jobs given have left the queue (at most $1 seconds).
wait_jobs() {
  local deadline=$((SECONDS + $1)) list
  shift
  list=$(IFS=,; echo "$*")
  while [ -n "$(squeue -h -j "$list" 2>/dev/null)" ]; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.3
  done
}

# --- solve.sbatch, three ways, submitted from a directory that is not the repository
# (the job finds it through the path it was submitted by).
default=(--problem deconv -m 256 -n 1024 -k 12 --snr 40 --seed 1 --algo sea)
gauss=(--problem gaussian -m 128 -n 2048 -k 8 --snr 30 --seed 3 --algo htp)
envargs="--algo fista --lambda-ratio 0.05 --iters 300"
(cd "$W" && sbatch --wait "$root/jobs/solve.sbatch" >"$W/sub-default" 2>&1; echo $? >"$W/rc-default") &
(cd "$W" && sbatch --wait --ntasks=2 "$root/jobs/solve.sbatch" "${gauss[@]}" >"$W/sub-args" 2>&1; echo $? >"$W/rc-args") &
(cd "$W" && SPREC_ARGS=$envargs sbatch --wait "$root/jobs/solve.sbatch" >"$W/sub-env" 2>&1; echo $? >"$W/rc-env") &
# The same solves through mpirun, meanwhile.
scripts/mpirun.sh -np 2 bin/sprec solve "${default[@]}" --out "$W/ref-default.json" >"$W/ref.log" 2>&1 &&
  scripts/mpirun.sh -np 2 bin/sprec solve "${gauss[@]}" --out "$W/ref-args.json" >>"$W/ref.log" 2>&1 &&
  scripts/mpirun.sh -np 2 bin/sprec solve "${default[@]}" $envargs --out "$W/ref-env.json" >>"$W/ref.log" 2>&1
check_eval "reference solves with mpirun -np 2" '[ $? -eq 0 ]' || sed 's/^/    /' "$W/ref.log"
wait
for case in default args env; do
  id=$(sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p' "$W/sub-$case")
  check_eval "solve.sbatch ($case) job $id exits 0" '[ "$(cat "$W/rc-$case")" = 0 ] && [ -n "$id" ]' ||
    { sed 's/^/    /' "$W/sub-$case"; cat "$SPREC_RUNS/$id/log" 2>/dev/null | sed 's/^/    /'; continue; }
  check_eval "solve.sbatch ($case): runs/$id has result.json, job.json, log; submit directory clean" \
    '[ -s "$SPREC_RUNS/$id/result.json" ] && [ -s "$SPREC_RUNS/$id/job.json" ] && [ -s "$SPREC_RUNS/$id/log" ] && [ ! -e "$W/sprec-$id.out" ]'
  check_eval "solve.sbatch ($case): result equals the mpirun -np 2 solve" '$PY - "$SPREC_RUNS/$id/result.json" "$W/ref-$case.json" <<EOF
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
for key in ("algo", "m", "n", "k", "ranks", "support", "coef", "objective", "data_fit", "iterations",
            "best_iteration", "stop_reason"):
    assert a.get(key) == b.get(key), (key, a.get(key), b.get(key))
assert a["ranks"] == 2 and a["support"], a
EOF'
  case $case in
    default) want=("${default[@]}") algo=sea ;;
    args) want=("${gauss[@]}") algo=htp ;;
    env) want=("${default[@]}" $envargs) algo=fista ;;
  esac
  expect_ckpt=0
  [ $ckpt_supported -eq 1 ] && [ $algo != htp ] && expect_ckpt=1
  check_eval "solve.sbatch ($case): job.json metadata" '$PY - "$SPREC_RUNS/$id/job.json" "$id" "$node" "$SPREC_RUNS/$id" "$expect_ckpt" "${want[@]}" <<EOF
import json, sys
from datetime import datetime
path, jid, node, run, ckpt, want = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] == "1", sys.argv[6:]
j = json.load(open(path))
assert j["job_id"] == jid and j["run_id"] == jid, j
assert j["nodes"] == node and j["num_nodes"] == 1 and j["ntasks"] == 2, j
assert j["state"] == "completed" and j["exit_status"] == 0, j
c = j["command"]
assert c[:2] == ["srun", "--mpi=pmix"] and c[2].endswith("sprec") and c[3] == "solve", c
assert c[4:4 + len(want)] == want, (c, want)
rest = c[4 + len(want):]
assert rest[:2] == ["--out", run + "/result.json"], rest
assert (rest[2:] == ["--checkpoint", run + "/checkpoint.bin"]) == ckpt, (rest, ckpt)
assert j["checkpoint"] == (run + "/checkpoint.bin" if ckpt else None), j["checkpoint"]
assert j["command_line"].split() == c, j["command_line"]
t0, t1 = datetime.fromisoformat(j["start"]), datetime.fromisoformat(j["end"])
assert t0 <= t1 and 0 <= j["elapsed_s"] <= 600, (t0, t1, j["elapsed_s"])
assert j["resumed_from"] is None and j["resubmitted_as"] is None, j
seg = j["segments"]
assert len(seg) == 1 and seg[0]["job_id"] == jid and seg[0]["state"] == "completed", seg
EOF'
  check_eval "solve.sbatch ($case): log has the solve line; no checkpoint left" \
    'grep -q "^sprec solve: algo=$algo .* ranks=2 " "$SPREC_RUNS/$id/log" && [ ! -e "$SPREC_RUNS/$id/checkpoint.bin" ]'
done
check_eval "solve.sbatch refuses --out (exit 2)" \
  '(cd "$W" && sbatch --wait "$root/jobs/solve.sbatch" --algo htp --out x.json >/dev/null 2>&1); [ $? -eq 2 ]'

# --- preemption plumbing of solve.sbatch, with a stand-in for sprec that keeps the
# checkpoint contract (SIGUSR1/SIGTERM: finish the "iteration", save, exit 3; --resume).
# A first run (no --resume) stops making progress half-way and waits there for its
# signal, however late a loaded machine delivers it; a resumed run goes to the end.
cat >"$W/fake-sprec" <<'EOF'
#!/bin/bash
if [ "$2" = --help ]; then printf 'Preemption (sea, fista):\n  --checkpoint FILE\n'; exit 0; fi
shift
iters=1000 out="" ckpt="" resume=""
while [ $# -gt 0 ]; do
  case "$1" in
    --iters) iters=$2; shift ;; --out) out=$2; shift ;;
    --checkpoint) ckpt=$2; shift ;; --resume) resume=$2; shift ;;
  esac
  shift
done
it=0 stop=0
[ -n "$resume" ] && it=$(cat "$resume")
from=$it
hold=$((iters / 2))
[ -n "$resume" ] && hold=$iters
trap 'stop=1' USR1 TERM
touch "$FAKE_READY.$SLURM_JOB_ID.$SLURM_PROCID"
while [ "$it" -lt "$iters" ]; do
  sleep 0.05
  [ "$it" -lt "$hold" ] && it=$((it + 1))
  if [ $stop -eq 1 ]; then
    if [ "$SLURM_PROCID" = 0 ]; then
      echo "$it" >"$ckpt.tmp" && mv "$ckpt.tmp" "$ckpt"
      echo "sprec solve: stopped by a signal after iteration $it; state saved in $ckpt" >&2
    fi
    exit 3
  fi
done
[ "$SLURM_PROCID" = 0 ] && echo "{\"iterations\": $it, \"resumed_iteration\": $from}" >"$out"
echo "sprec solve (stand-in): iterations=$it resumed_iteration=$from"
exit 0
EOF
chmod +x "$W/fake-sprec"
export FAKE_READY=$W/ready
# Submit the stand-in (arguments: VAR=VALUE for the job's environment); wait until both
# tasks have set their traps (polls, at most 300 s: then status 1); print the job id.
submit_fake() {
  local id deadline=$((SECONDS + 300))
  id=$(cd "$W" && env SPREC_BIN="$W/fake-sprec" "$@" sbatch --parsable "$root/jobs/solve.sbatch" --iters 80) || return 1
  echo "$id"
  until [ -e "$FAKE_READY.$id.0" ] && [ -e "$FAKE_READY.$id.1" ]; do
    [ $SECONDS -lt $deadline ] || { echo "job $id: the stand-in never started" >&2; return 1; }
    sleep 0.1
  done
}
job_field() { $PY -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2]))' "$SPREC_RUNS/$1/job.json" "$2" 2>/dev/null; }

# 1. The time-limit path: SIGUSR1 to the batch shell (what --signal=B:USR1@60 does), which
# forwards it; the job resubmits itself with --resume, into the same runs/<id>/.
id=$(submit_fake)
scancel --batch --signal=USR1 "$id"
wait_jobs 300 "$id"
next=$(job_field "$id" resubmitted_as)
check_eval "SIGUSR1 to the batch shell: job $id checkpoints, exits 3, resubmits itself (job $next)" \
  '[ -n "$next" ] && [ "$next" != None ]'
wait_jobs 300 "$next"
check_eval "the continuation resumes and completes in the same runs/$id" '$PY - "$SPREC_RUNS/$id" "$id" "$next" <<EOF
import json, sys
run, first, second = sys.argv[1:]
j = json.load(open(run + "/job.json"))
r = json.load(open(run + "/result.json"))
assert r["iterations"] == 80 and 0 < r["resumed_iteration"] < 80, r
assert j["job_id"] == second and j["run_id"] == first and j["state"] == "completed", j
assert j["resumed_from"] == run + "/checkpoint.bin" and j["command"][-2:] == ["--resume", j["resumed_from"]], j
s = j["segments"]
assert [x["job_id"] for x in s] == [first, second], s
assert s[0]["state"] == "interrupted" and s[0]["exit_status"] == 3 and s[0]["resubmitted_as"] == second, s[0]
assert s[1]["state"] == "completed" and s[1]["exit_status"] == 0 and s[1]["segment"] == 1, s[1]
EOF'
check_eval "one log for both jobs" 'grep -q "continues as job $next" "$SPREC_RUNS/$id/log" && grep -q "job $next on" "$SPREC_RUNS/$id/log" && grep -q "stand-in): iterations=80" "$SPREC_RUNS/$id/log"'

# 2. SIGUSR1 to the step (scancel --signal=USR1) with SPREC_RESUBMIT=0: interrupted, kept.
id=$(submit_fake SPREC_RESUBMIT=0)
scancel --signal=USR1 "$id"
wait_jobs 300 "$id"
check_eval "SPREC_RESUBMIT=0: interrupted, checkpoint kept, nothing resubmitted" \
  '[ "$(job_field "$id" state)" = interrupted ] && [ "$(job_field "$id" exit_status)" = 3 ] && [ "$(job_field "$id" resubmitted_as)" = None ] && [ -s "$SPREC_RUNS/$id/checkpoint.bin" ] && [ ! -e "$SPREC_RUNS/$id/result.json" ]'

# 3. scancel (SIGTERM to everything): the stand-in checkpoints, the job does not resubmit.
id=$(submit_fake)
scancel "$id"
wait_jobs 300 "$id"
check_eval "scancel: checkpoint saved, no resubmission" \
  '[ "$(job_field "$id" state)" = interrupted ] && [ "$(job_field "$id" resubmitted_as)" = None ] && [ -s "$SPREC_RUNS/$id/checkpoint.bin" ] && [ -z "$(squeue -h)" ]'

# --- checkpoint and resume with the real sprec: a SEA and a FISTA solve.sbatch job on 2
# tasks, stopped by `scancel --signal=USR1` (to the job's steps: srun's ranks) once its
# log shows iterations, checkpoints and exits 3; its resubmitted job resumes and its
# result.json equals the uninterrupted mpirun -np 2 run (support, iterations,
# coefficients and objective, bit for bit: see test_checkpoint.sh).
G=(--problem gaussian -m 200 -n 20000 -k 10 --snr 30 --seed 5 --iters 3000 --monitor 5)
for algo_args in "sea -k 10" "fista --lambda-ratio 0.05 --tol 0"; do
  read -r algo rest <<<"$algo_args"
  args=("${G[@]}" --algo $algo $rest)
  scripts/mpirun.sh -np 2 bin/sprec solve "${args[@]}" --quiet --out "$W/ref-ck-$algo.json" >/dev/null 2>&1
  id=$(cd "$W" && sbatch --parsable "$root/jobs/solve.sbatch" "${args[@]}")
  deadline=$((SECONDS + 300)) # until the job iterates (polls; a loaded machine is slow to start it)
  until grep -q '^iter  *[1-9]' "$SPREC_RUNS/$id/log" 2>/dev/null || [ $SECONDS -ge $deadline ]; do
    sleep 0.1
  done
  scancel --signal=USR1 "$id"
  wait_jobs 300 "$id"
  next=$(job_field "$id" resubmitted_as)
  [ -n "$next" ] && [ "$next" != None ] && wait_jobs 600 "$next"
  check_eval "$algo job $id: scancel --signal=USR1 checkpoints, exits 3, job $next resumes; result = mpirun -np 2" \
    'grep -q "stopped by a signal after iteration" "$SPREC_RUNS/$id/log" &&
     $PY - "$SPREC_RUNS/$id/result.json" "$W/ref-ck-$algo.json" "$SPREC_RUNS/$id/job.json" <<EOF
import json, sys
a, b, j = (json.load(open(f)) for f in sys.argv[1:])
seg = j["segments"]  # the interrupted job, then its continuation
assert len(seg) == 2 and seg[0]["exit_status"] == 3 and seg[1]["exit_status"] == 0, seg
assert seg[1]["command"][-2:] == ["--resume", j["checkpoint"]], seg[1]["command"]
assert a["resumed_iteration"] >= 1 and a["ranks"] == 2, a.get("resumed_iteration")
for key in ("support", "coef", "iterations", "best_iteration", "stop_reason", "objective", "data_fit"):
    assert a[key] == b[key], (key, a[key], b[key])
EOF' || tail -5 "$SPREC_RUNS/$id/log" | sed 's/^/    /'
done

# --- jobs/serve.sbatch: the service as a job. Four requests with --wait (a full batch of
# --max-batch 4), three more left queued (a lone batch would wait --max-wait-ms, 10
# minutes); `scancel --signal=USR1` makes it drain and exit 0 with them queued, and the
# job resubmits itself on the same state directory; the new job writes its own
# endpoint.json, one more request fills the batch, and every accepted id has exactly one
# result, equal to `sprec solve`'s for its y (support, coefficients, objective,
# iterations: bit for bit). SIGUSR1 to the batch shell (what the time limit sends)
# during a batch: new requests get 503 at once, the batch finishes, a third job
# continues; a plain scancel then stops it for good.
S=$W/serve
mkdir -p "$S"
sv_opts=(--algo sea -k 4 --iters 100)
scripts/mpirun.sh -np 1 bin/sprec gen --problem gaussian -m 64 -n 3000 -k 4 --snr 40 --seed 9 \
  --out "$S/p" --quiet >"$S/gen.log" 2>&1 &&
  $PY - "$S" <<'EOF' >>"$S/gen.log" 2>&1
import sys
import numpy as np
d = sys.argv[1]
A = np.load(d + "/p/A.npy")
rng = np.random.default_rng(11)
for p in range(8):  # y_p = A x_p + 1% noise, x_p 4-sparse
    x = np.zeros(A.shape[1])
    x[rng.choice(A.shape[1], 4, replace=False)] = rng.choice([-1, 1], 4) * (1 + abs(rng.normal(size=4)))
    y = A @ x
    np.save("%s/y%d.npy" % (d, p), y + rng.normal(size=y.shape) * np.linalg.norm(y) / 8 * 0.01)
EOF
check_eval "serve: a problem and 8 right-hand sides" '[ $? -eq 0 ] && [ -s "$S/y7.npy" ]' || sed 's/^/    /' "$S/gen.log"
sid=$(cd "$W" && sbatch --parsable "$root/jobs/serve.sbatch" --A "$S/p/A.npy" --max-batch 4 --max-wait-ms 600000)
# The references meanwhile, each y alone through the CLI.
(for p in 0 1 2 3 4 5 6 7; do
  scripts/mpirun.sh -np 2 bin/sprec solve --A "$S/p/A.npy" --y "$S/y$p.npy" "${sv_opts[@]}" --quiet \
    --out "$S/ref$p.json" || exit 1
done) >"$S/ref.log" 2>&1 &
refpid=$!
ep=$SPREC_RUNS/$sid/state/endpoint.json
# Wait (at most $2 seconds, while job $1 is in the queue) until the run's log shows $3
# "serving at" lines (one per job that has started the service).
wait_serving() {
  local deadline=$((SECONDS + $2)) n
  while n=$(grep -c '^serve.sbatch: serving at ' "$SPREC_RUNS/$sid/log" 2>/dev/null); [ "${n:-0}" -lt "$3" ]; do
    [ $SECONDS -lt $deadline ] && [ -n "$(squeue -h -j "$1" 2>/dev/null)" ] || return 1
    sleep 0.2
  done
}
ep_field() { $PY -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$ep" "$1" 2>/dev/null; }
# Field $2 of the record of the chain's job number $1 (0, 1, ...), once that job has ended
# (job.json may hold its continuation's record already).
seg_field() {
  $PY -c 'import json, sys; print(json.loads(open(sys.argv[1]).read().splitlines()[int(sys.argv[2])]).get(sys.argv[3]))' \
    "$SPREC_RUNS/$sid/segments.jsonl" "$1" "$2" 2>/dev/null
}
check_eval "serve.sbatch job $sid listens; endpoint.json in runs/$sid/state, mode 0600" \
  'wait_serving "$sid" 300 1 && [ "$(stat -c %a "$ep")" = 600 ] && [ "$(job_field "$sid" state)" = serving ] && [ "$(job_field "$sid" url)" = "$(ep_field url)" ]' ||
  sed 's/^/    /' "$SPREC_RUNS/$sid/log"
url1=$(ep_field url) tok1=$(ep_field token) pid1=$(ep_field pid)
check_eval "serve: endpoint.json names this node ($(hostname)), the port it listens on" \
  '[ "$url1" = "http://$(hostname):$(ep_field port)" ] && [ "$(ep_field host)" = "$(hostname)" ]' || cat "$ep"
pids=()
for p in 0 1 2 3; do
  bin/sprec submit --endpoint "$ep" --y "$S/y$p.npy" "${sv_opts[@]}" --wait 120 --out "$S/res$p.json" \
    >"$S/sub$p.out" 2>&1 &
  pids+=($!)
done
ok=1
for q in "${pids[@]}"; do wait "$q" || ok=0; done
check_eval "serve: 4 requests with --wait answered (one batch of --max-batch 4)" \
  '[ $ok -eq 1 ] && (for p in 0 1 2 3; do grep -q "^[0-9a-f]\{32\} done objective=" "$S/sub$p.out" || exit 1; done)' ||
  cat "$S"/sub?.out | sed 's/^/    /'
queued=()
for p in 4 5 6; do
  queued+=("$(bin/sprec submit --endpoint "$ep" --y "$S/y$p.npy" "${sv_opts[@]}" 2>"$S/sub$p.err")")
done
check_eval "serve: 3 more requests accepted, queued (they wait for a fourth)" \
  '[ ${#queued[@]} -eq 3 ] && (for q in "${queued[@]}"; do [ -n "$q" ] && [ "$(bin/sprec status "$q" --endpoint "$ep")" = "$q queued" ] || exit 1; done)' ||
  cat "$S"/sub?.err | sed 's/^/    /'
# A client long-polling a queued request (?wait=600) must not hold up the drain: it is
# answered with the status as it is, and the job ends at once.
$PY - "$url1" "$tok1" "${queued[0]}" "$S/waiter.sent" >"$S/waiter.json" 2>&1 <<'EOF' &
import http.client, sys, urllib.parse
url, token, rid, sent = sys.argv[1:]
u = urllib.parse.urlsplit(url)
c = http.client.HTTPConnection(u.hostname, u.port, timeout=900)
c.request("GET", "/v1/solves/" + rid + "?wait=600", headers={"Authorization": "Bearer " + token})
open(sent, "w").close()  # the request is on its way: now the stop
r = c.getresponse()
assert r.status == 200, r.status
print(r.read().decode())
EOF
waiter=$!
deadline=$((SECONDS + 60))
until [ -e "$S/waiter.sent" ] || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
t_stop=$SECONDS
scancel --signal=USR1 "$sid"
wait_jobs 300 "$sid"
t_stop=$((SECONDS - t_stop))
wait "$waiter"
check_eval "serve: a long poll (?wait=600) on a queued request is answered 'queued' when the service drains" \
  '[ $? -eq 0 ] && $PY -c "import json, sys; r = json.load(open(sys.argv[1])); assert r[\"status\"] == \"queued\", r" "$S/waiter.json"' ||
  sed 's/^/    /' "$S/waiter.json"
snext=$(seg_field 0 resubmitted_as)
check_eval "serve: scancel --signal=USR1: job $sid drains in ${t_stop}s (< 60), exits 0, resubmits itself (job $snext)" \
  '[ $t_stop -lt 60 ] && [ "$(seg_field 0 state)" = stopped ] && [ "$(seg_field 0 exit_status)" = 0 ] && [ -n "$snext" ] && [ "$snext" != None ] && grep -q "^sprec serve: stopped" "$SPREC_RUNS/$sid/log"' ||
  tail -5 "$SPREC_RUNS/$sid/log" | sed 's/^/    /'
check_eval "serve: job $snext starts on the same state directory and rewrites endpoint.json" \
  'wait_serving "$snext" 300 2 && [ "$(ep_field token)" != "$tok1" ] && [ "$(ep_field pid)" != "$pid1" ] && [ "$(ep_field host)" = "$(hostname)" ] && [ "$(job_field "$sid" job_id)" = "$snext" ] && [ "$(job_field "$sid" url)" = "$(ep_field url)" ]' ||
  tail -5 "$SPREC_RUNS/$sid/log" | sed 's/^/    /'
bin/sprec submit --endpoint "$ep" --y "$S/y7.npy" "${sv_opts[@]}" --wait 120 --out "$S/res7.json" >"$S/sub7.out" 2>&1
check_eval "serve: a request to the new job, with --wait, answered" 'grep -q " done objective=" "$S/sub7.out"' ||
  sed 's/^/    /' "$S/sub7.out"
for i in 0 1 2; do
  bin/sprec status "${queued[$i]}" --endpoint "$ep" --wait 120 --out "$S/res$((i + 4)).json" >"$S/st$i.out" 2>&1
done
wait "$refpid"
check_eval "reference solves of the 8 right-hand sides" '[ $? -eq 0 ]' || sed 's/^/    /' "$S/ref.log"
# The time-limit path (--signal=B:USR1@120): SIGUSR1 to the batch shell, which forwards
# it, while a batch runs (4 requests of 15000 iterations: seconds): from the signal on,
# health says "stopping" and a new request gets 503; the batch finishes in this job.
long=()
for p in 0 1 2 3; do
  long+=("$(bin/sprec submit --endpoint "$ep" --y "$S/y$p.npy" --algo sea -k 4 --iters 15000 2>>"$S/long.err")")
done
deadline=$((SECONDS + 120))
until [ "$(bin/sprec status "${long[0]}" --endpoint "$ep" 2>/dev/null)" = "${long[0]} running" ] ||
  [ $SECONDS -ge $deadline ]; do sleep 0.1; done
scancel --batch --signal=USR1 "$snext"
health() { $PY -c 'import json, sys, urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1] + "/v1/health", timeout=30))["status"])' "$(ep_field url)" 2>/dev/null; }
deadline=$((SECONDS + 60))
until [ "$(health)" = stopping ] || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
bin/sprec submit --endpoint "$ep" --y "$S/y0.npy" "${sv_opts[@]}" --retry 0 >"$S/late.out" 2>&1
late=$?
check_eval "serve: SIGUSR1 to the batch shell during a batch: health 'stopping', a new request 503, the batch still running" \
  '[ "$(health)" = stopping ] && [ $late -eq 2 ] && grep -q "answered 503: the service is stopping" "$S/late.out" && [ "$(bin/sprec status "${long[0]}" --endpoint "$ep")" = "${long[0]} running" ]' ||
  { sed 's/^/    /' "$S/late.out" "$S/long.err"; bin/sprec status "${long[0]}" --endpoint "$ep" 2>&1 | sed 's/^/    /'; }
# (The batch's 4 x 15000 iterations take seconds; under SANITIZE on a loaded machine,
# minutes: the bound is generous, the wait ends as soon as the job does.)
wait_jobs 1200 "$snext"
slast=$(seg_field 1 resubmitted_as)
check_eval "serve: job $snext finishes its batch, exits 0, resubmits itself (job $slast)" \
  '[ "$(seg_field 1 exit_status)" = 0 ] && [ -n "$slast" ] && [ "$slast" != None ] && wait_serving "$slast" 300 3 && [ "$(job_field "$sid" job_id)" = "$slast" ] &&
   (for q in "${long[@]}"; do [ "$(bin/sprec status "$q" --endpoint "$ep" | cut -d" " -f2)" = done ] || exit 1; done)' ||
  tail -5 "$SPREC_RUNS/$sid/log" | sed 's/^/    /'
scancel "$slast"
wait_jobs 300 "$slast"
check_eval "serve: plain scancel stops job $slast (exit 0), nothing resubmitted" \
  '[ "$(job_field "$sid" state)" = stopped ] && [ "$(job_field "$sid" exit_status)" = 0 ] && [ "$(job_field "$sid" resubmitted_as)" = None ] && [ -z "$(squeue -h)" ]' ||
  tail -5 "$SPREC_RUNS/$sid/log" | sed 's/^/    /'
check_eval "serve: every accepted id has exactly one result, equal to sprec solve's for its y; the queued ones solved by the next job" \
  '$PY - "$S" "$SPREC_RUNS/$sid" "$sid" "$snext" "$slast" "${long[@]}" <<EOF
import json, sqlite3, sys
from datetime import datetime
d, run, first, second, third = sys.argv[1:6]
long = sys.argv[6:]
ids = []
for p in range(8):
    r, ref = json.load(open("%s/res%d.json" % (d, p))), json.load(open("%s/ref%d.json" % (d, p)))
    assert r["status"] == "done", (p, r.get("status"))
    for key in ("support", "coef", "objective", "data_fit", "iterations", "best_iteration", "stop_reason"):
        assert r[key] == ref[key], (p, key, r[key], ref[key])
    ids.append(r["id"])
assert len(set(ids)) == 8, ids
db = sqlite3.connect(run + "/state/state.sqlite")
rows = db.execute("SELECT id, status, result IS NOT NULL FROM requests").fetchall()
assert len(long) == 4 and sorted(rows) == sorted((i, "done", 1) for i in ids + long), rows
j = json.load(open(run + "/job.json"))
seg = j["segments"]
assert [s["job_id"] for s in seg] == [first, second, third] and [s["segment"] for s in seg] == [0, 1, 2], seg
assert [s["resubmitted_as"] for s in seg] == [second, third, None], seg
assert all(s["state_dir"] == run + "/state" and s["exit_status"] == 0 and s["state"] == "stopped" for s in seg), seg
assert all(s["url"] and s["command"] == seg[0]["command"] for s in seg), seg
t1 = datetime.fromisoformat(seg[1]["start"]).timestamp()
for i in ids[4:7]:  # queued in the first job, solved in the second
    f = db.execute("SELECT finished FROM requests WHERE id=?", (i,)).fetchone()[0]
    assert f >= t1, (i, f, t1)
t2 = datetime.fromisoformat(seg[2]["start"]).timestamp()
for i in long:  # the batch the signal found running: finished by the second job
    f = db.execute("SELECT finished FROM requests WHERE id=?", (i,)).fetchone()[0]
    assert f <= t2 + 1, (i, f, t2)
EOF'

# --- scaling studies: 1 and 2 ranks, through sbatch and locally
check_study() { # $1 strong|weak, $2 directory, $3 n (per rank for weak), $4 repeats
  $PY - "$@" <<'EOF'
import csv, json, struct, sys
mode, d, n, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
# scaling.csv prints its numbers with %.6g: each within H = 5e-6 of its value, relative
# (half a unit in the sixth significant digit); EPS for the arithmetic here.
H, EPS = 5e-6, sys.float_info.epsilon
rows = list(csv.DictReader(open(d + "/scaling.csv")))
cols = ["scaling", "ranks", "m", "n", "k", "algorithm", "iterations", "repeats", "total", "io", "setup",
        "apply_T", "topk", "lsq", "comm", "other", "speedup", "efficiency"]
assert list(rows[0].keys()) == cols, list(rows[0].keys())
assert [int(r["ranks"]) for r in rows] == [1, 2], rows
for r in rows:
    p = int(r["ranks"])
    assert r["scaling"] == mode and r["algorithm"] == "sea" and r["m"] == "200" and r["k"] == "5", r
    assert int(r["n"]) == (n if mode == "strong" else n * p) and r["iterations"] == "20", r
    assert r["repeats"] == repeats, r
    t = {c: float(r[c]) for c in cols[8:]}
    assert t["total"] > 0 and all(t[c] >= 0 for c in t), r
    parts = t["io"] + t["setup"] + t["apply_T"] + t["topk"] + t["lsq"] + t["other"]
    # other = total − the phases (unless that is negative: 0), each field then printed
    assert abs(parts - t["total"]) <= H * (parts + t["total"]) + 8 * EPS * t["total"] or t["other"] == 0, (parts, r)
t1 = float(rows[0]["total"])
for r in rows:
    p, tp, s, e = int(r["ranks"]), float(r["total"]), float(r["speedup"]), float(r["efficiency"])
    want_e = t1 / (p * tp) if mode == "strong" else t1 / tp
    # e from the unrounded times, printed; want_e from two printed times: 3 H. s = p e
    # before printing, each printed: 2 H.
    assert abs(e - want_e) <= (3 * H + 4 * EPS) * want_e and abs(s - p * e) <= (2 * H + 4 * EPS) * s, (r, want_e)
assert float(rows[0]["speedup"]) == 1 and float(rows[0]["efficiency"]) == 1, rows[0]
if repeats != "1":  # each point is the fastest of its repeats
    for r in rows:
        p = int(r["ranks"])
        tot = [json.load(open("%s/np%d.r%d.json" % (d, p, i)))["time"]["total"] for i in range(1, int(repeats) + 1)]
        assert json.load(open("%s/np%d.json" % (d, p)))["time"]["total"] == min(tot), (p, tot)
        assert abs(float(r["total"]) - min(tot)) <= (H + EPS) * min(tot), (r, tot)
# The answer does not depend on the rank count (the strong points solve the same problem).
if mode == "strong":
    a, b = (json.load(open("%s/np%d.json" % (d, p))) for p in (1, 2))
    assert (a["support"], a["coef"], a["objective"]) == (b["support"], b["coef"], b["objective"])
for name in ("time", "efficiency"):
    data = open("%s/%s.png" % (d, name), "rb").read(64)
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", name
    w, h = struct.unpack(">II", data[16:24])
    assert w > 0 and h > 0, (name, w, h)
EOF
}
# (--local also with --repeat 2: each point's fastest run is kept)
for how in sbatch local; do
  for mode in strong weak; do
    n=4000 flags=() repeats=1
    [ $mode = weak ] && n=2000
    [ $how = local ] && flags=(--local --repeat 2) repeats=2
    d=$W/scaling-$mode-$how
    scripts/scaling.sh $mode --ranks 1,2 -m 200 -n $n -k 5 --iters 20 --out "$d" "${flags[@]}" >"$W/scaling.log" 2>&1
    check_eval "scaling.sh $mode ($how) runs" '[ $? -eq 0 ]' || { sed 's/^/    /' "$W/scaling.log" | tail -20; continue; }
    check_eval "scaling.sh $mode ($how${flags[*]:+, ${flags[*]}}): CSV rows and columns, speedup and efficiency, PNG plots" \
      'check_study $mode "$d" $n $repeats'
  done
done

finish
