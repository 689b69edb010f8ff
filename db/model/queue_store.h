// Queues: a workspace's jobs of one type, which can be paused and limited. The store keeps
// their settings; acquiring jobs (JobStore) honours them.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "db/model/job.h"

namespace jobd {

struct QueueSettings {
  std::string workspace_id;
  std::string type;
  bool paused = false;
  std::optional<int32_t> max_running;
  std::optional<double> max_starts_per_second;
  int32_t burst = 1;
  std::optional<absl::Time> update_time;  // none: the queue has no stored settings
};

struct QueueInfo {
  QueueSettings settings;
  std::map<JobState, int64_t> counts;             // states with at least one job
  std::optional<absl::Time> oldest_queued_since;  // run_after of the longest-waiting QUEUED job
};

class QueueStore {
 public:
  virtual ~QueueStore() = default;

  // Writes the queue's paused flag (its limits stay); returns its settings after.
  virtual absl::StatusOr<QueueSettings> SetQueuePaused(const std::string& workspace_id,
                                                       const std::string& type, bool paused) = 0;
  // Writes max_running, max_starts_per_second and burst (the paused flag stays), with a full
  // token bucket; returns the settings after.
  virtual absl::StatusOr<QueueSettings> SetQueueLimits(const QueueSettings& limits) = 0;
  // Every queue of the workspace with jobs or settings, by type, at most `limit`.
  virtual absl::StatusOr<std::vector<QueueInfo>> ListQueues(const std::string& workspace_id,
                                                            int32_t limit) = 0;
  // Every queue of every workspace with jobs: counts per state and the oldest QUEUED job (no
  // settings), by workspace and type, from at most `limit` (workspace, type, state) counts.
  virtual absl::StatusOr<std::vector<QueueInfo>> CountEveryQueue(int32_t limit) = 0;
  // When a limited queue among `types` that holds QUEUED jobs may next start one (its next
  // token; a moment later when it is at max_running): when an acquire found nothing, waiting
  // workers look again then. None: no such queue.
  virtual absl::StatusOr<std::optional<absl::Time>> NextQueueAdmission(
      const std::string& workspace_id, const std::vector<std::string>& types) = 0;
};

}  // namespace jobd
