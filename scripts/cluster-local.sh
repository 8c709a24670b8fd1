#!/usr/bin/env bash
# A SLURM cluster of 4 hosts on this machine, each host a network namespace with its own
# address, host name and slurmd, for tests of multi-node jobs and of node loss.
#   scripts/cluster-local.sh start       install what is missing; build the network; start
#                                        munged, slurmctld, one slurmd per host; wait until
#                                        the 4 nodes are idle
#   scripts/cluster-local.sh stop        end the daemons started here and every process left
#                                        in the hosts, remove the network and the state
#                                        (idempotent: also after a half-done start)
#   scripts/cluster-local.sh status      the nodes (sinfo) and each host's link
#   scripts/cluster-local.sh env         the export line that points SLURM's commands here
#   scripts/cluster-local.sh cut NODE    take NODE's link down (its switch port), as if its
#                                        cable were pulled: its processes go on, unheard
#   scripts/cluster-local.sh heal NODE   bring it back up
#   scripts/cluster-local.sh exec NODE CMD...   run CMD on NODE (its network, its host
#                                        names): a client "on another host"
#
# The network: a bridge sprec-br0 in the root namespace (10.77.0.254, where slurmctld
# listens), and hosts node1..node4 (network namespaces of those names, 10.77.0.1-4), each
# joined to the bridge by a veth pair (eth0 inside, sprec-vN on the bridge). Each host has
# its own UTS namespace (hostname nodeN) and hosts file (/etc/netns/nodeN/hosts, which
# `ip netns exec` puts in place of /etc/hosts) naming all of them. SPREC_CLUSTER_NET
# (default 10.77.0) changes the /24 network.
# The file system is the machine's: every host sees the repository and runs/ as on a
# cluster's shared file system.
#
# SLURM (Debian 12, slurm-wlm 22.05): slurmctld in the root namespace on port 6917, one
# `slurmd -N nodeN` per host on port 6918, with a munged of their own (own key and socket,
# AuthInfo=socket=...), everything in $SPREC_CLUSTER_DIR (default /tmp/sprec-cluster):
# it coexists with scripts/slurm-local.sh (ports 6817/6818, /tmp/sprec-slurm, the system's
# munged), SLURM_CONF says which cluster a command talks to.
# The tasks get the network for Open MPI from the cluster's TaskProlog: ranks talk TCP
# (OMPI_MCA_btl=tcp,self, btl_tcp_if_include the cluster's /24), never shared memory, also
# on the same host; with more ranks than the machine's cores, they yield while they wait.
# Node loss: with `srun --mpi=pmix` no Open MPI daemon watches the ranks, and the TCP BTL
# has no keepalive: ranks waiting on a host whose link is cut wait for ever. SLURM ends
# the job: slurmctld pings each node every SlurmdTimeout/3 s, marks it DOWN after
# SlurmdTimeout=5 s without an answer (MessageTimeout=3 s per message), and ends its jobs
# with NODE_FAIL (JobRequeue=0: they end, they are not requeued behind a DOWN node);
# KillOnBadExit=1 ends a step at once when one of its tasks dies (a host's processes
# killed); KillWait=5. A DOWN node comes back by itself when it answers again
# (ReturnToService=2).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${SPREC_CLUSTER_DIR:-/tmp/sprec-cluster}
net=${SPREC_CLUSTER_NET:-10.77.0}
conf=$dir/slurm.conf
nodes=(node1 node2 node3 node4)
bridge=sprec-br0
ctl_port=6917 node_port=6918
export SLURM_CONF=$conf

die() { echo "cluster-local: $*" >&2; exit 1; }

# Wait, at most $2 seconds, until command $1 succeeds; polls, never sleeps blindly long.
wait_for() {
  local deadline=$((SECONDS + $2))
  until eval "$1" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

node_index() { # nodeN -> N, or die
  local i
  for i in "${!nodes[@]}"; do [ "${nodes[$i]}" = "$1" ] && { echo $((i + 1)); return; }; done
  die "no host '$1' (hosts: ${nodes[*]})"
}

start() {
  scripts/install-deps.sh slurmctld slurmd slurm-client munge iproute2 util-linux
  [ "$(id -u)" -eq 0 ] || die "the cluster needs root (network namespaces, daemons)"
  if [ -e "$dir/started" ]; then
    status >/dev/null 2>&1 && { echo "cluster-local: already up"; return 0; }
    die "a cluster in $dir is half up: scripts/cluster-local.sh stop first"
  fi
  local n
  for n in "${nodes[@]}"; do
    ip netns list | grep -qw "^$n" && die "a network namespace '$n' exists already (not ours: $dir/started is missing); remove it or run stop"
  done
  ip link show "$bridge" >/dev/null 2>&1 && die "interface $bridge exists already; run stop"
  ip -4 route | grep -q "^$net\.0/24" && die "the network $net.0/24 is in use here; set SPREC_CLUSTER_NET"
  mkdir -p "$dir"/{state,spool,log,run,munge}
  chmod 755 "$dir/munge" # munged: the socket's directory open to all; the key itself 0400
  touch "$dir/started" # from here on, stop removes what exists

  # --- the network
  ip link add "$bridge" type bridge
  ip addr add "$net.254/24" dev "$bridge"
  ip link set "$bridge" up
  local i hosts
  hosts=$(grep -v -E "[[:space:]](${nodes[*]// /|})([[:space:]]|$)" /etc/hosts || true)
  for i in "${!nodes[@]}"; do
    n=${nodes[$i]}
    ip netns add "$n"
    ip link add "sprec-v$((i + 1))" type veth peer name eth0 netns "$n"
    ip link set "sprec-v$((i + 1))" master "$bridge" up
    ip -n "$n" addr add "$net.$((i + 1))/24" dev eth0
    ip -n "$n" link set eth0 up
    ip -n "$n" link set lo up
    mkdir -p "/etc/netns/$n"
    {
      echo "$hosts"
      echo "# sprec local cluster"
      for j in "${!nodes[@]}"; do echo "$net.$((j + 1)) ${nodes[$j]}"; done
      echo "$net.254 sprec-ctl"
    } >"/etc/netns/$n/hosts"
  done

  # --- munge: a daemon and key of the cluster's own
  dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 2>/dev/null
  chmod 400 "$dir/munge/munge.key"
  munged --force --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/seed"
  wait_for "munge -S $dir/munge/munge.socket -n | unmunge -S $dir/munge/munge.socket" 10 || die "munge does not answer"

  # --- the TaskProlog: Open MPI over the cluster's network, TCP only
  cat >"$dir/task-prolog.sh" <<EOF
#!/bin/sh
echo export OMPI_MCA_btl=tcp,self
echo export OMPI_MCA_btl_tcp_if_include=$net.0/24
echo export OMPI_MCA_mpi_yield_when_idle=1
EOF
  chmod 755 "$dir/task-prolog.sh"

  local cpu
  cpu=$(slurmd -C | head -n 1 | grep -o 'CPUs=.*ThreadsPerCore=[0-9]*')
  {
    cat <<CONF
ClusterName=sprec-cluster
SlurmctldHost=$(hostname -s)($net.254)
SlurmctldPort=$ctl_port
SlurmdPort=$node_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
AuthInfo=socket=$dir/munge/munge.socket
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
TaskProlog=$dir/task-prolog.sh
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
JobRequeue=0
KillOnBadExit=1
KillWait=5
MessageTimeout=3
SlurmdTimeout=5
SlurmctldTimeout=30
InactiveLimit=0
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd-%n.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd-%n.log
CONF
    for i in "${!nodes[@]}"; do
      echo "NodeName=${nodes[$i]} NodeAddr=$net.$((i + 1)) NodeHostname=${nodes[$i]} $cpu State=UNKNOWN"
    done
    echo "PartitionName=hosts Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
  } >"$conf"

  # PMIx's per-step directories (PMIxCliTmpDirBase/spmix_appdir_UID_JOB.STEP) are made by
  # every host's slurmstepd: each host has its own behind the same path, $dir/pmix (a
  # bind mount in its mount namespace), as each node has its own /tmp on a real cluster.
  mkdir -p "$dir/pmix"
  echo "PMIxCliTmpDirBase=$dir/pmix" >"$dir/mpi.conf"
  slurmctld -f "$conf"
  wait_for "scontrol ping | grep -q UP" 30 || { tail -5 "$dir/log/slurmctld.log" >&2; die "slurmctld does not answer"; }
  for n in "${nodes[@]}"; do
    mkdir -p "$dir/spool/$n" "$dir/pmix-$n"
    # Its own network, host name (UTS namespace) and hosts file (a mount namespace: not
    # `ip netns exec`, whose fresh /sys has no cgroup file system, which slurmd needs);
    # slurmd forks into the background.
    nsenter --net="/run/netns/$n" unshare --uts --mount --propagation private \
      sh -c "mount --bind /etc/netns/$n/hosts /etc/hosts && mount --bind '$dir/pmix-$n' '$dir/pmix' &&
             hostname $n && exec slurmd -f '$conf' -N $n"
  done
  wait_for "[ \"\$(sinfo -h -N -o %T | sort -u)\" = idle ]" 60 ||
    { sinfo -N >&2; tail -3 "$dir"/log/*.log >&2; die "the hosts did not come up idle"; }
  echo "cluster-local: up ($(sinfo -h -o '%P %D nodes %T, %c CPUs each'); $(for i in "${!nodes[@]}"; do printf '%s=%s ' "${nodes[$i]}" "$net.$((i + 1))"; done)controller $net.254:$ctl_port)"
}

stop() {
  [ "$(id -u)" -eq 0 ] || die "stop needs root"
  local n pid f
  if [ -f "$conf" ] && [ -f "$dir/run/slurmctld.pid" ] && alive "$dir/run/slurmctld.pid"; then
    scancel --full -u "$(id -un)" 2>/dev/null || true
  fi
  # The daemons, by the ids they wrote.
  for f in "$dir"/run/slurmd-*.pid "$dir/run/slurmctld.pid" "$dir/munge/munged.pid"; do
    [ -s "$f" ] || continue
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null || true
    wait_for "! kill -0 $pid" 15 || kill -9 "$pid" 2>/dev/null || true
  done
  # Whatever still runs on a host (job steps, ranks of a cut host): its namespace's processes.
  for n in "${nodes[@]}"; do
    ip netns list | grep -qw "^$n" || continue
    for pid in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    wait_for "[ -z \"\$(ip netns pids $n)\" ]" 10 || true
    ip netns del "$n" 2>/dev/null || true
    rm -rf "/etc/netns/$n"
  done
  ip link del "$bridge" 2>/dev/null || true
  for i in 1 2 3 4; do ip link del "sprec-v$i" 2>/dev/null || true; done
  rm -rf "$dir"
  echo "cluster-local: stopped"
}

status() {
  [ -f "$conf" ] && alive "$dir/run/slurmctld.pid" && sinfo -h >/dev/null 2>&1 ||
    { echo "cluster-local: not running"; return 1; }
  sinfo -N -o '%N %T %E'
  local i
  for i in "${!nodes[@]}"; do
    echo "${nodes[$i]} $net.$((i + 1)) link $(ip -br link show "sprec-v$((i + 1))" | awk '{print $2}')"
  done
}

link() { # NODE up|down
  [ -e "$dir/started" ] || die "the cluster is not running"
  local i
  i=$(node_index "$1")
  ip link set "sprec-v$i" "$2"
  echo "cluster-local: $1 link $2"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) echo "export SLURM_CONF=$conf" ;;
  cut) [ $# -eq 2 ] || die "usage: cut NODE"; link "$2" down ;;
  heal) [ $# -eq 2 ] || die "usage: heal NODE"; link "$2" up ;;
  exec)
    [ $# -ge 3 ] || die "usage: exec NODE CMD..."
    node_index "$2" >/dev/null
    n=$2
    shift 2
    exec ip netns exec "$n" "$@" ;;
  *) echo "usage: scripts/cluster-local.sh start|stop|status|env|cut NODE|heal NODE|exec NODE CMD..." >&2; exit 2 ;;
esac
