#!/usr/bin/env bash
# Manage a private, throwaway PostgreSQL 15 cluster living entirely in one directory.
#
#   tests/pg_cluster.sh start DIR [--fast]   initdb if needed, start (or reuse), print the URL
#   tests/pg_cluster.sh stop DIR             stop it if it runs (idempotent)
#   tests/pg_cluster.sh url DIR              print the URL of the running cluster
#
# Layout: DIR/data (PGDATA), DIR/socket (unix socket dir), DIR/postgres.log, DIR/port.
# The only line on stdout is the libpq URL:
#   postgresql://postgres@127.0.0.1:PORT/postgres?host=DIR/socket
# Everything else goes to stderr, so callers can do URL=$(tests/pg_cluster.sh start DIR).
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

log() { printf 'pg_cluster: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
  cat >&2 <<'EOF'
usage: tests/pg_cluster.sh start DIR [--fast]
       tests/pg_cluster.sh stop DIR
       tests/pg_cluster.sh url DIR
EOF
  exit 2
}

[[ $# -ge 2 ]] || usage
cmd=$1
dir_arg=$2
shift 2
fast=0
for a in "$@"; do
  case $a in
    --fast) fast=1 ;;
    *) usage ;;
  esac
done
[[ $cmd == start || $fast -eq 0 ]] || usage

# Absolute path: the socket dir ends up in the URL and in postgres' own config.
DIR=$(realpath -m -- "$dir_arg")
DATA=$DIR/data
SOCK=$DIR/socket
LOGFILE=$DIR/postgres.log
PORTFILE=$DIR/port

[[ -x $PG_BIN/pg_ctl && -x $PG_BIN/initdb ]] ||
  die "PostgreSQL 15 binaries not found in $PG_BIN (install the 'postgresql' package: deploy/install-deps.sh)"

# initdb/pg_ctl refuse to run as root: as root run them as the postgres OS user.
as_root=0
[[ $EUID -eq 0 ]] && as_root=1

# Run a command as the cluster's owner. The cd matters: initdb/pg_ctl chdir back to the
# current directory, and as root that may be /root, which postgres cannot enter.
run_pg() {
  if [[ $as_root -eq 1 ]]; then
    (cd "$DIR" && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# True when pg_ctl sees a live postmaster for DATA (it ignores a stale postmaster.pid).
is_running() {
  [[ -f $DATA/postmaster.pid ]] || return 1
  run_pg "$PG_BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

# Percent-encode the socket path for the URL's query string (keeps '/', letters, digits, -._~).
urlencode() {
  local s=$1 out='' c i
  local LC_ALL=C
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in
      [a-zA-Z0-9/._~-]) out+=$c ;;
      *) printf -v c '%%%02X' "'$c"; out+=$c ;;
    esac
  done
  printf '%s' "$out"
}

print_url() {
  printf 'postgresql://postgres@127.0.0.1:%s/postgres?host=%s\n' "$1" "$(urlencode "$SOCK")"
}

# The port postgres actually listens on: line 4 of postmaster.pid, else DIR/port.
current_port() {
  local p=''
  if [[ -r $DATA/postmaster.pid ]]; then
    p=$(sed -n 4p "$DATA/postmaster.pid" 2>/dev/null || true)
  fi
  if [[ ! $p =~ ^[0-9]+$ && -r $PORTFILE ]]; then
    p=$(<"$PORTFILE")
  fi
  [[ $p =~ ^[0-9]+$ ]] || return 1
  printf '%s\n' "$p"
}

# A port is free if nothing listens on it (any address) and a TCP connect to 127.0.0.1 fails.
port_is_free() {
  local p=$1
  if command -v ss >/dev/null 2>&1; then
    if ss -Htln "sport = :$p" 2>/dev/null | grep -q .; then
      return 1
    fi
  fi
  # The /dev/tcp probe also covers machines without ss; timeout guards against a hang.
  if timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$p" 2>/dev/null; then
    return 1
  fi
  return 0
}

# Start at a random port in 20000-40000 and walk upward until one is free.
pick_port() {
  local p=$((20000 + RANDOM % 20001)) tries
  for ((tries = 0; tries < 2000; tries++)); do
    if port_is_free "$p"; then
      printf '%s\n' "$p"
      return 0
    fi
    p=$((p + 1))
    ((p > 60000)) && p=20000
  done
  return 1
}

# Create DIR and DIR/socket, owned by whoever runs postgres (the postgres user when root).
ensure_dirs() {
  local created=0
  if [[ ! -d $DIR ]]; then
    mkdir -p -- "$DIR"
    created=1
  fi
  if [[ $as_root -eq 1 ]]; then
    id postgres >/dev/null 2>&1 ||
      die "no 'postgres' OS user; install the Debian 'postgresql' package (deploy/install-deps.sh)"
    # Only DIR itself is chowned, not its parents: DIR is dedicated to this cluster.
    [[ $(stat -c %U "$DIR") == postgres ]] || chown postgres:postgres "$DIR"
    # The postgres user must be able to reach DIR through every parent directory
    # (e.g. anything under /root, mode 700, is out of reach).
    if ! runuser -u postgres -- test -r "$DIR" -a -w "$DIR" -a -x "$DIR"; then
      if [[ $created -eq 1 ]]; then rmdir -- "$DIR" 2>/dev/null || true; fi
      die "the postgres user cannot access $DIR (a parent directory is not traversable by it);" \
        "choose a directory under /tmp or /var/tmp instead"
    fi
  fi
  # 0755 so that non-root clients may also connect through the socket.
  if [[ ! -d $SOCK ]]; then
    run_pg mkdir -p -m 0755 -- "$SOCK"
  fi
}

do_initdb() {
  # C.UTF-8 gives UTF-8 collation without depending on generated locales; fall back to C.
  local loc=C
  if locale -a 2>/dev/null | grep -qixE 'c\.utf-?8'; then
    loc=C.UTF-8
  fi
  log "initdb $DATA (locale $loc)"
  local extra=()
  # A throwaway cluster need not wait for initdb's fsync of every file.
  [[ $fast -eq 1 ]] && extra+=(--no-sync)
  # initdb is chatty: show its output only when it fails.
  local out
  if ! out=$(run_pg "$PG_BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 \
    --locale="$loc" "${extra[@]}" 2>&1); then
    printf '%s\n' "$out" >&2
    die "initdb failed"
  fi
}

start_server() {
  local port=$1 opts
  # Unix socket paths are limited to 107 bytes; fail clearly instead of a cryptic log line.
  local sockpath="$SOCK/.s.PGSQL.$port"
  ((${#sockpath} <= 107)) || die "socket path too long (${#sockpath} > 107 bytes): $sockpath; use a shorter DIR"
  # pg_stat_statements: tests and benchmarks count the statements jobd runs.
  opts="-k '$SOCK' -p $port -c listen_addresses=127.0.0.1 -c max_connections=200"
  opts+=" -c shared_preload_libraries=pg_stat_statements"
  if [[ $fast -eq 1 ]]; then
    # Throwaway test data: trade durability for speed.
    opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  fi
  run_pg "$PG_BIN/pg_ctl" -w -t 60 -D "$DATA" -l "$LOGFILE" -o "$opts" start >&2
}

cmd_start() {
  ensure_dirs
  if [[ ! -f $DATA/PG_VERSION ]]; then
    if [[ -e $DATA ]] && [[ -n $(ls -A -- "$DATA" 2>/dev/null) ]]; then
      die "$DATA exists but is not a PostgreSQL data directory (no PG_VERSION)"
    fi
    do_initdb
  fi

  local port
  if is_running; then
    port=$(current_port) || die "cluster in $DATA runs but its port is unknown"
    log "reusing running cluster in $DATA on port $port"
    [[ $fast -eq 1 ]] && log "note: --fast ignored for an already running cluster"
  else
    # Prefer the port used last time so that the URL stays stable across restarts.
    local attempt prev=''
    [[ -r $PORTFILE ]] && prev=$(<"$PORTFILE")
    for attempt in 1 2 3; do
      if [[ $attempt -eq 1 && $prev =~ ^[0-9]+$ ]] && port_is_free "$prev"; then
        port=$prev
      else
        port=$(pick_port) || die "no free TCP port found"
      fi
      log "starting cluster in $DATA on port $port$([[ $fast -eq 1 ]] && echo ' (fast, no fsync)')"
      if start_server "$port"; then
        break
      fi
      # Most likely someone grabbed the port between the probe and the bind: retry.
      log "start failed (attempt $attempt); last log lines:"
      tail -n 5 "$LOGFILE" >&2 2>/dev/null || true
      port=''
    done
    [[ -n $port ]] || die "could not start the cluster; see $LOGFILE"
  fi
  # Written as the cluster owner so that DIR stays entirely postgres-owned.
  # shellcheck disable=SC2016  # $1/$2 are expanded by the inner sh
  run_pg sh -c 'printf "%s\n" "$1" > "$2"' sh "$port" "$PORTFILE"
  print_url "$port"
}

cmd_stop() {
  # Nothing there, or not running: nothing to do.
  [[ -d $DATA ]] || { log "no cluster in $DIR"; return 0; }
  if ! is_running; then
    log "cluster in $DATA is not running"
    return 0
  fi
  log "stopping cluster in $DATA"
  # Only ever stop through pg_ctl on this data dir: never signal processes directly.
  run_pg "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >&2
}

cmd_url() {
  is_running || die "no running cluster in $DATA (run: tests/pg_cluster.sh start $DIR)"
  local port=''
  [[ -r $PORTFILE ]] && port=$(<"$PORTFILE")
  if [[ ! $port =~ ^[0-9]+$ ]]; then
    port=$(current_port) || die "port of the cluster in $DATA is unknown"
  fi
  print_url "$port"
}

case $cmd in
  start) cmd_start ;;
  stop) cmd_stop ;;
  url) cmd_url ;;
  *) usage ;;
esac
