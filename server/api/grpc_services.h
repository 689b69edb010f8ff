// jobd.v1's services on gRPC's callback API: each unary method admits the call from its
// metadata and hands it to the transport-neutral handler (job_handlers.h, worker_handlers.h,
// admin_handlers.h); the watch streams adapt the core's watches (watch_streams.h).
#pragma once

#include <grpcpp/grpcpp.h>

#include "absl/container/inlined_vector.h"
#include "jobd/v1/admin_service.grpc.pb.h"
#include "jobd/v1/job_service.grpc.pb.h"
#include "jobd/v1/worker_service.grpc.pb.h"
#include "server/api/admin_handlers.h"
#include "server/api/admission.h"
#include "server/api/job_handlers.h"
#include "server/api/worker_handlers.h"
#include "server/core/job_watch.h"

namespace jobd::api {

// One gRPC unary call: the reactor that answers it and the CallTransport its handler sees.
class GrpcUnaryCall final : public grpc::ServerUnaryReactor, public CallTransport {
 public:
  explicit GrpcUnaryCall(grpc::CallbackServerContext* context) : context_(context) {}
  bool Cancelled() const override { return context_->IsCancelled(); }
  absl::Time Deadline() const override;
  void Answer(const absl::Status& status) override;
  void OnDone() override;

 private:
  grpc::CallbackServerContext* const context_;
};

// Admits the call from its metadata, then runs handlers.*handle on it.
template <typename Handlers, typename Request, typename Response>
grpc::ServerUnaryReactor* ServeUnary(grpc::CallbackServerContext* context,
                                     const Admission& admission, const char* method,
                                     Handlers& handlers,
                                     void (Handlers::*handle)(UnaryCall, const core::Principal&,
                                                              const Request*, Response*),
                                     const Request* request, Response* response);

// The `authorization` metadata values of a gRPC call.
absl::InlinedVector<absl::string_view, 1> AuthorizationOf(const grpc::ServerContextBase& context);

class JobServiceImpl final : public v1::JobService::CallbackService {
 public:
  JobServiceImpl(const Admission& admission, JobHandlers& handlers, core::WatchDeps watch)
      : admission_(admission), handlers_(handlers), watch_(watch) {}

#define JOBD_UNARY(Method)                                                                    \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* context,                      \
                                   const v1::Method##Request* request,                        \
                                   v1::Method##Response* response) override {                 \
    return ServeUnary(context, admission_, #Method, handlers_, &JobHandlers::Method, request, \
                      response);                                                              \
  }
  JOBD_UNARY(CreateJob)
  JOBD_UNARY(GetJob)
  JOBD_UNARY(ListJobs)
  JOBD_UNARY(CancelJob)
  JOBD_UNARY(RetryJob)
  JOBD_UNARY(ListJobEvents)
  JOBD_UNARY(GetJobStats)
#undef JOBD_UNARY
  grpc::ServerWriteReactor<v1::WatchJobResponse>* WatchJob(
      grpc::CallbackServerContext* context, const v1::WatchJobRequest* request) override;
  grpc::ServerWriteReactor<v1::WatchJobsResponse>* WatchJobs(
      grpc::CallbackServerContext* context, const v1::WatchJobsRequest* request) override;

 private:
  const Admission& admission_;
  JobHandlers& handlers_;
  const core::WatchDeps watch_;
};

class WorkerServiceImpl final : public v1::WorkerService::CallbackService {
 public:
  WorkerServiceImpl(const Admission& admission, WorkerHandlers& handlers)
      : admission_(admission), handlers_(handlers) {}

#define JOBD_UNARY(Method)                                                                       \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* context,                         \
                                   const v1::Method##Request* request,                           \
                                   v1::Method##Response* response) override {                    \
    return ServeUnary(context, admission_, #Method, handlers_, &WorkerHandlers::Method, request, \
                      response);                                                                 \
  }
  JOBD_UNARY(AcquireJobs)
  JOBD_UNARY(ReportProgress)
  JOBD_UNARY(CompleteJob)
  JOBD_UNARY(FailJob)
#undef JOBD_UNARY

 private:
  const Admission& admission_;
  WorkerHandlers& handlers_;
};

class AdminServiceImpl final : public v1::AdminService::CallbackService {
 public:
  AdminServiceImpl(const Admission& admission, AdminHandlers& handlers)
      : admission_(admission), handlers_(handlers) {}

#define JOBD_UNARY(Method)                                                                      \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* context,                        \
                                   const v1::Method##Request* request,                          \
                                   v1::Method##Response* response) override {                   \
    return ServeUnary(context, admission_, #Method, handlers_, &AdminHandlers::Method, request, \
                      response);                                                                \
  }
  JOBD_UNARY(CreateApiKey)
  JOBD_UNARY(ListApiKeys)
  JOBD_UNARY(RevokeApiKey)
  JOBD_UNARY(WhoAmI)
#undef JOBD_UNARY

 private:
  const Admission& admission_;
  AdminHandlers& handlers_;
};

template <typename Handlers, typename Request, typename Response>
grpc::ServerUnaryReactor* ServeUnary(grpc::CallbackServerContext* context,
                                     const Admission& admission, const char* method,
                                     Handlers& handlers,
                                     void (Handlers::*handle)(UnaryCall, const core::Principal&,
                                                              const Request*, Response*),
                                     const Request* request, Response* response) {
  auto* reactor = new GrpcUnaryCall(context);  // deletes itself in OnDone
  UnaryCall call(reactor, method, admission);
  core::Principal caller;
  if (call.Admit(AuthorizationOf(*context), &caller)) {
    (handlers.*handle)(call, caller, request, response);
  }
  return reactor;
}

}  // namespace jobd::api
