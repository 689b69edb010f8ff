// JobStore on PostgreSQL through libpqxx; statements come from db/queries/*.sql.
#pragma once

#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

#include <pqxx/transaction_base>

#include "db/connection_pool.h"
#include "db/model/job_store.h"
#include "db/model/queue_store.h"

namespace jobd::db {

struct PgJobStoreOptions {
  // Most QUEUED + SCHEDULED + RUNNING jobs per workspace; creates beyond it are refused with
  // RESOURCE_EXHAUSTED. 0: no limit (and no per-workspace lock on creates).
  int64_t max_active_jobs_per_workspace = 0;
};

// Also the QueueStore (db/pg_queue_store.cc): acquiring jobs honours the queues' settings.
class PgJobStore : public JobStore, public QueueStore {
 public:
  explicit PgJobStore(ConnectionPool& pool, PgJobStoreOptions options = {})
      : pool_(pool), options_(options) {}

  absl::StatusOr<std::vector<CreatedJob>> CreateJobs(const std::vector<Job>& jobs) override;
  absl::StatusOr<std::vector<CreatedJob>> CreateJobBatch(const std::vector<Job>& jobs) override;
  absl::StatusOr<ScheduledRun> CreateScheduledJob(const Job& job, const Schedule& schedule_after,
                                                  int64_t expected_version) override;
  absl::StatusOr<Job> GetJob(const std::string& id) override;
  absl::StatusOr<std::vector<Job>> ListJobs(const ListJobsQuery& query) override;
  absl::StatusOr<std::vector<absl::StatusOr<Job>>> UpdateJobs(
      const std::vector<JobChange>& changes) override;
  absl::StatusOr<std::vector<Job>> AcquireJobs(const AcquireQuery& query) override;
  absl::StatusOr<UpdatedAndLeased> UpdateJobsAndAcquire(const std::vector<JobChange>& changes,
                                                        const AcquireQuery& query) override;
  absl::StatusOr<std::vector<std::string>> ListExpiredLeases(int limit) override;
  absl::StatusOr<std::vector<Job>> PromoteScheduledJobs(int limit) override;
  absl::StatusOr<JobStats> GetJobStats(const std::string& workspace_id) override;
  absl::StatusOr<int> DeleteExpiredJobs(int limit) override;
  absl::StatusOr<std::vector<JobEvent>> ListJobEvents(const std::string& job_id,
                                                      int64_t after_sequence,
                                                      int32_t limit) override;
  absl::StatusOr<std::vector<RecordedEvent>> ReadEvents(const std::vector<EventRange>& ranges,
                                                        int32_t limit) override;
  absl::StatusOr<std::vector<Job>> GetJobs(const std::vector<std::string>& ids) override;
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> GetJobSequences(
      const std::vector<std::string>& ids) override;
  // db/pg_bulk_jobs.cc
  absl::StatusOr<std::string> NewestJobId() override;
  absl::StatusOr<std::vector<std::string>> FindJobIds(const JobFilter& filter,
                                                      const std::string& after_id,
                                                      const std::string& max_id,
                                                      int32_t limit) override;
  absl::StatusOr<int64_t> CountJobs(const JobFilter& filter, const std::string& max_id) override;
  absl::StatusOr<std::vector<std::string>> DeleteFinishedJobs(
      const std::string& workspace_id, const std::vector<std::string>& ids,
      const std::vector<JobState>& states) override;
  absl::StatusOr<int> TrimFinishedJobs(int64_t keep_per_workspace, int limit) override;
  // QueueStore (db/pg_queue_store.cc)
  absl::StatusOr<QueueSettings> SetQueuePaused(const std::string& workspace_id,
                                               const std::string& type, bool paused) override;
  absl::StatusOr<QueueSettings> SetQueueLimits(const QueueSettings& limits) override;
  absl::StatusOr<std::vector<QueueInfo>> ListQueues(const std::string& workspace_id,
                                                    int32_t limit) override;
  absl::StatusOr<std::vector<QueueInfo>> CountEveryQueue(int32_t limit) override;
  absl::StatusOr<std::optional<absl::Time>> NextQueueAdmission(
      const std::string& workspace_id, const std::vector<std::string>& types) override;

 private:
  // Active jobs per workspace in one transaction, counted under the workspace's quota lock.
  using ActiveCounts = std::unordered_map<std::string, int64_t>;

  // The refusal of a job beyond its workspace's active-job quota.
  absl::Status QuotaExceeded(const std::string& workspace_id) const;
  // UpdateJobs' work inside `tx` (not committed).
  absl::StatusOr<std::vector<absl::StatusOr<Job>>> UpdateJobsIn(
      pqxx::transaction_base& tx, const std::vector<JobChange>& changes);
  // Leases from the queues without limits, then (when there is room) from the limited ones.
  std::vector<Job> AcquireJobsIn(pqxx::transaction_base& tx, const AcquireQuery& query);
  // One acquire_jobs.sql: the queues without limits, or the limited ones `tx` has locked.
  std::vector<Job> LeaseJobs(pqxx::transaction_base& tx, const AcquireQuery& query,
                             bool limited_queues);
  // Locks the limited queues among query.types (until `tx` ends) and leases from them what
  // their limits allow, up to query.limit - jobs.size(), appended to `jobs`.
  void AcquireLimitedIn(pqxx::transaction_base& tx, const AcquireQuery& query,
                        std::vector<Job>& jobs);
  // Whether the workspace had a limited queue (a list reloaded at most every second).
  bool MayHaveLimitedQueues(pqxx::transaction_base& tx, const std::string& workspace_id);
  // `in_tx`, when given, runs in the transaction before the insert (first) and after it
  // (second, with the results; not when a job was refused); an error it returns rolls back.
  struct InsertHooks {
    std::function<absl::Status(pqxx::transaction_base&)> before;
    std::function<absl::Status(pqxx::transaction_base&, const std::vector<CreatedJob>&)> after;
  };
  absl::StatusOr<std::vector<CreatedJob>> InsertJobs(const std::vector<Job>& jobs,
                                                     bool all_or_nothing,
                                                     const InsertHooks* hooks = nullptr);
  // Locks the workspace's quota (until commit) and counts its active jobs, once per
  // transaction.
  int64_t& LockedActiveCount(pqxx::transaction_base& tx, const std::string& workspace_id,
                             ActiveCounts& active);
  // Counts one more active job of the workspace; false when the quota is full. Always true
  // without a quota.
  bool TakeQuota(pqxx::transaction_base& tx, const std::string& workspace_id, ActiveCounts& active);
  // With a quota: which jobs of the batch it refuses (locks each workspace until commit).
  std::vector<bool> RefuseBeyondQuota(pqxx::transaction_base& tx, const std::vector<Job>& jobs,
                                      const std::vector<size_t>& order);

  ConnectionPool& pool_;
  const PgJobStoreOptions options_;
  struct LimitedWorkspaces {
    std::mutex mu;
    std::set<std::string> workspaces;
    absl::Time loaded = absl::InfinitePast();
  };
  LimitedWorkspaces limited_;
};

}  // namespace jobd::db
