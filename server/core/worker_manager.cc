#include "server/core/worker_manager.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "server/core/log.h"
#include "server/core/validation.h"

namespace jobd::core {
namespace {

constexpr absl::Duration kDefaultLease = absl::Seconds(30);
constexpr absl::Duration kMinLease = absl::Seconds(1);
constexpr absl::Duration kMaxLease = absl::Hours(1);
constexpr int32_t kMaxJobsPerAcquire = 100;

absl::Status Invalid(const std::string& field, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

absl::Status ValidateAcquire(const AcquireCommand& c, const Limits& limits) {
  if (auto s = ValidateWorkspaceId(c.workspace_id, limits); !s.ok()) return s;
  if (c.types.empty()) return Invalid("types", "at least one job type is required");
  if (c.types.size() > 64) return Invalid("types", "at most 64 types are allowed");
  for (const std::string& type : c.types) {
    if (auto s = ValidateType("types", type, limits); !s.ok()) return s;
  }
  if (c.worker_id.empty()) return Invalid("worker_id", "is required");
  if (auto s = ValidateText("worker_id", c.worker_id, limits); !s.ok()) return s;
  if (c.worker_id.size() > 256) return Invalid("worker_id", "must be at most 256 bytes");
  if (c.max_jobs < 1 || c.max_jobs > kMaxJobsPerAcquire) {
    return Invalid("max_jobs", absl::StrCat("must be between 1 and ", kMaxJobsPerAcquire));
  }
  if (c.wait < absl::ZeroDuration() || c.wait > limits.max_wait) {
    return Invalid("wait",
                   absl::StrCat("must be between 0 and ", absl::FormatDuration(limits.max_wait)));
  }
  if (c.lease_duration && (*c.lease_duration < kMinLease || *c.lease_duration > kMaxLease)) {
    return Invalid("lease_duration", "must be between 1s and 1h");
  }
  return absl::OkStatus();
}

AcquireQuery QueryOf(const AcquireCommand& command) {
  AcquireQuery query;
  query.workspace_id = command.workspace_id;
  query.types = command.types;
  query.worker_id = command.worker_id;
  query.limit = command.max_jobs;
  query.lease_duration = command.lease_duration.value_or(kDefaultLease);
  query.max_bytes = command.max_answer_bytes;
  return query;
}

absl::Status ValidateLeaseCall(const std::string& job_id, const std::string& lease_token) {
  if (auto s = ValidateJobId("job_id", job_id); !s.ok()) return s;
  if (lease_token.empty()) return Invalid("lease_token", "is required");
  return absl::OkStatus();
}

}  // namespace

WorkerManager::WorkerManager(JobStore& store, Executor& executor, ChangeBatcher& changes,
                             ReadyWaiters& waiters, Clock& clock, Limits limits, UnitRandom random)
    : store_(store),
      executor_(executor),
      changes_(changes),
      waiters_(waiters),
      clock_(clock),
      limits_(limits),
      random_(std::move(random)),
      long_polls_("AcquireJobs calls waiting", "max_long_polls_per_key",
                  limits.max_long_polls_per_key) {}

void WorkerManager::AcquireJobs(const Principal& caller, AcquireCommand command, Done done) {
  if (absl::Status s = CheckWorkspace(caller, command.workspace_id); !s.ok()) return done(s);
  if (absl::Status s = ValidateAcquire(command, limits_); !s.ok()) return done(s);
  if (command.wait > absl::ZeroDuration()) {
    if (absl::Status s = long_polls_.Enter(caller.key_id, caller.name); !s.ok()) return done(s);
    done = [this, key_id = caller.key_id,
            done = std::move(done)](absl::StatusOr<std::vector<Job>> jobs) {
      long_polls_.Leave(key_id);
      done(std::move(jobs));
    };
  }
  const absl::Time deadline = clock_.Now() + command.wait;
  auto acquiring = std::make_shared<Acquiring>();
  acquiring->command = std::move(command);
  // A caller that leaves ends its wait at once (and frees its place among the key's long
  // polls) instead of at the next look or the deadline.
  acquiring->command.on_cancel([this, weak = std::weak_ptr<Acquiring>(acquiring)] {
    if (auto alive = weak.lock()) {
      alive->caller_left.store(true);
      waiters_.Cancel(alive->waiter.load());
    }
  });
  const absl::Time call_deadline = acquiring->command.call_deadline;
  if (!executor_.Post(
          [this, acquiring, deadline, done]() { TryAcquire(acquiring, deadline, done); },
          call_deadline)) {
    done(absl::ResourceExhaustedError("jobd is overloaded: too many calls waiting"));
  }
}

void WorkerManager::TryAcquire(std::shared_ptr<Acquiring> acquiring, absl::Time deadline,
                               Done done) {
  const AcquireCommand* command = &acquiring->command;
  if (command->cancelled() || acquiring->caller_left.load() || waiters_.stopped())
    return done(std::vector<Job>{});
  if (absl::Status s = command->still_authorized(); !s.ok()) return done(s);
  // Read the generation first: anything made ready after this makes Wait refuse to sleep.
  const uint64_t seen = waiters_.generation();
  absl::StatusOr<std::vector<Job>> jobs = store_.AcquireJobs(QueryOf(*command));
  if (jobs.ok() && !jobs->empty()) {
    // The caller's key was revoked while we leased (after the check above): it gets nothing.
    if (absl::Status s = command->still_authorized(); !s.ok()) {
      return ReleaseLeases(*jobs, [done, s] { done(s); });
    }
    // The caller left, or jobd began to stop, while we leased: hand the jobs back rather than
    // let them wait out a lease (and lose an attempt) behind an answer that may never arrive.
    if (command->cancelled() || acquiring->caller_left.load() || waiters_.stopped()) {
      return ReleaseLeases(*jobs, [done] { done(std::vector<Job>{}); });
    }
  }
  if (jobs.ok() && !jobs->empty()) metrics_->JobsLeased(*jobs);
  if (!jobs.ok() || !jobs->empty() || clock_.Now() >= deadline) return done(std::move(jobs));
  auto resume = [this, acquiring, deadline, done](bool woken) {
    // Not woken before the call's deadline: this waiter's own recheck of a limited queue
    // (or its caller left, or jobd stops: TryAcquire answers those at once).
    if (!woken && clock_.Now() >= deadline) return done(std::vector<Job>{});
    if (!executor_.Post(
            [this, acquiring, deadline, done] { TryAcquire(acquiring, deadline, done); },
            acquiring->command.call_deadline)) {
      done(absl::ResourceExhaustedError("jobd is overloaded: too many calls waiting"));
    }
  };
  // A limited queue may admit a job before anything wakes this wait: this waiter (and only
  // it) looks again then.
  absl::Time wait_until = deadline;
  if (queues_ && !command->types.empty()) {
    absl::StatusOr<std::optional<absl::Time>> next =
        queues_->NextQueueAdmission(command->workspace_id, command->types);
    if (next.ok() && next->has_value()) wait_until = std::min(deadline, **next);
  }
  uint64_t waiter = 0;
  if (!waiters_.Wait(command->workspace_id, command->types, wait_until, seen, resume, &waiter)) {
    return resume(true);  // something became ready meanwhile: look again now
  }
  acquiring->waiter.store(waiter);
  // The caller may have left before the id was stored, when its Cancel could not find it.
  // Not command->cancelled(): once waiting, the call may be answered (and gone) any time.
  if (acquiring->caller_left.load()) waiters_.Cancel(waiter);
}

void WorkerManager::HandBack(std::vector<Job> jobs, std::function<void()> then) {
  if (jobs.empty()) return then();
  ReleaseLeases(jobs, std::move(then));
}

void WorkerManager::ReleaseLeases(const std::vector<Job>& jobs, std::function<void()> then) {
  auto left = std::make_shared<std::atomic<size_t>>(jobs.size());
  for (const Job& job : jobs) {
    changes_.Submit(
        {job.id,
         [token = job.lease_token](const Job& current,
                                   absl::Time now) -> absl::StatusOr<std::optional<JobUpdate>> {
           return PlanReleaseLease(current, token, now);
         }},
        [this, left, then, id = job.id, workspace = job.workspace_id,
         type = job.type](absl::StatusOr<Job> job) {
          if (job.ok() && job->state == JobState::kQueued) waiters_.Notify(workspace, type);
          // Its lease then runs out unused, and the lease reaper ends that attempt.
          if (!job.ok()) {
            Log(LogLevel::kWarning, "a lease nobody received could not be handed back",
                {{"job_id", id}, {"error", std::string(job.status().message())}});
          }
          if (left->fetch_sub(1) == 1) then();
        });
  }
}

void WorkerManager::ReportProgress(const Principal& caller, const std::string& job_id,
                                   const std::string& lease_token, ProgressReport report,
                                   std::function<void(absl::StatusOr<ProgressResult>)> done) {
  auto invalid = [&]() -> absl::Status {
    if (auto s = ValidateLeaseCall(job_id, lease_token); !s.ok()) return s;
    if (!(report.percent >= 0 && report.percent <= 100)) {
      return Invalid("progress_percent", "must be between 0 and 100");
    }
    if (auto s = ValidateText("progress_message", report.message, limits_); !s.ok()) return s;
    if (report.messages.size() > 100) return Invalid("messages", "at most 100 per report");
    for (size_t i = 0; i < report.messages.size(); ++i) {
      const std::string field = absl::StrCat("messages[", i, "].text");
      if (auto s = ValidateText(field, report.messages[i].text, limits_); !s.ok()) return s;
    }
    if (report.checkpoint_json) {
      if (report.checkpoint_json->size() > limits_.max_payload_bytes) {
        return Invalid("checkpoint", absl::StrCat("must be at most ", limits_.max_payload_bytes,
                                                  " bytes encoded as JSON, got ",
                                                  report.checkpoint_json->size()));
      }
      if (auto s = ValidateStoredJson("checkpoint", *report.checkpoint_json); !s.ok()) return s;
    }
    return absl::OkStatus();
  }();
  if (!invalid.ok()) return done(invalid);
  // The mutation runs on the committer thread; it records what it decided here.
  auto stopped = std::make_shared<ProgressResult>();
  auto mutate = [this, caller, job_id, lease_token, report = std::move(report), stopped](
                    const Job& current,
                    absl::Time now) -> absl::StatusOr<std::optional<JobUpdate>> {
    if (!CanSeeJob(caller, current)) return JobNotFound(job_id);
    absl::StatusOr<ProgressPlan> plan = PlanProgress(current, lease_token, report, now, limits_);
    if (absl::IsAborted(plan.status())) metrics_->FencingRefused("ReportProgress");
    if (!plan.ok()) return plan.status();
    if (plan->cancelled) metrics_->StopDelivered("cancel");
    if (plan->paused) metrics_->StopDelivered("pause");
    stopped->cancelled = plan->cancelled;
    stopped->paused = plan->paused;
    return std::move(plan->update);
  };
  changes_.Submit({job_id, std::move(mutate)},
                  [stopped, done = std::move(done)](absl::StatusOr<Job> job) {
                    if (!job.ok()) return done(job.status());
                    ProgressResult result = *stopped;
                    if (!result.cancelled && !result.paused) {
                      result.lease_expire_time = job->lease_expire_time;
                    }
                    done(result);
                  });
}

void WorkerManager::CompleteJob(const Principal& caller, const std::string& job_id,
                                const std::string& lease_token, std::string result_json,
                                std::function<void(absl::StatusOr<Job>)> done) {
  if (auto s = ValidateLeaseCall(job_id, lease_token); !s.ok()) return done(s);
  if (result_json.size() > limits_.max_payload_bytes) {
    return done(Invalid("result", absl::StrCat("must be at most ", limits_.max_payload_bytes,
                                               " bytes encoded as JSON")));
  }
  changes_.Submit(CompleteChange(caller, job_id, lease_token, std::move(result_json)),
                  std::move(done));
}

JobStore::JobChange WorkerManager::CompleteChange(const Principal& caller,
                                                  const std::string& job_id,
                                                  const std::string& lease_token,
                                                  std::string result_json) {
  return {job_id,
          [this, caller, job_id, lease_token, result_json = std::move(result_json)](
              const Job& current, absl::Time now) -> absl::StatusOr<std::optional<JobUpdate>> {
            if (!CanSeeJob(caller, current)) return JobNotFound(job_id);
            return Measured("CompleteJob", "succeeded", current, now,
                            PlanComplete(current, lease_token, result_json, now));
          }};
}

JobStore::JobChange WorkerManager::FailChange(const Principal& caller, const std::string& job_id,
                                              const std::string& lease_token,
                                              std::string error_message, bool retryable) {
  return {job_id,
          [this, caller, job_id, lease_token, error_message = std::move(error_message), retryable](
              const Job& current, absl::Time now) -> absl::StatusOr<std::optional<JobUpdate>> {
            if (!CanSeeJob(caller, current)) return JobNotFound(job_id);
            return Measured("FailJob", "failed", current, now,
                            PlanFail(current, lease_token, error_message, retryable, now, random_));
          }};
}

absl::StatusOr<std::optional<JobUpdate>> WorkerManager::Measured(
    const char* method, const char* outcome, const Job& current, absl::Time now,
    absl::StatusOr<std::optional<JobUpdate>> plan) {
  // Decided inside the writing transaction, which fails only as a whole (UNAVAILABLE): then
  // the caller retries, and the attempt is counted again. Rare enough for monitoring.
  if (absl::IsAborted(plan.status())) {
    metrics_->FencingRefused(method);
  } else if (plan.ok() && plan->has_value() && current.start_time) {
    metrics_->AttemptEnded(current.type, outcome, now - *current.start_time);
  }
  return plan;
}

std::function<void(absl::StatusOr<Job>)> WorkerManager::AfterFail(
    std::function<void(absl::StatusOr<Job>)> done) {
  return [this, done = std::move(done)](absl::StatusOr<Job> job) {
    WakeAtRetry(job);
    done(std::move(job));
  };
}

void WorkerManager::WakeAtRetry(const absl::StatusOr<Job>& job) {
  // A failed attempt whose retry waits for its backoff: wake the workers at its run_after.
  if (job.ok() && job->state == JobState::kScheduled) {
    waiters_.NotifyAt(job->run_after, job->workspace_id, job->type);
  }
}

void WorkerManager::FailJob(const Principal& caller, const std::string& job_id,
                            const std::string& lease_token, std::string error_message,
                            bool retryable, std::function<void(absl::StatusOr<Job>)> done) {
  if (auto s = ValidateLeaseCall(job_id, lease_token); !s.ok()) return done(s);
  if (auto s = ValidateText("error_message", error_message, limits_); !s.ok()) return done(s);
  changes_.Submit(FailChange(caller, job_id, lease_token, std::move(error_message), retryable),
                  AfterFail(std::move(done)));
}

void WorkerManager::FinishAndAcquire(
    const Principal& caller, std::vector<FinishCommand> finished, size_t completed_count,
    std::optional<AcquireCommand> acquire,
    std::function<void(absl::StatusOr<FinishAndAcquireResult>)> done) {
  if (acquire) {
    if (absl::Status s = CheckWorkspace(caller, acquire->workspace_id); !s.ok()) return done(s);
    if (absl::Status s = ValidateAcquire(*acquire, limits_); !s.ok()) return done(s);
  } else if (finished.empty()) {
    return done(Invalid("max_jobs", absl::StrCat("must be between 1 and ", kMaxJobsPerAcquire)));
  }
  if (finished.size() > kMaxFinishedPerCall) {
    return done(
        Invalid("completed", absl::StrCat("at most ", kMaxFinishedPerCall,
                                          " finished jobs (completed and failed) per call")));
  }
  for (size_t i = 0; i < finished.size(); ++i) {
    const FinishCommand& c = finished[i];
    const std::string item = i < completed_count
                                 ? absl::StrCat("completed[", i, "]")
                                 : absl::StrCat("failed[", i - completed_count, "]");
    absl::Status s = ValidateLeaseCall(c.job_id, c.lease_token);
    if (s.ok() && c.succeeded && c.result_json.size() > limits_.max_payload_bytes) {
      s = Invalid("result", absl::StrCat("must be at most ", limits_.max_payload_bytes,
                                         " bytes encoded as JSON"));
    }
    if (s.ok() && !c.succeeded) s = ValidateText("error_message", c.error_message, limits_);
    if (!s.ok()) return done(ForItem(s, item));
  }
  // The finished jobs and the next leases in one transaction (one commit per worker round
  // trip), on an executor thread.
  std::shared_ptr<AcquireCommand> command;
  if (acquire) command = std::make_shared<AcquireCommand>(std::move(*acquire));
  auto run = [this, caller, finished = std::move(finished), command, done]() mutable {
    if (command) {
      if (absl::Status s = command->still_authorized(); !s.ok()) return done(s);
    }
    std::vector<JobStore::JobChange> changes;
    changes.reserve(finished.size());
    for (FinishCommand& c : finished) {
      changes.push_back(
          c.succeeded ? CompleteChange(caller, c.job_id, c.lease_token, std::move(c.result_json))
                      : FailChange(caller, c.job_id, c.lease_token, std::move(c.error_message),
                                   c.retryable));
    }
    FinishAndAcquireResult out;
    std::vector<Job> leased;
    if (command) {
      absl::StatusOr<JobStore::UpdatedAndLeased> written =
          store_.UpdateJobsAndAcquire(changes, QueryOf(*command));
      if (!written.ok()) return done(written.status());  // nothing was written
      out.finished = std::move(written->updated);
      leased = std::move(written->leased);
    } else {
      absl::StatusOr<std::vector<absl::StatusOr<Job>>> written = store_.UpdateJobs(changes);
      if (!written.ok()) return done(written.status());  // nothing was written
      out.finished = std::move(*written);
    }
    for (const absl::StatusOr<Job>& job : out.finished) WakeAtRetry(job);
    if (!command) return done(std::move(out));
    if (!leased.empty()) {
      // As TryAcquire: a caller that left or lost its key meanwhile gets nothing, and the jobs
      // go back at once rather than wait out their leases.
      if (!command->still_authorized().ok() || command->cancelled() || waiters_.stopped()) {
        auto result = std::make_shared<FinishAndAcquireResult>(std::move(out));
        return ReleaseLeases(leased, [result, done] { done(std::move(*result)); });
      }
      metrics_->JobsLeased(leased);
      out.leased = std::move(leased);
      return done(std::move(out));
    }
    if (command->wait <= absl::ZeroDuration()) return done(std::move(out));
    // Nothing ready now: wait for jobs as AcquireJobs does (the finished ones are written).
    auto result = std::make_shared<FinishAndAcquireResult>(std::move(out));
    AcquireJobs(caller, std::move(*command), [result, done](absl::StatusOr<std::vector<Job>> jobs) {
      if (jobs.ok()) result->leased = std::move(*jobs);
      done(std::move(*result));
    });
  };
  const bool posted = command ? executor_.Post(std::move(run), command->call_deadline)
                              : executor_.Post(std::move(run));
  if (!posted) done(absl::ResourceExhaustedError("jobd is overloaded: too many calls waiting"));
}

}  // namespace jobd::core
