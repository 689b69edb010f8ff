#include "server/api/queue_handlers.h"

#include "server/api/control_convert.h"

namespace jobd::api {
namespace {

absl::Status SettingsOut(const absl::StatusOr<QueueSettings>& settings, v1::Queue* out) {
  if (!settings.ok()) return settings.status();
  ToProto(*settings, out);
  return absl::OkStatus();
}

}  // namespace

void QueueHandlers::ListQueues(UnaryCall call, const core::Principal& caller,
                               const v1::ListQueuesRequest* request,
                               v1::ListQueuesResponse* response) {
  RunBlocking(executor_, call, caller, [=](const core::Principal& caller, std::string*) {
    absl::StatusOr<std::vector<QueueInfo>> queues =
        queues_.ListQueues(caller, request->workspace_id());
    if (!queues.ok()) return queues.status();
    const absl::Time now = clock_.Now();
    for (const QueueInfo& info : *queues) ToProto(info, now, response->add_queues());
    return absl::OkStatus();
  });
}

void QueueHandlers::PauseQueue(UnaryCall call, const core::Principal& caller,
                               const v1::PauseQueueRequest* request,
                               v1::PauseQueueResponse* response) {
  RunBlocking(executor_, call, caller, [=](const core::Principal& caller, std::string*) {
    return SettingsOut(queues_.PauseQueue(caller, request->workspace_id(), request->type()),
                       response->mutable_queue());
  });
}

void QueueHandlers::ResumeQueue(UnaryCall call, const core::Principal& caller,
                                const v1::ResumeQueueRequest* request,
                                v1::ResumeQueueResponse* response) {
  RunBlocking(executor_, call, caller, [=](const core::Principal& caller, std::string*) {
    return SettingsOut(queues_.ResumeQueue(caller, request->workspace_id(), request->type()),
                       response->mutable_queue());
  });
}

void QueueHandlers::SetQueueLimits(UnaryCall call, const core::Principal& caller,
                                   const v1::SetQueueLimitsRequest* request,
                                   v1::SetQueueLimitsResponse* response) {
  RunBlocking(executor_, call, caller, [=](const core::Principal& caller, std::string*) {
    return SettingsOut(queues_.SetQueueLimits(caller, FromProto(*request)),
                       response->mutable_queue());
  });
}

}  // namespace jobd::api
