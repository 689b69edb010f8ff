// The WorkerService use cases: lease jobs (with long-poll), report progress, complete, fail.
// Knows no gRPC. Blocking store calls run on the executor; a long-poll holds no thread.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "db/model/job_store.h"
#include "db/model/queue_store.h"
#include "server/core/access.h"
#include "server/core/batchers.h"
#include "server/core/executor.h"
#include "server/core/job_manager.h"
#include "server/core/limits.h"
#include "server/core/metrics.h"
#include "server/core/per_key_limit.h"
#include "server/core/ready_waiters.h"
#include "server/core/worker_rules.h"

namespace jobd::core {

struct AcquireCommand {
  std::string workspace_id;
  std::vector<std::string> types;
  std::string worker_id;
  int32_t max_jobs = 0;
  absl::Duration wait = absl::ZeroDuration();
  std::optional<absl::Duration> lease_duration;  // unset: 30 s
  // > 0: lease no more jobs than an answer of about this many bytes holds (the store's
  // estimate; the first job always comes). The transport still measures what it sends.
  int64_t max_answer_bytes = 0;
  // Polled before each attempt to lease: true once the caller went away.
  std::function<bool()> cancelled = [] { return false; };
  // Registers what to run (once, without blocking) when the caller goes away: a waiting long
  // poll then ends at once, and gives back its place among the key's long polls.
  std::function<void(std::function<void()>)> on_cancel = [](std::function<void()>) {};
  // Also before each attempt: not OK once the caller's key was revoked or expired during a
  // long poll, so that no job is leased to it (the call ends with that status).
  std::function<absl::Status()> still_authorized = [] { return absl::OkStatus(); };
  // When the caller stops waiting: each attempt's database work is bounded by it.
  absl::Time call_deadline = absl::InfiniteFuture();
};

// One finished job, as CompleteJob (succeeded) or FailJob would take it.
struct FinishCommand {
  std::string job_id;
  std::string lease_token;
  bool succeeded = true;
  std::string result_json;    // when succeeded
  std::string error_message;  // when not
  bool retryable = true;
};

struct FinishAndAcquireResult {
  std::vector<absl::StatusOr<Job>> finished;  // one per FinishCommand, in order
  std::vector<Job> leased;
};

struct ProgressResult {
  bool cancelled = false;
  bool paused = false;  // the job was paused: stop, as for a cancel
  std::optional<absl::Time> lease_expire_time;
};

class WorkerManager {
 public:
  WorkerManager(JobStore& store, Executor& executor, ChangeBatcher& changes, ReadyWaiters& waiters,
                Clock& clock, Limits limits, UnitRandom random = DefaultUnitRandom());

  // Limited queues: a long poll that found nothing looks again when one may admit a job.
  void SetQueueStore(QueueStore* queues) { queues_ = queues; }
  // Leases, attempts' ends, fencing refusals and stops told to workers.
  void SetMetrics(Metrics* metrics) { metrics_ = metrics; }

  // `done` runs once, on an executor thread or the waiters' timer, with the leased jobs
  // (empty when the wait ran out).
  // Every call takes the caller: another workspace is PERMISSION_DENIED, and a job in one is
  // NOT_FOUND whatever the lease token (server/core/access.h).
  void AcquireJobs(const Principal& caller, AcquireCommand command,
                   std::function<void(absl::StatusOr<std::vector<Job>>)> done);
  // Worker writes are group-committed: `done` runs once, on a committer thread (or inline
  // for invalid input), and no thread waits meanwhile.
  void ReportProgress(const Principal& caller, const std::string& job_id,
                      const std::string& lease_token, ProgressReport report,
                      std::function<void(absl::StatusOr<ProgressResult>)> done);
  void CompleteJob(const Principal& caller, const std::string& job_id,
                   const std::string& lease_token, std::string result_json,
                   std::function<void(absl::StatusOr<Job>)> done);
  void FailJob(const Principal& caller, const std::string& job_id, const std::string& lease_token,
               std::string error_message, bool retryable,
               std::function<void(absl::StatusOr<Job>)> done);

  // Completed and failed jobs per FinishAndAcquire call, at most.
  static constexpr size_t kMaxFinishedPerCall = 1000;

  // AcquireJobs carrying the jobs a worker finished. Checked whole first (a bad acquire or a
  // bad finished item writes nothing: INVALID_ARGUMENT naming it, e.g. "completed[2].job_id"),
  // then the finished jobs are written as CompleteJob / FailJob would (fencing and refusals
  // per job) in one transaction with the leases AcquireJobs would make (none when `acquire`
  // is unset). Once the finished jobs are written the call succeeds: a long poll that fails
  // afterwards leases nothing.
  void FinishAndAcquire(const Principal& caller, std::vector<FinishCommand> finished,
                        size_t completed_count, std::optional<AcquireCommand> acquire,
                        std::function<void(absl::StatusOr<FinishAndAcquireResult>)> done);

  // Hands jobs this caller leased but cannot be sent back to the queue (QUEUED, the same
  // attempt, waiting workers woken); `then` runs once all are written.
  void HandBack(std::vector<Job> jobs, std::function<void()> then);

  Clock& clock() { return clock_; }

 private:
  using Done = std::function<void(absl::StatusOr<std::vector<Job>>)>;
  struct Acquiring {
    AcquireCommand command;
    // The waiter it is registered as, for a cancel to end. Ids are never reused: a stale or
    // unset one names no waiter, and Cancel does nothing.
    std::atomic<uint64_t> waiter{~uint64_t{0}};
    std::atomic<bool> caller_left{false};  // set by on_cancel
  };
  void TryAcquire(std::shared_ptr<Acquiring> acquiring, absl::Time deadline, Done done);
  // The changes CompleteJob and FailJob submit (fenced by the lease token on the locked row).
  JobStore::JobChange CompleteChange(const Principal& caller, const std::string& job_id,
                                     const std::string& lease_token, std::string result_json);
  JobStore::JobChange FailChange(const Principal& caller, const std::string& job_id,
                                 const std::string& lease_token, std::string error_message,
                                 bool retryable);
  std::function<void(absl::StatusOr<Job>)> AfterFail(std::function<void(absl::StatusOr<Job>)> done);
  // Reports a worker's CompleteJob or FailJob decision to the metrics; returns `plan`.
  absl::StatusOr<std::optional<JobUpdate>> Measured(const char* method, const char* outcome,
                                                    const Job& current, absl::Time now,
                                                    absl::StatusOr<std::optional<JobUpdate>> plan);
  void WakeAtRetry(const absl::StatusOr<Job>& job);
  // Hands leased jobs back (QUEUED, no attempt used), then runs `then` once all are written.
  void ReleaseLeases(const std::vector<Job>& jobs, std::function<void()> then);

  JobStore& store_;
  QueueStore* queues_ = nullptr;
  Metrics* metrics_ = &NoMetrics();
  Executor& executor_;
  ChangeBatcher& changes_;
  ReadyWaiters& waiters_;
  Clock& clock_;
  const Limits limits_;
  const UnitRandom random_;
  PerKeyLimit long_polls_;  // AcquireJobs calls with a wait, per API key
};

}  // namespace jobd::core
