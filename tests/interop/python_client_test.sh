#!/usr/bin/env bash
# Interop: a Python client (Debian's grpcio) with stubs generated here from proto/jobd/v1 by
# protoc and grpc_python_plugin, against a real jobd: keys, workspaces, create, watch, work.
#
#   JOBD_TEST_DATABASE_URL=postgresql://... tests/interop/python_client_test.sh JOBD
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"

(($# == 1)) || fail "usage: $0 JOBD"
PLUGIN=$(command -v grpc_python_plugin) || fail "grpc_python_plugin not found (protobuf-compiler-grpc)"
e2e_start_jobd "$1"

GEN=$E2E_TMP/gen
mkdir -p "$GEN"
protoc -I "$E2E_REPO/proto" -I /usr/include --python_out="$GEN" --grpc_out="$GEN" \
  --plugin=protoc-gen-grpc="$PLUGIN" "$E2E_REPO"/proto/jobd/v1/*.proto ||
  fail "protoc could not generate the Python stubs"
expect_ok "python client" env PYTHONPATH="$GEN" "$E2E_PYTHON" \
  "$E2E_REPO/tests/interop/python_client.py" "$E2E_ADDRESS" "$E2E_API_KEY"
expect_contains "python client" "$OUT" "all checks passed"
