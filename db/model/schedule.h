// Domain types of schedules (recurring job creation) and job templates. No proto, no SQL.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "db/model/job.h"

namespace jobd {

// Every `every`, at epoch + offset + k * every (absolute time; time zones do not apply).
struct IntervalSpec {
  absl::Duration every = absl::ZeroDuration();
  absl::Duration offset = absl::ZeroDuration();
};

// When a schedule's runs are due: the union of its cron expressions and intervals, within
// [start_time, end_time], each run delayed by a jitter fixed per run.
struct ScheduleSpec {
  std::vector<std::string> cron;  // 5 fields, or 6 with seconds first; or @hourly etc.
  std::vector<IntervalSpec> intervals;
  std::string time_zone;  // IANA name; empty: UTC
  std::optional<absl::Time> start_time;
  std::optional<absl::Time> end_time;
  absl::Duration jitter = absl::ZeroDuration();  // each run waits [0, jitter)
};

// What to do with a run while the schedule's previous job is still active.
enum class OverlapPolicy {
  kSkip = 1,     // no run (counted as skipped)
  kBufferOne,    // keep at most one run; it starts when the previous job finishes
  kAllowAll,     // run anyway
  kCancelOther,  // cancel the previous job, then run
};
const char* OverlapPolicyName(OverlapPolicy policy);

// The fields of a job a template presets and a schedule's runs create with: a CreateJob
// without workspace, idempotency key and run_after. Zero values are unset (a template's
// value, or the default, applies).
struct JobPreset {
  std::string template_name;  // a schedule's runs only; empty: none
  std::string type;
  std::string payload_json = "{}";
  int32_t priority = 0;
  int32_t max_attempts = 0;
  std::optional<absl::Duration> initial_backoff;
  std::optional<absl::Duration> max_backoff;
  double backoff_multiplier = 0;
  std::optional<absl::Duration> timeout;
  std::optional<absl::Duration> ttl;
  std::map<std::string, std::string> labels;
};

struct Schedule {
  std::string id;
  std::string workspace_id;
  std::string name;
  ScheduleSpec spec;
  JobPreset job;
  OverlapPolicy overlap_policy = OverlapPolicy::kSkip;
  absl::Duration catchup_window = absl::Minutes(1);
  bool paused = false;
  std::string pause_note;
  // The next nominal time not yet handled (none: the spec has no more runs), and when it is
  // due (the nominal time plus its jitter, or later while a create is refused).
  std::optional<absl::Time> next_run_time;
  std::optional<absl::Time> next_fire_time;
  // BUFFER_ONE: the run waiting for the active job to finish.
  std::optional<absl::Time> buffered_run_time;
  std::optional<absl::Time> last_run_time;
  std::string last_job_id;
  int64_t runs_fired = 0;
  int64_t runs_skipped = 0;  // overlap, outside the catch-up window, or refused
  std::string last_skip_reason;
  int64_t version = 0;  // bumped by every write
  std::string created_by;
  absl::Time create_time;
  absl::Time update_time;
};

struct JobTemplate {
  std::string id;
  std::string workspace_id;  // empty: shared with every workspace
  std::string name;
  std::string description;
  JobPreset defaults;               // type required; no template_name
  std::string payload_schema_json;  // empty: none
  absl::Time create_time;
  absl::Time update_time;
};

}  // namespace jobd
