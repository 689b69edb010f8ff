#!/usr/bin/env bash
# THE test command: install deps, build, start a throwaway PostgreSQL, lint the protos, fuzz
# for a bounded time (tests/fuzz) and run every ctest test against that database. Extra args
# go to ctest (e.g. -L unit).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
start=$SECONDS

deploy/install-deps.sh
deploy/build.sh

# A fresh cluster per run: tests never see data from earlier runs or from the Debian
# main cluster. pg_cluster.sh chowns it to postgres when we are root.
TMPDIR_X=$(mktemp -d /tmp/jobd-test-pg.XXXXXX)
cleanup() {
  tests/pg_cluster.sh stop "$TMPDIR_X" >/dev/null 2>&1 || true
  rm -rf -- "$TMPDIR_X"
}
# EXIT covers normal ends and failures; INT/TERM are turned into an exit so EXIT runs too.
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

JOBD_TEST_DATABASE_URL=$(tests/pg_cluster.sh start "$TMPDIR_X" --fast)
export JOBD_TEST_DATABASE_URL
export JOBD_TEST_PG_CLUSTER_SCRIPT=$REPO/tests/pg_cluster.sh
echo "test database: $JOBD_TEST_DATABASE_URL" >&2

# Run both steps even if the first fails, so one run reports everything.
lint_rc=0
(cd proto && ../tests/node/node_modules/.bin/buf lint) || lint_rc=$?
if ((lint_rc == 0)); then echo "buf lint: ok"; else echo "buf lint: FAILED ($lint_rc)"; fi

# libFuzzer targets (tests/fuzz, clang): built in build/fuzz, each run JOBD_FUZZ_SECONDS
# (default 30; 0 skips this step) seconds.
fuzz_rc=0
if [[ ${JOBD_FUZZ_SECONDS:-30} == 0 ]]; then
  echo "fuzz: skipped (JOBD_FUZZ_SECONDS=0)"
else
  tests/fuzz/run.sh || fuzz_rc=$?
  if ((fuzz_rc == 0)); then echo "fuzz: ok"; else echo "fuzz: FAILED ($fuzz_rc)"; fi
fi

# ctest prints its "Label Time Summary" itself when tests carry labels.
ctest_rc=0
ctest --test-dir build --output-on-failure -j2 --timeout 600 "$@" || ctest_rc=$?

elapsed=$((SECONDS - start))
printf 'elapsed: %dm%02ds\n' $((elapsed / 60)) $((elapsed % 60))
if ((lint_rc != 0 || fuzz_rc != 0 || ctest_rc != 0)); then
  echo "FAILED: buf lint rc=$lint_rc, fuzz rc=$fuzz_rc, ctest rc=$ctest_rc"
  exit 1
fi
echo "all tests passed"
