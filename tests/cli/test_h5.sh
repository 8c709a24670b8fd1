#!/usr/bin/env bash
# HDF5 on the command line, at several rank counts: h5py writes the problem (every
# layout), and `sprec solve --A f.h5:/A --y f.h5:/y` must give exactly the result of the
# same numbers in .npy files; `gen --format h5` must hold the .npy problem's numbers and
# solve to its result; `info` describes datasets; every bad input is one line, exit 2.
#   tests/cli/test_h5.sh [PATH/TO/sprec]     NPS="1 2 3 4" (default "1 2")
# Prints "ok - NAME" / "not ok - NAME: reason" and "N passed, M failed".
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
quick_failures
make_workdir h5
cd "$W" || exit 1
require_setup "h5py, numpy"

# same NAME A.json B.json: the two results are the same numbers.
same() {
  same_result "$1" "$2" "$3" "support?" "coef?" "iterations?" "best_iteration?" "objective?" "data_fit?" \
    "problems?" "truth?"
}

# -------------------------------------------------------------------- the files --
# A deconvolution dictionary (coherent: a different rounding anywhere would show) and a
# Gaussian one for the batch, written by numpy and by h5py in every layout.
"$MPIRUN" -q -np 1 "$SPREC" gen --problem deconv -m 60 -n 250 -k 4 --snr 40 --seed 3 --out p >/dev/null
"$PY" - <<'PY' || { notok "h5py writes the files" "python failed"; finish; }
import numpy as np, h5py
A = np.load("p/A.npy"); y = np.load("p/y.npy"); x = np.load("p/x_true.npy")
g = np.random.default_rng(7)
Y = np.column_stack([y, A[:, 10] - A[:, 200], g.standard_normal(60)])
x0 = np.zeros(250); x0[[5, 100]] = 1.0
for name, a in (("A_c.npy", A), ("Y.npy", Y), ("x0.npy", x0)):
    np.save(name, np.ascontiguousarray(a))
np.save("A32.npy", A.astype(np.float32))
with h5py.File("f.h5", "w") as f:
    f["A"] = A
    f.create_dataset("chunked/A", data=A, chunks=(16, 9))
    f.create_dataset("gzip", data=A, chunks=(60, 32), compression="gzip")
    f["AF"] = np.ascontiguousarray(A.T); f["AF"].attrs["order"] = "F"
    f["At"] = np.ascontiguousarray(A.T)
    f["A32"] = A.astype(np.float32)
    f["y"] = y; f["Y"] = Y; f["x"] = x; f["x0"] = x0
    f["cube"] = np.zeros((2, 3, 4)); f["ints"] = np.ones((60, 250), dtype=np.int64)
    f["text"] = "not numbers"; f["ymis"] = y[:50]
    f["nan"] = np.where(np.arange(60 * 250).reshape(60, 250) == 777, np.inf, A)
    f["narrow"] = A[:, :1]
raw = open("f.h5", "rb").read()
open("trunc.h5", "wb").write(raw[: len(raw) * 2 // 3])
open("plain.h5", "wb").write(b"\x93NUMPY" + b"\0" * 500)
PY

# ------------------------------------------------------------ the same answers --
for np_ in $NPS; do
  sprec "$np_" solve --A p/A.npy --y p/y.npy -k 4 --truth p/x_true.npy --out ref.json --quiet
  for A in f.h5:/A f.h5:/chunked/A f.h5:/gzip f.h5:/AF f.h5:/At:F; do
    sprec "$np_" solve --A "$A" --y f.h5:/y -k 4 --truth f.h5:/x --out h.json --quiet
    if [ "$rc" = 0 ] && [ ! -s err ]; then same "np=$np_ --A $A --y f.h5:/y = the .npy solve" ref.json h.json
    else notok "np=$np_ --A $A" "$(last)"; fi
  done
  sprec "$np_" solve --A A32.npy --y p/y.npy -k 4 --algo htp --dtype float32 --out ref.json --quiet
  sprec "$np_" solve --A f.h5:/A32 --y f.h5:/y -k 4 --algo htp --dtype float32 --out h.json --quiet
  same "np=$np_ float32 dataset, --dtype float32 = the .npy solve" ref.json h.json
  sprec "$np_" solve --A A_c.npy --y Y.npy -k 4 --algo htp --init x0.npy --out ref.json --quiet
  sprec "$np_" solve --A f.h5:/A --y f.h5:/Y -k 4 --algo htp --init f.h5:/x0 --out h.json --quiet
  same "np=$np_ batch m x 3 --y and --init from HDF5 = the .npy solve" ref.json h.json
done

# ------------------------------------------------------------ gen --format h5 --
for np_ in $NPS; do
  rm -rf g gh
  "$MPIRUN" -q -np "$np_" "$SPREC" gen --problem gaussian -m 40 -n 301 -k 5 --snr 30 --out g --quiet
  sprec "$np_" gen --problem gaussian -m 40 -n 301 -k 5 --snr 30 --format h5 --out gh --quiet
  if [ "$rc" = 0 ] && [ "$(ls gh)" = problem.h5 ] && "$PY" - <<'PY'; then ok "np=$np_ gen --format h5: the .npy problem's numbers, C order"; else notok "np=$np_ gen --format h5" "$(last)"; fi
import numpy as np, h5py
f = h5py.File("gh/problem.h5", "r")
assert sorted(f) == ["A", "x_true", "y"]
assert f["A"].shape == (40, 301) and f["A"].dtype == "<f8" and f["A"].chunks is None
for k in ["A", "y", "x_true"]:
    assert np.array_equal(f[k][()], np.load("g/" + k + ".npy")), k
PY
  "$MPIRUN" -q -np "$np_" "$SPREC" solve --A g/A.npy --y g/y.npy -k 5 --truth g/x_true.npy --out ref.json --quiet
  sprec "$np_" solve --A gh/problem.h5:/A --y gh/problem.h5:/y --truth gh/problem.h5:/x_true -k 5 --out h.json --quiet
  same "np=$np_ gen --format h5, then solve = the .npy problem's result" ref.json h.json
done

# --------------------------------------------------------------------- outputs --
mkdir -p busy/problem.h5
sprec 2 gen --problem gaussian -m 10 -n 20 -k 2 --format h5 --out busy
if [ "$rc" = 2 ] && [ "$(wc -l <err)" = 1 ] && grep -q 'directory' err; then ok "gen --format h5: problem.h5 a directory: exit 2, one line"
else notok "gen onto a directory" "$(last)"; fi
cp f.h5 keep.h5
sprec 2 solve --A keep.h5:/A --y keep.h5:/y -k 4 --out keep.h5
if [ "$rc" = 2 ] && grep -q 'refusing to overwrite an input' err && cmp -s f.h5 keep.h5; then ok "--out onto the HDF5 input: refused, the file intact"
else notok "--out onto the HDF5 input" "$(last)"; fi
sprec 1 gen --problem gaussian -m 10 -n 20 -k 2 --format hdf --out q
if [ "$rc" = 2 ] && grep -q -- '--format' err && [ ! -e q ]; then ok "gen --format hdf: exit 2, naming --format"; else notok "gen --format hdf" "$(last)"; fi

# ------------------------------------------------------------------------ info --
sprec 2 info f.h5:/chunked/A
if [ "$rc" = 0 ] && grep -q 'shape:   60 x 250' out && grep -q 'layout:  chunked 16 x 9' out &&
  grep -q 'order:   C' out && grep -q 'finite:  yes' out; then ok "info FILE.h5:/dataset"
else notok "info FILE.h5:/dataset" "$(last) $(cat out)"; fi
sprec 2 info f.h5:/AF
if [ "$rc" = 0 ] && grep -q 'shape:   60 x 250' out && grep -q 'order:   fortran' out; then ok "info: attribute order = F"
else notok "info order F" "$(last) $(cat out)"; fi
sprec 2 info f.h5
if [ "$rc" = 0 ] && grep -q '^/chunked/A (float64, 60 x 250)$' out && grep -q '^/y (float64, 60)$' out; then ok "info FILE.h5 lists the datasets"
else notok "info FILE.h5" "$(last) $(cat out)"; fi

# ------------------------------------------------------------------- bad input --
# hostile NAME PATTERN ARGS...: exit 2, one line on stderr matching PATTERN, no result.
hostile() {
  local name=$1 pat=$2
  shift 2
  rm -f r.json
  sprec 2 solve -k "${K:-2}" "$@" --out r.json
  if [ "$rc" = 2 ] && [ "$(wc -l <err)" = 1 ] && grep -q -- "$pat" err && [ ! -e r.json ] &&
    ! grep -qi 'HDF5-DIAG' out err; then ok "$name: exit 2, one line"
  else notok "$name" "$(last)"; fi
}
hostile "missing file" "--A nothere.h5: No such file" --A nothere.h5:/A --y f.h5:/y
hostile "not HDF5" "--A plain.h5: not an HDF5 file" --A plain.h5:/A --y f.h5:/y
hostile "truncated file" "--A trunc.h5: cannot open as HDF5 (truncated file" --A trunc.h5:/A --y f.h5:/y
hostile "missing dataset" "--A f.h5:/B: no dataset /B in the file; its datasets: /A (float64, 60 x 250)" --A f.h5:/B --y f.h5:/y
hostile "no dataset named" "name the dataset" --A f.h5 --y f.h5:/y
hostile "3-D dataset" "--A f.h5:/cube: has 3 dimensions" --A f.h5:/cube --y f.h5:/y
hostile "int64 dataset" "--A f.h5:/ints: has element type int64" --A f.h5:/ints --y f.h5:/y
hostile "string dataset" "--y f.h5:/text: has element type string" --A f.h5:/A --y f.h5:/text
hostile "y shorter than A's rows" "--y f.h5:/ymis: has 50 rows but the dictionary has m = 60" --A f.h5:/A --y f.h5:/ymis
hostile "Inf in A" "--A f.h5:/nan: contains NaN or Inf (row 3, column 27)" --A f.h5:/nan --y f.h5:/y
hostile "truth of the wrong length" "--truth f.h5:/y: has shape 60 but 250 entries" --A f.h5:/A --y f.h5:/y --truth f.h5:/y
K=1 hostile "fewer columns than ranks" "2 ranks but f.h5:/narrow has only 1 columns" --A f.h5:/narrow --y f.h5:/y

finish
