// Deletes finished jobs (and their events) once their expire_time (finish + ttl) has passed,
// and (keep_per_workspace > 0) the oldest finished jobs of workspaces with more than that.
#pragma once

#include "absl/time/time.h"
#include "db/model/job_store.h"
#include "server/background/periodic.h"
#include "server/core/job_manager.h"

namespace jobd::background {

class Retention {
 public:
  Retention(JobStore& store, absl::Duration interval, int batch_size = 1000,
            int64_t keep_per_workspace = 0);
  void Start() { loop_.Start(); }
  void Stop() { loop_.Stop(); }
  // One pass: deletes in batches until none is left; returns how many were deleted.
  int RunOnce();

 private:
  JobStore& store_;
  const int64_t keep_per_workspace_;
  const int batch_size_;
  Periodic loop_;
};

}  // namespace jobd::background
