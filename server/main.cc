// jobd: wiring, start and graceful stop. `jobd migrate` applies migrations; `jobd keys`
// manages API keys; `jobd [serve]` serves JobService, WorkerService and AdminService over gRPC
// with health and reflection (which need no key).
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <thread>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/synchronization/mutex.h"
#include "db/connection_pool.h"
#include "db/migrator.h"
#include "db/pg_api_key_store.h"
#include "db/pg_job_store.h"
#include "jobd/v1/worker_service.grpc.pb.h"
#include "server/api/admin_service.h"
#include "server/api/authorizer.h"
#include "server/api/call_gate.h"
#include "server/api/job_service.h"
#include "server/background/database_health.h"
#include "server/background/key_sync.h"
#include "server/background/lease_reaper.h"
#include "server/background/notify_bridge.h"
#include "server/background/promoter.h"
#include "server/background/retention.h"
#include "server/api/worker_service.h"
#include "server/core/ready_waiters.h"
#include "server/core/event_bus.h"
#include "server/core/event_fetcher.h"
#include "server/core/job_watch.h"
#include "server/core/publishing_job_store.h"
#include "server/core/worker_manager.h"
#include "server/config.h"
#include "server/core/api_key_manager.h"
#include "server/core/key_registry.h"
#include "server/keys_command.h"
#include "server/tls.h"
#include "server/core/batchers.h"
#include "server/core/executor.h"
#include "server/core/job_manager.h"
#include "server/core/log.h"

namespace jobd {
namespace {

using core::Log;
using core::LogLevel;

int Fail(const std::string& message) {
  Log(LogLevel::kError, message);
  return 1;
}

// Connects, retrying until the database answers or the startup timeout passes.
absl::StatusOr<std::unique_ptr<pqxx::connection>> ConnectAtStart(const ServerConfig& config) {
  const absl::Time deadline = absl::Now() + config.startup_timeout;
  for (;;) {
    auto conn = db::OpenConnection(config.database);
    if (conn.ok() || absl::Now() >= deadline || !absl::IsUnavailable(conn.status())) return conn;
    Log(LogLevel::kWarning, "waiting for the database",
        {{"error", std::string(conn.status().message())}});
    absl::SleepFor(absl::Seconds(1));
  }
}

int RunMigrate(const ServerConfig& config) {
  auto conn = ConnectAtStart(config);
  if (!conn.ok()) return Fail(std::string(conn.status().message()));
  absl::StatusOr<int> version = db::Migrate(**conn, [](const std::string& name) {
    Log(LogLevel::kInfo, "applied migration", {{"migration", name}});
  });
  if (!version.ok()) return Fail(std::string(version.status().message()));
  Log(LogLevel::kInfo, "schema is up to date", {{"version", *version}});
  return 0;
}

int RunServe(const ServerConfig& config) {
  {
    auto conn = ConnectAtStart(config);
    if (!conn.ok()) return Fail(std::string(conn.status().message()));
    if (absl::Status s = db::CheckSchemaVersion(**conn); !s.ok()) {
      return Fail(std::string(s.message()));
    }
  }

  // Signals are taken by one thread with sigwait; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  db::ConnectionPool pool(config.database);
  db::PgJobStoreOptions store_options;
  store_options.max_active_jobs_per_workspace = config.quotas.max_active_jobs_per_workspace;
  db::PgJobStore pg_store(pool, store_options);
  core::SystemClock clock;
  // API keys: authenticated from memory, kept equal to the table by key_sync.
  db::PgApiKeyStore key_store(pool);
  core::KeyRegistry key_registry;
  core::StreamsByKey streams_by_key;  // a revoked key's watch streams end at once
  key_registry.SetRevocationListener(
      [&streams_by_key](const std::string& key_id) { streams_by_key.Revoked(key_id); });
  background::KeySync key_sync(key_store, key_registry, config.key_refresh_interval);
  if (absl::Status s = key_sync.RunOnce(); !s.ok()) {
    return Fail("cannot read API keys: " + std::string(s.message()));
  }
  if (key_registry.size() == 0) {
    Log(LogLevel::kWarning,
        "no API keys yet: every call will be UNAUTHENTICATED until one is made with "
        "`jobd keys create --role admin --name NAME`");
  }
  core::ApiKeyManager key_manager(key_store, &key_registry, clock, config.limits,
                                  core::PageTokenCodec(config.page_token_key));
  api::Authorizer auth(key_registry, clock);
  // Events: written with their changes, published here by `store`, announced to other
  // processes by the bridge, fetched from them by the fetcher (docs/EVENTS.md).
  core::EventBus bus;
  core::EventFetcher fetcher(pg_store, bus, config.event_poll_interval);
  core::ReadyWaiters waiters;
  background::NotifyBridge notify_bridge(config.database, waiters, bus, fetcher,
                                         config.notify_min_gap, config.acquire_poll_interval);
  core::PublishingJobStore store(pg_store, bus, [&notify_bridge](const std::vector<EventRange>& r) {
    notify_bridge.MarkEvents(r);
  });
  core::CreateBatcher batcher(core::CommitCreates(store), config.create_batcher);
  core::ChangeBatcher changes(core::CommitChanges(store), config.change_batcher, core::ChangeKey);
  core::Executor executor(config.rpc_threads, /*max_queued=*/10000);
  core::JobManager jobs(store, batcher, clock, config.limits,
                        core::PageTokenCodec(config.page_token_key));
  // A job became ready here: wake local waiters now, other processes through the bridge.
  auto job_ready = [&](const Job& job) {
    waiters.Notify(job.workspace_id, job.type);
    notify_bridge.MarkReady();
  };
  std::optional<core::RateLimiter> create_rate;
  if (config.quotas.create_rate_per_key > 0) {
    create_rate.emplace(config.quotas.create_rate_per_key, config.quotas.create_burst_per_key);
    jobs.SetCreateRateLimiter(&*create_rate);
  }
  jobs.SetJobReadyListener(job_ready);
  jobs.SetJobScheduledListener([&](const Job& job) {
    waiters.NotifyAt(job.run_after, job.workspace_id, job.type);
  });
  core::WorkerManager workers(store, executor, changes, waiters, clock, config.limits);
  // Watch streams read the database on threads of their own, so that catching up never
  // queues behind unary calls (and the other way round).
  core::Executor watch_executor(config.watch_threads, /*max_queued=*/1000000);
  core::WatchOptions watch_options;
  watch_options.buffer_events = static_cast<size_t>(config.watch_buffer_events);
  api::JobServiceImpl job_service(
      auth, jobs, executor,
      core::WatchDeps{config.limits, store, bus, watch_executor, watch_options, &streams_by_key});
  api::WorkerServiceImpl worker_service(auth, workers);
  api::AdminServiceImpl admin_service(auth, key_manager, executor);
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials(config.tls);
  if (!credentials.ok()) return Fail(std::string(credentials.status().message()));

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  // gRPC sets SO_REUSEPORT by default: a second jobd on the same port would silently share
  // it. Refuse instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // An oversized request is refused by gRPC before it is parsed into memory.
  builder.SetMaxReceiveMessageSize(static_cast<int>(config.max_request_bytes));
  builder.AddListeningPort(config.listen, *credentials, &port);
  builder.RegisterService(&job_service);
  builder.RegisterService(&worker_service);
  builder.RegisterService(&admin_service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) return Fail("cannot listen on " + config.listen);
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();

  background::DatabaseHealth database_health(
      config.database, config.health_interval,
      [health](bool serving) { health->SetServingStatus(serving); });
  database_health.Start();
  background::Retention retention(store, clock, config.retention_interval);
  retention.Start();
  background::LeaseReaper reaper(store, clock, config.reaper_interval);
  reaper.Start();
  background::Promoter promoter(store, clock, config.promote_interval, job_ready);
  promoter.Start();
  fetcher.Start();
  notify_bridge.Start();
  key_sync.Start();

  if (!config.listen_port_file.empty()) {
    const std::string tmp = config.listen_port_file + ".tmp";
    std::ofstream(tmp) << port << "\n";
    std::rename(tmp.c_str(), config.listen_port_file.c_str());
  }
  Log(LogLevel::kInfo, "jobd serving",
      {{"listen", config.listen},
       {"port", port},
       {"tls", config.tls.enabled() ? (config.tls.client_ca_file.empty() ? "tls" : "mutual")
                                    : "off"},
       {"pool_size", config.database.pool_size}});

  std::thread signal_waiter([&] {
    int signal = 0;
    sigwait(&signals, &signal);
    Log(LogLevel::kInfo, "stopping", {{"signal", signal}});
    health->Shutdown();
    api::CallGate& calls = api::CallGate::Get();
    calls.Close();
    waiters.Stop();  // long polls answer now, with no jobs
    bus.Stop();      // watch streams end UNAVAILABLE; clients resume elsewhere
    if (!calls.WaitIdle(absl::Now() + config.shutdown_grace)) {
      Log(LogLevel::kWarning, "calls still running after the grace period are cancelled");
    }
    // A short last deadline lets the UNAVAILABLE refusals of late calls reach their clients.
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(250));
  });
  server->Wait();
  signal_waiter.join();
  key_sync.Stop();
  notify_bridge.Stop();
  fetcher.Stop();
  promoter.Stop();
  reaper.Stop();
  retention.Stop();
  database_health.Stop();
  batcher.Stop();
  changes.Stop();
  executor.Stop();
  watch_executor.Stop();
  Log(LogLevel::kInfo, "jobd stopped");
  return 0;
}

}  // namespace
}  // namespace jobd

int main(int argc, char** argv) {
  // Debian's Abseil is built without NDEBUG: every absl::Mutex inside gRPC would keep a
  // deadlock graph (~1.5% of jobd's CPU under load, measured in bench/).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::StatusOr<jobd::ServerConfig> config = jobd::LoadServerConfig(argc, argv);
  if (!config.ok()) {
    std::fprintf(stderr, "jobd: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  jobd::core::SetLogLevel(config->log_level);
  if (config->command == "migrate") return jobd::RunMigrate(*config);
  if (config->command == "keys") return jobd::RunKeys(*config);
  return jobd::RunServe(*config);
}
