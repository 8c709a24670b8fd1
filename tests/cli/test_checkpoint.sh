#!/usr/bin/env bash
# Checkpoint and resume under mpirun, through real signals.
#   tests/cli/test_checkpoint.sh [PATH/TO/sprec]
# For SEA and FISTA (ISTA through periodic checkpoints): a run stopped by SIGUSR1 or
# SIGTERM to the launcher (passed on to the ranks) writes its checkpoint and exits 3;
# resumed on another number
# of ranks, it ends with the result of the uninterrupted run (the same support,
# coefficients, objective and iterations, bit for bit). The signal is sent
# once the run reports its first iterations (--monitor), never after a fixed sleep.
# Then periodic checkpoints, a resume with a larger budget, and the refusals: another
# dictionary, another y, other options, another algorithm, a damaged file.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
quick_failures
make_workdir ckpt
cd "$W" || exit 1
require_setup

# same NAME A.json B.json: the results agree exactly (support, iterations, coefficients,
# objective): the checkpoint holds the state's doubles as they were, the kernels give
# the same bits on any number of ranks, and the objective comes from x by one function.
same() {
  if results_agree "$2" "$3" support coef iterations best_iteration stop_reason objective data_fit &&
    "$PY" - "$3" <<'PY'; then ok "$1"; else notok "$1" "results differ"; fi
import json, sys
b = json.load(open(sys.argv[1]))
assert b.get("resumed_iteration", -1) >= 1, b.get("resumed_iteration")
PY
}

# wait_iterating PID: polls until the run's progress ($W/mon) shows an iteration past 0
# (status 0); status 1 if the run ended first or 300 s went by (a loaded machine may be
# slow to start the run; the signal is never sent blindly).
wait_iterating() {
  local deadline=$((SECONDS + 300))
  until grep -q '^iter  *[1-9]' "$W/mon" 2>/dev/null; do
    kill -0 "$1" 2>/dev/null && [ $SECONDS -lt $deadline ] || return 1
    sleep 0.05
  done
}
# stop_run PID: ends a run that never reported an iteration (SIGTERM, then waits).
stop_run() {
  kill -TERM "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}

# interrupt NAME SIG NP ARGS...: starts sprec solve ARGS --monitor 100 on NP ranks, sends
# SIG to the launcher (scripts/mpirun.sh) once the first progress line after iteration 0
# is out, waits; the run must stop with exit status 3, the checkpoint written and no
# result file. (Every other way a stop can reach a job: tests/cli/test_hostile.sh.)
interrupt() {
  local name=$1 sig=$2 np=$3 pid rc
  shift 3
  rm -f "$W/ck.bin" "$W/int.json" "$W/mon"
  "$MPIRUN" -q -np "$np" "$SPREC" solve "$@" --monitor 100 --checkpoint "$W/ck.bin" --out "$W/int.json" \
    >"$W/mon" 2>"$W/err" </dev/null &
  pid=$!
  if ! wait_iterating "$pid"; then
    stop_run "$pid"
    notok "$name" "the run never reported an iteration: $(tail -c 300 "$W/err" | tr '\n' '|')"
    return 1
  fi
  kill -"$sig" "$pid" 2>/dev/null
  wait "$pid"
  rc=$?
  if [ ! -s "$W/ck.bin" ]; then notok "$name" "no checkpoint written (rc $rc): $(tail -c 300 "$W/err" | tr '\n' '|')"; return 1; fi
  if [ -e "$W/int.json" ]; then notok "$name" "an interrupted run wrote its result"; return 1; fi
  if ! grep -q 'stopped by a signal after iteration [0-9]*; state saved in' "$W/err"; then
    notok "$name" "no message: $(tail -c 300 "$W/err" | tr '\n' '|')"; return 1
  fi
  if [ "$rc" != 3 ]; then notok "$name" "exit status $rc, want 3"; return 1; fi
  ok "$name"
}

G="--problem gaussian -m 200 -n 20000 -k 10 --snr 30 --seed 5"
# The budgets keep the runs going well past the signal.
for case in "sea|$G -k 10 --iters 6000" "fista|$G --algo fista --lambda-ratio 0.05 --tol 0 --iters 6000"; do
  algo=${case%%|*}
  args=${case#*|}
  "$MPIRUN" -q -np 2 "$SPREC" solve $args --quiet --out "$W/full.$algo.json" </dev/null ||
    notok "$algo uninterrupted" "failed"
  for sig in USR1 TERM; do
    if interrupt "$algo stopped by SIG$sig under mpirun -np 2" "$sig" 2 $args; then
      if "$MPIRUN" -q -np 1 "$SPREC" solve $args --resume "$W/ck.bin" --quiet --out "$W/res.json" </dev/null; then
        same "$algo resumed after SIG$sig on 1 rank = uninterrupted on 2" "$W/full.$algo.json" "$W/res.json"
      else notok "$algo resume after SIG$sig" "resume failed"; fi
    fi
  done
done

# periodic NAME CKPT NP FIRST EVERY LAST ARGS...: solve ARGS for FIRST iterations on 2
# ranks with a checkpoint every EVERY in $W/CKPT, resumed on NP ranks for LAST
# iterations: the result of LAST iterations uninterrupted on 2 ranks.
periodic() {
  local name=$1 ck=$W/$2 np=$3 first=$4 every=$5 final=$6
  shift 6
  "$MPIRUN" -q -np 2 "$SPREC" solve "$@" --iters "$final" --quiet --out "$W/full.json" </dev/null
  "$MPIRUN" -q -np 2 "$SPREC" solve "$@" --iters "$first" --checkpoint "$ck" --checkpoint-every "$every" \
    --quiet --out "$W/first.json" </dev/null &&
    "$MPIRUN" -q -np "$np" "$SPREC" solve "$@" --iters "$final" --resume "$ck" --quiet --out "$W/last.json" </dev/null &&
    same "$name" "$W/full.json" "$W/last.json" ||
    notok "$name" "a run failed"
}
# Periodic checkpoints, and a resume with a larger budget (3 ranks); ISTA with
# continuation stopped inside a stage.
D="--problem deconv -m 256 -n 1024 -k 12 --snr 40"
periodic "--checkpoint-every, resumed with a larger --iters on 3 ranks" p.bin 3 100 50 300 $D
periodic "ista with continuation: checkpoint inside a stage, resumed on 1 rank" i.bin 1 500 500 1500 \
  $D --algo ista --lambda-ratio 0.01 --tol 0 --continuation 3

# refuse NAME PATTERN ARGS...: exit 2, one line on stderr naming the problem, no output.
refuse() {
  local name=$1 pat=$2
  shift 2
  rm -f "$W/r.json"
  sprec 2 solve "$@" --out "$W/r.json"
  if [ "$rc" != 2 ]; then notok "$name" "exit $rc, want 2: $(head -c 300 "$W/err")"
  elif [ "$(wc -l <"$W/err")" != 1 ] || ! grep -qF -- "$pat" "$W/err"; then
    notok "$name" "stderr: $(head -c 300 "$W/err" | tr '\n' '|')"
  elif [ -e "$W/r.json" ]; then notok "$name" "wrote a result"
  else ok "$name"; fi
}
refuse "resume: another dictionary" "another dictionary A" \
  --problem deconv -m 256 -n 1024 -k 12 --snr 40 --width 0.03 --resume "$W/p.bin"
refuse "resume: another y" "another observation y" \
  --problem deconv -m 256 -n 1024 -k 12 --snr 30 --resume "$W/p.bin"
refuse "resume: other options" "lsq=auto in the checkpoint, lsq=scalapack here" $D --lsq scalapack \
  --resume "$W/p.bin"
refuse "resume: another algorithm" "the checkpoint is of algo sea, not fista" $D --algo fista \
  --lambda-ratio 0.1 --resume "$W/p.bin"
"$MPIRUN" -q -np 2 "$SPREC" solve $D --algo htp --iters 5 --checkpoint "$W/h.bin" --checkpoint-every 1 --quiet \
  --out "$W/h5.json" </dev/null || notok "htp checkpoint" "the run failed"
refuse "resume: an htp checkpoint with omp" "the checkpoint is of algo htp, not omp" $D --algo omp \
  --resume "$W/h.bin"
refuse "--checkpoint-every without --checkpoint" "checkpoint_every needs checkpoint" $D --checkpoint-every 5
head -c 4000 "$W/p.bin" >"$W/trunc.bin"
refuse "resume: truncated checkpoint" "truncated" $D --resume "$W/trunc.bin"
printf 'not a checkpoint at all, but long enough to hold a header..........................' >"$W/junk.bin"
refuse "resume: not a checkpoint" "not a sprec checkpoint" $D --resume "$W/junk.bin"
refuse "resume: missing file" "No such file or directory" $D --resume "$W/missing.bin"

# A signal without --checkpoint: stops, says nothing was saved, writes no result.
rm -f "$W/int.json"
"$MPIRUN" -q -np 2 "$SPREC" solve $G -k 10 --iters 100000 --monitor 5 --out "$W/int.json" >"$W/mon" 2>"$W/err" </dev/null &
pid=$!
if wait_iterating "$pid"; then
  kill -USR1 "$pid"
  wait "$pid"
  rc=$?
else
  stop_run "$pid"
  rc="never iterating"
fi
if [ "$rc" = 3 ] && grep -q 'nothing saved' "$W/err" && [ ! -e "$W/int.json" ]; then
  ok "signal without --checkpoint: exit 3, nothing written"
else notok "signal without --checkpoint" "rc $rc: $(head -c 300 "$W/err" | tr '\n' '|')"; fi

finish
