#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, from Debian's packages, for tests and demos.
#   scripts/slurm-local.sh start    install what is missing, start munge, slurmctld, slurmd;
#                                   wait until the node is idle
#   scripts/slurm-local.sh stop     stop the daemons started here, remove the state
#   scripts/slurm-local.sh status   say whether the cluster answers
#   scripts/slurm-local.sh env      print the export line that points SLURM's commands here
# Everything lives in $SPREC_SLURM_DIR (default /tmp/sprec-slurm): the configuration,
# state, spool and logs. The system's /etc/slurm is not touched: commands find the
# configuration through SLURM_CONF (eval "$(scripts/slurm-local.sh env)").
# Facts this relies on (Debian 12, slurm-wlm 22.05, as root): ProctrackType=
# proctrack/linuxproc and TaskPlugin=task/none need no cgroups; SlurmUser=root;
# SelectType=select/cons_tres; the node line is what `slurmd -C` prints; `munged
# --force` starts munge as root; `srun --mpi=pmix` launches Open MPI 4.1 ranks.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${SPREC_SLURM_DIR:-/tmp/sprec-slurm}
conf=$dir/slurm.conf
export SLURM_CONF=$conf

die() { echo "slurm-local: $*" >&2; exit 1; }

running() { [ -f "$dir/$1.pid" ] && kill -0 "$(cat "$dir/$1.pid")" 2>/dev/null; }

# Wait, at most $2 seconds, until command $1 succeeds; polls, never sleeps blindly long.
wait_for() {
  local deadline=$((SECONDS + $2))
  until eval "$1" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

start() {
  scripts/install-deps.sh slurmctld slurmd slurm-client munge
  [ "$(id -u)" -eq 0 ] || die "the local cluster runs its daemons as root"
  mkdir -p "$dir/state" "$dir/spool" "$dir/pmix"
  # PMIx's per-step directories (spmix_appdir_UID_JOB.STEP) in our own directory, not in
  # /tmp: a directory of the same job id left by another cluster (scripts/cluster-local.sh,
  # a killed step) made slurmstepd fail the launch.
  echo "PMIxCliTmpDirBase=$dir/pmix" >"$dir/mpi.conf"
  if ! pgrep -x munged >/dev/null; then
    [ -s /etc/munge/munge.key ] || { mkdir -p /etc/munge; dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null; }
    chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    munged --force
    # Remember which munged is ours: stop ends that process only.
    if wait_for "[ -s /run/munge/munged.pid ]" 10; then cp /run/munge/munged.pid "$dir/munged.pid"
    else pgrep -nx munged >"$dir/munged.pid" || true; fi
  fi
  wait_for "munge -n | unmunge" 10 || die "munge does not answer"
  local node
  node=$(slurmd -C | head -n 1)
  cat >"$conf" <<CONF
ClusterName=sprec
SlurmctldHost=$(hostname -s)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldTimeout=30
SlurmdTimeout=30
KillWait=5
$node State=UNKNOWN
PartitionName=local Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  running slurmctld || slurmctld -f "$conf"
  running slurmd || slurmd -f "$conf"
  wait_for "sinfo -h -o %T | grep -qx idle" 30 || { tail -5 "$dir"/*.log >&2; die "the node did not come up idle"; }
  echo "slurm-local: up ($(sinfo -h -o '%P %D %T %c CPUs'))"
}

stop() {
  for d in slurmd slurmctld; do
    if running $d; then
      local pid
      pid=$(cat "$dir/$d.pid")
      kill "$pid" 2>/dev/null || true
      wait_for "! kill -0 $pid" 15 || kill -9 "$pid" 2>/dev/null || true
    fi
  done
  if [ -s "$dir/munged.pid" ]; then # only the munged that start started, by its id
    local mpid
    mpid=$(cat "$dir/munged.pid")
    kill "$mpid" 2>/dev/null || true
    wait_for "! kill -0 $mpid" 15 || true # gone before a new start looks for a munged
  fi
  rm -rf "$dir"
  echo "slurm-local: stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if running slurmctld && sinfo -h >/dev/null 2>&1; then sinfo; else echo "slurm-local: not running"; exit 1; fi ;;
  env) echo "export SLURM_CONF=$conf" ;;
  *) echo "usage: scripts/slurm-local.sh start|stop|status|env" >&2; exit 2 ;;
esac
