#!/usr/bin/env bash
# The dependency rules of docs/ARCHITECTURE.md, checked on #include lines:
#   db/model        only itself, Abseil and the standard library (no libpqxx, gRPC, proto)
#   db/             no generated proto header, no gRPC, nothing of server/ or client/
#   server/core     no gRPC, no libpqxx, no proto, no db/ beyond db/model, no api/background
#   server/background  no gRPC, no libpqxx, no proto (the database only through db/)
#   server/api      no libpqxx, no db/ beyond db/model (no SQL in transports), no HTTP
#   server/http     no libpqxx, no gRPC, no db/ beyond db/model (the HTTP transport reaches
#                   the handlers through server/api, never through a loopback gRPC call)
#   server/, db/    nothing of client/
#   proto/common    nothing of server/, db/, client/
#   client/jobctl   only the client library's public headers, never server/ or db/
# Usage: check_dependencies.sh [ROOT]   (ROOT defaults to the checkout). Prints each
# violation as file:line: rule, exits 1 if there is any.
set -euo pipefail

ROOT=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT"
violations=0

# forbid DIR PATTERN RULE [EXCLUDED_DIR...]: every #include in DIR matching PATTERN (ERE on
# the included name, quotes or brackets included) is a violation of RULE.
forbid() {
  local dir=$1 pattern=$2 rule=$3
  shift 3
  [[ -d $dir ]] || return 0
  local prune=()
  for excluded in "$@"; do prune+=(-path "$excluded" -prune -o); done
  local hits
  hits=$(find "$dir" "${prune[@]}" -type f \( -name '*.h' -o -name '*.cc' -o -name '*.hpp' -o -name '*.cpp' \) -print0 |
    xargs -0 -r grep -HnE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]($pattern)" || true)
  if [[ -n $hits ]]; then
    while IFS= read -r hit; do
      echo "$hit  <- $rule"
      violations=$((violations + 1))
    done <<<"$hits"
  fi
}

GRPC='grpc\+\+/|grpcpp/|grpc/'
PQXX='pqxx/|libpq-fe\.h'
PROTO='jobd/v1/|[^">]*\.pb\.h'

forbid db/model "$GRPC|$PQXX|$PROTO|db/[a-z_]+\.h|server/|client/|proto/" \
  "db/model links no database, no gRPC, no proto"
forbid db "$PROTO|$GRPC" "db/ never includes a generated proto header or gRPC"
forbid server/core "$GRPC|$PQXX|$PROTO|db/[a-z_]+\.h|server/api/|server/background/|server/http/|server/[a-z_]+\.h" \
  "server/core knows no gRPC, SQL, proto, transports or loops"
forbid server/background "$GRPC|$PQXX|$PROTO|server/api/|server/http/" \
  "background loops reach the database only through db/"
forbid server/api "$PQXX|db/[a-z_]+\.h|server/background/|server/http/|boost/" \
  "transports write no SQL and use only the model of db/"
forbid server/http "$PQXX|$GRPC|db/[a-z_]+\.h|server/background/" \
  "the HTTP transport writes no SQL and makes no gRPC call"
forbid server "client/" "the server never includes the client"
forbid db "client/|server/" "db/ includes neither server/ nor client/"
forbid proto/common "server/|db/|client/" "shared helpers depend on neither end"
forbid client/jobctl "server/|db/" "jobctl uses only the client library's public headers"
forbid client "server/|db/" "the client library never includes the server" client/jobctl

if ((violations > 0)); then
  echo "check_dependencies: $violations violation(s)"
  exit 1
fi
echo "check_dependencies: ok"
