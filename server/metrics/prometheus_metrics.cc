#include "server/metrics/prometheus_metrics.h"

#include <map>
#include <tuple>

#include <prometheus/text_serializer.h>

#include "absl/strings/ascii.h"
#include "server/metrics/process_metrics.h"

namespace jobd::metrics {
namespace {

using prometheus::Histogram;

Histogram::BucketBoundaries LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

Histogram::BucketBoundaries WaitBuckets() {
  return {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600};
}

prometheus::MetricFamily Family(std::string name, std::string help, prometheus::MetricType type) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

prometheus::ClientMetric Gauge(std::vector<prometheus::ClientMetric::Label> labels, double value) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  metric.gauge.value = value;
  return metric;
}

}  // namespace

std::string LabelFolder::Fold(const std::string& value) {
  std::lock_guard<std::mutex> lock(mu_);
  if (seen_.count(value) > 0) return value;
  if (seen_.size() >= max_) return "other";
  seen_.insert(value);
  return value;
}

PrometheusMetrics::PrometheusMetrics(Clock& clock, size_t max_label_values)
    : clock_(clock),
      workspaces_(max_label_values),
      types_(max_label_values),
      rpcs_(prometheus::BuildCounter()
                .Name("jobd_rpc_requests_total")
                .Help("Unary calls answered, by method and status code (gRPC and HTTP)")
                .Register(*registry_)),
      rpc_seconds_(prometheus::BuildHistogram()
                       .Name("jobd_rpc_duration_seconds")
                       .Help("Time from a unary call's arrival to its answer, by method")
                       .Register(*registry_)),
      schedule_to_start_(prometheus::BuildHistogram()
                             .Name("jobd_job_schedule_to_start_seconds")
                             .Help("Wait from a job's run_after to its lease, by type")
                             .Register(*registry_)),
      run_seconds_(prometheus::BuildHistogram()
                       .Name("jobd_job_run_duration_seconds")
                       .Help("Run time of attempts, by type and outcome (succeeded, failed, "
                             "lease_expired)")
                       .Register(*registry_)),
      attempts_failed_(prometheus::BuildCounter()
                           .Name("jobd_attempts_failed_total")
                           .Help("Attempts that failed (by the worker or the reaper), by type")
                           .Register(*registry_)),
      leases_expired_(prometheus::BuildCounter()
                          .Name("jobd_leases_expired_total")
                          .Help("Attempts the reaper failed: lease lost or timed out, by type")
                          .Register(*registry_)),
      fencing_refusals_(prometheus::BuildCounter()
                            .Name("jobd_fencing_refusals_total")
                            .Help("Worker calls refused (ABORTED) for a lease no longer valid")
                            .Register(*registry_)),
      stops_delivered_(prometheus::BuildCounter()
                           .Name("jobd_stops_delivered_total")
                           .Help("Workers told to stop a job, by kind (cancel, pause)")
                           .Register(*registry_)),
      batch_sizes_(prometheus::BuildHistogram()
                       .Name("jobd_group_commit_batch_size")
                       .Help("Requests written per group-commit transaction, by batcher")
                       .Register(*registry_)),
      pool_waits_(prometheus::BuildHistogram()
                      .Name("jobd_db_pool_wait_seconds")
                      .Help("Waits for a database connection while every one was busy")
                      .Register(*registry_)
                      .Add({}, LatencyBuckets())) {}

void PrometheusMetrics::RpcFinished(const char* method, absl::StatusCode code,
                                    absl::Duration latency) {
  rpcs_.Add({{"method", method}, {"code", absl::StatusCodeToString(code)}}).Increment();
  rpc_seconds_.Add({{"method", method}}, LatencyBuckets()).Observe(absl::ToDoubleSeconds(latency));
}

void PrometheusMetrics::JobsLeased(const std::vector<Job>& jobs) {
  for (const Job& job : jobs) {
    if (!job.start_time) continue;
    schedule_to_start_.Add({{"type", types_.Fold(job.type)}}, WaitBuckets())
        .Observe(std::max(0.0, absl::ToDoubleSeconds(*job.start_time - job.run_after)));
  }
}

void PrometheusMetrics::AttemptEnded(const std::string& type, const char* outcome,
                                     absl::Duration ran) {
  const std::string folded = types_.Fold(type);
  run_seconds_.Add({{"type", folded}, {"outcome", outcome}}, WaitBuckets())
      .Observe(std::max(0.0, absl::ToDoubleSeconds(ran)));
  const std::string what = outcome;
  if (what != "succeeded") attempts_failed_.Add({{"type", folded}}).Increment();
  if (what == "lease_expired") leases_expired_.Add({{"type", folded}}).Increment();
}

void PrometheusMetrics::FencingRefused(const char* method) {
  fencing_refusals_.Add({{"method", method}}).Increment();
}

void PrometheusMetrics::StopDelivered(const char* kind) {
  stops_delivered_.Add({{"kind", kind}}).Increment();
}

void PrometheusMetrics::BatchCommitted(const char* batcher, size_t size) {
  batch_sizes_
      .Add({{"batcher", batcher}},
           Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256, 512})
      .Observe(static_cast<double>(size));
}

void PrometheusMetrics::PoolWaited(absl::Duration wait) {
  pool_waits_.Observe(absl::ToDoubleSeconds(wait));
}

void PrometheusMetrics::SetQueueCounts(std::vector<QueueInfo> queues) {
  std::lock_guard<std::mutex> lock(mu_);
  queues_ = std::move(queues);
}

void PrometheusMetrics::AddScrapeGauge(std::string name, std::string help, std::string label_name,
                                       std::string label_value, std::function<double()> read) {
  std::lock_guard<std::mutex> lock(mu_);
  gauges_.push_back({std::move(name), std::move(help), std::move(label_name),
                     std::move(label_value), std::move(read)});
}

std::string PrometheusMetrics::Scrape() {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  const absl::Time now = clock_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  // Counts by (workspace, type, state) and ages by (workspace, type), folded.
  std::map<std::tuple<std::string, std::string, std::string>, int64_t> counts;
  std::map<std::pair<std::string, std::string>, absl::Time> oldest;
  for (const QueueInfo& queue : queues_) {
    const std::string workspace = workspaces_.Fold(queue.settings.workspace_id);
    const std::string type = types_.Fold(queue.settings.type);
    for (const auto& [state, count] : queue.counts) {
      counts[{workspace, type, StateName(state)}] += count;
    }
    if (queue.oldest_queued_since) {
      auto [it, inserted] =
          oldest.emplace(std::make_pair(workspace, type), *queue.oldest_queued_since);
      if (!inserted) it->second = std::min(it->second, *queue.oldest_queued_since);
    }
  }
  prometheus::MetricFamily jobs = Family(
      "jobd_jobs", "Jobs by workspace, type and state (read every --metrics_refresh_interval)",
      prometheus::MetricType::Gauge);
  for (const auto& [key, count] : counts) {
    const auto& [workspace, type, state] = key;
    jobs.metric.push_back(Gauge({{"workspace", workspace}, {"type", type}, {"state", state}},
                                static_cast<double>(count)));
  }
  families.push_back(std::move(jobs));
  prometheus::MetricFamily ages =
      Family("jobd_queue_oldest_queued_age_seconds",
             "Wait of the longest-waiting QUEUED job, by queue", prometheus::MetricType::Gauge);
  for (const auto& [key, since] : oldest) {
    ages.metric.push_back(Gauge({{"workspace", key.first}, {"type", key.second}},
                                std::max(0.0, absl::ToDoubleSeconds(now - since))));
  }
  families.push_back(std::move(ages));
  std::map<std::string, prometheus::MetricFamily> read_now;
  for (const ScrapeGauge& gauge : gauges_) {
    auto [it, inserted] =
        read_now.emplace(gauge.name, Family(gauge.name, gauge.help, prometheus::MetricType::Gauge));
    it->second.metric.push_back(Gauge({{gauge.label_name, gauge.label_value}}, gauge.read()));
  }
  for (auto& [name, family] : read_now) families.push_back(std::move(family));
  for (prometheus::MetricFamily& family : ProcessFamilies()) families.push_back(std::move(family));
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace jobd::metrics
