// JobStore on PostgreSQL through libpqxx; statements come from db/queries/*.sql.
#pragma once

#include "db/connection_pool.h"
#include "db/job_store.h"

namespace jobd::db {

class PgJobStore : public JobStore {
 public:
  explicit PgJobStore(ConnectionPool& pool) : pool_(pool) {}

  absl::StatusOr<std::vector<CreatedJob>> CreateJobs(const std::vector<Job>& jobs) override;
  absl::StatusOr<Job> GetJob(const std::string& id) override;
  absl::StatusOr<std::vector<Job>> ListJobs(const ListJobsQuery& query) override;
  absl::StatusOr<std::vector<absl::StatusOr<Job>>> UpdateJobs(
      const std::vector<JobChange>& changes) override;
  absl::StatusOr<std::vector<Job>> AcquireJobs(const AcquireQuery& query) override;
  absl::StatusOr<std::vector<std::string>> ListExpiredLeases(absl::Time now, int limit) override;
  absl::StatusOr<std::vector<Job>> PromoteScheduledJobs(absl::Time now, int limit) override;
  absl::StatusOr<JobStats> GetJobStats(const std::string& workspace_id) override;
  absl::StatusOr<int> DeleteExpiredJobs(absl::Time now, int limit) override;
  absl::StatusOr<std::vector<JobEvent>> ListJobEvents(const std::string& job_id,
                                                      int64_t after_sequence,
                                                      int32_t limit) override;
  absl::StatusOr<std::vector<RecordedEvent>> ReadEvents(const std::vector<EventRange>& ranges,
                                                        int32_t limit) override;
  absl::StatusOr<std::vector<Job>> GetJobs(const std::vector<std::string>& ids) override;
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> GetJobSequences(
      const std::vector<std::string>& ids) override;

 private:
  ConnectionPool& pool_;
};

}  // namespace jobd::db
