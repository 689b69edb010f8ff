#include "server/api/worker_handlers.h"

#include "server/api/convert.h"

namespace jobd::api {

void WorkerHandlers::AcquireJobs(UnaryCall call, const core::Principal& caller,
                                 const v1::AcquireJobsRequest* request,
                                 v1::AcquireJobsResponse* response) {
  absl::StatusOr<core::AcquireCommand> command = FromProto(*request);
  if (!command.ok()) return call.Finish(command.status(), "");
  command->cancelled = [call] { return call.cancelled(); };
  command->on_cancel = [call](std::function<void()> cancelled) {
    call.SetOnCancel(std::move(cancelled));
  };
  command->still_authorized = [call, caller] { return call.admission().StillValid(caller); };
  command->call_deadline = call.deadline();
  workers_.AcquireJobs(caller, std::move(*command),
                       [this, call, response](absl::StatusOr<std::vector<Job>> jobs) mutable {
                         if (!jobs.ok()) return call.Finish(jobs.status(), "");
                         const absl::Time now = workers_.clock().Now();
                         for (const Job& job : *jobs) ToProto(job, now, response->add_jobs());
                         call.Finish(absl::OkStatus(), jobs->size() == 1 ? jobs->front().id : "");
                       });
}

void WorkerHandlers::ReportProgress(UnaryCall call, const core::Principal& caller,
                                    const v1::ReportProgressRequest* request,
                                    v1::ReportProgressResponse* response) {
  absl::StatusOr<core::ProgressReport> report = FromProto(*request);
  if (!report.ok()) return call.Finish(report.status(), request->job_id());
  workers_.ReportProgress(
      caller, request->job_id(), request->lease_token(), std::move(*report),
      [call, request, response](absl::StatusOr<core::ProgressResult> result) mutable {
        if (result.ok()) ToProto(*result, response);
        call.Finish(result.status(), request->job_id());
      });
}

void WorkerHandlers::CompleteJob(UnaryCall call, const core::Principal& caller,
                                 const v1::CompleteJobRequest* request,
                                 v1::CompleteJobResponse* response) {
  absl::StatusOr<std::string> result = StructToJson(request->result(), "result");
  if (!result.ok()) return call.Finish(result.status(), request->job_id());
  workers_.CompleteJob(caller, request->job_id(), request->lease_token(), std::move(*result),
                       FinishWithJob(call, request->job_id(), response->mutable_job()));
}

void WorkerHandlers::FailJob(UnaryCall call, const core::Principal& caller,
                             const v1::FailJobRequest* request, v1::FailJobResponse* response) {
  const bool retryable = request->has_retryable() ? request->retryable() : true;
  workers_.FailJob(caller, request->job_id(), request->lease_token(), request->error_message(),
                   retryable, FinishWithJob(call, request->job_id(), response->mutable_job()));
}

std::function<void(absl::StatusOr<Job>)> WorkerHandlers::FinishWithJob(UnaryCall call,
                                                                       std::string job_id,
                                                                       v1::Job* out) {
  return [this, call, job_id = std::move(job_id), out](absl::StatusOr<Job> job) mutable {
    if (job.ok()) ToProto(*job, workers_.clock().Now(), /*include_payload=*/true, out);
    call.Finish(job.status(), job_id);
  };
}

}  // namespace jobd::api
