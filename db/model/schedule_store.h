// Where schedules and job templates are kept. Implemented on PostgreSQL by db/, in memory by
// the tests' fake.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "db/model/schedule.h"

namespace jobd {

// Schedules due now, with the database's time they were read at (every decision about them
// is taken on that clock).
struct DueSchedules {
  absl::Time now;
  std::vector<Schedule> schedules;
};

class ScheduleStore {
 public:
  virtual ~ScheduleStore() = default;

  // ALREADY_EXISTS when the workspace has a schedule of that name.
  virtual absl::StatusOr<Schedule> InsertSchedule(const Schedule& schedule) = 0;
  virtual absl::StatusOr<Schedule> GetSchedule(const std::string& id) = 0;
  // By name, after `after_name` (empty: from the first).
  virtual absl::StatusOr<std::vector<Schedule>> ListSchedules(const std::string& workspace_id,
                                                              const std::string& after_name,
                                                              int limit) = 0;
  // Locks the row, passes it and the database's now to `change`, and writes what it leaves
  // when it returns OK (nothing otherwise: its status is returned). `change` runs inside the
  // transaction: it must not block on anything else. ALREADY_EXISTS for a taken name.
  using ScheduleChange = std::function<absl::Status(Schedule& schedule, absl::Time now)>;
  virtual absl::StatusOr<Schedule> UpdateSchedule(const std::string& id,
                                                  const ScheduleChange& change) = 0;
  virtual absl::Status DeleteSchedule(const std::string& id) = 0;
  // Unpaused schedules whose next_fire_time has come, soonest first.
  virtual absl::StatusOr<DueSchedules> SchedulesDueNow(int limit) = 0;
  // How long until the soonest unpaused schedule is due (zero when one is; none when no
  // schedule has a next run), on the database's clock.
  virtual absl::StatusOr<std::optional<absl::Duration>> TimeToNextFire() = 0;

  // ALREADY_EXISTS when the name is taken in that workspace (or among shared templates).
  virtual absl::StatusOr<JobTemplate> InsertTemplate(const JobTemplate& job_template) = 0;
  virtual absl::StatusOr<JobTemplate> GetTemplate(const std::string& id) = 0;
  // The workspace's template of that name, else the shared one; NOT_FOUND when neither.
  virtual absl::StatusOr<JobTemplate> FindTemplate(const std::string& workspace_id,
                                                   const std::string& name) = 0;
  // A workspace's templates and the shared ones ("" lists only the shared), by name.
  virtual absl::StatusOr<std::vector<JobTemplate>> ListTemplates(const std::string& workspace_id,
                                                                 const std::string& after_name,
                                                                 int limit) = 0;
  using TemplateChange = std::function<absl::Status(JobTemplate& job_template, absl::Time now)>;
  virtual absl::StatusOr<JobTemplate> UpdateTemplate(const std::string& id,
                                                     const TemplateChange& change) = 0;
  virtual absl::Status DeleteTemplate(const std::string& id) = 0;
};

}  // namespace jobd
