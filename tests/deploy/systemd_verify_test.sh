#!/usr/bin/env bash
# deploy/systemd/jobd.service through systemd's own checker, offline (no systemd running: this
# works as root in a container, and in CI):
#   1. `systemd-analyze verify` on the unit with the TLS drop-in (deploy/systemd/tls.conf.example
#      as jobd.service.d/tls.conf) must print nothing: it exits 0 even on unknown keys or bad
#      values, so any output is a failure. verify needs the ExecStart binaries to exist, so the
#      copy it reads runs JOBD (the built jobd) instead of /usr/local/bin/jobd.
#   2. The same verify on a copy with a misspelled directive must complain (else step 1 proves
#      nothing).
#   3. `systemd-analyze security --offline=true --threshold=20`: the overall exposure must
#      be at most 2.0 ("OK"; systemd's scale is 0 to 10, the threshold is in tenths).
#
#   tests/deploy/systemd_verify_test.sh JOBD
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
JOBD=${1:?usage: systemd_verify_test.sh JOBD}
JOBD=$(realpath "$JOBD")
[[ -x $JOBD ]] || { echo "FAIL: not an executable: $JOBD"; exit 1; }
command -v systemd-analyze >/dev/null ||
  { echo "FAIL: systemd-analyze not found (Debian package systemd)"; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/systemd_verify_test.XXXXXX")
trap 'rm -rf -- "$TMP"' EXIT
# shellcheck source=tests/deploy/tally.sh
source "$(dirname "${BASH_SOURCE[0]}")/tally.sh"

# unit DIR: DIR/jobd.service (binaries rewritten) and DIR/jobd.service.d/tls.conf.
unit() {
  mkdir -p "$1/jobd.service.d"
  sed "s#/usr/local/bin/jobd#$JOBD#g" "$REPO/deploy/systemd/jobd.service" >"$1/jobd.service"
  cp "$REPO/deploy/systemd/tls.conf.example" "$1/jobd.service.d/tls.conf"
}

unit "$TMP/good"
grep -q "^ExecStart=$JOBD serve$" "$TMP/good/jobd.service" ||
  bad "the copy's ExecStart was not rewritten to $JOBD"
rc=0
out=$(systemd-analyze verify "$TMP/good/jobd.service" 2>&1) || rc=$?
if ((rc == 0)) && [[ -z $out ]]; then
  ok "systemd-analyze verify jobd.service (+ tls.conf drop-in): no complaint"
else
  bad "systemd-analyze verify jobd.service: exit $rc: $out"
fi

unit "$TMP/bad"
sed -i 's/^ProtectSystem=strict$/ProtectSystm=strict/' "$TMP/bad/jobd.service"
out=$(systemd-analyze verify "$TMP/bad/jobd.service" 2>&1) || true
if [[ $out == *"Unknown key 'ProtectSystm'"* ]]; then
  ok "systemd-analyze verify complains about a misspelled directive (the check can fail)"
else
  bad "systemd-analyze verify said nothing about ProtectSystm: $out"
fi

rc=0
out=$(systemd-analyze security --offline=true --threshold=20 "$TMP/good/jobd.service" 2>&1) ||
  rc=$?
level=$(grep -o 'Overall exposure level for jobd.service: .*' <<<"$out" || true)
if ((rc == 0)) && [[ -n $level ]]; then
  ok "systemd-analyze security: ${level#Overall }, at most 2.0"
else
  bad "systemd-analyze security: exit $rc, ${level:-no overall level}"
  grep '✗' <<<"$out" || true
fi

echo "$passed passed, $failed failed"
((failed == 0))
