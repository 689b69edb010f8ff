// Job lifecycle rules: what a new job looks like and which transitions are allowed.
// Pure functions of the current job and the time, so they are tested without a database.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "db/model/job.h"
#include "server/core/commands.h"

namespace jobd::core {

// A validated create command as the job to insert: defaults applied, QUEUED or SCHEDULED.
Job NewJobFromCommand(const CreateJobCommand& command, const std::string& id, absl::Time now);

// Identifies a create request for idempotency: equal for equal requests, whatever the key
// order of the payload or labels. Empty when the command has no idempotency key.
std::string RequestFingerprint(const CreateJobCommand& command);

// Drops the current attempt's lease: token, expiry, duration and deadline.
void ClearLease(Job& job);

// QUEUED/SCHEDULED/RUNNING -> CANCELLED; CANCELLED stays (no change); SUCCEEDED/FAILED:
// FAILED_PRECONDITION naming the state.
absl::StatusOr<std::optional<JobUpdate>> PlanCancel(const Job& job, const std::string& reason,
                                                    const std::string& principal, absl::Time now);

// FAILED/CANCELLED -> QUEUED with the next attempt and a fresh retry budget, error, progress,
// result and lease cleared; any other state: FAILED_PRECONDITION naming the state.
absl::StatusOr<std::optional<JobUpdate>> PlanRetry(const Job& job, absl::Time now);

// QUEUED/SCHEDULED/RUNNING -> PAUSED, same attempt; a RUNNING job's lease is kept as it is
// (its worker's next report is told "paused", its completion ABORTED); PAUSED stays (no
// change); finished: FAILED_PRECONDITION naming the state.
absl::StatusOr<std::optional<JobUpdate>> PlanPause(const Job& job, absl::Time now);

// PAUSED -> QUEUED (SCHEDULED while run_after is ahead), same attempt and checkpoint, lease
// and worker cleared; or back to RUNNING under the same lease when the job was paused while
// running and its worker has not been told yet (worker_id still set) and the lease holds.
// Other active states stay (no change); finished: FAILED_PRECONDITION.
absl::StatusOr<std::optional<JobUpdate>> PlanResume(const Job& job, absl::Time now);

// Any active state -> FAILED with the reason (default "failed by <principal>"), no retry;
// the lease token stays so a worker still holding it is ABORTED. Finished:
// FAILED_PRECONDITION.
absl::StatusOr<std::optional<JobUpdate>> PlanForceFail(const Job& job, const std::string& reason,
                                                       const std::string& principal,
                                                       absl::Time now);

// Fields computed on read.
struct DerivedTimes {
  std::optional<absl::Duration> duration;           // (finish or now) - start
  std::optional<absl::Time> estimated_finish_time;  // from the current attempt's progress rate
};
DerivedTimes ComputeDerivedTimes(const Job& job, absl::Time now);

}  // namespace jobd::core
