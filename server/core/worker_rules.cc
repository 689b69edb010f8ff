#include "server/core/worker_rules.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/core/lifecycle.h"

namespace jobd::core {
namespace {

absl::Status Stale(const Job& job, const std::string& why) {
  return absl::AbortedError(absl::StrCat("lease on job ", job.id, " is no longer valid: ", why));
}

std::string Rfc3339Millis(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

}  // namespace

UnitRandom DefaultUnitRandom() {
  return [] {
    static thread_local std::mt19937_64 engine{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
  };
}

absl::Duration BackoffCap(const RetryPolicy& policy, int32_t failed_attempt) {
  const double exponent = std::max(0, failed_attempt - 1);
  const double seconds =
      absl::ToDoubleSeconds(policy.initial_backoff) * std::pow(policy.multiplier, exponent);
  const double cap = absl::ToDoubleSeconds(policy.max_backoff);
  return absl::Seconds(std::isfinite(seconds) ? std::min(seconds, cap) : cap);
}

absl::Duration Backoff(const RetryPolicy& policy, int32_t failed_attempt,
                       const UnitRandom& random) {
  return BackoffCap(policy, failed_attempt) * random();
}

JobUpdate PlanAttemptFailed(const Job& job, const std::string& error, bool retryable,
                            absl::Time now, const UnitRandom& random) {
  JobUpdate update;
  Job& next = update.next;
  next = job;
  next.error_message = error;
  ClearLease(next);
  next.update_time = now;
  update.event_kind = EventKind::kStateChanged;
  if (retryable && job.attempt < job.last_attempt) {
    next.state = JobState::kScheduled;
    next.attempt = job.attempt + 1;
    next.run_after = now + Backoff(job.retry_policy, job.attempt, random);
    next.progress_percent = 0;
    next.progress_message.clear();
    next.start_time.reset();
    next.worker_id.clear();  // no worker holds the next attempt yet
  } else {
    next.state = JobState::kFailed;
    next.finish_time = now;
    next.expire_time = now + job.ttl;
  }
  return update;
}

absl::Status CheckLease(const Job& job, const std::string& lease_token, absl::Time now) {
  if (job.lease_token.empty() || job.lease_token != lease_token) {
    return Stale(job, "another attempt holds the job, or it was retried");
  }
  if (job.state == JobState::kCancelled) return Stale(job, "the job was cancelled");
  if (job.state != JobState::kRunning) {
    return Stale(job, absl::StrCat("the job is ", absl::AsciiStrToUpper(StateName(job.state))));
  }
  if (job.lease_expire_time && *job.lease_expire_time <= now) {
    return Stale(job, absl::StrCat("the lease expired at ", Rfc3339Millis(*job.lease_expire_time)));
  }
  return absl::OkStatus();
}

namespace {

// A paused job that no worker holds any more (the one that ran it knows, or never had it): a
// resume then queues it for anyone. No event: its state does not change.
JobUpdate HeldByNoWorker(const Job& job) {
  JobUpdate update;
  update.next = job;
  update.next.worker_id.clear();
  update.event_kind = std::nullopt;
  return update;
}

// The messages of a report that the job's history has room for, and the notice that ends
// them (written once: it takes the count past the limit).
std::vector<JobMessage> KeptMessages(const Job& job, const std::vector<JobMessage>& messages,
                                     int32_t max_messages) {
  const int64_t room = std::max<int64_t>(0, int64_t{max_messages} - job.message_count);
  if (static_cast<int64_t>(messages.size()) <= room) return messages;
  std::vector<JobMessage> kept(messages.begin(), messages.begin() + room);
  if (job.message_count + room == max_messages) {
    kept.push_back({MessageLevel::kWarning,
                    absl::StrCat("this job has ", max_messages,
                                 " messages, its limit (--max_messages_per_job): later ones are "
                                 "dropped")});
  }
  return kept;
}

}  // namespace

absl::StatusOr<ProgressPlan> PlanProgress(const Job& job, const std::string& lease_token,
                                          const ProgressReport& report, absl::Time now,
                                          const Limits& limits) {
  ProgressPlan plan;
  const bool holds_token = !job.lease_token.empty() && job.lease_token == lease_token;
  // A QUEUED or SCHEDULED job keeps a token only when it was resumed from a pause taken while
  // it ran (and no worker has leased it since): that worker's final report may come after.
  const bool resumed_after_pause =
      job.state == JobState::kQueued || job.state == JobState::kScheduled;
  if (holds_token && (job.state == JobState::kCancelled || job.state == JobState::kPaused ||
                      resumed_after_pause)) {
    // The worker learns it and stops. Nothing else is written, but the checkpoint of a paused
    // job's report is kept: it is where the resumed attempt starts.
    (job.state == JobState::kCancelled ? plan.cancelled : plan.paused) = true;
    if (plan.paused && (report.checkpoint_json || !job.worker_id.empty())) {
      // The worker knows now (worker_id cleared: a resume queues the job for anyone).
      JobUpdate update = HeldByNoWorker(job);
      if (report.checkpoint_json) {
        update.next.checkpoint_json = report.checkpoint_json;
        update.checkpoint_changed = true;
      }
      plan.update = std::move(update);
    }
    return plan;
  }
  if (absl::Status s = CheckLease(job, lease_token, now); !s.ok()) return s;
  JobUpdate update;
  Job& next = update.next;
  next = job;
  next.update_time = now;
  const absl::Duration lease = job.lease_duration.value_or(absl::Seconds(30));
  next.lease_expire_time = now + lease;
  if (job.attempt_deadline && *job.attempt_deadline < *next.lease_expire_time) {
    next.lease_expire_time = job.attempt_deadline;
  }
  const bool progressed =
      report.percent != job.progress_percent || report.message != job.progress_message;
  next.progress_percent = report.percent;
  next.progress_message = report.message;
  update.event_kind = progressed ? std::optional<EventKind>(EventKind::kProgress) : std::nullopt;
  if (progressed) {
    next.attempt_progress_events = job.attempt_progress_events + 1;
    if (next.attempt_progress_events > limits.max_progress_events_per_attempt) {
      // Past the limit: the previous progress event folds into this one if nothing came
      // after it (a message keeps it); the history keeps the latest and what it stands for.
      update.replaces_latest_event = job.fold_sequence > 0 && job.fold_sequence == job.sequence;
      next.fold_sequence = job.sequence + 1;
      next.fold_count = update.replaces_latest_event ? job.fold_count + 1 : 0;
    }
  }
  update.messages = KeptMessages(job, report.messages, limits.max_messages_per_job);
  if (report.checkpoint_json) {
    // Sent to the store, which keeps the stored one when equal as JSON (the texts differ
    // in formatting: jsonb prints its own).
    next.checkpoint_json = report.checkpoint_json;
    update.checkpoint_changed = true;
  }
  plan.update = std::move(update);
  return plan;
}

absl::StatusOr<std::optional<JobUpdate>> PlanComplete(const Job& job,
                                                      const std::string& lease_token,
                                                      const std::string& result_json,
                                                      absl::Time now) {
  // A retry of a completion that went through (say, its answer was lost): the same result.
  if (job.state == JobState::kSucceeded && !job.lease_token.empty() &&
      job.lease_token == lease_token) {
    return std::optional<JobUpdate>();
  }
  if (absl::Status s = CheckLease(job, lease_token, now); !s.ok()) return s;
  JobUpdate update;
  Job& next = update.next;
  next = job;
  next.state = JobState::kSucceeded;
  next.result_json = result_json;
  next.progress_percent = 100;
  next.error_message.clear();
  next.lease_expire_time.reset();
  next.update_time = now;
  next.finish_time = now;
  next.expire_time = now + job.ttl;
  update.event_kind = EventKind::kStateChanged;
  return std::optional<JobUpdate>(std::move(update));
}

absl::StatusOr<std::optional<JobUpdate>> PlanFail(const Job& job, const std::string& lease_token,
                                                  const std::string& error, bool retryable,
                                                  absl::Time now, const UnitRandom& random) {
  if (absl::Status s = CheckLease(job, lease_token, now); !s.ok()) return s;
  return std::optional<JobUpdate>(PlanAttemptFailed(job, error, retryable, now, random));
}

std::optional<JobUpdate> PlanReleaseLease(const Job& job, const std::string& lease_token,
                                          absl::Time now) {
  if (job.lease_token != lease_token) return std::nullopt;
  if (job.state == JobState::kPaused && !job.worker_id.empty()) {
    // Paused before it was handed back: no worker holds it, so a resume queues it for anyone
    // rather than give it back to a worker that never had it.
    return HeldByNoWorker(job);
  }
  if (job.state != JobState::kRunning) return std::nullopt;
  JobUpdate update;
  Job& next = update.next;
  next = job;
  next.state = JobState::kQueued;
  next.worker_id.clear();
  ClearLease(next);
  next.start_time.reset();
  next.update_time = now;
  next.run_after = std::min(job.run_after, now);
  update.event_kind = EventKind::kStateChanged;
  return update;
}

std::optional<JobUpdate> PlanLeaseExpired(const Job& job, absl::Time now,
                                          const UnitRandom& random) {
  if (job.state != JobState::kRunning || !job.lease_expire_time || *job.lease_expire_time > now) {
    return std::nullopt;
  }
  std::string error;
  if (job.attempt_deadline && *job.attempt_deadline <= now) {
    error = absl::StrCat("attempt ", job.attempt, " timed out after ",
                         absl::FormatDuration(job.timeout.value_or(absl::ZeroDuration())));
  } else {
    error = absl::StrCat("worker ", job.worker_id, " lost: lease of attempt ", job.attempt,
                         " expired at ", Rfc3339Millis(*job.lease_expire_time));
  }
  return PlanAttemptFailed(job, error, /*retryable=*/true, now, random);
}

}  // namespace jobd::core
