#!/usr/bin/env bash
# The watch fan-out benchmark of issue 4, end to end on this machine:
#   a private PostgreSQL cluster with DEFAULT durability (as bench/run.sh), `jobd migrate`, then
#   for each fan-out configuration a FRESH jobd on a free loopback port (so that its VmRSS per
#   idle stream is not flattered by heap freed in an earlier configuration) and
#   `watch_bench --part fanout` against it; then two jobd processes on the same database and
#   `watch_bench --part cross`; everything stopped (by PID) and removed; then the tables.
#
#   bench/run_watch.sh [watch_bench flags...]     e.g. bench/run_watch.sh --latency_duration 5s
#
# Environment:
#   BUILD_DIR (default ./build) holding server/jobd and bench/watch_bench, built with
#     cmake --build build --target jobd watch_bench
#   WATCH_CONFIGS (default "few:1000 many:1000 few:10000 many:10000"): layout:streams per part.
#   WATCH_CROSS (default 1): 0 skips the cross-replica part.
#   JOBD_LOG_LEVEL (default info, jobd's own default) and any other JOBD_* setting reach jobd.
#   CORE_DUMPS=1 lets jobd dump core (into the temporary directory, which is then kept).
#   KEEP_BENCH_DIR=1 keeps the temporary directory (cluster, logs, results) for a look afterwards.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
JOBD=$BUILD_DIR/server/jobd
BENCH=$BUILD_DIR/bench/watch_bench
for bin in "$JOBD" "$BENCH"; do
  [[ -x $bin ]] || {
    echo "run_watch.sh: $bin is missing; build it: cmake --build $BUILD_DIR --target jobd watch_bench" >&2
    exit 2
  }
done
CONFIGS=${WATCH_CONFIGS:-"few:1000 many:1000 few:10000 many:10000"}
[[ ${CORE_DUMPS:-0} == 1 ]] && ulimit -c unlimited

WORK=$(mktemp -d /tmp/jobd-watch-bench.XXXXXX)
chmod 755 "$WORK"  # the postgres user must reach the cluster directory inside it
PG_DIR=$WORK/pg
# Private copies: a rebuild of the shared build directory during the run must not touch them.
cp "$JOBD" "$WORK/jobd"
cp "$BENCH" "$WORK/watch_bench"
JOBD=$WORK/jobd
BENCH=$WORK/watch_bench
RESULTS=$WORK/results
: >"$RESULTS"
JOBD_PIDS=()
PG_STARTED=0

stop_jobd() {  # PID: SIGTERM, wait (jobd's own shutdown grace applies)
  local pid=$1
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
}

cleanup() {
  local rc=$?
  for pid in "${JOBD_PIDS[@]}"; do stop_jobd "$pid"; done
  if [[ $PG_STARTED -eq 1 ]]; then
    "$ROOT/tests/pg_cluster.sh" stop "$PG_DIR" >/dev/null 2>&1 || true
  fi
  if [[ ${KEEP_BENCH_DIR:-0} == 1 || $rc -ne 0 ]]; then
    echo "run_watch.sh: logs kept in $WORK (jobd-*.log, pg/postgres.log, results)" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_jobd NAME: starts jobd on 127.0.0.1:0; sets STARTED_PID and STARTED_PORT.
start_jobd() {
  local name=$1 portfile=$WORK/port-$1
  rm -f "$portfile"
  # From $WORK, so that a core file (CORE_DUMPS=1) lands there.
  (cd "$WORK" && exec "$JOBD" serve --database_url "$URL" --listen 127.0.0.1:0 \
    --listen_port_file "$portfile" >>"$WORK/jobd-$name.log" 2>&1) &
  STARTED_PID=$!
  JOBD_PIDS+=("$STARTED_PID")
  for _ in $(seq 1 400); do
    [[ -s $portfile ]] && break
    kill -0 "$STARTED_PID" 2>/dev/null || {
      echo "run_watch.sh: jobd ($name) exited at start:" >&2
      tail -n 20 "$WORK/jobd-$name.log" >&2
      exit 1
    }
    sleep 0.05
  done
  [[ -s $portfile ]] || {
    echo "run_watch.sh: jobd ($name) did not write its port" >&2
    exit 1
  }
  STARTED_PORT=$(<"$portfile")
}

forget_jobd() {  # PID: stop it and drop it from the cleanup list
  local pid=$1 keep=() p
  stop_jobd "$pid"
  for p in "${JOBD_PIDS[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
  JOBD_PIDS=("${keep[@]}")
}

load() { cut -d' ' -f1-3 /proc/loadavg; }

MACHINE="$(nproc) cores (nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- |
  sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); $(uname -sr)"
REVISION="jobd $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(
  git -C "$ROOT" diff --quiet HEAD -- server db 2>/dev/null || echo ' (+ uncommitted changes in server/ db/)')"
STARTED_AT=$(date -u '+%Y-%m-%d %H:%M UTC')
echo "== machine: $MACHINE; load average $(load)"
echo "== $REVISION; log level ${JOBD_LOG_LEVEL:-info}; command: bench/run_watch.sh $*"

# Default durability: no --fast.
URL=$("$ROOT/tests/pg_cluster.sh" start "$PG_DIR")
PG_STARTED=1
POSTMASTER=$(head -n 1 "$PG_DIR/data/postmaster.pid" 2>/dev/null || echo 0)
echo "== PostgreSQL at $URL (postmaster pid $POSTMASTER)"

"$JOBD" migrate --database_url "$URL" >"$WORK/migrate.log" 2>&1 || {
  cat "$WORK/migrate.log" >&2
  exit 1
}

status=0
T0=$SECONDS
for config in $CONFIGS; do
  layout=${config%%:*}
  streams=${config##*:}
  start_jobd "$layout-$streams"
  pid=$STARTED_PID
  echo "-- $(date -u +%T) load average $(load); jobd pid $pid on 127.0.0.1:$STARTED_PORT"
  "$BENCH" --part fanout --layout "$layout" --streams "$streams" \
    --address "127.0.0.1:$STARTED_PORT" --jobd_pid "$pid" --postmaster_pid "$POSTMASTER" \
    --results "$RESULTS" "$@" || status=1
  forget_jobd "$pid"
done

if [[ ${WATCH_CROSS:-1} == 1 ]]; then
  start_jobd cross-1
  pid1=$STARTED_PID port1=$STARTED_PORT
  start_jobd cross-2
  pid2=$STARTED_PID port2=$STARTED_PORT
  echo "-- $(date -u +%T) load average $(load); jobd #1 pid $pid1 on 127.0.0.1:$port1," \
    "jobd #2 pid $pid2 on 127.0.0.1:$port2"
  "$BENCH" --part cross --address "127.0.0.1:$port1" --address2 "127.0.0.1:$port2" \
    --jobd_pid "$pid1" --jobd2_pid "$pid2" --postmaster_pid "$POSTMASTER" \
    --results "$RESULTS" "$@" || status=1
  forget_jobd "$pid1"
  forget_jobd "$pid2"
fi
echo "-- $(date -u +%T) load average $(load); parts took $((SECONDS - T0)) s"

"$BENCH" --part summary --results "$RESULTS" \
  --header "bench/run_watch.sh $*, $STARTED_AT, $REVISION; $MACHINE; PostgreSQL with default durability" \
  "$@" || status=1
exit "$status"
