#include "server/core/queue_manager.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "server/core/validation.h"

namespace jobd::core {
namespace {

constexpr int32_t kMaxQueuesListed = 1000;
constexpr double kMaxLimit = 100000;
constexpr double kMinRate = 0.001;  // one start in about 17 minutes

absl::Status QueueInvalid(const std::string& field, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

}  // namespace

absl::Status QueueManager::CheckQueue(const Principal& caller, const std::string& workspace_id,
                                      const std::string& type) {
  if (absl::Status s = CheckWorkspace(caller, workspace_id); !s.ok()) return s;
  if (absl::Status s = ValidateWorkspaceId(workspace_id, limits_); !s.ok()) return s;
  return ValidateType("type", type, limits_);
}

absl::StatusOr<std::vector<QueueInfo>> QueueManager::ListQueues(const Principal& caller,
                                                                const std::string& workspace_id) {
  if (absl::Status s = CheckWorkspace(caller, workspace_id); !s.ok()) return s;
  if (absl::Status s = ValidateWorkspaceId(workspace_id, limits_); !s.ok()) return s;
  return store_.ListQueues(workspace_id, kMaxQueuesListed);
}

absl::StatusOr<QueueSettings> QueueManager::PauseQueue(const Principal& caller,
                                                       const std::string& workspace_id,
                                                       const std::string& type) {
  if (absl::Status s = CheckQueue(caller, workspace_id, type); !s.ok()) return s;
  return store_.SetQueuePaused(workspace_id, type, true);
}

absl::StatusOr<QueueSettings> QueueManager::ResumeQueue(const Principal& caller,
                                                        const std::string& workspace_id,
                                                        const std::string& type) {
  if (absl::Status s = CheckQueue(caller, workspace_id, type); !s.ok()) return s;
  absl::StatusOr<QueueSettings> settings = store_.SetQueuePaused(workspace_id, type, false);
  if (settings.ok()) opened_(workspace_id, type);
  return settings;
}

absl::StatusOr<QueueSettings> QueueManager::SetQueueLimits(const Principal& caller,
                                                           QueueSettings limits) {
  if (absl::Status s = CheckQueue(caller, limits.workspace_id, limits.type); !s.ok()) return s;
  if (limits.max_running && (*limits.max_running < 1 || *limits.max_running > kMaxLimit)) {
    return QueueInvalid("max_running",
                        absl::StrCat("must be between 1 and 100000, got ", *limits.max_running));
  }
  if (const std::optional<double>& rate = limits.max_starts_per_second;
      rate && !(*rate >= kMinRate && *rate <= kMaxLimit)) {
    return QueueInvalid("max_starts_per_second",
                        absl::StrCat("must be at least 0.001 and at most 100000, got ", *rate));
  }
  if (limits.burst != 0 && !limits.max_starts_per_second) {
    return QueueInvalid("burst", "only with max_starts_per_second");
  }
  if (limits.burst < 0 || limits.burst > kMaxLimit) {
    return QueueInvalid("burst", absl::StrCat("must be between 1 and 100000, got ", limits.burst));
  }
  if (limits.burst == 0) {
    limits.burst = limits.max_starts_per_second
                       ? std::max(1, static_cast<int32_t>(std::ceil(*limits.max_starts_per_second)))
                       : 1;
  }
  absl::StatusOr<QueueSettings> settings = store_.SetQueueLimits(limits);
  if (settings.ok()) opened_(limits.workspace_id, limits.type);
  return settings;
}

}  // namespace jobd::core
