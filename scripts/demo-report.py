#!/usr/bin/env python3
"""The demo's table and picture, from the files `make demo` wrote: DIR/y.npy,
DIR/x_true.npy and DIR/<algo>.json per method. The picture (DIR/spikes.png, drawn by
gnuplot) shows the observed signal with the true spikes, then each method's spikes
over the true ones."""
import json
import os
import subprocess
import sys

import numpy as np

out, algos = sys.argv[1], sys.argv[2:]
y = np.load(os.path.join(out, "y.npy"))
xt = np.load(os.path.join(out, "x_true.npy"))
m, n = len(y), len(xt)
res = {a: json.load(open(os.path.join(out, a + ".json"))) for a in algos}

print(f"{'method':<8}{'support':>9}{'F1':>8}{'rel_error':>12}{'rel_residual':>14}{'iterations':>12}")
for a in algos:
    r, t = res[a], res[a]["truth"]
    exact = "exact" if t["support_recovered"] else "missed"
    print(f"{a:<8}{exact:>9}{t['f1']:>8.4f}{t['rel_error']:>12.3e}{r['rel_residual']:>14.3e}"
          f"{r['iterations']:>12d}")

# Positions on [0, 1]: sample i at i/(m-1), candidate j at j/(n-1) (the bump centres).
with open(os.path.join(out, "signal.dat"), "w") as f:
    for i in range(m):
        f.write(f"{i / (m - 1):.6f} {y[i]:.9g}\n")
with open(os.path.join(out, "truth.dat"), "w") as f:
    for j in np.flatnonzero(xt):
        f.write(f"{j / (n - 1):.6f} {xt[j]:.9g}\n")
for a in algos:
    with open(os.path.join(out, a + ".dat"), "w") as f:
        for j, v in zip(res[a]["support"], res[a]["coef"]):
            f.write(f"{j / (n - 1):.6f} {v:.9g}\n")

amp = 1.3 * max(abs(xt).max(), 1e-300)
rows = len(algos) + 1
gp = [
    "set terminal pngcairo size 1100,%d font 'sans,10'" % (170 * rows),
    "set output '%s'" % os.path.join(out, "spikes.png"),
    "set multiplot layout %d,1 title 'sprec demo: spike deconvolution "
    "(m=%d, n=%d, k=%d, 40 dB)'" % (rows, m, n, len(np.flatnonzero(xt))),
    "set xrange [0:1]", "set key outside right", "set lmargin 10", "set rmargin 24",
    "set title 'observed signal y and the true spikes'",
    "set yrange [*:*]",
    "plot '%s' with lines lc rgb '#4477aa' title 'y', '%s' with impulses lw 2 lc rgb '#222222' title 'true x'"
    % (os.path.join(out, "signal.dat"), os.path.join(out, "truth.dat")),
    "set yrange [%g:%g]" % (-amp, amp),
]
for a in algos:
    t = res[a]["truth"]
    gp += [
        "set title '%s: F1 %.4f, %s support'" % (a.upper(), t["f1"],
                                                "exact" if t["support_recovered"] else "wrong"),
        "plot '%s' with impulses lw 4 lc rgb '#cccccc' title 'true x', "
        "'%s' with impulses lw 1.5 lc rgb '#cc3311' title '%s', '' with points pt 7 ps 0.6 lc rgb '#cc3311' notitle"
        % (os.path.join(out, "truth.dat"), os.path.join(out, a + ".dat"), a),
    ]
gp.append("unset multiplot")
subprocess.run(["gnuplot"], input="\n".join(gp) + "\n", text=True, check=True)
print(f"picture: {os.path.join(out, 'spikes.png')} (the true spikes and each method's, over the signal)")
