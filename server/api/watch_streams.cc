#include "server/api/watch_streams.h"

#include <memory>

#include "absl/time/clock.h"
#include "server/api/convert.h"
#include "server/api/grpc_services.h"
#include "server/api/status.h"
#include "server/api/tsan_handoff.h"
#include "server/api/unary_call.h"

namespace jobd::api {
namespace {

// The event as sent, encoded once per event however many streams send it.
const v1::WatchJobResponse& Encoded(const core::BusEvent& event) {
  std::call_once(event.encode_once, [&event] {
    auto response = std::make_shared<v1::WatchJobResponse>();
    ToProto(event.event, *event.job, absl::Now(), response->mutable_event());
    event.encoded = std::move(response);
  });
  return *static_cast<const v1::WatchJobResponse*>(event.encoded.get());
}

// What both streams share: the sink side of a core watch, the log line, self-deletion.
template <typename Response, typename Watch>
class WatchStream : public grpc::ServerWriteReactor<Response>, public core::WatchSink {
 public:
  WatchStream(const char* method, std::string job_id)
      : method_(method), job_id_(std::move(job_id)), start_(absl::Now()) {}

  void End(const absl::Status& status) override {
    LogRpc(method_, status, absl::Now() - start_, job_id_, "", {{"events", events_sent_}});
    HandOffToGrpc(this);
    this->Finish(ToGrpcStatus(status));
  }
  void OnWriteDone(bool ok) override {
    TakeBackFromGrpc(this);
    current_.reset();
    ++events_sent_;
    watch_->WriteDone(ok);
  }
  void OnCancel() override {
    TakeBackFromGrpc(this);
    watch_->Cancel();
  }
  void OnDone() override {
    TakeBackFromGrpc(this);
    if (streams_by_key_ != nullptr) streams_by_key_->Remove(key_handle_);
    delete this;
  }

 protected:
  // Opens the watch, or ends it at once when its key may not open it (core::RegisterStream):
  // the last use of `this`, as the stream may end (and go) at once.
  template <typename Open>
  void RegisterAndOpen(const core::WatchDeps& deps, const std::string& key_id,
                       const std::string& key_name, Open open) {
    std::function<void()> end_now;
    key_handle_ = core::RegisterStream(deps.streams_by_key, deps.executor, key_id, key_name,
                                       std::weak_ptr<Watch>(watch_), &end_now);
    if (key_handle_ != 0) streams_by_key_ = deps.streams_by_key;
    if (end_now) return end_now();
    open(*watch_);
  }

  std::shared_ptr<Watch> watch_;
  core::BusEventPtr current_;  // keeps the message being written alive

 private:
  const char* const method_;
  const std::string job_id_;
  const absl::Time start_;
  core::StreamsByKey* streams_by_key_ = nullptr;
  uint64_t key_handle_ = 0;
  int64_t events_sent_ = 0;
};

class WatchJobStream final : public WatchStream<v1::WatchJobResponse, core::JobWatch> {
 public:
  WatchJobStream(core::WatchDeps deps, core::Principal caller, const v1::WatchJobRequest& request)
      : WatchStream("WatchJob", request.id()) {
    std::optional<int64_t> after;
    if (request.has_after_sequence()) after = request.after_sequence();
    const std::string key_id = caller.key_id, key_name = caller.name;
    watch_ = std::make_shared<core::JobWatch>(deps, std::move(caller), request.id(), this);
    RegisterAndOpen(deps, key_id, key_name, [after](core::JobWatch& watch) { watch.Open(after); });
  }
  void Write(const core::BusEventPtr& event) override {
    current_ = event;
    HandOffToGrpc(this);
    StartWrite(&Encoded(*event));
  }
};

class WatchJobsStream final : public WatchStream<v1::WatchJobsResponse, core::WorkspaceWatch> {
 public:
  WatchJobsStream(core::WatchDeps deps, core::Principal caller, core::WorkspaceWatchFilter filter)
      : WatchStream("WatchJobs", "") {
    const std::string key_id = caller.key_id, key_name = caller.name;
    watch_ =
        std::make_shared<core::WorkspaceWatch>(deps, std::move(caller), std::move(filter), this);
    RegisterAndOpen(deps, key_id, key_name, [](core::WorkspaceWatch& watch) { watch.Open(); });
  }
  void Write(const core::BusEventPtr& event) override {
    current_ = event;
    *response_.mutable_event() = Encoded(*event).event();
    HandOffToGrpc(this);
    StartWrite(&response_);
  }

 private:
  v1::WatchJobsResponse response_;
};

// A stream refused before it started (bad request, jobd stopping). It is finished from the
// executor: finishing a stream from inside gRPC's method handler upsets some clients.
template <typename Response>
class RefusedStream final : public grpc::ServerWriteReactor<Response> {
 public:
  RefusedStream(const char* method, const absl::Status& status, core::Executor& executor) {
    LogRpc(method, status, absl::ZeroDuration(), "");
    grpc::Status grpc_status = ToGrpcStatus(status);
    if (!executor.Post([this, grpc_status] {
          HandOffToGrpc(this);
          this->Finish(grpc_status);
        })) {
      HandOffToGrpc(this);
      this->Finish(grpc_status);
    }
  }
  void OnDone() override {
    TakeBackFromGrpc(this);
    delete this;
  }
};

// Like UnaryCall::Admit for streams: stopping, then the key and the role.
absl::StatusOr<core::Principal> AdmitStream(const Admission& admission,
                                            const grpc::CallbackServerContext& context,
                                            const char* method) {
  return admission.Admit(AuthorizationOf(context), method,
                         "jobd is shutting down; watch on another replica");
}

}  // namespace

grpc::ServerWriteReactor<v1::WatchJobResponse>* StartWatchJob(
    core::WatchDeps deps, const Admission& auth, const grpc::CallbackServerContext& context,
    const v1::WatchJobRequest& request) {
  absl::StatusOr<core::Principal> caller = AdmitStream(auth, context, "WatchJob");
  if (!caller.ok()) {
    return new RefusedStream<v1::WatchJobResponse>("WatchJob", caller.status(), deps.executor);
  }
  return new WatchJobStream(deps, std::move(*caller), request);
}

grpc::ServerWriteReactor<v1::WatchJobsResponse>* StartWatchJobs(
    core::WatchDeps deps, const Admission& auth, const grpc::CallbackServerContext& context,
    const v1::WatchJobsRequest& request) {
  absl::StatusOr<core::Principal> caller = AdmitStream(auth, context, "WatchJobs");
  if (!caller.ok()) {
    return new RefusedStream<v1::WatchJobsResponse>("WatchJobs", caller.status(), deps.executor);
  }
  core::WorkspaceWatchFilter filter;
  filter.workspace_id = request.workspace_id();
  for (int state : request.states()) {
    absl::StatusOr<JobState> parsed = FromProto(static_cast<v1::JobState>(state), "states");
    if (!parsed.ok()) {
      return new RefusedStream<v1::WatchJobsResponse>("WatchJobs", parsed.status(), deps.executor);
    }
    filter.states.push_back(*parsed);
  }
  filter.types.assign(request.types().begin(), request.types().end());
  return new WatchJobsStream(deps, std::move(*caller), std::move(filter));
}

}  // namespace jobd::api
