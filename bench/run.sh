#!/usr/bin/env bash
# The end-to-end throughput benchmark on this machine:
#   a private PostgreSQL cluster with DEFAULT durability (fsync and synchronous_commit on),
#   `jobd migrate`, jobd on a free loopback port, jobd_bench against both, then everything
#   stopped and removed. The table goes to stdout (and the figures to docs/BENCHMARKS.md by hand).
#
#   bench/run.sh [jobd_bench flags...]        e.g. bench/run.sh --phases a,d --repeat 1
#
# jobd_bench runs with --repeat 3 (each (a)/(d) level measured three times, interleaved, median
# reported), since the machine's two cores may be shared with other work; flags given here come
# later and win.
#
# Environment: BUILD_DIR (default ./build) holding server/jobd and bench/jobd_bench, built with
#   cmake --build build --target jobd jobd_bench
# JOBD_LOG_LEVEL (default info, jobd's own default) and any other JOBD_* setting reach jobd.
# KEEP_BENCH_DIR=1 keeps the temporary directory (cluster, logs) for a look afterwards.
set -euo pipefail

BENCH_NAME=run.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_setup jobd_bench jobd-bench
BENCH_KEPT='jobd.log, pg/postgres.log'

echo "== machine: $(bench_machine); load average $(load)"
echo "== $(bench_revision '(+ uncommitted changes)');" \
  "log level ${JOBD_LOG_LEVEL:-info}; command: bench/run.sh $*"

bench_start_database
bench_migrate

start_jobd "$WORK/jobd.log" "$WORK/port" '' 200
JOBD_PID=$STARTED_PID
PORT=$STARTED_PORT

set +e
"$BENCH" --address "127.0.0.1:$PORT" --database_url "$URL" --server_pid "$JOBD_PID" \
  --api_key "$BENCH_API_KEY" --repeat 3 "$@"
status=$?
set -e
exit "$status"
