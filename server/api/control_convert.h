// Translation of the control calls (bulk operations, queues) between jobd.v1 protos and the
// core's domain types.
#pragma once

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "db/model/queue_store.h"
#include "jobd/v1/job_service.pb.h"
#include "jobd/v1/queue_service.pb.h"
#include "server/core/commands.h"

namespace jobd::api {

// INVALID_ARGUMENT naming the field for a state or time protobuf cannot hold.
absl::StatusOr<core::BulkJobsCommand> FromProto(core::BulkAction action,
                                                const v1::BulkJobsRequest& request);
void ToProto(const core::BulkJobsResult& result, v1::BulkJobsResponse* out);

void ToProto(const QueueSettings& settings, v1::Queue* out);
// With counts and the oldest QUEUED job's age at `now`.
void ToProto(const QueueInfo& info, absl::Time now, v1::Queue* out);
QueueSettings FromProto(const v1::SetQueueLimitsRequest& request);

}  // namespace jobd::api
