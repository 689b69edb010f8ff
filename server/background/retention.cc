#include "server/background/retention.h"

#include "server/core/log.h"

namespace jobd::background {

Retention::Retention(JobStore& store, absl::Duration interval, int batch_size,
                     int64_t keep_per_workspace)
    : store_(store),
      keep_per_workspace_(keep_per_workspace),
      batch_size_(batch_size),
      loop_(interval, [this] { RunOnce(); }) {}

namespace {

// Runs `pass` (one batch: how many it deleted) until a batch is short; returns the total.
template <typename Pass>
int Drain(const char* what, int batch_size, Periodic& loop, Pass pass) {
  int total = 0;
  for (;;) {
    absl::StatusOr<int> deleted = pass();
    if (!deleted.ok()) {
      core::Log(core::LogLevel::kWarning, "retention pass failed",
                {{"error", std::string(deleted.status().message())}});
      break;
    }
    total += *deleted;
    if (*deleted < batch_size || loop.stopping()) break;
  }
  if (total > 0) core::Log(core::LogLevel::kInfo, what, {{"count", total}});
  return total;
}

}  // namespace

int Retention::RunOnce() {
  int total = Drain("deleted expired jobs", batch_size_, loop_,
                    [this] { return store_.DeleteExpiredJobs(batch_size_); });
  if (keep_per_workspace_ > 0) {
    total += Drain("deleted finished jobs past --retain_finished_per_workspace", batch_size_, loop_,
                   [this] { return store_.TrimFinishedJobs(keep_per_workspace_, batch_size_); });
  }
  return total;
}

}  // namespace jobd::background
