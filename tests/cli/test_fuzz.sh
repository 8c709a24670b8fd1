#!/usr/bin/env bash
# The fuzzing harnesses of tests/fuzz/ in make check: each over its seed corpus and
# then mutations, $SPREC_FUZZ_CHECK_RUNS executions in all (default 20000: seconds),
# with no crash, hang, leak or sanitizer report; and the option tables the cli_args
# harness parses against are those of src/cli/cmd_*.c. Needs clang and its fuzzer
# runtime (make check installs them; make fuzz-deps alone). No network.
set -u
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
W=$(mktemp -d "${TMPDIR:-/tmp}/sprec-fuzz-check.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT
pass=0 fail=0
check() { if eval "$2"; then echo "ok - $1"; pass=$((pass + 1)); else echo "not ok - $1"; fail=$((fail + 1)); fi; }

check "clang is installed (make fuzz-deps)" 'command -v clang >/dev/null'
make -s --no-print-directory FUZZ_BUILD="$FUZZ_BUILD" "$FUZZ_BUILD/fuzz_npy_header" \
  "$FUZZ_BUILD/fuzz_npy_read" "$FUZZ_BUILD/fuzz_cli_args" >"$W/build.log" 2>&1
check "harnesses build" '[ $? -eq 0 ] || { tail -20 "$W/build.log"; false; }'

# The cli_args harness copies the commands' option tables: same names and types.
for c in gen solve study bench; do
  grep -o '{"-[-a-zA-Z]*", OPT_[A-Z0-9]*' "src/cli/cmd_$c.c" | sed "s/^{\"\([^\"]*\)\", /$c \1 /"
done | sort >"$W/tables.src"
SPREC_FUZZ_PRINT_TABLES=1 "$FUZZ_BUILD/fuzz_cli_args" 2>/dev/null | sort >"$W/tables.fuzz"
check "cli_args tables match src/cli/cmd_*.c ($(wc -l <"$W/tables.src") options)" \
  '[ -s "$W/tables.src" ] && diff "$W/tables.src" "$W/tables.fuzz"'
check "info takes no option and one file" 'grep -q "cli_parse(\"info\", argc, argv, NULL, 0, pos, 1, &npos)" src/cli/cmd_info.c'

# Each harness over its seeds, then mutations: no finding.
runs=${SPREC_FUZZ_CHECK_RUNS:-20000}
for h in npy_header npy_read cli_args; do
  nseeds=$(ls "tests/fuzz/corpus/$h" | wc -l)
  timeout 300 tests/fuzz/run.sh --runs "$runs" "$h" >"$W/$h.log" 2>&1
  st=$?
  cat "$W/$h.log"
  check "$h: $runs executions ($nseeds seeds), no finding" '[ $st -eq 0 ]'
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
