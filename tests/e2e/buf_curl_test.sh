#!/usr/bin/env bash
# End-to-end: a grpcurl-style user of jobd, with `buf curl` (tests/node, from npm) instead of
# jobctl. Walks create -> get -> list -> cancel -> retry, checks the exit codes buf gives the
# gRPC errors (code x 8), server reflection and grpc.health.v1.
#
# buf reads the schema from the repo's proto/ (--schema .), so the calls check the contract as
# written; one create and the service listing go through server reflection instead. buf
# prints proto3 JSON with camelCase names and leaves out fields that hold their default.
#
#   JOBD_TEST_DATABASE_URL=postgresql://... tests/e2e/buf_curl_test.sh JOBD
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

(($# == 1)) || fail "usage: $0 JOBD"
BUF=$E2E_REPO/tests/node/node_modules/.bin/buf
[[ -x $BUF ]] || fail "buf not found at $BUF (run deploy/install-deps.sh)"
HEALTH_PROTO=/usr/share/grpc-proto/grpc/health/v1/health.proto
[[ -r $HEALTH_PROTO ]] || fail "$HEALTH_PROTO not found (install the grpc-proto package)"
e2e_start_jobd "$1"

# --schema . needs proto/ as the working directory; keep buf's cache out of $HOME.
cd "$E2E_REPO/proto"
export BUF_CACHE_DIR=$E2E_TMP/buf-cache

WS=e2e
UNKNOWN_ID=01890a5d-ac96-774b-bcce-b302099a8057

# bcurl [BUF_FLAGS...] METHOD JSON: a JobService call with the local schema.
bcurl() {
  local method=${*: -2:1} data=${*: -1}
  "$BUF" curl --protocol grpc --http2-prior-knowledge --schema . "${@:1:$#-2}" \
    -H "Authorization: Bearer $E2E_API_KEY" -d "$data" \
    "http://$E2E_ADDRESS/jobd.v1.JobService/$method"
}

# expect_error WHAT RC CODE METHOD JSON: buf exits with RC and prints {"code": CODE, ...}.
expect_error() {
  local what=$1 rc=$2 code=$3
  shift 3
  expect_rc "$what" "$rc" bcurl "$@"
  expect_contains "$what" "$ERR" "\"code\": \"$code\""
}

# --- create, get ---------------------------------------------------------------------------
expect_ok "create" bcurl CreateJob \
  "{\"workspace_id\": \"$WS\", \"type\": \"import.csv\", \"payload\": {\"rows\": 10},
    \"labels\": {\"team\": \"data\"}, \"priority\": 5}"
expect_json "create" job.state JOB_STATE_QUEUED
expect_json "create" job.type import.csv
expect_json "create" job.workspaceId "$WS"
expect_json "create" job.labels '{"team": "data"}'
expect_json "create" job.payload '{"rows": 10}'
expect_json "create" job.priority 5
expect_json "create" job.requestedBy test-admin
expect_json "create" job.attempt 1
expect_json "create" job.errorMessage '<missing>'
FIRST=$(json_get job.id)
[[ $FIRST =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] ||
  fail "create: job.id '$FIRST' is not a UUID"

expect_ok "get" bcurl GetJob "{\"id\": \"$FIRST\"}"
expect_json "get" job.id "$FIRST"
expect_json "get" job.state JOB_STATE_QUEUED

# --- list ----------------------------------------------------------------------------------
expect_ok "create second" bcurl CreateJob "{\"workspace_id\": \"$WS\", \"type\": \"report.build\"}"
SECOND=$(json_get job.id)

expect_ok "list" bcurl ListJobs "{\"workspace_id\": \"$WS\"}"
expect_json "list" jobs.0.id "$SECOND"
expect_json "list" jobs.1.id "$FIRST"
expect_json "list" jobs.2 '<missing>'
expect_json "list" nextPageToken '<missing>'

expect_ok "list queued imports" bcurl ListJobs \
  "{\"workspace_id\": \"$WS\", \"states\": [\"JOB_STATE_QUEUED\"], \"type\": \"import.csv\"}"
expect_json "list queued imports" jobs.0.id "$FIRST"
expect_json "list queued imports" jobs.1 '<missing>'

expect_ok "list page 1" bcurl ListJobs "{\"workspace_id\": \"$WS\", \"page_size\": 1}"
expect_json "list page 1" jobs.0.id "$SECOND"
expect_json "list page 1" jobs.1 '<missing>'
TOKEN=$(json_get nextPageToken)
[[ $TOKEN != '<missing>' ]] || fail "list page 1: no nextPageToken"
expect_ok "list page 2" bcurl ListJobs \
  "{\"workspace_id\": \"$WS\", \"page_size\": 1, \"page_token\": \"$TOKEN\"}"
expect_json "list page 2" jobs.0.id "$FIRST"

# --- cancel, retry -------------------------------------------------------------------------
expect_ok "cancel" bcurl CancelJob "{\"id\": \"$FIRST\", \"reason\": \"no longer needed\"}"
expect_json "cancel" job.state JOB_STATE_CANCELLED
expect_json "cancel" job.errorMessage "no longer needed"

expect_ok "cancel again" bcurl CancelJob "{\"id\": \"$FIRST\"}"
expect_json "cancel again" job.state JOB_STATE_CANCELLED

expect_ok "retry" bcurl RetryJob "{\"id\": \"$FIRST\"}"
expect_json "retry" job.state JOB_STATE_QUEUED
expect_json "retry" job.attempt 2
expect_json "retry" job.errorMessage '<missing>'

# --- errors: buf exits with the gRPC code x 8 ----------------------------------------------
expect_error "retry a queued job" 72 failed_precondition RetryJob "{\"id\": \"$FIRST\"}"
expect_error "get unknown" 40 not_found GetJob "{\"id\": \"$UNKNOWN_ID\"}"
expect_error "create bad type" 24 invalid_argument CreateJob \
  "{\"workspace_id\": \"$WS\", \"type\": \"Bad Type\"}"
expect_contains "create bad type" "$ERR" "type"

expect_ok "idempotent create" bcurl CreateJob \
  "{\"workspace_id\": \"$WS\", \"type\": \"once\", \"idempotency_key\": \"k1\"}"
ONCE=$(json_get job.id)
expect_ok "idempotent repeat" bcurl CreateJob \
  "{\"workspace_id\": \"$WS\", \"type\": \"once\", \"idempotency_key\": \"k1\"}"
expect_json "idempotent repeat" job.id "$ONCE"
expect_error "idempotent conflict" 48 already_exists CreateJob \
  "{\"workspace_id\": \"$WS\", \"type\": \"once\", \"idempotency_key\": \"k1\", \"priority\": 9}"

# --- without a key -------------------------------------------------------------------------
expect_rc "no key" 128 "$BUF" curl --protocol grpc --http2-prior-knowledge --schema . \
  -d "{\"workspace_id\": \"$WS\"}" "http://$E2E_ADDRESS/jobd.v1.JobService/ListJobs"
expect_contains "no key" "$ERR" '"code": "unauthenticated"'

# --- server reflection (no --schema, and no key: reflection needs none) ---------------------
expect_ok "list services" "$BUF" curl --protocol grpc --http2-prior-knowledge --list-services \
  "http://$E2E_ADDRESS"
expect_contains "list services" "$OUT" "jobd.v1.JobService"
expect_contains "list services" "$OUT" "jobd.v1.WorkerService"
expect_contains "list services" "$OUT" "jobd.v1.AdminService"

expect_ok "create by reflection" "$BUF" curl --protocol grpc --http2-prior-knowledge \
  -H "Authorization: Bearer $E2E_API_KEY" -d "{\"workspace_id\": \"$WS\", \"type\": \"reflected\"}" \
  "http://$E2E_ADDRESS/jobd.v1.JobService/CreateJob"
expect_json "create by reflection" job.state JOB_STATE_QUEUED
expect_json "create by reflection" job.type reflected

# --- health (no key needed) ------------------------------------------------------------------
expect_ok "health" "$BUF" curl --protocol grpc --http2-prior-knowledge --schema "$HEALTH_PROTO" \
  -d '{}' "http://$E2E_ADDRESS/grpc.health.v1.Health/Check"
expect_json "health" status SERVING
