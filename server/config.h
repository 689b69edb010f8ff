// jobd's configuration: typed, validated, from flags with JOBD_* environment fallbacks.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "db/connection_pool.h"
#include "server/core/batchers.h"
#include "server/core/limits.h"
#include "server/core/log.h"

namespace jobd {

struct ServerConfig {
  std::string command = "serve";  // serve | migrate
  std::string listen;
  std::string listen_port_file;   // where to write the bound port (tests listen on port 0)
  bool allow_insecure_listen = false;  // plaintext on a non-loopback address
  int64_t max_request_bytes = 0;       // gRPC refuses larger requests before parsing them
  db::DatabaseConfig database;
  core::LogLevel log_level = core::LogLevel::kInfo;
  int rpc_threads = 8;            // our threads for blocking RPC work
  core::GroupCommitOptions create_batcher;
  core::GroupCommitOptions change_batcher;
  core::Limits limits;
  std::string page_token_key;
  absl::Duration health_interval = absl::Seconds(1);
  absl::Duration retention_interval = absl::Minutes(1);
  absl::Duration reaper_interval = absl::Seconds(1);
  absl::Duration promote_interval = absl::Milliseconds(500);
  absl::Duration notify_min_gap = absl::Milliseconds(2);
  absl::Duration acquire_poll_interval = absl::Seconds(2);
  absl::Duration event_poll_interval = absl::Seconds(1);
  int64_t watch_buffer_events = 256;
  int watch_threads = 4;
  absl::Duration startup_timeout = absl::Seconds(30);
  absl::Duration shutdown_grace = absl::Seconds(10);
};

// True for 127.0.0.0/8, ::1 and localhost (with or without a port) and unix: sockets.
bool IsLoopbackListen(const std::string& listen);

// Parses argv (flags, then the subcommand) after applying JOBD_* variables as flag defaults.
absl::StatusOr<ServerConfig> LoadServerConfig(int argc, char** argv);

}  // namespace jobd
