// jobd: reads the configuration and runs it. `jobd migrate` applies migrations; `jobd keys`
// manages API keys; `jobd [serve]` runs a Server (server/server.h) until SIGINT or SIGTERM.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "db/migrator.h"
#include "server/config.h"
#include "server/core/log.h"
#include "server/keys_command.h"
#include "server/server.h"

namespace jobd {
namespace {

using core::Log;
using core::LogLevel;

int Fail(const absl::Status& status) {
  Log(LogLevel::kError, std::string(status.message()));
  return 1;
}

void LogWaiting(const absl::Status& why) {
  Log(LogLevel::kWarning, "waiting for the database", {{"error", std::string(why.message())}});
}

int RunMigrate(const ServerConfig& config) {
  absl::StatusOr<int> version =
      db::Migrate(config.database, config.startup_timeout, LogWaiting, [](const std::string& name) {
        Log(LogLevel::kInfo, "applied migration", {{"migration", name}});
      });
  if (!version.ok()) return Fail(version.status());
  Log(LogLevel::kInfo, "schema is up to date", {{"version", *version}});
  return 0;
}

void WritePortFile(const std::string& path, int port) {
  if (path.empty()) return;
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp) << port << "\n";
  std::rename(tmp.c_str(), path.c_str());
}

int RunServe(const ServerConfig& config) {
  // Signals are taken by this thread with sigwait; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(config);
  if (!server.ok()) return Fail(server.status());
  // The gRPC port file is the "serving" signal tests wait for: the HTTP port comes first.
  WritePortFile(config.http.port_file, (*server)->http_port());
  WritePortFile(config.listen_port_file, (*server)->port());
  int signal = 0;
  sigwait(&signals, &signal);
  Log(LogLevel::kInfo, "stopping", {{"signal", signal}});
  // A second signal during the graceful stop ends the process at once.
  std::thread([signals] {
    int again = 0;
    sigwait(&signals, &again);
    Log(LogLevel::kWarning, "second signal: exiting without waiting", {{"signal", again}});
    std::_Exit(1);
  }).detach();
  (*server)->Stop();
  server->reset();
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
