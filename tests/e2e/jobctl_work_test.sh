#!/usr/bin/env bash
# End-to-end: `jobctl work` against a real jobd and PostgreSQL. Programs run as jobs: one that
# reports progress and a result, one that outlives its lease thanks to heartbeats, one that
# fails, one whose worker is killed with -9 mid-job (the job is retried by a second worker once
# the lease expires), one that is cancelled while it runs (it gets SIGTERM within two heartbeat
# intervals), one that is handed back by a graceful stop, one whose failed first attempt saves a
# checkpoint that the second attempt resumes from, and one paused while it runs (stopped like a
# cancel, not reported) then resumed to the end. Every wait is a deadline + poll.
#
#   JOBD_TEST_DATABASE_URL=postgresql://... tests/e2e/jobctl_work_test.sh JOBD JOBCTL

# The programs the workers run are single-quoted on purpose: they expand their own variables.
# shellcheck disable=SC2016
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_start_with_jobctl "$@"

WS=e2e
# The programs below write their marker files here (they get it through the environment).
export T=$E2E_TMP


# start_worker NAME JOBCTL_WORK_ARGS...: a `jobctl work` in the background, worker id NAME.
start_worker() {
  local name=$1
  shift
  e2e_spawn "$name" "$JOBCTL" --address "$E2E_ADDRESS" work --workspace "$WS" \
    --worker-id "$name" "$@"
}

job_state_is() {
  run jctl get "$1"
  ((RC == 0)) || fail "get $1: exit code $RC, stderr: $ERR"
  [[ $(json_get job.state) == "$2" ]]
}

# wait_for_state ID STATE SECS: polls until the job is in STATE; $OUT holds the last get.
wait_for_state() {
  wait_until "job $1 in $2" "$3" job_state_is "$1" "$2"
}

file_exists() { [[ -s $1 ]]; }
log_has() { grep -qF -- "$2" "$E2E_TMP/$1.log"; }

# expect_sigterm WHAT FILE START: FILE (the program's TERM trap writes it) appears within 4 s of
# START ($EPOCHREALTIME). Lease 3 s -> a heartbeat every 1 s -> SIGTERM at most ~1 s after the
# change; 4 s allows two intervals plus 2 s for a loaded machine's late heartbeat and signal.
expect_sigterm() {
  local what=$1 file=$2 start=$3 deadline
  deadline=$(awk -v t="$start" 'BEGIN { printf "%.3f", t + 4 }')
  until [[ -s $file ]]; do
    awk -v now="$EPOCHREALTIME" -v d="$deadline" 'BEGIN { exit !(now < d) }' ||
      fail "$what: the program got no SIGTERM within 4 s"
    sleep 0.02
  done
  log "$what: SIGTERM $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }') s after"
}

# --- (a) progress, messages, result ---------------------------------------------------------
start_worker w-ok --type e2e.ok -- sh -c '
  cat >"$T/ok-stdin"
  printf "%s %s %s\n" "$JOBD_JOB_ID" "$JOBD_ATTEMPT" "$JOBD_JOB_TYPE" >"$T/ok-env"
  echo "progress 50 half"
  echo "an info line"
  echo "a warning line" >&2
  echo "{\"sum\": 3, \"attempt\": $JOBD_ATTEMPT}"'
expect_ok "create ok" jctl create --workspace "$WS" --type e2e.ok --payload '{"a": 1, "b": [2]}'
OK=$(json_get job.id)
wait_for_state "$OK" JOB_STATE_SUCCEEDED 20
expect_json "ok" job.result '{"attempt": 1, "sum": 3}'
# CompleteJob sets 100 %; the message stays the last one reported.
expect_json "ok" job.progress_percent 100
expect_json "ok" job.progress_message half
expect_json "ok" job.attempt 1
expect_json "ok" job.worker_id w-ok
expect_json "ok" job.error_message ''
# The payload's keys come in no particular order (a proto map), so compare it parsed.
OUT=$(<"$T/ok-stdin")
expect_json "ok: stdin" . '{"a": 1, "b": [2]}'
[[ $(<"$T/ok-env") == "$OK 1 e2e.ok" ]] || fail "ok: environment was '$(<"$T/ok-env")'"

# --- heartbeats: a job that runs three times as long as its lease keeps it -----------------
# Lease 3 s: without a heartbeat every ~1 s the reaper would fail attempt 1. (Not 1 s: a
# heartbeat may take no longer than its interval, and a loaded machine can miss ~333 ms twice.)
start_worker w-long --type e2e.long --lease 3s -- sh -c 'sleep 9; echo "{\"slept\": 9}"'
expect_ok "create long" jctl create --workspace "$WS" --type e2e.long
LONG=$(json_get job.id)
wait_for_state "$LONG" JOB_STATE_SUCCEEDED 30
expect_json "long" job.attempt 1
expect_json "long" job.result '{"slept": 9}'
expect_json "long" job.worker_id w-long

# --- (b) a failing program ------------------------------------------------------------------
start_worker w-fail --type e2e.fail -- sh -c 'echo "about to fail"; echo boom >&2; exit 3'
expect_ok "create fail" jctl create --workspace "$WS" --type e2e.fail --max-attempts 1
FAILING=$(json_get job.id)
wait_for_state "$FAILING" JOB_STATE_FAILED 20
expect_json "fail" job.error_message $'exit code 3; stderr:\nboom'
expect_json "fail" job.attempt 1
expect_json "fail" job.worker_id w-fail

# --- (c) kill -9 of the worker mid-job: a second worker finishes it after the lease expires ---
# Attempt 1 sleeps (until the test kills it); attempt 2 finishes at once.
LOST_CMD='echo $$ >"$T/lost-started-$JOBD_ATTEMPT"
  if [ "$JOBD_ATTEMPT" = 1 ]; then exec sleep 60; fi
  echo "{\"attempt\": $JOBD_ATTEMPT}"'
start_worker w-lost-1 --type e2e.lost --lease 2s -- sh -c "$LOST_CMD"
LOST_PID=$SPAWNED_PID
expect_ok "create lost" jctl create --workspace "$WS" --type e2e.lost --max-attempts 3 \
  --initial-backoff 100ms --max-backoff 200ms
LOST=$(json_get job.id)
wait_until "lost: attempt 1 started" 20 file_exists "$T/lost-started-1"
# The orphaned `sleep` is in its own process group, whose id is its pid.
e2e_track_group "$(<"$T/lost-started-1")"
expect_ok "lost: get while running" jctl get "$LOST"
expect_json "lost: running" job.state JOB_STATE_RUNNING
expect_json "lost: running" job.worker_id w-lost-1
# Reaped with the shell's stderr muted: bash would report the kill as "Killed".
exec 3>&2 2>/dev/null
kill -KILL "$LOST_PID"
wait "$LOST_PID" || true
exec 2>&3 3>&-
start_worker w-lost-2 --type e2e.lost --lease 2s -- sh -c "$LOST_CMD"
# Lease 2 s + reaper (1 s) + backoff (<= 200 ms) + promotion and acquire: well within 30 s.
wait_for_state "$LOST" JOB_STATE_SUCCEEDED 30
expect_json "lost" job.attempt 2
expect_json "lost" job.worker_id w-lost-2
expect_json "lost" job.result '{"attempt": 2}'
[[ -s $T/lost-started-2 ]] || fail "lost: attempt 2 never ran the program"
# Its history shows the lost attempt: RUNNING as attempt 1, then SCHEDULED as attempt 2 with
# the reaper's "worker w-lost-1 lost" error, then RUNNING and SUCCEEDED as attempt 2.
expect_ok "lost: events" "$E2E_REPO/tests/node/node_modules/.bin/buf" curl --protocol grpc \
  --http2-prior-knowledge --schema "$E2E_REPO/proto" -H "Authorization: Bearer $E2E_API_KEY" \
  -d "{\"id\": \"$LOST\"}" \
  "http://$E2E_ADDRESS/jobd.v1.JobService/ListJobEvents"
HISTORY=$("$E2E_PYTHON" -c '
import json, sys
for e in json.load(sys.stdin)["events"]:
    job = e["job"]
    print(e["kind"][len("JOB_EVENT_KIND_"):], job["state"][len("JOB_STATE_"):], job.get("attempt"),
          job.get("errorMessage", "").split(":")[0])
' <<<"$OUT")
EXPECTED_PREFIX=$'CREATED QUEUED 1 \nSTATE_CHANGED RUNNING 1 \nSTATE_CHANGED SCHEDULED 2 worker w-lost-1 lost'
[[ $HISTORY == "$EXPECTED_PREFIX"* ]] || fail "lost: history is:
$HISTORY"
# (A promotion to QUEUED may come between, and the program's output lines are MESSAGE events.)
[[ $HISTORY == *$'\nSTATE_CHANGED RUNNING 2 worker w-lost-1 lost\n'* ]] ||
  fail "lost: no RUNNING event for attempt 2:
$HISTORY"
[[ $(tail -n 1 <<<"$HISTORY") == "STATE_CHANGED SUCCEEDED 2 " ]] || fail "lost: history ends wrong:
$HISTORY"

# --- (d) cancel a running job: the program gets SIGTERM within two heartbeat intervals ------
# (expect_sigterm). Nothing else would stop the program (it loops until signalled, and its
# worker keeps heartbeating), so a worker that missed the cancel fails this however generous
# the bound.
start_worker w-cancel --type e2e.cancel --lease 3s --grace 5s -- sh -c '
  trap "echo term >\"\$T/cancel-term\"; exit 0" TERM
  echo $$ >"$T/cancel-started"
  while :; do sleep 0.05; done'
expect_ok "create cancel" jctl create --workspace "$WS" --type e2e.cancel
CANCEL=$(json_get job.id)
wait_until "cancel: program started" 20 file_exists "$T/cancel-started"
cancel_start=$EPOCHREALTIME
expect_ok "cancel" jctl cancel "$CANCEL" --reason "changed my mind"
expect_json "cancel" job.state JOB_STATE_CANCELLED
expect_sigterm "cancel" "$T/cancel-term" "$cancel_start"
# The worker lets go of the attempt without reporting it; the job stays CANCELLED.
wait_until "cancel: the worker let go" 30 log_has w-cancel "not reported: job cancelled"
expect_ok "cancel: get" jctl get "$CANCEL"
expect_json "cancel: after" job.state JOB_STATE_CANCELLED
expect_json "cancel: after" job.error_message "changed my mind"
expect_json "cancel: after" job.attempt 1

# --- (e) graceful stop: SIGTERM to jobctl work hands a running job back ---------------------
# Grace 1 s: the program ignores the stop, so after 1 s the job goes back to the server
# (FailJob "worker stopped", retryable) and the program gets SIGTERM. A backoff of an hour
# keeps the handed-back job SCHEDULED while we look at it.
start_worker w-stop --type e2e.stop --lease 3s --grace 1s -- sh -c '
  trap "echo term >\"\$T/stop-term\"; exit 0" TERM
  echo $$ >"$T/stop-started"
  while :; do sleep 0.05; done'
STOP_PID=$SPAWNED_PID
expect_ok "create stop" jctl create --workspace "$WS" --type e2e.stop --max-attempts 2 \
  --initial-backoff 1h --max-backoff 1h
STOPPED=$(json_get job.id)
wait_until "stop: program started" 20 file_exists "$T/stop-started"
kill -TERM "$STOP_PID"
exited() { ! kill -0 "$1" 2>/dev/null; }
wait_until "stop: jobctl work exited" 30 exited "$STOP_PID"
stop_rc=0
wait "$STOP_PID" || stop_rc=$?
((stop_rc == 0)) || fail "stop: jobctl work exited with $stop_rc, want 0"
[[ -s $T/stop-term ]] || fail "stop: the program got no SIGTERM"
expect_ok "stop: get" jctl get "$STOPPED"
expect_json "stop" job.state JOB_STATE_SCHEDULED
expect_json "stop" job.attempt 2
expect_json "stop" job.error_message "worker stopped"
log_has w-stop "handed back (worker stopped)" || fail "stop: no hand-back in the worker's log"

# --- (f) a busy worker finishes jobs on its next AcquireJobs --------------------------------
# With both slots busy the acquirer waits for one; a job that ends then rides its next call
# (AcquireJobsRequest.completed) instead of a CompleteJob of its own.
start_worker w-busy --type e2e.busy --concurrency 2 -- sh -c 'echo "{\"done\": true}"'
completes_before=$(grep -c '"method":"CompleteJob"' "$E2E_TMP/jobd.log" || true)
seq 1 20 | sed 's/.*/{"payload": {"n": &}}/' >"$E2E_TMP/busy.jsonl"
expect_ok "busy: create" jctl create --workspace "$WS" --type e2e.busy --from-file "$E2E_TMP/busy.jsonl"
busy_done() {
  run jctl list --workspace "$WS" --type e2e.busy --state succeeded --page-size 100
  ((RC == 0)) && [[ $(json_get jobs.19.state) == JOB_STATE_SUCCEEDED ]]
}
wait_until "busy: 20 jobs succeeded" 60 busy_done
expect_json "busy: results" jobs.0.result '{"done": true}'
completes=$(($(grep -c '"method":"CompleteJob"' "$E2E_TMP/jobd.log" || true) - completes_before))
log "busy: $completes of 20 completions by CompleteJob, the rest on AcquireJobs"
((completes < 20)) || fail "busy: every completion was a CompleteJob call ($completes)"

# --- (g) checkpoints: attempt 1 saves one and fails, attempt 2 starts from it ---------------
# Each attempt writes the JOBD_CHECKPOINT it got; attempt 1 also prints a bad checkpoint line,
# which is reported and ignored (the good one before it stays).
start_worker w-resume --type e2e.resume -- sh -c '
  printf "%s" "${JOBD_CHECKPOINT-unset}" >"$T/resume-seen-$JOBD_ATTEMPT"
  if [ "$JOBD_ATTEMPT" = 1 ]; then
    echo "checkpoint {\"page\": 3}"
    echo "checkpoint [\"not\", \"an object\"]"
    echo "lost at page 4" >&2
    exit 1
  fi
  echo "{\"resumed_from\": $JOBD_CHECKPOINT}"'
expect_ok "create resume" jctl create --workspace "$WS" --type e2e.resume --max-attempts 2 \
  --initial-backoff 100ms --max-backoff 200ms
RESUME=$(json_get job.id)
wait_for_state "$RESUME" JOB_STATE_SUCCEEDED 30
expect_json "resume" job.attempt 2
expect_json "resume" job.result '{"resumed_from": {"page": 3}}'
expect_json "resume" job.checkpoint '{"page": 3}'
[[ $(<"$T/resume-seen-1") == unset ]] ||
  fail "resume: attempt 1 got JOBD_CHECKPOINT '$(<"$T/resume-seen-1")', want it unset"
[[ $(<"$T/resume-seen-2") == '{"page":3}' ]] ||
  fail "resume: attempt 2 got JOBD_CHECKPOINT '$(<"$T/resume-seen-2")', want '{\"page\":3}'"
log_has w-resume "job $RESUME: checkpoint: must be a JSON object" ||
  fail "resume: the bad checkpoint line is not in the worker's stderr"

# --- (h) pause a running job: its program is stopped as for a cancel, the job waits PAUSED ---
# Resume queues it again with the same attempt, and a worker runs it to the end: this time the
# program finds the marker of its stop and finishes at once.
start_worker w-pause --type e2e.pause --lease 3s --grace 5s -- sh -c '
  if [ -s "$T/pause-term" ]; then echo "{\"resumed_attempt\": $JOBD_ATTEMPT}"; exit 0; fi
  trap "echo term >\"\$T/pause-term\"; exit 0" TERM
  echo $$ >"$T/pause-started"
  while :; do sleep 0.05; done'
expect_ok "create pause" jctl create --workspace "$WS" --type e2e.pause --max-attempts 1
PAUSE=$(json_get job.id)
wait_until "pause: program started" 20 file_exists "$T/pause-started"
pause_start=$EPOCHREALTIME
expect_ok "pause" jctl pause "$PAUSE"
expect_json "pause" job.state JOB_STATE_PAUSED
expect_sigterm "pause" "$T/pause-term" "$pause_start"
# The worker lets go of the attempt without reporting it (its program exited 0: no result).
wait_until "pause: the worker let go" 30 log_has w-pause "not reported: job paused"
log_has w-pause "job $PAUSE (e2e.pause, attempt 1): paused: stopped (exit code 0)" ||
  fail "pause: jobctl work did not log the pause"
expect_ok "pause: get" jctl get "$PAUSE"
expect_json "pause: after" job.state JOB_STATE_PAUSED
expect_json "pause: after" job.attempt 1
expect_json "pause: after" job.error_message ''
expect_ok "resume" jctl resume "$PAUSE"
expect_json "resume" job.state JOB_STATE_QUEUED
expect_json "resume" job.attempt 1
# With --max-attempts 1, a pause that used up the attempt could not run again.
wait_for_state "$PAUSE" JOB_STATE_SUCCEEDED 20
expect_json "pause: resumed" job.attempt 1
expect_json "pause: resumed" job.result '{"resumed_attempt": 1}'
expect_json "pause: resumed" job.worker_id w-pause
