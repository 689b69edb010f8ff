#!/usr/bin/env bash
# Shows that check_dependencies.sh catches each kind of violation: a tree with one include
# breaking each rule must fail and name every offending file; the same tree without them
# must pass.
set -euo pipefail

CHECK=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/check_dependencies.sh
TREE=$(mktemp -d)
trap 'rm -rf -- "$TREE"' EXIT

add() {  # add FILE INCLUDE_LINE
  mkdir -p "$TREE/$(dirname "$1")"
  printf '%s\n' "$2" >>"$TREE/$1"
}
# Allowed includes, so that the clean tree is not empty.
add db/model/job.h '#include "absl/time/time.h"'
add db/pg_job_store.cc '#include <pqxx/transaction>'
add db/pg_job_store.cc '#include "db/model/job.h"'
add server/core/job_manager.cc '#include "db/model/job_store.h"'
add server/api/job_service.cc '#include <grpcpp/grpcpp.h>'
add server/api/job_service.cc '#include "jobd/v1/job.pb.h"'
add server/background/notify_bridge.cc '#include "db/notification_channel.h"'
add client/jobd_client.cc '#include "jobd/v1/job_service.grpc.pb.h"'
add client/jobctl/main.cc '#include "client/jobd_client.h"'
add client/jobctl/main.cc '#include "client/jobctl/commands.h"'
add proto/common/local_address.cc '#include "absl/strings/match.h"'

out=$("$CHECK" "$TREE") || { echo "clean tree failed:"; echo "$out"; exit 1; }

bad=(
  "db/model/bad.h|#include <pqxx/pqxx>"
  "db/bad_proto.cc|#include \"jobd/v1/job.pb.h\""
  "server/core/bad_grpc.cc|#include <grpcpp/grpcpp.h>"
  "server/core/bad_db.cc|#include \"db/connection_pool.h\""
  "server/background/bad.cc|  #  include <pqxx/notification>"
  "server/api/bad_sql.cc|#include \"db/pg_job_store.h\""
  "server/bad_client.cc|#include \"client/jobd_client.h\""
  "proto/common/bad.cc|#include \"server/core/log.h\""
  "client/jobctl/bad.cc|#include \"server/config.h\""
  "client/bad.cc|#include \"db/model/job.h\""
)
for entry in "${bad[@]}"; do add "${entry%%|*}" "${entry#*|}"; done

rc=0
out=$("$CHECK" "$TREE") || rc=$?
if ((rc != 1)); then
  echo "expected exit 1 on the bad tree, got $rc:"
  echo "$out"
  exit 1
fi
missing=0
for entry in "${bad[@]}"; do
  file=${entry%%|*}
  grep -q "^$file:" <<<"$out" || { echo "not reported: $file"; missing=1; }
done
# Every violation once: the last line counts them.
grep -q "check_dependencies: ${#bad[@]} violation(s)" <<<"$out" || {
  echo "expected ${#bad[@]} violations:"
  echo "$out"
  exit 1
}
((missing == 0)) || { echo "$out"; exit 1; }
echo "check_dependencies self-test: ok (${#bad[@]} violations caught, clean tree passes)"
