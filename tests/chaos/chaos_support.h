// Pieces of the fault-injection test: a private PostgreSQL cluster it may stop and start, the
// replica addresses clients follow across a restart, status counters, and the per-stream
// record of what each WatchJobs watcher received with its check against the job's history.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include <sys/wait.h>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "tests/e2e/jobd_fixture.h"

extern char** environ;

namespace jobd::testing::chaos {

// A throwaway cluster of our own (tests/pg_cluster.sh): other tests share the common one, and
// this test stops it. Stopped and removed on destruction.
class PrivateCluster {
 public:
  PrivateCluster() {
    char dir[] = "/tmp/jobd-chaos.XXXXXX";
    dir_ = mkdtemp(dir);
  }
  ~PrivateCluster() {
    int code = 0;
    Run("stop " + dir_, &code);
    std::system(("rm -rf '" + dir_ + "'").c_str());
  }
  // Starts (or restarts, same directory) and returns the URL; "" when the script failed.
  std::string Start() {
    int code = 0;
    std::string url = Run("start " + dir_ + " --fast", &code);
    return code == 0 ? url : "";
  }
  bool Stop() {
    int code = 0;
    Run("stop " + dir_, &code);
    return code == 0;
  }

 private:
  static std::string Script() {
    const char* script = std::getenv("JOBD_TEST_PG_CLUSTER_SCRIPT");
    return script != nullptr && *script != '\0' ? script : JOBD_PG_CLUSTER_SCRIPT;
  }
  std::string Run(const std::string& args, int* code) {
    FILE* pipe = popen((Script() + " " + args).c_str(), "r");
    std::string out;
    char buffer[512];
    while (pipe != nullptr && fgets(buffer, sizeof(buffer), pipe) != nullptr) out += buffer;
    *code = pipe != nullptr ? pclose(pipe) : -1;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }
  std::string dir_;
};

// Ends every other client connection (jobd's pools, listener and background loops; jobd sets
// no application_name, and nothing else uses this cluster). Returns how many, -1 on error.
inline int TerminateBackends(const std::string& url) {
  try {
    pqxx::connection conn(url);
    pqxx::nontransaction tx(conn);
    pqxx::result r = tx.exec(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity "
        "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()) t WHERE done");
    return r[0][0].as<int>();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "pg_terminate_backend: " << e.what();
    return -1;
  }
}

// Starts `argv` with stdout and stderr appended to `log_path`; the pid, or -1.
inline pid_t Spawn(std::vector<std::string> argv, const std::string& log_path) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  if (posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

// Channels to replica slots 0 and 1; a restarted replica listens on a new port, and every
// client asks for the slot's current channel on each call.
class Replicas {
 public:
  explicit Replicas(std::string api_key) : api_key_(std::move(api_key)) {}
  void Set(int slot, const std::string& address) {
    grpc::ChannelArguments args;
    // A replica that comes back is used again soon.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    auto channel = KeyedChannel(address, api_key_, args);
    absl::MutexLock lock(&mu_);
    channels_[slot] = std::move(channel);
  }
  std::shared_ptr<grpc::Channel> Channel(int slot) {
    absl::MutexLock lock(&mu_);
    return channels_[slot % 2];
  }
  std::unique_ptr<v1::JobService::Stub> Jobs(int slot) {
    return v1::JobService::NewStub(Channel(slot));
  }
  std::unique_ptr<v1::WorkerService::Stub> Workers(int slot) {
    return v1::WorkerService::NewStub(Channel(slot));
  }
  void Clear() {
    absl::MutexLock lock(&mu_);
    channels_[0].reset();
    channels_[1].reset();
  }

 private:
  const std::string api_key_;
  absl::Mutex mu_;
  std::shared_ptr<grpc::Channel> channels_[2] ABSL_GUARDED_BY(mu_);
};

// Named counters ("create UNAVAILABLE", "worker retries", ...), printed in the summary.
class Counts {
 public:
  void Add(const std::string& name, int64_t n = 1) {
    absl::MutexLock lock(&mu_);
    counts_[name] += n;
  }
  void AddStatus(const std::string& rpc, const grpc::Status& status) {
    Add(absl::StrCat(rpc, " ", CodeName(status.error_code())));
  }
  int64_t Get(const std::string& name) {
    absl::MutexLock lock(&mu_);
    auto it = counts_.find(name);
    return it == counts_.end() ? 0 : it->second;
  }
  std::string Format() {
    absl::MutexLock lock(&mu_);
    std::string out;
    for (const auto& [name, n] : counts_)
      absl::StrAppend(&out, out.empty() ? "" : ", ", name, " ", n);
    return out;
  }
  static std::string CodeName(grpc::StatusCode code) {
    static const char* const kNames[] = {"OK",
                                         "CANCELLED",
                                         "UNKNOWN",
                                         "INVALID_ARGUMENT",
                                         "DEADLINE_EXCEEDED",
                                         "NOT_FOUND",
                                         "ALREADY_EXISTS",
                                         "PERMISSION_DENIED",
                                         "RESOURCE_EXHAUSTED",
                                         "FAILED_PRECONDITION",
                                         "ABORTED",
                                         "OUT_OF_RANGE",
                                         "UNIMPLEMENTED",
                                         "INTERNAL",
                                         "UNAVAILABLE",
                                         "DATA_LOSS",
                                         "UNAUTHENTICATED"};
    const int i = static_cast<int>(code);
    return i >= 0 && i <= 16 ? kNames[i] : absl::StrCat("code ", i);
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, int64_t> counts_ ABSL_GUARDED_BY(mu_);
};

// What one WatchJobs stream (one connection of a watcher) delivered, per job, in order.
struct Seen {
  int64_t sequence;
  v1::JobEventKind kind;
  v1::JobState state;
  int32_t attempt;
};
struct Segment {
  int replica = 0;
  absl::Time live = absl::InfiniteFuture();  // when its first event arrived
  absl::flat_hash_map<std::string, std::vector<Seen>> jobs;
  int64_t events = 0;
};

// Codes a retry may cure; the others are answers.
inline bool Retryable(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::UNIMPLEMENTED:
      return false;
    default:
      return true;
  }
}

// One watcher: its streams, and the one open now (to cancel it at the end).
struct Watcher {
  absl::Mutex mu;
  std::vector<Segment> segments ABSL_GUARDED_BY(mu);  // the last one may still be open
  grpc::ClientContext* open ABSL_GUARDED_BY(mu) = nullptr;
  bool stop ABSL_GUARDED_BY(mu) = false;
  bool final_open ABSL_GUARDED_BY(mu) = false;  // the last segment was open when stopped
};

// Each job's full history (ListJobEvents) and when its first create attempt was sent.
using Histories = absl::flat_hash_map<std::string, std::vector<v1::JobEvent>>;
using CreateTimes = absl::flat_hash_map<std::string, absl::Time>;

struct Verdict {
  int64_t gaps = 0, duplicates = 0, mismatches = 0, missed = 0, snapshots = 0;
  std::vector<std::string> examples;
  void Note(const std::string& what) {
    if (examples.size() < 10) examples.push_back(what);
  }
};

// The WatchJobs contract (docs/EVENTS.md) for one stream: per job, sequences strictly rise
// (nothing twice), each event is the previous + 1 unless it is the SNAPSHOT that replaces
// missed events, and each event says what the job's history says at its sequence.
inline void CheckOrder(const std::string& who, const Segment& segment, const Histories& histories,
                       Verdict* v) {
  for (const auto& [id, seen] : segment.jobs) {
    auto history = histories.find(id);
    int64_t prev = 0;
    for (const Seen& s : seen) {
      const bool snapshot = s.kind == v1::JOB_EVENT_KIND_SNAPSHOT;
      if (snapshot) ++v->snapshots;
      if (prev > 0 && s.sequence <= prev) {
        ++v->duplicates;
        v->Note(absl::StrCat(who, " job ", id, ": sequence ", s.sequence, " after ", prev));
      } else if (prev > 0 && s.sequence != prev + 1 && !snapshot) {
        ++v->gaps;
        v->Note(absl::StrCat(who, " job ", id, ": ", prev, " then ", s.sequence, " (",
                             v1::JobEventKind_Name(s.kind), ")"));
      }
      prev = std::max(prev, s.sequence);
      if (history == histories.end() || s.sequence < 1 ||
          s.sequence > static_cast<int64_t>(history->second.size())) {
        ++v->mismatches;
        v->Note(absl::StrCat(who, " job ", id, ": sequence ", s.sequence, " not in its history"));
        continue;
      }
      const v1::JobEvent& want = history->second[s.sequence - 1];
      if ((!snapshot && s.kind != want.kind()) || s.state != want.job().state() ||
          s.attempt != want.job().attempt()) {
        ++v->mismatches;
        v->Note(absl::StrCat(who, " job ", id, " #", s.sequence, ": got ",
                             v1::JobEventKind_Name(s.kind), " ", v1::JobState_Name(s.state),
                             " attempt ", s.attempt, ", history has ", want.ShortDebugString()));
      }
    }
  }
}

// Events a stream that stayed open must have delivered: those committed after it went live.
// A commit comes after the time its event records (PostgreSQL's now() of the transaction),
// and a job's CREATED after the first create call for it was sent (its time is jobd's clock).
// A SNAPSHOT stands for the events up to its sequence.
inline int64_t Missed(const std::string& who, const Segment& segment, const Histories& histories,
                      const CreateTimes& create_times, Verdict* v) {
  int64_t missed = 0;
  for (const auto& [id, events] : histories) {
    auto seen = segment.jobs.find(id);
    for (const v1::JobEvent& e : events) {
      const auto sent = create_times.find(id);
      const bool due = e.sequence() == 1 ? sent != create_times.end() && sent->second > segment.live
                                         : ToTime(e.time()) > segment.live + absl::Milliseconds(20);
      if (!due) continue;
      bool covered = false;
      if (seen != segment.jobs.end()) {
        for (const Seen& s : seen->second) {
          covered = covered || s.sequence == e.sequence() ||
                    (s.kind == v1::JOB_EVENT_KIND_SNAPSHOT && s.sequence >= e.sequence());
        }
      }
      if (!covered) {
        ++missed;
        if (v != nullptr) {
          v->Note(absl::StrCat(
              who, " (live since ", absl::FormatTime(segment.live), ", replica ", segment.replica,
              ") never got job ", id, " #", e.sequence(), " ", v1::JobEventKind_Name(e.kind()),
              " at ", absl::FormatTime(ToTime(e.time())), ", first create sent ",
              sent != create_times.end() ? absl::FormatTime(sent->second) : "?", "; it got ",
              seen == segment.jobs.end() ? 0 : seen->second.size(), " events from #",
              seen == segment.jobs.end() ? 0 : seen->second.front().sequence));
        }
      }
    }
  }
  return missed;
}

using Completions = std::map<std::pair<std::string, int>, std::vector<std::string>>;

struct JobFigures {
  int64_t lost = 0, duplicates = 0, gaps = 0, lease_expiries = 0, reattempted = 0;
  std::vector<std::string> problems;
  void Problem(const std::string& what) { problems.push_back(what); }
};

// Each acknowledged create exists, once per key, and ended SUCCEEDED; each history runs
// 1..n with exactly one SUCCEEDED event, its last; no (job, attempt) was completed twice, and
// a completion a thread saw is the one the job ended with (`completions`: who got an OK for
// each (job, attempt); jobs of `process_worker` were completed by the killed process).
inline JobFigures CheckJobs(const std::vector<v1::Job>& jobs, const Histories& histories,
                            const std::map<std::string, std::string>& id_by_key,
                            const Completions& completions, const std::string& process_worker) {
  JobFigures f;
  std::map<std::string, const v1::Job*> by_id;
  std::map<std::string, int> per_key;
  for (const v1::Job& job : jobs) {
    by_id[job.id()] = &job;
    ++per_key[job.idempotency_key()];
  }
  for (const auto& [key, id] : id_by_key) {
    if (per_key[key] != 1) {
      ++f.duplicates;
      f.Problem(absl::StrCat(key, " made ", per_key[key], " jobs"));
    }
    auto it = by_id.find(id);
    if (it == by_id.end() || it->second->state() != v1::JOB_STATE_SUCCEEDED) {
      ++f.lost;
      f.Problem(
          absl::StrCat("job ", id, " of ", key, it == by_id.end() ? " missing" : " unfinished"));
    }
  }
  f.duplicates += std::max<int64_t>(
      0, static_cast<int64_t>(jobs.size()) - static_cast<int64_t>(id_by_key.size()));
  for (const auto& [done, by] : completions) {
    if (by.size() > 1) {
      ++f.duplicates;
      f.Problem(absl::StrCat(done.first, " attempt ", done.second, " completed twice"));
    }
    auto it = by_id.find(done.first);
    if (it != by_id.end() &&
        (it->second->attempt() != done.second || it->second->worker_id() != by[0])) {
      ++f.duplicates;
      f.Problem(absl::StrCat(done.first, " attempt ", done.second, " completed by ", by[0],
                             ", yet the job ended as ", it->second->ShortDebugString()));
    }
  }
  for (const v1::Job& job : jobs) {
    const std::vector<v1::JobEvent>& events = histories.at(job.id());
    int succeeded = 0;
    for (size_t i = 0; i < events.size(); ++i) {
      const v1::JobState state = events[i].job().state();
      if (events[i].sequence() != static_cast<int64_t>(i) + 1) ++f.gaps;
      if (events[i].kind() == v1::JOB_EVENT_KIND_STATE_CHANGED &&
          state == v1::JOB_STATE_SUCCEEDED) {
        ++succeeded;
      }
      if (i > 0 && events[i - 1].job().state() == v1::JOB_STATE_RUNNING &&
          state == v1::JOB_STATE_SCHEDULED &&
          absl::StrContains(events[i].job().error_message(), "lost: lease")) {
        ++f.lease_expiries;
      }
    }
    if (succeeded != 1 || events.empty() || events.back().sequence() != job.sequence()) {
      ++f.duplicates;
      f.Problem(absl::StrCat(job.id(), ": ", succeeded, " SUCCEEDED events, history ends at ",
                             events.empty() ? 0 : events.back().sequence(), ", job at ",
                             job.sequence()));
    }
    if (job.worker_id() != process_worker && !completions.count({job.id(), job.attempt()})) {
      f.Problem(absl::StrCat(job.id(), " SUCCEEDED by ", job.worker_id(), " with no OK seen"));
    }
    if (job.attempt() > 1) ++f.reattempted;
  }
  return f;
}

}  // namespace jobd::testing::chaos
