// The QueueService use cases: pause and resume a queue (a workspace's jobs of one type), set
// its limits, list queues. Acquiring jobs honours them in the store.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "db/model/queue_store.h"
#include "server/core/access.h"
#include "server/core/limits.h"

namespace jobd::core {

class QueueManager {
 public:
  QueueManager(QueueStore& store, Limits limits) : store_(store), limits_(limits) {}

  // Queues with jobs or settings, by type, at most 1,000.
  absl::StatusOr<std::vector<QueueInfo>> ListQueues(const Principal& caller,
                                                    const std::string& workspace_id);
  // The settings after the change (no counts).
  absl::StatusOr<QueueSettings> PauseQueue(const Principal& caller, const std::string& workspace_id,
                                           const std::string& type);
  absl::StatusOr<QueueSettings> ResumeQueue(const Principal& caller,
                                            const std::string& workspace_id,
                                            const std::string& type);
  // Replaces max_running, max_starts_per_second and burst (0: max(1, ceil(rate))).
  absl::StatusOr<QueueSettings> SetQueueLimits(const Principal& caller, QueueSettings limits);

  // Called when a queue's jobs may be taken again (resumed, limits changed): wakes workers.
  void SetQueueOpenedListener(std::function<void(const std::string&, const std::string&)> l) {
    opened_ = std::move(l);
  }

 private:
  absl::Status CheckQueue(const Principal& caller, const std::string& workspace_id,
                          const std::string& type);

  QueueStore& store_;
  const Limits limits_;
  std::function<void(const std::string&, const std::string&)> opened_ = [](const std::string&,
                                                                           const std::string&) {};
};

}  // namespace jobd::core
