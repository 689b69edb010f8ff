// What callers ask of the core, in domain types (the api layer translates proto into these).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "db/model/job.h"

namespace jobd::core {

// Unset optionals take the documented defaults.
struct RetryPolicyInput {
  int32_t max_attempts = 0;  // 0: default
  std::optional<absl::Duration> initial_backoff;
  std::optional<absl::Duration> max_backoff;
  double multiplier = 0;  // 0: default
};

struct CreateJobCommand {
  std::string workspace_id;
  std::string type;
  std::string payload_json = "{}";  // a JSON object
  int32_t priority = 0;
  RetryPolicyInput retry_policy;
  std::optional<absl::Duration> timeout;
  std::optional<absl::Duration> ttl;
  std::optional<absl::Time> run_after;
  std::map<std::string, std::string> labels;
  std::string idempotency_key;
  std::string template_name;  // empty: none (TemplateManager::Apply fills the command)
};

// What a bulk operation does to each job it applies to.
enum class BulkAction { kCancel, kRetry, kPause, kResume, kDelete, kFail };

struct BulkJobsCommand {
  BulkAction action = BulkAction::kCancel;
  // filter.states: empty means every state the action applies to. filter.ids: the other
  // way to choose jobs (not with other filter fields).
  JobFilter filter;
  bool dry_run = false;
  std::string reason;  // kCancel and kFail only
};

struct BulkJobsResult {
  int64_t matched = 0;
  int64_t changed = 0;
  int32_t chunks = 0;
  bool dry_run = false;
};

// What a list returns of each job.
enum class JobView {
  kFull,
  kBasic,  // without payload and result
};

struct ListJobsCommand {
  std::string workspace_id;
  std::vector<JobState> states;  // empty: all
  std::string type;
  std::map<std::string, std::string> labels;
  int32_t page_size = 0;  // 0: default
  std::string page_token;
  JobView view = JobView::kFull;
};

struct JobPage {
  std::vector<Job> jobs;
  std::string next_page_token;  // empty on the last page
};

struct EventPage {
  Job job;  // the job now: the fields events do not carry come from it
  std::vector<JobEvent> events;
  std::string next_page_token;
};

}  // namespace jobd::core
