#!/usr/bin/env bash
# The project's launch helper: mpirun with what this machine needs and nothing more.
#   --allow-run-as-root  only when running as root
#   --oversubscribe      only when more ranks are asked than there are cores
#   --bind-to none       only when started on fewer CPUs than the machine has (taskset,
#                        a cpuset): Open MPI's default binding would move ranks onto cores
#                        outside the caller's set; unbound, they keep the caller's mask
#   OPENBLAS_NUM_THREADS=1 for each rank unless the caller set it (one BLAS thread per rank)
#   SPREC_KERNEL, when set, passed on to every rank
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
[ "$np" -gt "$(nproc)" ] && extra+=(--oversubscribe)
[ "$(nproc)" -lt "$(nproc --all)" ] && extra+=(--bind-to none)
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
[ -n "${SPREC_KERNEL:-}" ] && extra+=(-x SPREC_KERNEL) # to the ranks on other nodes too
exec mpirun "${extra[@]}" -x OPENBLAS_NUM_THREADS "$@"
