// ScheduleStore on PostgreSQL (db/queries/*schedule*.sql, *template*.sql).
#pragma once

#include "db/connection_pool.h"
#include "db/model/schedule_store.h"

namespace jobd::db {

class PgScheduleStore : public ScheduleStore {
 public:
  explicit PgScheduleStore(ConnectionPool& pool) : pool_(pool) {}

  absl::StatusOr<Schedule> InsertSchedule(const Schedule& schedule) override;
  absl::StatusOr<Schedule> GetSchedule(const std::string& id) override;
  absl::StatusOr<std::vector<Schedule>> ListSchedules(const std::string& workspace_id,
                                                      const std::string& after_name,
                                                      int limit) override;
  absl::StatusOr<Schedule> UpdateSchedule(const std::string& id,
                                          const ScheduleChange& change) override;
  absl::Status DeleteSchedule(const std::string& id) override;
  absl::StatusOr<DueSchedules> SchedulesDueNow(int limit) override;
  absl::StatusOr<std::optional<absl::Duration>> TimeToNextFire() override;

  absl::StatusOr<JobTemplate> InsertTemplate(const JobTemplate& job_template) override;
  absl::StatusOr<JobTemplate> GetTemplate(const std::string& id) override;
  absl::StatusOr<JobTemplate> FindTemplate(const std::string& workspace_id,
                                           const std::string& name) override;
  absl::StatusOr<std::vector<JobTemplate>> ListTemplates(const std::string& workspace_id,
                                                         const std::string& after_name,
                                                         int limit) override;
  absl::StatusOr<JobTemplate> UpdateTemplate(const std::string& id,
                                             const TemplateChange& change) override;
  absl::Status DeleteTemplate(const std::string& id) override;

 private:
  ConnectionPool& pool_;
};

}  // namespace jobd::db
