#include "server/background/retention.h"

#include "server/core/log.h"

namespace jobd::background {

Retention::Retention(JobStore& store, absl::Duration interval, int batch_size)
    : store_(store), batch_size_(batch_size), loop_(interval, [this] { RunOnce(); }) {}

int Retention::RunOnce() {
  int total = 0;
  for (;;) {
    absl::StatusOr<int> deleted = store_.DeleteExpiredJobs(batch_size_);
    if (!deleted.ok()) {
      core::Log(core::LogLevel::kWarning, "retention pass failed",
                {{"error", std::string(deleted.status().message())}});
      break;
    }
    total += *deleted;
    if (*deleted < batch_size_ || loop_.stopping()) break;
  }
  if (total > 0) core::Log(core::LogLevel::kInfo, "deleted expired jobs", {{"count", total}});
  return total;
}

}  // namespace jobd::background
