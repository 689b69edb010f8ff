// The JobService use cases: validate, apply lifecycle rules, and call the store.
// Knows no gRPC; the api layer translates requests into commands and back.
#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "db/model/clock.h"
#include "db/model/job_store.h"
#include "server/core/access.h"
#include "server/core/batchers.h"
#include "server/core/commands.h"
#include "server/core/limits.h"
#include "server/core/page_token.h"
#include "server/core/rate_limiter.h"
#include "server/core/validation.h"

namespace jobd::core {

class TemplateManager;

class JobManager {
 public:
  JobManager(JobStore& store, CreateBatcher& batcher, Clock& clock, Limits limits,
             PageTokenCodec page_tokens);

  // `done` runs once, possibly on another thread, with the created (or idempotently
  // returned) job. Invalid input is reported before anything is queued.
  // Every call takes the caller: workspaces it may not use are PERMISSION_DENIED, and its
  // jobs in them are NOT_FOUND (server/core/access.h).
  void CreateJob(const Principal& caller, const CreateJobCommand& command,
                 std::function<void(absl::StatusOr<Job>)> done);
  // All or nothing, in one transaction; blocks (run it on the executor). A bad item is
  // INVALID_ARGUMENT naming it ("requests[3].type: ..."), an item refused by the quota or by
  // another request's idempotency key fails the batch the same way; nothing is then written.
  // An item's own workspace_id is empty (it takes `workspace_id`) or the same.
  absl::StatusOr<std::vector<Job>> BatchCreateJobs(const Principal& caller,
                                                   const std::string& workspace_id,
                                                   std::vector<CreateJobCommand> commands);
  // One job, now (blocks: run it on the executor): CreateJob's path for a request that names
  // a template, whose look-up blocks.
  absl::StatusOr<Job> CreateJobNow(const Principal& caller, const CreateJobCommand& command);
  // Runs a caller asked a schedule for (trigger, backfill), in one transaction, made as
  // `schedule` (its workspace, its name as requested_by) and charged to `caller`'s create
  // rate; the workspace's quota applies. Blocks.
  absl::StatusOr<std::vector<Job>> CreateScheduledJobs(const Principal& schedule,
                                                       const Principal& caller,
                                                       std::vector<CreateJobCommand> commands);
  // A run the schedule loop makes: created only with the schedule still at
  // `expected_version`, in one transaction with the write of `schedule_after` (ABORTED when
  // another replica moved the schedule on). The per-key rate does not apply. Blocks.
  absl::StatusOr<JobStore::ScheduledRun> CreateScheduledRun(const Principal& schedule,
                                                            CreateJobCommand command,
                                                            const Schedule& schedule_after,
                                                            int64_t expected_version);
  absl::StatusOr<Job> GetJob(const Principal& caller, const std::string& id);
  absl::StatusOr<JobPage> ListJobs(const Principal& caller, const ListJobsCommand& command);
  absl::StatusOr<Job> CancelJob(const Principal& caller, const std::string& id,
                                const std::string& reason);
  absl::StatusOr<Job> RetryJob(const Principal& caller, const std::string& id);
  absl::StatusOr<Job> PauseJob(const Principal& caller, const std::string& id);
  absl::StatusOr<Job> ResumeJob(const Principal& caller, const std::string& id);
  // A finished job and its history; an active one is FAILED_PRECONDITION.
  absl::Status DeleteJob(const Principal& caller, const std::string& id);
  // Every job the command chooses that its action applies to, in chunks of their own
  // transactions (server/core/bulk_jobs.cc). Blocks.
  absl::StatusOr<BulkJobsResult> BulkChangeJobs(const Principal& caller,
                                                const BulkJobsCommand& command);
  absl::StatusOr<JobStats> GetJobStats(const Principal& caller, const std::string& workspace_id);
  // A job's retained events, oldest first, `page_size` (default 100, at most max_page_size)
  // at a time.
  absl::StatusOr<EventPage> ListJobEvents(const Principal& caller, const std::string& id,
                                          int32_t page_size, const std::string& page_token);

  // Called with each job that became QUEUED through this manager (to wake workers).
  void SetJobReadyListener(std::function<void(const Job&)> listener) {
    job_ready_ = std::move(listener);
  }

  // Quota: CreateJob calls per API key; beyond it RESOURCE_EXHAUSTED saying when to retry.
  void SetCreateRateLimiter(RateLimiter* limiter) { create_rate_ = limiter; }

  // Called with each job created SCHEDULED (to wake workers at its run_after).
  void SetJobScheduledListener(std::function<void(const Job&)> listener) {
    job_scheduled_ = std::move(listener);
  }

  // Resolves the templates requests name (CreateJob needs CreateJobNow for those).
  void SetTemplates(TemplateManager* templates) { templates_ = templates; }

  const Limits& limits() const { return limits_; }
  Clock& clock() { return clock_; }

 private:
  // Validates, fills templates, charges the rate (when asked) and creates in one transaction;
  // `batch` puts "requests[i]." before an item's error.
  absl::StatusOr<std::vector<Job>> CreateNow(const Principal& caller,
                                             const std::string& workspace_id,
                                             std::vector<CreateJobCommand> commands, bool batch,
                                             const Principal* rate_payer,
                                             CreateOrigin origin = CreateOrigin::kCaller);
  // The jobs of `commands` (workspace checked, templates filled, validated), or the first
  // refusal.
  absl::StatusOr<std::vector<Job>> PrepareJobs(const Principal& caller,
                                               const std::string& workspace_id,
                                               std::vector<CreateJobCommand>& commands, bool batch,
                                               CreateOrigin origin, absl::Time now);
  // Tells the listeners of a job this manager created (not of one found by its key).
  void Announce(const CreatedJob& created);
  // Tells the listeners of a job made QUEUED or SCHEDULED again (retry, resume).
  void AnnounceRequeued(const Job& job);
  // RESOURCE_EXHAUSTED with the wait when the caller's key may not create `count` jobs now.
  absl::Status TakeCreateQuota(const Principal& caller, absl::Time now, double count);

  JobStore& store_;
  CreateBatcher& batcher_;
  Clock& clock_;
  const Limits limits_;
  const PageTokenCodec page_tokens_;
  RateLimiter* create_rate_ = nullptr;
  TemplateManager* templates_ = nullptr;
  std::function<void(const Job&)> job_ready_ = [](const Job&) {};
  std::function<void(const Job&)> job_scheduled_ = [](const Job&) {};
};

// The filters of a list query in a canonical form, which page tokens are bound to.
std::string ListQueryFingerprint(const ListJobsCommand& command);

}  // namespace jobd::core
