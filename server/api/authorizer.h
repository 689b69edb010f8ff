// The one auth step every jobd RPC goes through (health and reflection are other services
// and need no key): the bearer key from the call's metadata is authenticated against the
// KeyRegistry, and the role must allow the method's permission (server/api/access_rules.cc).
// Workspace checks follow in the core, which knows which workspace a job id is in.
#pragma once

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "server/core/access.h"
#include "server/core/job_manager.h"
#include "server/core/key_registry.h"

namespace jobd::api {

class Authorizer {
 public:
  Authorizer(const core::KeyRegistry& keys, core::Clock& clock) : keys_(keys), clock_(clock) {}

  // UNAUTHENTICATED without a valid key; PERMISSION_DENIED when the role does not allow
  // `method` (a short RPC name such as "CreateJob"; unknown names are denied).
  absl::StatusOr<core::Principal> Authorize(const grpc::ServerContextBase& context,
                                            const char* method) const;
  // UNAUTHENTICATED once the caller's key was revoked or expired (for long-running calls).
  absl::Status StillValid(const core::Principal& caller) const {
    return keys_.CheckStillValid(caller.key_id, clock_.Now());
  }

 private:
  const core::KeyRegistry& keys_;
  core::Clock& clock_;
};

}  // namespace jobd::api
