// A real jobd process on a loopback port (port 0, read back from --listen_port_file).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include "absl/time/time.h"

namespace jobd::testing {

// The jobd under test: this build's, or $JOBD_TEST_BINARY when set (the ThreadSanitizer stage
// runs the e2e tests against its instrumented jobd).
std::string JobdBinary();

// Runs `jobd <args>` to completion; returns its exit code (-1 when it could not run).
int RunJobd(const std::vector<std::string>& args);

// Creates an API key with `jobd keys create` (extra flags such as --workspace, --expire_in)
// and returns its secret; empty (and a test failure) when that fails.
std::string CreateApiKey(const std::string& database_url, const std::string& role,
                         const std::string& name, const std::vector<std::string>& extra = {});

// A channel whose every call carries `authorization: Bearer <api_key>` (none when empty).
std::shared_ptr<grpc::Channel> KeyedChannel(const std::string& address, const std::string& api_key,
                                            const grpc::ChannelArguments& args = {});

// Polls `condition` every 10 ms until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout);
// A process's resident memory in KiB, from /proc/<pid>/status (-1 when unreadable).
int64_t ResidentKiB(pid_t pid);

class JobdProcess {
 public:
  // Creates an admin key (when the schema exists), starts `jobd serve --database_url URL
  // --listen 127.0.0.1:0 ...extra` and waits until it listens (fails the test if not within
  // 20 s). `extra_env` ("NAME=value") is added to (or replaces in) jobd's environment.
  JobdProcess(const std::string& database_url, const std::vector<std::string>& extra_args = {},
              const std::vector<std::string>& extra_env = {});
  ~JobdProcess();  // SIGTERM and wait

  bool running() const { return pid_ > 0; }
  // The process id (for /proc/<pid>/status), -1 once stopped.
  pid_t pid() const { return pid_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // The HTTP listener's port (0 when a test turned it off with --http_listen=).
  int http_port() const { return http_port_; }
  // Calls on it carry the admin key.
  std::shared_ptr<grpc::Channel> channel();
  // An admin key made for this process; empty when the schema was not there yet.
  const std::string& admin_key() const { return admin_key_; }
  // SIGTERM, then waits; returns the exit code.
  int Stop();
  std::string log() const;

 private:
  std::string dir_;
  std::string admin_key_;
  pid_t pid_ = -1;
  int port_ = 0;
  int http_port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace jobd::testing
