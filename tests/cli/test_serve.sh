#!/usr/bin/env bash
# The service's end-to-end test (tests/cli/test_serve.py) under make check: real ranks
# (NPS rank counts), real HTTP on loopback, real SQLite files, real SIGKILLs.
exec /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/test_serve.py" "$@"
