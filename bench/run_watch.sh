#!/usr/bin/env bash
# The watch fan-out benchmark, end to end on this machine:
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

BENCH_NAME=run_watch.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_setup watch_bench jobd-watch-bench
BENCH_KEPT='jobd-*.log, pg/postgres.log, results'
CONFIGS=${WATCH_CONFIGS:-"few:1000 many:1000 few:10000 many:10000"}
[[ ${CORE_DUMPS:-0} == 1 ]] && ulimit -c unlimited
RESULTS=$WORK/results
: >"$RESULTS"

# start_watch_jobd NAME: starts jobd (log jobd-NAME.log); sets STARTED_PID and STARTED_PORT.
start_watch_jobd() { start_jobd "$WORK/jobd-$1.log" "$WORK/port-$1" " ($1)" 400; }

forget_jobd() {  # PID: stop it and drop it from the cleanup list
  local pid=$1 keep=() p
  stop_jobd "$pid"
  for p in "${JOBD_PIDS[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
  JOBD_PIDS=("${keep[@]}")
}

MACHINE=$(bench_machine)
REVISION=$(bench_revision '(+ uncommitted changes in server/ db/)')
STARTED_AT=$(date -u '+%Y-%m-%d %H:%M UTC')
echo "== machine: $MACHINE; load average $(load)"
echo "== $REVISION; log level ${JOBD_LOG_LEVEL:-info}; command: bench/run_watch.sh $*"

bench_start_database
POSTMASTER=$(head -n 1 "$PG_DIR/data/postmaster.pid" 2>/dev/null || echo 0)
echo "== PostgreSQL at $URL (postmaster pid $POSTMASTER)"
bench_migrate

status=0
T0=$SECONDS
for config in $CONFIGS; do
  layout=${config%%:*}
  streams=${config##*:}
  start_watch_jobd "$layout-$streams"
  pid=$STARTED_PID
  echo "-- $(date -u +%T) load average $(load); jobd pid $pid on 127.0.0.1:$STARTED_PORT"
  "$BENCH" --part fanout --layout "$layout" --streams "$streams" --api_key "$BENCH_API_KEY" \
    --address "127.0.0.1:$STARTED_PORT" --jobd_pid "$pid" --postmaster_pid "$POSTMASTER" \
    --results "$RESULTS" "$@" || status=1
  forget_jobd "$pid"
done

if [[ ${WATCH_CROSS:-1} == 1 ]]; then
  start_watch_jobd cross-1
  pid1=$STARTED_PID port1=$STARTED_PORT
  start_watch_jobd cross-2
  pid2=$STARTED_PID port2=$STARTED_PORT
  echo "-- $(date -u +%T) load average $(load); jobd #1 pid $pid1 on 127.0.0.1:$port1," \
    "jobd #2 pid $pid2 on 127.0.0.1:$port2"
  "$BENCH" --part cross --address "127.0.0.1:$port1" --address2 "127.0.0.1:$port2" \
    --api_key "$BENCH_API_KEY" \
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
