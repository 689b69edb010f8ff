#!/usr/bin/env bash
# Configure (once) and build jobd with Ninja and ccache.
#   deploy/build.sh                         build everything in build/
#   deploy/build.sh --target jobd jobctl    extra args go to `cmake --build`
#   JOBD_BUILD_DIR=build/asan JOBD_CMAKE_ARGS="-DJOBD_SANITIZE=address,undefined" deploy/build.sh
#                                           another tree, configured with extra cmake args
# Builds take /tmp/jobd-build.lock: never two at once on this machine.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
BUILD_DIR=${JOBD_BUILD_DIR:-build}
read -r -a CMAKE_ARGS <<<"${JOBD_CMAKE_ARGS:-}"

# The compiler cache lives outside the checkout (unless the caller chose one), so that a fresh
# clone on the same machine, as CI makes, starts warm.
export CCACHE_DIR=${CCACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/jobd-ccache}
# Paths below the checkout are hashed relative to it: another clone hits the same entries.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$REPO}

build() {
  # Configure only once: re-running cmake on an existing tree is Ninja's job (it re-runs
  # cmake itself when a CMakeLists.txt changes).
  if [[ ! -f $BUILD_DIR/build.ninja ]]; then
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${CMAKE_ARGS[@]}"
  fi
  cmake --build "$BUILD_DIR" -j"$(nproc)" "$@"
}

if [[ ${JOBD_BUILD_LOCKED:-0} != 1 ]]; then
  JOBD_BUILD_LOCKED=1 exec flock /tmp/jobd-build.lock "$0" "$@"
fi
build "$@"

# Brief cache statistics; ccache is optional.
if command -v ccache >/dev/null 2>&1; then
  echo "ccache ($CCACHE_DIR):" >&2
  ccache -s 2>/dev/null | grep -iE '^\s*(hits|misses|cache size|cacheable calls)' >&2 || true
fi
