"""What the Python suites share: the binary and the launcher, the ok/not ok lines and
the summary line tests/run-tests.sh reads (as tests/cli/lib.sh does for the shell
suites)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPREC = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(ROOT, "bin", "sprec")
MPIRUN = os.path.join(ROOT, "scripts", "mpirun.sh")
counts = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    """One case: 'ok - NAME', or 'not ok - NAME: DETAIL'. Returns ok."""
    counts["passed" if ok else "failed"] += 1
    print(("ok -" if ok else "not ok -"), name + ("" if ok or not detail else ": " + str(detail)), flush=True)
    return ok


def run(*args, np_=2):
    """sprec ARGS under the launcher at np_ ranks, its output dropped; raises on failure."""
    subprocess.run([MPIRUN, "-np", str(np_), SPREC, *args], check=True, stdout=subprocess.DEVNULL)


def finish():
    """The summary line, and the exit status: 1 if a case failed."""
    print("%d passed, %d failed" % (counts["passed"], counts["failed"]), flush=True)
    sys.exit(1 if counts["failed"] else 0)
