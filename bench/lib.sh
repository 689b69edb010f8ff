# What bench/run.sh and bench/run_watch.sh share: the binaries copied into a temporary
# directory, a private PostgreSQL cluster with `jobd migrate`, jobd processes on free loopback
# ports, and the cleanup at exit (jobd stopped by PID, the cluster stopped, the directory
# removed). Sourced, after `set -euo pipefail`, by a script that sets BENCH_NAME (its name in
# messages) first.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
JOBD_PIDS=()
PG_STARTED=0
BENCH_KEPT=''  # what cleanup names among the kept logs

# bench_setup BENCH_BINARY WORK_PREFIX: checks that server/jobd and bench/BENCH_BINARY are built,
# makes WORK (mktemp -d /tmp/WORK_PREFIX.XXXXXX) and copies both into it; sets JOBD, BENCH,
# WORK and PG_DIR, and runs cleanup at exit from then on.
bench_setup() {
  local binary=$1 prefix=$2 bin
  JOBD=$BUILD_DIR/server/jobd
  BENCH=$BUILD_DIR/bench/$binary
  for bin in "$JOBD" "$BENCH"; do
    [[ -x $bin ]] || {
      echo "$BENCH_NAME: $bin is missing; build it: cmake --build $BUILD_DIR --target jobd $binary" >&2
      exit 2
    }
  done
  WORK=$(mktemp -d "/tmp/$prefix.XXXXXX")
  chmod 755 "$WORK"  # the postgres user must reach the cluster directory inside it
  PG_DIR=$WORK/pg
  # Private copies: a rebuild of the shared build directory during the run must not touch them.
  cp "$JOBD" "$WORK/jobd"
  cp "$BENCH" "$WORK/$binary"
  JOBD=$WORK/jobd
  BENCH=$WORK/$binary
  trap cleanup EXIT
  trap 'exit 130' INT TERM
}

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
    echo "$BENCH_NAME: logs kept in $WORK ($BENCH_KEPT)" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}

# start_jobd LOG PORTFILE WHAT TRIES: starts `jobd serve` on 127.0.0.1:0 (from $WORK, so that a
# core file lands there), its output appended to LOG, and waits up to TRIES × 50 ms for it to
# write PORTFILE ("jobd WHAT" in messages); sets STARTED_PID, STARTED_PORT and STARTED_HTTP_PORT.
# One API key drives every stream and long poll of a benchmark: its per-key limits are off.
start_jobd() {
  local log=$1 portfile=$2 what=$3 tries=$4
  rm -f "$portfile"
  (cd "$WORK" && exec "$JOBD" serve --database_url "$URL" --listen 127.0.0.1:0 \
    --listen_port_file "$portfile" --http_listen 127.0.0.1:0 \
    --http_port_file "$portfile.http" --max_streams_per_key 0 --max_long_polls_per_key 0 \
    >>"$log" 2>&1) &
  STARTED_PID=$!
  JOBD_PIDS+=("$STARTED_PID")
  for _ in $(seq 1 "$tries"); do
    [[ -s $portfile ]] && break
    kill -0 "$STARTED_PID" 2>/dev/null || {
      echo "$BENCH_NAME: jobd$what exited at start:" >&2
      tail -n 20 "$log" >&2
      exit 1
    }
    sleep 0.05
  done
  [[ -s $portfile ]] || {
    echo "$BENCH_NAME: jobd$what did not write its port" >&2
    exit 1
  }
  STARTED_PORT=$(<"$portfile")
  STARTED_HTTP_PORT=$(cat "$portfile.http" 2>/dev/null || echo 0)
}

load() { cut -d' ' -f1-3 /proc/loadavg; }

# The machine line: cores, CPU model, memory, kernel.
bench_machine() {
  echo "$(nproc) cores (nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- |
    sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); $(uname -sr)"
}

# bench_revision DIRTY_NOTE: "jobd <short commit>", then DIRTY_NOTE when server/ or db/ differ
# from HEAD.
bench_revision() {
  echo "jobd $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(
    git -C "$ROOT" diff --quiet HEAD -- server db 2>/dev/null || echo " $1")"
}

# bench_start_database: a private cluster with default durability (no --fast) in $PG_DIR;
# sets URL.
bench_start_database() {
  URL=$("$ROOT/tests/pg_cluster.sh" start "$PG_DIR")
  PG_STARTED=1
}

# bench_migrate: `jobd migrate` on $URL (its output shown only when it fails), then an admin
# API key for the benchmark's clients in BENCH_API_KEY.
bench_migrate() {
  "$JOBD" migrate --database_url "$URL" >"$WORK/migrate.log" 2>&1 &&
    "$JOBD" keys create --database_url "$URL" --role admin --name bench \
      --key_file "$WORK/admin.key" 2>>"$WORK/migrate.log" || {
    cat "$WORK/migrate.log" >&2
    exit 1
  }
  BENCH_API_KEY=$(<"$WORK/admin.key")
}
