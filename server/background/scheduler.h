// Every replica's schedule loop: fires the runs that are due, then sleeps until the soonest
// next one (at most --schedule_poll_interval, so schedules made on other replicas are seen).
// Replicas firing the same run make one job (server/core/schedule_manager.h).
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/time/time.h"
#include "server/core/schedule_manager.h"

namespace jobd::background {

class Scheduler {
 public:
  Scheduler(core::ScheduleManager& schedules, absl::Duration max_sleep)
      : schedules_(schedules), max_sleep_(max_sleep) {}
  ~Scheduler() { Stop(); }
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  void Start();
  void Stop();
  // A schedule changed here: look again now instead of at the end of the sleep.
  void Wake();
  // One pass: the jobs it made, -1 when it failed.
  int RunOnce();

 private:
  core::ScheduleManager& schedules_;
  const absl::Duration max_sleep_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace jobd::background
