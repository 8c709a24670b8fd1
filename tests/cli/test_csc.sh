#!/usr/bin/env bash
# Sparse dictionaries end to end (sprec solve --A FILE.npz|FILE.mtx, sprec info), at
# several rank counts:
#   tests/cli/test_csc.sh [PATH/TO/sprec]      NPS="1 2 3" (default "1 2")
# SciPy writes the files (save_npz compressed and stored, int32 and int64 indices,
# float32 data, unsorted and repeated row indices, mmwrite general and symmetric) and
# their dense copies (A.toarray(), read back from the file: what the file holds). The
# CSC operator's products are bit for bit the dense operator's on that copy (same
# lanes, zeros skipped: src/op/csc.c), so each sparse solve must equal the dense solve
# exactly: support, coefficients, objective, iterations. Hostile files: exit 2, one
# line on stderr naming the file and the fault, no output file.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
quick_failures
make_workdir csc
cd "$W" || exit 1
require_setup scipy.sparse
sprec_timeout=120

# ------------------------------------------------------------------ the files --
"$PY" - <<'EOF' || { notok "scipy writes the files" "python failed"; exit 1; }
import struct, zipfile, numpy as np, scipy.sparse as sp, scipy.io as sio
rng = np.random.default_rng(7)
m, n, k = 64, 500, 5
# 1 to 9 nonzeros per column, some empty columns, one column with every row
nnz = rng.integers(1, 10, n); nnz[[10, 11, 250]] = 0; nnz[77] = m
rows = np.concatenate([rng.choice(m, c, replace=False) for c in nnz]).astype(np.int32)
indptr = np.concatenate([[0], np.cumsum(nnz)]).astype(np.int32)
vals = rng.standard_normal(len(rows))
A = sp.csc_matrix((vals, rows, indptr), shape=(m, n))
S = np.sort(rng.choice(np.flatnonzero(nnz >= 3), k, replace=False))
x = np.zeros(n); x[S] = rng.choice([-1, 1], k) * (1 + np.abs(rng.standard_normal(k)))
y = A @ x; y += 1e-3 * np.linalg.norm(y) / np.sqrt(m) * rng.standard_normal(m)
np.save("y.npy", y)
np.save("Y.npy", np.stack([y, A @ np.roll(x, 40) + 1e-3 * y, -y], 1))  # a batch of 3
def dense(name, M):
    np.save(name + ".dense.npy", np.asfortranarray(M.toarray()))
def npz(name, M, compressed=True):
    sp.save_npz(name + ".npz", M, compressed=compressed)
    dense(name, sp.load_npz(name + ".npz"))
npz("c32", A); npz("s32", A, False)
A64 = sp.csc_matrix((vals, rows.astype(np.int64), indptr.astype(np.int64)), shape=(m, n))
npz("c64", A64); npz("s64", A64, False)
npz("f32", sp.csc_matrix((vals.astype(np.float32), rows, indptr), shape=(m, n)))
# rows unsorted within columns, and repeated rows (summed, as toarray() sums them)
ur, uv, up = [], [], [0]
for j in range(n):
    r, v = rows[indptr[j]:indptr[j + 1]][::-1], vals[indptr[j]:indptr[j + 1]][::-1]
    if len(r) >= 2 and j % 3 == 0:
        r, v = np.append(r, r[0]), np.append(v, 0.25)
    ur += list(r); uv += list(v); up.append(len(ur))
U = sp.csc_matrix((np.array(uv), np.array(ur, np.int32), np.array(up, np.int32)), shape=(m, n))
assert not U.has_canonical_format
npz("unsorted", U, False)
sio.mmwrite("g.mtx", A); dense("g", sio.mmread("g.mtx"))
B = sp.random(50, 50, density=0.1, random_state=3); B = sp.tril(B + B.T).tocsc()
sio.mmwrite("sym.mtx", B, symmetry="symmetric")
np.save("sym.dense.npy", np.asfortranarray(sio.mmread("sym.mtx").toarray()))
np.save("ysym.npy", rng.standard_normal(50))
with open("ints.mtx", "w") as f:  # integer field, comments, a repeated entry, CRLF
    f.write("%%MatrixMarket matrix coordinate integer general\r\n% a comment\r\n\r\n")
    E = [(i % m + 1, j + 1, (i * 7 + j) % 11 - 5) for j in range(n) for i in (j, j + 3, 5 * j)]
    E.append(E[0])
    f.write("%d %d %d\r\n" % (m, n, len(E)))
    for e in E: f.write("%d %d %d\r\n" % e)
np.save("ints.dense.npy", np.asfortranarray(sio.mmread("ints.mtx").toarray().astype(np.float64)))
info = dict(c32=A, g=A, sym=sio.mmread("sym.mtx").tocsc(), unsorted=U)
with open("nnz.txt", "w") as f:
    for nm, M in info.items():
        M = M.copy(); M.sum_duplicates(); c = np.diff(M.indptr)
        f.write("%s %d %d %d %d %d\n" % (nm, M.shape[0], M.shape[1], M.nnz, c.min(), c.max()))

# hostile files
raw = open("c32.npz", "rb").read()
open("trunc.npz", "wb").write(raw[:len(raw) // 2])
open("empty.npz", "wb").close()
open("garbage.npz", "wb").write(bytes(rng.integers(0, 256, 3000, dtype=np.uint8)))
z = zipfile.ZipFile("c32.npz"); info_d = z.getinfo("data.npy")
b = bytearray(raw)  # the CRC of data.npy, in its local header and in the central directory
crc = struct.pack("<I", info_d.CRC); bad = struct.pack("<I", info_d.CRC ^ 0x10)
assert b.count(crc) == 2
open("badcrc.npz", "wb").write(bytes(b.replace(crc, bad)))
b = bytearray(raw); lo = info_d.header_offset + 30 + len("data.npy") + 40
b[lo + 20] ^= 0xFF  # inside data.npy's deflate stream
open("corrupt.npz", "wb").write(bytes(b))
sp.save_npz("csr.npz", A.tocsr())
def parts(name, **kw):
    d = dict(indices=rows, indptr=indptr, format=b"csc", shape=np.array([m, n]), data=vals)
    d.update(kw); np.savez_compressed(name, **d)
parts("int8.npz", data=(vals * 10).astype(np.int8))
ip = indptr.copy(); ip[100] = ip[99] - 1
parts("indptr.npz", indptr=ip)
r2 = rows.copy(); r2[len(r2) - 3] = m
parts("row.npz", indices=r2)
v2 = vals.copy(); v2[17] = np.nan
parts("nan.npz", data=v2)
parts("coo.npz", format=b"coo")
parts("fmtlong.npz", format=np.array("c" * 60))  # '<U60': 240 bytes
open("nul.mtx", "wb").write(b"%%MatrixMarket matrix coordinate real general\n8 8 1\n1 1 \0003\n")
parts("shape.npz", shape=np.array([m, n + 1]))
txt = open("g.mtx").read().splitlines()
hdr = [i for i, l in enumerate(txt) if not l.startswith("%")][0]
def mtx(name, lines): open(name, "w").write("\n".join(lines) + "\n")
l2 = list(txt); l2[hdr + 5] = "%d 3 1.0" % (m + 1); mtx("range.mtx", l2)
mtx("short.mtx", txt[:-4])
l2 = list(txt); l2[hdr + 2] = "1 1 nan"; mtx("nan.mtx", l2)
l2 = list(txt); l2[0] = "%%MatrixMarket matrix array real general"; mtx("array.mtx", l2)
l2 = list(txt); l2[hdr + 1] = "1 x 2.0"; mtx("word.mtx", l2)
l2 = list(txt); l2.append("1 1 1.0"); mtx("long.mtx", l2)
sp.save_npz("narrow.npz", A[:, :1])
EOF

# ------------------------------------------------ sparse solve = dense solve --
# same NAME RESULT REFERENCE: support, coefficients (as the same doubles), objective,
# iterations and stop reason equal; the operator named.
same() {
  "$PY" - "$@" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[2:4])
bad = [f for f in ("support", "coef", "objective", "data_fit", "iterations", "stop_reason", "m", "n")
       if a[f] != b[f]]
if a.get("operator") != "csc": bad.append("operator %r" % a.get("operator"))
if bad: sys.exit("%s: %s differ (%s vs %s)" % (sys.argv[1], bad, a["support"], b["support"]))
EOF
}

solve_case() { # FILE Y ALGO K P
  local f=$1 y=$2 algo=$3 k=$4 P=$5 base=${1%.*}
  sprec 1 solve --A "$base.dense.npy" --y "$y" --algo "$algo" -k "$k" --iters 300 --quiet \
    --out "ref.$base.$algo.json"
  if [ "$rc" != 0 ]; then notok "dense $base $algo" "$(last)"; return; fi
  sprec "$P" solve --A "$f" --y "$y" --algo "$algo" -k "$k" --iters 300 --quiet \
    --out "r.$base.$algo.$P.json"
  if [ "$rc" != 0 ] || [ -s "$W/err" ]; then notok "$f $algo P=$P" "$(last)"; return; fi
  local why
  if why=$(same "$f" "r.$base.$algo.$P.json" "ref.$base.$algo.json" 2>&1); then
    ok "$f $algo P=$P equals the dense solve"
  else notok "$f $algo P=$P" "$why"; fi
}

for P in $NPS; do
  for f in c32.npz s32.npz c64.npz s64.npz f32.npz unsorted.npz g.mtx ints.mtx; do
    solve_case "$f" y.npy sea 5 "$P"
  done
  solve_case c32.npz y.npy omp 5 "$P"
  solve_case g.mtx y.npy htp 5 "$P"
  solve_case sym.mtx ysym.npy omp 4 "$P"
done

# A batch (3 problems, one pass over the nonzeros for all: apply_T_many): every
# problem as the dense batch solves it.
sprec 1 solve --A c32.dense.npy --y Y.npy -k 5 --iters 200 --quiet --out refb.json
for P in $NPS; do
  sprec "$P" solve --A c32.npz --y Y.npy -k 5 --iters 200 --quiet --out "b.$P.json"
  if [ "$rc" = 0 ] && "$PY" - "b.$P.json" refb.json <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["operator"] == "csc" and len(a["problems"]) == 3 and a["problems"] == b["problems"]
EOF
  then ok "batch of 3 over c32.npz P=$P equals the dense batch"
  else notok "batch of 3 over c32.npz P=$P" "$(last)"; fi
done

# ------------------------------------------------------------------ sprec info --
P=${NPS##* }
while read -r name m n nnz cmin cmax; do
  f=$name.npz
  [ -f "$f" ] || f=$name.mtx
  sprec "$P" info "$f"
  if [ "$rc" = 0 ] && grep -q "shape:    $m x $n" out && grep -q "nonzeros: $nnz " out &&
    grep -q "per column: $cmin to $cmax nonzeros" out && grep -q "finite:   yes" out; then
    ok "info $f P=$P: shape, nonzeros, per column"
  else notok "info $f P=$P" "$(last) out=[$(tr '\n' '|' <out)]"; fi
done <nnz.txt
sprec "$P" info nan.npz
if [ "$rc" = 0 ] && grep -q "finite:   no (1 NaN or Inf" out; then ok "info nan.npz: not finite"
else notok "info nan.npz" "$(last) out=[$(tr '\n' '|' <out)]"; fi

# ------------------------------------------------------------- hostile files --
bad() { # NAME FILE PATTERN P [Y]
  local name=$1 f=$2 pat=$3 P=$4 y=${5:-y.npy} named=${5:-$2}
  rm -f bad.json
  sprec "$P" solve --A "$f" --y "$y" -k 5 --out bad.json
  local nl
  nl=$(wc -l <"$W/err")
  if [ "$rc" != 2 ]; then notok "$name P=$P" "exit $rc, want 2; $(last)"
  elif [ "$nl" != 1 ]; then notok "$name P=$P" "$nl lines on stderr, want 1: $(last)"
  elif ! grep -qF -- "$named" "$W/err" || ! grep -qF -- "$pat" "$W/err"; then
    notok "$name P=$P" "stderr does not name '$named' and '$pat': $(last)"
  elif [ -e bad.json ]; then notok "$name P=$P" "bad.json left behind"
  else ok "$name P=$P: exit 2, one line"; fi
  [ -z "${CSC_SHOW:-}" ] || cat "$W/err"
}
for P in $NPS; do
  bad "truncated npz" trunc.npz "not a zip archive" "$P"
  bad "empty npz" empty.npz "not a zip archive" "$P"
  bad "garbage npz" garbage.npz "not a zip archive" "$P"
  bad "bad CRC" badcrc.npz "data.npy: CRC mismatch" "$P"
  bad "corrupt deflate stream" corrupt.npz "data.npy: corrupt compressed data" "$P"
  bad "csr format" csr.npz "A.tocsc()" "$P"
  bad "coo format" coo.npz "'coo'" "$P"
  bad "int8 data" int8.npz "data.npy: must be a 1-D array of float64 or float32" "$P"
  bad "indptr decreasing" indptr.npz "indptr decreases at column 100" "$P"
  bad "row index >= m" row.npz "row index 64 out of range [0, 64)" "$P"
  bad "NaN in data" nan.npz "NaN or Inf" "$P"
  bad "shape disagrees with indptr" shape.npz "indptr.npy: 501 entries for 501 columns" "$P"
  bad "long format string" fmtlong.npz "format.npy: must hold one short string" "$P"
  bad "mtx NUL byte" nul.mtx "line 3 holds a NUL byte" "$P"
  bad "mtx entry out of range" range.mtx "outside the 64 x 500 matrix" "$P"
  bad "mtx truncated" short.mtx "truncated?" "$P"
  bad "mtx NaN" nan.mtx "NaN or Inf" "$P"
  bad "mtx array format" array.mtx "only coordinate" "$P"
  bad "mtx bad entry" word.mtx "is not an entry" "$P"
  bad "mtx extra entry" long.mtx "more entries than" "$P"
  bad "missing file" missing.npz "No such file" "$P"
  bad "y of the wrong length" c32.npz "ysym.npy: has 50 rows but the dictionary has m = 64" "$P" ysym.npy
  [ "$P" -ge 2 ] && bad "fewer columns than ranks" narrow.npz "every rank needs at least one column" "$P"
done
sprec 1 solve --A c32.npz --y y.npy -k 5 --dtype float32
if [ "$rc" = 2 ] && grep -q "dtype float32 applies to a dense" err; then ok "--dtype float32 refused"
else notok "--dtype float32 with a sparse --A" "$(last)"; fi

finish
