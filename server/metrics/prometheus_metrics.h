// jobd's metrics in Prometheus' text format (GET /metrics), on prometheus-cpp: what the core
// reports as it happens (core::Metrics), the job counts of every queue as last read by
// background::QueueCounts, gauges read at scrape time, and the process's own figures.
// Workspace and type label values beyond `max_label_values` distinct ones fold into "other",
// so that no caller can grow the series without bound.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "db/model/clock.h"
#include "db/model/queue_store.h"
#include "server/core/metrics.h"

namespace jobd::metrics {

// The first `max` distinct values pass; later ones become "other".
class LabelFolder {
 public:
  explicit LabelFolder(size_t max) : max_(max) {}
  std::string Fold(const std::string& value);

 private:
  const size_t max_;
  std::mutex mu_;
  std::set<std::string> seen_;
};

class PrometheusMetrics final : public core::Metrics {
 public:
  // `clock`: the database's time, for the age of the oldest queued jobs.
  PrometheusMetrics(Clock& clock, size_t max_label_values);

  void RpcFinished(const char* method, absl::StatusCode code, absl::Duration latency) override;
  void JobsLeased(const std::vector<Job>& jobs) override;
  void AttemptEnded(const std::string& type, const char* outcome, absl::Duration ran) override;
  void FencingRefused(const char* method) override;
  void StopDelivered(const char* kind) override;
  void BatchCommitted(const char* batcher, size_t size) override;
  // A call's wait for a database connection (every pool busy).
  void PoolWaited(absl::Duration wait);

  // The latest counts per queue (replaces the previous ones).
  void SetQueueCounts(std::vector<QueueInfo> queues);
  // A gauge read at each scrape, e.g. open streams by kind.
  void AddScrapeGauge(std::string name, std::string help, std::string label_name,
                      std::string label_value, std::function<double()> read);

  // The exposition text.
  std::string Scrape();

 private:
  Clock& clock_;
  LabelFolder workspaces_, types_;
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>& rpcs_;
  prometheus::Family<prometheus::Histogram>& rpc_seconds_;
  prometheus::Family<prometheus::Histogram>& schedule_to_start_;
  prometheus::Family<prometheus::Histogram>& run_seconds_;
  prometheus::Family<prometheus::Counter>& attempts_failed_;
  prometheus::Family<prometheus::Counter>& leases_expired_;
  prometheus::Family<prometheus::Counter>& fencing_refusals_;
  prometheus::Family<prometheus::Counter>& stops_delivered_;
  prometheus::Family<prometheus::Histogram>& batch_sizes_;
  prometheus::Histogram& pool_waits_;

  struct ScrapeGauge {
    std::string name, help, label_name, label_value;
    std::function<double()> read;
  };
  std::mutex mu_;
  std::vector<QueueInfo> queues_;    // guarded by mu_
  std::vector<ScrapeGauge> gauges_;  // guarded by mu_
};

}  // namespace jobd::metrics
