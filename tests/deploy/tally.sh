# shellcheck shell=bash
# Sourced by the tests/deploy checks: ok and bad count and print each check.
passed=0
failed=0
ok() {
  passed=$((passed + 1))
  echo "ok: $*"
}
bad() {
  failed=$((failed + 1))
  echo "FAIL: $*"
}
