#include "server/api/worker_service.h"

#include "server/api/convert.h"
#include "server/api/unary.h"

namespace jobd::api {

grpc::ServerUnaryReactor* WorkerServiceImpl::AcquireJobs(grpc::CallbackServerContext* context,
                                                         const v1::AcquireJobsRequest* request,
                                                         v1::AcquireJobsResponse* response) {
  CallFinisher finisher(context, "AcquireJobs", auth_);
  grpc::ServerUnaryReactor* reactor = finisher.reactor();
  core::Principal caller;
  if (!finisher.Admit(&caller)) return reactor;
  absl::StatusOr<core::AcquireCommand> command = FromProto(*request);
  if (!command.ok()) {
    finisher.Finish(command.status(), "");
    return reactor;
  }
  command->cancelled = [context] { return context->IsCancelled(); };
  command->still_authorized = [this, caller] { return auth_.StillValid(caller); };
  command->call_deadline = CallDeadline(*context);
  workers_.AcquireJobs(caller, std::move(*command),
                       [this, finisher, response](absl::StatusOr<std::vector<Job>> jobs) mutable {
                         if (!jobs.ok()) return finisher.Finish(jobs.status(), "");
                         const absl::Time now = workers_.clock().Now();
                         for (const Job& job : *jobs) ToProto(job, now, response->add_jobs());
                         finisher.Finish(absl::OkStatus(),
                                         jobs->size() == 1 ? jobs->front().id : "");
                       });
  return reactor;
}

// The writes below are group-committed: the committer finishes the call; no thread waits.

grpc::ServerUnaryReactor* WorkerServiceImpl::ReportProgress(
    grpc::CallbackServerContext* context, const v1::ReportProgressRequest* request,
    v1::ReportProgressResponse* response) {
  CallFinisher finisher(context, "ReportProgress", auth_);
  grpc::ServerUnaryReactor* reactor = finisher.reactor();
  core::Principal caller;
  if (!finisher.Admit(&caller)) return reactor;
  absl::StatusOr<core::ProgressReport> report = FromProto(*request);
  if (!report.ok()) {
    finisher.Finish(report.status(), request->job_id());
    return reactor;
  }
  workers_.ReportProgress(
      caller, request->job_id(), request->lease_token(), std::move(*report),
      [finisher, request, response](absl::StatusOr<core::ProgressResult> result) mutable {
        if (result.ok()) ToProto(*result, response);
        finisher.Finish(result.status(), request->job_id());
      });
  return reactor;
}

grpc::ServerUnaryReactor* WorkerServiceImpl::CompleteJob(grpc::CallbackServerContext* context,
                                                         const v1::CompleteJobRequest* request,
                                                         v1::CompleteJobResponse* response) {
  CallFinisher finisher(context, "CompleteJob", auth_);
  grpc::ServerUnaryReactor* reactor = finisher.reactor();
  core::Principal caller;
  if (!finisher.Admit(&caller)) return reactor;
  absl::StatusOr<std::string> result = StructToJson(request->result(), "result");
  if (!result.ok()) {
    finisher.Finish(result.status(), request->job_id());
    return reactor;
  }
  workers_.CompleteJob(caller, request->job_id(), request->lease_token(), std::move(*result),
                       FinishWithJob(finisher, request->job_id(), response->mutable_job()));
  return reactor;
}

grpc::ServerUnaryReactor* WorkerServiceImpl::FailJob(grpc::CallbackServerContext* context,
                                                     const v1::FailJobRequest* request,
                                                     v1::FailJobResponse* response) {
  CallFinisher finisher(context, "FailJob", auth_);
  grpc::ServerUnaryReactor* reactor = finisher.reactor();
  core::Principal caller;
  if (!finisher.Admit(&caller)) return reactor;
  const bool retryable = request->has_retryable() ? request->retryable() : true;
  workers_.FailJob(caller, request->job_id(), request->lease_token(), request->error_message(),
                   retryable, FinishWithJob(finisher, request->job_id(), response->mutable_job()));
  return reactor;
}

std::function<void(absl::StatusOr<Job>)> WorkerServiceImpl::FinishWithJob(CallFinisher finisher,
                                                                          std::string job_id,
                                                                          v1::Job* out) {
  return [this, finisher, job_id = std::move(job_id), out](absl::StatusOr<Job> job) mutable {
    if (job.ok()) ToProto(*job, workers_.clock().Now(), /*include_payload=*/true, out);
    finisher.Finish(job.status(), job_id);
  };
}

}  // namespace jobd::api
