// The WorkerService use cases: lease jobs (with long-poll), report progress, complete, fail.
// Knows no gRPC. Blocking store calls run on the executor; a long-poll holds no thread.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "db/job_store.h"
#include "server/core/executor.h"
#include "server/core/job_manager.h"
#include "server/core/limits.h"
#include "server/core/ready_waiters.h"
#include "server/core/worker_rules.h"

namespace jobd::core {

struct AcquireCommand {
  std::string workspace_id;
  std::vector<std::string> types;
  std::string worker_id;
  int32_t max_jobs = 0;
  absl::Duration wait = absl::ZeroDuration();
  std::optional<absl::Duration> lease_duration;  // unset: 30 s
  // Polled before each attempt to lease: true once the caller went away.
  std::function<bool()> cancelled = [] { return false; };
};

struct ProgressResult {
  bool cancelled = false;
  std::optional<absl::Time> lease_expire_time;
};

class WorkerManager {
 public:
  WorkerManager(JobStore& store, Executor& executor, ReadyWaiters& waiters, Clock& clock,
                Limits limits, UnitRandom random = DefaultUnitRandom());

  // `done` runs once, on an executor thread or the waiters' timer, with the leased jobs
  // (empty when the wait ran out).
  void AcquireJobs(AcquireCommand command, std::function<void(absl::StatusOr<std::vector<Job>>)> done);
  absl::StatusOr<ProgressResult> ReportProgress(const std::string& job_id,
                                                const std::string& lease_token,
                                                const ProgressReport& report);
  absl::StatusOr<Job> CompleteJob(const std::string& job_id, const std::string& lease_token,
                                  const std::string& result_json);
  absl::StatusOr<Job> FailJob(const std::string& job_id, const std::string& lease_token,
                              const std::string& error_message, bool retryable);

  Clock& clock() { return clock_; }

 private:
  using Done = std::function<void(absl::StatusOr<std::vector<Job>>)>;
  void TryAcquire(std::shared_ptr<AcquireCommand> command, absl::Time deadline, Done done);

  JobStore& store_;
  Executor& executor_;
  ReadyWaiters& waiters_;
  Clock& clock_;
  const Limits limits_;
  const UnitRandom random_;
};

}  // namespace jobd::core
