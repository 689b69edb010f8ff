#include "server/core/lifecycle.h"

#include <algorithm>

#include <nlohmann/json.hpp>
#include <openssl/sha.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace jobd::core {
namespace {

absl::Status WrongState(const char* action, const Job& job, const char* allowed) {
  return absl::FailedPreconditionError(absl::StrCat("job ", job.id, " is ",
                                                    absl::AsciiStrToUpper(StateName(job.state)),
                                                    ": only ", allowed, " jobs can be ", action));
}

// An active job ended by a caller (cancel, force-fail): finished now with `error`. The lease
// token stays: a worker still holding it is told ABORTED, not "unknown lease".
JobUpdate Ended(const Job& job, JobState state, std::string error, absl::Time now) {
  JobUpdate update;
  Job& next = update.next;
  next = job;
  next.state = state;
  next.error_message = std::move(error);
  next.lease_expire_time.reset();
  next.update_time = now;
  next.finish_time = now;
  next.expire_time = now + job.ttl;
  update.event_kind = EventKind::kStateChanged;
  return update;
}

}  // namespace

Job NewJobFromCommand(const CreateJobCommand& c, const std::string& id, absl::Time now) {
  Job job;
  job.id = id;
  job.workspace_id = c.workspace_id;
  job.type = c.type;
  job.priority = c.priority;
  job.payload_json = c.payload_json.empty() ? "{}" : c.payload_json;
  job.attempt = 1;
  RetryPolicy& policy = job.retry_policy;
  if (c.retry_policy.max_attempts > 0) policy.max_attempts = c.retry_policy.max_attempts;
  if (c.retry_policy.initial_backoff) policy.initial_backoff = *c.retry_policy.initial_backoff;
  if (c.retry_policy.max_backoff) policy.max_backoff = *c.retry_policy.max_backoff;
  // A lone initial_backoff above the default cap raises the cap rather than being clipped.
  if (policy.max_backoff < policy.initial_backoff) policy.max_backoff = policy.initial_backoff;
  if (c.retry_policy.multiplier > 0) policy.multiplier = c.retry_policy.multiplier;
  job.last_attempt = policy.max_attempts;
  job.timeout = c.timeout;
  if (c.ttl) job.ttl = *c.ttl;
  job.labels = c.labels;
  job.idempotency_key = c.idempotency_key;
  job.request_fingerprint = RequestFingerprint(c);
  job.create_time = now;
  job.update_time = now;
  job.run_after = c.run_after && *c.run_after > now ? *c.run_after : now;
  job.state = job.run_after > now ? JobState::kScheduled : JobState::kQueued;
  job.sequence = 1;
  return job;
}

std::string RequestFingerprint(const CreateJobCommand& c) {
  if (c.idempotency_key.empty()) return "";
  auto micros = [](const std::optional<absl::Duration>& d) -> nlohmann::json {
    return d ? nlohmann::json(absl::ToInt64Microseconds(*d)) : nlohmann::json(nullptr);
  };
  // nlohmann's objects are sorted maps: the dump is canonical.
  nlohmann::json canonical = {
      {"workspace_id", c.workspace_id},
      {"type", c.type},
      {"payload", nlohmann::json::parse(c.payload_json.empty() ? "{}" : c.payload_json)},
      {"priority", c.priority},
      {"max_attempts", c.retry_policy.max_attempts},
      {"initial_backoff", micros(c.retry_policy.initial_backoff)},
      {"max_backoff", micros(c.retry_policy.max_backoff)},
      {"multiplier", c.retry_policy.multiplier},
      {"timeout", micros(c.timeout)},
      {"ttl", micros(c.ttl)},
      {"run_after",
       c.run_after ? nlohmann::json(absl::ToUnixMicros(*c.run_after)) : nlohmann::json(nullptr)},
      {"labels", c.labels},
  };
  const std::string text = canonical.dump();
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

void ClearLease(Job& job) {
  job.lease_token.clear();
  job.lease_expire_time.reset();
  job.lease_duration.reset();
  job.attempt_deadline.reset();
}

absl::StatusOr<std::optional<JobUpdate>> PlanCancel(const Job& job, const std::string& reason,
                                                    const std::string& principal, absl::Time now) {
  switch (job.state) {
    case JobState::kCancelled:
      return std::nullopt;  // idempotent
    case JobState::kSucceeded:
    case JobState::kFailed:
      return WrongState("cancelled", job, "QUEUED, SCHEDULED, RUNNING or PAUSED");
    case JobState::kQueued:
    case JobState::kScheduled:
    case JobState::kRunning:
    case JobState::kPaused:
      break;
  }
  return Ended(job, JobState::kCancelled,
               reason.empty() ? absl::StrCat("cancelled by ", principal) : reason, now);
}

absl::StatusOr<std::optional<JobUpdate>> PlanRetry(const Job& job, absl::Time now) {
  if (job.state != JobState::kFailed && job.state != JobState::kCancelled) {
    return WrongState("retried", job, "FAILED or CANCELLED");
  }
  JobUpdate update;
  Job& next = update.next;
  next = job;
  next.state = JobState::kQueued;
  next.attempt = job.attempt + 1;
  next.last_attempt = next.attempt + job.retry_policy.max_attempts - 1;
  next.error_message.clear();
  next.progress_percent = 0;
  next.progress_message.clear();
  next.result_json.reset();
  next.worker_id.clear();
  ClearLease(next);
  next.start_time.reset();
  next.finish_time.reset();
  next.expire_time.reset();
  next.run_after = now;
  next.update_time = now;
  update.event_kind = EventKind::kStateChanged;
  return update;
}

absl::StatusOr<std::optional<JobUpdate>> PlanPause(const Job& job, absl::Time now) {
  if (job.state == JobState::kPaused) return std::nullopt;  // idempotent
  if (IsTerminal(job.state)) return WrongState("paused", job, "QUEUED, SCHEDULED or RUNNING");
  JobUpdate update;
  Job& next = update.next;
  next = job;
  next.state = JobState::kPaused;
  // The lease stays as it is (token, expiry, worker): the worker's next report is told
  // "paused" (which clears worker_id: it knows), and its late completion ABORTED. A resume
  // before it knows gives the job back to it.
  next.update_time = now;
  update.event_kind = EventKind::kStateChanged;
  return update;
}

absl::StatusOr<std::optional<JobUpdate>> PlanResume(const Job& job, absl::Time now) {
  if (IsTerminal(job.state)) return WrongState("resumed", job, "PAUSED");
  if (job.state != JobState::kPaused) return std::nullopt;  // already going: idempotent
  JobUpdate update;
  Job& next = update.next;
  next = job;
  update.event_kind = EventKind::kStateChanged;
  next.update_time = now;
  if (!job.lease_token.empty() && !job.worker_id.empty() && job.lease_expire_time &&
      *job.lease_expire_time > now) {
    // Paused while running, and its worker has not heard yet (nor lost its lease): it goes
    // on under the same lease rather than a second worker starting the same attempt.
    next.state = JobState::kRunning;
    return update;
  }
  // Same attempt: a pause does not use one up. A delayed job waits out its run_after.
  next.state = job.run_after > now ? JobState::kScheduled : JobState::kQueued;
  next.worker_id.clear();
  ClearLease(next);
  // The token stays until the job is leased again: the stopping worker's final report may
  // still be on its way, and its checkpoint is where the next run starts (PlanProgress).
  next.lease_token = job.lease_token;
  next.start_time.reset();
  return update;
}

absl::StatusOr<std::optional<JobUpdate>> PlanForceFail(const Job& job, const std::string& reason,
                                                       const std::string& principal,
                                                       absl::Time now) {
  if (IsTerminal(job.state)) {
    return WrongState("failed", job, "QUEUED, SCHEDULED, RUNNING or PAUSED");
  }
  return Ended(job, JobState::kFailed,
               reason.empty() ? absl::StrCat("failed by ", principal) : reason, now);
}

DerivedTimes ComputeDerivedTimes(const Job& job, absl::Time now) {
  DerivedTimes out;
  if (!job.start_time) return out;
  const absl::Time end = job.finish_time ? *job.finish_time : now;
  out.duration = std::max(absl::ZeroDuration(), end - *job.start_time);
  if (job.state == JobState::kRunning && job.progress_percent > 0 && job.progress_percent < 100) {
    const absl::Duration elapsed = now - *job.start_time;
    const absl::Duration total = elapsed * (100.0 / static_cast<double>(job.progress_percent));
    // A tiny progress extrapolates past any representable time: then there is no estimate.
    if (total < absl::Hours(24 * 365 * 100)) out.estimated_finish_time = *job.start_time + total;
  }
  return out;
}

}  // namespace jobd::core
