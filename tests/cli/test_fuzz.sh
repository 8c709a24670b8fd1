#!/usr/bin/env bash
# The fuzzing harnesses of tests/fuzz/ in make check: each over its seed corpus and
# then mutations, $SPREC_FUZZ_CHECK_RUNS executions in all (default 20000: seconds;
# the checkpoint reader's a quarter of that), with no crash, hang, leak or sanitizer
# report; the option tables the cli_args harness parses against are those of
# src/cli/cmd_*.c; and the checkpoint reader's committed seeds still resume (else they
# are of an older format, and fuzzing them reaches no further than the first check:
# regenerate them with tests/fuzz/mkcorpus.py ckpt). Needs clang and its fuzzer
# runtime (make check installs them; make fuzz-deps alone). No network.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$root"
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
make_workdir fuzz-check

check_eval "clang is installed (make fuzz-deps)" 'command -v clang >/dev/null'
make -s --no-print-directory FUZZ_BUILD="$FUZZ_BUILD" "$FUZZ_BUILD/fuzz_npy_header" \
  "$FUZZ_BUILD/fuzz_npy_read" "$FUZZ_BUILD/fuzz_cli_args" "$FUZZ_BUILD/fuzz_ckpt" \
  "$FUZZ_BUILD/fuzz_npz" "$FUZZ_BUILD/fuzz_mtx" >"$W/build.log" 2>&1
check_eval "harnesses build" '[ $? -eq 0 ] || { tail -20 "$W/build.log"; false; }'

# The cli_args harness copies the commands' option tables: same names and types.
for c in gen solve study bench; do
  grep -o '{"-[-a-zA-Z]*", OPT_[A-Z0-9]*' "src/cli/cmd_$c.c" | sed "s/^{\"\([^\"]*\)\", /$c \1 /"
done | sort >"$W/tables.src"
SPREC_FUZZ_PRINT_TABLES=1 "$FUZZ_BUILD/fuzz_cli_args" 2>/dev/null | sort >"$W/tables.fuzz"
check_eval "cli_args tables match src/cli/cmd_*.c ($(wc -l <"$W/tables.src") options)" \
  '[ -s "$W/tables.src" ] && diff "$W/tables.src" "$W/tables.fuzz"'
check_eval "info takes no option and one file" 'grep -q "cli_parse(\"info\", argc, argv, NULL, 0, pos, 1, &npos)" src/cli/cmd_info.c'

# The checkpoint seeds that are real checkpoints (ok_*, and fix_* behind the marker)
# resume, each with the configuration the harness picks for it.
good=$(ls tests/fuzz/corpus/ckpt/ok_* tests/fuzz/corpus/ckpt/fix_* 2>/dev/null | grep -v /fix_bad_)
SPREC_FUZZ_TMPDIR=$W SPREC_FUZZ_EXPECT_OK=1 OMPI_MCA_mca_base_component_disable_dlclose=1 \
  "$FUZZ_BUILD/fuzz_ckpt" $good >"$W/seeds.log" 2>&1
st=$?
check_eval "ckpt: the $(echo "$good" | wc -w) real checkpoints among its seeds resume" \
  '[ $st -eq 0 ] && [ "$(echo "$good" | wc -w)" -ge 20 ] || { grep -a -A2 "^fuzz_ckpt:" "$W/seeds.log"; false; }'

# Each harness over its seeds, then mutations: no finding.
runs=${SPREC_FUZZ_CHECK_RUNS:-20000}
for h in npy_header npy_read cli_args ckpt npz mtx; do
  nseeds=$(ls "tests/fuzz/corpus/$h" | wc -l)
  n=$runs
  [ "$h" = ckpt ] && n=$(( (runs + 3) / 4 )) # each input a resumed solve: a quarter, seconds
  timeout 300 tests/fuzz/run.sh --runs "$n" "$h" >"$W/$h.log" 2>&1
  st=$?
  cat "$W/$h.log"
  # run.sh's own summary line: the executions asked for were made, and none found anything
  check_eval "$h: $n executions ($nseeds seeds), no finding" \
    '[ $st -eq 0 ] && grep -q "^ok $h: $n executions .*no findings$" "$W/$h.log"'
done
finish
