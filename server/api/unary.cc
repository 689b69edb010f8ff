#include "server/api/unary.h"

#include "server/api/status.h"
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
  if (!job_id.empty()) fields["job_id"] = job_id;
  if (!principal.empty()) fields["principal"] = principal;
  if (!status.ok()) fields["error"] = std::string(status.message());
  if (extra.is_object()) fields.update(extra);
  core::Log(level, "rpc", std::move(fields));
}

void CallFinisher::Finish(const absl::Status& status, const std::string& job_id) {
  LogRpc(method_, status, absl::Now() - start_, job_id, principal_);
  reactor_->Finish(ToGrpcStatus(status));
  admission_->gate().Leave();
}

bool CallFinisher::Admit(core::Principal* caller) {
  absl::StatusOr<core::Principal> admitted =
      admission_->Admit(*context_, method_, "jobd is shutting down; retry on another replica");
  if (!admitted.ok()) {
    Finish(admitted.status(), "");
    return false;
  }
  *caller = std::move(*admitted);
  principal_ = caller->name;
  return true;
}

absl::Time CallDeadline(const grpc::CallbackServerContext& context) {
  const auto deadline = context.deadline();
  return deadline == std::chrono::system_clock::time_point::max() ? absl::InfiniteFuture()
                                                                  : absl::FromChrono(deadline);
}

grpc::ServerUnaryReactor* RunOnExecutor(grpc::CallbackServerContext* context, const char* method,
                                        const Admission& admission, core::Executor& executor,
                                        BlockingWork work) {
  CallFinisher finisher(context, method, admission);
  grpc::ServerUnaryReactor* reactor = finisher.reactor();
  core::Principal caller;
  if (!finisher.Admit(&caller)) return reactor;
  // The caller's deadline bounds the database work too.
  const absl::Time call_deadline = CallDeadline(*context);
  const bool queued = executor.Post(
      [context, finisher, caller = std::move(caller), work = std::move(work)]() mutable {
        std::string job_id;
        if (context->IsCancelled()) {
          finisher.Finish(absl::CancelledError("call cancelled or deadline passed before it ran"),
                          job_id);
          return;
        }
        absl::Status status = work(caller, &job_id);
        finisher.Finish(status, job_id);
      },
      call_deadline);
  if (!queued) {
    finisher.Finish(absl::ResourceExhaustedError("jobd is overloaded: too many calls waiting"), "");
  }
  return reactor;
}

}  // namespace jobd::api
