#include "server/api/grpc_services.h"

#include "server/api/status.h"
#include "server/api/tsan_handoff.h"
#include "server/api/watch_streams.h"

namespace jobd::api {

absl::Time GrpcUnaryCall::Deadline() const {
  const auto deadline = context_->deadline();
  return deadline == std::chrono::system_clock::time_point::max() ? absl::InfiniteFuture()
                                                                  : absl::FromChrono(deadline);
}

void GrpcUnaryCall::Answer(const absl::Status& status) {
  HandOffToGrpc(this);
  Finish(ToGrpcStatus(status));
}

void GrpcUnaryCall::SetOnCancel(std::function<void()> cancelled) {
  std::unique_lock<std::mutex> lock(cancel_mu_);
  if (!cancelled_) {
    on_cancel_ = std::move(cancelled);
    return;
  }
  lock.unlock();
  cancelled();
}

void GrpcUnaryCall::OnCancel() {
  std::function<void()> cancelled;
  {
    std::lock_guard<std::mutex> lock(cancel_mu_);
    cancelled_ = true;
    cancelled = std::move(on_cancel_);
  }
  if (cancelled) cancelled();
}

void GrpcUnaryCall::OnDone() {
  TakeBackFromGrpc(this);
  delete this;
}

absl::InlinedVector<absl::string_view, 1> AuthorizationOf(const grpc::ServerContextBase& context) {
  absl::InlinedVector<absl::string_view, 1> values;  // one, unless the call is malformed
  const auto range = context.client_metadata().equal_range("authorization");
  for (auto it = range.first; it != range.second; ++it) {
    values.emplace_back(it->second.data(), it->second.size());
  }
  return values;
}

grpc::ServerWriteReactor<v1::WatchJobResponse>* JobServiceImpl::WatchJob(
    grpc::CallbackServerContext* context, const v1::WatchJobRequest* request) {
  return StartWatchJob(watch_, admission_, *context, *request);
}

grpc::ServerWriteReactor<v1::WatchJobsResponse>* JobServiceImpl::WatchJobs(
    grpc::CallbackServerContext* context, const v1::WatchJobsRequest* request) {
  return StartWatchJobs(watch_, admission_, *context, *request);
}

}  // namespace jobd::api
