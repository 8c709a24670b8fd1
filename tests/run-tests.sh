#!/usr/bin/env bash
# Runs every Check suite under mpirun at 4, 3, 2 and 1 ranks (test_comm at 16 and 8
# too), then the command-line tests. Prints one summary line "N passed, M failed";
# exits 1 on any failure.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
NPS=${NPS:-"1 2 3 4"}
export CK_FORK=no
# Sanitized builds: Open MPI's own allocations at exit are not ours to report.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
# The Check suites' stored references (tests/testutil.c, tu_same_on_every_rank_count):
# each suite runs at its largest rank count first, whose one-rank results are stored,
# so that the runs at fewer ranks (1 included) are compared with them.
case $BUILD in /*) TU_REF_DIR=$BUILD/test-ref ;; *) TU_REF_DIR=$PWD/$BUILD/test-ref ;; esac
export TU_REF_DIR
rm -rf "$TU_REF_DIR" && mkdir -p "$TU_REF_DIR"
nps_down=$(printf '%s\n' $NPS | sort -rn | tr '\n' ' ')
passed=0 failed=0
for t in "$BUILD"/bin/test_*; do
  nps_t=$nps_down
  # The communication counts are checked at 16 and 8 ranks too (a tiny problem: seconds).
  [ "$(basename "$t")" = test_comm ] && nps_t="16 8 $nps_down"
  for np in $nps_t; do
    name="$(basename "$t") -np $np"
    if timeout 600 scripts/mpirun.sh -np "$np" "$t" >"$BUILD/$(basename "$t").$np.log" 2>&1; then
      passed=$((passed + 1)); echo "PASS: $name ($(grep -ho '[0-9]*%: Checks: [0-9]*' "$BUILD/$(basename "$t").$np.log" | head -1))"
    else
      failed=$((failed + 1)); echo "FAIL: $name"; sed 's/^/    /' "$BUILD/$(basename "$t").$np.log" | tail -30
    fi
  done
done
for t in tests/cli/test_*.sh; do
  [ -f "$t" ] || continue
  if NPS="$NPS" bash "$t" bin/sprec >"$BUILD/$(basename "$t").log" 2>&1; then
    passed=$((passed + 1)); echo "PASS: $t ($(tail -1 "$BUILD/$(basename "$t").log"))"
  else
    failed=$((failed + 1)); echo "FAIL: $t"; grep -v '^ok' "$BUILD/$(basename "$t").log" | tail -40 | sed 's/^/    /'
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
