#!/usr/bin/env bash
# End-to-end: what deploy/compose.yaml runs in its containers, run here against a real jobd and
# PostgreSQL (no Docker): the image's scripts and the example worker's command.
#   - entrypoint.sh migrate: jobd migrate of the database (exit 0); entrypoint.sh serve with
#     the image's defaults and no TLS: refused by jobd (exit 2) before it listens;
#   - ensure-key.sh (the compose "keys" service): makes the admin and worker keys (mode 0600,
#     working keys: whoami), keeps them on a second run, replaces a revoked one (the old file
#     kept as .old) with a working one;
#   - healthcheck.sh against the served jobd's HTTP port: exit 0;
#   - the compose worker's exact command (read from compose.yaml, $$ as compose turns it into
#     $), with the worker key: a job of type example.echo SUCCEEDS with {"echo": payload}.
#
#   JOBD_TEST_DATABASE_URL=postgresql://... tests/deploy/container_scripts_e2etest.sh JOBD JOBCTL
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"

e2e_start_with_jobctl "$@"
JOBD=$(realpath "$1")
D=$E2E_REPO/deploy/docker
KEYS=$E2E_TMP/keys
mkdir -m 0700 "$KEYS"

# In the image, JOBD_DATABASE_URL comes from the environment and jobd is on PATH.
in_image() { env -u JOBD_API_KEY JOBD_BIN="$JOBD" JOBD_DATABASE_URL="$E2E_DATABASE_URL" "$@"; }

# --- entrypoint.sh -----------------------------------------------------------------------------
expect_ok "entrypoint migrate" in_image "$D/entrypoint.sh" migrate
expect_contains "entrypoint migrate" "$ERR" "schema is up to date"
expect_rc "entrypoint serve without TLS or JOBD_ALLOW_INSECURE_LISTEN" 2 \
  in_image env -u JOBD_LISTEN -u JOBD_HTTP_LISTEN "$D/entrypoint.sh" serve
expect_contains "entrypoint serve refused" "$ERR" "0.0.0.0:50051 is not a loopback address"

# --- ensure-key.sh -----------------------------------------------------------------------------
ensure_admin() {
  in_image "$D/ensure-key.sh" "$KEYS/admin.key" --role admin --name compose-admin
}
expect_ok "ensure-key admin (new)" ensure_admin
mode=$(stat -c %a "$KEYS/admin.key")
[[ $mode == 600 ]] || fail "admin.key has mode $mode, want 600"
first=$(<"$KEYS/admin.key")
whoami_with() {
  env -u JOBD_API_KEY "$JOBCTL" --address "$E2E_ADDRESS" --output json --api_key_file "$1" whoami
}
# A key made straight in the database reaches the running jobd within --key_refresh_interval.
works() { run whoami_with "$1" && ((RC == 0)); }
wait_until "the new admin key works" 5 works "$KEYS/admin.key"
expect_json "whoami admin" name compose-admin
expect_ok "ensure-key admin (again)" ensure_admin
expect_contains "ensure-key admin (again)" "$ERR" "is a live key; kept"
[[ $(<"$KEYS/admin.key") == "$first" ]] || fail "a live key was replaced"

# Revoke it (as jobd keys revoke would by hand): the next run makes a new one.
run in_image "$JOBD" keys list
((RC == 0)) || fail "jobd keys list: $ERR"
id=$(awk -v p="${first:0:12}" '$0 ~ p { print $1 }' <<<"$OUT")
[[ -n $id ]] || fail "the admin key is not in jobd keys list: $OUT"
expect_ok "jobd keys revoke" in_image "$JOBD" keys revoke "$id"
expect_ok "ensure-key admin (after revoke)" ensure_admin
expect_contains "ensure-key admin (after revoke)" "$ERR" "is not a live key of this database"
[[ $(<"$KEYS/admin.key.old") == "$first" ]] || fail "the revoked key was not kept as .old"
[[ $(<"$KEYS/admin.key") != "$first" ]] || fail "the revoked key is still in admin.key"
wait_until "the replacing admin key works" 5 works "$KEYS/admin.key"
expect_json "whoami admin" name compose-admin

expect_ok "ensure-key worker" in_image "$D/ensure-key.sh" "$KEYS/worker.key" --role worker \
  --workspace demo --name compose-worker
wait_until "the worker key works" 5 works "$KEYS/worker.key"
expect_json "whoami worker" name compose-worker

# --- healthcheck.sh ----------------------------------------------------------------------------
expect_ok "healthcheck on the serving jobd" env JOBD_HTTP_LISTEN="127.0.0.1:$E2E_HTTP_PORT" \
  "$D/healthcheck.sh"

# --- the compose worker ------------------------------------------------------------------------
# Its command as the container runs it: compose.yaml's list, $$ turned into $.
mapfile -d '' -t WORKER < <("$E2E_PYTHON" -c '
import sys, yaml
cmd = yaml.safe_load(open(sys.argv[1]))["services"]["worker"]["command"]
sys.stdout.write("".join(str(c).replace("$$", "$") + "\0" for c in cmd))
' "$E2E_REPO/deploy/compose.yaml")
[[ ${WORKER[0]:-} == jobctl && ${WORKER[1]:-} == work ]] ||
  fail "the compose worker does not run jobctl work: ${WORKER[*]}"
log "compose worker: ${WORKER[*]}"
e2e_spawn worker env -u JOBD_API_KEY JOBD_ADDRESS="$E2E_ADDRESS" \
  JOBD_API_KEY_FILE="$KEYS/worker.key" JOBD_WORKSPACE=demo "$JOBCTL" "${WORKER[@]:1}"

expect_ok "create example.echo" jctl create -w demo --type example.echo \
  --payload '{"hello": "world"}'
ID=$(json_get job.id)
succeeded() {
  run jctl get "$ID"
  [[ $(json_get job.state) == JOB_STATE_SUCCEEDED ]]
}
wait_until "example.echo job $ID SUCCEEDED" 30 succeeded
expect_json "the worker's result" job.result '{"echo": {"hello": "world"}}'
expect_ok "events" jctl events "$ID"
expect_contains "the worker's progress line" "$OUT" " bytes"
log "ok: entrypoint, ensure-key, healthcheck and the compose worker"
