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
# Preemption and time limits (SLURM, or a kill of the whole process group) send SIGTERM
# to every process at once. The ranks then finish their iteration, save their
# checkpoint and exit 3; but mpirun, signalled itself, kills them after
# odls_base_sigkill_timeout seconds and exits 1 whatever they returned. Hence:
#   * the wait is SPREC_KILL_WAIT seconds (default 10, not Open MPI's 1): time to end
#     the iteration and write the checkpoint, while a job one of whose ranks died still
#     ends within 30 s (mpirun waits twice);
#   * mpirun runs as a child of this script, and the status rank 0 meant to return
#     comes back through SPREC_STATUS_FILE (src/cli/main.c) when mpirun's is lost;
#   * a SIGTERM, SIGHUP or SIGUSR1 that reaches this script goes on to mpirun as SIGUSR1,
#     which mpirun passes to the ranks (the same orderly stop; a second SIGTERM to
#     mpirun within 5 s would kill at once).
status=$(mktemp "${TMPDIR:-/tmp}/sprec-status.XXXXXX")
export SPREC_STATUS_FILE=$status
child= stopped=0
stop() {
  stopped=1
  [ -n "$child" ] && kill -USR1 "$child" 2>/dev/null
}
trap stop TERM USR1 HUP
trap : INT # Ctrl-C reaches mpirun itself (the foreground process group)
mpirun "${extra[@]}" --mca odls_base_sigkill_timeout "${SPREC_KILL_WAIT:-10}" -x OPENBLAS_NUM_THREADS \
  -x SPREC_STATUS_FILE "$@" &
child=$!
while :; do
  rc=0
  wait "$child" || rc=$?
  kill -0 "$child" 2>/dev/null || break # (wait returns early when a trapped signal comes)
done
if [ -s "$status" ]; then # sprec's own status; a non-zero one of mpirun's is kept unless
  s=$(cat "$status")     # the job was told to stop (then mpirun's 1 is its own signal's)
  if [ "$rc" -eq 0 ] || [ "$s" -ne 0 ] || [ "$stopped" -eq 1 ]; then rc=$s; fi
fi
rm -f "$status"
exit "$rc"
