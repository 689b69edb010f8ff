#!/usr/bin/env bash
# Build the libFuzzer targets (clang-14, ASan+UBSan) in build/fuzz and run each for a bounded
# time. Exits non-zero when the build fails, a target crashes or an invariant breaks; prints
# one line per target and where the crash artifacts are.
#   tests/fuzz/run.sh                       every target, $JOBD_FUZZ_SECONDS (default 30) s each
#   tests/fuzz/run.sh request_fuzzer        only that one
#   JOBD_FUZZ_SECONDS=600 tests/fuzz/run.sh page_token_fuzzer
# Targets run side by side when there are at least 2 CPUs (one core each). The corpus that
# fuzzing grows is kept in build/fuzz/corpus/<target> (out of git) and reused next time.
# The build takes /tmp/jobd-build.lock (never two builds at once); JOBD_FUZZ_NO_LOCK=1 skips
# that, for a caller that already holds the lock.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO"

SECONDS_EACH=${JOBD_FUZZ_SECONDS:-30}
BUILD=build/fuzz
ALL_TARGETS=(page_token_fuzzer request_fuzzer)
TARGETS=("$@")
((${#TARGETS[@]} > 0)) || TARGETS=("${ALL_TARGETS[@]}")

export CCACHE_DIR=${CCACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/jobd-ccache}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$REPO}
CC=${JOBD_FUZZ_CC:-clang-14}
CXX=${JOBD_FUZZ_CXX:-clang++-14}

# --- build --------------------------------------------------------------------------------
build() {
  if [[ ! -f $BUILD/build.ninja ]]; then
    CC=$CC CXX=$CXX cmake -S tests/fuzz -B "$BUILD" -G Ninja \
      -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
  fi
  cmake --build "$BUILD" -j2 --target "${TARGETS[@]}"
}
lock=(flock /tmp/jobd-build.lock)
[[ ${JOBD_FUZZ_NO_LOCK:-0} == 1 ]] && lock=()
build_start=$SECONDS
build_rc=0
script="set -euo pipefail; $(declare -p BUILD CC CXX); $(declare -f build); "
"${lock[@]}" bash -c "$script"'TARGETS=("$@"); build' _ "${TARGETS[@]}" || build_rc=$?
if ((build_rc != 0)); then
  echo "fuzz build: FAILED ($build_rc)"
  exit 1
fi
echo "fuzz build: $((SECONDS - build_start)) s"

# --- seeds: the text-format requests in tests/fuzz/seeds/request, encoded, and the inputs of
# findings (tests/fuzz/crash-<target without _fuzzer>-<what>) ------------------------------
artifacts=$(mktemp -d /tmp/jobd-fuzz.XXXXXX)
seeds=$artifacts/seeds
for target in "${TARGETS[@]}"; do
  mkdir -p "$seeds/$target" "$BUILD/corpus/$target"
  for f in tests/fuzz/crash-"${target%_fuzzer}"-*; do
    [[ -f $f ]] && cp "$f" "$seeds/$target/"
  done
done
if [[ -d $seeds/request_fuzzer ]]; then
  # File names: NN-anything.txtpb, NN = the selector byte (see request_fuzzer.cc); first
  # line "# proto-message: jobd.v1.<Message>".
  for f in tests/fuzz/seeds/request/*.txtpb; do
    base=$(basename "$f" .txtpb)
    selector=$((10#${base%%-*}))
    message=$(sed -n '1s/^# proto-message: *//p' "$f")
    {
      printf "\\x$(printf %02x "$selector")"
      protoc -I proto -I /usr/include --encode="$message" \
        jobd/v1/job_service.proto jobd/v1/worker_service.proto <"$f"
    } >"$seeds/request_fuzzer/$base"
  done
fi

# --- run ----------------------------------------------------------------------------------
symbolizer=$(command -v llvm-symbolizer-14 || command -v llvm-symbolizer || true)
asan=abort_on_error=1:detect_leaks=1${symbolizer:+:external_symbolizer_path=$symbolizer}
export ASAN_OPTIONS=${ASAN_OPTIONS:-$asan}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Writes <target>.rc and <target>.secs next to <target>.log.
run_one() {
  local target=$1 start=$SECONDS rc=0
  "$BUILD/$target" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/$target-" \
    "$BUILD/corpus/$target" "$seeds/$target" >"$artifacts/$target.log" 2>&1 || rc=$?
  echo "$rc" >"$artifacts/$target.rc"
  echo $((SECONDS - start)) >"$artifacts/$target.secs"
}

if (($(nproc) >= 2)); then
  for target in "${TARGETS[@]}"; do
    run_one "$target" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || true; done
  pids=()
else
  for target in "${TARGETS[@]}"; do run_one "$target"; done
fi

failed=0
for target in "${TARGETS[@]}"; do
  log=$artifacts/$target.log
  rc=$(cat "$artifacts/$target.rc" 2>/dev/null || echo 1)
  secs=$(cat "$artifacts/$target.secs" 2>/dev/null || echo '?')
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1 || true)
  corpus=$( (grep -oE 'corp: [0-9]+' "$log" || true) | tail -1 | cut -d' ' -f2)
  found=$(find "$artifacts" -maxdepth 1 -type f \
    \( -name "$target-crash-*" -o -name "$target-leak-*" -o -name "$target-timeout-*" \
       -o -name "$target-oom-*" \) | sort)
  crashes=$(grep -c . <<<"$found" || true)
  ((rc == 0 || crashes > 0)) || crashes=1  # died without leaving an input
  echo "fuzz ${target%_fuzzer}: ${execs:-?} execs in $secs s, corpus ${corpus:-?}, $crashes crashes"
  if ((rc != 0 || crashes > 0)); then
    failed=1
    {
      echo "fuzz ${target%_fuzzer}: FAILED (rc $rc); log: $log"
      [[ -n $found ]] && sed 's/^/  input: /' <<<"$found"
      what='invariant violated|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:'
      grep -E -A30 "$what|terminate called" "$log" | head -60 || tail -40 "$log"
      echo "  reproduce: $BUILD/$target <input>   (JOBD_FUZZ_STRICT=1 for the known findings)"
    } >&2
  fi
done

if ((failed)); then
  echo "fuzz: crash artifacts and logs kept in $artifacts"
  exit 1
fi
rm -rf -- "$artifacts"
