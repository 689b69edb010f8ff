// JobManager's bulk operations: every job a filter (or a list of ids) chooses that the action
// applies to, changed chunk by chunk, each chunk in its own transaction, each job exactly as
// the single call would change it (the same plan, the same events).
#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "server/core/job_manager.h"
#include "server/core/lifecycle.h"
#include "server/core/validation.h"

namespace jobd::core {
namespace {

// Jobs per transaction: big enough to amortize a commit, small enough that no lock or
// transaction grows with the number of matching jobs.
constexpr int32_t kBulkChunk = 500;
constexpr size_t kMaxBulkIds = 1000;

const std::vector<JobState>& StatesFor(BulkAction action) {
  static const auto* active = new std::vector<JobState>{JobState::kScheduled, JobState::kQueued,
                                                        JobState::kRunning, JobState::kPaused};
  static const auto* finished =
      new std::vector<JobState>{JobState::kSucceeded, JobState::kFailed, JobState::kCancelled};
  static const auto* retriable = new std::vector<JobState>{JobState::kFailed, JobState::kCancelled};
  static const auto* pausable =
      new std::vector<JobState>{JobState::kScheduled, JobState::kQueued, JobState::kRunning};
  static const auto* paused = new std::vector<JobState>{JobState::kPaused};
  switch (action) {
    case BulkAction::kCancel:
    case BulkAction::kFail:
      return *active;
    case BulkAction::kRetry:
      return *retriable;
    case BulkAction::kPause:
      return *pausable;
    case BulkAction::kResume:
      return *paused;
    case BulkAction::kDelete:
      return *finished;
  }
  return *active;
}

absl::Status BulkInvalid(const std::string& field, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

bool FilterGiven(const JobFilter& f) {
  return !f.states.empty() || !f.type.empty() || !f.labels.empty() || f.created_before ||
         f.created_after;
}

absl::Status ValidateBulk(const BulkJobsCommand& c, const Limits& limits) {
  const JobFilter& f = c.filter;
  if (auto s = ValidateWorkspaceId(f.workspace_id, limits); !s.ok()) return s;
  if (!f.ids.empty() && FilterGiven(f)) {
    return BulkInvalid("ids", "give either ids or a filter, not both");
  }
  if (f.ids.empty() && !FilterGiven(f)) {
    return BulkInvalid("filter",
                       "give at least one of states, type, labels, created_before, created_after "
                       "(or ids)");
  }
  if (f.ids.size() > kMaxBulkIds) {
    return BulkInvalid("ids", absl::StrCat("at most ", kMaxBulkIds, ", got ", f.ids.size()));
  }
  for (size_t i = 0; i < f.ids.size(); ++i) {
    if (auto s = ValidateJobId(absl::StrCat("ids[", i, "]"), f.ids[i]); !s.ok()) return s;
  }
  if (!f.type.empty()) {
    if (auto s = ValidateType("filter.type", f.type, limits); !s.ok()) return s;
  }
  if (auto s = ValidateLabels("filter.labels", f.labels, limits); !s.ok()) return s;
  if (f.created_before && f.created_after && *f.created_after >= *f.created_before) {
    return BulkInvalid("filter.created_after", "must be before filter.created_before");
  }
  if (!c.reason.empty() && c.action != BulkAction::kCancel && c.action != BulkAction::kFail) {
    return BulkInvalid("reason", "only BulkCancelJobs and BulkFailJobs take one");
  }
  return ValidateText("reason", c.reason, limits);
}

// The single call's plan for one job.
absl::StatusOr<std::optional<JobUpdate>> Plan(const BulkJobsCommand& c, const Principal& caller,
                                              const Job& job, absl::Time now) {
  switch (c.action) {
    case BulkAction::kCancel:
      return PlanCancel(job, c.reason, caller.name, now);
    case BulkAction::kRetry:
      return PlanRetry(job, now);
    case BulkAction::kPause:
      return PlanPause(job, now);
    case BulkAction::kResume:
      return PlanResume(job, now);
    case BulkAction::kFail:
      return PlanForceFail(job, c.reason, caller.name, now);
    case BulkAction::kDelete:
      break;
  }
  return absl::InternalError("deletes are not job changes");
}

// A failure part-way keeps its code; its message says what was already done, which a repeat
// of the call does not redo.
absl::Status PartWay(const absl::Status& failure, const BulkJobsResult& done) {
  if (done.changed == 0) return failure;
  return absl::Status(failure.code(),
                      absl::StrCat(failure.message(), " (", done.changed,
                                   " jobs were changed before this failure; a repeat of the call "
                                   "changes only the rest)"));
}

}  // namespace

absl::StatusOr<BulkJobsResult> JobManager::BulkChangeJobs(const Principal& caller,
                                                          const BulkJobsCommand& command) {
  if (absl::Status s = CheckWorkspace(caller, command.filter.workspace_id); !s.ok()) return s;
  if (absl::Status s = ValidateBulk(command, limits_); !s.ok()) return s;
  const std::vector<JobState>& applicable = StatesFor(command.action);
  JobFilter filter = command.filter;
  filter.states.clear();
  for (JobState state : applicable) {
    if (command.filter.states.empty() ||
        std::find(command.filter.states.begin(), command.filter.states.end(), state) !=
            command.filter.states.end()) {
      filter.states.push_back(state);
    }
  }
  BulkJobsResult result;
  result.dry_run = command.dry_run;
  if (filter.states.empty()) return result;  // the states asked for are none it applies to
  // Jobs created from here on are not the caller's to change.
  absl::StatusOr<std::string> newest = store_.NewestJobId();
  if (!newest.ok()) return newest.status();
  if (newest->empty()) return result;
  if (command.dry_run) {
    absl::StatusOr<int64_t> count = store_.CountJobs(filter, *newest);
    if (!count.ok()) return count.status();
    result.matched = *count;
    return result;
  }
  std::string after;
  while (true) {
    absl::StatusOr<std::vector<std::string>> ids =
        store_.FindJobIds(filter, after, *newest, kBulkChunk);
    if (!ids.ok()) return PartWay(ids.status(), result);
    if (ids->empty()) break;
    after = ids->back();
    result.matched += static_cast<int64_t>(ids->size());
    ++result.chunks;
    if (command.action == BulkAction::kDelete) {
      absl::StatusOr<std::vector<std::string>> deleted =
          store_.DeleteFinishedJobs(filter.workspace_id, *ids, filter.states);
      if (!deleted.ok()) return PartWay(deleted.status(), result);
      result.changed += static_cast<int64_t>(deleted->size());
      continue;
    }
    // Each mutation records whether it changed its job (it runs inside UpdateJobs).
    auto changed = std::make_shared<std::vector<char>>(ids->size(), 0);
    std::vector<JobStore::JobChange> changes;
    changes.reserve(ids->size());
    for (size_t i = 0; i < ids->size(); ++i) {
      changes.push_back(
          {(*ids)[i],
           [&command, &caller, &filter, changed, i](
               const Job& current, absl::Time now) -> absl::StatusOr<std::optional<JobUpdate>> {
             // Changed since it was found: what applies is judged again.
             if (current.workspace_id != filter.workspace_id ||
                 std::find(filter.states.begin(), filter.states.end(), current.state) ==
                     filter.states.end()) {
               return std::nullopt;
             }
             absl::StatusOr<std::optional<JobUpdate>> plan = Plan(command, caller, current, now);
             (*changed)[i] = plan.ok() && plan->has_value();
             return plan;
           }});
    }
    absl::StatusOr<std::vector<absl::StatusOr<Job>>> updated = store_.UpdateJobs(changes);
    if (!updated.ok()) return PartWay(updated.status(), result);
    for (size_t i = 0; i < updated->size(); ++i) {
      if (!(*changed)[i] || !(*updated)[i].ok()) continue;
      ++result.changed;
      AnnounceRequeued(*(*updated)[i]);
    }
  }
  return result;
}

}  // namespace jobd::core
