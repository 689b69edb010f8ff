// jobd.v1's services on gRPC's callback API: each unary method admits the call from its
// metadata and hands it to the transport-neutral handler (job_handlers.h, worker_handlers.h,
// admin_handlers.h); the watch streams adapt the core's watches (watch_streams.h).
#pragma once

#include <grpcpp/grpcpp.h>

#include "absl/container/inlined_vector.h"
#include "jobd/v1/admin_service.grpc.pb.h"
#include "jobd/v1/job_service.grpc.pb.h"
#include "jobd/v1/queue_service.grpc.pb.h"
#include "jobd/v1/schedule_service.grpc.pb.h"
#include "jobd/v1/template_service.grpc.pb.h"
#include "jobd/v1/worker_service.grpc.pb.h"
#include "server/api/admin_handlers.h"
#include "server/api/admission.h"
#include "server/api/job_handlers.h"
#include "server/api/queue_handlers.h"
#include "server/api/schedule_handlers.h"
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
  void SetOnCancel(std::function<void()> cancelled) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  grpc::CallbackServerContext* const context_;
  std::mutex cancel_mu_;  // OnCancel races SetOnCancel
  bool cancelled_ = false;
  std::function<void()> on_cancel_;
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

// One override per unary method: admit the call, then run the handler of the same name.
#define JOBD_UNARY_OF(Handlers, Method, Request, Response)                                        \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* context,                          \
                                   const v1::Request* request, v1::Response* response) override { \
    return ServeUnary(context, admission_, #Method, handlers_, &Handlers::Method, request,        \
                      response);                                                                  \
  }
#define JOBD_UNARY(Handlers, Method) \
  JOBD_UNARY_OF(Handlers, Method, Method##Request, Method##Response)
// The bulk operations share their messages.
#define JOBD_BULK(Method) JOBD_UNARY_OF(JobHandlers, Method, BulkJobsRequest, BulkJobsResponse)

class JobServiceImpl final : public v1::JobService::CallbackService {
 public:
  JobServiceImpl(const Admission& admission, JobHandlers& handlers, core::WatchDeps watch)
      : admission_(admission), handlers_(handlers), watch_(watch) {}

  JOBD_UNARY(JobHandlers, CreateJob)
  JOBD_UNARY(JobHandlers, BatchCreateJobs)
  JOBD_UNARY(JobHandlers, GetJob)
  JOBD_UNARY(JobHandlers, ListJobs)
  JOBD_UNARY(JobHandlers, CancelJob)
  JOBD_UNARY(JobHandlers, RetryJob)
  JOBD_UNARY(JobHandlers, ListJobEvents)
  JOBD_UNARY(JobHandlers, GetJobStats)
  JOBD_UNARY(JobHandlers, PauseJob)
  JOBD_UNARY(JobHandlers, ResumeJob)
  JOBD_UNARY(JobHandlers, DeleteJob)
  JOBD_BULK(BulkCancelJobs)
  JOBD_BULK(BulkRetryJobs)
  JOBD_BULK(BulkPauseJobs)
  JOBD_BULK(BulkResumeJobs)
  JOBD_BULK(BulkDeleteJobs)
  JOBD_BULK(BulkFailJobs)
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

  JOBD_UNARY(WorkerHandlers, AcquireJobs)
  JOBD_UNARY(WorkerHandlers, ReportProgress)
  JOBD_UNARY(WorkerHandlers, CompleteJob)
  JOBD_UNARY(WorkerHandlers, FailJob)

 private:
  const Admission& admission_;
  WorkerHandlers& handlers_;
};

class AdminServiceImpl final : public v1::AdminService::CallbackService {
 public:
  AdminServiceImpl(const Admission& admission, AdminHandlers& handlers)
      : admission_(admission), handlers_(handlers) {}

  JOBD_UNARY(AdminHandlers, CreateApiKey)
  JOBD_UNARY(AdminHandlers, ListApiKeys)
  JOBD_UNARY(AdminHandlers, RevokeApiKey)
  JOBD_UNARY(AdminHandlers, WhoAmI)

 private:
  const Admission& admission_;
  AdminHandlers& handlers_;
};

class ScheduleServiceImpl final : public v1::ScheduleService::CallbackService {
 public:
  ScheduleServiceImpl(const Admission& admission, ScheduleHandlers& handlers)
      : admission_(admission), handlers_(handlers) {}

  JOBD_UNARY(ScheduleHandlers, CreateSchedule)
  JOBD_UNARY(ScheduleHandlers, GetSchedule)
  JOBD_UNARY(ScheduleHandlers, ListSchedules)
  JOBD_UNARY(ScheduleHandlers, UpdateSchedule)
  JOBD_UNARY(ScheduleHandlers, DeleteSchedule)
  JOBD_UNARY(ScheduleHandlers, PauseSchedule)
  JOBD_UNARY(ScheduleHandlers, ResumeSchedule)
  JOBD_UNARY(ScheduleHandlers, TriggerSchedule)
  JOBD_UNARY(ScheduleHandlers, BackfillSchedule)

 private:
  const Admission& admission_;
  ScheduleHandlers& handlers_;
};

class TemplateServiceImpl final : public v1::TemplateService::CallbackService {
 public:
  TemplateServiceImpl(const Admission& admission, TemplateHandlers& handlers)
      : admission_(admission), handlers_(handlers) {}

  JOBD_UNARY(TemplateHandlers, CreateJobTemplate)
  JOBD_UNARY(TemplateHandlers, GetJobTemplate)
  JOBD_UNARY(TemplateHandlers, ListJobTemplates)
  JOBD_UNARY(TemplateHandlers, UpdateJobTemplate)
  JOBD_UNARY(TemplateHandlers, DeleteJobTemplate)

 private:
  const Admission& admission_;
  TemplateHandlers& handlers_;
};

class QueueServiceImpl final : public v1::QueueService::CallbackService {
 public:
  QueueServiceImpl(const Admission& admission, QueueHandlers& handlers)
      : admission_(admission), handlers_(handlers) {}

  JOBD_UNARY(QueueHandlers, ListQueues)
  JOBD_UNARY(QueueHandlers, PauseQueue)
  JOBD_UNARY(QueueHandlers, ResumeQueue)
  JOBD_UNARY(QueueHandlers, SetQueueLimits)

 private:
  const Admission& admission_;
  QueueHandlers& handlers_;
};

#undef JOBD_BULK
#undef JOBD_UNARY
#undef JOBD_UNARY_OF

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
