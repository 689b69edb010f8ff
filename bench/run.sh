#!/usr/bin/env bash
# The benchmark of issue 3, end to end on this machine:
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

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
JOBD=$BUILD_DIR/server/jobd
BENCH=$BUILD_DIR/bench/jobd_bench
for bin in "$JOBD" "$BENCH"; do
  [[ -x $bin ]] || {
    echo "run.sh: $bin is missing; build it: cmake --build $BUILD_DIR --target jobd jobd_bench" >&2
    exit 2
  }
done

WORK=$(mktemp -d /tmp/jobd-bench.XXXXXX)
chmod 755 "$WORK"  # the postgres user must reach the cluster directory inside it
PG_DIR=$WORK/pg
# Private copies: a rebuild of the shared build directory during the run must not touch them.
cp "$JOBD" "$WORK/jobd"
cp "$BENCH" "$WORK/jobd_bench"
JOBD=$WORK/jobd
BENCH=$WORK/jobd_bench
JOBD_PID=''
PG_STARTED=0

cleanup() {
  local rc=$?
  if [[ -n $JOBD_PID ]] && kill -0 "$JOBD_PID" 2>/dev/null; then
    kill -TERM "$JOBD_PID" 2>/dev/null || true
    wait "$JOBD_PID" 2>/dev/null || true
  fi
  if [[ $PG_STARTED -eq 1 ]]; then
    "$ROOT/tests/pg_cluster.sh" stop "$PG_DIR" >/dev/null 2>&1 || true
  fi
  if [[ ${KEEP_BENCH_DIR:-0} == 1 || $rc -ne 0 ]]; then
    echo "run.sh: logs kept in $WORK (jobd.log, pg/postgres.log)" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== machine: $(nproc) cores (nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- |
  sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo);" \
  "$(uname -sr); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== jobd $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(
  git -C "$ROOT" diff --quiet HEAD -- server db 2>/dev/null || echo ' (+ uncommitted changes)');" \
  "log level ${JOBD_LOG_LEVEL:-info}; command: bench/run.sh $*"

# Default durability: no --fast.
URL=$("$ROOT/tests/pg_cluster.sh" start "$PG_DIR")
PG_STARTED=1

"$JOBD" migrate --database_url "$URL" >"$WORK/migrate.log" 2>&1 || {
  cat "$WORK/migrate.log" >&2
  exit 1
}

"$JOBD" serve --database_url "$URL" --listen 127.0.0.1:0 --listen_port_file "$WORK/port" \
  >"$WORK/jobd.log" 2>&1 &
JOBD_PID=$!
for _ in $(seq 1 200); do
  [[ -s $WORK/port ]] && break
  kill -0 "$JOBD_PID" 2>/dev/null || {
    echo "run.sh: jobd exited at start:" >&2
    tail -n 20 "$WORK/jobd.log" >&2
    exit 1
  }
  sleep 0.05
done
[[ -s $WORK/port ]] || {
  echo "run.sh: jobd did not write its port" >&2
  exit 1
}
PORT=$(<"$WORK/port")

set +e
"$BENCH" --address "127.0.0.1:$PORT" --database_url "$URL" --server_pid "$JOBD_PID" --repeat 3 "$@"
status=$?
set -e
exit "$status"
