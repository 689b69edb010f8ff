#!/usr/bin/env bash
# Configure (once) and build jobd with Ninja and ccache.
#   deploy/build.sh                         build everything
#   deploy/build.sh --target jobd jobctl    extra args go to `cmake --build`
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

# Keep the compiler cache with the checkout unless the caller (e.g. CI) chose one.
export CCACHE_DIR=${CCACHE_DIR:-$REPO/.ccache}

# Configure only once: re-running cmake on an existing tree is Ninja's job (it re-runs
# cmake itself when a CMakeLists.txt changes).
if [[ ! -f build/build.ninja ]]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi

cmake --build build -j"$(nproc)" "$@"

# Brief cache statistics; ccache is optional.
if command -v ccache >/dev/null 2>&1; then
  echo "ccache ($CCACHE_DIR):" >&2
  ccache -s 2>/dev/null | grep -iE '^\s*(hits|misses|cache size|cacheable calls)' >&2 || true
fi
