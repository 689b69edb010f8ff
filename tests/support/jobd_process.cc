#include "tests/support/jobd_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <sys/wait.h>

#include "absl/strings/match.h"
#include "client/jobd_client.h"

extern char** environ;

namespace jobd::testing {

std::string JobdBinary() {
  const char* binary = std::getenv("JOBD_TEST_BINARY");
  return binary != nullptr && *binary != '\0' ? binary : JOBD_BINARY;
}
namespace {

pid_t Spawn(const std::vector<std::string>& args, const std::string& log_path,
            const std::vector<std::string>& extra_env = {}) {
  std::vector<std::string> argv_storage = {JobdBinary()};
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
  // jobd's HTTP listener defaults to 127.0.0.1:8080: tests that run side by side take any
  // free port unless they say otherwise (JobdProcess asks for one and reads it back).
  std::vector<std::string> env_storage;
  auto replaced = [&](const std::string& entry) {
    for (const std::string& extra : extra_env) {
      if (extra.substr(0, extra.find('=') + 1) == entry.substr(0, entry.find('=') + 1)) return true;
    }
    return false;
  };
  for (char** e = environ; *e != nullptr; ++e) {
    if (!replaced(*e)) env_storage.emplace_back(*e);
  }
  env_storage.insert(env_storage.end(), extra_env.begin(), extra_env.end());
  if (std::getenv("JOBD_HTTP_LISTEN") == nullptr) {
    env_storage.emplace_back("JOBD_HTTP_LISTEN=127.0.0.1:0");
  }
  std::vector<char*> envp;
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, JobdBinary().c_str(), &actions, nullptr, argv.data(), envp.data()) != 0)
    pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

int WaitExit(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

int RunJobd(const std::vector<std::string>& args) {
  pid_t pid = Spawn(args, "");
  return pid > 0 ? WaitExit(pid) : -1;
}

std::string CreateApiKey(const std::string& database_url, const std::string& role,
                         const std::string& name, const std::vector<std::string>& extra) {
  char dir[] = "/tmp/jobd-key.XXXXXX";
  const std::string key_dir = mkdtemp(dir);
  const std::string key_file = key_dir + "/key";
  std::vector<std::string> args = {"keys",       "create", "--database_url", database_url,
                                   "--role",     role,     "--name",         name,
                                   "--key_file", key_file};
  args.insert(args.end(), extra.begin(), extra.end());
  const int code = RunJobd(args);
  std::string key = code == 0 ? ReadFirstLine(key_file) : "";
  std::system(("rm -rf '" + key_dir + "'").c_str());
  if (key.empty()) ADD_FAILURE() << "jobd keys create --role " << role << " failed: exit " << code;
  return key;
}

std::shared_ptr<grpc::Channel> KeyedChannel(const std::string& address, const std::string& api_key,
                                            const grpc::ChannelArguments& args) {
  return client::MakeKeyedChannel(address, api_key, args);
}

int64_t ResidentKiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "VmRSS:")) return std::stoll(line.substr(6));
  }
  return -1;
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
                         const std::vector<std::string>& extra_args,
                         const std::vector<std::string>& extra_env) {
  char dir[] = "/tmp/jobd-e2e.XXXXXX";
  dir_ = mkdtemp(dir);
  const std::string port_file = dir_ + "/port";
  const std::string http_port_file = dir_ + "/http_port";
  std::vector<std::string> args = {
      "serve",       "--database_url",     database_url,   "--listen",
      "127.0.0.1:0", "--listen_port_file", port_file,      "--http_listen",
      "127.0.0.1:0", "--http_port_file",   http_port_file, "--health_interval",
      "200ms"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  // Tests that start jobd before migrating (it must refuse) get no key, and need none.
  const std::string key_file = dir_ + "/admin.key";
  const pid_t keys = Spawn({"keys", "create", "--database_url", database_url, "--role", "admin",
                            "--name", "test-admin", "--key_file", key_file},
                           dir_ + "/keys.log");
  if (keys > 0 && WaitExit(keys) == 0) {
    admin_key_ = ReadFirstLine(key_file);
  }
  pid_ = Spawn(args, dir_ + "/jobd.log", extra_env);
  if (pid_ <= 0) {
    ADD_FAILURE() << "cannot start " << JobdBinary();
    return;
  }
  const bool listening = WaitFor(
      [&] {
        std::ifstream in(port_file);
        return static_cast<bool>(in >> port_) && port_ > 0;
      },
      absl::Seconds(20));
  if (!listening) {
    ADD_FAILURE() << "jobd did not start listening; its log:\n" << log();
    return;
  }
  // Written just before the gRPC port (absent when a test turned HTTP off).
  std::ifstream http_in(http_port_file);
  if (!(http_in >> http_port_)) http_port_ = 0;
}

JobdProcess::~JobdProcess() {
  Stop();
  std::system(("rm -rf '" + dir_ + "'").c_str());
}

std::shared_ptr<grpc::Channel> JobdProcess::channel() {
  if (!channel_) channel_ = KeyedChannel(address(), admin_key_);
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
