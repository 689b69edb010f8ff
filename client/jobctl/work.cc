#include "client/jobctl/work.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <set>
#include <utility>

#include <google/protobuf/util/json_util.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/jobctl/args.h"

extern char** environ;

namespace jobd::jobctl {
namespace {

constexpr size_t kMaxErrorBytes = 4 * 1024;  // the server's text limit
constexpr size_t kStderrTailLines = 20;
// A "line" longer than this is passed on in pieces rather than buffered without bound. Room
// for a checkpoint line: the server takes 256 KiB of compact JSON, which a program may space out.
constexpr size_t kMaxLineBytes = 512 * 1024;
// Linux's limit on one environment string, "NAME=value" and its NUL (MAX_ARG_STRLEN).
constexpr size_t kMaxEnvStringBytes = 128 * 1024;
// How often the loop looks at the cancellation flag while the program is quiet.
constexpr int kPollMillis = 50;
// After the program exited, how long to wait for the end of its output, which a background
// process it left behind may hold open.
constexpr absl::Duration kDrainAfterExit = absl::Seconds(2);

// The programs running now, for SignalAllCommands. A pid is taken out under the same lock
// that reaps it, so that a signal never reaches a pid that was reaped (and maybe reused).
std::mutex running_mu;
std::set<pid_t> running_pids;

// waitpid(WNOHANG) under running_mu; true once `pid` exited, with its status.
bool Reaped(pid_t pid, int* status) {
  std::lock_guard<std::mutex> lock(running_mu);
  if (waitpid(pid, status, WNOHANG) != pid) return false;
  running_pids.erase(pid);
  return true;
}

// kill(-pid) under running_mu, while it is not reaped.
void SignalGroup(pid_t pid, int sig) {
  std::lock_guard<std::mutex> lock(running_mu);
  if (running_pids.count(pid) > 0) kill(-pid, sig);
}

std::string Errno(const char* what, int err) {
  return absl::StrCat(what, ": ", std::strerror(err));
}

// A pipe whose ends are closed in every exec'd child: with concurrency > 1, another job's
// program must not inherit this one's stdin, or its end of file would never come.
absl::Status MakePipe(int fds[2]) {
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError(Errno("pipe2", errno));
  return absl::OkStatus();
}

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

// posix_spawn's attributes and file actions, released on every path.
struct SpawnSetup {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  SpawnSetup() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
};

// The checkpoint the program starts from, as its environment gets it: JOBD_CHECKPOINT, or
// JOBD_CHECKPOINT_FILE naming a file that holds it, which goes with this object.
class StartingCheckpoint {
 public:
  StartingCheckpoint() = default;
  StartingCheckpoint(const StartingCheckpoint&) = delete;
  StartingCheckpoint& operator=(const StartingCheckpoint&) = delete;
  ~StartingCheckpoint() {
    if (!path_.empty()) unlink(path_.c_str());
  }

  absl::Status Prepare(const v1::Job& job) {
    if (!job.has_checkpoint()) return absl::OkStatus();
    std::string json;
    if (!google::protobuf::util::MessageToJsonString(job.checkpoint(), &json).ok()) {
      return absl::InternalError("cannot encode the job's checkpoint as JSON");
    }
    if (sizeof "JOBD_CHECKPOINT=" + json.size() <= kMaxEnvStringBytes) {
      env_ = {"JOBD_CHECKPOINT", std::move(json)};
      return absl::OkStatus();
    }
    const char* dir = std::getenv("TMPDIR");
    std::string path =
        absl::StrCat(dir != nullptr && *dir != '\0' ? dir : "/tmp", "/jobd-checkpoint-XXXXXX");
    const int fd = mkostemp(path.data(), O_CLOEXEC);
    if (fd < 0) return absl::InternalError(Errno("checkpoint file", errno));
    path_ = path;
    for (size_t done = 0; done < json.size();) {
      const ssize_t w = write(fd, json.data() + done, json.size() - done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        const int err = errno;
        close(fd);
        return absl::InternalError(Errno("checkpoint file", err));
      }
      done += static_cast<size_t>(w);
    }
    close(fd);
    env_ = {"JOBD_CHECKPOINT_FILE", std::move(path)};
    return absl::OkStatus();
  }

  // Empty name: no checkpoint.
  const std::pair<std::string, std::string>& env() const { return env_; }

 private:
  std::pair<std::string, std::string> env_;
  std::string path_;
};

std::vector<std::string> ChildEnvironment(const v1::Job& job,
                                          const StartingCheckpoint& checkpoint) {
  std::vector<std::pair<std::string, std::string>> ours = {
      {"JOBD_JOB_ID", job.id()},
      {"JOBD_ATTEMPT", absl::StrCat(job.attempt())},
      {"JOBD_JOB_TYPE", job.type()},
  };
  if (!checkpoint.env().first.empty()) ours.push_back(checkpoint.env());
  // Not inherited: a program must not take jobctl's own for its job's.
  const std::vector<std::string> unset = {"JOBD_CHECKPOINT", "JOBD_CHECKPOINT_FILE"};
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    bool replaced = false;
    for (const auto& [name, value] : ours) replaced |= absl::StartsWith(*e, name + "=");
    for (const std::string& name : unset) replaced |= absl::StartsWith(*e, name + "=");
    if (!replaced) env.emplace_back(*e);
  }
  for (const auto& [name, value] : ours) env.push_back(absl::StrCat(name, "=", value));
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Reads what is available on `fd` into `buffer` and hands each complete line to `on_line`.
// At end of file (or a read error) the rest is the last line and `fd` is closed.
template <typename OnLine>
void ReadLines(int& fd, std::string& buffer, OnLine on_line) {
  char chunk[16 * 1024];
  const ssize_t n = read(fd, chunk, sizeof chunk);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n > 0) buffer.append(chunk, static_cast<size_t>(n));
  size_t start = 0;
  for (size_t nl; (nl = buffer.find('\n', start)) != std::string::npos; start = nl + 1) {
    on_line(absl::string_view(buffer).substr(start, nl - start));
  }
  buffer.erase(0, start);
  if (n <= 0 || buffer.size() > kMaxLineBytes) {
    if (!buffer.empty()) on_line(buffer);
    buffer.clear();
  }
  if (n <= 0) CloseFd(fd);
}

absl::string_view StripCr(absl::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exit code ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* name = sigabbrev_np(WTERMSIG(status));
    return absl::StrCat("killed by signal ", WTERMSIG(status),
                        name != nullptr ? absl::StrCat(" (SIG", name, ")") : "");
  }
  return absl::StrCat("wait status ", status);
}

// "exit code 3; stderr:\n<tail>", cut from the front so that the last lines survive.
std::string ErrorMessage(const std::string& how, const std::deque<std::string>& tail) {
  if (tail.empty()) return absl::StrCat(how, " (no stderr output)");
  const std::string head = absl::StrCat(how, "; stderr:\n");
  std::string text = absl::StrJoin(tail, "\n");
  const size_t room = kMaxErrorBytes - head.size();
  if (text.size() > room) {
    text.erase(0, text.size() - room);
    // Start at a line (or at least a UTF-8 character) rather than in the middle of one.
    const size_t nl = text.find('\n');
    if (nl != std::string::npos && nl + 1 < text.size()) text.erase(0, nl + 1);
  }
  return client::CleanText(head + text, kMaxErrorBytes);
}

}  // namespace

bool ParseProgressLine(absl::string_view line, float* percent, std::string* message) {
  if (!absl::ConsumePrefix(&line, "progress ")) return false;
  const size_t space = line.find(' ');
  const absl::string_view number = line.substr(0, space);
  float p = 0;
  if (!absl::SimpleAtof(number, &p) || !(p == p)) return false;  // p == p: not NaN
  *percent = std::clamp(p, 0.0f, 100.0f);
  *message = space == absl::string_view::npos ? "" : std::string(line.substr(space + 1));
  return true;
}

bool ParseCheckpointLine(absl::string_view line,
                         absl::StatusOr<google::protobuf::Struct>* checkpoint) {
  if (!absl::ConsumePrefix(&line, "checkpoint ")) return false;
  google::protobuf::Struct parsed;
  if (absl::Status s = ParsePayload("checkpoint", std::string(line), &parsed); !s.ok()) {
    *checkpoint = s;
  } else {
    *checkpoint = std::move(parsed);
  }
  return true;
}

void SignalAllCommands(int sig) {
  std::lock_guard<std::mutex> lock(running_mu);
  for (pid_t pid : running_pids) kill(-pid, sig);
}

absl::Status CheckCommand(const std::string& command) {
  auto executable = [](const std::string& path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
  };
  if (command.find('/') != std::string::npos) {
    if (executable(command)) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(command, ": not an executable file"));
  }
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path != nullptr ? path : "/usr/bin:/bin", ':')) {
    if (executable(absl::StrCat(dir.empty() ? "." : dir, "/", command))) return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(command, ": command not found in PATH"));
}

absl::StatusOr<google::protobuf::Struct> RunCommand(const CommandSpec& spec, const v1::Job& job,
                                                    client::JobContext& ctx) {
  if (ctx.Cancelled()) {
    return absl::AbortedError(ctx.Paused() ? "paused before it started"
                                           : "cancelled before it started");
  }
  std::string payload;
  if (!google::protobuf::util::MessageToJsonString(job.payload(), &payload).ok()) payload = "{}";
  StartingCheckpoint checkpoint;  // its file, if any, is removed when we return
  if (absl::Status s = checkpoint.Prepare(job); !s.ok()) return s;

  int in[2], out[2], err[2];
  if (absl::Status s = MakePipe(in); !s.ok()) return s;
  if (absl::Status s = MakePipe(out); !s.ok()) {
    close(in[0]), close(in[1]);
    return s;
  }
  if (absl::Status s = MakePipe(err); !s.ok()) {
    close(in[0]), close(in[1]), close(out[0]), close(out[1]);
    return s;
  }

  pid_t pid = -1;
  int spawn_error;
  {
    SpawnSetup setup;
    posix_spawn_file_actions_adddup2(&setup.actions, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&setup.actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&setup.actions, err[1], STDERR_FILENO);
    // Its own process group, so that one kill reaches everything it started; the signal
    // mask and dispositions jobctl uses for itself (SIGINT/SIGTERM blocked, SIGPIPE ignored)
    // are not the program's.
    sigset_t empty, defaults;
    sigemptyset(&empty);
    sigemptyset(&defaults);
    for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&defaults, sig);
    posix_spawnattr_setflags(
        &setup.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&setup.attr, 0);
    posix_spawnattr_setsigmask(&setup.attr, &empty);
    posix_spawnattr_setsigdefault(&setup.attr, &defaults);

    std::vector<std::string> argv_strings = spec.argv;
    std::vector<std::string> env_strings = ChildEnvironment(job, checkpoint);
    std::vector<char*> argv = CStrings(argv_strings);
    std::vector<char*> env = CStrings(env_strings);
    std::lock_guard<std::mutex> lock(running_mu);
    spawn_error = posix_spawnp(&pid, argv[0], &setup.actions, &setup.attr, argv.data(), env.data());
    if (spawn_error == 0) running_pids.insert(pid);
  }
  close(in[0]), close(out[1]), close(err[1]);
  int to_child = in[1], from_out = out[0], from_err = err[0];
  if (spawn_error != 0) {
    CloseFd(to_child), CloseFd(from_out), CloseFd(from_err);
    // Retryable: another worker's host may well have the program.
    return absl::UnavailableError(
        absl::StrCat("cannot start ", spec.argv[0], ": ", std::strerror(spawn_error)));
  }
  for (int fd : {to_child, from_out, from_err}) fcntl(fd, F_SETFL, O_NONBLOCK);

  size_t written = 0;
  std::string out_buffer, err_buffer, last_line;
  std::deque<std::string> err_tail;
  int status = 0;
  bool exited = false, terminated = false, killed = false;
  absl::Time exit_time, term_time;

  auto on_stdout = [&](absl::string_view line) {
    line = StripCr(line);
    float percent;
    std::string message;
    absl::StatusOr<google::protobuf::Struct> saved;
    if (ParseProgressLine(line, &percent, &message)) {
      ctx.Progress(percent, std::move(message));
    } else if (ParseCheckpointLine(line, &saved)) {
      if (saved.ok()) {
        ctx.SaveCheckpoint(*std::move(saved));
      } else {
        // The program's mistake, not the job's end: it goes on, with the last good checkpoint.
        const std::string why = absl::StrCat(saved.status().message(), "; ignored");
        std::fprintf(stderr, "jobctl work: job %s: %s\n", job.id().c_str(), why.c_str());
        ctx.Log(v1::MESSAGE_LEVEL_WARNING, why);
      }
    } else {
      ctx.Log(v1::MESSAGE_LEVEL_INFO, std::string(line));
    }
    if (!absl::StripAsciiWhitespace(line).empty()) last_line = std::string(line);
  };
  auto on_stderr = [&](absl::string_view line) {
    line = StripCr(line);
    ctx.Log(v1::MESSAGE_LEVEL_WARNING, std::string(line));
    err_tail.emplace_back(line.substr(0, kMaxErrorBytes));
    if (err_tail.size() > kStderrTailLines) err_tail.pop_front();
  };

  for (;;) {
    pollfd fds[3];
    nfds_t n = 0;
    if (to_child >= 0) fds[n++] = {to_child, POLLOUT, 0};
    if (from_out >= 0) fds[n++] = {from_out, POLLIN, 0};
    if (from_err >= 0) fds[n++] = {from_err, POLLIN, 0};
    if (poll(fds, n, kPollMillis) < 0 && errno != EINTR) {
      return absl::InternalError(Errno("poll", errno));
    }
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == to_child) {
        // Written as the program reads it: a large payload must not block while the
        // program waits for us to read its output.
        const ssize_t w = write(to_child, payload.data() + written, payload.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        // EPIPE: the program does not read its stdin, which is its business.
        if (written == payload.size() || (w < 0 && errno != EAGAIN && errno != EINTR)) {
          CloseFd(to_child);
        }
      } else if (fds[i].fd == from_out) {
        ReadLines(from_out, out_buffer, on_stdout);
      } else {
        ReadLines(from_err, err_buffer, on_stderr);
      }
    }

    const absl::Time now = absl::Now();
    if (!exited && Reaped(pid, &status)) {
      exited = true;
      exit_time = now;
      CloseFd(to_child);
    }
    if (exited && ((from_out < 0 && from_err < 0) || now - exit_time > kDrainAfterExit)) break;
    if (!exited && !terminated && ctx.Cancelled()) {
      SignalGroup(pid, SIGTERM);
      terminated = true;
      term_time = now;
    }
    if (!exited && terminated && !killed && now - term_time >= spec.kill_grace) {
      SignalGroup(pid, SIGKILL);
      killed = true;
    }
  }
  CloseFd(to_child), CloseFd(from_out), CloseFd(from_err);

  if (ctx.Cancelled()) {
    return absl::AbortedError(absl::StrCat("stopped (", DescribeExit(status), ")"));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::UnknownError(ErrorMessage(DescribeExit(status), err_tail));
  }
  google::protobuf::Struct result;
  if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(last_line), "{") &&
      !ParsePayload("result", last_line, &result).ok()) {
    result.Clear();  // not a JSON object after all: an ordinary line, no result
  }
  return result;
}

}  // namespace jobd::jobctl
