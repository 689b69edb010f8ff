// JobHandlers' control calls: pause, resume, delete, and the bulk operations.
#include "server/api/control_convert.h"
#include "server/api/convert.h"
#include "server/api/job_handlers.h"

namespace jobd::api {

void JobHandlers::PauseJob(UnaryCall call, const core::Principal& caller,
                           const v1::PauseJobRequest* request, v1::PauseJobResponse* response) {
  RunBlocking(executor_, call, caller, [=](const core::Principal& caller, std::string* job_id) {
    *job_id = request->id();
    absl::StatusOr<Job> job = jobs_.PauseJob(caller, request->id());
    if (!job.ok()) return job.status();
    ToProto(*job, jobs_.clock().Now(), /*include_payload=*/true, response->mutable_job());
    return absl::OkStatus();
  });
}

void JobHandlers::ResumeJob(UnaryCall call, const core::Principal& caller,
                            const v1::ResumeJobRequest* request, v1::ResumeJobResponse* response) {
  RunBlocking(executor_, call, caller, [=](const core::Principal& caller, std::string* job_id) {
    *job_id = request->id();
    absl::StatusOr<Job> job = jobs_.ResumeJob(caller, request->id());
    if (!job.ok()) return job.status();
    ToProto(*job, jobs_.clock().Now(), /*include_payload=*/true, response->mutable_job());
    return absl::OkStatus();
  });
}

void JobHandlers::DeleteJob(UnaryCall call, const core::Principal& caller,
                            const v1::DeleteJobRequest* request, v1::DeleteJobResponse*) {
  RunBlocking(executor_, call, caller, [=](const core::Principal& caller, std::string* job_id) {
    *job_id = request->id();
    return jobs_.DeleteJob(caller, request->id());
  });
}

void JobHandlers::Bulk(core::BulkAction action, UnaryCall call, const core::Principal& caller,
                       const v1::BulkJobsRequest* request, v1::BulkJobsResponse* response) {
  absl::StatusOr<core::BulkJobsCommand> command = FromProto(action, *request);
  if (!command.ok()) return call.Finish(command.status(), "");
  RunBlocking(
      executor_, call, caller,
      [this, command = *std::move(command), response](const core::Principal& caller, std::string*) {
        absl::StatusOr<core::BulkJobsResult> result = jobs_.BulkChangeJobs(caller, command);
        if (!result.ok()) return result.status();
        ToProto(*result, response);
        return absl::OkStatus();
      });
}

#define JOBD_BULK_CALL(Method, Action)                                                           \
  void JobHandlers::Method(UnaryCall call, const core::Principal& caller,                        \
                           const v1::BulkJobsRequest* request, v1::BulkJobsResponse* response) { \
    Bulk(core::BulkAction::Action, std::move(call), caller, request, response);                  \
  }
JOBD_BULK_CALL(BulkCancelJobs, kCancel)
JOBD_BULK_CALL(BulkRetryJobs, kRetry)
JOBD_BULK_CALL(BulkPauseJobs, kPause)
JOBD_BULK_CALL(BulkResumeJobs, kResume)
JOBD_BULK_CALL(BulkDeleteJobs, kDelete)
JOBD_BULK_CALL(BulkFailJobs, kFail)
#undef JOBD_BULK_CALL

}  // namespace jobd::api
