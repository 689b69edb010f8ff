#include "db/model/job.h"

#include <array>

#include "absl/strings/str_cat.h"

namespace jobd {
namespace {

constexpr std::array<const char*, 7> kStateNames = {
    "scheduled", "queued", "running", "succeeded", "failed", "cancelled", "paused"};
constexpr std::array<const char*, 5> kEventKindNames = {"snapshot", "created", "state_changed",
                                                        "progress", "message"};
constexpr std::array<const char*, 3> kLevelNames = {"info", "warning", "error"};

template <typename Enum, size_t N>
std::optional<Enum> FromName(const std::array<const char*, N>& names, const std::string& name) {
  for (size_t i = 0; i < N; ++i) {
    if (name == names[i]) return static_cast<Enum>(i + 1);
  }
  return std::nullopt;
}

}  // namespace

bool IsTerminal(JobState state) {
  return state == JobState::kSucceeded || state == JobState::kFailed ||
         state == JobState::kCancelled;
}

const std::vector<JobState>& AllJobStates() {
  static const auto* all = new std::vector<JobState>{
      JobState::kScheduled, JobState::kQueued,    JobState::kRunning, JobState::kSucceeded,
      JobState::kFailed,    JobState::kCancelled, JobState::kPaused};
  return *all;
}

const char* StateName(JobState state) { return kStateNames[static_cast<int>(state) - 1]; }
std::optional<JobState> StateFromName(const std::string& name) {
  return FromName<JobState>(kStateNames, name);
}
const char* EventKindName(EventKind kind) { return kEventKindNames[static_cast<int>(kind) - 1]; }
std::optional<EventKind> EventKindFromName(const std::string& name) {
  return FromName<EventKind>(kEventKindNames, name);
}
const char* MessageLevelName(MessageLevel level) {
  return kLevelNames[static_cast<int>(level) - 1];
}
std::optional<MessageLevel> MessageLevelFromName(const std::string& name) {
  return FromName<MessageLevel>(kLevelNames, name);
}

absl::Status IdempotencyKeyConflict(const std::string& holder_id) {
  return absl::AlreadyExistsError(absl::StrCat(
      "idempotency_key: job ", holder_id, " was created with this key from a different request"));
}

bool RefuseBatch(const std::vector<Job>& requested, std::vector<CreatedJob>& results) {
  std::optional<size_t> first;
  absl::Status why;
  for (size_t i = 0; i < results.size() && !first; ++i) {
    if (!results[i].refused.ok()) {
      first = i;
      why = results[i].refused;
    } else if (!results[i].created &&
               results[i].job.request_fingerprint != requested[i].request_fingerprint) {
      first = i;
      why = IdempotencyKeyConflict(results[i].job.id);
    }
  }
  if (!first) return false;
  for (size_t i = 0; i < results.size(); ++i) {
    results[i].created = false;
    results[i].refused = i == *first ? why : absl::OkStatus();
  }
  return true;
}

}  // namespace jobd
