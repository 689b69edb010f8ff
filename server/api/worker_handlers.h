// jobd.v1.WorkerService's calls, for every transport. AcquireJobs with `wait` holds no thread:
// the call is finished by whoever wakes it (a new job, a notification, the deadline timer);
// the writes are group-committed and finished by the committer.
#pragma once

#include <functional>
#include <string>

#include "jobd/v1/worker_service.pb.h"
#include "server/api/unary_call.h"
#include "server/core/worker_manager.h"

namespace jobd::api {

class WorkerHandlers {
 public:
  explicit WorkerHandlers(core::WorkerManager& workers) : workers_(workers) {}

  void AcquireJobs(UnaryCall call, const core::Principal& caller,
                   const v1::AcquireJobsRequest* request, v1::AcquireJobsResponse* response);
  void ReportProgress(UnaryCall call, const core::Principal& caller,
                      const v1::ReportProgressRequest* request,
                      v1::ReportProgressResponse* response);
  void CompleteJob(UnaryCall call, const core::Principal& caller,
                   const v1::CompleteJobRequest* request, v1::CompleteJobResponse* response);
  void FailJob(UnaryCall call, const core::Principal& caller, const v1::FailJobRequest* request,
               v1::FailJobResponse* response);

 private:
  // Fills `out` and finishes the call with the job's status.
  std::function<void(absl::StatusOr<Job>)> FinishWithJob(UnaryCall call, std::string job_id,
                                                         v1::Job* out);

  core::WorkerManager& workers_;
};

}  // namespace jobd::api
