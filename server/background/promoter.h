// SCHEDULED jobs whose run_after has passed become QUEUED (with their event), and waiting
// workers are woken. AcquireJobs also takes such jobs directly, so this keeps states and
// wake-ups timely rather than being what makes jobs run.
#pragma once

#include <functional>

#include "db/model/job_store.h"
#include "server/background/periodic.h"
#include "server/core/job_manager.h"

namespace jobd::background {

class Promoter {
 public:
  Promoter(JobStore& store, absl::Duration interval, std::function<void(const Job&)> job_ready);
  void Start() { loop_.Start(); }
  void Stop() { loop_.Stop(); }
  int RunOnce();

 private:
  JobStore& store_;
  const std::function<void(const Job&)> job_ready_;
  Periodic loop_;
};

}  // namespace jobd::background
