#!/usr/bin/env bash
# The service's state directory under misuse (tests/cli/test_serve_state.py) under make
# check: another dictionary, a second service, a damaged file, a batch killed mid-way.
# The Python suite prints its own cases and summary line.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
exec "$PY" "$here/test_serve_state.py" "$@"
