#!/usr/bin/env bash
# The image's scripts (deploy/docker/) run here, outside any container, with a stand-in jobd
# and a stand-in HTTP server on loopback (no database, no Docker):
#   entrypoint.sh   serve (no arguments, or flags only) gets 0.0.0.0 listen defaults unless
#                   they are set (an empty JOBD_HTTP_LISTEN stays empty: HTTP off); migrate and
#                   keys get none; anything else runs as a program;
#   healthcheck.sh  exit 0 on /readyz 200, non-zero on 503, on a closed port and with HTTP
#                   off; the port comes from JOBD_HTTP_LISTEN;
#   ensure-key.sh   keeps a key file that `jobd keys list` shows live, replaces one it shows
#                   revoked or does not show (old one kept as FILE.old), creates a missing one,
#                   and changes nothing when the key list cannot be read.
# tests/deploy/container_scripts_e2etest.sh runs ensure-key.sh and healthcheck.sh against a
# real jobd and PostgreSQL.
#
#   tests/deploy/container_scripts_test.sh
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
D=$REPO/deploy/docker
TMP=$(mktemp -d "${TMPDIR:-/tmp}/container_scripts_test.XXXXXX")
SERVER_PID=''
cleanup() {
  if [[ -n $SERVER_PID ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf -- "$TMP"
}
trap cleanup EXIT

# shellcheck source=tests/deploy/tally.sh
source "$(dirname "${BASH_SOURCE[0]}")/tally.sh"
# expect WHAT WANT GOT
expect() {
  if [[ $2 == "$3" ]]; then ok "$1"; else bad "$1: got '$3', want '$2'"; fi
}
# holds WHAT CMD...: CMD succeeds.
holds() {
  local what=$1
  shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}

# ---- entrypoint.sh ------------------------------------------------------------------------------
# The stand-in jobd prints its arguments and the listen variables (<unset> when unset).
cat >"$TMP/fake-jobd" <<'EOF'
#!/bin/sh
printf 'args=[%s] listen=%s http=%s\n' "$*" "${JOBD_LISTEN-<unset>}" "${JOBD_HTTP_LISTEN-<unset>}"
EOF
chmod +x "$TMP/fake-jobd"
entry() {
  env -u JOBD_LISTEN -u JOBD_HTTP_LISTEN JOBD_BIN="$TMP/fake-jobd" "$D/entrypoint.sh" "$@"
}

expect "entrypoint: no arguments serve on every interface" \
  "args=[] listen=0.0.0.0:50051 http=0.0.0.0:8080" "$(entry)"
expect "entrypoint: serve on every interface" \
  "args=[serve] listen=0.0.0.0:50051 http=0.0.0.0:8080" "$(entry serve)"
expect "entrypoint: flags only are serve's" \
  "args=[--log_level debug] listen=0.0.0.0:50051 http=0.0.0.0:8080" "$(entry --log_level debug)"
expect "entrypoint: JOBD_LISTEN and JOBD_HTTP_LISTEN set are kept" \
  "args=[serve] listen=10.0.0.5:6000 http=10.0.0.5:7000" \
  "$(env JOBD_BIN="$TMP/fake-jobd" JOBD_LISTEN=10.0.0.5:6000 JOBD_HTTP_LISTEN=10.0.0.5:7000 \
    "$D/entrypoint.sh" serve)"
expect "entrypoint: an empty JOBD_HTTP_LISTEN (HTTP off) stays empty" \
  "args=[serve] listen=0.0.0.0:50051 http=" \
  "$(env -u JOBD_LISTEN JOBD_BIN="$TMP/fake-jobd" JOBD_HTTP_LISTEN= "$D/entrypoint.sh" serve)"
expect "entrypoint: migrate gets no listen defaults" \
  "args=[migrate] listen=<unset> http=<unset>" "$(entry migrate)"
expect "entrypoint: keys gets no listen defaults" \
  "args=[keys list] listen=<unset> http=<unset>" "$(entry keys list)"
expect "entrypoint: another program runs as given" "hello" "$(entry echo hello)"

# ---- healthcheck.sh -----------------------------------------------------------------------------
# A loopback HTTP server whose /readyz answers what $TMP/status holds.
echo 200 >"$TMP/status"
/usr/bin/python3 - "$TMP" >"$TMP/server.log" 2>&1 <<'EOF' &
import http.server, os, sys
tmp = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code = int(open(os.path.join(tmp, "status")).read()) if self.path == "/readyz" else 404
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(os.path.join(tmp, "port.tmp"), "w").write(str(s.server_address[1]))
os.rename(os.path.join(tmp, "port.tmp"), os.path.join(tmp, "port"))
s.serve_forever()
EOF
SERVER_PID=$!
for _ in $(seq 100); do [[ -s $TMP/port ]] && break; sleep 0.05; done
PORT=$(<"$TMP/port")
hc() { env -u JOBD_TLS_CERT_FILE "$@" "$D/healthcheck.sh" >"$TMP/hc.out" 2>&1; }

rc=0; hc JOBD_HTTP_LISTEN="0.0.0.0:$PORT" || rc=$?
expect "healthcheck: exit 0 on /readyz 200" 0 "$rc"
echo 503 >"$TMP/status"
rc=0; hc JOBD_HTTP_LISTEN="0.0.0.0:$PORT" || rc=$?
holds "healthcheck: non-zero on /readyz 503 ($rc)" test "$rc" -ne 0
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=''
rc=0; hc JOBD_HTTP_LISTEN="[::]:$PORT" || rc=$?
holds "healthcheck: non-zero on a closed port ($rc)" test "$rc" -ne 0
rc=0; hc JOBD_HTTP_LISTEN= || rc=$?
expect "healthcheck: exit 1 with HTTP off" 1 "$rc"
holds "healthcheck: says HTTP is off" grep -q "HTTP is off" "$TMP/hc.out"

# ---- ensure-key.sh ------------------------------------------------------------------------------
# The stand-in jobd keeps its keys in $KEYS_DB, one "PREFIX REVOKED" per line, and prints them as
# `jobd keys list` does (REVOKED last, "-" when live); FAIL_LIST=1 makes `keys list` fail.
cat >"$TMP/fake-keys-jobd" <<'EOF'
#!/bin/bash
set -eu
case "$1 $2" in
  "keys list")
    [[ ${FAIL_LIST:-0} == 1 ]] && { echo "jobd keys: connection refused" >&2; exit 1; }
    echo "ID NAME ROLE WORKSPACE PREFIX CREATED EXPIRES REVOKED"
    while read -r prefix revoked; do
      echo "id-$prefix name admin - $prefix 2026-01-01T00:00:00Z - $revoked"
    done <"$KEYS_DB"
    ;;
  "keys create")
    file=${*: -1}
    [[ ! -e $file ]] || { echo "key_file: exists" >&2; exit 1; }
    key=jobd_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    (umask 077; echo "$key" >"$file")
    echo "${key:0:12} -" >>"$KEYS_DB"
    echo "created API key id-${key:0:12}: $*" >&2
    ;;
  *) exit 2 ;;
esac
EOF
chmod +x "$TMP/fake-keys-jobd"
export KEYS_DB=$TMP/keys.db
: >"$KEYS_DB"
ek() { JOBD_BIN="$TMP/fake-keys-jobd" "$D/ensure-key.sh" "$TMP/admin.key" --role admin --name t \
  >"$TMP/ek.out" 2>&1; }

rc=0; ek || rc=$?
expect "ensure-key: creates a missing key (exit)" 0 "$rc"
first=$(cat "$TMP/admin.key" 2>/dev/null || true)
holds "ensure-key: the key file holds a key" test "${first:0:5}" = jobd_
rc=0; ek || rc=$?
expect "ensure-key: a live key is kept (exit)" 0 "$rc"
expect "ensure-key: a live key is kept (same key)" "$first" "$(cat "$TMP/admin.key")"
rc=0; FAIL_LIST=1 ek || rc=$?
holds "ensure-key: fails when the key list cannot be read" test "$rc" -ne 0
expect "ensure-key: ... and leaves the key file alone" "$first" "$(cat "$TMP/admin.key")"
sed -i 's/ -$/ 2026-02-01T00:00:00Z/' "$KEYS_DB"  # revoke every key
rc=0; ek || rc=$?
expect "ensure-key: a revoked key is replaced (exit)" 0 "$rc"
second=$(cat "$TMP/admin.key")
holds "ensure-key: a revoked key is replaced" test "${second:0:5}" = jobd_ -a "$second" != "$first"
expect "ensure-key: the replaced key is kept as .old" "$first" "$(cat "$TMP/admin.key.old")"
: >"$KEYS_DB"  # another database: the key is unknown there
rc=0; ek || rc=$?
third=$(cat "$TMP/admin.key")
holds "ensure-key: a key of another database is replaced" test "$rc" -eq 0 -a "$third" != "$second"

echo "$passed passed, $failed failed"
((failed == 0))
