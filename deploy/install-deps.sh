#!/usr/bin/env bash
# Install what building and testing jobd need on Debian 12, then the Node tooling (buf)
# from tests/node/package-lock.json. Runs as root or as a user with sudo; quick when
# everything is already there (no apt at all, no npm download).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf 'install-deps: %s\n' "$*" >&2; }

packages=(
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  libpqxx-dev libgtest-dev libgmock-dev libbenchmark-dev cmake ninja-build ccache g++
  pkg-config postgresql postgresql-contrib grpc-proto python3-grpcio python3-protobuf
  libcli11-dev nlohmann-json3-dev libssl-dev ca-certificates openssl clang-format-14 mold
  # server/http: Boost.Beast and Asio (headers); tests/browser: Debian's browser
  libboost1.81-dev chromium
  # server/metrics: GET /metrics (Prometheus' text format)
  prometheus-cpp-dev
  # tests/deploy: YAML, shell and systemd unit checks; curl runs the image's health check script
  python3-yaml shellcheck systemd curl
  # tests/e2e/clock_skew_e2etest.cc: replicas whose clocks are off (LD_PRELOAD)
  libfaketime
  # tests/fuzz: clang with libFuzzer and the sanitizer runtimes (libclang_rt.fuzzer/asan/
  # ubsan are in libclang-rt-14-dev, only a Recommends of clang-14), and llvm-symbolizer
  # (llvm-14) for readable crash stacks.
  clang-14 libclang-rt-14-dev llvm-14
)
# Node may come from elsewhere (e.g. NodeSource, whose nodejs bundles npm and conflicts
# with Debian's npm): only ask apt for them when they are missing.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} > 0)); then
  # sudo only when needed: CI runs as root on a clean image without sudo.
  SUDO=()
  if [[ $EUID -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || { log "error: not root and no sudo; missing: ${missing[*]}"; exit 1; }
    SUDO=(sudo)
  fi
  log "installing: ${missing[*]}"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  log "all Debian packages already installed"
fi

# npm ci honours the lockfile exactly. It wipes node_modules each time, so skip it when
# node_modules was installed from this very lockfile (stamp = lockfile's sha256) and holds
# the paths given.
npm_ci_unless_current() {
  local dir=$REPO/$1 path
  shift
  local stamp=$dir/node_modules/.jobd-lock.sha256
  local want
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  local current=1
  for path in "$@"; do [[ -e $dir/node_modules/$path ]] || current=0; done
  if ((current)) && [[ -f $stamp && $(<"$stamp") == "$want" ]]; then
    log "${dir#"$REPO"/}/node_modules is up to date with package-lock.json"
  else
    log "npm ci in ${dir#"$REPO"/}"
    (cd "$dir" && npm ci --no-audit --no-fund >&2)
    printf '%s\n' "$want" >"$stamp"
  fi
}
# buf, puppeteer-core: tests/lint and tests/browser. The Node worker library: tests/interop.
npm_ci_unless_current tests/node .bin/buf puppeteer-core
npm_ci_unless_current client/node @grpc/grpc-js
