#include "server/core/job_manager.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/core/ids.h"
#include "server/core/lifecycle.h"
#include "server/core/retry_after.h"
#include "server/core/template_manager.h"
#include "server/core/validation.h"

namespace jobd::core {
namespace {

std::vector<JobState> WantedStates(const std::vector<JobState>& requested) {
  if (requested.empty()) return AllJobStates();
  std::vector<JobState> states = requested;
  std::sort(states.begin(), states.end());
  states.erase(std::unique(states.begin(), states.end()), states.end());
  return states;
}

}  // namespace

std::string ListQueryFingerprint(const ListJobsCommand& c) {
  std::string out = absl::StrCat("ws=", c.workspace_id.size(), ":", c.workspace_id,
                                 ";type=", c.type.size(), ":", c.type, ";states=");
  for (JobState state : WantedStates(c.states)) absl::StrAppend(&out, StateName(state), ",");
  for (const auto& [key, value] : c.labels) {
    absl::StrAppend(&out, ";label=", key.size(), ":", key, "=", value.size(), ":", value);
  }
  return out;
}

JobManager::JobManager(JobStore& store, CreateBatcher& batcher, Clock& clock, Limits limits,
                       PageTokenCodec page_tokens)
    : store_(store),
      batcher_(batcher),
      clock_(clock),
      limits_(limits),
      page_tokens_(std::move(page_tokens)) {}

void JobManager::CreateJob(const Principal& caller, const CreateJobCommand& command,
                           std::function<void(absl::StatusOr<Job>)> done) {
  const absl::Time now = clock_.Now();
  if (absl::Status s = CheckWorkspace(caller, command.workspace_id); !s.ok()) return done(s);
  if (!command.template_name.empty()) {
    return done(absl::InternalError("a create naming a template goes through CreateJobNow"));
  }
  if (absl::Status s = ValidateCreate(command, now, limits_); !s.ok()) return done(s);
  if (absl::Status s = TakeCreateQuota(caller, now, 1); !s.ok()) return done(s);
  Job job = NewJobFromCommand(command, NewJobId(now), now);
  job.requested_by = caller.name;  // from the API key, never from the request
  std::string fingerprint = job.request_fingerprint;
  batcher_.Submit(std::move(job),
                  [this, done = std::move(done),
                   fingerprint = std::move(fingerprint)](absl::StatusOr<CreatedJob> created) {
                    if (!created.ok()) return done(created.status());
                    Announce(*created);
                    if (!created->created && created->job.request_fingerprint != fingerprint) {
                      return done(IdempotencyKeyConflict(created->job.id));
                    }
                    done(std::move(created->job));
                  });
}

void JobManager::Announce(const CreatedJob& created) {
  if (!created.created) return;
  if (created.job.state == JobState::kQueued) job_ready_(created.job);
  if (created.job.state == JobState::kScheduled) job_scheduled_(created.job);
}

absl::Status JobManager::TakeCreateQuota(const Principal& caller, absl::Time now, double count) {
  if (create_rate_ == nullptr) return absl::OkStatus();
  std::optional<absl::Duration> wait = create_rate_->Take(caller.key_id, now, count);
  if (!wait) return absl::OkStatus();
  return WithRetryAfter(
      absl::ResourceExhaustedError(
          absl::StrCat("quota: API key \"", caller.name, "\" may create ", create_rate_->rate(),
                       " jobs per second (--create_rate_per_key); retry in ",
                       absl::FormatDuration(absl::Ceil(*wait, absl::Milliseconds(1))))),
      *wait);
}

absl::StatusOr<std::vector<Job>> JobManager::BatchCreateJobs(
    const Principal& caller, const std::string& workspace_id,
    std::vector<CreateJobCommand> commands) {
  if (absl::Status s = CheckWorkspace(caller, workspace_id); !s.ok()) return s;
  if (commands.empty() || commands.size() > limits_.max_batch_create) {
    return absl::InvalidArgumentError(absl::StrCat(
        "requests: must hold 1 to ", limits_.max_batch_create, " jobs, not ", commands.size()));
  }
  return CreateNow(caller, workspace_id, std::move(commands), /*batch=*/true, &caller);
}

absl::StatusOr<Job> JobManager::CreateJobNow(const Principal& caller,
                                             const CreateJobCommand& command) {
  if (absl::Status s = CheckWorkspace(caller, command.workspace_id); !s.ok()) return s;
  absl::StatusOr<std::vector<Job>> jobs =
      CreateNow(caller, command.workspace_id, {command}, /*batch=*/false, &caller);
  if (!jobs.ok()) return jobs.status();
  return std::move(jobs->front());
}

absl::StatusOr<std::vector<Job>> JobManager::CreateScheduledJobs(
    const Principal& schedule, const Principal& caller, std::vector<CreateJobCommand> commands) {
  const std::string workspace_id = schedule.workspace_id;
  return CreateNow(schedule, workspace_id, std::move(commands), /*batch=*/false, &caller,
                   CreateOrigin::kSchedule);
}

absl::StatusOr<JobStore::ScheduledRun> JobManager::CreateScheduledRun(
    const Principal& schedule, CreateJobCommand command, const Schedule& schedule_after,
    int64_t expected_version) {
  const absl::Time now = clock_.Now();
  std::vector<CreateJobCommand> commands = {std::move(command)};
  absl::StatusOr<std::vector<Job>> jobs = PrepareJobs(
      schedule, schedule.workspace_id, commands, /*batch=*/false, CreateOrigin::kSchedule, now);
  if (!jobs.ok()) return jobs.status();
  absl::StatusOr<JobStore::ScheduledRun> run =
      store_.CreateScheduledJob(jobs->front(), schedule_after, expected_version);
  if (!run.ok()) return run.status();
  if (!run->created.refused.ok()) return run->created.refused;
  Announce(run->created);
  return run;
}

absl::StatusOr<std::vector<Job>> JobManager::PrepareJobs(const Principal& caller,
                                                         const std::string& workspace_id,
                                                         std::vector<CreateJobCommand>& commands,
                                                         bool batch, CreateOrigin origin,
                                                         absl::Time now) {
  if (absl::Status s = ValidateWorkspaceId(workspace_id, limits_); !s.ok()) return s;
  auto item = [&](const absl::Status& s, size_t i) {
    return batch ? ForItem(s, absl::StrCat("requests[", i, "]")) : s;
  };
  std::vector<Job> jobs;
  jobs.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    CreateJobCommand& command = commands[i];
    if (!command.workspace_id.empty() && command.workspace_id != workspace_id) {
      return item(absl::InvalidArgumentError(
                      absl::StrCat("workspace_id: must be empty or \"", workspace_id, "\"")),
                  i);
    }
    command.workspace_id = workspace_id;
    if (!command.template_name.empty()) {
      if (templates_ == nullptr) return absl::InternalError("templates are not set up");
      if (absl::Status s = templates_->Apply(command); !s.ok()) return item(s, i);
    }
    if (absl::Status s = ValidateCreate(command, now, limits_, origin); !s.ok()) {
      return item(s, i);
    }
    jobs.push_back(NewJobFromCommand(command, NewJobId(now), now));
    jobs.back().requested_by = caller.name;  // from the API key, never from the request
    // A schedule's run is the same run whatever its spec became since: any job holding its
    // key is that run.
    if (origin == CreateOrigin::kSchedule) jobs.back().request_fingerprint.clear();
  }
  return jobs;
}

absl::StatusOr<std::vector<Job>> JobManager::CreateNow(const Principal& caller,
                                                       const std::string& workspace_id,
                                                       std::vector<CreateJobCommand> commands,
                                                       bool batch, const Principal* rate_payer,
                                                       CreateOrigin origin) {
  const absl::Time now = clock_.Now();
  absl::StatusOr<std::vector<Job>> jobs =
      PrepareJobs(caller, workspace_id, commands, batch, origin, now);
  if (!jobs.ok()) return jobs.status();
  if (rate_payer != nullptr) {
    if (absl::Status s = TakeCreateQuota(*rate_payer, now, static_cast<double>(jobs->size()));
        !s.ok()) {
      return s;
    }
  }
  absl::StatusOr<std::vector<CreatedJob>> created =
      RetryAborted(/*max_tries=*/2, [&] { return store_.CreateJobBatch(*jobs); });
  if (!created.ok()) return created.status();
  for (size_t i = 0; i < created->size(); ++i) {
    if (!(*created)[i].refused.ok()) {
      return batch ? ForItem((*created)[i].refused, absl::StrCat("requests[", i, "]"))
                   : (*created)[i].refused;
    }
  }
  std::vector<Job> out;
  out.reserve(created->size());
  for (CreatedJob& c : *created) {
    Announce(c);
    out.push_back(std::move(c.job));
  }
  return out;
}

absl::StatusOr<Job> JobManager::GetJob(const Principal& caller, const std::string& id) {
  if (absl::Status s = ValidateJobId("id", id); !s.ok()) return s;
  absl::StatusOr<Job> job = store_.GetJob(id);
  if (job.ok() && !CanSeeJob(caller, *job)) return JobNotFound(id);
  return job;
}

absl::StatusOr<JobPage> JobManager::ListJobs(const Principal& caller,
                                             const ListJobsCommand& command) {
  if (absl::Status s = CheckWorkspace(caller, command.workspace_id); !s.ok()) return s;
  if (absl::Status s = ValidateList(command, limits_); !s.ok()) return s;
  const std::string fingerprint = ListQueryFingerprint(command);
  ListJobsQuery query;
  query.workspace_id = command.workspace_id;
  query.states = WantedStates(command.states);
  query.type = command.type;
  query.labels = command.labels;
  const int32_t page_size = command.page_size > 0 ? command.page_size : limits_.default_page_size;
  query.limit = page_size + 1;  // one more tells whether another page follows
  query.with_bodies = command.view == JobView::kFull;
  if (query.with_bodies) query.max_body_bytes = limits_.max_list_page_body_bytes;
  if (!command.page_token.empty()) {
    absl::StatusOr<std::string> after = page_tokens_.Decode(command.page_token, fingerprint);
    if (!after.ok()) return after.status();
    if (!IsUuid(*after)) return absl::InvalidArgumentError("page_token: is malformed");
    query.after_id = *after;
  }
  absl::StatusOr<std::vector<Job>> jobs = store_.ListJobs(query);
  if (!jobs.ok()) return jobs.status();
  JobPage page;
  page.jobs = std::move(*jobs);
  size_t keep = std::min(page.jobs.size(), static_cast<size_t>(page_size));
  if (query.max_body_bytes > 0) {
    // The store stopped after the first job past the budget: the page ends before it.
    int64_t bytes = 0;
    for (size_t i = 0; i < keep; ++i) {
      const Job& job = page.jobs[i];
      bytes += static_cast<int64_t>(job.payload_json.size() +
                                    (job.result_json ? job.result_json->size() : 0));
      if (i > 0 && bytes > query.max_body_bytes) {
        keep = i;
        break;
      }
    }
  }
  if (page.jobs.size() > keep) {
    page.jobs.resize(keep);
    page.next_page_token = page_tokens_.Encode(page.jobs.back().id, fingerprint);
  }
  return page;
}

absl::StatusOr<Job> JobManager::CancelJob(const Principal& caller, const std::string& id,
                                          const std::string& reason) {
  if (absl::Status s = ValidateJobId("id", id); !s.ok()) return s;
  if (absl::Status s = ValidateText("reason", reason, limits_); !s.ok()) return s;
  return store_.UpdateJob(
      id, [&](const Job& current, absl::Time now) -> absl::StatusOr<std::optional<JobUpdate>> {
        if (!CanSeeJob(caller, current)) return JobNotFound(id);
        return PlanCancel(current, reason, caller.name, now);
      });
}

absl::StatusOr<Job> JobManager::RetryJob(const Principal& caller, const std::string& id) {
  if (absl::Status s = ValidateJobId("id", id); !s.ok()) return s;
  absl::StatusOr<Job> job = store_.UpdateJob(
      id, [&](const Job& current, absl::Time now) -> absl::StatusOr<std::optional<JobUpdate>> {
        if (!CanSeeJob(caller, current)) return JobNotFound(id);
        return PlanRetry(current, now);
      });
  if (job.ok()) AnnounceRequeued(*job);
  return job;
}

void JobManager::AnnounceRequeued(const Job& job) {
  if (job.state == JobState::kQueued) job_ready_(job);
  if (job.state == JobState::kScheduled) job_scheduled_(job);
}

absl::StatusOr<Job> JobManager::PauseJob(const Principal& caller, const std::string& id) {
  if (absl::Status s = ValidateJobId("id", id); !s.ok()) return s;
  return store_.UpdateJob(
      id, [&](const Job& current, absl::Time now) -> absl::StatusOr<std::optional<JobUpdate>> {
        if (!CanSeeJob(caller, current)) return JobNotFound(id);
        return PlanPause(current, now);
      });
}

absl::StatusOr<Job> JobManager::ResumeJob(const Principal& caller, const std::string& id) {
  if (absl::Status s = ValidateJobId("id", id); !s.ok()) return s;
  bool resumed = false;
  absl::StatusOr<Job> job = store_.UpdateJob(
      id, [&](const Job& current, absl::Time now) -> absl::StatusOr<std::optional<JobUpdate>> {
        if (!CanSeeJob(caller, current)) return JobNotFound(id);
        absl::StatusOr<std::optional<JobUpdate>> plan = PlanResume(current, now);
        resumed = plan.ok() && plan->has_value();
        return plan;
      });
  if (job.ok() && resumed) AnnounceRequeued(*job);
  return job;
}

namespace {

absl::Status NotDeletable(const Job& job) {
  return absl::FailedPreconditionError(
      absl::StrCat("job ", job.id, " is ", absl::AsciiStrToUpper(StateName(job.state)),
                   ": only SUCCEEDED, FAILED or CANCELLED jobs can be deleted"));
}

}  // namespace

absl::Status JobManager::DeleteJob(const Principal& caller, const std::string& id) {
  if (absl::Status s = ValidateJobId("id", id); !s.ok()) return s;
  absl::StatusOr<Job> job = store_.GetJob(id);
  if (!job.ok()) return job.status();
  if (!CanSeeJob(caller, *job)) return JobNotFound(id);
  if (!IsTerminal(job->state)) {
    return NotDeletable(*job);
  }
  absl::StatusOr<std::vector<std::string>> deleted =
      store_.DeleteFinishedJobs(job->workspace_id, {job->id},
                                {JobState::kSucceeded, JobState::kFailed, JobState::kCancelled});
  if (!deleted.ok()) return deleted.status();
  if (deleted->empty()) {
    // Retried (active again) or deleted meanwhile: say which.
    absl::StatusOr<Job> now = store_.GetJob(id);
    if (!now.ok()) return now.status();
    return NotDeletable(*now);
  }
  return absl::OkStatus();
}

absl::StatusOr<JobStats> JobManager::GetJobStats(const Principal& caller,
                                                 const std::string& workspace_id) {
  if (absl::Status s = CheckWorkspace(caller, workspace_id); !s.ok()) return s;
  if (absl::Status s = ValidateWorkspaceId(workspace_id, limits_); !s.ok()) return s;
  return store_.GetJobStats(workspace_id);
}

absl::StatusOr<EventPage> JobManager::ListJobEvents(const Principal& caller, const std::string& id,
                                                    int32_t page_size,
                                                    const std::string& page_token) {
  if (absl::Status s = ValidateJobId("id", id); !s.ok()) return s;
  if (page_size < 0 || page_size > limits_.max_page_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: must be between 0 and ", limits_.max_page_size));
  }
  const int32_t limit = page_size > 0 ? page_size : std::min(100, limits_.max_page_size);
  const std::string query = absl::StrCat("events:", id);
  int64_t after = 0;
  if (!page_token.empty()) {
    absl::StatusOr<std::string> decoded = page_tokens_.Decode(page_token, query);
    if (!decoded.ok()) return decoded.status();
    if (!absl::SimpleAtoi(*decoded, &after) || after < 0) {
      return absl::InvalidArgumentError("page_token: is malformed");
    }
  }
  EventPage page;
  absl::StatusOr<Job> job = GetJob(caller, id);
  if (!job.ok()) return job.status();
  page.job = std::move(*job);
  absl::StatusOr<std::vector<JobEvent>> events = store_.ListJobEvents(id, after, limit + 1);
  if (!events.ok()) return events.status();
  page.events = std::move(*events);
  if (page.events.size() > static_cast<size_t>(limit)) {
    page.events.resize(limit);
    page.next_page_token = page_tokens_.Encode(std::to_string(page.events.back().sequence), query);
  }
  return page;
}

}  // namespace jobd::core
