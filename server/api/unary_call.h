// One unary call as the handlers see it, whichever transport carried it (gRPC or HTTP): the
// first step (stopping, authentication, permission), the call's deadline, running blocking
// work on our executor (never on a transport's threads), and the one finish that maps nothing
// itself: the transport answers in its own terms and the call writes its JSON log line.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/types/span.h"
#include "server/api/admission.h"
#include "server/core/executor.h"

namespace jobd::api {

// Writes a call's JSON log line: method, code, latency, job id, principal (when known) and
// `extra` fields; the line is only built when its level is logged.
void LogRpc(const char* method, const absl::Status& status, absl::Duration latency,
            const std::string& job_id, const std::string& principal = "",
            nlohmann::json extra = nullptr);

// What a transport provides for one unary call. It lives until Answer, its last use.
class CallTransport {
 public:
  virtual bool Cancelled() const = 0;  // the caller left or its deadline passed
  // When the caller stops waiting (InfiniteFuture without a deadline).
  virtual absl::Time Deadline() const = 0;
  // Sends `status` (and, when OK, the response message the handler filled).
  virtual void Answer(const absl::Status& status) = 0;
  // Runs `cancelled` once when the caller leaves (at once if it has), on a transport thread:
  // it must not block. Set at most once, before Answer.
  virtual void SetOnCancel(std::function<void()> cancelled) = 0;

 protected:
  ~CallTransport() = default;
};

// One call from its first step to its answer; cheap to copy into callbacks.
class UnaryCall {
 public:
  // Counts the call in the server's CallGate until Finish.
  UnaryCall(CallTransport* transport, const char* method, const Admission& admission)
      : transport_(transport), method_(method), admission_(&admission), start_(absl::Now()) {
    admission.gate().Enter();
  }
  // UNAVAILABLE when jobd is stopping, then the key and the role's permission for the method,
  // from every `authorization` value the call carried. On false the call is finished.
  bool Admit(absl::Span<const absl::string_view> authorization, core::Principal* caller);
  const char* method() const { return method_; }
  bool cancelled() const { return transport_->Cancelled(); }
  void SetOnCancel(std::function<void()> cancelled) const {
    transport_->SetOnCancel(std::move(cancelled));
  }
  absl::Time deadline() const { return transport_->Deadline(); }
  const Admission& admission() const { return *admission_; }
  // Exactly once per call.
  void Finish(const absl::Status& status, const std::string& job_id);

 private:
  CallTransport* transport_;
  const char* method_;
  const Admission* admission_;
  absl::Time start_;
  std::string principal_;  // for the log line
};

// `work` returns the call's status and may set the job id for the log line.
using BlockingWork =
    std::function<absl::Status(const core::Principal& caller, std::string* job_id)>;

// Runs `work` on the executor under the call's deadline, then finishes the call.
void RunBlocking(core::Executor& executor, UnaryCall call, core::Principal caller,
                 BlockingWork work);

}  // namespace jobd::api
