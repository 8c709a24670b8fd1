#!/usr/bin/env bash
# The service's end-to-end test (tests/cli/test_serve.py) under make check: real ranks
# (NPS rank counts), real HTTP on loopback, real SQLite files, real SIGKILLs. The Python
# suite prints its own cases and summary line.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
exec "$PY" "$here/test_serve.py" "$@"
