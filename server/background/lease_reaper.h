// Fails attempts whose lease expired (the worker was lost) or whose timeout passed, and lets
// the retry policy decide what follows. Safe with several replicas: each job is re-checked
// under its row lock, so a job is reaped once. Expiry is judged on the database's clock.
#pragma once

#include "db/model/job_store.h"
#include "server/background/periodic.h"
#include "server/core/job_manager.h"
#include "server/core/metrics.h"
#include "server/core/worker_rules.h"

namespace jobd::background {

class LeaseReaper {
 public:
  LeaseReaper(JobStore& store, absl::Duration interval,
              core::UnitRandom random = core::DefaultUnitRandom());
  void Start() { loop_.Start(); }
  void Stop() { loop_.Stop(); }
  // One pass; returns how many attempts it failed.
  int RunOnce();
  void SetMetrics(core::Metrics* metrics) { metrics_ = metrics; }

 private:
  JobStore& store_;
  const core::UnitRandom random_;
  core::Metrics* metrics_ = &core::NoMetrics();
  Periodic loop_;
};

}  // namespace jobd::background
