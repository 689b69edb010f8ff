#!/usr/bin/env bash
# Interop: the Python package of client/python (jobd.Client and jobd.Worker, on Debian's
# grpcio) against a real jobd. Its stubs are generated here by client/python/generate.sh
# (protoc + grpc_python_plugin); the tests are unittest programs:
#   python_client_lib_test.py  every Client call, the API key, deadlines, the resumable watch
#   python_worker_test.py      the Worker: completion, failures, transient errors, cancel,
#                              pause/resume, lost lease, graceful stop
#
#   JOBD_TEST_DATABASE_URL=postgresql://... tests/interop/python_worker_test.sh JOBD
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"

(($# == 1)) || fail "usage: $0 JOBD"
command -v grpc_python_plugin >/dev/null || fail "grpc_python_plugin not found (protobuf-compiler-grpc)"
"$E2E_PYTHON" -c 'import grpc, google.protobuf' 2>/dev/null ||
  fail "$E2E_PYTHON lacks grpc or protobuf (python3-grpcio, python3-protobuf)"
e2e_start_jobd "$1"

# Into the test's own directory, so that the source tree is left as it was.
GEN=$E2E_TMP/gen
"$E2E_REPO/client/python/generate.sh" "$GEN" || fail "client/python/generate.sh failed"

for program in python_client_lib_test python_worker_test; do
  log "running $program"
  # Output goes straight to the test log: unittest names each test and what failed.
  env PYTHONPATH="$GEN:$E2E_REPO/client/python:$E2E_REPO/tests/interop" \
    JOBD_TEST_ADDRESS="$E2E_ADDRESS" JOBD_TEST_API_KEY="$E2E_API_KEY" PYTHONDONTWRITEBYTECODE=1 \
    "$E2E_PYTHON" "$E2E_REPO/tests/interop/$program.py" -v ||
    fail "$program failed"
done
