#!/usr/bin/env bash
# The dashboard in a real browser: Debian's chromium driven by puppeteer-core (tests/node,
# from its lockfile; no browser download) against a real jobd, with `jobctl work` running the
# jobs. The steps are in dashboard.test.mjs; this script owns the processes: it serves jobd,
# runs the worker, and restarts jobd when the browser test asks (a file in $E2E_TMP).
# Screenshots go to $JOBD_BROWSER_OUT (default build/browser); JOBD_UPDATE_README_SCREENSHOT=1
# also writes the README's docs/dashboard.png.
#
#   JOBD_TEST_DATABASE_URL=postgresql://... tests/browser/dashboard_test.sh JOBD JOBCTL
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"

e2e_start_with_jobctl "$@"
JOBD=$1
CHROMIUM=${JOBD_CHROMIUM:-/usr/bin/chromium}
[[ -x $CHROMIUM ]] || fail "chromium not found at $CHROMIUM (deploy/install-deps.sh installs it)"
NODE_DIR=$E2E_REPO/tests/node
[[ -d $NODE_DIR/node_modules/puppeteer-core ]] ||
  fail "puppeteer-core is missing: run deploy/install-deps.sh (npm ci in tests/node)"

WS=web
key() {  # key ROLE NAME: a key of workspace $WS, made in the database
  "$JOBD" keys create --database_url "$E2E_DATABASE_URL" --role "$1" --workspace "$WS" \
    --name "$2" --key_file "$E2E_TMP/$2.key" 2>>"$E2E_TMP/keys.log" || fail "keys create $2"
  cat "$E2E_TMP/$2.key"
}
MEMBER_KEY=$(key member web-member)
VIEWER_KEY=$(key viewer web-viewer)
WORKER_KEY=$(key worker web-worker)  # the browser test's own worker, over HTTP

# The worker's program: steps with a message each, slower for type browser.slow.
cat >"$E2E_TMP/steps.sh" <<'PROGRAM'
#!/usr/bin/env bash
steps=5 pause=0.05
if [[ $JOBD_JOB_TYPE == browser.slow ]]; then steps=30 pause=0.25; fi
for ((i = 1; i <= steps; i++)); do
  echo "progress $((i * 100 / steps)) step $i of $steps"
  echo "message $i"
  sleep "$pause"
done
echo '{"steps": '"$steps"'}'
PROGRAM
chmod +x "$E2E_TMP/steps.sh"
e2e_spawn worker "$JOBCTL" --address "$E2E_ADDRESS" work --workspace "$WS" \
  --type browser.work --type browser.slow --worker-id browser-worker --poll-wait 2s \
  -- "$E2E_TMP/steps.sh"

OUT_DIR=${JOBD_BROWSER_OUT:-$E2E_REPO/build/browser}
mkdir -p "$OUT_DIR"
export JOBD_URL=http://127.0.0.1:$E2E_HTTP_PORT MEMBER_KEY VIEWER_KEY WORKER_KEY ADMIN_KEY=$E2E_API_KEY \
  CHROMIUM OUT_DIR DOCS_DIR=$E2E_REPO/docs CONTROL_DIR=$E2E_TMP NODE_DIR
node "$E2E_REPO/tests/browser/dashboard.test.mjs" &
node_pid=$!
# Serve the browser test's restart requests until it ends.
while kill -0 "$node_pid" 2>/dev/null; do
  if [[ -f $E2E_TMP/restart.request ]]; then
    rm -f "$E2E_TMP/restart.request"
    log "restarting jobd for the browser test"
    e2e_restart_jobd "$JOBD"
    touch "$E2E_TMP/restart.done"
  fi
  sleep 0.05
done
wait "$node_pid" || fail "the browser test failed (screenshots in $OUT_DIR)"
log "ok"
