#!/usr/bin/env bash
# End-to-end: jobctl against a real jobd and PostgreSQL. Walks a job through
# create -> get -> list -> cancel -> retry and checks errors, delayed jobs, idempotency and
# the text output; then pause, resume and delete, the bulk operations (dry runs, filters, ids)
# and the queues, asserting exact values of jobctl's JSON output.
#
#   JOBD_TEST_DATABASE_URL=postgresql://... tests/e2e/jobctl_test.sh JOBD JOBCTL
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_start_with_jobctl "$@"

WS=e2e
UNKNOWN_ID=01890a5d-ac96-774b-bcce-b302099a8057


# --- create, get ---------------------------------------------------------------------------
expect_ok "create" jctl create --workspace "$WS" --type import.csv --payload '{"rows": 10}' \
  --label team=data --label env=test --priority 5
expect_json "create" job.state JOB_STATE_QUEUED
expect_json "create" job.type import.csv
expect_json "create" job.workspace_id "$WS"
expect_json "create" job.labels '{"env": "test", "team": "data"}'
expect_json "create" job.payload '{"rows": 10}'
expect_json "create" job.priority 5
expect_json "create" job.requested_by test-admin
expect_json "create" job.attempt 1
expect_json "create" job.error_message ''
FIRST=$(json_get job.id)
[[ $FIRST =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] ||
  fail "create: job.id '$FIRST' is not a UUID"

expect_ok "get" jctl get "$FIRST"
expect_json "get" job.id "$FIRST"
expect_json "get" job.state JOB_STATE_QUEUED
expect_json "get" job.type import.csv

# --- list: newest first, filters, pages ----------------------------------------------------
expect_ok "create second" jctl create --workspace "$WS" --type report.build
SECOND=$(json_get job.id)

expect_ok "list" jctl list --workspace "$WS"
expect_json "list" jobs.0.id "$SECOND"
expect_json "list" jobs.1.id "$FIRST"
expect_json "list" jobs.2 '<missing>'
expect_json "list" next_page_token ''

expect_ok "list by type and state" jctl list --workspace "$WS" --type import.csv --state queued
expect_json "list by type and state" jobs.0.id "$FIRST"
expect_json "list by type and state" jobs.1 '<missing>'

expect_ok "list by label" jctl list --workspace "$WS" --label team=data
expect_json "list by label" jobs.0.id "$FIRST"
expect_json "list by label" jobs.1 '<missing>'

expect_ok "list page 1" jctl list --workspace "$WS" --page-size 1
expect_json "list page 1" jobs.0.id "$SECOND"
expect_json "list page 1" jobs.1 '<missing>'
TOKEN=$(json_get next_page_token)
[[ -n $TOKEN ]] || fail "list page 1: next_page_token is empty"
expect_ok "list page 2" jctl list --workspace "$WS" --page-size 1 --page-token "$TOKEN"
expect_json "list page 2" jobs.0.id "$FIRST"

expect_ok "list --all" jctl list --workspace "$WS" --page-size 1 --all
expect_json "list --all" jobs.0.id "$SECOND"
expect_json "list --all" jobs.1.id "$FIRST"
expect_json "list --all" jobs.2 '<missing>'
expect_json "list --all" next_page_token ''

# --- cancel, retry -------------------------------------------------------------------------
expect_ok "cancel" jctl cancel "$FIRST" --reason "no longer needed"
expect_json "cancel" job.id "$FIRST"
expect_json "cancel" job.state JOB_STATE_CANCELLED
expect_json "cancel" job.error_message "no longer needed"

expect_ok "cancel again" jctl cancel "$FIRST"
expect_json "cancel again" job.state JOB_STATE_CANCELLED

expect_ok "retry" jctl retry "$FIRST"
expect_json "retry" job.state JOB_STATE_QUEUED
expect_json "retry" job.attempt 2
expect_json "retry" job.error_message ''

expect_rc "retry a queued job" 1 jctl retry "$FIRST"
expect_contains "retry a queued job" "$ERR" "jobctl: FAILED_PRECONDITION: "

# --- errors --------------------------------------------------------------------------------
expect_rc "get unknown" 1 jctl get "$UNKNOWN_ID"
expect_contains "get unknown" "$ERR" "jobctl: NOT_FOUND: "

expect_rc "create bad type" 1 jctl create --workspace "$WS" --type "Bad Type"
expect_contains "create bad type" "$ERR" "jobctl: INVALID_ARGUMENT: "
expect_contains "create bad type" "$ERR" "type"

expect_rc "create bad payload" 2 jctl create --workspace "$WS" --type x --payload '{"rows":'
expect_contains "create bad payload" "$ERR" "--payload"
expect_rc "create array payload" 2 jctl create --workspace "$WS" --type x --payload '[1]'
expect_contains "create array payload" "$ERR" "--payload: must be a JSON object"
expect_rc "create bad ttl" 2 jctl create --workspace "$WS" --type x --ttl soon
expect_contains "create bad ttl" "$ERR" "--ttl"
expect_rc "list bad state" 2 jctl list --workspace "$WS" --state sleeping
expect_contains "list bad state" "$ERR" "--state"
expect_rc "create without type" 2 jctl create --workspace "$WS"

# --- delayed job ---------------------------------------------------------------------------
expect_ok "create delayed" jctl create --workspace "$WS" --type later --run-after 1h \
  --ttl 2h --timeout 1m30s --max-attempts 5
expect_json "create delayed" job.state JOB_STATE_SCHEDULED
expect_json "create delayed" job.ttl 7200s
expect_json "create delayed" job.timeout 90s
expect_json "create delayed" job.retry_policy.max_attempts 5

# --- idempotency ---------------------------------------------------------------------------
expect_ok "idempotent create" jctl create --workspace "$WS" --type once \
  --idempotency-key k1 --payload '{"n": 1}'
ONCE=$(json_get job.id)
expect_ok "idempotent repeat" jctl create --workspace "$WS" --type once \
  --idempotency-key k1 --payload '{"n": 1}'
expect_json "idempotent repeat" job.id "$ONCE"
expect_rc "idempotent conflict" 1 jctl create --workspace "$WS" --type once \
  --idempotency-key k1 --payload '{"n": 2}'
expect_contains "idempotent conflict" "$ERR" "jobctl: ALREADY_EXISTS: "

# --- create --from-file: BatchCreateJobs, each batch all or nothing -------------------------
cat >"$E2E_TMP/jobs.jsonl" <<'JSONL'
{"payload": {"n": 1}}

{"type": "bulk.other", "priority": 9, "labels": {"env": "prod"}}
{"idempotencyKey": "bulk-k", "payload": {"n": 3}}
JSONL
expect_ok "from file" jctl create --workspace "$WS" --type bulk.one --label team=bulk \
  --from-file "$E2E_TMP/jobs.jsonl" --batch-size 2
expect_json "from file" jobs.0.type bulk.one
expect_json "from file" jobs.0.payload '{"n": 1}'
expect_json "from file" jobs.0.labels '{"team": "bulk"}'
expect_json "from file" jobs.1.type bulk.other
expect_json "from file" jobs.1.priority 9
expect_json "from file" jobs.1.labels '{"env": "prod", "team": "bulk"}'
expect_json "from file" jobs.2.idempotency_key bulk-k
expect_json "from file" jobs.3 '<missing>'
BULK_K=$(json_get jobs.2.id)
# A refused batch: line 2 reuses bulk-k with another payload; nothing of it is written.
printf '%s\n' '{"type": "bulk.new"}' '{"idempotencyKey": "bulk-k", "payload": {"n": 4}}' \
  >"$E2E_TMP/conflict.jsonl"
expect_rc "from file conflict" 1 jctl create --workspace "$WS" --type bulk.one \
  --from-file "$E2E_TMP/conflict.jsonl"
expect_contains "from file conflict" "$ERR" "line 2 was refused"
expect_contains "from file conflict" "$ERR" "ALREADY_EXISTS: requests[1].idempotency_key: job $BULK_K"
expect_ok "from file conflict wrote nothing" jctl list --workspace "$WS" --type bulk.new
expect_json "from file conflict wrote nothing" jobs.0 '<missing>'
printf '%s\n' '{"type": "bulk.x"}' '{"tpye": "oops"}' >"$E2E_TMP/bad.jsonl"
expect_rc "from file bad line" 2 jctl create --workspace "$WS" --from-file "$E2E_TMP/bad.jsonl"
expect_contains "from file bad line" "$ERR" "--from-file: line 2: "
expect_ok "from stdin" jobctl create --workspace "$WS" --type bulk.stdin --from-file - \
  < <(printf '%s\n' '{}' '{}')
HEADER=$(head -n 1 <<<"$OUT")
[[ $HEADER =~ ^ID\ +TYPE\ +STATE ]] || fail "from stdin: header is '$HEADER'"
[[ $(grep -c 'bulk.stdin' <<<"$OUT") == 2 ]] || fail "from stdin: not 2 jobs in: $OUT"

# --- text output ---------------------------------------------------------------------------
expect_ok "text list" jobctl list --workspace "$WS"
HEADER=$(head -n 1 <<<"$OUT")
[[ $HEADER =~ ^ID\ +TYPE\ +STATE\ +PROGRESS\ +AGE\ +DURATION$ ]] ||
  fail "text list: header is '$HEADER'"
expect_contains "text list" "$OUT" "$FIRST  import.csv"
expect_contains "text list" "$OUT" "SCHEDULED"

expect_ok "text list page" jobctl list --workspace "$WS" --page-size 1
expect_contains "text list page" "$ERR" "next page: --page-token "

expect_ok "text get" jobctl get "$FIRST"
expect_contains "text get" "$OUT" "$FIRST"
[[ $OUT =~ (^|$'\n')state:\ +QUEUED($'\n') ]] || fail "text get: no 'state: QUEUED' line in: $OUT"
[[ $OUT =~ (^|$'\n')labels:\ +env=test,\ team=data($'\n') ]] ||
  fail "text get: no labels line in: $OUT"

# --- templates and schedules ----------------------------------------------------------------
expect_ok "templates create" jctl templates create -w "$WS" --name crawl --type crawl.site \
  --payload '{"depth": 2}' --schema '{"properties": {"pages": {"type": "integer", "maximum": 1000}}}'
expect_json "templates create" job_template.name crawl
expect_json "templates create" job_template.defaults.type crawl.site
expect_ok "create --template" jctl create -w "$WS" --template crawl --payload '{"pages": 10}'
expect_json "create --template" job.type crawl.site
expect_json "create --template" job.payload '{"depth": 2, "pages": 10}'
expect_rc "create --template: schema" 1 jobctl create -w "$WS" --template crawl \
  --payload '{"pages": 5000}'
expect_contains "create --template: schema" "$ERR" "payload.pages: must be at most 1000"
expect_ok "templates list" jobctl templates list -w "$WS"
expect_contains "templates list" "$OUT" "crawl.site"

expect_ok "schedules create" jctl schedules create -w "$WS" --name nightly --cron '0 3 * * *' \
  --time-zone Europe/Berlin --template crawl --payload '{"pages": 1}'
SCHEDULE_ID=$(json_get schedule.id)
expect_json "schedules create" schedule.spec.time_zone Europe/Berlin
expect_ok "schedules trigger" jctl schedules trigger "$SCHEDULE_ID"
expect_json "schedules trigger" job.type crawl.site
expect_json "schedules trigger" job.labels.jobd/schedule "$SCHEDULE_ID"
expect_ok "schedules pause" jctl schedules pause "$SCHEDULE_ID" --note holiday
expect_json "schedules pause" schedule.paused true
expect_json "schedules pause" schedule.pause_note holiday
expect_ok "schedules list" jobctl schedules list -w "$WS"
expect_contains "schedules list" "$OUT" "nightly"
expect_ok "schedules resume" jctl schedules resume "$SCHEDULE_ID"
expect_json "schedules resume" schedule.paused false
expect_rc "schedules create: bad cron" 1 jobctl schedules create -w "$WS" --name bad \
  --cron '61 * * * *' --type t
expect_contains "schedules create: bad cron" "$ERR" "schedule.spec.cron[0]: minute: 61 is out of range 0-59"
expect_ok "schedules delete" jobctl schedules delete "$SCHEDULE_ID"

# --- pause, resume, delete ------------------------------------------------------------------
# A workspace of their own, so that the counts below are exact.
BWS=e2e-control
expect_ok "pause: create" jctl create --workspace "$BWS" --type control.one
PAUSED=$(json_get job.id)
expect_ok "pause" jctl pause "$PAUSED"
expect_json "pause" job.state JOB_STATE_PAUSED
expect_ok "pause again" jctl pause "$PAUSED"
expect_json "pause again" job.state JOB_STATE_PAUSED
expect_ok "list paused" jctl list --workspace "$BWS" --state paused
expect_json "list paused" jobs.0.id "$PAUSED"
expect_json "list paused" jobs.1 '<missing>'
expect_ok "text get paused" jobctl get "$PAUSED"
[[ $OUT =~ (^|$'\n')state:\ +PAUSED($'\n') ]] || fail "text get paused: no 'state: PAUSED' in: $OUT"
expect_ok "resume" jctl resume "$PAUSED"
expect_json "resume" job.state JOB_STATE_QUEUED
expect_json "resume" job.attempt 1
expect_rc "delete an active job" 1 jctl delete "$PAUSED"
expect_contains "delete an active job" "$ERR" "jobctl: FAILED_PRECONDITION: "
expect_ok "cancel before delete" jctl cancel "$PAUSED"
expect_ok "delete" jobctl delete "$PAUSED"
[[ $OUT == "job $PAUSED deleted" ]] || fail "delete: stdout is '$OUT'"
expect_rc "get deleted" 1 jctl get "$PAUSED"
expect_contains "get deleted" "$ERR" "jobctl: NOT_FOUND: "

# --- bulk: by filter, by ids, dry runs ------------------------------------------------------
# Five control.bulk jobs (two labelled env=prod) and two control.other ones, all QUEUED.
for i in 1 2 3 4 5; do
  labels=()
  ((i <= 2)) && labels=(--label env=prod)
  expect_ok "bulk: create $i" jctl create --workspace "$BWS" --type control.bulk "${labels[@]}"
done
expect_ok "bulk: create other 1" jctl create --workspace "$BWS" --type control.other
OTHER1=$(json_get job.id)
expect_ok "bulk: create other 2" jctl create --workspace "$BWS" --type control.other
OTHER2=$(json_get job.id)

expect_ok "bulk cancel: dry run" jobctl bulk cancel --workspace "$BWS" --type control.bulk --dry-run
[[ $OUT == "would change 5 jobs" ]] || fail "bulk cancel: dry run: stdout is '$OUT'"
expect_ok "bulk cancel: nothing changed" jctl list --workspace "$BWS" --state queued
expect_json "bulk cancel: nothing changed" jobs.6.state JOB_STATE_QUEUED
expect_json "bulk cancel: nothing changed" jobs.7 '<missing>'
expect_ok "bulk cancel: by label" jobctl bulk cancel --workspace "$BWS" --type control.bulk \
  --label env=prod --reason "bad batch"
[[ $OUT == "changed 2 of 2 matching jobs in 1 chunk" ]] ||
  fail "bulk cancel: by label: stdout is '$OUT'"
expect_ok "bulk cancel: the rest" jctl bulk cancel --workspace "$BWS" --type control.bulk
expect_json "bulk cancel: the rest" matched 3
expect_json "bulk cancel: the rest" changed 3
expect_json "bulk cancel: the rest" dry_run false
expect_json "bulk cancel: the rest" chunks 1
expect_ok "bulk cancel: reasons" jctl list --workspace "$BWS" --type control.bulk --label env=prod
expect_json "bulk cancel: reasons" jobs.0.state JOB_STATE_CANCELLED
expect_json "bulk cancel: reasons" jobs.0.error_message "bad batch"
expect_json "bulk cancel: reasons" jobs.1.error_message "bad batch"
expect_ok "bulk cancel: again" jobctl bulk cancel --workspace "$BWS" --type control.bulk
[[ $OUT == "changed 0 of 0 matching jobs in 0 chunks" ]] ||
  fail "bulk cancel: again: stdout is '$OUT'"

expect_ok "bulk pause: by ids" jobctl bulk pause --workspace "$BWS" --id "$OTHER1" --id "$OTHER2"
[[ $OUT == "changed 2 of 2 matching jobs in 1 chunk" ]] || fail "bulk pause: stdout is '$OUT'"
expect_ok "bulk resume: dry run" jctl bulk resume --workspace "$BWS" --state paused --dry-run
expect_json "bulk resume: dry run" matched 2
expect_json "bulk resume: dry run" changed 0
expect_json "bulk resume: dry run" dry_run true
expect_ok "bulk resume" jobctl bulk resume --workspace "$BWS" --id "$OTHER1"
[[ $OUT == "changed 1 of 1 matching job in 1 chunk" ]] || fail "bulk resume: stdout is '$OUT'"
expect_ok "bulk delete: dry run" jobctl bulk delete --workspace "$BWS" --state cancelled --dry-run
[[ $OUT == "would change 5 jobs" ]] || fail "bulk delete: dry run: stdout is '$OUT'"
expect_ok "bulk delete" jobctl bulk delete --workspace "$BWS" --type control.bulk
[[ $OUT == "changed 5 of 5 matching jobs in 1 chunk" ]] || fail "bulk delete: stdout is '$OUT'"
expect_ok "bulk delete: gone" jctl list --workspace "$BWS" --type control.bulk
expect_json "bulk delete: gone" jobs.0 '<missing>'

expect_rc "bulk: no filter" 2 jobctl bulk cancel --workspace "$BWS"
expect_contains "bulk: no filter" "$ERR" "jobctl: give a filter (--state, --type, --label"
expect_rc "bulk: filter and ids" 2 jobctl bulk cancel --workspace "$BWS" --type t --id "$OTHER1"
expect_contains "bulk: filter and ids" "$ERR" "jobctl: --id: not with a filter"
expect_rc "bulk: bad time" 2 jobctl bulk fail --workspace "$BWS" --created-before yesterday
expect_contains "bulk: bad time" "$ERR" "--created-before: 'yesterday' is not an RFC 3339 time"

# --- queues ---------------------------------------------------------------------------------
expect_ok "queues pause" jctl queues pause --workspace "$BWS" control.other
expect_json "queues pause" queue.type control.other
expect_json "queues pause" queue.paused true
expect_ok "queues limits" jctl queues limits --workspace "$BWS" control.other --max-running 2 \
  --rate 1.5 --burst 3
expect_json "queues limits" queue.max_running 2
expect_json "queues limits" queue.max_starts_per_second 1.5
expect_json "queues limits" queue.burst 3
expect_json "queues limits" queue.paused true
expect_ok "queues list" jobctl queues list --workspace "$BWS"
HEADER=$(head -n 1 <<<"$OUT")
[[ $HEADER =~ ^TYPE\ +PAUSED\ +MAX\ RUNNING\ +RATE\ +QUEUED\ +RUNNING\ +PAUSED\ JOBS\ +OLDEST\ QUEUED$ ]] ||
  fail "queues list: header is '$HEADER'"
# One QUEUED (resumed) and one PAUSED job; the oldest queued for a few seconds at most.
ROW=$(grep '^control\.other ' <<<"$OUT" || true)
[[ $ROW =~ ^control\.other\ +yes\ +2\ +1\.5/s\ \(burst\ 3\)\ +1\ +0\ +1\ +[0-9]+s$ ]] ||
  fail "queues list: the control.other row is '$ROW' in: $OUT"
expect_ok "queues limits: none" jctl queues limits --workspace "$BWS" control.other
expect_json "queues limits: none" queue.max_running '<missing>'
expect_json "queues limits: none" queue.max_starts_per_second '<missing>'
expect_ok "queues resume" jobctl queues resume --workspace "$BWS" control.other
[[ $OUT =~ (^|$'\n')paused:\ +no($'\n') ]] || fail "queues resume: no 'paused: no' in: $OUT"
[[ $OUT =~ (^|$'\n')max_running:\ +-($'\n') ]] || fail "queues resume: limits left in: $OUT"
expect_rc "queues limits: bad rate" 2 jobctl queues limits --workspace "$BWS" control.other \
  --rate -1
expect_contains "queues limits: bad rate" "$ERR" \
  "jobctl: --rate: must be more than 0 and at most 100000 per second"

# --- API keys through jobctl (AdminService) ------------------------------------------------
expect_ok "keys create" jobctl keys create --name ci-bot --role member --workspace "$WS" \
  --expire-in 720h
MEMBER_KEY=$OUT
[[ $MEMBER_KEY =~ ^jobd_[A-Za-z0-9_-]{43}$ ]] || fail "keys create: stdout is '$MEMBER_KEY'"
expect_contains "keys create" "$ERR" "shown only once"
expect_contains "keys create" "$ERR" "ci-bot"
expect_ok "keys list" jobctl keys list --workspace "$WS"
expect_contains "keys list" "$OUT" "ci-bot"
expect_contains "keys list" "$OUT" "${MEMBER_KEY:0:12}"
KEY_ID=$(awk '$2 == "ci-bot" { print $1 }' <<<"$OUT")
expect_ok "keys list json" jctl keys list
expect_contains "keys list json" "$OUT" "\"name\":\"ci-bot\""

member() { JOBD_API_KEY=$MEMBER_KEY jctl "$@"; }
expect_ok "member: create" member create --workspace "$WS" --type by.member
expect_json "member: create" job.requested_by ci-bot
expect_rc "member: other workspace" 1 member create --workspace elsewhere --type t
expect_contains "member: other workspace" "$ERR" "PERMISSION_DENIED"
expect_ok "member: whoami" member whoami
expect_json "member: whoami" role API_KEY_ROLE_MEMBER
expect_json "member: whoami" workspace_id "$WS"
expect_ok "member: whoami text" env JOBD_API_KEY="$MEMBER_KEY" "$JOBCTL" --address "$E2E_ADDRESS" whoami
expect_contains "member: whoami text" "$OUT" "permissions: read, create, cancel, retry"
expect_rc "member: keys" 1 member keys list
expect_contains "member: keys" "$ERR" "PERMISSION_DENIED"
expect_rc "keys create: bad role" 2 jobctl keys create --name x --role boss
expect_contains "keys create: bad role" "$ERR" "--role"

expect_ok "keys revoke" jctl keys revoke "$KEY_ID"
expect_json "keys revoke" api_key.name ci-bot
expect_rc "member after revoke" 1 member list --workspace "$WS"
expect_contains "member after revoke" "$ERR" "UNAUTHENTICATED"
