// jobd.v1.JobService on gRPC's callback API: validate-free translation to the core.
// The two streams are in watch_streams.h.
#pragma once

#include "jobd/v1/job_service.grpc.pb.h"
#include "server/api/admission.h"
#include "server/core/executor.h"
#include "server/core/job_manager.h"
#include "server/core/job_watch.h"

namespace jobd::api {

class JobServiceImpl final : public v1::JobService::CallbackService {
 public:
  JobServiceImpl(const Admission& auth, core::JobManager& jobs, core::Executor& executor,
                 core::WatchDeps watch)
      : auth_(auth), jobs_(jobs), executor_(executor), watch_(watch) {}

  grpc::ServerUnaryReactor* CreateJob(grpc::CallbackServerContext* context,
                                      const v1::CreateJobRequest* request,
                                      v1::CreateJobResponse* response) override;
  grpc::ServerUnaryReactor* GetJob(grpc::CallbackServerContext* context,
                                   const v1::GetJobRequest* request,
                                   v1::GetJobResponse* response) override;
  grpc::ServerUnaryReactor* ListJobs(grpc::CallbackServerContext* context,
                                     const v1::ListJobsRequest* request,
                                     v1::ListJobsResponse* response) override;
  grpc::ServerUnaryReactor* CancelJob(grpc::CallbackServerContext* context,
                                      const v1::CancelJobRequest* request,
                                      v1::CancelJobResponse* response) override;
  grpc::ServerUnaryReactor* RetryJob(grpc::CallbackServerContext* context,
                                     const v1::RetryJobRequest* request,
                                     v1::RetryJobResponse* response) override;
  grpc::ServerWriteReactor<v1::WatchJobResponse>* WatchJob(
      grpc::CallbackServerContext* context, const v1::WatchJobRequest* request) override;
  grpc::ServerWriteReactor<v1::WatchJobsResponse>* WatchJobs(
      grpc::CallbackServerContext* context, const v1::WatchJobsRequest* request) override;
  grpc::ServerUnaryReactor* ListJobEvents(grpc::CallbackServerContext* context,
                                          const v1::ListJobEventsRequest* request,
                                          v1::ListJobEventsResponse* response) override;
  grpc::ServerUnaryReactor* GetJobStats(grpc::CallbackServerContext* context,
                                        const v1::GetJobStatsRequest* request,
                                        v1::GetJobStatsResponse* response) override;

 private:
  const Admission& auth_;
  core::JobManager& jobs_;
  core::Executor& executor_;
  const core::WatchDeps watch_;
};

}  // namespace jobd::api
