// The first step of every call, whatever its transport: UNAVAILABLE once the server is
// stopping (its CallGate is closed), then the `authorization` values (gRPC metadata or the
// HTTP header) through the core's Authorizer. One per Server.
#pragma once

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "server/core/authorizer.h"
#include "server/core/call_gate.h"
#include "server/core/metrics.h"

namespace jobd::api {

class Admission {
 public:
  Admission(const core::Authorizer& auth, core::CallGate& gate) : auth_(auth), gate_(gate) {}

  // `stopping` is the message of the UNAVAILABLE answer while the server stops.
  absl::StatusOr<core::Principal> Admit(absl::Span<const absl::string_view> authorization,
                                        const char* method, const char* stopping) const {
    if (gate_.closed()) return absl::UnavailableError(stopping);
    return auth_.Authorize(authorization, method);
  }
  absl::Status StillValid(const core::Principal& caller) const { return auth_.StillValid(caller); }
  core::CallGate& gate() const { return gate_; }
  // Where every answered call is counted.
  void SetMetrics(core::Metrics* metrics) { metrics_ = metrics; }
  core::Metrics& metrics() const { return *metrics_; }

 private:
  const core::Authorizer& auth_;
  core::CallGate& gate_;
  core::Metrics* metrics_ = &core::NoMetrics();
};

}  // namespace jobd::api
