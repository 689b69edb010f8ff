#!/usr/bin/env bash
# End-to-end: `jobctl run` and `jobctl create --wait` against a real jobd and PostgreSQL, with
# a `jobctl work` doing the jobs. Asserts the exit codes (0 only on SUCCEEDED, 1 on FAILED or
# CANCELLED) and the final job that is printed.
#
#   JOBD_TEST_DATABASE_URL=postgresql://... tests/e2e/jobctl_run_test.sh JOBD JOBCTL

# The programs the workers run are single-quoted on purpose: they expand their own variables.
# shellcheck disable=SC2016
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_start_with_jobctl "$@"

WS=e2e


# The program fails when the payload asks it to.
e2e_spawn worker "$JOBCTL" --address "$E2E_ADDRESS" work --workspace "$WS" --type e2e.run \
  --worker-id w-run -- sh -c '
    payload=$(cat)
    case $payload in
      *fail*) echo "bad input" >&2; exit 4 ;;
    esac
    echo "{\"ok\": true}"'

# --- success: exit 0 ------------------------------------------------------------------------
expect_rc "run ok" 0 jctl run --workspace "$WS" --type e2e.run --payload '{"mode": "ok"}'
expect_json "run ok" job.state JOB_STATE_SUCCEEDED
expect_json "run ok" job.result '{"ok": true}'
expect_json "run ok" job.worker_id w-run

expect_rc "create --wait ok" 0 jobctl create --wait --workspace "$WS" --type e2e.run
[[ $OUT =~ (^|$'\n')state:\ +SUCCEEDED($'\n') ]] || fail "create --wait ok: no 'state: SUCCEEDED' in: $OUT"
[[ $OUT =~ (^|$'\n')result:\ +\{\"ok\":true\}($'\n') ]] || fail "create --wait ok: no result in: $OUT"

# --- failure: exit 1 ------------------------------------------------------------------------
expect_rc "run fail" 1 jctl run --workspace "$WS" --type e2e.run --payload '{"mode": "fail"}' \
  --max-attempts 1
expect_json "run fail" job.state JOB_STATE_FAILED
expect_json "run fail" job.error_message $'exit code 4; stderr:\nbad input'
[[ -z $ERR ]] || fail "run fail: stderr should be empty, got: $ERR"

expect_rc "create --wait fail" 1 jobctl create --wait --workspace "$WS" --type e2e.run \
  --payload '{"mode": "fail"}' --max-attempts 1
[[ $OUT =~ (^|$'\n')state:\ +FAILED($'\n') ]] || fail "create --wait fail: no 'state: FAILED' in: $OUT"
[[ $OUT =~ (^|$'\n')error:\ +exit\ code\ 4 ]] || fail "create --wait fail: no error in: $OUT"

# --- cancelled while waiting: exit 1 --------------------------------------------------------
# No worker takes e2e.nobody, so the job waits QUEUED until we cancel it.
"$JOBCTL" --address "$E2E_ADDRESS" --output json run --workspace "$WS" --type e2e.nobody \
  >"$E2E_TMP/cancelled.out" 2>"$E2E_TMP/cancelled.err" &
WAITER=$!
E2E_SPAWNED_PIDS+=("$WAITER")  # stopped at exit if the test fails before it returns
queued_job() {
  run jctl list --workspace "$WS" --type e2e.nobody
  ((RC == 0)) && [[ $(json_get jobs.0.id) != '<missing>' ]]
}
wait_until "run: the job to cancel exists" 10 queued_job
NOBODY=$(json_get jobs.0.id)
expect_ok "cancel" jctl cancel "$NOBODY" --reason "not today"
exited() { ! kill -0 "$1" 2>/dev/null; }
wait_until "run: returned after the cancel" 10 exited "$WAITER"
rc=0
wait "$WAITER" || rc=$?
((rc == 1)) || fail "run cancelled: exit code $rc, want 1; stderr: $(<"$E2E_TMP/cancelled.err")"
OUT=$(<"$E2E_TMP/cancelled.out")
expect_json "run cancelled" job.id "$NOBODY"
expect_json "run cancelled" job.state JOB_STATE_CANCELLED
expect_json "run cancelled" job.error_message "not today"

# --- errors: a call the server refuses is 1, bad usage 2 ------------------------------------
expect_rc "run bad type" 1 jctl run --workspace "$WS" --type "Bad Type"
expect_contains "run bad type" "$ERR" "jobctl: INVALID_ARGUMENT: "
expect_rc "run without type" 2 jctl run --workspace "$WS"
expect_rc "run bad backoff" 2 jctl run --workspace "$WS" --type x --initial-backoff soon
expect_contains "run bad backoff" "$ERR" "--initial-backoff"
