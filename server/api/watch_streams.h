// WatchJob and WatchJobs streams on gRPC's callback API: each reactor only adapts a core
// watch (server/core/job_watch.h, workspace_watch.h) to ServerWriteReactor. Nothing here
// blocks: the watches read the database on the executor.
#pragma once

#include <grpcpp/grpcpp.h>

#include "jobd/v1/job_service.grpc.pb.h"
#include "server/api/admission.h"
#include "server/core/job_watch.h"
#include "server/core/workspace_watch.h"

namespace jobd::api {

// Starts a WatchJob stream; the reactor deletes itself when the call is done.
grpc::ServerWriteReactor<v1::WatchJobResponse>* StartWatchJob(
    core::WatchDeps deps, const Admission& auth, const grpc::CallbackServerContext& context,
    const v1::WatchJobRequest& request);

// Starts a WatchJobs stream; the reactor deletes itself when the call is done.
grpc::ServerWriteReactor<v1::WatchJobsResponse>* StartWatchJobs(
    core::WatchDeps deps, const Admission& auth, const grpc::CallbackServerContext& context,
    const v1::WatchJobsRequest& request);

}  // namespace jobd::api
