// jobd's configuration: typed, validated, from flags with JOBD_* environment fallbacks.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "db/database_config.h"
#include "server/core/batchers.h"
#include "server/core/limits.h"
#include "server/core/log.h"

namespace jobd {

// `jobd keys create|list|revoke`: API keys straight in the database, for bootstrapping.
struct KeysCommand {
  std::string action;                    // create | list | revoke | rotate-page-token-key
  std::string id;                        // revoke
  std::string role, workspace_id, name;  // create
  std::optional<absl::Duration> expire_in;
  std::string key_file;  // create: write the secret there (mode 0600), not stdout
  absl::Duration grace;  // rotate-page-token-key: how long the old keys still verify
};

struct TlsConfig {
  std::string cert_file, key_file;  // both or neither
  std::string client_ca_file;       // set: clients must present a certificate it signed
  bool enabled() const { return !cert_file.empty(); }
};

// The HTTP/JSON API, its server-sent events and the dashboard (server/http).
struct HttpConfig {
  std::string listen;     // host:port; empty: no HTTP listener
  std::string port_file;  // where to write the bound port (tests listen on port 0)
  std::vector<std::string> cors_origins;
  int threads = 2;
  absl::Duration sse_heartbeat = absl::Seconds(15);  // a comment line on quiet event streams
  absl::Duration read_timeout = absl::Seconds(30);   // a request, or the wait for the next
};

// Quotas, off (0) by default.
struct QuotaConfig {
  int64_t max_active_jobs_per_workspace = 0;  // QUEUED + SCHEDULED + RUNNING
  double create_rate_per_key = 0;             // CreateJob calls per second per API key
  double create_burst_per_key = 0;            // bucket size; 0: max(1, rate)
};

// What one caller or connection may hold of a jobd process; each refusal is
// RESOURCE_EXHAUSTED (README "Limits"). The input limits are in core::Limits.
struct BoundsConfig {
  size_t max_streams_per_key = 100;       // WatchJob + WatchJobs, gRPC and HTTP together
  size_t watch_max_jobs = 10000;          // unfinished jobs one WatchJobs stream remembers
  int grpc_max_concurrent_streams = 100;  // calls in flight per HTTP/2 connection
  int64_t grpc_max_memory_bytes = int64_t{1} << 30;  // gRPC's resource quota
  absl::Duration keepalive_time = absl::Minutes(1);  // jobd pings an idle connection
  absl::Duration keepalive_timeout = absl::Seconds(20);
  absl::Duration min_client_ping_interval = absl::Seconds(10);  // faster pings: GOAWAY
  size_t http_max_connections = 4096;
};

// Reads the flags of BoundsConfig and of the limits in core::Limits that bound memory.
absl::Status ReadBounds(BoundsConfig* bounds, core::Limits* limits);

// GET /metrics on the HTTP listener.
struct MetricsConfig {
  bool enabled = true;
  // How often the job counts per queue are read (one query, whatever the scrapes).
  absl::Duration refresh_interval = absl::Seconds(15);
  // Distinct workspaces (and types) that get their own label values; the rest are "other".
  int64_t max_label_values = 100;
};

struct ServerConfig {
  std::string command = "serve";  // serve | migrate | keys
  KeysCommand keys;
  TlsConfig tls;  // gRPC and HTTP alike
  HttpConfig http;
  QuotaConfig quotas;
  absl::Duration key_refresh_interval = absl::Milliseconds(250);
  std::string listen;
  std::string listen_port_file;        // where to write the bound port (tests listen on port 0)
  bool allow_insecure_listen = false;  // plaintext on a non-loopback address
  int64_t max_request_bytes = 0;       // gRPC refuses larger requests before parsing them
  db::DatabaseConfig database;
  core::LogLevel log_level = core::LogLevel::kInfo;
  int rpc_threads = 8;  // our threads for blocking RPC work
  core::GroupCommitOptions create_batcher;
  core::GroupCommitOptions change_batcher;
  core::Limits limits;
  BoundsConfig bounds;
  int background_pool_size = 2;  // connections of the reaper, promoter and retention
  std::string page_token_key;    // empty: the database's keys (page_token_keys)
  absl::Duration health_interval = absl::Seconds(1);
  absl::Duration retention_interval = absl::Minutes(1);
  int64_t retain_finished_per_workspace = 0;  // 0: no count limit
  MetricsConfig metrics;
  absl::Duration reaper_interval = absl::Seconds(1);
  absl::Duration promote_interval = absl::Milliseconds(500);
  absl::Duration schedule_poll_interval = absl::Seconds(1);
  absl::Duration notify_min_gap = absl::Milliseconds(2);
  absl::Duration acquire_poll_interval = absl::Seconds(2);
  absl::Duration event_poll_interval = absl::Seconds(1);
  int64_t watch_buffer_events = 256;
  int watch_threads = 4;
  absl::Duration startup_timeout = absl::Seconds(30);
  absl::Duration shutdown_grace = absl::Seconds(10);
};

// Parses argv (flags, then the subcommand) after applying JOBD_* variables as flag defaults.
absl::StatusOr<ServerConfig> LoadServerConfig(int argc, char** argv);

}  // namespace jobd
