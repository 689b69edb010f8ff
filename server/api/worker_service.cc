#include "server/api/worker_service.h"

#include "server/api/convert.h"
#include "server/api/unary.h"

namespace jobd::api {

grpc::ServerUnaryReactor* WorkerServiceImpl::AcquireJobs(grpc::CallbackServerContext* context,
                                                         const v1::AcquireJobsRequest* request,
                                                         v1::AcquireJobsResponse* response) {
  CallFinisher finisher(context, "AcquireJobs");
  grpc::ServerUnaryReactor* reactor = finisher.reactor();
  if (finisher.RefuseIfStopping()) return reactor;
  absl::StatusOr<core::AcquireCommand> command = FromProto(*request);
  if (!command.ok()) {
    finisher.Finish(command.status(), "");
    return reactor;
  }
  command->cancelled = [context] { return context->IsCancelled(); };
  workers_.AcquireJobs(std::move(*command), [this, finisher, response](
                                                absl::StatusOr<std::vector<Job>> jobs) mutable {
    if (!jobs.ok()) return finisher.Finish(jobs.status(), "");
    const absl::Time now = workers_.clock().Now();
    for (const Job& job : *jobs) ToProto(job, now, response->add_jobs());
    finisher.Finish(absl::OkStatus(), jobs->size() == 1 ? jobs->front().id : "");
  });
  return reactor;
}

grpc::ServerUnaryReactor* WorkerServiceImpl::ReportProgress(
    grpc::CallbackServerContext* context, const v1::ReportProgressRequest* request,
    v1::ReportProgressResponse* response) {
  return RunOnExecutor(context, "ReportProgress", executor_, [=](std::string* job_id) {
    *job_id = request->job_id();
    absl::StatusOr<core::ProgressReport> report = FromProto(*request);
    if (!report.ok()) return report.status();
    absl::StatusOr<core::ProgressResult> result =
        workers_.ReportProgress(request->job_id(), request->lease_token(), *report);
    if (!result.ok()) return result.status();
    ToProto(*result, response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* WorkerServiceImpl::CompleteJob(grpc::CallbackServerContext* context,
                                                         const v1::CompleteJobRequest* request,
                                                         v1::CompleteJobResponse* response) {
  return RunOnExecutor(context, "CompleteJob", executor_, [=](std::string* job_id) {
    *job_id = request->job_id();
    absl::StatusOr<std::string> result = StructToJson(request->result(), "result");
    if (!result.ok()) return result.status();
    absl::StatusOr<Job> job =
        workers_.CompleteJob(request->job_id(), request->lease_token(), *result);
    if (!job.ok()) return job.status();
    ToProto(*job, workers_.clock().Now(), /*include_payload=*/true, response->mutable_job());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* WorkerServiceImpl::FailJob(grpc::CallbackServerContext* context,
                                                     const v1::FailJobRequest* request,
                                                     v1::FailJobResponse* response) {
  return RunOnExecutor(context, "FailJob", executor_, [=](std::string* job_id) {
    *job_id = request->job_id();
    const bool retryable = request->has_retryable() ? request->retryable() : true;
    absl::StatusOr<Job> job = workers_.FailJob(request->job_id(), request->lease_token(),
                                               request->error_message(), retryable);
    if (!job.ok()) return job.status();
    ToProto(*job, workers_.clock().Now(), /*include_payload=*/true, response->mutable_job());
    return absl::OkStatus();
  });
}

}  // namespace jobd::api
