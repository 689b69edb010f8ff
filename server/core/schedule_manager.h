// The ScheduleService use cases, and the firing of due runs that every replica's scheduler
// loop calls (server/background/scheduler.h).
//
// A run for nominal time T creates its job with the idempotency key
// "jobd/schedule/<id>/<T>", then advances the schedule only if no other replica advanced it
// meanwhile: replicas firing the same run at once make one job. The decisions (what is due,
// the catch-up window) are taken on the database's clock.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "db/model/clock.h"
#include "db/model/schedule_store.h"
#include "server/core/job_manager.h"
#include "server/core/template_manager.h"

namespace jobd::core {

struct SchedulePage {
  std::vector<Schedule> schedules;
  std::string next_page_token;
};

// The labels every run's job carries.
inline constexpr char kScheduleLabel[] = "jobd/schedule";
inline constexpr char kScheduledTimeLabel[] = "jobd/scheduled-time";

class ScheduleManager {
 public:
  ScheduleManager(ScheduleStore& store, JobManager& jobs, TemplateManager& templates, Clock& clock,
                  Limits limits, PageTokenCodec page_tokens);

  absl::StatusOr<Schedule> Create(const Principal& caller, Schedule schedule);
  absl::StatusOr<Schedule> Get(const Principal& caller, const std::string& id);
  absl::StatusOr<SchedulePage> List(const Principal& caller, const std::string& workspace_id,
                                    int32_t page_size, const std::string& page_token);
  // Replaces the fields named in `mask`: name, spec, job, overlap_policy, catchup_window.
  absl::StatusOr<Schedule> Update(const Principal& caller, const Schedule& schedule,
                                  const std::vector<std::string>& mask);
  absl::Status Delete(const Principal& caller, const std::string& id);
  absl::StatusOr<Schedule> Pause(const Principal& caller, const std::string& id,
                                 const std::string& note);
  // Runs due while paused are not made up: the next run is the first after now.
  absl::StatusOr<Schedule> Resume(const Principal& caller, const std::string& id);
  // One run now (nominal time: now), whatever the overlap policy.
  absl::StatusOr<Job> Trigger(const Principal& caller, const std::string& id);
  // A job for every nominal time in [start, end], at most 1,000, all or none; a time already
  // run (or backfilled) gives its existing job.
  absl::StatusOr<std::vector<Job>> Backfill(const Principal& caller, const std::string& id,
                                            absl::Time start, absl::Time end);

  // The next `n` nominal times (none while paused or past the end).
  std::vector<absl::Time> NextRunTimes(const Schedule& schedule, int n) const;

  // Fires the runs due now, at most `limit` schedules; how many jobs it made.
  absl::StatusOr<int> FireDue(int limit);
  // How long the scheduler may sleep: until the soonest due run, at most `cap`.
  absl::Duration TimeToNextFire(absl::Duration cap);
  // Called after a schedule was made, changed or resumed here (the scheduler looks again).
  void SetChangeListener(std::function<void()> changed) { changed_ = std::move(changed); }

 private:
  absl::Status Check(Schedule& schedule, absl::Time now);
  absl::StatusOr<Schedule> Visible(const Principal& caller, const std::string& id);
  // A run's create: the preset, its template, the labels and the run's idempotency key.
  CreateJobCommand RunCommand(const Schedule& schedule, absl::Time nominal,
                              const std::string& key) const;
  absl::StatusOr<int> FireOne(const Schedule& schedule, absl::Time now);

  ScheduleStore& store_;
  JobManager& jobs_;
  TemplateManager& templates_;
  Clock& clock_;
  const Limits limits_;
  const PageTokenCodec page_tokens_;
  std::function<void()> changed_ = [] {};
};

}  // namespace jobd::core
