// `jobctl queues list|pause|resume|limits`: a workspace's queues (one per job type) through
// jobd.v1.QueueService. The flags (CLI11 fills them in cli_groups.cc), the requests built from
// them (pure; each error is INVALID_ARGUMENT naming the flag, and jobctl exits kExitUsage), the
// text displays, and RunQueues, which calls jobd and prints.
#pragma once

#include <optional>
#include <string>

#include <google/protobuf/repeated_ptr_field.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/jobctl/commands.h"
#include "client/jobd_client.h"
#include "jobd/v1/queue_service.pb.h"

namespace jobd::jobctl {

struct QueueFlags {
  std::string workspace = "default";
  std::string type;  // pause, resume, limits: the queue's job type
  // limits: each unset flag is no limit (SetQueueLimits replaces them all).
  std::optional<int> max_running;
  std::optional<double> rate;  // starts per second
  std::optional<int> burst;
};

enum class QueueCommand { kList, kPause, kResume, kLimits };

v1::ListQueuesRequest BuildListQueues(const QueueFlags& flags);

// pause, resume: the request of one queue.
template <typename Request>
Request QueueRequest(const QueueFlags& flags) {
  Request request;
  request.set_workspace_id(flags.workspace);
  request.set_type(flags.type);
  return request;
}

// --max-running 1..100000, --rate above 0 and at most 100000, --burst 1..100000 and only with
// --rate; a limit whose flag is not given is left unset (none).
absl::StatusOr<v1::SetQueueLimitsRequest> BuildSetQueueLimits(const QueueFlags& flags);

// `2.5/s (burst 3)`, or "-" when the queue has no rate limit.
std::string FormatRate(const v1::Queue& queue);

// Columns TYPE, PAUSED, MAX RUNNING, RATE, QUEUED, RUNNING, PAUSED JOBS, OLDEST QUEUED; the
// header even when there are none.
std::string FormatQueueTable(const google::protobuf::RepeatedPtrField<v1::Queue>& queues);

// One "key: value" line per field, as `jobctl get` shows a job.
std::string FormatQueue(const v1::Queue& queue, absl::Time now);

// Builds the command's request, calls jobd and prints the table (list) or the queue (pause,
// resume, limits), or the response as JSON with --output json. Returns the exit code.
int RunQueues(client::JobdClient& client, QueueCommand command, const QueueFlags& flags,
              Output output);

}  // namespace jobd::jobctl
