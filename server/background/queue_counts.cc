#include "server/background/queue_counts.h"

#include "server/core/log.h"

namespace jobd::background {
namespace {

// (workspace, type, state) counts read at most: past it the metrics show what was read.
constexpr int32_t kMaxCounts = 100000;

}  // namespace

QueueCounts::QueueCounts(QueueStore& store, absl::Duration interval, Sink sink)
    : store_(store), sink_(std::move(sink)), loop_(interval, [this] { RunOnce(); }) {}

bool QueueCounts::RunOnce() {
  absl::StatusOr<std::vector<QueueInfo>> queues = store_.CountEveryQueue(kMaxCounts);
  if (!queues.ok()) {
    core::Log(core::LogLevel::kWarning, "queue counts for metrics failed",
              {{"error", std::string(queues.status().message())}});
    return false;
  }
  sink_(std::move(*queues));
  return true;
}

}  // namespace jobd::background
