#include "tests/support/jobd_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

extern char** environ;

namespace jobd::testing {
namespace {

pid_t Spawn(const std::vector<std::string>& args, const std::string& log_path) {
  std::vector<std::string> argv_storage = {JOBD_BINARY};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!log_path.empty()) {
    posix_spawn_file_actions_addopen(&actions, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
  }
  pid_t pid = -1;
  if (posix_spawn(&pid, JOBD_BINARY, &actions, nullptr, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

int WaitExit(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace

int RunJobd(const std::vector<std::string>& args) {
  pid_t pid = Spawn(args, "");
  return pid > 0 ? WaitExit(pid) : -1;
}

bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

JobdProcess::JobdProcess(const std::string& database_url,
                         const std::vector<std::string>& extra_args) {
  char dir[] = "/tmp/jobd-e2e.XXXXXX";
  dir_ = mkdtemp(dir);
  const std::string port_file = dir_ + "/port";
  std::vector<std::string> args = {"serve", "--database_url", database_url, "--listen",
                                   "127.0.0.1:0", "--listen_port_file", port_file,
                                   "--health_interval", "200ms"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  pid_ = Spawn(args, dir_ + "/jobd.log");
  if (pid_ <= 0) {
    ADD_FAILURE() << "cannot start " << JOBD_BINARY;
    return;
  }
  const bool listening = WaitFor(
      [&] {
        std::ifstream in(port_file);
        return static_cast<bool>(in >> port_) && port_ > 0;
      },
      absl::Seconds(20));
  if (!listening) ADD_FAILURE() << "jobd did not start listening; its log:\n" << log();
}

JobdProcess::~JobdProcess() {
  Stop();
  std::system(("rm -rf '" + dir_ + "'").c_str());
}

std::shared_ptr<grpc::Channel> JobdProcess::channel() {
  if (!channel_) channel_ = grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
  return channel_;
}

int JobdProcess::Stop() {
  if (pid_ <= 0) return -1;
  channel_.reset();
  kill(pid_, SIGTERM);
  const int code = WaitExit(pid_);
  pid_ = -1;
  return code;
}

std::string JobdProcess::log() const {
  std::ifstream in(dir_ + "/jobd.log");
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace jobd::testing
