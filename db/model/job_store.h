// The store's interface, in domain types. Implemented on PostgreSQL by PgJobStore.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "db/model/job.h"
#include "db/model/schedule.h"

namespace jobd {

class JobStore {
 public:
  virtual ~JobStore() = default;

  // Inserts the jobs with their CREATED events in one transaction (group commit). Per job:
  // the inserted job, or the existing one holding its idempotency key (created = false).
  // Fails as a whole (every job unwritten) when the transaction fails.
  virtual absl::StatusOr<std::vector<CreatedJob>> CreateJobs(const std::vector<Job>& jobs) = 0;
  // BatchCreateJobs: as CreateJobs, but all or nothing. When a job is refused (quota) or its
  // idempotency key is held by a job made from another request (request_fingerprint differs,
  // also by an earlier job of the same batch), nothing is written: every result then has
  // created = false, and the first such job's `refused` says why (ALREADY_EXISTS for the key).
  virtual absl::StatusOr<std::vector<CreatedJob>> CreateJobBatch(const std::vector<Job>& jobs) = 0;
  // A schedule's run: `job` as CreateJobBatch would create it, in one transaction with the
  // write of `schedule_after` (its last_job_id set to the job's id), and only while the
  // schedule's version is still `expected_version`: ABORTED otherwise, and nothing is written.
  // A refused job (quota) writes nothing either. `version` is the schedule's after the write.
  struct ScheduledRun {
    CreatedJob created;
    int64_t version = 0;
  };
  virtual absl::StatusOr<ScheduledRun> CreateScheduledJob(const Job& job,
                                                          const Schedule& schedule_after,
                                                          int64_t expected_version) = 0;

  // NOT_FOUND when there is no such job.
  virtual absl::StatusOr<Job> GetJob(const std::string& id) = 0;

  virtual absl::StatusOr<std::vector<Job>> ListJobs(const ListJobsQuery& query) = 0;

  // Decides a change on the locked current row at `now`, the database's time in the
  // transaction that writes it (so leases and deadlines never depend on a replica's clock).
  // Returning std::nullopt writes nothing and returns the job as it is; an error writes
  // nothing and is that change's result.
  using Mutation =
      std::function<absl::StatusOr<std::optional<JobUpdate>>(const Job& current, absl::Time now)>;
  struct JobChange {
    std::string id;
    Mutation mutate;
  };

  // Locks the jobs, applies each change with its events, and commits them in one
  // transaction (group commit). Per change: the job after it, NOT_FOUND when there is no such
  // job, or the mutation's error. Fails as a whole when the transaction fails.
  virtual absl::StatusOr<std::vector<absl::StatusOr<Job>>> UpdateJobs(
      const std::vector<JobChange>& changes) = 0;

  // One change in its own transaction.
  absl::StatusOr<Job> UpdateJob(const std::string& id, const Mutation& mutate) {
    absl::StatusOr<std::vector<absl::StatusOr<Job>>> results = UpdateJobs({{id, mutate}});
    if (!results.ok()) return results.status();
    return std::move((*results)[0]);
  }

  // Leases up to query.limit ready jobs (see db/queries/acquire_jobs.sql), in one statement.
  // Here and below, "now" is the store's (PostgreSQL's) time, never the caller's.
  virtual absl::StatusOr<std::vector<Job>> AcquireJobs(const AcquireQuery& query) = 0;

  struct UpdatedAndLeased {
    std::vector<absl::StatusOr<Job>> updated;  // one per change, as UpdateJobs
    std::vector<Job> leased;                   // as AcquireJobs
  };
  // UpdateJobs, then AcquireJobs, in one transaction (one commit): a worker's finished jobs
  // and its next leases. Fails as a whole (nothing written).
  virtual absl::StatusOr<UpdatedAndLeased> UpdateJobsAndAcquire(
      const std::vector<JobChange>& changes, const AcquireQuery& query) = 0;

  // Ids of RUNNING jobs whose lease expired at or before now (a hint: callers re-check
  // under UpdateJob's lock).
  virtual absl::StatusOr<std::vector<std::string>> ListExpiredLeases(int limit) = 0;

  // SCHEDULED jobs whose run_after has passed become QUEUED; returns them.
  virtual absl::StatusOr<std::vector<Job>> PromoteScheduledJobs(int limit) = 0;

  virtual absl::StatusOr<JobStats> GetJobStats(const std::string& workspace_id) = 0;

  // Deletes up to `limit` jobs whose expire_time <= now, with their events; returns how many.
  virtual absl::StatusOr<int> DeleteExpiredJobs(int limit) = 0;

  // The events in the ranges, oldest first per job (jobs in id order), at most `limit`.
  virtual absl::StatusOr<std::vector<RecordedEvent>> ReadEvents(
      const std::vector<EventRange>& ranges, int32_t limit) = 0;

  // The jobs among `ids` that exist, in no particular order.
  virtual absl::StatusOr<std::vector<Job>> GetJobs(const std::vector<std::string>& ids) = 0;

  // (id, latest event sequence) of the jobs among `ids` that exist.
  virtual absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> GetJobSequences(
      const std::vector<std::string>& ids) = 0;

  // Bulk operations. The newest job's id ("" when there is none): a bulk operation leaves
  // alone the jobs created after it began (ids are time-ordered).
  virtual absl::StatusOr<std::string> NewestJobId() = 0;
  // Ids of the jobs matching `filter` with after_id < id <= max_id, in id order, at most
  // `limit`.
  virtual absl::StatusOr<std::vector<std::string>> FindJobIds(const JobFilter& filter,
                                                              const std::string& after_id,
                                                              const std::string& max_id,
                                                              int32_t limit) = 0;
  // How many jobs match `filter` with id <= max_id.
  virtual absl::StatusOr<int64_t> CountJobs(const JobFilter& filter, const std::string& max_id) = 0;
  // Deletes the finished jobs among `ids` (of `workspace_id`) that are in one of `states`,
  // with their events, in one transaction; returns the ids deleted.
  virtual absl::StatusOr<std::vector<std::string>> DeleteFinishedJobs(
      const std::string& workspace_id, const std::vector<std::string>& ids,
      const std::vector<JobState>& states) = 0;
  // Retention by count: deletes the oldest finished jobs (by finish time) of workspaces with
  // more than `keep_per_workspace`, at most `limit`; returns how many.
  virtual absl::StatusOr<int> TrimFinishedJobs(int64_t keep_per_workspace, int limit) = 0;

  // Events with sequence > after_sequence, oldest first, at most `limit`.
  virtual absl::StatusOr<std::vector<JobEvent>> ListJobEvents(const std::string& job_id,
                                                              int64_t after_sequence,
                                                              int32_t limit) = 0;
};

}  // namespace jobd
