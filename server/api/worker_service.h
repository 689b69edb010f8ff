// jobd.v1.WorkerService on gRPC's callback API. AcquireJobs with `wait` holds no thread: the
// call is finished by whoever wakes it (a new job, a notification, the deadline timer).
#pragma once

#include "jobd/v1/worker_service.grpc.pb.h"
#include "server/api/unary.h"
#include "server/core/worker_manager.h"

namespace jobd::api {

class WorkerServiceImpl final : public v1::WorkerService::CallbackService {
 public:
  WorkerServiceImpl(const Admission& auth, core::WorkerManager& workers)
      : auth_(auth), workers_(workers) {}

  grpc::ServerUnaryReactor* AcquireJobs(grpc::CallbackServerContext* context,
                                        const v1::AcquireJobsRequest* request,
                                        v1::AcquireJobsResponse* response) override;
  grpc::ServerUnaryReactor* ReportProgress(grpc::CallbackServerContext* context,
                                           const v1::ReportProgressRequest* request,
                                           v1::ReportProgressResponse* response) override;
  grpc::ServerUnaryReactor* CompleteJob(grpc::CallbackServerContext* context,
                                        const v1::CompleteJobRequest* request,
                                        v1::CompleteJobResponse* response) override;
  grpc::ServerUnaryReactor* FailJob(grpc::CallbackServerContext* context,
                                    const v1::FailJobRequest* request,
                                    v1::FailJobResponse* response) override;

 private:
  // Fills `out` and finishes the call with the job's status.
  std::function<void(absl::StatusOr<Job>)> FinishWithJob(CallFinisher finisher, std::string job_id,
                                                         v1::Job* out);

  const Admission& auth_;
  core::WorkerManager& workers_;
};

}  // namespace jobd::api
