#include "server/background/lease_reaper.h"

#include "server/core/log.h"

namespace jobd::background {

LeaseReaper::LeaseReaper(JobStore& store, absl::Duration interval, core::UnitRandom random)
    : store_(store), random_(std::move(random)), loop_(interval, [this] { RunOnce(); }) {}

int LeaseReaper::RunOnce() {
  absl::StatusOr<std::vector<std::string>> ids = store_.ListExpiredLeases(500);
  if (!ids.ok()) {
    core::Log(core::LogLevel::kWarning, "lease reaper pass failed",
              {{"error", std::string(ids.status().message())}});
    return 0;
  }
  int reaped = 0;
  for (const std::string& id : *ids) {
    bool changed = false;
    absl::StatusOr<Job> job = store_.UpdateJob(
        id, [&](const Job& current, absl::Time now) -> absl::StatusOr<std::optional<JobUpdate>> {
          std::optional<JobUpdate> update = core::PlanLeaseExpired(current, now, random_);
          changed = update.has_value();
          if (changed && current.start_time) {
            metrics_->AttemptEnded(current.type, "lease_expired", now - *current.start_time);
          }
          return update;
        });
    if (!job.ok()) {
      core::Log(core::LogLevel::kWarning, "lease reaper could not fail an attempt",
                {{"job_id", id}, {"error", std::string(job.status().message())}});
    } else if (changed) {
      ++reaped;
      core::Log(core::LogLevel::kInfo, "attempt failed by the reaper",
                {{"job_id", id}, {"error", job->error_message}, {"state", StateName(job->state)}});
    }
  }
  return reaped;
}

}  // namespace jobd::background
