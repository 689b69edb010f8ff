// One jobd server: owns every component, declared in start order so that destruction stops
// them in reverse (loops first, then the gRPC server, the managers, the batchers, the
// executors, the event feed and the pool). No globals: a process may host several servers
// (tests run two on one database).
#pragma once

#include <memory>
#include <optional>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "db/connection_pool.h"
#include "db/pg_api_key_store.h"
#include "db/pg_job_store.h"
#include "db/pg_schedule_store.h"
#include "server/api/admission.h"
#include "server/api/grpc_services.h"
#include "server/api/unary_methods.h"
#include "server/background/database_health.h"
#include "server/background/key_sync.h"
#include "server/background/lease_reaper.h"
#include "server/background/notify_bridge.h"
#include "server/background/promoter.h"
#include "server/background/queue_counts.h"
#include "server/background/retention.h"
#include "server/background/scheduler.h"
#include "server/config.h"
#include "server/core/api_key_manager.h"
#include "server/core/authorizer.h"
#include "server/core/batchers.h"
#include "server/core/call_gate.h"
#include "server/core/event_bus.h"
#include "server/core/event_fetcher.h"
#include "server/core/executor.h"
#include "server/core/job_manager.h"
#include "server/core/key_registry.h"
#include "server/core/publishing_job_store.h"
#include "server/core/queue_manager.h"
#include "server/core/rate_limiter.h"
#include "server/core/ready_waiters.h"
#include "server/core/schedule_manager.h"
#include "server/core/streams_by_key.h"
#include "server/core/template_manager.h"
#include "server/core/worker_manager.h"
#include "server/http/gateway.h"
#include "server/http/http_server.h"
#include "server/metrics/prometheus_metrics.h"

namespace jobd {

class Server {
 public:
  // Checks the schema (waiting up to config.startup_timeout for the database), loads the API
  // keys, listens and starts the background loops: the server serves when this returns.
  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerConfig& config);
  ~Server();  // Stop(), then every component in reverse start order
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The bound gRPC port (config.listen may ask for port 0).
  int port() const { return port_; }
  // The bound HTTP port; 0 when HTTP is off.
  int http_port() const { return http_port_; }

  // Graceful stop, idempotent: health turns NOT_SERVING, new calls are refused
  // (UNAVAILABLE), long polls answer with no jobs, watch streams end UNAVAILABLE, calls in
  // flight get config.shutdown_grace to finish, then gRPC shuts down.
  void Stop();

 private:
  explicit Server(const ServerConfig& config);
  absl::Status Listen();
  void JobReady(const Job& job);

  const ServerConfig config_;
  // Before the pools and batchers, which report to it.
  metrics::PrometheusMetrics metrics_;
  // Storage and identity.
  db::ConnectionPool pool_;
  db::PgJobStore pg_store_;
  db::PgApiKeyStore key_store_;
  db::PgScheduleStore schedule_store_;
  // Background work on connections of its own, so that requests holding every connection
  // never delay a revocation or a lease expiry: the reaper, promoter and retention share a
  // small pool; key sync has one connection, which no slow job statement can hold.
  db::ConnectionPool background_pool_;
  db::PgJobStore background_pg_store_;
  db::ConnectionPool key_sync_pool_;
  db::PgApiKeyStore key_sync_store_;
  // The database's time, kept by the health probe: what "now" means for creates and keys.
  // Leases, deadlines, due jobs and retention are decided inside SQL on now().
  DatabaseClock clock_;
  background::ClockSkewWatch clock_watch_{clock_};
  core::KeyRegistry key_registry_;
  // Page tokens: the flag's key, or the database's keys (kept current by key_sync_).
  std::shared_ptr<core::PageTokenKeyring> page_token_keys_;
  // A revoked key's watch streams end at once; a key has at most its share open.
  core::StreamsByKey streams_by_key_;
  core::ApiKeyManager key_manager_;
  core::Authorizer authorizer_;
  core::CallGate calls_;
  api::Admission admission_;
  // The HTTP listener's I/O context outlives the executors and committers below, so that an
  // answer finished during the stop goes to a stopped context, not a destroyed one.
  http::HttpServer http_server_;
  // Events: written with their changes, published by store_, announced to other processes
  // by the bridge, fetched from them by the fetcher (docs/EVENTS.md).
  core::EventBus bus_;
  core::ReadyWaiters waiters_;
  core::EventFetcher fetcher_;
  background::NotifyBridge notify_bridge_;
  core::PublishingJobStore store_;
  core::PublishingJobStore background_store_;  // the same events, from the background pool
  // Threads for blocking work: watch reads apart from unary calls, so neither queues behind
  // the other.
  core::Executor watch_executor_;
  core::Executor executor_;
  core::ChangeBatcher changes_;
  core::CreateBatcher creates_;
  std::optional<core::RateLimiter> create_rate_;
  core::JobManager jobs_;
  core::WorkerManager workers_;
  core::TemplateManager templates_;
  core::ScheduleManager schedules_;
  core::QueueManager queues_;
  // One handler per RPC, reached by gRPC directly and by HTTP through the method table.
  api::JobHandlers job_handlers_;
  api::WorkerHandlers worker_handlers_;
  api::AdminHandlers admin_handlers_;
  api::ScheduleHandlers schedule_handlers_;
  api::TemplateHandlers template_handlers_;
  api::QueueHandlers queue_handlers_;
  api::UnaryMethods unary_methods_;
  api::JobServiceImpl job_service_;
  api::WorkerServiceImpl worker_service_;
  api::AdminServiceImpl admin_service_;
  api::ScheduleServiceImpl schedule_service_;
  api::TemplateServiceImpl template_service_;
  api::QueueServiceImpl queue_service_;
  std::unique_ptr<grpc::Server> grpc_server_;
  int port_ = 0;
  http::Gateway gateway_;
  int http_port_ = 0;
  // Loops, started last.
  std::optional<background::DatabaseHealth> database_health_;
  background::Retention retention_;
  background::LeaseReaper reaper_;
  background::Promoter promoter_;
  background::Scheduler scheduler_;
  background::QueueCounts queue_counts_;
  background::KeySync key_sync_;
  bool stopped_ = false;
};

}  // namespace jobd
