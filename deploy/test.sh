#!/usr/bin/env bash
# THE test command: install deps, build, start a throwaway PostgreSQL, check the formatting,
# lint the protos, fuzz for a bounded time (tests/fuzz), run the ctest tests against that
# database: the unit, pg and e2e ones under AddressSanitizer + UBSan, the others (browser,
# chaos, load, rss, interop, lint, deploy) on the normal build, and the unit and pg ones again
# under ThreadSanitizer (JOBD_TSAN_E2E=1 adds the e2e tests labelled concurrency).
# Extra args go to every ctest run (e.g. -L unit). JOBD_SANITIZERS=0 skips the sanitizer
# stages (for a quick local run; CI runs them).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
start=$SECONDS
stage_start=$SECONDS
stage() {  # prints how long the previous stage took
  printf 'stage: %s done in %ds\n' "$1" $((SECONDS - stage_start)) >&2
  stage_start=$SECONDS
}

deploy/install-deps.sh
stage install
# With the sanitizer stages on, each tree builds only the test programs it runs
# (tests/CMakeLists.txt: plain_test_programs, sanitized_test_programs).
sanitizers=${JOBD_SANITIZERS:-1}
if [[ $sanitizers != 0 ]]; then
  deploy/build.sh --target plain_test_programs
else
  deploy/build.sh
fi
stage build

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

# Run every step even if one fails, so one run reports everything.
declare -A rc=()

rc[format]=0
tests/lint/check_format.sh || rc[format]=$?

rc[buf_lint]=0
(cd proto && ../tests/node/node_modules/.bin/buf lint) || rc[buf_lint]=$?
if ((rc[buf_lint] == 0)); then echo "buf lint: ok"; else echo "buf lint: FAILED"; fi

# libFuzzer targets (tests/fuzz, clang): built in build/fuzz, each run JOBD_FUZZ_SECONDS
# (default 30; 0 skips this step) seconds.
rc[fuzz]=0
if [[ ${JOBD_FUZZ_SECONDS:-30} == 0 ]]; then
  echo "fuzz: skipped (JOBD_FUZZ_SECONDS=0)"
else
  tests/fuzz/run.sh || rc[fuzz]=$?
  if ((rc[fuzz] == 0)); then echo "fuzz: ok"; else echo "fuzz: FAILED"; fi
fi
stage "format, buf lint, fuzz"

# ctest prints its "Label Time Summary" itself when tests carry labels.
rc[ctest]=0
# With the sanitizer stages on, the unit, pg and e2e tests run there (instrumented) and here
# only the rest (browser, chaos, load, rss, interop, lint, deploy): each test runs once.
# (The programs of the unit, pg and e2e tests are not built here then: ctest stands each in
# for a <program>_NOT_BUILT test, which has no label, so `-L .` leaves it out.)
plain_only=()
if [[ $sanitizers != 0 ]]; then plain_only=(-L . -LE 'unit|pg|e2e'); fi
ctest --test-dir build --output-on-failure -j2 --timeout 600 "${plain_only[@]}" "$@" ||
  rc[ctest]=$?
stage "tests"

if [[ $sanitizers != 0 ]]; then
  # Sanitizer trees: instrumented builds of the server, client and tests (no benchmarks).
  # Any report aborts the process that made it (a jobd under test too), failing its test.
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  export LSAN_OPTIONS=suppressions=$REPO/tests/sanitizers/lsan.supp
  rc[asan]=0
  JOBD_BUILD_DIR=build/asan \
    JOBD_CMAKE_ARGS="-DJOBD_SANITIZE=address,undefined -DJOBD_BUILD_BENCH=OFF" \
    deploy/build.sh --target sanitized_test_programs || rc[asan]=$?
  stage "asan build"
  if ((rc[asan] == 0)); then
    ctest --test-dir build/asan --output-on-failure -j2 --timeout 900 -L 'unit|pg|e2e' "$@" ||
      rc[asan]=$?
  fi
  stage "asan tests"
  unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS

  # ThreadSanitizer: the unit and pg tests, where every hand-off between threads is ours.
  # JOBD_TSAN_E2E=1 adds the e2e tests labelled concurrency, whose hand-offs through Debian's
  # uninstrumented gRPC are annotated or suppressed (docs/ARCHITECTURE.md, Testing); they take
  # over 20 minutes under TSan on 2 cores, so CI leaves them out.
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$REPO/tests/sanitizers/tsan.supp"
  rc[tsan]=0
  # (api_unit_tests: conversions and tables, single-threaded; left to the other builds.)
  tsan_targets=(unit_tests jobctl_unit_tests pg_tests)
  tsan_labels='unit|pg'
  if [[ ${JOBD_TSAN_E2E:-0} == 1 ]]; then
    tsan_targets+=(jobd e2e_tests two_servers_e2e_tests)
    tsan_labels='unit|pg|concurrency'
  fi
  JOBD_BUILD_DIR=build/tsan JOBD_CMAKE_ARGS="-DJOBD_SANITIZE=thread -DJOBD_BUILD_BENCH=OFF" \
    deploy/build.sh --target "${tsan_targets[@]}" || rc[tsan]=$?
  stage "tsan build"
  if ((rc[tsan] == 0)); then
    ctest --test-dir build/tsan --output-on-failure -j2 --timeout 900 -L "$tsan_labels" "$@" ||
      rc[tsan]=$?
  fi
  stage "tsan tests"
  unset TSAN_OPTIONS
fi

elapsed=$((SECONDS - start))
printf 'elapsed: %dm%02ds\n' $((elapsed / 60)) $((elapsed % 60))
failed=()
for step in "${!rc[@]}"; do ((rc[$step] == 0)) || failed+=("$step rc=${rc[$step]}"); done
if ((${#failed[@]} > 0)); then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all tests passed"
