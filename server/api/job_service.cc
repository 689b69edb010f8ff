#include "server/api/job_service.h"

#include "server/api/convert.h"
#include "server/api/unary.h"
#include "server/api/watch_streams.h"

namespace jobd::api {

grpc::ServerUnaryReactor* JobServiceImpl::CreateJob(grpc::CallbackServerContext* context,
                                                    const v1::CreateJobRequest* request,
                                                    v1::CreateJobResponse* response) {
  // No blocking here: the group committer finishes the call when its transaction commits.
  CallFinisher finisher(context, "CreateJob", auth_);
  grpc::ServerUnaryReactor* reactor = finisher.reactor();
  core::Principal caller;
  if (!finisher.Admit(&caller)) return reactor;
  absl::StatusOr<core::CreateJobCommand> command = FromProto(*request);
  if (!command.ok()) {
    finisher.Finish(command.status(), "");
    return reactor;
  }
  jobs_.CreateJob(
      caller, *command, [this, finisher, request, response](absl::StatusOr<Job> job) mutable {
        if (!job.ok()) return finisher.Finish(job.status(), "");
        // The stored payload is the request's (for an idempotent repeat: one with the same
        // canonical JSON): answer with the request's Struct instead of parsing the JSON back.
        ToProto(*job, jobs_.clock().Now(), /*include_payload=*/false, response->mutable_job());
        *response->mutable_job()->mutable_payload() = request->payload();
        finisher.Finish(absl::OkStatus(), job->id);
      });
  return reactor;
}

grpc::ServerUnaryReactor* JobServiceImpl::GetJob(grpc::CallbackServerContext* context,
                                                 const v1::GetJobRequest* request,
                                                 v1::GetJobResponse* response) {
  return RunOnExecutor(
      context, "GetJob", auth_, executor_, [=](const core::Principal& caller, std::string* job_id) {
        *job_id = request->id();
        absl::StatusOr<Job> job = jobs_.GetJob(caller, request->id());
        if (!job.ok()) return job.status();
        ToProto(*job, jobs_.clock().Now(), /*include_payload=*/true, response->mutable_job());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* JobServiceImpl::ListJobs(grpc::CallbackServerContext* context,
                                                   const v1::ListJobsRequest* request,
                                                   v1::ListJobsResponse* response) {
  return RunOnExecutor(context, "ListJobs", auth_, executor_,
                       [=](const core::Principal& caller, std::string*) {
                         absl::StatusOr<core::ListJobsCommand> command = FromProto(*request);
                         if (!command.ok()) return command.status();
                         absl::StatusOr<core::JobPage> page = jobs_.ListJobs(caller, *command);
                         if (!page.ok()) return page.status();
                         const absl::Time now = jobs_.clock().Now();
                         for (const Job& job : page->jobs) {
                           ToProto(job, now, /*include_payload=*/true, response->add_jobs());
                         }
                         response->set_next_page_token(page->next_page_token);
                         return absl::OkStatus();
                       });
}

grpc::ServerUnaryReactor* JobServiceImpl::CancelJob(grpc::CallbackServerContext* context,
                                                    const v1::CancelJobRequest* request,
                                                    v1::CancelJobResponse* response) {
  return RunOnExecutor(
      context, "CancelJob", auth_, executor_,
      [=](const core::Principal& caller, std::string* job_id) {
        *job_id = request->id();
        absl::StatusOr<Job> job = jobs_.CancelJob(caller, request->id(), request->reason());
        if (!job.ok()) return job.status();
        ToProto(*job, jobs_.clock().Now(), /*include_payload=*/true, response->mutable_job());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* JobServiceImpl::RetryJob(grpc::CallbackServerContext* context,
                                                   const v1::RetryJobRequest* request,
                                                   v1::RetryJobResponse* response) {
  return RunOnExecutor(context, "RetryJob", auth_, executor_,
                       [=](const core::Principal& caller, std::string* job_id) {
                         *job_id = request->id();
                         absl::StatusOr<Job> job = jobs_.RetryJob(caller, request->id());
                         if (!job.ok()) return job.status();
                         ToProto(*job, jobs_.clock().Now(), /*include_payload=*/true,
                                 response->mutable_job());
                         return absl::OkStatus();
                       });
}

grpc::ServerUnaryReactor* JobServiceImpl::GetJobStats(grpc::CallbackServerContext* context,
                                                      const v1::GetJobStatsRequest* request,
                                                      v1::GetJobStatsResponse* response) {
  return RunOnExecutor(
      context, "GetJobStats", auth_, executor_, [=](const core::Principal& caller, std::string*) {
        absl::StatusOr<JobStats> stats = jobs_.GetJobStats(caller, request->workspace_id());
        if (!stats.ok()) return stats.status();
        ToProto(*stats, jobs_.clock().Now(), response);
        return absl::OkStatus();
      });
}

grpc::ServerWriteReactor<v1::WatchJobResponse>* JobServiceImpl::WatchJob(
    grpc::CallbackServerContext* context, const v1::WatchJobRequest* request) {
  return StartWatchJob(watch_, auth_, *context, *request);
}

grpc::ServerWriteReactor<v1::WatchJobsResponse>* JobServiceImpl::WatchJobs(
    grpc::CallbackServerContext* context, const v1::WatchJobsRequest* request) {
  return StartWatchJobs(watch_, auth_, *context, *request);
}

grpc::ServerUnaryReactor* JobServiceImpl::ListJobEvents(grpc::CallbackServerContext* context,
                                                        const v1::ListJobEventsRequest* request,
                                                        v1::ListJobEventsResponse* response) {
  return RunOnExecutor(context, "ListJobEvents", auth_, executor_,
                       [=](const core::Principal& caller, std::string* job_id) {
                         *job_id = request->id();
                         absl::StatusOr<core::EventPage> page = jobs_.ListJobEvents(
                             caller, request->id(), request->page_size(), request->page_token());
                         if (!page.ok()) return page.status();
                         const absl::Time now = jobs_.clock().Now();
                         for (const JobEvent& event : page->events)
                           ToProto(event, page->job, now, response->add_events());
                         response->set_next_page_token(page->next_page_token);
                         return absl::OkStatus();
                       });
}

}  // namespace jobd::api
