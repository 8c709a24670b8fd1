#!/usr/bin/env bash
# The project's launch helper: mpirun with what this machine needs and nothing more.
#   --allow-run-as-root  only when running as root
#   --oversubscribe      only when more ranks are asked than there are cores, and then
#                        mpi_yield_when_idle: Open MPI counts the machine's cores, not the
#                        caller's set, so 2 ranks under 'taskset -c 0' would spin-wait on
#                        one core without yielding (test_batch -np 2: > 300 s against 22 s)
#   --bind-to none       only when started on fewer CPUs than the machine has (taskset,
#                        a cpuset): Open MPI's default binding would move ranks onto cores
#                        outside the caller's set; unbound, they keep the caller's mask
#   OPENBLAS_NUM_THREADS=1 for each rank unless the caller set it (one BLAS thread per rank)
#   SPREC_KERNEL, when set, passed on to every rank
#   -q: mpirun's own notices ("Primary job terminated normally, but 1 process returned
#       a non-zero exit code...") are not printed next to sprec's one error line; the
#       exit status still says what happened (SPREC_MPIRUN_VERBOSE=1 keeps them)
# Usage: scripts/mpirun.sh -np P PROGRAM [ARGS...]   (other mpirun options pass through)
set -euo pipefail
np=1
args=("$@")
# Only mpirun's own options count: stop at the program (the first executable file),
# so that the program's options (sprec's -n, say) are not read as mpirun's.
for ((i = 0; i < ${#args[@]}; i++)); do
  [ -f "${args[$i]}" ] && [ -x "${args[$i]}" ] && break
  case "${args[$i]}" in
    -np|-n|--np) np="${args[$((i + 1))]}" ;;
    -np=*|--np=*) np="${args[$i]#*=}" ;;
  esac
done
extra=()
[ "$(id -u)" -eq 0 ] && extra+=(--allow-run-as-root)
[ "$np" -gt "$(nproc)" ] && extra+=(--oversubscribe --mca mpi_yield_when_idle 1)
[ "$(nproc)" -lt "$(nproc --all)" ] && extra+=(--bind-to none)
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
[ -n "${SPREC_KERNEL:-}" ] && extra+=(-x SPREC_KERNEL) # to the ranks on other nodes too
[ -z "${SPREC_MPIRUN_VERBOSE:-}" ] && extra+=(-q)
# Stopping a job. sprec stops in order on SIGTERM or SIGUSR1 (every rank ends its
# iteration, writes the checkpoint; exit status 3), but mpirun answers a SIGTERM, SIGINT
# or SIGHUP of its own by ending the job: SIGCONT to the ranks, a sleep of
# odls_base_sigkill_timeout seconds during which it reads no output and forwards no
# signal, SIGTERM, the same sleep, SIGKILL, exit status 1. A signal to the launcher's
# process group (Ctrl-C, a terminal hang-up, `timeout`, a workflow manager) used to reach
# mpirun too: the ranks heard of the stop that much later, or never (the run ended
# first, or rank 0 blocked writing progress nobody read and was killed unsaved). Hence:
#   * mpirun runs in a session of its own, so that a signal to this script's process
#     group reaches this script alone; it dies with this script all the same (parent-death
#     signal SIGKILL: a kill -9 of the group still ends the job, as before);
#   * SIGTERM, SIGINT, SIGHUP or SIGUSR1 here goes on to mpirun as SIGUSR1, which mpirun
#     passes to every rank at once: the orderly stop. The same again 2 s or more later
#     goes on as SIGTERM: mpirun's own ending, the job over within 2 x SPREC_KILL_WAIT s
#     (a repeat within 2 s is the same stop: `timeout` signals the script, then its group);
#   * Ctrl-Z stops the ranks (mpirun passes SIGTSTP on), then this script; fg or bg
#     continues both;
#   * the wait is SPREC_KILL_WAIT seconds (default 10, not Open MPI's 1): when mpirun
#     itself is signalled the ranks get SIGTERM after it, and as long again to end the
#     iteration and write the checkpoint; a job one of whose ranks died still ends
#     within 30 s;
#   * the status rank 0 meant to return comes back through SPREC_STATUS_FILE
#     (src/cli/main.c) when mpirun's is lost (mpirun signalled exits 1 whatever the
#     ranks returned).
# Without setsid and setpriv --pdeathsig (util-linux 2.33+) mpirun stays in the group, as
# it was.
status=$(mktemp "${TMPDIR:-/tmp}/sprec-status.XXXXXX")
export SPREC_STATUS_FILE=$status
child= stopped=0 stopped_at=0
detach=()
setsid true 2>/dev/null && setpriv --pdeathsig KILL true 2>/dev/null &&
  detach=(setsid setpriv --pdeathsig KILL)
forward() { # SIGNAL: to mpirun, if it runs (|| true: a trap's failure would end the script)
  if [ -n "$child" ]; then kill -"$1" "$child" 2>/dev/null || true; fi
}
stop() {
  if [ "$stopped" -eq 0 ]; then
    stopped=1 stopped_at=$SECONDS
    forward USR1
  elif [ $((SECONDS - stopped_at)) -ge 2 ]; then
    forward TERM
  fi
}
suspend() { # Ctrl-Z: mpirun stops the ranks, then this script stops; fg or bg goes on here
  forward TSTP
  kill -STOP $$
  forward CONT
}
# (No trap on CONT: bash 5.2 drops a TERM trap that is pending when a trapped CONT comes,
# and `timeout` sends TERM then CONT at once.)
trap stop TERM INT HUP USR1
trap suspend TSTP
# (stdin /dev/null: what a script's background command reads anyway)
"${detach[@]}" mpirun "${extra[@]}" --mca odls_base_sigkill_timeout "${SPREC_KILL_WAIT:-10}" \
  -x OPENBLAS_NUM_THREADS -x SPREC_STATUS_FILE "$@" </dev/null &
child=$!
[ "$stopped" -eq 0 ] || forward USR1 # a stop that came before mpirun did
# wait returns early when a trapped signal comes: until mpirun has exited, then its status
while kill -0 "$child" 2>/dev/null; do wait "$child" || true; done
rc=0
wait "$child" || rc=$?
if [ -s "$status" ]; then # sprec's own status; a non-zero one of mpirun's is kept unless
  s=$(cat "$status")     # the job was told to stop (then mpirun's 1 is its own signal's)
  if [ "$rc" -eq 0 ] || [ "$s" -ne 0 ] || [ "$stopped" -eq 1 ]; then rc=$s; fi
fi
rm -f "$status"
exit "$rc"
