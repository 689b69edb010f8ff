#!/usr/bin/env bash
# Interop: the Node.js client and Worker (client/node: @grpc/grpc-js, stubs loaded at run time
# from proto/jobd/v1 by @grpc/proto-loader) against a real jobd: every client helper, the
# resumable watch across cut connections, and the Worker's complete, fail, cancel, pause and
# resume, lease loss and graceful stop. Also runs the package's unit tests.
#
#   JOBD_TEST_DATABASE_URL=postgresql://... tests/interop/node_worker_test.sh JOBD
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"

(($# == 1)) || fail "usage: $0 JOBD"
command -v node >/dev/null || fail "node not found (deploy/install-deps.sh installs it)"
NODE_DIR=$E2E_REPO/client/node

# deploy/install-deps.sh installs node_modules from the lockfile; should they be missing or
# older than package-lock.json (stamp = the lockfile's sha256), install them here the same way.
stamp=$NODE_DIR/node_modules/.jobd-lock.sha256
want=$(sha256sum "$NODE_DIR/package-lock.json" | cut -d' ' -f1)
if [[ ! -f $stamp || $(<"$stamp") != "$want" ]]; then
  log "npm ci in client/node"
  (cd "$NODE_DIR" && npm ci --no-audit --no-fund >&2) || fail "npm ci in client/node failed"
  printf '%s\n' "$want" >"$stamp"
fi

e2e_start_jobd "$1"

# node's own test runner; its summary (# pass N, # fail N) goes to the test log.
JOBD_ADDRESS=$E2E_ADDRESS JOBD_API_KEY=$E2E_API_KEY \
  node --test "$NODE_DIR"/test/unit/*.test.js "$NODE_DIR"/test/interop/*.test.js ||
  fail "node --test failed"
