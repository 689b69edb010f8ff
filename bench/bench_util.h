// What jobd_bench and watch_bench share: time and percentile helpers, gRPC status text, the
// /proc readings behind their CPU figures, and a completion-queue thread for the async API.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <sys/resource.h>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "jobd/v1/job_service.grpc.pb.h"
#include "jobd/v1/worker_service.grpc.pb.h"

namespace jobd::bench {

using Clock = std::chrono::steady_clock;

// The start of main: the usage line, the flags parsed, and absl::Mutex's deadlock detection off
// (Debian's Abseil is built without NDEBUG, so absl::Mutex, which gRPC uses inside, would track
// lock order on every lock: measurable client CPU).
inline void InitBench(int argc, char** argv, const char* usage) {
  absl::SetProgramUsageMessage(usage);
  absl::ParseCommandLine(argc, argv);
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

inline double Sec(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Nearest-rank percentile of unsorted samples (sorted in place).
inline double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * v.size()));
  if (rank == 0) rank = 1;
  return v[std::min(rank, v.size()) - 1];
}

// "UNAVAILABLE: message" (the code's name alone when there is no message).
inline std::string StatusText(const grpc::Status& s) {
  const int code = s.error_code();
  std::string name = absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  if (name.empty()) name = absl::StrCat("code ", code);
  return s.error_message().empty() ? name : absl::StrCat(name, ": ", s.error_message());
}

// ---------------------------------------------------------------------------------------------
// /proc.

inline double ClockTicksPerSecond() {
  static const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  return hz;
}

// utime+stime (seconds), ppid and (when `comm` is given) command name of a process; false when
// it is gone.
inline bool ReadProcStat(const std::string& pid, double* cpu, int* ppid,
                         std::string* comm = nullptr) {
  std::ifstream in("/proc/" + pid + "/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  const size_t open = line.find('(');
  const size_t close = line.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close + 2 > line.size()) {
    return false;
  }
  if (comm != nullptr) *comm = line.substr(open + 1, close - open - 1);
  // After ") ": state is field 3 of the line, ppid 4, utime 14, stime 15.
  std::vector<std::string> f = absl::StrSplit(line.substr(close + 2), ' ');
  double ut = 0, st = 0;
  if (f.size() < 13 || !absl::SimpleAtoi(f[1], ppid) || !absl::SimpleAtod(f[11], &ut) ||
      !absl::SimpleAtod(f[12], &st)) {
    return false;
  }
  *cpu = (ut + st) / ClockTicksPerSecond();
  return true;
}

// This process's CPU time so far (user + system), in seconds.
inline double SelfCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

// The whole machine's busy time so far (all cores, less idle and iowait), in seconds.
inline double MachineBusySeconds() {
  std::ifstream stat("/proc/stat");
  std::string cpu;
  stat >> cpu;
  double v[10] = {0};
  for (double& x : v) stat >> x;
  double total = 0;
  for (double x : v) total += x;
  return (total - v[3] - v[4]) / ClockTicksPerSecond();  // less idle and iowait
}

// ---------------------------------------------------------------------------------------------
// gRPC: one channel's stubs, and a completion-queue thread running each call's Tag.

struct Endpoint {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<jobd::v1::JobService::Stub> jobs;
  std::unique_ptr<jobd::v1::WorkerService::Stub> workers;
};

class Tag {
 public:
  virtual ~Tag() = default;
  virtual void Proceed(bool ok) = 0;
};

class Driver {
 public:
  Driver() : thread_([this] { Loop(); }) {}
  ~Driver() {
    cq_.Shutdown();
    thread_.join();
  }
  grpc::CompletionQueue* cq() { return &cq_; }

 private:
  void Loop() {
    void* tag = nullptr;
    bool ok = false;
    while (cq_.Next(&tag, &ok)) static_cast<Tag*>(tag)->Proceed(ok);
  }
  grpc::CompletionQueue cq_;
  std::thread thread_;  // after cq_: starts once cq_ exists
};

}  // namespace jobd::bench
