// Runs a unary RPC's blocking work on our executor (never on gRPC's threads), finishes the
// callback reactor with the mapped status, and writes the RPC's JSON log line.
#pragma once

#include <functional>
#include <string>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "server/api/admission.h"
#include "server/core/executor.h"

namespace jobd::api {

// Writes a call's JSON log line: method, code, latency, job id, principal (when known) and
// `extra` fields; the line is only built when its level is logged.
void LogRpc(const char* method, const absl::Status& status, absl::Duration latency,
            const std::string& job_id, const std::string& principal = "",
            nlohmann::json extra = nullptr);

// Finishes one call: maps the status, logs method, code, latency and job id.
class CallFinisher {
 public:
  CallFinisher(grpc::CallbackServerContext* context, const char* method, const Admission& admission)
      : context_(context),
        reactor_(context->DefaultReactor()),
        method_(method),
        admission_(&admission),
        start_(absl::Now()) {
    admission.gate().Enter();
  }
  // The call's first step: UNAVAILABLE when jobd is stopping, then authentication and the
  // role's permission for the method. On false the call is finished and must not go on.
  bool Admit(core::Principal* caller);
  grpc::ServerUnaryReactor* reactor() const { return reactor_; }
  // Exactly once per call.
  void Finish(const absl::Status& status, const std::string& job_id);

 private:
  grpc::CallbackServerContext* context_;
  grpc::ServerUnaryReactor* reactor_;  // DefaultReactor() may be called only once per call
  const char* method_;
  const Admission* admission_;
  absl::Time start_;
  std::string principal_;  // for the log line
};

// When the caller stops waiting (InfiniteFuture without a deadline): the bound of the call's
// database work.
absl::Time CallDeadline(const grpc::CallbackServerContext& context);

// `work` returns the call's status and may set the job id for the log line.
using BlockingWork =
    std::function<absl::Status(const core::Principal& caller, std::string* job_id)>;

// Admits the call, then runs `work` on the executor.
grpc::ServerUnaryReactor* RunOnExecutor(grpc::CallbackServerContext* context, const char* method,
                                        const Admission& admission, core::Executor& executor,
                                        BlockingWork work);

}  // namespace jobd::api
