#include "server/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>

#include "db/migrator.h"
#include "server/core/ids.h"
#include "server/core/log.h"
#include "server/tls.h"

namespace jobd {
namespace {

db::DatabaseConfig DatabaseWithPool(const ServerConfig& config, int pool_size) {
  db::DatabaseConfig database = config.database;
  database.pool_size = pool_size;
  return database;
}

// The database's settings with the pool's waits told to the metrics.
db::DatabaseConfig Observed(db::DatabaseConfig database, metrics::PrometheusMetrics& metrics) {
  database.on_pool_wait = [&metrics](absl::Duration wait) { metrics.PoolWaited(wait); };
  return database;
}

core::GroupCommitOptions Observed(core::GroupCommitOptions options, const char* batcher,
                                  metrics::PrometheusMetrics& metrics) {
  options.on_batch = [&metrics, batcher](size_t size) { metrics.BatchCommitted(batcher, size); };
  return options;
}

db::PgJobStoreOptions StoreOptions(const ServerConfig& config) {
  db::PgJobStoreOptions options;
  options.max_active_jobs_per_workspace = config.quotas.max_active_jobs_per_workspace;
  return options;
}

http::HttpServerOptions HttpOptionsOf(const ServerConfig& config) {
  http::HttpServerOptions options;
  options.listen = config.http.listen;
  options.threads = config.http.threads;
  options.tls_cert_file = config.tls.cert_file;
  options.tls_key_file = config.tls.key_file;
  options.tls_client_ca_file = config.tls.client_ca_file;
  options.max_body_bytes = static_cast<uint64_t>(config.max_request_bytes);
  options.sse_heartbeat = config.http.sse_heartbeat;
  options.read_timeout = config.http.read_timeout;
  options.max_connections = config.bounds.http_max_connections;
  return options;
}

core::WatchOptions WatchOptionsOf(const ServerConfig& config) {
  core::WatchOptions options;
  options.buffer_events = static_cast<size_t>(config.watch_buffer_events);
  options.max_tracked_jobs = config.bounds.watch_max_jobs;
  return options;
}

}  // namespace

Server::Server(const ServerConfig& config)
    : config_(config),
      metrics_(clock_, static_cast<size_t>(config_.metrics.max_label_values)),
      pool_(Observed(config_.database, metrics_)),
      pg_store_(pool_, StoreOptions(config_)),
      key_store_(pool_),
      schedule_store_(pool_),
      background_pool_(Observed(DatabaseWithPool(config_, config_.background_pool_size), metrics_)),
      background_pg_store_(background_pool_, StoreOptions(config_)),
      key_sync_pool_(DatabaseWithPool(config_, 1)),
      key_sync_store_(key_sync_pool_),
      page_token_keys_(std::make_shared<core::PageTokenKeyring>(std::vector<std::string>{
          // Until key_sync_ reads the database's keys (before the first call): unusable.
          config_.page_token_key.empty() ? core::NewRandomUuid() : config_.page_token_key})),
      streams_by_key_(config_.bounds.max_streams_per_key),
      key_manager_(key_store_, &key_registry_, clock_, config_.limits,
                   core::PageTokenCodec(page_token_keys_)),
      authorizer_(key_registry_, clock_),
      admission_(authorizer_, calls_),
      http_server_(HttpOptionsOf(config_)),
      waiters_(clock_, config_.acquire_poll_interval),
      fetcher_(pg_store_, bus_, config_.event_poll_interval),
      notify_bridge_(config_.database, waiters_, bus_, fetcher_, config_.notify_min_gap),
      store_(pg_store_, bus_,
             [this](const std::vector<EventRange>& ranges) { notify_bridge_.MarkEvents(ranges); }),
      background_store_(
          background_pg_store_, bus_,
          [this](const std::vector<EventRange>& ranges) { notify_bridge_.MarkEvents(ranges); }),
      watch_executor_(config_.watch_threads, /*max_queued=*/1000000),
      executor_(config_.rpc_threads, /*max_queued=*/10000),
      changes_(core::CommitChanges(store_), Observed(config_.change_batcher, "change", metrics_),
               core::ChangeKey),
      creates_(core::CommitCreates(store_), Observed(config_.create_batcher, "create", metrics_)),
      jobs_(store_, creates_, clock_, config_.limits, core::PageTokenCodec(page_token_keys_)),
      workers_(store_, executor_, changes_, waiters_, clock_, config_.limits),
      templates_(schedule_store_, clock_, config_.limits, core::PageTokenCodec(page_token_keys_)),
      schedules_(schedule_store_, jobs_, templates_, clock_, config_.limits,
                 core::PageTokenCodec(page_token_keys_)),
      queues_(pg_store_, config_.limits),
      job_handlers_(jobs_, executor_),
      worker_handlers_(workers_),
      admin_handlers_(key_manager_, executor_),
      schedule_handlers_(schedules_, executor_, clock_),
      template_handlers_(templates_, executor_),
      queue_handlers_(queues_, executor_, clock_),
      unary_methods_(job_handlers_, worker_handlers_, admin_handlers_, schedule_handlers_,
                     template_handlers_, queue_handlers_),
      job_service_(admission_, job_handlers_,
                   core::WatchDeps{config_.limits, store_, bus_, watch_executor_,
                                   WatchOptionsOf(config_), &streams_by_key_, &clock_}),
      worker_service_(admission_, worker_handlers_),
      admin_service_(admission_, admin_handlers_),
      schedule_service_(admission_, schedule_handlers_),
      template_service_(admission_, template_handlers_),
      queue_service_(admission_, queue_handlers_),
      gateway_(admission_, unary_methods_,
               core::WatchDeps{config_.limits, store_, bus_, watch_executor_,
                               WatchOptionsOf(config_), &streams_by_key_, &clock_},
               config_.http.cors_origins),
      retention_(background_store_, config_.retention_interval, /*batch_size=*/1000,
                 config_.retain_finished_per_workspace),
      reaper_(background_store_, config_.reaper_interval),
      promoter_(background_store_, config_.promote_interval,
                [this](const Job& job) { JobReady(job); }),
      scheduler_(schedules_, config_.schedule_poll_interval),
      queue_counts_(
          background_pg_store_, config_.metrics.refresh_interval,
          [this](std::vector<QueueInfo> queues) { metrics_.SetQueueCounts(std::move(queues)); }),
      key_sync_(key_sync_store_, key_registry_, clock_, config_.key_refresh_interval,
                config_.page_token_key.empty() ? page_token_keys_.get() : nullptr) {
  key_registry_.SetRevocationListener(
      [this](const std::string& key_id) { streams_by_key_.Revoked(key_id); });
  if (config_.quotas.create_rate_per_key > 0) {
    create_rate_.emplace(config_.quotas.create_rate_per_key, config_.quotas.create_burst_per_key);
    jobs_.SetCreateRateLimiter(&*create_rate_);
  }
  jobs_.SetJobReadyListener([this](const Job& job) { JobReady(job); });
  jobs_.SetTemplates(&templates_);
  workers_.SetQueueStore(&pg_store_);
  workers_.SetMetrics(&metrics_);
  reaper_.SetMetrics(&metrics_);
  admission_.SetMetrics(&metrics_);
  metrics_.AddScrapeGauge("jobd_open_streams", "Open streams and waiting long polls, by kind",
                          "kind", "watch", [this] { return double(streams_by_key_.size()); });
  metrics_.AddScrapeGauge("jobd_open_streams", "Open streams and waiting long polls, by kind",
                          "kind", "long_poll", [this] { return double(waiters_.size()); });
  if (config_.metrics.enabled) gateway_.SetMetricsSource([this] { return metrics_.Scrape(); });
  // A resumed (or newly limited) queue's waiting workers look at once, here and elsewhere.
  queues_.SetQueueOpenedListener([this](const std::string& workspace, const std::string& type) {
    waiters_.Notify(workspace, type);
    notify_bridge_.MarkReady(workspace, type);
  });
  schedules_.SetChangeListener([this] { scheduler_.Wake(); });
  jobs_.SetJobScheduledListener(
      [this](const Job& job) { waiters_.NotifyAt(job.run_after, job.workspace_id, job.type); });
}

// A job became ready here: wake local waiters now, other processes through the bridge.
void Server::JobReady(const Job& job) {
  waiters_.Notify(job.workspace_id, job.type);
  notify_bridge_.MarkReady(job.workspace_id, job.type);
}

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerConfig& config) {
  absl::Status schema =
      db::CheckSchemaVersion(config.database, config.startup_timeout, [](const absl::Status& why) {
        core::Log(core::LogLevel::kWarning, "waiting for the database",
                  {{"error", std::string(why.message())}});
      });
  if (!schema.ok()) return schema;
  std::unique_ptr<Server> server(new Server(config));
  // On the database's time before the first call (the health probe keeps it there).
  if (absl::StatusOr<absl::Duration> offset = db::DatabaseProbe(config.database).Ping();
      offset.ok()) {
    server->clock_watch_.Measured(*offset);
  }
  // API keys: authenticated from memory, kept equal to the table by key_sync.
  if (absl::Status s = server->key_sync_.RunOnce(); !s.ok()) {
    return absl::Status(s.code(), "cannot read API keys: " + std::string(s.message()));
  }
  if (server->key_registry_.size() == 0) {
    core::Log(core::LogLevel::kWarning,
              "no API keys yet: every call will be UNAUTHENTICATED until one is made with "
              "`jobd keys create --role admin --name NAME`");
  }
  if (absl::Status s = server->Listen(); !s.ok()) return s;
  grpc::HealthCheckServiceInterface* health = server->grpc_server_->GetHealthCheckService();
  http::Gateway* gateway = &server->gateway_;
  server->database_health_.emplace(config.database, config.health_interval, server->clock_watch_,
                                   [health, gateway](bool serving) {
                                     health->SetServingStatus(serving);
                                     gateway->SetReady(serving);
                                   });
  server->database_health_->Start();
  server->retention_.Start();
  server->reaper_.Start();
  server->promoter_.Start();
  server->scheduler_.Start();
  if (server->config_.metrics.enabled) {
    server->queue_counts_.RunOnce();  // counts from the first scrape on
    server->queue_counts_.Start();
  }
  server->fetcher_.Start();
  server->notify_bridge_.Start();
  server->key_sync_.Start();
  core::Log(core::LogLevel::kInfo, "jobd serving",
            {{"listen", config.listen},
             {"port", server->port_},
             {"http_port", server->http_port_},
             {"tls", config.tls.enabled() ? (config.tls.client_ca_file.empty() ? "tls" : "mutual")
                                          : "off"},
             {"pool_size", config.database.pool_size}});
  return server;
}

absl::Status Server::Listen() {
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials(config_.tls);
  if (!credentials.ok()) return credentials.status();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default: a second jobd on the same port would silently share
  // it. Refuse instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // An oversized request is refused by gRPC before it is parsed into memory.
  builder.SetMaxReceiveMessageSize(static_cast<int>(config_.max_request_bytes));
  // What one connection or client may hold: calls in flight, memory, idle and ping policy.
  const BoundsConfig& bounds = config_.bounds;
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, bounds.grpc_max_concurrent_streams);
  grpc::ResourceQuota quota("jobd");
  quota.Resize(static_cast<size_t>(bounds.grpc_max_memory_bytes));
  builder.SetResourceQuota(quota);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                             static_cast<int>(absl::ToInt64Milliseconds(bounds.keepalive_time)));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                             static_cast<int>(absl::ToInt64Milliseconds(bounds.keepalive_timeout)));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
      static_cast<int>(absl::ToInt64Milliseconds(bounds.min_client_ping_interval)));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
  builder.AddListeningPort(config_.listen, *credentials, &port_);
  builder.RegisterService(&job_service_);
  builder.RegisterService(&worker_service_);
  builder.RegisterService(&admin_service_);
  builder.RegisterService(&schedule_service_);
  builder.RegisterService(&template_service_);
  builder.RegisterService(&queue_service_);
  grpc_server_ = builder.BuildAndStart();
  if (!grpc_server_ || port_ == 0) {
    return absl::UnavailableError("cannot listen on " + config_.listen);
  }
  if (!config_.http.listen.empty()) {
    if (absl::Status s = http_server_.Start(gateway_); !s.ok()) return s;
    http_port_ = http_server_.port();
  }
  return absl::OkStatus();
}

void Server::Stop() {
  scheduler_.Stop();  // no run is made while stopping
  if (stopped_ || !grpc_server_) return;
  stopped_ = true;
  grpc_server_->GetHealthCheckService()->Shutdown();
  gateway_.SetReady(false);
  calls_.Close();
  waiters_.Stop();  // long polls answer now, with no jobs
  bus_.Stop();      // watch streams end UNAVAILABLE; clients resume elsewhere
  if (!calls_.WaitIdle(absl::Now() + config_.shutdown_grace)) {
    core::Log(core::LogLevel::kWarning, "calls still running after the grace period are cancelled");
  }
  http_server_.Stop();
  // A short last deadline lets the UNAVAILABLE refusals of late calls reach their clients.
  grpc_server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(250));
  grpc_server_->Wait();
}

// Then the members stop in reverse declaration order: the loops before what they use.
Server::~Server() { Stop(); }

}  // namespace jobd
