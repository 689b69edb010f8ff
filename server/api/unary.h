// Runs a unary RPC's blocking work on our executor (never on gRPC's threads), finishes the
// callback reactor with the mapped status, and writes the RPC's JSON log line.
#pragma once

#include <functional>
#include <string>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "server/api/call_gate.h"
#include "server/core/executor.h"

namespace jobd::api {

// Writes a call's JSON log line: method, code, latency, job id and `extra` fields.
void LogRpc(const char* method, const absl::Status& status, absl::Duration latency,
            const std::string& job_id, nlohmann::json extra = nullptr);

// Finishes one call: maps the status, logs method, code, latency and job id.
class CallFinisher {
 public:
  CallFinisher(grpc::CallbackServerContext* context, const char* method)
      : reactor_(context->DefaultReactor()), method_(method), start_(absl::Now()) {
    CallGate::Get().Enter();
  }
  // Finishes with UNAVAILABLE when jobd is stopping; then the caller must not go on.
  bool RefuseIfStopping();
  grpc::ServerUnaryReactor* reactor() const { return reactor_; }
  // Exactly once per call.
  void Finish(const absl::Status& status, const std::string& job_id);

 private:
  grpc::ServerUnaryReactor* reactor_;  // DefaultReactor() may be called only once per call
  const char* method_;
  absl::Time start_;
};

// `work` returns the call's status and may set the job id for the log line.
using BlockingWork = std::function<absl::Status(std::string* job_id)>;

grpc::ServerUnaryReactor* RunOnExecutor(grpc::CallbackServerContext* context, const char* method,
                                        core::Executor& executor, BlockingWork work);

// The principal behind a call; "anonymous" until API keys exist.
std::string Principal(const grpc::CallbackServerContext* context);

}  // namespace jobd::api
