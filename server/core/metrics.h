// What jobd reports for monitoring, as it happens. The core, the api layer and the loops call
// it; server/metrics exports it to Prometheus. The defaults do nothing, so components (and
// their tests) need no exporter.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "db/model/job.h"

namespace jobd::core {

class Metrics {
 public:
  virtual ~Metrics() = default;

  // A unary call answered (any transport).
  virtual void RpcFinished(const char* method, absl::StatusCode code, absl::Duration latency) {}
  // Jobs leased: each one's wait from run_after to its start (the database's times).
  virtual void JobsLeased(const std::vector<Job>& jobs) {}
  // An attempt ended after running `ran`: "succeeded", "failed" (the worker said so or it was
  // handed back) or "lease_expired" (the reaper: a lost worker or a timeout).
  virtual void AttemptEnded(const std::string& type, const char* outcome, absl::Duration ran) {}
  // A worker call refused because its lease is no longer valid (ABORTED: fencing).
  virtual void FencingRefused(const char* method) {}
  // A worker told to stop a job: "cancel" or "pause".
  virtual void StopDelivered(const char* kind) {}
  // A group commit wrote `size` requests in one transaction.
  virtual void BatchCommitted(const char* batcher, size_t size) {}
};

// Does nothing.
Metrics& NoMetrics();

}  // namespace jobd::core
