// Lifecycle rules for attempts: leases, fencing, progress, completion, failure and backoff.
// Pure functions of the locked job row, so they are tested without a database.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "db/model/job.h"
#include "server/core/limits.h"

namespace jobd::core {

// A uniform random number in [0, 1); injected so tests are repeatable.
using UnitRandom = std::function<double()>;
UnitRandom DefaultUnitRandom();

// The largest backoff after attempt `failed_attempt` fails: initial * multiplier^(n-1),
// capped by max_backoff.
absl::Duration BackoffCap(const RetryPolicy& policy, int32_t failed_attempt);
// Full jitter: uniform in [0, BackoffCap].
absl::Duration Backoff(const RetryPolicy& policy, int32_t failed_attempt, const UnitRandom& random);

// The current attempt failed (FailJob, lost lease or timeout): SCHEDULED for the next attempt
// after a backoff when the budget allows and `retryable`, FAILED otherwise.
JobUpdate PlanAttemptFailed(const Job& job, const std::string& error, bool retryable,
                            absl::Time now, const UnitRandom& random);

// ABORTED unless `lease_token` holds the job's current, unexpired lease on a RUNNING job.
absl::Status CheckLease(const Job& job, const std::string& lease_token, absl::Time now);

struct ProgressReport {
  float percent = 0;
  std::string message;
  std::vector<JobMessage> messages;
  std::optional<std::string> checkpoint_json;  // none: the last one stays
};

// What ReportProgress decides: the change to write (none when the job was cancelled or
// paused under this lease: the worker is told so and nothing is written).
struct ProgressPlan {
  bool cancelled = false;
  bool paused = false;
  std::optional<JobUpdate> update;
};
// History stays bounded (`limits`): past max_progress_events_per_attempt, a progress event
// replaces the previous one past the limit when that is the job's latest event, and counts
// what it folds; past max_messages_per_job, one warning says so and later messages are
// dropped.
absl::StatusOr<ProgressPlan> PlanProgress(const Job& job, const std::string& lease_token,
                                          const ProgressReport& report, absl::Time now,
                                          const Limits& limits = Limits{});

absl::StatusOr<std::optional<JobUpdate>> PlanComplete(const Job& job,
                                                      const std::string& lease_token,
                                                      const std::string& result_json,
                                                      absl::Time now);

absl::StatusOr<std::optional<JobUpdate>> PlanFail(const Job& job, const std::string& lease_token,
                                                  const std::string& error, bool retryable,
                                                  absl::Time now, const UnitRandom& random);

// A lease that never reached its worker (the AcquireJobs call was gone by the time the jobs
// were leased): the job goes back to QUEUED for the same attempt, as if never taken.
std::optional<JobUpdate> PlanReleaseLease(const Job& job, const std::string& lease_token,
                                          absl::Time now);

// The reaper's rule: a RUNNING job whose lease expired fails its attempt, saying whether the
// worker was lost or the attempt timed out. No change when the lease is no longer expired.
std::optional<JobUpdate> PlanLeaseExpired(const Job& job, absl::Time now, const UnitRandom& random);

}  // namespace jobd::core
