#!/usr/bin/env bash
# Hostile inputs and faults, the way users and clusters produce them, one case per class
# at least, through the documented launcher (scripts/mpirun.sh) on real files:
#   * user data is never destroyed: an output that is an input (same path, a symbolic
#     or a hard link) or another output is refused before any work; a gen that cannot
#     write its last file leaves what the directory held as it was;
#   * no shell ever sees a user string (a quote in bench --out);
#   * outputs are probed before any work (a directory, a missing directory);
#   * inputs that are not regular files (a FIFO with no writer, a directory, an empty
#     name) are refused at once, naming the flag, without hanging;
#   * one line on stderr for every refusal, and nothing of MPI's;
#   * scale: A in other units gives the same support; past the range of doubles, exit
#     1 with one line; λ = ∞ gives x = 0;
#   * preemption: SIGTERM to every process of the job at once, in either order, stops
#     the run with its checkpoint and exit status 3, and the resumed run ends as the
#     uninterrupted one;
#   * a rank killed with SIGKILL ends the whole job within 30 s with a non-zero status,
#     and the last periodic checkpoint resumes to the uninterrupted result;
#   * a stop signal to the launcher's process group, to mpirun alone, to one rank alone
#     or to every process brings every rank to the orderly stop (exit 3, the
#     checkpoint) for every algorithm that keeps a state, and the resumed run ends as
#     the uninterrupted one.
#   tests/cli/test_hostile.sh [PATH/TO/sprec]
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# At exit, whatever still runs under the work directory goes too (a rank of a job that a
# case killed part of).
kill_strays() { pkill -9 -f "$W/" 2>/dev/null; }
# ... and what the full-disk cases mounted goes (umount -l: even if a file is still open).
cleanup() {
  kill_strays
  for d in "$W"/full "$W"/full2; do mountpoint -q "$d" 2>/dev/null && umount -l "$d"; done
}
make_workdir hostile cleanup
cd "$W" || exit 1
require_setup numpy

# refused NAME EXPECTED-PATTERN CMD...: exit status 2 within 60 s, exactly one line on
# stderr, matching the pattern, nothing on stdout.
refused() {
  local name=$1 pat=$2 rc
  shift 2
  timeout 60 "$@" >"$W/out" 2>"$W/err"
  rc=$?
  if [ "$rc" -ne 2 ]; then notok "$name" "exit status $rc, not 2: $(head -3 "$W/err")"
  elif [ "$(wc -l <"$W/err")" -ne 1 ]; then notok "$name" "stderr has $(wc -l <"$W/err") lines: $(head -5 "$W/err")"
  elif ! grep -q -- "$pat" "$W/err"; then notok "$name" "message '$(cat "$W/err")' lacks '$pat'"
  elif [ -s "$W/out" ]; then notok "$name" "stdout not empty: $(head -2 "$W/out")"
  else ok "$name"; fi
}
unchanged() { # NAME FILE CHECKSUM
  if [ "$(sha256sum <"$2")" = "$3" ]; then ok "$1"; else notok "$1" "$2 was changed"; fi
}

"$MPIRUN" -np 2 "$SPREC" gen --problem gaussian -m 64 -n 256 -k 5 --snr 40 --seed 3 --out p --quiet ||
  { notok "gen" "failed"; finish; }
sumA=$(sha256sum <p/A.npy) sumy=$(sha256sum <p/y.npy)
S=("$MPIRUN" -np 2 "$SPREC" solve)

# ------------------------------------------------------------ user data destroyed --
ln -s A.npy p/Alink.npy
ln p/y.npy p/yhard.npy
refused "--out naming --A" "refusing to overwrite an input" "${S[@]}" --A p/A.npy --y p/y.npy -k 5 --out p/A.npy
refused "--x-out naming --A through a symbolic link" "same file as --A" "${S[@]}" --A p/Alink.npy --y p/y.npy -k 5 --x-out p/A.npy
refused "--checkpoint naming --y through a hard link" "same file as --y" "${S[@]}" --A p/A.npy --y p/yhard.npy -k 5 --checkpoint p/y.npy
refused "--out naming --truth by another spelling" "refusing" "${S[@]}" --A p/A.npy --y p/y.npy -k 5 --truth p/x_true.npy --out ./p/../p/x_true.npy
refused "--x-out and --out the same new file" "one output with another" "${S[@]}" --A p/A.npy --y p/y.npy -k 5 --out p/r.json --x-out ./p/r.json
unchanged "A.npy untouched" p/A.npy "$sumA"
unchanged "y.npy untouched" p/y.npy "$sumy"
mkdir -p q && cp p/A.npy p/y.npy q/ && mkdir q/x_true.npy
refused "gen that cannot write its last file" "x_true.npy: is a directory" "$MPIRUN" -np 2 "$SPREC" gen \
  --problem gaussian -m 32 -n 64 -k 3 --out q --quiet
unchanged "gen left the A.npy it found" q/A.npy "$sumA"
unchanged "gen left the y.npy it found" q/y.npy "$sumy"
if ls q | grep -q partial; then notok "gen left no partial file" "$(ls q)"; else ok "gen left no partial file"; fi

# ------------------------------------------------------------------- no shell --
qdir="$W/b'; touch $W/pwned; echo '"
if "$MPIRUN" -np 1 "$SPREC" bench --quick --iters 2 --reps 1 --out "$qdir" >/dev/null 2>"$W/err" &&
  [ ! -e "$W/pwned" ] && [ -s "$qdir/bench.json" ]; then ok "bench --out with a quote: no shell"
else notok "bench --out with a quote: no shell" "$(ls "$W"; cat "$W/err")"; fi
touch "$W/afile"
refused "bench --out under a regular file" "--out $W/afile/sub: cannot create directory" \
  "$MPIRUN" -np 1 "$SPREC" bench --quick --out "$W/afile/sub"

# ------------------------------------------------------------------ probes first --
mkdir -p adir
refused "--out naming a directory" "--out adir: is a directory" "${S[@]}" --A p/A.npy --y p/y.npy -k 5 --out adir
refused "--checkpoint naming a directory" "--checkpoint adir: is a directory" "${S[@]}" --A p/A.npy --y p/y.npy -k 5 --checkpoint adir
refused "--x-out in a missing directory" "--x-out nodir/x.npy: directory nodir" "${S[@]}" --A p/A.npy --y p/y.npy -k 5 --x-out nodir/x.npy
refused "study --out naming a directory" "--out adir: is a directory" "$MPIRUN" -np 2 "$SPREC" study --out adir --trials 1
if ls "$W" adir | grep -q partial; then notok "no partial outputs" "$(ls "$W" adir)"; else ok "no partial outputs"; fi

# ------------------------------------------------ values out of range, generators --
# Every numeric option has its range in the library's options table and every
# generator parameter is checked in one place, naming it; a value the options reserve
# for "the default" (step 0) is refused when a user gives it; no generator writes a
# non-finite value or a column that vanishes (a deconv bump narrower than the grid).
refused "solve --step 0" "step must be a positive number (got 0)" "${S[@]}" --A p/A.npy --y p/y.npy -k 5 --step 0
refused "solve --step -0" "step must be a positive number" "${S[@]}" --A p/A.npy --y p/y.npy -k 5 --step -0
refused "solve --lambda 0 --lambda-ratio 0.1" "lambda must be > 0 (got 0)" "${S[@]}" --A p/A.npy --y p/y.npy \
  --algo fista --lambda 0 --lambda-ratio 0.1
refused "solve --lambda -1 with an l0 algorithm" "lambda must be > 0 (got -1)" "${S[@]}" --A p/A.npy --y p/y.npy -k 5 --lambda -1
G=("$MPIRUN" -np 2 "$SPREC" gen --out gq --quiet)
refused "gen --snr -inf" "snr must be" "${G[@]}" --problem gaussian -m 32 -n 64 -k 3 --snr -inf
refused "gen --snr -1e6 (noise past the range of doubles)" "snr must be" "${G[@]}" --problem gaussian -m 32 -n 64 -k 3 --snr -1e6
refused "gen deconv --width 1e-200" "width must be at least" "${G[@]}" --problem deconv -m 32 -n 64 -k 3 --width 1e-200
refused "gen deconv --width 1e-4 (bumps between grid points)" "width must be at least" "${G[@]}" --problem deconv -m 64 -n 128 -k 3 --width 1e-4
refused "gen deconv --width inf" "width must be" "${G[@]}" --problem deconv -m 32 -n 64 -k 3 --width inf
refused "gen deconv -m 1 (the default width vanishes)" "width must be at least" "${G[@]}" --problem deconv -m 1 -n 8 -k 1
refused "gen spikes --sigma 0.01 --taps 24" "sigma must be at least" "${G[@]}" --problem spikes -n 400 -k 2 --min-sep 10 --sigma 0.01 --taps 24
refused "solve --problem deconv --width 1e-200" "width must be at least" "${S[@]}" --problem deconv -m 32 -n 64 -k 3 --width 1e-200
if [ -e gq ]; then notok "no problem written" "$(ls -R gq)"; else ok "no problem written"; fi

# ------------------------------------------------------- inputs that are not files --
mkfifo fifo
refused "--A a FIFO with no writer" "--A fifo: is a FIFO" "${S[@]}" --A fifo --y p/y.npy -k 5
refused "--y a directory" "--y adir: is a directory" "${S[@]}" --A p/A.npy --y adir -k 5
refused "--A an empty name" "--A: the file name is empty" "${S[@]}" --A "" --y p/y.npy -k 5
refused "--resume a FIFO" "--resume fifo: is a FIFO" "${S[@]}" --A p/A.npy --y p/y.npy -k 5 --resume fifo
refused "info on a FIFO" "fifo" "$MPIRUN" -np 1 "$SPREC" info fifo

# ------------------------------------------------------------------------ scale --
"$PY" - <<'PY'
import numpy as np
A, y, x = np.load("p/A.npy"), np.load("p/y.npy"), np.load("p/x_true.npy")
for s, t in [(1e20, "big"), (1e-25, "small"), (1e200, "huge")]:
    np.save("A_%s.npy" % t, np.asfortranarray(A * s))
    np.save("x_%s.npy" % t, x / s)
np.save("y_big.npy", y * 1e30)
np.save("x_ybig.npy", x * 1e30)
PY
"${S[@]}" --A p/A.npy --y p/y.npy -k 5 --out ref.json --quiet
for t in big small; do
  "${S[@]}" --A A_$t.npy --y p/y.npy -k 5 --truth x_$t.npy --out $t.json --quiet
  "$PY" - ref.json $t.json <<'PY' && ok "A scaled ($t): the same support" || notok "A scaled ($t)" "support differs"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
assert a["support"] == b["support"] and b["truth"]["support_recovered"], (a["support"], b["support"])
PY
done
"${S[@]}" --A p/A.npy --y y_big.npy -k 5 --truth x_ybig.npy --out ybig.json --quiet
"$PY" - ref.json ybig.json <<'PY' && ok "y scaled: the same support" || notok "y scaled" "support differs"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
assert a["support"] == b["support"] and b["truth"]["support_recovered"]
PY
timeout 60 "${S[@]}" --A A_huge.npy --y p/y.npy -k 5 >"$W/out" 2>"$W/err"
rc=$?
if [ $rc -eq 1 ] && [ "$(wc -l <"$W/err")" -eq 1 ] && grep -q "overflows" "$W/err"; then ok "A past the range of doubles: exit 1, one line"
else notok "A past the range of doubles" "rc $rc: $(cat "$W/err")"; fi
"${S[@]}" --A p/A.npy --y p/y.npy --algo fista --lambda inf --out inf.json --quiet
"$PY" - inf.json <<'PY' && ok "--lambda inf: x = 0, exit 0" || notok "--lambda inf" "$(cat inf.json)"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["support"] == [] and r["stop_reason"] == "gap" and r["objective"] == r["data_fit"]
PY

# ------------------------------------------------------------- the service's client --
# sprec submit and sprec status write --out like solve does: checked against every input
# (--y, --endpoint) and the service's state directory (the endpoint file's, holding
# state.sqlite and its -wal and -shm), by identity, before any request; a refusal
# leaves every file as it was.
"$MPIRUN" -np 1 "$SPREC" serve --A "$W/p/A.npy" --state "$W/st" >"$W/serve.log" 2>&1 &
spid=$!
deadline=$((SECONDS + 60))
until [ -s st/endpoint.json ] || [ $SECONDS -ge $deadline ] || ! kill -0 $spid 2>/dev/null; do sleep 0.1; done
EP=(--endpoint st/endpoint.json --retry 0)
rid=$("$MPIRUN" -np 1 "$SPREC" submit "${EP[@]}" --y p/y.npy -k 5 2>"$W/err")
if [ -n "$rid" ] && "$MPIRUN" -np 1 "$SPREC" status "$rid" "${EP[@]}" --wait 60 --out st-res.json >/dev/null &&
  grep -q '"support"' st-res.json; then ok "status --wait --out writes the result"
else notok "status --wait --out writes the result" "id '$rid': $(cat "$W/err" "$W/serve.log")"; fi
ln st/state.sqlite db-hardlink
ln -s st stlink
sums() { sha256sum p/y.npy st/state.sqlite st/state.sqlite-wal st/state.sqlite-shm st/endpoint.json; }
before=$(sums)
C=("$MPIRUN" -np 2 "$SPREC")
refused "submit --out naming its --y" "same file as --y" "${C[@]}" submit "${EP[@]}" --y p/y.npy -k 5 --wait 30 --out p/y.npy
refused "submit --out naming the service's state.sqlite" "state directory" "${C[@]}" submit "${EP[@]}" --y p/y.npy -k 5 --wait 30 --out st/state.sqlite
refused "submit --out naming --endpoint" "--endpoint" "${C[@]}" submit "${EP[@]}" --y p/y.npy -k 5 --wait 30 --out st/endpoint.json
refused "submit --out a hard link to state.sqlite" "state.sqlite" "${C[@]}" submit "${EP[@]}" --y p/y.npy -k 5 --wait 30 --out db-hardlink
refused "submit --out a new file in the state directory" "state directory" "${C[@]}" submit "${EP[@]}" --y p/y.npy -k 5 --wait 30 --out stlink/new.json
refused "status --out naming state.sqlite-wal" "state directory" "${C[@]}" status "$rid" "${EP[@]}" --out st/state.sqlite-wal
refused "status --out naming --endpoint" "--endpoint" "${C[@]}" status "$rid" "${EP[@]}" --out st/endpoint.json
refused "status --out a directory" "is a directory" "${C[@]}" status "$rid" "${EP[@]}" --out adir
refused "submit --step 0 (as solve refuses it)" "step must be a positive number (got 0)" "${C[@]}" submit "${EP[@]}" --y p/y.npy -k 5 --step 0
if [ "$(sums)" = "$before" ]; then ok "the service's state and --y untouched"
else notok "the service's state and --y untouched" "$(diff <(echo "$before") <(sums))"; fi
if ls st "$W" | grep -q partial; then notok "no partial file from the client" "$(ls st "$W")"; else ok "no partial file from the client"; fi
if [ -n "$rid" ] && "$MPIRUN" -np 1 "$SPREC" status "$rid" "${EP[@]}" >"$W/out" 2>"$W/err" && grep -q "$rid done" "$W/out"
then ok "the service still answers from its history"; else notok "the service still answers" "$(cat "$W/out" "$W/err")"; fi
kill -TERM $spid 2>/dev/null
wait $spid

# -------------------------------------------------------------------- full disk --
# Writing --x-out or rewriting a periodic checkpoint on a full file system: one line on
# stderr (sprec's; Open MPI's I/O components print their own on a failed write unless
# muted), exit status 2, no partial file, the previous checkpoint intact. On a tmpfs
# (which preallocation reaches) and on ext2 (which it does not: the write itself
# fails inside MPI-IO). Needs root to mount; skipped otherwise.
"$MPIRUN" -np 2 "$SPREC" gen --problem gaussian -m 32 -n 20000 -k 5 --seed 4 --out f --quiet
F=(--A f/A.npy --y f/y.npy -k 5 --iters 12 --quiet)
"$MPIRUN" -np 2 "$SPREC" solve "${F[@]}" --checkpoint ck-size.bin --checkpoint-every 4
cksize=$(stat -c %s ck-size.bin 2>/dev/null || echo 0)
full_disk() { # FS BYTES: a tmpfs or an ext2 file system on full/ with BYTES free
  local fs=$1 kb=$((($2 + 4095) / 4096 * 4))
  mkdir -p full
  if [ "$fs" = tmpfs ]; then mount -t tmpfs -o size=${kb}k tmpfs full 2>/dev/null || return 1
  else
    command -v mkfs.ext2 >/dev/null || return 1
    dd if=/dev/zero of=ext2.img bs=1k count=$((kb + 256)) 2>/dev/null &&
      mkfs.ext2 -q -F -m 0 ext2.img >/dev/null 2>&1 && mount -o loop ext2.img full 2>/dev/null || return 1
    local fill=$(($(stat -f -c '%a * %S' full) - $2))
    [ $fill -le 0 ] || head -c $fill /dev/zero >full/filler 2>/dev/null
  fi
}
unmount_full() { umount -l full; rm -f ext2.img; }
left_on() { ls full | grep -v -e '^ck.bin$' -e '^filler$' -e '^lost+found$'; }
for fs in tmpfs ext2; do
  if [ "$(id -u)" != 0 ] || [ "$cksize" -eq 0 ] || ! full_disk $fs 65536; then
    ok "full disk ($fs): skipped (needs root, mount and the checkpoint's size)"
    continue
  fi
  refused "--x-out on a full disk ($fs)" "--x-out full/x.npy: .*No space left on device" "$MPIRUN" -np 2 "$SPREC" solve "${F[@]}" \
    --x-out full/x.npy --out full/r.json
  check "--x-out on a full disk ($fs): nothing left" "$(left_on)" test -z "$(left_on)"
  unmount_full
  full_disk $fs $((cksize * 3 / 2)) # one checkpoint fits, not two (the new one and the last)
  refused "a periodic checkpoint rewritten on a full disk ($fs)" "checkpoint full/ck.bin: cannot write: No space left on device" "$MPIRUN" -np 2 \
    "$SPREC" solve "${F[@]}" --checkpoint full/ck.bin --checkpoint-every 4
  "$MPIRUN" -np 1 "$SPREC" solve "${F[@]}" --resume full/ck.bin --out resumed-$fs.json 2>"$W/err" &&
    ok "the checkpoint before the full disk resumes ($fs)" ||
    notok "the checkpoint before the full disk resumes ($fs)" "$(cat "$W/err")"
  check "a checkpoint on a full disk ($fs): nothing else left" "$(left_on)" test -z "$(left_on)"
  unmount_full
done

# ------------------------------------------------------------------- preemption --
"$MPIRUN" -np 2 "$SPREC" gen --problem gaussian -m 400 -n 20000 -k 10 --snr 30 --out g --quiet
G=(--A "$W/g/A.npy" --y g/y.npy -k 10 --iters 400)
"${S[@]}" "${G[@]}" --out full.json --quiet
same() { # NAME A.json B.json
  same_result "$1" "$2" "$3" support coef iterations best_iteration objective
}
# The processes of a job started by the launcher: the script, mpirun, the ranks.
job_pids() { pgrep -f "$W/g/A.npy"; }
rank_pids() { pgrep -f "^$SPREC solve.*$W/g/A.npy"; }
for order in "launcher first" "ranks first"; do
  rm -f ck.bin mon
  # mpirun, signalled too, waits SPREC_KILL_WAIT s twice before it exits (10 by default)
  SPREC_KILL_WAIT=3 "${S[@]}" "${G[@]}" --checkpoint ck.bin --monitor 100 >mon 2>err &
  pid=$!
  deadline=$((SECONDS + 300))
  until grep -q '^iter  *[1-9]' mon 2>/dev/null || [ $SECONDS -ge $deadline ] || ! kill -0 $pid 2>/dev/null; do sleep 0.05; done
  pids=$(job_pids)
  [ "$order" = "ranks first" ] && pids=$(echo "$pids" | sort -rn)
  kill -TERM $pids 2>/dev/null
  wait $pid
  rc=$?
  if [ $rc -eq 3 ] && [ -s ck.bin ]; then ok "SIGTERM to every process ($order): exit 3, checkpoint"
  else notok "SIGTERM to every process ($order)" "rc $rc, $(cat err)"; fi
  "$MPIRUN" -np 1 "$SPREC" solve "${G[@]}" --resume ck.bin --checkpoint ck.bin --out res.json --quiet
  same "resumed after SIGTERM ($order) = uninterrupted" full.json res.json
done

# ------------------------------------------------------------------- rank death --
rm -f ck.bin
"${S[@]}" "${G[@]}" --checkpoint ck.bin --checkpoint-every 20 --quiet >/dev/null 2>err &
pid=$!
deadline=$((SECONDS + 300))
until [ -s ck.bin ] || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
victim=$(rank_pids | tail -1)
t0=$SECONDS
kill -9 "$victim"
wait $pid
rc=$?
took=$((SECONDS - t0))
if [ $rc -ne 0 ] && [ $took -le 30 ] && [ -z "$(rank_pids)" ]; then ok "a rank killed: the job ends (${took} s, status $rc)"
else notok "a rank killed" "status $rc after $took s; left: $(rank_pids)"; fi
"$MPIRUN" -np 2 "$SPREC" solve "${G[@]}" --resume ck.bin --out res.json --quiet 2>err
"$PY" - res.json <<'PY' && ok "the last periodic checkpoint resumes" || notok "periodic checkpoint resumes" "$(cat err)"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["resumed_iteration"] >= 20 and r["resumed_iteration"] % 20 == 0, r["resumed_iteration"]
PY
same "resumed from it = uninterrupted" full.json res.json

# ------------------------------------------------ a stop, whoever receives it --
# A stop reaches some processes of a job and not others: the launcher's process group
# (a job-control shell's Ctrl-C, a hang-up, `timeout`, a workflow manager), mpirun alone,
# one rank alone, or every process. Each must bring every rank to the orderly stop:
# exit status 3, the checkpoint, rank 0's one line, no result; and the resumed run ends
# as the uninterrupted one, bit for bit. Covered (each case costs a run, its resume and
# for mpirun its wait): every algorithm that keeps a state through the group (SEA, OMP,
# OMPR, ELS, HTP, IHT, FISTA, a SEA batch; OMP by SIGINT, the others by SIGTERM); one
# rank alone: OMPR, ELS, the batch; mpirun alone: SEA with a progress line every 2 ms
# (mpirun signalled reads no more output, rank 0 must not block on it) and a budget that
# outlasts mpirun's wait before it passes the stop on; every process: HTP and IHT.
# Progress every iteration (--monitor 1); mpirun's wait (SPREC_KILL_WAIT) is 3 s here,
# 10 by default.
"$MPIRUN" -np 2 "$SPREC" gen --problem gaussian -m 200 -n 50000 -k 20 --snr 10 --out bt --quiet
"$PY" - <<'PY'
import numpy as np
A, y, rng = np.load("bt/A.npy"), np.load("bt/y.npy"), np.random.default_rng(1)
Y = [y]
for c in range(2):  # two more problems on the same A
    x = np.zeros(A.shape[1])
    x[rng.choice(A.shape[1], 20, replace=False)] = rng.standard_normal(20)
    Y.append(A @ x + 0.1 * rng.standard_normal(A.shape[0]))
np.save("bt/Y.npy", np.stack(Y, 1))
PY
G2=(--problem gaussian -m 200 -n 100000 -k 40 --snr 10)
# the uninterrupted runs, full.NAME.json
declare -A CASE=(
  [sea]="${G2[*]} --iters 200"
  [sea-fast]="--problem gaussian -m 100 -n 20000 -k 10 --snr 20 --iters 5000"
  [omp]="${G2[*]} --algo omp"
  [ompr]="${G2[*]} --algo ompr"
  [els]="${G2[*]} --algo els --iters 42"
  [htp]="${G2[*]} --algo htp --iters 200"
  [iht]="${G2[*]} --algo iht --iters 200"
  [fista]="${G2[*]} --algo fista --lambda-ratio 0.02 --tol 0 --iters 200"
  [batch]="--A $W/bt/A.npy --y $W/bt/Y.npy -k 20 --iters 300"
)
# same_run NAME A.json B.json: the same support, coefficients, objective and iterations,
# of the one problem or of every problem of a batch.
same_run() {
  "$PY" - "$2" "$3" <<'PY' && ok "$1" || notok "$1" "results differ"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
pa, pb = a.get("problems", [a]), b.get("problems", [b])
assert len(pa) == len(pb)
for p, q in zip(pa, pb):
    for k in ["support", "coef", "objective", "data_fit", "iterations", "best_iteration", "stop_reason"]:
        assert p[k] == q[k], (k, p[k], q[k])
PY
}
# stopped NAME DELIVERY SIG: starts CASE[NAME] through the launcher in a session of its
# own with SIGINT at its default (as a job-control shell starts a job), waits for the
# progress line of iteration 1, sends SIG to: group, the launcher's process group (the
# script; mpirun is not in it); mpirun; rank, the last rank; all, the script, mpirun
# and every rank. Then the run must stop in order within 120 s, and resume to the
# uninterrupted result.
stopped() {
  local name=$1 how=$2 sig=$3 what="$1: SIG$3 to $2" job mp ranks t rc
  rm -f "$W/ck.bin" "$W/int.json" "$W/res.json" mon err
  # shellcheck disable=SC2086 # (CASE holds the words of the arguments)
  SPREC_KILL_WAIT=3 "$PY" -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.setsid()
os.execv(sys.argv[1], sys.argv[1:])' "$MPIRUN" -np 2 "$SPREC" solve ${CASE[$name]} --monitor 1 \
    --checkpoint "$W/ck.bin" --out "$W/int.json" >mon 2>err </dev/null &
  job=$!
  t=$((SECONDS + 300))
  until grep -q '^iter  *[1-9]' mon 2>/dev/null; do
    if ! kill -0 $job 2>/dev/null || [ $SECONDS -ge $t ]; then
      kill -9 -- -$job 2>/dev/null; wait $job
      notok "$what" "never reported an iteration: $(tail -c 300 err | tr '\n' '|')"; return
    fi
    sleep 0.05
  done
  mp=$(pgrep -P $job | head -1) # mpirun: the launcher's child; the ranks: mpirun's
  ranks=$(pgrep -P "$mp")
  case $how in
    group) kill -"$sig" -- -$job ;;
    mpirun) kill -"$sig" "$mp" ;;
    rank) kill -"$sig" "$(echo "$ranks" | tail -1)" ;;
    all) kill -"$sig" $job "$mp" $ranks ;;
  esac
  t=$((SECONDS + 120))
  while kill -0 $job 2>/dev/null && [ $SECONDS -lt $t ]; do sleep 0.1; done
  if kill -0 $job 2>/dev/null; then
    kill -9 -- -$job "$mp" $ranks 2>/dev/null; wait $job
    notok "$what" "still running 120 s later"; return
  fi
  wait $job
  rc=$?
  if [ $rc -ne 3 ]; then
    notok "$what" "exit status $rc, not 3 ($([ -e "$W/int.json" ] && echo "the run ended first, at")$(tail -1 mon | cut -c1-12)): $(tail -c 300 err | tr '\n' '|')"
  elif [ ! -s "$W/ck.bin" ]; then notok "$what" "no checkpoint"
  elif [ "$(wc -l <err)" -ne 1 ] || ! grep -q 'stopped by a signal.*saved in' err; then
    notok "$what" "stderr: $(head -c 300 err | tr '\n' '|')"
  elif [ -e "$W/int.json" ]; then notok "$what" "a result was written"
  elif pgrep -f -- "--checkpoint $W/ck.bin" >/dev/null; then notok "$what" "processes left running"
  else
    ok "$what: exit 3, checkpoint"
    # shellcheck disable=SC2086
    "$MPIRUN" -np 2 "$SPREC" solve ${CASE[$name]} --resume "$W/ck.bin" --out "$W/res.json" --quiet </dev/null &&
      same_run "$what: resumed = uninterrupted" "full.$name.json" "$W/res.json" ||
      notok "$what: resumed" "the resumed run failed"
  fi
}
for name in sea sea-fast omp ompr els htp iht fista batch; do
  # shellcheck disable=SC2086
  "$MPIRUN" -np 2 "$SPREC" solve ${CASE[$name]} --out "full.$name.json" --quiet </dev/null ||
    notok "$name uninterrupted" "failed"
done
for name in sea ompr els htp iht fista batch; do stopped $name group TERM; done
stopped omp group INT
for name in ompr els batch; do stopped $name rank TERM; done
stopped sea-fast mpirun TERM
for name in htp iht; do stopped $name all TERM; done

finish
