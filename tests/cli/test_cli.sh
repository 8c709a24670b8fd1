#!/usr/bin/env bash
# End-to-end tests of the sprec command line, at several rank counts.
#   tests/cli/test_cli.sh [PATH/TO/sprec]        (default: the checkout's bin/sprec)
#   NPS="1 2 3 4" tests/cli/test_cli.sh           (rank counts, default "1 2")
# Each case prints "ok - NAME" or "not ok - NAME: reason"; the last line is
# "N passed, M failed", and the exit status is 1 when M > 0.
# Needs /usr/bin/python3 (or $PYTHON) with numpy: it checks files and results
# independently of the program.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
quick_failures
make_workdir cli
cd "$W" || exit 1
require_setup numpy

# ---------------------------------------------------------------- numpy checks --
# Checks are queued (defer NAME FUNCTION ARGS...) and run by one python process per
# flush: importing numpy takes a while.
cat >"$W/chk.py" <<'EOF'
import json, os, sys
import numpy as np

class Fail(Exception):
    pass

def fail(msg):
    raise Fail(msg)

def load(p):
    return np.load(p, allow_pickle=False)

EPS = float(np.finfo(np.float64).eps)

# Rounding-error bounds, as tests/testutil.h derives them (eps = DBL_EPSILON = 2u; a
# sum of n terms in any order, numpy's or the library's, is within n*eps*sum|terms|
# of the exact one; two evaluations of one quantity differ by at most twice that).
def fit_bounds(A, y, x):
    """For r = y - A x and F = 1/2 ||r||^2: D >= ||r_hat - r|| ((k+1)-term sums) and
    fit_err >= |fl(F) - F|, for ANY evaluation order; also ||r_hat||, sum|x_j|||a_j||."""
    m = A.shape[0]
    S = np.flatnonzero(x)
    k = len(S)
    r = y - A[:, S] @ x[S]
    rn = float(np.linalg.norm(r))
    sax = float(np.sum(np.abs(x[S]) * np.linalg.norm(A[:, S], axis=0)))
    D = (k + 1) * EPS * (float(np.linalg.norm(y)) + sax)
    rmax = rn + 2 * D
    fit_err = 0.5 * (D * (2 * rn + 3 * D) + m * EPS * rmax * rmax)
    grad_err = D + m * EPS * rmax
    return dict(k=k, D=D, rn=rn, sax=sax, fit=0.5 * rn * rn, fit_err=fit_err, grad_err=grad_err,
                l1=float(np.abs(x).sum()))

def lasso_err(b, lam):
    """>= the rounding of 1/2||y - A x||^2 + lam ||x||_1 (tu_lasso_err)."""
    pen = lam * b["l1"]
    return b["fit_err"] + (b["k"] + 1) * EPS * pen + EPS * (b["fit"] + pen)

def lasso_gap_err(A, y, x, lam):
    """>= the rounding of the duality gap as the library evaluates it (tu_lasso_gap_err)."""
    m = A.shape[0]
    b = fit_bounds(A, y, x)
    r = y - A @ x
    s = max(1.0, float(np.abs(A.T @ r).max()) / lam)
    amax = float(np.linalg.norm(A, axis=0).max())
    th = float(np.linalg.norm(r / s))
    rt = float(np.linalg.norm(r - r / s))
    ds = amax * b["grad_err"] / lam + EPS * s
    dth = b["D"] / s + th * ds / s + EPS * th
    return ((b["k"] + 2) * EPS * lam * b["l1"] + b["sax"] * (b["grad_err"] + ds * th) + rt * dth +
            0.5 * dth * dth + 0.5 * (m + 2) * EPS * rt * rt + b["D"] * b["sax"])

def sqrt_diff(a, b, d):
    """>= |sqrt(2a) - sqrt(2b)| for a, b >= 0 with |a - b| <= d:
    |sqrt(u) - sqrt(v)| = |u - v| / (sqrt(u) + sqrt(v)) <= sqrt(|u - v|)."""
    den = np.sqrt(2 * a) + np.sqrt(2 * b)
    return min(np.sqrt(2 * d), 2 * d / den if den > 0 else np.inf)

def gencheck(d, m, n, k):
    """A1: shapes, dtype, Fortran order, unit columns, k nonzeros, y = A x_true."""
    m, n, k = int(m), int(n), int(k)
    A, y, x = load(d + "/A.npy"), load(d + "/y.npy"), load(d + "/x_true.npy")
    if A.shape != (m, n) or y.shape != (m,) or x.shape != (n,):
        fail("shapes %s %s %s" % (A.shape, y.shape, x.shape))
    for nm, a in (("A", A), ("y", y), ("x_true", x)):
        if a.dtype != np.dtype("<f8"):
            fail("%s dtype %s" % (nm, a.dtype))
    if not A.flags.f_contiguous or A.flags.c_contiguous:
        fail("A is not in Fortran order")
    # Normalized by the library (a sum of m squares, a square root, m divisions: the
    # norm is 1 within (m/2 + 2) eps), measured by numpy (within (m/2 + 1) eps).
    nrm = np.linalg.norm(A, axis=0)
    if np.max(np.abs(nrm - 1)) > (m + 3) * EPS:
        fail("column norms off by %g > (m + 3) eps" % np.max(np.abs(nrm - 1)))
    if np.count_nonzero(x) != k:
        fail("x_true has %d nonzeros, not %d" % (np.count_nonzero(x), k))
    # y = sum of k columns times x_j, by the library and by numpy: each component within
    # (k + 1) eps (|A||x|)_i of the exact sum.
    e = np.abs(y - A @ x) - 2 * (k + 1) * EPS * (np.abs(A) @ np.abs(x))
    if np.max(e) > 0:
        fail("y != A x_true: max difference %g beyond the rounding bound" % np.max(np.abs(y - A @ x)))

def snrcheck(d, snr):
    """A2: ||y - A x|| / ||A x|| = 10^(-snr/20)."""
    A, y, x = load(d + "/A.npy"), load(d + "/y.npy"), load(d + "/x_true.npy")
    m, k = A.shape[0], np.count_nonzero(x)
    Ax = A @ x
    r = np.linalg.norm(y - Ax) / np.linalg.norm(Ax)
    want = 10 ** (-float(snr) / 20)
    # The library scales the noise e by s = sqrt(||Ax||^2/||e||^2) 10^(-snr/20): two sums
    # of m squares, a square root, pow, products: (m + 4) eps relative. numpy's A x (and
    # the library's, in y) within (k + 1) eps |A||x| of the exact one, y's sum and y - Ax
    # one rounding each: the noise recovered within that, relative to its norm; the two
    # norms and the quotient here (m + 3) eps.
    ax = float(np.linalg.norm(np.abs(A) @ np.abs(x)))
    tol = ((m + 4) * EPS + (2 * (k + 1) * EPS * ax + EPS * float(np.linalg.norm(y))) /
           float(np.linalg.norm(y - Ax)) + (k + 1) * EPS * ax / float(np.linalg.norm(Ax)) +
           (m + 3) * EPS)
    if abs(r - want) > tol * want:
        fail("||y-Ax||/||Ax|| = %.15g, want %.15g (relative tolerance %.3g)" % (r, want, tol))

KEYS = ["algo", "m", "n", "k", "lambda", "ranks", "grid", "iterations", "best_iteration",
        "stop_reason", "objective", "data_fit", "rel_residual", "support", "coef", "time"]
TIME = ["total", "setup", "io", "apply_T", "topk", "lsq", "comm"]
TRUTH = ["support_recovered", "f1", "rel_error"]

def result(rj, xf, af, yf, ranks, k, algo, truthf):
    """A3: the JSON's keys and values, X.npy, and the objective recomputed by numpy
    (two evaluations of one quantity: within twice fit_bounds' fit_err, which also
    covers round-off-sized objectives)."""
    with open(rj) as f:
        r = json.load(f)
    miss = [key for key in KEYS if key not in r]
    miss += ["time." + key for key in TIME if key not in r.get("time", {})]
    if truthf != "-":
        miss += ["truth." + key for key in TRUTH if key not in r.get("truth", {})]
    if miss:
        fail("missing keys: " + ", ".join(miss))
    A, y = load(af).astype(np.float64), load(yf).astype(np.float64).reshape(-1)
    m, n = A.shape
    if r["ranks"] != int(ranks) or r["k"] != int(k) or r["algo"] != algo:
        fail("ranks/k/algo = %s/%s/%s" % (r["ranks"], r["k"], r["algo"]))
    if r["m"] != m or r["n"] != n:
        fail("m, n = %s, %s" % (r["m"], r["n"]))
    s = r["support"]
    if len(s) != int(k) or s != sorted(set(s)) or len(r["coef"]) != len(s):
        fail("support %s (%d coef) is not sorted, unique, of size %s" % (s, len(r["coef"]), k))
    x = load(xf)
    if x.shape != (n,) or x.dtype != np.dtype("<f8"):
        fail("X.npy shape %s dtype %s" % (x.shape, x.dtype))
    if list(np.flatnonzero(x)) != s:
        fail("X.npy nonzeros %s != support %s" % (list(np.flatnonzero(x)), s))
    if not np.array_equal(x[s], np.array(r["coef"], dtype=np.float64)):
        fail("X.npy values != coef")
    obj = 0.5 * float(np.sum((A @ x - y) ** 2))
    b = fit_bounds(A, y, x)
    tol = 2 * b["fit_err"]
    if abs(obj - r["objective"]) > tol:
        fail("objective %.17g, numpy %.17g (tolerance %.3g)" % (r["objective"], obj, tol))
    if abs(obj - r["data_fit"]) > tol:
        fail("data_fit %.17g, numpy %.17g (tolerance %.3g)" % (r["data_fit"], obj, tol))
    # sqrt(2 fit)/||y|| both ways: the fits within tol, ||y|| within (m/2 + 1) eps each,
    # the square roots and the quotient one rounding each.
    yn = float(np.linalg.norm(y))
    rr = np.sqrt(2 * obj) / yn
    rtol = sqrt_diff(obj, r["data_fit"], tol) / yn + (m + 4) * EPS * max(rr, r["rel_residual"])
    if abs(rr - r["rel_residual"]) > rtol:
        fail("rel_residual %.17g, numpy %.17g (tolerance %.3g)" % (r["rel_residual"], rr, rtol))
    if truthf != "-":
        ts = list(np.flatnonzero(load(truthf)))
        if r["truth"]["support_recovered"] is not True:
            fail("support not recovered: %s vs true %s" % (s, ts))
        if ts != s:
            fail("support %s != true support %s" % (s, ts))
        if r["truth"]["f1"] != 1:
            fail("f1 = %s" % r["truth"]["f1"])

def same(r1, r2):
    """A4, A5: same support and objective in two result files, exactly: one problem
    (the same bits from gen's files or generated in memory), solved by kernels that give
    the same bits on any number of ranks, the objective from x by one function."""
    with open(r1) as f:
        a = json.load(f)
    with open(r2) as f:
        b = json.load(f)
    if a["support"] != b["support"]:
        fail("support %s != %s" % (a["support"], b["support"]))
    if a["objective"] != b["objective"]:
        fail("objective %.17g != %.17g" % (a["objective"], b["objective"]))

def support(r1, truthf):
    """A6: the support of a result is the true one."""
    with open(r1) as f:
        a = json.load(f)
    ts = list(np.flatnonzero(load(truthf)))
    if a["support"] != ts:
        fail("support %s != true %s" % (a["support"], ts))

def fixtures(d, fx):
    """Odd inputs made from the problem in d."""
    from numpy.lib import format as npf
    A, y, x = load(d + "/A.npy"), load(d + "/y.npy"), load(d + "/x_true.npy")
    m, n = A.shape
    os.makedirs(fx + "/adir.npy")
    np.save(fx + "/A_c64.npy", np.ascontiguousarray(A))            # C order float64
    np.save(fx + "/A_f32c.npy", np.ascontiguousarray(A, dtype=np.float32))
    np.save(fx + "/y_col.npy", y.reshape(m, 1))                     # (m, 1)
    with open(fx + "/y_v2.npy", "wb") as f:                          # version 2.0 header
        npf.write_array(f, y, version=(2, 0))
    with open(fx + "/text.npy", "w") as f:
        f.write("this is not a numpy file\n1 2 3\n")
    np.save(fx + "/int64.npy", np.arange(m * n, dtype=np.int64).reshape(m, n))
    np.save(fx + "/complex.npy", A.astype(np.complex128))
    np.save(fx + "/bigend.npy", A.astype(">f8"))
    np.save(fx + "/y_long.npy", np.concatenate([y, [1.0]]))
    np.save(fx + "/A_1col.npy", np.asfortranarray(A[:, :1]))
    np.save(fx + "/A_1d.npy", A[:, 0].copy())
    An = np.asfortranarray(A.copy())
    An[3, n - 2] = np.nan
    np.save(fx + "/A_nan.npy", An)
    yi = y.copy()
    yi[m // 2] = np.inf
    np.save(fx + "/y_inf.npy", yi)
    np.save(fx + "/init_short.npy", np.zeros(n - 1))
    np.save(fx + "/truth_2d.npy", np.zeros((n, 2)))
    xn = x.copy()
    xn[n - 1] = np.nan
    np.save(fx + "/truth_nan.npy", xn)
    # Finite, but the objective overflows: a numerical failure of the solver.
    np.save(fx + "/A_huge.npy", np.asfortranarray(A * 1e200))
    np.save(fx + "/y_huge.npy", y * 1e200)

def run(queue):
    """Each line: NAME<TAB>FUNCTION<TAB>ARGS...; prints one TAP line per check."""
    with open(queue) as f:
        for line in f:
            name, fn, *args = line.rstrip("\n").split("\t")
            try:
                globals()[fn](*args)
                print("ok - " + name)
            except Fail as e:
                print("not ok - %s: %s" % (name, e))
            except Exception as e:  # a missing or unreadable file, bad JSON, ...
                print("not ok - %s: %s: %s" % (name, type(e).__name__, str(e)[:300]))
            sys.stdout.flush()

if __name__ == "__main__":
    run(sys.argv[1])
EOF
: >"$W/queue"
defer() {
  local IFS=$'\t'
  echo "$*" >>"$W/queue"
}
flush() {
  local line n=0
  while IFS= read -r line; do
    n=$((n + 1))
    case "$line" in
      "ok - "*) echo "$line"; pass=$((pass + 1)) ;;
      *) echo "$line"; fail=$((fail + 1)) ;;
    esac
  done < <("$PY" "$W/chk.py" "$W/queue" 2>&1)
  [ "$n" -ge "$(wc -l <"$W/queue")" ] || notok "numpy checks" "python printed $n lines for $(wc -l <"$W/queue") checks"
  : >"$W/queue"
}

nps=($NPS)
P0=${nps[0]}
nmon0=""

# ------------------------------------------------------------------ A. success --
# A1, A2: gen at each P; numpy checks; the files are byte-identical for every P.
for P in "${nps[@]}"; do
  sprec "$P" gen --problem gaussian -m 64 -n 128 -k 5 --seed 3 --out "$W/D$P"
  name="gen gaussian P=$P"
  if ran "$name"; then
    if grep -qF "D$P/A.npy" "$W/out"; then defer "$name" gencheck "$W/D$P" 64 128 5
    else notok "$name" "stdout does not name the files: $(head -c 200 "$W/out")"; fi
  fi
  sprec "$P" gen --problem deconv -m 64 -n 128 -k 3 --snr 20 --seed 5 --width 0.03 \
    --out "$W/C$P" --quiet
  name="gen deconv --snr 20 --quiet P=$P"
  if ran "$name"; then
    if [ -s "$W/out" ]; then notok "$name" "--quiet printed on stdout"
    else defer "$name" snrcheck "$W/C$P" 20; fi
  fi
  if [ "$P" != "$P0" ]; then
    for g in D C; do
      d=""
      for f in A.npy y.npy x_true.npy; do cmp -s "$W/$g$P0/$f" "$W/$g$P/$f" || d="$d $f"; done
      check "gen $g P=$P byte-identical to P=$P0" "differ:$d" test -z "$d"
    done
  fi
done

D="$W/D$P0"
N="$W/N"
FX="$W/fx"
# A noisy problem: its objective is far from round-off, so relative checks mean something.
sprec "$P0" gen --problem gaussian -m 64 -n 128 -k 5 --seed 3 --snr 20 --out "$N" --quiet
ran "gen gaussian --snr 20" && ok "gen gaussian --snr 20"
mkdir -p "$FX"
defer "fixtures" fixtures "$D" "$FX"
flush

# A3, A5: solve the files at each P with each algorithm; compare across P.
for P in "${nps[@]}"; do
  for algo in sea htp iht omp ompr els cosamp sp; do
    name="solve --algo $algo P=$P"
    sprec "$P" solve --A "$D/A.npy" --y "$D/y.npy" -k 5 --algo "$algo" --out "$W/R.$algo.$P.json" \
      --x-out "$W/X.$algo.$P.npy" --truth "$D/x_true.npy"
    # Noiseless: the objective is round-off (~1e-31), within the rounding bound.
    ran "$name" && defer "$name" result "$W/R.$algo.$P.json" "$W/X.$algo.$P.npy" "$D/A.npy" \
      "$D/y.npy" "$P" 5 "$algo" "$D/x_true.npy"

    name="solve --snr 20 --algo $algo P=$P"
    sprec "$P" solve --A "$N/A.npy" --y "$N/y.npy" -k 5 --algo "$algo" --out "$W/Rn.$algo.$P.json" \
      --x-out "$W/Xn.$algo.$P.npy" --quiet
    if ran "$name"; then
      if [ -s "$W/out" ]; then notok "$name" "--quiet printed on stdout"
      else defer "$name" result "$W/Rn.$algo.$P.json" "$W/Xn.$algo.$P.npy" "$N/A.npy" "$N/y.npy" \
        "$P" 5 "$algo" -; fi
    fi

    if [ "$P" != "$P0" ]; then
      defer "solve --algo $algo P=$P same as P=$P0" same "$W/R.$algo.$P0.json" \
        "$W/R.$algo.$P.json"
      defer "solve --snr 20 --algo $algo P=$P same as P=$P0" same "$W/Rn.$algo.$P0.json" \
        "$W/Rn.$algo.$P.json"
    fi
  done
done

for P in "${nps[@]}"; do
  # A4: --problem generates the same problem as gen (default algorithm: sea).
  name="solve --problem P=$P same as gen files"
  sprec "$P" solve --problem gaussian -m 64 -n 128 -k 5 --seed 3 --out "$W/Rp.$P.json" --quiet
  ran "$name" && defer "$name" same "$W/R.sea.$P.json" "$W/Rp.$P.json"
  name="solve --problem --snr 20 --algo htp P=$P same as gen files"
  sprec "$P" solve --problem gaussian -m 64 -n 128 -k 5 --seed 3 --snr 20 --algo htp \
    --out "$W/Rpn.$P.json" --quiet
  ran "$name" && defer "$name" same "$W/Rn.htp.$P.json" "$W/Rpn.$P.json"

  # A6: C order, float32, an (m, 1) y, a version-2 header.
  for a6 in "C-order A, (m,1) y|A_c64|y_col|htp|c" "float32 C-order A, v2-header y|A_f32c|y_v2|sea|f"; do
    IFS='|' read -r what a y algo t <<<"$a6"
    name="solve $what P=$P"
    sprec "$P" solve --A "$FX/$a.npy" --y "$FX/$y.npy" -k 5 --algo "$algo" --out "$W/R$t.$P.json" \
      --x-out "$W/X$t.$P.npy" --quiet
    if ran "$name"; then
      defer "$name" result "$W/R$t.$P.json" "$W/X$t.$P.npy" "$FX/$a.npy" "$FX/$y.npy" "$P" 5 "$algo" -
      defer "$name: support" support "$W/R$t.$P.json" "$D/x_true.npy"
    fi
  done

  # A7: info.
  name="info A.npy P=$P"
  sprec "$P" info "$D/A.npy"
  if ran "$name"; then
    miss=""
    for s in "64 x 128" "float64" "fortran" "finite: yes"; do
      grep -qF -- "$s" "$W/out" || miss="$miss '$s'"
    done
    check "$name" "missing$miss in: $(tr '\n' '|' <"$W/out")" test -z "$miss"
  fi
  name="info with NaN P=$P"
  sprec "$P" info "$FX/A_nan.npy"
  ran "$name" && check "$name" "no 'finite: no' in: $(tr '\n' '|' <"$W/out")" \
    grep -qF "finite: no" "$W/out"
  if [ "$P" = "$P0" ]; then
    name="info float32 C-order P=$P"
    sprec "$P" info "$FX/A_f32c.npy"
    ran "$name" && check "$name" "no 'float32' and 'C' in: $(tr '\n' '|' <"$W/out")" \
      eval 'grep -qE "^dtype: +float32" "$W/out" && grep -qE "^order: +C$" "$W/out"'
  fi

  # A8: --monitor prints on rank 0 only; --quiet prints nothing.
  name="--monitor 10 P=$P"
  sprec "$P" solve --A "$D/A.npy" --y "$D/y.npy" -k 5 --algo sea --iters 50 --monitor 10
  nmon=$(grep -c '^iter ' "$W/out")
  nall=$(wc -l <"$W/out")
  if ran "$name"; then
    if [ "$nmon" -lt 5 ] || [ "$nall" != $((nmon + 1)) ]; then
      notok "$name" "$nmon progress lines, $nall lines in all"
    else
      ok "$name"
      if [ "$P" = "$P0" ]; then nmon0=$nmon
      else check "--monitor 10 P=$P: as many lines as at P=$P0" "$nmon lines, $nmon0 at P=$P0" \
        test "$nmon" = "$nmon0"; fi
    fi
  fi
  name="--quiet P=$P"
  sprec "$P" solve --A "$D/A.npy" --y "$D/y.npy" -k 5 --iters 50 --monitor 10 --quiet
  ran "$name" && check "$name" "stdout has $(wc -c <"$W/out") bytes" test ! -s "$W/out"

  # A9: help.
  cmds=("" solve)
  [ "$P" = "$P0" ] && cmds+=(gen info)
  for cmd in "${cmds[@]}"; do
    name="sprec${cmd:+ $cmd} --help P=$P"
    sprec "$P" $cmd --help
    nu=$(grep -c '^usage' "$W/out")
    ran "$name" && check "$name" "$nu usage lines on stdout, want 1" test "$nu" = 1
  done
done
flush

# --------------------------------------------------------------- B. bad input --
# [WANT=CODE] bad NAME 'PAT1|PAT2' ID ARGS...: exit CODE (default 2); exactly one line
# on stderr, "sprec[ COMMAND]: error: ...", containing every pattern; nothing new in the case's own directory
# $W/bad/ID.P (written @O in ARGS and patterns), and no temporary or probe file
# anywhere under the work directory.
bad() {
  local name="$1 P=$P" pats=$2 O="$W/bad/$3.$P" a args=() before after pl p miss="" nl left
  shift 3
  pats=${pats//@O/$O}
  mkdir -p "$O"
  for a in "$@"; do args+=("${a//@O/$O}"); done
  before=$(cd "$O" && find . -mindepth 1 | sort)
  sprec "$P" "${args[@]}"
  after=$(cd "$O" && find . -mindepth 1 | sort)
  nl=$(wc -l <"$W/err")
  IFS='|' read -ra pl <<<"$pats"
  for p in "${pl[@]}"; do grep -qF -- "$p" "$W/err" || miss="$miss '$p'"; done
  left=$(find "$W" \( -name '*.tmp.*' -o -name '*.probe.*' \) -print | head -3 | tr '\n' ' ')
  if [ "$rc" != "${WANT:-2}" ]; then notok "$name" "exit $rc, want ${WANT:-2}; $(last)"
  elif [ "$nl" != 1 ]; then notok "$name" "$nl lines on stderr, want 1: $(last)"
  elif ! grep -qE '^sprec( [a-z]+)?: error: ' "$W/err"; then
    notok "$name" "stderr is not 'sprec[ COMMAND]: error: ...': $(last)"
  elif [ -n "$miss" ]; then notok "$name" "stderr does not mention$miss: $(last)"
  elif [ "$before" != "$after" ]; then notok "$name" "left behind: $(echo $after)"
  elif [ -n "$left" ]; then notok "$name" "left behind: $left"
  else ok "$name"
  fi
  [ -z "$left" ] || find "$W" \( -name '*.tmp.*' -o -name '*.probe.*' \) -exec rm -rf {} +
}

A="$D/A.npy"
Y="$D/y.npy"
size=$(wc -c <"$A")
head -c $((size - 13)) "$A" >"$W/trunc.npy"
head -c 40 "$A" >"$W/trunc_hdr.npy"
for P in "${nps[@]}"; do
  so=(--out @O/r.json --x-out @O/x.npy)
  bad "missing --A file" "A_missing.npy" missing solve "${so[@]}" --A "$W/A_missing.npy" --y "$Y" -k 5
  bad "directory as --A" "adir.npy" dir solve "${so[@]}" --A "$FX/adir.npy" --y "$Y" -k 5
  bad "text file as --A" "text.npy" text solve "${so[@]}" --A "$FX/text.npy" --y "$Y" -k 5
  bad "truncated --A" "trunc.npy|truncated" trunc solve "${so[@]}" --A "$W/trunc.npy" --y "$Y" -k 5
  bad "truncated header --A" "trunc_hdr.npy|truncated" trunchdr solve "${so[@]}" \
    --A "$W/trunc_hdr.npy" --y "$Y" -k 5
  bad "int64 --A" "int64.npy|dtype" int64 solve "${so[@]}" --A "$FX/int64.npy" --y "$Y" -k 5
  bad "complex --A" "complex.npy|dtype" complex solve "${so[@]}" --A "$FX/complex.npy" --y "$Y" -k 5
  bad "big-endian --A" "bigend.npy|dtype|>f8" bigend solve "${so[@]}" --A "$FX/bigend.npy" --y "$Y" -k 5
  bad "1-D --A" "A_1d.npy" a1d solve "${so[@]}" --A "$FX/A_1d.npy" --y "$Y" -k 1
  bad "y of length m+1" "y_long.npy" ylong solve "${so[@]}" --A "$A" --y "$FX/y_long.npy" -k 5
  bad "-k 0" "k must be in" k0 solve "${so[@]}" --A "$A" --y "$Y" -k 0
  bad "-k > min(m,n)" "k must be in|65" kbig solve "${so[@]}" --A "$A" --y "$Y" -k 65
  if [ "$P" -ge 2 ]; then
    bad "more ranks than columns" "A_1col.npy|column" onecol solve "${so[@]}" \
      --A "$FX/A_1col.npy" --y "$Y" -k 1
    bad "more ranks than columns, solve --problem" "column" onecolp solve "${so[@]}" \
      --problem gaussian -m 8 -n 1 -k 1
    bad "more ranks than columns, gen" "column" onecolg gen --problem gaussian -m 8 -n 1 -k 1 \
      --out @O/G
  fi
  bad "NaN in --A" "A_nan.npy|NaN" nan solve "${so[@]}" --A "$FX/A_nan.npy" --y "$Y" -k 5
  bad "Inf in --y" "y_inf.npy|Inf" inf solve "${so[@]}" --A "$A" --y "$FX/y_inf.npy" -k 5
  bad "--algo foo" "algo: unknown algorithm|foo" algo solve "${so[@]}" --A "$A" --y "$Y" -k 5 --algo foo
  bad "unknown flag" "--bogus" bogus solve "${so[@]}" --A "$A" --y "$Y" -k 5 --bogus
  bad "-k without a value" "-k" knoval solve "${so[@]}" --A "$A" --y "$Y" -k
  bad "-k abc" "-k|abc" kabc solve "${so[@]}" --A "$A" --y "$Y" -k abc
  bad "--A without --y" "--y" noy solve "${so[@]}" --A "$A" -k 5
  bad "--out in a missing directory" "--out|/nonexistent/dir/r.json" outdir solve \
    --out /nonexistent/dir/r.json --x-out @O/x.npy --A "$A" --y "$Y" -k 5
  bad "--x-out in a missing directory" "--x-out|@O/nodir/x.npy" xoutdir solve --out @O/r.json \
    --x-out @O/nodir/x.npy --A "$A" --y "$Y" -k 5
  bad "--init of wrong length" "--init|init_short.npy" init solve "${so[@]}" --A "$A" --y "$Y" \
    -k 5 --init "$FX/init_short.npy"
  bad "--truth of wrong shape" "--truth|truth_2d.npy" truth solve "${so[@]}" --A "$A" --y "$Y" \
    -k 5 --truth "$FX/truth_2d.npy"
  bad "--truth with NaN" "truth_nan.npy|NaN" truthnan solve "${so[@]}" --A "$A" --y "$Y" -k 5 \
    --truth "$FX/truth_nan.npy"
  bad "unknown command" "frob" frob frob
  bad "no command" "command" nocmd
  bad "unknown option as command" "--bogus" cmdbogus --bogus
  bad "gen without -k" "-k" genk gen --problem gaussian -m 8 -n 16 --out @O/G
  WANT=1 bad "solver failure (objective overflows)" "overflows" huge solve "${so[@]}" \
    --A "$FX/A_huge.npy" --y "$FX/y_huge.npy" -k 5
  mkdir -p "$W/bad/genfile.$P" && : >"$W/bad/genfile.$P/file"
  bad "gen --out under a regular file" "--out|@O/file/G" genfile gen --problem gaussian -m 8 \
    -n 16 -k 2 --out @O/file/G
  bad "fista without --lambda" "lambda > 0" nolam solve "${so[@]}" --A "$A" --y "$Y" --algo fista
  bad "--lambda -1" "lambda > 0|got -1" neglam solve "${so[@]}" --A "$A" --y "$Y" --algo ista --lambda -1
done

# The Lasso through the command line: lambda from --lambda-ratio, the objective and the
# optimality conditions recomputed by numpy from the files.
for P in "${nps[@]}"; do
  for algo in ista fista oista; do
    name="solve --algo $algo --lambda-ratio 0.1 P=$P"
    sprec "$P" solve --A "$N/A.npy" --y "$N/y.npy" --algo "$algo" --lambda-ratio 0.1 \
      --out "$W/L.$algo.$P.json" --x-out "$W/L.$algo.$P.npy" --quiet
    ran "$name" && check "$name" "Lasso result wrong" "$PY" - "$W/L.$algo.$P.json" \
      "$W/L.$algo.$P.npy" "$N/A.npy" "$N/y.npy" "$W" <<'PY'
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[5])
from chk import EPS, fit_bounds, lasso_err, lasso_gap_err
res = json.load(open(sys.argv[1])); x = np.load(sys.argv[2])
A = np.load(sys.argv[3]); y = np.load(sys.argv[4])
m = A.shape[0]
# lambda = 0.1 ||A'y||_inf: each a_j'y here and in the library within m eps sum|a_ij y_i|
# of the exact one; the product by 0.1 one rounding on each side.
lmax = np.abs(A.T @ y).max(); lam = 0.1 * lmax
lerr = m * EPS * float((np.abs(A).T @ np.abs(y)).max())
assert abs(res["lambda"] - lam) <= 0.1 * 2 * lerr + EPS * (lam + res["lambda"]) and res["k"] is None, res["lambda"]
r = y - A @ x; fit = 0.5 * r @ r; F = fit + lam * np.abs(x).sum()
b = fit_bounds(A, y, x)
Ferr = lasso_err(b, lam) + b["l1"] * abs(res["lambda"] - lam)  # and lambda's own difference
assert abs(res["objective"] - F) <= 2 * Ferr, (res["objective"], F, Ferr)
assert abs(res["data_fit"] - fit) <= 2 * b["fit_err"], (res["data_fit"], fit, b["fit_err"])
# The run stopped at gap <= fl(tol F); the relative gap reported is two roundings off.
assert res["gap"] <= 1e-10 * (1 + 2 * EPS) and res["stop_reason"] == "gap", (res["gap"], res["stop_reason"])
# Optimality from the certificate: G >= F(x) - F* >= 1/2 ||A(x - x*)||^2, so r is within
# sqrt(2G) of r*, and |a_j'r*| <= lam, = lam sign(x*_j) on the support of x* (the signs of
# x's entries larger than sqrt(2G)/sigma_min are x*'s). Plus the rounding of g = A'r.
G = res["gap"] * res["objective"] + lasso_gap_err(A, y, x, res["lambda"])
an = np.linalg.norm(A, axis=0)
slack = an * (np.sqrt(2 * G) + b["grad_err"]) + abs(res["lambda"] - lam)
g = A.T @ r; on = x != 0
assert np.all(np.abs(g[~on]) <= lam + slack[~on]), (np.abs(g[~on]) - lam - slack[~on]).max()
assert np.all(np.abs(g[on] - lam * np.sign(x[on])) <= slack[on])
assert sorted(res["support"]) == list(np.flatnonzero(on))
PY
  done
done

# ------------------------------------------------------- C. batched problems --
# An m x b --y is b problems sharing A. Each problem's result (support, coefficients,
# iterations, stop) must be exactly what a separate solve of that column gives: the
# separate solves are the independent reference. Y is stored in C and in Fortran
# order; --truth and --init are n x b; --x-out is n x b.
BT="$W/batch"
mkdir -p "$BT"
"$PY" - "$N/A.npy" "$N/y.npy" "$BT" <<'PY'
import sys
import numpy as np
A = np.load(sys.argv[1]); y = np.load(sys.argv[2]); d = sys.argv[3]
m, n = A.shape
rng = np.random.default_rng(3)
X = np.zeros((n, 4))
for p in range(4):
    X[rng.choice(n, 5, replace=False), p] = rng.choice([-1, 1], 5) * (1 + rng.random(5))
Y = A @ X + 0.01 * rng.standard_normal((m, 4))
Y[:, 2] = y          # one column is the unbatched problem
np.save(d + "/Y.npy", Y)
np.save(d + "/Yf.npy", np.asfortranarray(Y))
np.save(d + "/X.npy", X)
np.save(d + "/X0.npy", np.asfortranarray(0.5 * X))
for p in range(4):
    np.save(d + "/y%d.npy" % p, Y[:, p].copy())
    np.save(d + "/x%d.npy" % p, X[:, p].copy())
    np.save(d + "/x0%d.npy" % p, 0.5 * X[:, p])
PY
# batch_same NAME JSON XNPY SINGLEPREFIX: each problem p of the batch equals the
# separate result SINGLEPREFIX.p.json / .p.npy.
batch_same() {
  check "$1" "batch differs from separate solves" "$PY" - "$2" "$3" "$4" <<'PY'
import json, sys
import numpy as np
res = json.load(open(sys.argv[1])); X = np.load(sys.argv[2]); pre = sys.argv[3]
assert res["batch"] == 4 and len(res["problems"]) == 4 and X.shape[1] == 4, res.get("batch")
assert res["perf"]["apply_T_passes"] >= 1 and res["perf"]["problems_per_second"] > 0
for p, q in enumerate(res["problems"]):
    s = json.load(open("%s.%d.json" % (pre, p))); x = np.load("%s.%d.npy" % (pre, p))
    for key in ["support", "coef", "iterations", "best_iteration", "stop_reason", "objective", "data_fit"]:
        assert q[key] == s[key], (p, key, q[key], s[key])
    for key in ["gap", "lambda", "lambda_max", "truth", "init"]:
        assert q.get(key) == s.get(key), (p, key, q.get(key), s.get(key))
    assert np.array_equal(X[:, p], x), p
PY
}
for algo_args in "sea -k 5" "htp -k 5" "omp -k 5" "fista --lambda-ratio 0.05"; do
  read -r algo rest <<<"$algo_args"
  for P in "${nps[@]}"; do
    for p in 0 1 2 3; do
      sprec "$P" solve --A "$N/A.npy" --y "$BT/y$p.npy" --algo $algo $rest --truth "$BT/x$p.npy" \
        --out "$BT/s.$algo.$P.$p.json" --x-out "$BT/s.$algo.$P.$p.npy" --quiet
      ran "separate solve $algo problem $p P=$P" || continue 2
    done
    for yf in Y Yf; do
      name="batch --algo $algo --y $yf.npy (4 problems) P=$P"
      sprec "$P" solve --A "$N/A.npy" --y "$BT/$yf.npy" --algo $algo $rest --truth "$BT/X.npy" \
        --out "$BT/b.json" --x-out "$BT/b.npy"
      ran "$name" && grep -q "problems=4" "$W/out" && batch_same "$name" "$BT/b.json" "$BT/b.npy" "$BT/s.$algo.$P"
    done
  done
done
for P in "${nps[@]}"; do
  for p in 0 1 2 3; do
    sprec "$P" solve --A "$N/A.npy" --y "$BT/y$p.npy" -k 5 --iters 50 --init "$BT/x0$p.npy" \
      --out "$BT/i.$P.$p.json" --x-out "$BT/i.$P.$p.npy" --quiet
    sprec "$P" solve --A "$N/A.npy" --y "$BT/y$p.npy" -k 5 --iters 50 --init omp \
      --out "$BT/o.$P.$p.json" --x-out "$BT/o.$P.$p.npy" --quiet
  done
  name="batch --init FILE (n x b) P=$P"
  sprec "$P" solve --A "$N/A.npy" --y "$BT/Y.npy" -k 5 --iters 50 --init "$BT/X0.npy" \
    --out "$BT/b.json" --x-out "$BT/b.npy" --quiet
  ran "$name" && batch_same "$name" "$BT/b.json" "$BT/b.npy" "$BT/i.$P"
  name="batch --init omp P=$P"
  sprec "$P" solve --A "$N/A.npy" --y "$BT/Y.npy" -k 5 --iters 50 --init omp \
    --out "$BT/b.json" --x-out "$BT/b.npy" --quiet
  ran "$name" && batch_same "$name" "$BT/b.json" "$BT/b.npy" "$BT/o.$P"
done
"$PY" -c 'import numpy as np, sys; np.save(sys.argv[1], np.zeros((7, 3)))' "$BT/Ybad.npy"
"$PY" -c 'import numpy as np, sys; np.save(sys.argv[1], np.zeros((5, 4)))' "$BT/Xbad.npy"
for P in "${nps[@]}"; do
  so=(--out @O/r.json --x-out @O/x.npy)
  bad "batch --y with the wrong number of rows" "Ybad.npy|rows" batch_rows solve "${so[@]}" \
    --A "$N/A.npy" --y "$BT/Ybad.npy" -k 5
  bad "batch --truth of the wrong shape" "Xbad.npy|one column per problem" batch_truth solve \
    "${so[@]}" --A "$N/A.npy" --y "$BT/Y.npy" -k 5 --truth "$BT/Xbad.npy"
  bad "batch --init of the wrong shape" "Xbad.npy|one column per problem" batch_init solve \
    "${so[@]}" --A "$N/A.npy" --y "$BT/Y.npy" -k 5 --init "$BT/Xbad.npy"
done

finish
