# shellcheck shell=bash
# Shared setup and assertions of the shell end-to-end tests (source it; needs bash).
#
#   e2e_start_jobd JOBD [ARGS...]  makes a fresh database jobd_e2e_<random> in the cluster at
#                         $JOBD_TEST_DATABASE_URL, migrates it, serves it with JOBD on a free
#                         loopback port and sets E2E_ADDRESS (127.0.0.1:PORT) and E2E_PORT.
#                         An EXIT trap stops that jobd (by its PID only) and drops the database.
#                         Exports JOBD_API_KEY (also in E2E_API_KEY): an admin key "test-admin".
#   e2e_restart_jobd JOBD stops that jobd (SIGTERM to its PID, waits for it to exit) and serves
#                         the same database with a new JOBD on the same ports (E2E_PORT and
#                         E2E_HTTP_PORT): for
#                         clients that must resume on the new process. Its log goes on in
#                         jobd.log.
#   e2e_spawn NAME CMD... starts CMD in the background with stdout and stderr in
#                         $E2E_TMP/NAME.log and sets SPAWNED_PID. At exit it gets SIGTERM
#                         (SIGKILL 15 s later) before jobd stops.
#   e2e_track_group PGID  kills that process group (SIGKILL) at exit: for programs a test
#                         leaves behind on purpose, e.g. those of a `kill -9`ed jobctl work.
#   wait_until WHAT SECS CMD...  runs CMD every 50 ms until it succeeds; fails after SECS.
#   run CMD...            runs CMD, setting OUT (stdout), ERR (stderr) and RC (exit code).
#   json_get PATH         prints the value at PATH (e.g. job.state, jobs.0.id) of the JSON in
#                         $OUT: strings raw, other values as JSON (keys sorted), `<missing>`
#                         when absent; PATH `.` is the whole document.
#   expect_ok / expect_rc / expect_json / expect_contains / fail: assertions that stop the
#                         test with a message naming what differed.

E2E_NAME=$(basename "${BASH_SOURCE[1]:-e2e}" .sh)
# shellcheck disable=SC2034  # used by the tests that source this file
E2E_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/$E2E_NAME.XXXXXX")
E2E_JOBD_PID=''
E2E_SPAWNED_PIDS=()
E2E_SPAWNED_LOGS=()
E2E_GROUPS=()
E2E_DB=''
E2E_ADMIN_URL=''
E2E_DATABASE_URL=''
E2E_JOBD_ARGS=()

# Only the JSON parser of the system Python is needed; the first python3 on PATH may lack it
# or differ, and jq is not installed.
E2E_PYTHON=/usr/bin/python3

# Nothing from the caller's environment may steer jobctl or jobd away from what we start.
unset JOBD_ADDRESS JOBD_API_KEY JOBD_API_KEY_FILE JOBD_WORKSPACE JOBD_LISTEN JOBD_DATABASE_URL \
  JOBD_TLS_CA_FILE JOBD_TLS_CERT_FILE JOBD_TLS_KEY_FILE

log() { printf '%s: %s\n' "$E2E_NAME" "$*" >&2; }

fail() {
  printf '%s: FAIL: %s\n' "$E2E_NAME" "$*" >&2
  exit 1
}

e2e_cleanup() {
  local rc=$?
  e2e_stop_spawned
  if [[ -n $E2E_JOBD_PID ]]; then
    kill "$E2E_JOBD_PID" 2>/dev/null || true
    wait "$E2E_JOBD_PID" 2>/dev/null || true
  fi
  if ((rc != 0)) && [[ -s $E2E_TMP/jobd.log ]]; then
    log "last lines of the jobd log:"
    tail -n 30 "$E2E_TMP/jobd.log" >&2
  fi
  local spawned_log
  for spawned_log in "${E2E_SPAWNED_LOGS[@]}"; do
    if ((rc != 0)) && [[ -s $spawned_log ]]; then
      log "last lines of $(basename "$spawned_log"):"
      tail -n 20 "$spawned_log" >&2
    fi
  done
  if [[ -n $E2E_DB ]]; then
    psql "$E2E_ADMIN_URL" -q -v ON_ERROR_STOP=1 \
      -c "DROP DATABASE IF EXISTS $E2E_DB WITH (FORCE)" >/dev/null ||
      log "could not drop database $E2E_DB"
  fi
  rm -rf -- "$E2E_TMP"
  if ((rc == 0)); then log "PASS"; fi
  exit "$rc"
}
trap e2e_cleanup EXIT
# Turn signals into an exit so that the EXIT trap still cleans up.
trap 'exit 130' INT
trap 'exit 143' TERM

# Stops what e2e_spawn started (each by its PID) and the tracked process groups.
# Only those still running as our children: a PID we already reaped may belong to another
# process by now.
e2e_stop_spawned() {
  local pid pgid deadline live=()
  for pid in "${E2E_SPAWNED_PIDS[@]}"; do
    if jobs -pr | grep -qx "$pid"; then live+=("$pid"); fi
  done
  for pid in "${live[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${live[@]}"; do
    deadline=$((SECONDS + 15))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  E2E_SPAWNED_PIDS=()
  for pgid in "${E2E_GROUPS[@]}"; do kill -KILL -- "-$pgid" 2>/dev/null || true; done
  E2E_GROUPS=()
}

e2e_spawn() {
  local name=$1
  shift
  "$@" >"$E2E_TMP/$name.log" 2>&1 &
  SPAWNED_PID=$!
  E2E_SPAWNED_PIDS+=("$SPAWNED_PID")
  E2E_SPAWNED_LOGS+=("$E2E_TMP/$name.log")
}

e2e_track_group() { E2E_GROUPS+=("$1"); }

wait_until() {
  local what=$1 secs=$2
  shift 2
  local deadline=$((SECONDS + secs))
  until "$@"; do
    ((SECONDS < deadline)) || fail "$what: not within $secs s"
    sleep 0.05
  done
}

# The URL with its path (the database name) replaced: scheme://authority/DB?query.
e2e_database_url() {
  local url=$1 db=$2
  [[ $url =~ ^([a-z]+://[^/?]*)(/[^?]*)?(\?.*)?$ ]] ||
    fail "JOBD_TEST_DATABASE_URL must be a postgresql:// URI, got: $url"
  printf '%s/%s%s\n' "${BASH_REMATCH[1]}" "$db" "${BASH_REMATCH[3]}"
}

# Polls every 50 ms until FILE exists; fails after 20 s or as soon as jobd exits.
e2e_wait_for_file() {
  local file=$1 deadline=$((SECONDS + 20))
  until [[ -s $file ]]; do
    kill -0 "$E2E_JOBD_PID" 2>/dev/null || fail "jobd exited before serving"
    ((SECONDS < deadline)) || fail "jobd did not write $file within 20 s"
    sleep 0.05
  done
}

e2e_start_jobd() {
  local jobd=$1
  shift
  E2E_JOBD_ARGS=("$@")
  [[ -x $jobd ]] || fail "jobd binary not found or not executable: $jobd"
  [[ -n ${JOBD_TEST_DATABASE_URL:-} ]] ||
    fail "JOBD_TEST_DATABASE_URL is not set (start a cluster: tests/pg_cluster.sh start DIR --fast)"
  E2E_ADMIN_URL=$JOBD_TEST_DATABASE_URL

  local db
  db=jobd_e2e_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
  psql "$E2E_ADMIN_URL" -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $db" >/dev/null ||
    fail "cannot create database $db in $E2E_ADMIN_URL"
  E2E_DB=$db
  E2E_DATABASE_URL=$(e2e_database_url "$E2E_ADMIN_URL" "$db")

  "$jobd" migrate --database_url "$E2E_DATABASE_URL" >"$E2E_TMP/migrate.log" 2>&1 ||
    { cat "$E2E_TMP/migrate.log" >&2; fail "jobd migrate failed"; }
  # An admin key for the test's clients; jobctl reads JOBD_API_KEY.
  "$jobd" keys create --database_url "$E2E_DATABASE_URL" --role admin --name test-admin \
    --key_file "$E2E_TMP/admin.key" 2>>"$E2E_TMP/migrate.log" ||
    { cat "$E2E_TMP/migrate.log" >&2; fail "jobd keys create failed"; }
  E2E_API_KEY=$(<"$E2E_TMP/admin.key")
  export JOBD_API_KEY=$E2E_API_KEY

  e2e_serve "$jobd" 127.0.0.1:0
  log "jobd (pid $E2E_JOBD_PID) serves database $db on $E2E_ADDRESS"
}

# e2e_serve JOBD LISTEN [HTTP_LISTEN]: jobd serve of $E2E_DATABASE_URL in the background; sets
# E2E_JOBD_PID, E2E_PORT and E2E_ADDRESS once it listens, and E2E_HTTP_PORT (its HTTP
# listener, on any free port unless HTTP_LISTEN says).
e2e_serve() {
  local jobd=$1 listen=$2 http_listen=${3:-127.0.0.1:0}
  local port_file=$E2E_TMP/port http_port_file=$E2E_TMP/http_port
  rm -f "$port_file" "$http_port_file"
  "$jobd" serve --database_url "$E2E_DATABASE_URL" --listen "$listen" \
    --listen_port_file "$port_file" --http_listen "$http_listen" \
    --http_port_file "$http_port_file" "${E2E_JOBD_ARGS[@]}" >>"$E2E_TMP/jobd.log" 2>&1 &
  E2E_JOBD_PID=$!
  e2e_wait_for_file "$port_file"
  E2E_PORT=$(<"$port_file")
  E2E_ADDRESS=127.0.0.1:$E2E_PORT
  E2E_HTTP_PORT=$(cat "$http_port_file" 2>/dev/null || echo 0)
}

e2e_restart_jobd() {
  local jobd=$1 old=$E2E_JOBD_PID deadline=$((SECONDS + 20))
  kill -TERM "$old"
  # Until it is gone, E2E_JOBD_PID still names it, so that a failure here stops it at exit.
  while kill -0 "$old" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "jobd (pid $old) did not exit within 20 s of SIGTERM"
    sleep 0.05
  done
  wait "$old" || true  # its exit code after SIGTERM is not what this is about
  E2E_JOBD_PID=''
  e2e_serve "$jobd" "127.0.0.1:$E2E_PORT" "127.0.0.1:$E2E_HTTP_PORT"
  log "jobd restarted: pid $old stopped, pid $E2E_JOBD_PID serves $E2E_ADDRESS"
}

run() {
  RC=0
  OUT=$("$@" 2>"$E2E_TMP/stderr") || RC=$?
  ERR=$(<"$E2E_TMP/stderr")
}

json_get() {
  "$E2E_PYTHON" -c '
import json, sys
value = json.loads(sys.stdin.read())
for key in (sys.argv[1].split(".") if sys.argv[1] != "." else []):
    if isinstance(value, list):
        value = value[int(key)] if int(key) < len(value) else None
    elif isinstance(value, dict):
        value = value.get(key)
    else:
        value = None
    if value is None:
        print("<missing>")
        sys.exit(0)
print(value if isinstance(value, str) else json.dumps(value, sort_keys=True))
' "$1" <<<"$OUT" || fail "stdout is not JSON: $OUT"
}

# expect_ok WHAT CMD...: CMD must exit 0.
expect_ok() {
  local what=$1
  shift
  run "$@"
  ((RC == 0)) || fail "$what: exit code $RC, stderr: $ERR"
}

# expect_rc WHAT RC CMD...: CMD must exit with exactly RC.
expect_rc() {
  local what=$1 want=$2
  shift 2
  run "$@"
  ((RC == want)) || fail "$what: exit code $RC, want $want; stdout: $OUT; stderr: $ERR"
}

# expect_json WHAT PATH VALUE: the JSON in $OUT has VALUE at PATH.
expect_json() {
  local what=$1 path=$2 want=$3 got
  got=$(json_get "$path")
  [[ $got == "$want" ]] || fail "$what: $path is '$got', want '$want'"
}

# expect_contains WHAT TEXT NEEDLE
expect_contains() {
  [[ $2 == *"$3"* ]] || fail "$1: '$3' not found in: $2"
}

# e2e_start_with_jobctl JOBD JOBCTL: the preamble of the jobctl tests: checks the arguments,
# starts jobd, and defines `jobctl` (pointed at it) and `jctl` (the same with --output json).
e2e_start_with_jobctl() {
  (($# == 2)) || fail "usage: $0 JOBD JOBCTL"
  JOBCTL=$2
  [[ -x $JOBCTL ]] || fail "jobctl binary not found or not executable: $JOBCTL"
  e2e_start_jobd "$1"
}
jobctl() { "$JOBCTL" --address "$E2E_ADDRESS" "$@"; }
jctl() { jobctl --output json "$@"; }
