// The one auth step every jobd call goes through, whatever its transport (gRPC metadata or an
// HTTP header bring the same `authorization` values): the bearer key is authenticated against
// the KeyRegistry, and the role must allow the method's permission (server/core/access_rules.cc).
// Workspace checks follow in the managers, which know which workspace a job id is in.
#pragma once

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "db/model/clock.h"
#include "server/core/access.h"
#include "server/core/key_registry.h"

namespace jobd::core {

class Authorizer {
 public:
  Authorizer(const KeyRegistry& keys, Clock& clock) : keys_(keys), clock_(clock) {}

  // `authorization_values`: every `authorization` value the call carried. UNAUTHENTICATED
  // without exactly one valid "Bearer <key>"; PERMISSION_DENIED when the role does not allow
  // `method` (a short RPC name such as "CreateJob"; unknown names are denied).
  absl::StatusOr<Principal> Authorize(absl::Span<const absl::string_view> authorization_values,
                                      absl::string_view method) const;
  // UNAUTHENTICATED once the caller's key was revoked or expired (for long-running calls).
  absl::Status StillValid(const Principal& caller) const {
    return keys_.CheckStillValid(caller.key_id, clock_.Now());
  }

 private:
  const KeyRegistry& keys_;
  Clock& clock_;
};

}  // namespace jobd::core
