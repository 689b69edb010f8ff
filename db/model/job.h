// Domain types the store speaks in: jobs, their events and queries. No proto, no SQL.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace jobd {

enum class JobState { kScheduled = 1, kQueued, kRunning, kSucceeded, kFailed, kCancelled, kPaused };
enum class EventKind { kSnapshot = 1, kCreated, kStateChanged, kProgress, kMessage };
enum class MessageLevel { kInfo = 1, kWarning, kError };

bool IsTerminal(JobState state);
// Every state, in the order of their numbers.
const std::vector<JobState>& AllJobStates();
// Lower-case names as stored ("queued"); also used in error messages.
const char* StateName(JobState state);
std::optional<JobState> StateFromName(const std::string& name);
const char* EventKindName(EventKind kind);
std::optional<EventKind> EventKindFromName(const std::string& name);
const char* MessageLevelName(MessageLevel level);
std::optional<MessageLevel> MessageLevelFromName(const std::string& name);

struct RetryPolicy {
  int32_t max_attempts = 3;
  absl::Duration initial_backoff = absl::Seconds(1);
  absl::Duration max_backoff = absl::Minutes(5);
  double multiplier = 2.0;
};

struct Job {
  std::string id;
  std::string workspace_id;
  std::string type;
  JobState state = JobState::kQueued;
  int32_t priority = 0;
  std::string payload_json = "{}";
  std::optional<std::string> result_json;
  std::string error_message;
  std::string requested_by;
  int32_t attempt = 1;
  // The last attempt the current retry budget allows.
  int32_t last_attempt = 3;
  RetryPolicy retry_policy;
  std::optional<absl::Duration> timeout;
  absl::Duration ttl = absl::Hours(24);
  std::map<std::string, std::string> labels;
  std::string idempotency_key;      // empty: none
  std::string request_fingerprint;  // empty: none
  float progress_percent = 0;
  std::string progress_message;
  std::string worker_id;
  std::string lease_token;  // empty: none
  std::optional<absl::Time> lease_expire_time;
  std::optional<absl::Duration> lease_duration;  // what the current lease renews by
  std::optional<absl::Time> attempt_deadline;    // start_time + timeout of the current attempt
  absl::Time create_time;
  absl::Time update_time;
  std::optional<absl::Time> start_time;
  std::optional<absl::Time> finish_time;
  absl::Time run_after;
  std::optional<absl::Time> expire_time;
  int64_t sequence = 1;
  // The last checkpoint a worker saved (JSON), kept across attempts; lists leave it out.
  std::optional<std::string> checkpoint_json;
  // Bounded history (server/core/worker_rules.h): progress events of this attempt so far,
  // MESSAGE events kept, and the latest progress event past the limit with what it folds.
  int32_t attempt_progress_events = 0;
  int32_t message_count = 0;
  int64_t fold_sequence = 0;
  int32_t fold_count = 0;
};

struct JobMessage {
  MessageLevel level = MessageLevel::kInfo;
  std::string text;
};

// One row of a job's history: the job's mutable fields after the change.
struct JobEvent {
  std::string job_id;
  int64_t sequence = 0;
  absl::Time time;
  EventKind kind = EventKind::kCreated;
  JobState state = JobState::kQueued;
  int32_t attempt = 1;
  float progress_percent = 0;
  std::string progress_message;
  std::string error_message;
  std::string worker_id;
  std::optional<JobMessage> message;
  // A PROGRESS event that replaced earlier ones of its attempt (no longer stored): the events
  // sequence - folded .. sequence - 1.
  int32_t folded = 0;
};

// Whether `event` comes right after `last` (the last sequence a reader has of the job): the
// next one, or one that folded every event in between.
inline bool FollowsOn(const JobEvent& event, int64_t last) {
  return event.sequence == last + 1 ||
         (event.sequence > last && event.sequence - event.folded <= last + 1);
}

// A stretch of one job's events: sequences (after_sequence, last_sequence].
struct EventRange {
  std::string job_id;
  int64_t after_sequence = 0;
  int64_t last_sequence = 0;
};

// An event read back from the store, with the job's state before it (none when the event
// before it is gone or there is none).
struct RecordedEvent {
  JobEvent event;
  std::optional<JobState> previous_state;
};

// A change the core decided: the job's next mutable fields, the event it makes (none for a
// bare lease renewal), and messages appended as MESSAGE events after it.
struct JobUpdate {
  Job next;  // next.sequence is ignored: the store bumps it per event
  std::optional<EventKind> event_kind = EventKind::kStateChanged;
  std::vector<JobMessage> messages;
  // The event replaces the job's latest event (a progress event past the limit, deleted) and
  // counts `folded` events (next.fold_count); see FollowsOn.
  bool replaces_latest_event = false;
  // next.checkpoint_json is new (written); otherwise the stored one stays.
  bool checkpoint_changed = false;
};

// What AcquireJobs asks of the store.
struct AcquireQuery {
  std::string workspace_id;
  std::vector<std::string> types;
  std::string worker_id;
  int32_t limit = 1;
  absl::Duration lease_duration;
  // > 0: the jobs stop at the first whose payload and checkpoint, as stored, take the total
  // past this many bytes (the first job always comes); an estimate, as stored sizes are
  // compressed.
  int64_t max_bytes = 0;
};

struct ListJobsQuery {
  std::string workspace_id;
  std::vector<JobState> states;  // never empty: the core expands "all"
  std::string type;              // empty: any
  std::map<std::string, std::string> labels;
  std::string after_id;  // empty: first page
  int32_t limit = 20;
  bool with_bodies = true;     // false: payload and result are left out (payload_json "")
  int64_t max_body_bytes = 0;  // > 0: the rows stop after the first at which the bytes of
                               // payloads and results so far pass this, never before the
                               // second (JobManager::ListJobs ends the page there)
};

// Which jobs of a workspace a bulk operation looks at: those matching every field given, or
// (ids not empty) those among the ids.
struct JobFilter {
  std::string workspace_id;
  std::vector<JobState> states;  // never empty: the core intersects with what applies
  std::string type;              // empty: any
  std::map<std::string, std::string> labels;
  std::optional<absl::Time> created_before;  // create_time < this
  std::optional<absl::Time> created_after;   // create_time >= this
  std::vector<std::string> ids;
};

struct CreatedJob {
  Job job;
  // False when an earlier job with the same idempotency key was returned instead.
  bool created = true;
  // Not OK when the job was not created: RESOURCE_EXHAUSTED beyond the workspace's quota.
  absl::Status refused;
};

// ALREADY_EXISTS: an idempotency key held by job `holder_id`, made from another request.
absl::Status IdempotencyKeyConflict(const std::string& holder_id);

// The all-or-nothing rule of JobStore::CreateJobBatch, shared by its implementations: true
// when the batch must not be written (a job refused, or an idempotency key held by a job of
// another request). Then every result gets created = false and only the first offender keeps
// a `refused` status.
bool RefuseBatch(const std::vector<Job>& requested, std::vector<CreatedJob>& results);

struct JobStats {
  struct Count {
    std::string type;
    JobState state;
    int64_t count = 0;
  };
  std::vector<Count> counts;                      // per (type, state) with at least one job
  std::optional<absl::Time> oldest_queued_since;  // run_after of the longest-waiting QUEUED job
};

}  // namespace jobd
