# What the shell suites of tests/cli/ share. Each suite sources it first:
#     . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# (not a suite itself: tests/run-tests.sh runs test_*.sh only). Sourcing it turns on
# set -u, sets the variables below and defines the functions; it starts nothing.
#
# Variables:
#   here, root    tests/cli/ and the checkout's root, absolute
#   SPREC         the binary under test: the suite's first argument (made absolute),
#                 else $root/bin/sprec
#   NPS           the rank counts to run at (default "1 2")
#   PY            $PYTHON, else /usr/bin/python3
#   MPIRUN        scripts/mpirun.sh, the project's launcher
#   pass, fail    the counts of cases that passed and failed; rc, the last sprec's status
#   W             the suite's work directory, once make_workdir has made it
#
# Cases and the summary (the format tests/run-tests.sh reads):
#   ok NAME, notok NAME REASON    one case: "ok - NAME" or "not ok - NAME: REASON"
#   check NAME REASON CMD...      ok NAME when CMD succeeds, else notok NAME REASON
#   check_eval NAME CODE          ok NAME when `eval CODE` succeeds, else notok (status 1)
#   finish                        the last line, "N passed, M failed"; exits 1 when M > 0
#
# Set-up:
#   make_workdir TAG [CLEANUP]    W = a new ${TMPDIR:-/tmp}/sprec-TAG.XXXXXX, removed at
#                                 exit after CLEANUP (a command of the suite's) has run
#   require_setup [MODULES]       an executable $SPREC, and a $PY that imports MODULES
#                                 ("numpy", "h5py, numpy"); else "not ok - setup", finish
#   quick_failures                mpirun ends a job with a failed rank at once
#
# Runs:
#   sprec NP ARGS...              $SPREC ARGS on NP ranks (mpirun -q): stdout in $W/out,
#                                 stderr in $W/err, status in $rc; at most $sprec_timeout
#                                 seconds when the suite sets it
#   last                          the last run in a few words, for a failure's reason
#   ran NAME                      status 0 when the last run exited 0 and wrote nothing on
#                                 stderr, else notok NAME and status 1
#   results_agree A B KEY...      the result files A and B (JSON) hold the same value for
#                                 every KEY; KEY? is also met when neither holds it
#   same_result NAME A B KEY...   ok NAME when results_agree, else notok "results differ"
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
SPREC=${1:-$root/bin/sprec}
case "$SPREC" in /*) ;; *) SPREC="$PWD/$SPREC" ;; esac
NPS=${NPS:-"1 2"}
PY=${PYTHON:-/usr/bin/python3}
MPIRUN="$root/scripts/mpirun.sh"
pass=0
fail=0
rc=0

ok() { echo "ok - $1"; pass=$((pass + 1)); }
notok() { echo "not ok - $1: $2"; fail=$((fail + 1)); }
check() {
  local name=$1 reason=$2
  shift 2
  if "$@"; then ok "$name"; else notok "$name" "$reason"; fi
}
check_eval() {
  if eval "$2"; then ok "$1"; else notok "$1" "failed"; return 1; fi
}
finish() {
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ] || exit 1
  exit 0
}

workdir_cleanup=""
make_workdir() {
  W=$(mktemp -d "${TMPDIR:-/tmp}/sprec-$1.XXXXXX") || exit 1
  workdir_cleanup=${2:-}
  trap remove_workdir EXIT
}
remove_workdir() {
  [ -z "$workdir_cleanup" ] || $workdir_cleanup
  rm -rf "$W"
}

require_setup() {
  if [ ! -x "$SPREC" ]; then
    notok "setup" "$SPREC is not an executable (build it with 'make bin/sprec')"
    finish
  fi
  if [ -n "${1:-}" ] && ! "$PY" -c "import $1" 2>/dev/null; then
    notok "setup" "$PY cannot import $1"
    finish
  fi
}

# When a rank exits non-zero, Open MPI's mpirun waits for odls_base_sigkill_timeout
# (1 s) while it tears the job down: about 2 s more for every failing case, for
# nothing. (Not for runs that are signalled to save their state: that wait is their
# time to save it.)
quick_failures() {
  export OMPI_MCA_odls_base_sigkill_timeout=${OMPI_MCA_odls_base_sigkill_timeout:-0}
}

# -q keeps mpirun's own "process exited with non-zero status" banner off stderr, so
# that stderr holds what the program printed and nothing else.
sprec() {
  local np=$1
  shift
  ${sprec_timeout:+timeout "$sprec_timeout"} "$MPIRUN" -q -np "$np" "$SPREC" "$@" >"$W/out" 2>"$W/err" </dev/null
  rc=$?
}
last() {
  printf 'rc=%s stderr=[%s]' "$rc" "$(head -c 300 "$W/err" | tr '\n' '|')"
  [ "$rc" = 0 ] || [ -s "$W/err" ] ||
    printf ' (nothing on stderr: did mpirun fail to start the job? -q hides its messages)'
}
ran() {
  if [ "$rc" != 0 ]; then notok "$1" "exit $rc, want 0; $(last)"; return 1; fi
  if [ -s "$W/err" ]; then notok "$1" "stderr not empty: $(last)"; return 1; fi
  return 0
}

results_agree() {
  "$PY" - "$@" <<'PY'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
for k in sys.argv[3:]:
    if k.endswith("?"):
        k = k[:-1]
        va, vb = a.get(k), b.get(k)
    else:
        va, vb = a[k], b[k]
    assert va == vb, (k, va, vb)
PY
}
same_result() {
  local name=$1
  shift
  if results_agree "$@"; then ok "$name"; else notok "$name" "results differ"; fi
}
