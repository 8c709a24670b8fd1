#!/usr/bin/env bash
# The library as an installed library: `make install PREFIX=…` into a fresh prefix,
# examples/solve.c built against it with `pkg-config --cflags --libs sprec` alone, run
# under mpirun at 2 ranks on a problem written by `sprec gen`: its support and
# coefficients are the CLI's (`sprec solve --out`), bit for bit. Also: the shared
# library's soname, the static library, the installed `sprec --version`, and the
# version recorded in the result JSON.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
make_workdir example
# step NAME CMD...: ok NAME when CMD succeeds; else notok, and the last lines of its output.
step() {
  local name=$1
  shift
  if "$@" >"$W/out" 2>&1; then ok "$name"
  else notok "$name" "failed:"; sed 's/^/    /' "$W/out" | tail -20; fi
}
version=$(sed -n 's/^#define SPREC_VERSION "\(.*\)"/\1/p' "$root/include/sprec.h")
major=${version%%.*}
P=$W/prefix

step "make install PREFIX" make -C "$root" --no-print-directory install PREFIX="$P"
step "installed files" test -x "$P/bin/sprec" -a -f "$P/include/sprec.h" -a -f "$P/lib/libsprec.a" \
  -a -f "$P/lib/libsprec.so.$version" -a -L "$P/lib/libsprec.so.$major" -a -L "$P/lib/libsprec.so" \
  -a -f "$P/lib/pkgconfig/sprec.pc"
step "soname libsprec.so.$major" bash -c "readelf -d '$P/lib/libsprec.so.$version' | grep -q 'SONAME.*\[libsprec.so.$major\]'"
step "pkg-config --modversion" bash -c "[ \"\$(PKG_CONFIG_PATH='$P/lib/pkgconfig' pkg-config --modversion sprec)\" = '$version' ]"
step "sprec --version" bash -c "'$root/scripts/mpirun.sh' -np 1 '$P/bin/sprec' --version | grep -q '^sprec $version '"
# Built from the installed prefix only: a copy of the example away from the sources.
# (Under make check SANITIZE=..., the installed library is the sanitized one: a program
# linked to it must load the sanitizer runtime first, so it is built with the same flag.)
cp "$root/examples/solve.c" "$W/solve.c"
san=${SANITIZE:+-fsanitize=$SANITIZE}
step "example builds with pkg-config" bash -c "cd '$W' && mpicc -std=c11 -Wall -Wextra -Werror $san solve.c \
  \$(PKG_CONFIG_PATH='$P/lib/pkgconfig' pkg-config --cflags --libs sprec) -o solve"
step "example is linked to the shared library" bash -c "ldd '$W/solve' | grep -q '$P/lib/libsprec.so.$major'"

"$MPIRUN" -np 2 "$SPREC" gen --problem deconv -m 128 -n 512 -k 8 --snr 30 --seed 4 \
  --width 0.01 --out "$W/p" --quiet >/dev/null 2>&1
step "CLI solve" "$MPIRUN" -np 2 "$SPREC" solve --A "$W/p/A.npy" --y "$W/p/y.npy" -k 8 \
  --out "$W/cli.json" --quiet
step "example runs at 2 ranks" bash -c "'$root/scripts/mpirun.sh' -np 2 '$W/solve' '$W/p/A.npy' '$W/p/y.npy' 8 > '$W/example.txt'"
step "example gives the CLI's answer bit for bit" "$PY" - "$W/cli.json" "$W/example.txt" "$version" <<'PY'
import json, sys
cli = json.load(open(sys.argv[1]))
lines = open(sys.argv[2]).read().split("\n")
head, rows = lines[0], [l.split() for l in lines[1:] if l.strip()]
assert head.startswith("sprec %s: SEA" % sys.argv[3]), head
assert cli["sprec_version"] == sys.argv[3], cli["sprec_version"]
support = [int(r[0]) for r in rows]
coef = [float(r[1]) for r in rows]  # %.17g both sides: the exact doubles
assert support == cli["support"], (support, cli["support"])
assert coef == cli["coef"], (coef, cli["coef"])
assert float(head.split()[-1]) == cli["objective"], (head, cli["objective"])
assert int(head.split()[3]) == cli["iterations"]
PY
finish
