// jobd.v1.JobService's unary calls, for every transport: validate and translate the request,
// call the core, fill the response, finish the call. The two streams are in watch_streams.h
// (gRPC) and server/http/sse_stream.h (HTTP).
#pragma once

#include "jobd/v1/job_service.pb.h"
#include "server/api/unary_call.h"
#include "server/core/executor.h"
#include "server/core/job_manager.h"

namespace jobd::api {

class JobHandlers {
 public:
  JobHandlers(core::JobManager& jobs, core::Executor& executor)
      : jobs_(jobs), executor_(executor) {}

  // Group-committed: the committer finishes the call; no thread waits.
  void CreateJob(UnaryCall call, const core::Principal& caller, const v1::CreateJobRequest* request,
                 v1::CreateJobResponse* response);
  // The others run on the executor (BatchCreateJobs is one transaction of its own).
  void BatchCreateJobs(UnaryCall call, const core::Principal& caller,
                       const v1::BatchCreateJobsRequest* request,
                       v1::BatchCreateJobsResponse* response);
  void GetJob(UnaryCall call, const core::Principal& caller, const v1::GetJobRequest* request,
              v1::GetJobResponse* response);
  void ListJobs(UnaryCall call, const core::Principal& caller, const v1::ListJobsRequest* request,
                v1::ListJobsResponse* response);
  void CancelJob(UnaryCall call, const core::Principal& caller, const v1::CancelJobRequest* request,
                 v1::CancelJobResponse* response);
  void RetryJob(UnaryCall call, const core::Principal& caller, const v1::RetryJobRequest* request,
                v1::RetryJobResponse* response);
  void ListJobEvents(UnaryCall call, const core::Principal& caller,
                     const v1::ListJobEventsRequest* request, v1::ListJobEventsResponse* response);
  void GetJobStats(UnaryCall call, const core::Principal& caller,
                   const v1::GetJobStatsRequest* request, v1::GetJobStatsResponse* response);
  // Pause, resume, delete and the bulk operations (job_control_handlers.cc).
  void PauseJob(UnaryCall call, const core::Principal& caller, const v1::PauseJobRequest* request,
                v1::PauseJobResponse* response);
  void ResumeJob(UnaryCall call, const core::Principal& caller, const v1::ResumeJobRequest* request,
                 v1::ResumeJobResponse* response);
  void DeleteJob(UnaryCall call, const core::Principal& caller, const v1::DeleteJobRequest* request,
                 v1::DeleteJobResponse* response);
#define JOBD_BULK_CALL(Method)                                                                   \
  void Method(UnaryCall call, const core::Principal& caller, const v1::BulkJobsRequest* request, \
              v1::BulkJobsResponse* response);
  JOBD_BULK_CALL(BulkCancelJobs)
  JOBD_BULK_CALL(BulkRetryJobs)
  JOBD_BULK_CALL(BulkPauseJobs)
  JOBD_BULK_CALL(BulkResumeJobs)
  JOBD_BULK_CALL(BulkDeleteJobs)
  JOBD_BULK_CALL(BulkFailJobs)
#undef JOBD_BULK_CALL

 private:
  void Bulk(core::BulkAction action, UnaryCall call, const core::Principal& caller,
            const v1::BulkJobsRequest* request, v1::BulkJobsResponse* response);

  core::JobManager& jobs_;
  core::Executor& executor_;
};

}  // namespace jobd::api
