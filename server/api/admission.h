// The first step of every gRPC call: UNAVAILABLE once the server is stopping (its CallGate is
// closed), then the `authorization` metadata through the core's Authorizer. One per Server.
#pragma once

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "server/core/authorizer.h"
#include "server/core/call_gate.h"

namespace jobd::api {

class Admission {
 public:
  Admission(const core::Authorizer& auth, core::CallGate& gate) : auth_(auth), gate_(gate) {}

  // `stopping` is the message of the UNAVAILABLE answer while the server stops.
  absl::StatusOr<core::Principal> Admit(const grpc::ServerContextBase& context, const char* method,
                                        const char* stopping) const;
  absl::Status StillValid(const core::Principal& caller) const { return auth_.StillValid(caller); }
  core::CallGate& gate() const { return gate_; }

 private:
  const core::Authorizer& auth_;
  core::CallGate& gate_;
};

}  // namespace jobd::api
