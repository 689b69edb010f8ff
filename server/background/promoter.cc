#include "server/background/promoter.h"

#include "server/core/log.h"

namespace jobd::background {

Promoter::Promoter(JobStore& store, absl::Duration interval,
                   std::function<void(const Job&)> job_ready)
    : store_(store), job_ready_(std::move(job_ready)), loop_(interval, [this] { RunOnce(); }) {}

int Promoter::RunOnce() {
  int total = 0;
  for (;;) {
    absl::StatusOr<std::vector<Job>> promoted = store_.PromoteScheduledJobs(1000);
    if (!promoted.ok()) {
      core::Log(core::LogLevel::kWarning, "promotion pass failed",
                {{"error", std::string(promoted.status().message())}});
      return total;
    }
    for (const Job& job : *promoted) job_ready_(job);
    total += static_cast<int>(promoted->size());
    if (promoted->size() < 1000 || loop_.stopping()) return total;
  }
}

}  // namespace jobd::background
