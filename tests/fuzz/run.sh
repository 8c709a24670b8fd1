#!/usr/bin/env bash
# Runs the libFuzzer harnesses of tests/fuzz/ (built by 'make fuzz-build' into
# $FUZZ_BUILD, default build-fuzz) and fails on any crash, hang, leak or sanitizer
# report.
#
#   tests/fuzz/run.sh [--runs N | --time S] [--jobs J] [--keep] [HARNESS...]
#
# --runs N   N executions per harness (split over the jobs), else
# --time S   S seconds per harness (per job);
# --jobs J   J processes per harness (default 1), each with its own share;
# --keep     grow the corpus in $FUZZ_BUILD/corpus/HARNESS (kept from run to run),
#            else new inputs go to a temporary directory, removed at the end.
# Without a harness name, all six: npy_header npy_read cli_args ckpt npz mtx. Each starts from
# its seed corpus tests/fuzz/corpus/HARNESS with its dictionary; findings go to
# $FUZZ_BUILD/artifacts/. One line per harness: executions, seconds, exec/s.
set -u
cd "$(dirname "$0")/../.."
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
runs="" time="" njobs=1 keep=0 names=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --time) time=$2; shift 2 ;;
    --jobs) njobs=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) names+=("$1"); shift ;;
  esac
done
[ ${#names[@]} -gt 0 ] || names=(npy_header npy_read cli_args ckpt npz mtx)
[ -n "$runs$time" ] || runs=10000
[ "$njobs" -ge 1 ] 2>/dev/null || { echo "run.sh: --jobs needs a positive number" >&2; exit 2; }

# Per harness: the longest input and the time after which one execution is a hang.
# (ckpt: its seeds are real checkpoints of 1 to 5 KB.)
max_len() { case "$1" in npy_header) echo 2048 ;; npy_read|mtx) echo 4096 ;; ckpt|npz) echo 8192 ;; *) echo 1024 ;; esac; }
dict() { case "$1" in cli_args) echo tests/fuzz/cli.dict ;; ckpt) echo tests/fuzz/ckpt.dict ;; mtx) echo "" ;; *) echo tests/fuzz/npy.dict ;; esac; }

# Leaks are checked (every input, and at exit); those of Open MPI's own set-up are
# suppressed by tests/fuzz/lsan.supp. Every sanitizer report ends the run.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:allocator_may_return_null=0:strict_string_checks=1:detect_stack_use_after_return=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# Open MPI's components stay loaded until exit, so that LeakSanitizer can name the
# module of what they leak (a dlclose'd one shows as <unknown module>).
export OMPI_MCA_mca_base_component_disable_dlclose=1
# Nor does Open MPI install signal handlers: libFuzzer installs its own, which write the
# input that crashed, only for signals that have none (a harness's abort() is one).
export OMPI_MCA_opal_signal=
if ! command -v llvm-symbolizer >/dev/null; then
  for s in /usr/lib/llvm-14/bin/llvm-symbolizer /usr/bin/llvm-symbolizer-14; do
    [ -x "$s" ] && export ASAN_SYMBOLIZER_PATH=$s && break
  done
fi
# The input files of the .npy reader's and the checkpoint reader's harnesses: on tmpfs
# where there is one, removed at the end.
tmproot=/tmp
[ -d /dev/shm ] && [ -w /dev/shm ] && tmproot=/dev/shm
work=$(mktemp -d "$tmproot/sprec-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
export SPREC_FUZZ_TMPDIR=$work

failed=0
mkdir -p "$FUZZ_BUILD/artifacts"
for h in "${names[@]}"; do
  bin=$FUZZ_BUILD/fuzz_$h seeds=tests/fuzz/corpus/$h
  if [ ! -x "$bin" ] || [ ! -d "$seeds" ]; then
    echo "FAIL $h: no $bin or no $seeds (make fuzz-build)"; failed=1; continue
  fi
  if [ $keep = 1 ]; then corpus=$FUZZ_BUILD/corpus/$h; else corpus=$work/corpus-$h; fi
  dict=$(dict "$h")
  mkdir -p "$corpus"
  opts=(-max_len="$(max_len "$h")" ${dict:+-dict="$dict"} -timeout=10 -rss_limit_mb=2048
        -artifact_prefix="$FUZZ_BUILD/artifacts/$h-" -print_final_stats=1)
  if [ -n "$runs" ]; then per=$(( (runs + njobs - 1) / njobs )); opts+=(-runs="$per")
  else opts+=(-max_total_time="$time"); fi
  logs=() pids=()
  t0=$(date +%s.%N)
  for j in $(seq 1 "$njobs"); do
    log=$work/$h.$j.log; logs+=("$log")
    "$bin" "${opts[@]}" -seed="$((j * 7919 + $$ % 1000))" "$corpus" "$seeds" >"$log" 2>&1 &
    pids+=($!)
  done
  st=0
  for p in "${pids[@]}"; do wait "$p" || st=1; done
  t1=$(date +%s.%N)
  execs=0
  for log in "${logs[@]}"; do
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    execs=$((execs + ${n:-0}))
  done
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  rate=$(awk -v n="$execs" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
  found=$(grep -l -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY: ' "${logs[@]}" 2>/dev/null)
  ncorp=$(ls "$corpus" | wc -l)
  if [ $st -ne 0 ] || [ -n "$found" ]; then
    failed=1
    echo "FAIL $h: $execs executions in $secs s ($rate exec/s), jobs $njobs"
    for log in "${logs[@]}"; do
      grep -q -E 'ERROR|runtime error|SUMMARY|fuzz_[a-z_]*: ' "$log" || continue
      grep -E -A40 'ERROR|runtime error|^fuzz_[a-z_]*: ' "$log" | head -60 | sed 's/^/    /'
      grep -E 'Test unit written to' "$log" | sed 's/^/    /'
    done
  else
    echo "ok $h: $execs executions in $secs s ($rate exec/s), jobs $njobs, corpus $ncorp files, no findings"
  fi
done
exit $failed
