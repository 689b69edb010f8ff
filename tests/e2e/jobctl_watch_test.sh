#!/usr/bin/env bash
# End-to-end: `jobctl watch`, `jobctl events` and the progress of `jobctl run` against a real
# jobd and PostgreSQL, with a `jobctl work` producing the events. Asserts that a watch prints
# every sequence from its SNAPSHOT on exactly once and in order, messages with their level,
# exit codes (0 on SUCCEEDED, 1 on FAILED and CANCELLED, 1 on server errors, 2 on usage), the
# full history of `events`, and that a watch survives a restart of jobd (a new process on the
# same port and database): live, and while the watcher was frozen and the job finished.
#
#   JOBD_TEST_DATABASE_URL=postgresql://... tests/e2e/jobctl_watch_test.sh JOBD JOBCTL

# The programs the workers run are single-quoted on purpose: they expand their own variables.
# shellcheck disable=SC2016
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_start_with_jobctl "$@"
JOBD=$1

WS=e2e
UNKNOWN_ID=01890a5d-ac96-774b-bcce-b302099a8057
# The worker's program finds its go-files here (it gets it through the environment).
export T=$E2E_TMP

# start_watch NAME JOBCTL_ARGS...: jobctl in the background, stdout in $T/NAME.out and stderr
# in $T/NAME.err; sets WATCH_PID. Stopped at exit if the test fails first.
start_watch() {
  local name=$1
  shift
  "$JOBCTL" --address "$E2E_ADDRESS" "$@" >"$T/$name.out" 2>"$T/$name.err" &
  WATCH_PID=$!
  E2E_SPAWNED_PIDS+=("$WATCH_PID")
}

exited() { ! kill -0 "$1" 2>/dev/null; }
# (-s: the file may not exist yet when the watch was just started.)
has_line() { grep -qsE -- "$2" "$T/$1.out"; }

# finish_watch NAME PID RC: waits for the watch to end and checks its exit code.
finish_watch() {
  local name=$1 pid=$2 want=$3 rc=0
  wait_until "$name: exited" 30 exited "$pid"
  wait "$pid" || rc=$?
  ((rc == want)) || fail "$name: exit code $rc, want $want; stdout:
$(<"$T/$name.out")
stderr:
$(<"$T/$name.err")"
}

# watch_paused NAME LABEL PATTERN CREATE_FLAGS...: creates an e2e.watch job (expect_ok LABEL;
# its payload makes it pause), watches it as NAME and waits for PATTERN, the pause, in the
# watch's output; sets JOB_ID and WATCH_PID.
watch_paused() {
  local name=$1 label=$2 pattern=$3
  shift 3
  expect_ok "$label" jctl create --workspace "$WS" --type e2e.watch "$@"
  JOB_ID=$(json_get job.id)
  start_watch "$name" watch "$JOB_ID"
  wait_until "$name: paused job seen" 20 has_line "$name" "$pattern"
}

# release_watched NAME ID PID RC: lets the paused job go on, then expects the watch to exit RC
# having shown every event of the job.
release_watched() {
  local name=$1 id=$2 pid=$3 want=$4
  touch "$T/go-$id"
  finish_watch "$name" "$pid" "$want"
  expect_watch_complete "$name" "$id"
}

# The #N of each line (every line must have one).
sequences() {
  grep -vqE '^#[0-9]+ ' "$1" && fail "$1 has a line without a sequence:
$(<"$1")"
  sed -E 's/^#([0-9]+) .*/\1/' "$1" | tr '\n' ' '
}

# expect_sequences WHAT FILE FROM TO: FILE's lines are #FROM..#TO, each once, in order.
expect_sequences() {
  local what=$1 file=$2 got want
  got=$(sequences "$file")
  want=$(seq "$3" "$4" | tr '\n' ' ')
  [[ $got == "$want" ]] || fail "$what: sequences '$got', want '$want':
$(<"$file")"
}

# The job's latest sequence, from GetJob.
latest_sequence() {
  expect_ok "get $1" jctl get "$1"
  json_get job.sequence
}

job_state_is() {
  run jctl get "$1"
  ((RC == 0)) && [[ $(json_get job.state) == "$2" ]]
}

first_sequence() { head -n 1 "$1" | sed -E 's/^#([0-9]+) .*/\1/'; }
last_sequence() { tail -n 1 "$1" | sed -E 's/^#([0-9]+) .*/\1/'; }
# The last line that is not a message: the job's final state. (Messages written with the
# terminal change may follow it.)
last_state_line() { grep -vE '^#[0-9]+ (INFO|WARNING|ERROR) ' "$1" | tail -n 1; }

# A watch's messages are exactly the history's (same sequences, levels and texts).
# Messages written before the watch's SNAPSHOT are not the watch's to show (a slow start may
# open it after the worker's first messages): only the history after the snapshot counts.
expect_same_messages() {
  local name=$1 id=$2 first
  first=$(first_sequence "$T/$name.out")
  expect_ok "events $id" jobctl events "$id"
  diff <(grep -E '^#[0-9]+ (INFO|WARNING|ERROR) ' <<<"$OUT" |
    awk -v first="$first" '{ if (substr($1, 2) + 0 > first) print }') \
    <(grep -E '^#[0-9]+ (INFO|WARNING|ERROR) ' "$T/$name.out") >&2 ||
    fail "$name: the watch's messages differ from the history's"
}

# A watch's output: from its SNAPSHOT to the job's last event, each once and in order.
expect_watch_complete() {
  local name=$1 id=$2 first last
  [[ $(head -n 1 "$T/$name.out") == *' (snapshot)' ]] ||
    fail "$name: the first line is no snapshot: $(head -n 1 "$T/$name.out")"
  first=$(first_sequence "$T/$name.out")
  last=$(latest_sequence "$id")
  expect_sequences "$name" "$T/$name.out" "$first" "$last"
}

# The program: progress and messages; waits for $T/go-JOBID when the payload says "pause"; fails
# when it says "fail". jobctl work turns stdout lines into INFO and stderr lines into WARNING
# messages. The messages come after the pause, when the watch is surely open (a slow start,
# e.g. under ASan, may open it after the worker's first lines).
e2e_spawn worker "$JOBCTL" --address "$E2E_ADDRESS" work --workspace "$WS" --type e2e.watch \
  --worker-id w-watch -- sh -c '
    payload=$(cat)
    echo "progress 25 quarter"
    case $payload in *pause*)
      echo "progress 50 waiting"
      while [ ! -e "$T/go-$JOBD_JOB_ID" ]; do sleep 0.05; done ;;
    esac
    echo "an info line"
    echo "a warning line" >&2
    case $payload in *fail*) echo "it broke" >&2; exit 3 ;; esac
    echo "progress 75 three quarters"
    echo "after line"
    echo "{\"done\": true}"'

# --- SUCCEEDED: every event from the snapshot on, messages with levels, exit 0 --------------
watch_paused watch-ok "create ok" '^#[0-9]+ RUNNING 50% "waiting"' --payload '{"pause": 1}'
OK=$JOB_ID
release_watched watch-ok "$OK" "$WATCH_PID" 0
N=$(latest_sequence "$OK")
has_line watch-ok '^#[0-9]+ INFO "an info line"$' || fail "watch-ok: no INFO line"
has_line watch-ok '^#[0-9]+ WARNING "a warning line"$' || fail "watch-ok: no WARNING line"
has_line watch-ok '^#[0-9]+ INFO "after line"$' || fail "watch-ok: no INFO line after the pause"
[[ $(last_state_line "$T/watch-ok.out") == '#'*' SUCCEEDED 100% "three quarters"'* ]] ||
  fail "watch-ok: last state: $(last_state_line "$T/watch-ok.out")"
[[ ! -s $T/watch-ok.err ]] || fail "watch-ok: stderr: $(<"$T/watch-ok.err")"

# --- events: the whole history 1..N, the same whatever the page size -----------------------
expect_ok "events" jobctl events "$OK"
printf '%s\n' "$OUT" >"$T/events.out"
expect_sequences "events" "$T/events.out" 1 "$N"
[[ $(head -n 1 "$T/events.out") =~ ^#1\ QUEUED\ 0% ]] ||
  fail "events: first line: $(head -n 1 "$T/events.out")"
# Without elapsed and eta, which the server may compute as it reads.
timeless() { sed -E 's/ (elapsed|eta) [0-9hms]+//g'; }
expect_ok "events by 2" jobctl events --page-size 2 "$OK"
diff <(timeless <"$T/events.out") <(timeless <<<"$OUT") >&2 ||
  fail "events --page-size 2 differs from events"
expect_same_messages watch-ok "$OK"
expect_ok "events json" jctl events "$OK"
"$E2E_PYTHON" -c '
import json, sys
events = [json.loads(line) for line in sys.stdin.read().splitlines()]
assert [int(e["sequence"]) for e in events] == list(range(1, int(sys.argv[1]) + 1)), events
assert events[-1]["job"]["state"] == "JOB_STATE_SUCCEEDED", events[-1]
' "$N" <<<"$OUT" || fail "events --output json: $OUT"

# --- watching a finished job: its snapshot, or with --after-sequence the events after it ----
expect_rc "watch finished" 0 jobctl watch "$OK"
[[ $OUT =~ ^#$N\ SUCCEEDED\ 100%.*\ \(snapshot\)$ ]] || fail "watch finished: $OUT"
expect_rc "watch --after-sequence 0" 0 jobctl watch --after-sequence 0 "$OK"
printf '%s\n' "$OUT" >"$T/after0.out"
expect_sequences "watch --after-sequence 0" "$T/after0.out" 1 "$N"
expect_rc "watch --after-sequence N-2" 0 jobctl watch --after-sequence $((N - 2)) "$OK"
printf '%s\n' "$OUT" >"$T/after.out"
expect_sequences "watch --after-sequence N-2" "$T/after.out" $((N - 1)) "$N"
# Resuming after the very last event: nothing to print, and the exit code still says how it ended.
expect_rc "watch --after-sequence N" 0 jobctl watch --after-sequence "$N" "$OK"
[[ -z $OUT && -z $ERR ]] || fail "watch --after-sequence N: stdout: $OUT; stderr: $ERR"
expect_rc "watch json" 0 jctl watch --after-sequence 0 "$OK"
"$E2E_PYTHON" -c '
import json, sys
events = [json.loads(line) for line in sys.stdin.read().splitlines()]
assert [int(e["sequence"]) for e in events] == list(range(1, int(sys.argv[1]) + 1)), events
assert events[-1]["job"]["state"] == "JOB_STATE_SUCCEEDED", events[-1]
' "$N" <<<"$OUT" || fail "watch --output json: $OUT"

# --- FAILED: exit 1 -------------------------------------------------------------------------
watch_paused watch-fail "create fail" '"waiting"' --max-attempts 1 \
  --payload '{"pause": 1, "fail": 1}'
FAILING=$JOB_ID
release_watched watch-fail "$FAILING" "$WATCH_PID" 1
# (The error quotes the program's last stderr lines, newlines escaped.)
FAILED_LINE=$(last_state_line "$T/watch-fail.out")
[[ $FAILED_LINE == '#'*' FAILED '*' error "exit code 3; stderr:'* &&
  $FAILED_LINE == *'\nit broke"' ]] || fail "watch-fail: last state: $FAILED_LINE"
[[ ! -s $T/watch-fail.err ]] || fail "watch-fail: stderr: $(<"$T/watch-fail.err")"
expect_rc "watch failed job after its end" 1 jobctl watch --after-sequence \
  "$(latest_sequence "$FAILING")" "$FAILING"

# --- CANCELLED: exit 1 ----------------------------------------------------------------------
# No worker takes e2e.nobody: the job waits QUEUED until it is cancelled.
expect_ok "create nobody" jctl create --workspace "$WS" --type e2e.nobody
NOBODY=$(json_get job.id)
start_watch watch-cancel watch "$NOBODY"
WATCH_CANCEL=$WATCH_PID
wait_until "watch-cancel: snapshot" 20 has_line watch-cancel '^#1 QUEUED 0%.* \(snapshot\)$'
expect_ok "cancel" jctl cancel "$NOBODY" --reason "not today"
finish_watch watch-cancel "$WATCH_CANCEL" 1
expect_sequences "watch-cancel" "$T/watch-cancel.out" 1 2
[[ $(tail -n 1 "$T/watch-cancel.out") == '#2 CANCELLED 0% '*' error "not today"' ]] ||
  fail "watch-cancel: last line: $(tail -n 1 "$T/watch-cancel.out")"

# --- errors: the server's are 1 with its code, usage 2 --------------------------------------
expect_rc "watch unknown" 1 jobctl watch "$UNKNOWN_ID"
expect_contains "watch unknown" "$ERR" "jobctl: NOT_FOUND: "
[[ -z $OUT ]] || fail "watch unknown: stdout: $OUT"
expect_rc "watch malformed" 1 jobctl watch not-a-uuid
expect_contains "watch malformed" "$ERR" "jobctl: INVALID_ARGUMENT: id"
expect_rc "watch beyond the latest" 1 jobctl watch --after-sequence $((N + 1)) "$OK"
expect_contains "watch beyond the latest" "$ERR" "jobctl: INVALID_ARGUMENT: after_sequence"
expect_rc "events unknown" 1 jobctl events "$UNKNOWN_ID"
expect_contains "events unknown" "$ERR" "jobctl: NOT_FOUND: "
expect_rc "watch without id" 2 jobctl watch
expect_rc "watch negative" 2 jobctl watch --after-sequence -1 "$OK"
expect_rc "watch bad reconnect timeout" 2 jobctl watch --reconnect-timeout soon "$OK"
expect_contains "watch bad reconnect timeout" "$ERR" "--reconnect-timeout"

# --- run: progress lines on stderr (not a terminal here), the job on stdout ------------------
expect_rc "run" 0 jobctl run --workspace "$WS" --type e2e.watch
[[ $OUT =~ (^|$'\n')state:\ +SUCCEEDED($'\n') ]] || fail "run: no 'state: SUCCEEDED' in: $OUT"
printf '%s\n' "$ERR" >"$T/run.err"
[[ $(head -n 1 "$T/run.err") == *' (snapshot)' ]] || fail "run: stderr: $ERR"
[[ $(last_state_line "$T/run.err") == '#'*' SUCCEEDED 100% '* ]] || fail "run: stderr: $ERR"
expect_sequences "run" "$T/run.err" "$(first_sequence "$T/run.err")" "$(last_sequence "$T/run.err")"

# expect_finished_after WATCH ID BEFORE: the watch ends with the job's SUCCEEDED event, written
# after sequence BEFORE (so through the new jobd), and shows every message of the history.
# (Whether the program's last messages make it depends on the worker: its final report may
# meet the restart. The watch must show exactly what the history has.)
expect_finished_after() {
  local name=$1 id=$2 before=$3 final
  expect_watch_complete "$name" "$id"
  expect_same_messages "$name" "$id"
  final=$(last_state_line "$T/$name.out")
  [[ $final == '#'*' SUCCEEDED 100% '* ]] || fail "$name: last state: $final"
  (($(sed -E 's/^#([0-9]+) .*/\1/' <<<"$final") > before)) ||
    fail "$name: SUCCEEDED is not after #$before: $final"
}

# --- a restart of jobd during a live watch ---------------------------------------------------
watch_paused watch-live "create restart" '"waiting"' --payload '{"pause": 1}'
LIVE=$JOB_ID WATCH_LIVE=$WATCH_PID
BEFORE=$(latest_sequence "$LIVE")
e2e_restart_jobd "$JOBD"
# The job goes on through the new process: more events, then SUCCEEDED.
touch "$T/go-$LIVE"
finish_watch watch-live "$WATCH_LIVE" 0
expect_finished_after watch-live "$LIVE" "$BEFORE"
expect_contains "watch-live: stderr" "$(<"$T/watch-live.err")" "jobctl: connection lost ("

# --- a restart while the watcher is frozen: the job finishes without it ---------------------
# Everything after the pause is written through the new jobd while the watch cannot read; on
# waking it finds its stream gone and must fetch what it missed with after_sequence.
watch_paused watch-frozen "create frozen" '"waiting"' --payload '{"pause": 1}'
FROZEN=$JOB_ID WATCH_FROZEN=$WATCH_PID
BEFORE=$(latest_sequence "$FROZEN")
kill -STOP "$WATCH_FROZEN"
e2e_restart_jobd "$JOBD"
touch "$T/go-$FROZEN"
wait_until "frozen: job SUCCEEDED" 30 job_state_is "$FROZEN" JOB_STATE_SUCCEEDED
kill -CONT "$WATCH_FROZEN"
finish_watch watch-frozen "$WATCH_FROZEN" 0
expect_finished_after watch-frozen "$FROZEN" "$BEFORE"
