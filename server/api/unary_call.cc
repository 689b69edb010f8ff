#include "server/api/unary_call.h"

#include "absl/container/inlined_vector.h"
#include "server/core/clip.h"
#include "server/core/log.h"

namespace jobd::api {

void LogRpc(const char* method, const absl::Status& status, absl::Duration latency,
            const std::string& job_id, const std::string& principal, nlohmann::json extra) {
  const core::LogLevel level =
      status.ok() || absl::IsNotFound(status) || absl::IsInvalidArgument(status) ||
              absl::IsFailedPrecondition(status) || absl::IsAlreadyExists(status) ||
              absl::IsAborted(status) || absl::IsCancelled(status) ||
              absl::IsDeadlineExceeded(status) || absl::IsUnauthenticated(status) ||
              absl::IsPermissionDenied(status)
          ? core::LogLevel::kInfo
          : core::LogLevel::kWarning;
  if (!core::LogEnabled(level)) return;
  nlohmann::json fields = {{"method", method},
                           {"code", absl::StatusCodeToString(status.code())},
                           {"latency_ms", absl::ToDoubleMilliseconds(latency)}};
  // Echoed input is cut: a job id is logged before it is validated, and an error may quote.
  if (!job_id.empty()) fields["job_id"] = core::ClipForMessage(job_id, 64);
  if (!principal.empty()) fields["principal"] = core::ClipForMessage(principal, 128);
  if (!status.ok()) fields["error"] = core::ClipForMessage(status.message(), 1024);
  if (extra.is_object()) fields.update(extra);
  core::Log(level, "rpc", std::move(fields));
}

void UnaryCall::Finish(const absl::Status& status, const std::string& job_id) {
  const absl::Duration latency = absl::Now() - start_;
  LogRpc(method_, status, latency, job_id, principal_);
  const Admission* admission = admission_;
  admission->metrics().RpcFinished(method_, status.code(), latency);
  transport_->Answer(status);  // may free the transport's call state
  admission->gate().Leave();
}

bool UnaryCall::Admit(absl::Span<const absl::string_view> authorization, core::Principal* caller) {
  absl::StatusOr<core::Principal> admitted =
      admission_->Admit(authorization, method_, "jobd is shutting down; retry on another replica");
  if (!admitted.ok()) {
    Finish(admitted.status(), "");
    return false;
  }
  *caller = std::move(*admitted);
  principal_ = caller->name;
  return true;
}

void RunBlocking(core::Executor& executor, UnaryCall call, core::Principal caller,
                 BlockingWork work) {
  // The caller's deadline bounds the database work too.
  const absl::Time call_deadline = call.deadline();
  const bool queued = executor.Post(
      [call, caller = std::move(caller), work = std::move(work)]() mutable {
        std::string job_id;
        if (call.cancelled()) {
          call.Finish(absl::CancelledError("call cancelled or deadline passed before it ran"),
                      job_id);
          return;
        }
        absl::Status status = work(caller, &job_id);
        call.Finish(status, job_id);
      },
      call_deadline);
  if (!queued) {
    call.Finish(absl::ResourceExhaustedError("jobd is overloaded: too many calls waiting"), "");
  }
}

}  // namespace jobd::api
