// A real jobd process on a loopback port (port 0, read back from --listen_port_file).
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/time/time.h"

namespace jobd::testing {

// Runs `jobd <args>` to completion; returns its exit code (-1 when it could not run).
int RunJobd(const std::vector<std::string>& args);

// Polls `condition` every 10 ms until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout);

class JobdProcess {
 public:
  // Starts `jobd serve --database_url URL --listen 127.0.0.1:0 ...extra` and waits until it
  // listens (fails the test if not within 20 s).
  JobdProcess(const std::string& database_url, const std::vector<std::string>& extra_args = {});
  ~JobdProcess();  // SIGTERM and wait

  bool running() const { return pid_ > 0; }
  // The process id (for /proc/<pid>/status), -1 once stopped.
  pid_t pid() const { return pid_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::shared_ptr<grpc::Channel> channel();
  // SIGTERM, then waits; returns the exit code.
  int Stop();
  std::string log() const;

 private:
  std::string dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace jobd::testing
