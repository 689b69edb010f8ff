#!/usr/bin/env bash
# The HTTP benchmark, end to end on this machine:
#   a private PostgreSQL cluster with DEFAULT durability (as bench/run.sh), `jobd migrate`,
#   jobd on free loopback ports, `http_bench --part rest` (HTTP against gRPC, 32 clients), then
#   for each stream count a FRESH jobd (so that its memory per idle stream is not flattered by
#   heap an earlier part freed) and `http_bench --part sse`; everything stopped (by PID) and
#   removed.
#
#   bench/run_http.sh [http_bench flags...]     e.g. bench/run_http.sh --duration 5s
#
# Environment:
#   BUILD_DIR (default ./build) holding server/jobd and bench/http_bench, built with
#     cmake --build build --target jobd http_bench
#   HTTP_PARTS (default "rest sse"): the parts to run.
#   SSE_STREAMS (default "1000 10000"): the stream counts of the sse part.
#   KEEP_BENCH_DIR=1 keeps the temporary directory (cluster, logs).
set -euo pipefail

BENCH_NAME=run_http.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_setup http_bench jobd-http-bench
BENCH_KEPT='jobd-*.log, pg/postgres.log'
# 10,000 streams need as many sockets on each side.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

echo "== machine: $(bench_machine); load average $(load)"
echo "== $(bench_revision '(+ uncommitted changes)'); command: bench/run_http.sh $*"
bench_start_database
bench_migrate

PARTS=${HTTP_PARTS:-rest sse}
status=0
if [[ " $PARTS " == *" rest "* ]]; then
  start_jobd "$WORK/jobd-rest.log" "$WORK/port-rest" ' (rest)' 200
  echo "-- rest: jobd pid $STARTED_PID"
  "$BENCH" --part rest --address "127.0.0.1:$STARTED_PORT" --http_port "$STARTED_HTTP_PORT" \
    --api_key "$BENCH_API_KEY" --jobd_pid "$STARTED_PID" "$@" || status=1
  stop_jobd "$STARTED_PID"
fi
[[ " $PARTS " == *" sse "* ]] || exit "$status"
for streams in ${SSE_STREAMS:-1000 10000}; do
  start_jobd "$WORK/jobd-sse-$streams.log" "$WORK/port-sse-$streams" " (sse $streams)" 200
  echo "-- sse: $streams streams; jobd pid $STARTED_PID; load average $(load)"
  "$BENCH" --streams "$streams" --part sse --address "127.0.0.1:$STARTED_PORT" \
    --http_port "$STARTED_HTTP_PORT" --api_key "$BENCH_API_KEY" --jobd_pid "$STARTED_PID" \
    "$@" || status=1
  stop_jobd "$STARTED_PID"
done
exit "$status"
