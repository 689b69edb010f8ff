#include "server/api/job_handlers.h"

#include "absl/strings/str_cat.h"
#include "server/api/convert.h"
#include "server/core/validation.h"

namespace jobd::api {

void JobHandlers::CreateJob(UnaryCall call, const core::Principal& caller,
                            const v1::CreateJobRequest* request, v1::CreateJobResponse* response) {
  absl::StatusOr<core::CreateJobCommand> command = FromProto(*request);
  if (!command.ok()) return call.Finish(command.status(), "");
  if (!command->template_name.empty()) {
    // The template's look-up blocks: the executor creates the job, with the merged payload.
    return RunBlocking(executor_, call, caller,
                       [this, command = *std::move(command), response](
                           const core::Principal& caller, std::string* job_id) {
                         absl::StatusOr<Job> job = jobs_.CreateJobNow(caller, command);
                         if (!job.ok()) return job.status();
                         *job_id = job->id;
                         ToProto(*job, jobs_.clock().Now(), /*include_payload=*/true,
                                 response->mutable_job());
                         return absl::OkStatus();
                       });
  }
  jobs_.CreateJob(
      caller, *command, [this, call, request, response](absl::StatusOr<Job> job) mutable {
        if (!job.ok()) return call.Finish(job.status(), "");
        // The stored payload is the request's (for an idempotent repeat: one with the same
        // canonical JSON): answer with the request's Struct instead of parsing the JSON back.
        ToProto(*job, jobs_.clock().Now(), /*include_payload=*/false, response->mutable_job());
        *response->mutable_job()->mutable_payload() = request->payload();
        call.Finish(absl::OkStatus(), job->id);
      });
}

void JobHandlers::BatchCreateJobs(UnaryCall call, const core::Principal& caller,
                                  const v1::BatchCreateJobsRequest* request,
                                  v1::BatchCreateJobsResponse* response) {
  RunBlocking(executor_, call, caller, [=](const core::Principal& caller, std::string*) {
    std::vector<core::CreateJobCommand> commands;
    commands.reserve(request->requests_size());
    for (int i = 0; i < request->requests_size(); ++i) {
      absl::StatusOr<core::CreateJobCommand> command = FromProto(request->requests(i));
      if (!command.ok()) return core::ForItem(command.status(), absl::StrCat("requests[", i, "]"));
      commands.push_back(std::move(*command));
    }
    absl::StatusOr<std::vector<Job>> jobs =
        jobs_.BatchCreateJobs(caller, request->workspace_id(), std::move(commands));
    if (!jobs.ok()) return jobs.status();
    const absl::Time now = jobs_.clock().Now();
    for (size_t i = 0; i < jobs->size(); ++i) {
      // As in CreateJob: the stored payload is the request's, so answer with its Struct.
      v1::Job* out = response->add_jobs();
      ToProto((*jobs)[i], now, /*include_payload=*/false, out);
      *out->mutable_payload() = request->requests(static_cast<int>(i)).payload();
    }
    return absl::OkStatus();
  });
}

void JobHandlers::GetJob(UnaryCall call, const core::Principal& caller,
                         const v1::GetJobRequest* request, v1::GetJobResponse* response) {
  RunBlocking(executor_, call, caller, [=](const core::Principal& caller, std::string* job_id) {
    *job_id = request->id();
    absl::StatusOr<Job> job = jobs_.GetJob(caller, request->id());
    if (!job.ok()) return job.status();
    ToProto(*job, jobs_.clock().Now(), /*include_payload=*/true, response->mutable_job());
    return absl::OkStatus();
  });
}

void JobHandlers::ListJobs(UnaryCall call, const core::Principal& caller,
                           const v1::ListJobsRequest* request, v1::ListJobsResponse* response) {
  RunBlocking(executor_, call, caller, [=](const core::Principal& caller, std::string*) {
    absl::StatusOr<core::ListJobsCommand> command = FromProto(*request);
    if (!command.ok()) return command.status();
    absl::StatusOr<core::JobPage> page = jobs_.ListJobs(caller, *command);
    if (!page.ok()) return page.status();
    const absl::Time now = jobs_.clock().Now();
    const bool bodies = command->view == core::JobView::kFull;
    for (const Job& job : page->jobs) ToProto(job, now, bodies, response->add_jobs());
    response->set_next_page_token(page->next_page_token);
    return absl::OkStatus();
  });
}

void JobHandlers::CancelJob(UnaryCall call, const core::Principal& caller,
                            const v1::CancelJobRequest* request, v1::CancelJobResponse* response) {
  RunBlocking(executor_, call, caller, [=](const core::Principal& caller, std::string* job_id) {
    *job_id = request->id();
    absl::StatusOr<Job> job = jobs_.CancelJob(caller, request->id(), request->reason());
    if (!job.ok()) return job.status();
    ToProto(*job, jobs_.clock().Now(), /*include_payload=*/true, response->mutable_job());
    return absl::OkStatus();
  });
}

void JobHandlers::RetryJob(UnaryCall call, const core::Principal& caller,
                           const v1::RetryJobRequest* request, v1::RetryJobResponse* response) {
  RunBlocking(executor_, call, caller, [=](const core::Principal& caller, std::string* job_id) {
    *job_id = request->id();
    absl::StatusOr<Job> job = jobs_.RetryJob(caller, request->id());
    if (!job.ok()) return job.status();
    ToProto(*job, jobs_.clock().Now(), /*include_payload=*/true, response->mutable_job());
    return absl::OkStatus();
  });
}

void JobHandlers::GetJobStats(UnaryCall call, const core::Principal& caller,
                              const v1::GetJobStatsRequest* request,
                              v1::GetJobStatsResponse* response) {
  RunBlocking(executor_, call, caller, [=](const core::Principal& caller, std::string*) {
    absl::StatusOr<JobStats> stats = jobs_.GetJobStats(caller, request->workspace_id());
    if (!stats.ok()) return stats.status();
    ToProto(*stats, jobs_.clock().Now(), response);
    return absl::OkStatus();
  });
}

void JobHandlers::ListJobEvents(UnaryCall call, const core::Principal& caller,
                                const v1::ListJobEventsRequest* request,
                                v1::ListJobEventsResponse* response) {
  RunBlocking(executor_, call, caller, [=](const core::Principal& caller, std::string* job_id) {
    *job_id = request->id();
    absl::StatusOr<core::EventPage> page =
        jobs_.ListJobEvents(caller, request->id(), request->page_size(), request->page_token());
    if (!page.ok()) return page.status();
    const absl::Time now = jobs_.clock().Now();
    for (const JobEvent& event : page->events)
      ToProto(event, page->job, now, response->add_events());
    response->set_next_page_token(page->next_page_token);
    return absl::OkStatus();
  });
}

}  // namespace jobd::api
