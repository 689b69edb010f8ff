// watch_bench: the watch fan-out benchmark (docs/BENCHMARKS.md; run it with
// bench/run_watch.sh, which starts PostgreSQL and a fresh jobd for every part).
//
// Parts (one per invocation, --part):
//   fanout   N concurrent WatchJob streams on jobd #1 in one layout:
//              few:  --few_jobs jobs (10), N / few_jobs watchers each (a report reaches 100 or
//                    1,000 watchers);
//              many: N jobs, one watcher each (every stream on its own job: the most per-job
//                    state in jobd, and a report reaches exactly one watcher).
//            In this order: ReportProgress throughput with 0 watchers (closed loop,
//            --tput_reporters calls in flight); jobd's VmRSS before opening the streams and once
//            all N have their SNAPSHOT (KiB per idle stream); delivery latency at each report
//            rate of --report_rates_few / --report_rates_many (ReportProgress's return → the
//            watcher's receipt of that PROGRESS event); throughput with the N watchers attached;
//            streams closed; throughput without again; then (--tput_rounds) streams opened
//            again, throughput with, closed, without, ... The ratio is of the means.
//   cross    jobd #1 and #2 on one database; watchers on #1. Delivery latency with 1 watcher and
//            the reporter on #1 (the same-run baseline), with 1 watcher and the reporter on #2,
//            and with --cross_streams watchers (few layout) and the reporter on #2.
//   summary  reads the figures every part appended to --results and prints the tables and the
//            issue's targets.
//
// Every stream is checked: its first event is a SNAPSHOT, each later event's sequence is the
// previous one + 1 (gaps and duplicates counted), and after each phase it must reach the job's
// last sequence (snapshot sequence + the reports that returned OK since). Every report carries
// a unique progress_message ("w<phase>.<counter>" in latency phases, "t<n>" in throughput
// phases), so each one is exactly one PROGRESS event.
//
// The client: the gRPC CompletionQueue API, --client_threads threads for all streams (no thread
// per stream), the streams spread over --channels channels (each its own TCP connection), and
// one more completion-queue thread for the reporter. Receipt time is taken when a completion
// thread picks the message up, so a busy client would add to the latency: each phase reports the
// client's own CPU.
//
// Exit status: 0 when the part ran and every check passed, 1 otherwise, 2 on bad usage.
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <sys/resource.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/bench_util.h"
#include "client/jobd_client.h"
#include "jobd/v1/job_service.grpc.pb.h"
#include "jobd/v1/worker_service.grpc.pb.h"

ABSL_FLAG(std::string, part, "", "fanout, cross or summary (required)");
ABSL_FLAG(std::string, address, "", "host:port of jobd #1: the watchers' server (required)");
ABSL_FLAG(std::string, api_key, "", "sent as `authorization: Bearer <key>` on every call");
ABSL_FLAG(std::string, address2, "", "cross: host:port of jobd #2, where the reporter reports");
ABSL_FLAG(int32_t, jobd_pid, 0, "pid of jobd #1: its VmRSS, threads and CPU");
ABSL_FLAG(int32_t, jobd2_pid, 0, "pid of jobd #2 (cross): its CPU");
ABSL_FLAG(int32_t, postmaster_pid, 0, "PostgreSQL's postmaster: its and its children's CPU");
ABSL_FLAG(std::string, layout, "few", "fanout: few (few_jobs jobs) or many (one job per stream)");
ABSL_FLAG(int32_t, streams, 1000, "fanout: concurrent WatchJob streams");
ABSL_FLAG(int32_t, few_jobs, 10, "jobs of the few layout");
ABSL_FLAG(int32_t, channels, 32, "gRPC channels (TCP connections) the streams are spread over");
ABSL_FLAG(int32_t, client_threads, 2, "completion-queue threads of all the streams");
ABSL_FLAG(int32_t, open_window, 2000, "streams opened but without their SNAPSHOT yet, at most");
ABSL_FLAG(std::string, report_rates_few, "5,20,50",
          "few layout: a latency phase at each of these report rates (reports/s in all; each "
          "report reaches streams/few_jobs watchers), in this order");
ABSL_FLAG(std::string, report_rates_many, "200",
          "many layout: the same (each report reaches one watcher)");
ABSL_FLAG(double, report_rate, 50, "cross: reports/s in all");
ABSL_FLAG(absl::Duration, latency_duration, absl::Seconds(8),
          "fanout: each latency phase's length");
ABSL_FLAG(absl::Duration, cross_duration, absl::Seconds(8), "cross: length of each phase");
ABSL_FLAG(int32_t, cross_streams, 1000, "cross: watchers of the many-watcher phase (few layout)");
ABSL_FLAG(bool, tput, true, "fanout: measure ReportProgress throughput with 0 and N watchers");
ABSL_FLAG(int32_t, tput_reporters, 8, "throughput: ReportProgress calls in flight");
ABSL_FLAG(int32_t, tput_rounds, 2,
          "many layout: rounds of (streams opened, throughput with them, streams closed, "
          "throughput without); the first throughput without them comes before round 1");
ABSL_FLAG(int32_t, tput_rounds_few, 1,
          "the same for the few layout, whose throughput run with watchers leaves a backlog of "
          "events to fan out (every report goes to streams/few_jobs watchers)");
ABSL_FLAG(absl::Duration, tput_warmup, absl::Seconds(1), "throughput: unmeasured start");
ABSL_FLAG(absl::Duration, tput_duration, absl::Seconds(5), "throughput: measured time");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(10),
          "after a latency phase: longest wait for every stream to reach its job's last event");
ABSL_FLAG(absl::Duration, tput_drain_timeout, absl::Seconds(15),
          "after the throughput phase with watchers: the same wait (a backlog is expected)");
ABSL_FLAG(absl::Duration, open_timeout, absl::Seconds(120), "longest wait for all SNAPSHOTs");
ABSL_FLAG(std::string, workspace, "bench-watch", "workspace of the benchmark's jobs");
ABSL_FLAG(std::string, results, "", "file the part appends its figures to; summary reads it");
ABSL_FLAG(std::string, header, "", "summary: a line printed above the tables");

namespace {

using namespace jobd::bench;  // bench_util.h: Clock, Sec, Percentile, StatusText, /proc, Driver
namespace v1 = jobd::v1;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}
constexpr int64_t kNoTime = INT64_MIN;

std::string Commas(int64_t v) {
  std::string s = absl::StrCat(v < 0 ? -v : v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(i, ",");
  return v < 0 ? "-" + s : s;
}

void Log(const std::string& line) {
  std::fprintf(stdout, "%s\n", line.c_str());
  std::fflush(stdout);
}

// ---------------------------------------------------------------------------------------------
// /proc: CPU of this client, jobd #1/#2, PostgreSQL and the rest of the machine; jobd's memory.

struct CpuSample {
  double self = 0, jobd1 = 0, jobd2 = 0, postgres = 0, busy = 0;  // CPU seconds
  Clock::time_point at;
};

CpuSample SampleCpu() {
  CpuSample s;
  s.at = Clock::now();
  s.self = SelfCpuSeconds();
  const int j1 = absl::GetFlag(FLAGS_jobd_pid), j2 = absl::GetFlag(FLAGS_jobd2_pid);
  const int pm = absl::GetFlag(FLAGS_postmaster_pid);
  if (DIR* proc = opendir("/proc")) {
    while (dirent* e = readdir(proc)) {
      int pid = 0;
      if (!absl::SimpleAtoi(e->d_name, &pid)) continue;
      if (pid != j1 && pid != j2 && pm <= 0) continue;
      double cpu = 0;
      int ppid = 0;
      if (!ReadProcStat(e->d_name, &cpu, &ppid)) continue;
      if (pid == j1) {
        s.jobd1 += cpu;
      } else if (pid == j2) {
        s.jobd2 += cpu;
      } else if (pm > 0 && (pid == pm || ppid == pm)) {
        s.postgres += cpu;
      }
    }
    closedir(proc);
  }
  s.busy = MachineBusySeconds();
  return s;
}

struct CpuUse {  // in cores (1.0 = one core busy all the time)
  double bench = NAN, jobd1 = NAN, jobd2 = NAN, postgres = NAN, other = NAN;
};

CpuUse CpuBetween(const CpuSample& a, const CpuSample& b) {
  CpuUse u;
  const double wall = Sec(b.at - a.at);
  if (wall <= 0) return u;
  u.bench = (b.self - a.self) / wall;
  u.jobd1 = (b.jobd1 - a.jobd1) / wall;
  u.jobd2 = (b.jobd2 - a.jobd2) / wall;
  u.postgres = (b.postgres - a.postgres) / wall;
  const double busy = (b.busy - a.busy) / wall;
  u.other = std::max(0.0, busy - u.bench - u.jobd1 - u.jobd2 - u.postgres);
  return u;
}

constexpr double kDisturbedCores = 0.25;

std::string CpuText(const CpuUse& u) {
  if (std::isnan(u.bench)) return "-";
  std::string s = absl::StrFormat("bench %.2f jobd %.2f", u.bench, u.jobd1);
  if (absl::GetFlag(FLAGS_jobd2_pid) > 0) absl::StrAppendFormat(&s, " jobd#2 %.2f", u.jobd2);
  absl::StrAppendFormat(&s, " pg %.2f other %.2f", u.postgres, u.other);
  if (u.other > kDisturbedCores) s += " (WARNING: other processes busy)";
  return s;
}

struct ProcStatus {
  int64_t rss_kib = -1, anon_kib = -1, threads = -1;
};

ProcStatus ReadStatus(int pid) {
  ProcStatus p;
  if (pid <= 0) return p;
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  auto value = [](absl::string_view rest, int64_t* out) {
    rest = absl::StripAsciiWhitespace(rest);
    absl::ConsumeSuffix(&rest, " kB");
    absl::SimpleAtoi(rest, out);
  };
  while (std::getline(in, line)) {
    absl::string_view l = line;
    if (absl::ConsumePrefix(&l, "VmRSS:")) value(l, &p.rss_kib);
    if (absl::ConsumePrefix(&l, "RssAnon:")) value(l, &p.anon_kib);
    if (absl::ConsumePrefix(&l, "Threads:")) value(l, &p.threads);
  }
  return p;
}

// ---------------------------------------------------------------------------------------------
// Results: "key value" lines appended to --results; the summary reads them back.

class Results {
 public:
  void Put(const std::string& key, double v) { values_[key] = v; }
  void Add(const std::string& key, double v) {
    auto it = values_.find(key);
    values_[key] = it == values_.end() || std::isnan(it->second) ? v : it->second + v;
  }
  // Text values: one line "key=text".
  void PutText(const std::string& key, const std::string& text) { texts_[key] = text; }
  std::string GetText(const std::string& key, const std::string& missing = "-") const {
    auto it = texts_.find(key);
    return it == texts_.end() ? missing : it->second;
  }
  void Write(const std::string& path) const {
    if (path.empty()) return;
    std::ofstream out(path, std::ios::app);
    for (const auto& [k, v] : values_) {
      if (!std::isnan(v)) out << k << " " << absl::StrFormat("%.6g", v) << "\n";
    }
    for (const auto& [k, t] : texts_) out << k << "= " << t << "\n";
  }
  bool Read(const std::string& path) {
    std::ifstream in(path);
    if (!in) return false;
    std::string line;
    while (std::getline(in, line)) {
      const size_t sp = line.find(' ');
      if (sp == std::string::npos) continue;
      const std::string k = line.substr(0, sp);
      if (absl::EndsWith(k, "=")) {
        texts_[k.substr(0, k.size() - 1)] = line.substr(sp + 1);
        continue;
      }
      double v;
      if (absl::SimpleAtod(line.substr(sp + 1), &v)) values_[k] = v;
    }
    return true;
  }
  double Get(const std::string& key) const {
    auto it = values_.find(key);
    return it == values_.end() ? NAN : it->second;
  }

 private:
  std::map<std::string, double> values_;
  std::map<std::string, std::string> texts_;
};

// ---------------------------------------------------------------------------------------------
// Channels and a completion-queue thread.

std::vector<Endpoint> MakeEndpoints(const std::string& address, int count,
                                    const std::string& name) {
  std::vector<Endpoint> out;
  for (int i = 0; i < count; ++i) {
    grpc::ChannelArguments args;
    // Separate TCP connections: no sharing of subchannels between the channels.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetString("jobd.bench.channel", absl::StrCat(name, "-", i));
    Endpoint e;
    e.channel = jobd::client::MakeKeyedChannel(address, absl::GetFlag(FLAGS_api_key), args);
    e.jobs = v1::JobService::NewStub(e.channel);
    e.workers = v1::WorkerService::NewStub(e.channel);
    out.push_back(std::move(e));
  }
  return out;
}

bool WaitConnected(std::vector<Endpoint>& eps, absl::Duration timeout) {
  const auto deadline = absl::ToChronoTime(absl::Now() + timeout);
  for (auto& e : eps) {
    if (!e.channel->WaitForConnected(deadline)) return false;
  }
  return true;
}

template <class Response>
class UnaryCall final : public Tag {
 public:
  grpc::ClientContext ctx;
  Response resp;
  grpc::Status status;
  int64_t start_ns = 0, end_ns = 0;
  std::function<void(UnaryCall&)> callback;
  std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> reader;

  void Proceed(bool) override {
    end_ns = NowNs();
    callback(*this);
    delete this;
  }
};

// Counts calls in flight; Wait() returns once all are done.
class InFlight {
 public:
  void Add() {
    std::lock_guard<std::mutex> l(mu_);
    ++n_;
  }
  void Done() {
    std::lock_guard<std::mutex> l(mu_);
    if (--n_ == 0) cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return n_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int n_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Jobs: created, then leased by the benchmark (it is the worker).

struct Job {
  std::string id, lease_token;
  std::atomic<int64_t> ok_reports{0};      // ReportProgress calls that returned OK
  std::atomic<int64_t> base_sequence{-1};  // the SNAPSHOT sequence at the last Open
  int64_t ok_at_open = 0;                  // ok_reports at the last Open
  int watchers = 0;                        // streams of the current WatchSet on it
};

class Control {
 public:
  explicit Control(const std::string& address) : eps_(MakeEndpoints(address, 2, "control")) {}
  bool Connect() { return WaitConnected(eps_, absl::Seconds(10)); }

  // Creates `n` jobs of `type` (64 calls in flight); "" or the error.
  std::string CreateJobs(const std::string& type, int n, std::vector<std::string>* ids) {
    ids->assign(n, "");
    std::mutex mu;
    std::condition_variable cv;
    int inflight = 0, errors = 0;
    std::string first_error;
    for (int i = 0; i < n; ++i) {
      {
        std::unique_lock<std::mutex> l(mu);
        cv.wait(l, [&] { return inflight < 64; });
        if (errors) break;
        ++inflight;
      }
      auto* call = new UnaryCall<v1::CreateJobResponse>();
      call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
      call->callback = [&, i](UnaryCall<v1::CreateJobResponse>& c) {
        std::lock_guard<std::mutex> l(mu);
        if (c.status.ok()) {
          (*ids)[i] = c.resp.job().id();
        } else if (errors++ == 0) {
          first_error = StatusText(c.status);
        }
        --inflight;
        cv.notify_all();
      };
      v1::CreateJobRequest req;
      req.set_workspace_id(absl::GetFlag(FLAGS_workspace));
      req.set_type(type);
      (*req.mutable_payload()->mutable_fields())["i"].set_number_value(i);
      Endpoint& e = eps_[i % eps_.size()];
      call->reader = e.jobs->PrepareAsyncCreateJob(&call->ctx, req, driver_.cq());
      call->reader->StartCall();
      call->reader->Finish(&call->resp, &call->status, call);
    }
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return inflight == 0; });
    if (errors) return absl::StrCat("CreateJob: ", errors, " failed, first: ", first_error);
    return "";
  }

  // Leases every job of `type` (ids must match what was created); "" or the error.
  // `eps`: where to lease (the worker's jobd).
  static std::string AcquireAll(std::vector<Endpoint>& eps, const std::string& type,
                                const std::vector<std::string>& ids, Job* jobs) {
    std::map<std::string, int> index;
    for (size_t i = 0; i < ids.size(); ++i) index[ids[i]] = static_cast<int>(i);
    size_t leased = 0;
    int empty = 0;
    while (leased < ids.size()) {
      v1::AcquireJobsRequest req;
      req.set_workspace_id(absl::GetFlag(FLAGS_workspace));
      req.add_types(type);
      req.set_worker_id("watch-bench");
      req.set_max_jobs(static_cast<int>(std::min<size_t>(100, ids.size() - leased)));
      req.mutable_lease_duration()->set_seconds(3600);
      v1::AcquireJobsResponse resp;
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
      grpc::Status s = eps[0].workers->AcquireJobs(&ctx, req, &resp);
      if (!s.ok()) return absl::StrCat("AcquireJobs: ", StatusText(s));
      if (resp.jobs_size() == 0 && ++empty > 3) {
        return absl::StrCat("AcquireJobs: only ", leased, " of ", ids.size(), " jobs leased");
      }
      for (const auto& lj : resp.jobs()) {
        auto it = index.find(lj.job().id());
        if (it == index.end()) return "AcquireJobs returned a job the benchmark did not create";
        Job& j = jobs[it->second];
        if (!j.lease_token.empty()) return "AcquireJobs returned a job twice";
        j.id = lj.job().id();
        j.lease_token = lj.lease_token();
        ++leased;
      }
    }
    return "";
  }

  std::vector<Endpoint>& endpoints() { return eps_; }

 private:
  std::vector<Endpoint> eps_;
  Driver driver_;
};

// ---------------------------------------------------------------------------------------------
// The watchers: N async WatchJob streams on T completion queues over K channels.

struct Delivery {
  int32_t counter;
  int32_t job;
  int64_t receipt_ns;
};

class WatchSet;

struct Stream final : Tag {
  enum Op { kStart, kRead, kFinish };
  WatchSet* set = nullptr;
  int index = 0, job = 0, thread = 0;
  grpc::ClientContext ctx;
  v1::WatchJobResponse resp;
  std::unique_ptr<grpc::ClientAsyncReader<v1::WatchJobResponse>> reader;
  grpc::Status status;
  Op op = kStart;
  bool snapshot = false;  // got its first event
  std::atomic<int64_t> last_sequence{-1};
  void Proceed(bool ok) override;
};

struct ThreadStats {
  absl::Mutex mu;
  std::vector<Delivery> deliveries;  // latency-phase PROGRESS events of the current phase
  int64_t stale = 0;                 // latency-phase events of an earlier phase
  int64_t gaps = 0, gap_events = 0, duplicates = 0;
  int64_t first_not_snapshot = 0, snapshot_mismatch = 0;
  int64_t other_kinds = 0;  // neither SNAPSHOT nor PROGRESS
  int64_t bad_messages = 0;
  int64_t early_ends = 0;
  std::string first_end;
};

class WatchSet {
 public:
  WatchSet(const std::string& address, int channels, int threads)
      : eps_(MakeEndpoints(address, channels, "watch")) {
    for (int i = 0; i < threads; ++i) {
      drivers_.push_back(std::make_unique<Driver>());
      stats_.push_back(std::make_unique<ThreadStats>());
    }
  }
  ~WatchSet() {
    Close(absl::Seconds(30));
    drivers_.clear();  // joins the completion-queue threads before the streams go
  }

  bool Connect() { return WaitConnected(eps_, absl::Seconds(10)); }

  // Opens `per_job` streams on each of `jobs[0..njobs)`, at most `window` without their
  // SNAPSHOT at a time; returns once every stream has its SNAPSHOT or has ended (or timeout).
  // Reports must not run meanwhile: every watcher of a job is to start from the same sequence.
  void Open(Job* jobs, int njobs, int per_job, int window, absl::Duration timeout) {
    jobs_ = jobs;
    njobs_ = njobs;
    for (int j = 0; j < njobs; ++j) {
      jobs[j].ok_at_open = jobs[j].ok_reports.load();
      jobs[j].base_sequence = -1;
      jobs[j].watchers = per_job;
    }
    const int n = njobs * per_job;
    streams_.reserve(n);
    for (int i = 0; i < n; ++i) {
      auto s = std::make_unique<Stream>();
      s->set = this;
      s->index = i;
      s->job = i % njobs;
      s->thread = i % static_cast<int>(drivers_.size());
      streams_.push_back(std::move(s));
    }
    const int first = std::min(n, std::max(1, window));
    next_start_ = first;
    for (int i = 0; i < first; ++i) StartStream(streams_[i].get());
    const auto deadline = Clock::now() + absl::ToChronoNanoseconds(timeout);
    while (snapshots_.load() + ended_.load() < n && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  int size() const { return static_cast<int>(streams_.size()); }
  int64_t snapshots() const { return snapshots_.load(); }
  int64_t ended() const { return ended_.load(); }

  // Starts a latency phase: deliveries recorded from now on belong to phase `phase`.
  void BeginPhase(int phase) {
    phase_ = phase;
    for (auto& t : stats_) {
      absl::MutexLock l(&t->mu);
      t->deliveries.clear();
    }
  }
  std::vector<Delivery> TakeDeliveries() {
    std::vector<Delivery> all;
    for (auto& t : stats_) {
      absl::MutexLock l(&t->mu);
      all.insert(all.end(), t->deliveries.begin(), t->deliveries.end());
      t->deliveries.clear();
    }
    return all;
  }

  // Events each stream still lacks: its job's base sequence + its OK reports since Open, less
  // the stream's last sequence (streams that ended or never got a SNAPSHOT count in full).
  int64_t Shortfall() const { return SumOverStreams(/*excess=*/false); }
  // Up to `limit` streams that lack events: "job <id>: stream at sequence S, job at T".
  std::vector<std::string> ShortStreams(size_t limit) const {
    std::vector<std::string> out;
    int64_t streams = 0;
    for (const auto& s : streams_) {
      const Job& j = jobs_[s->job];
      const int64_t target = ExpectedLast(j);
      const int64_t last = s->last_sequence.load();
      if (last >= target) continue;
      ++streams;
      if (out.size() < limit) {
        out.push_back(absl::StrCat("job ", j.id, ": stream ", s->index, " at sequence ", last,
                                   ", the job's last event is ", target, " (snapshot ",
                                   j.base_sequence.load(), ")"));
      }
    }
    if (streams > static_cast<int64_t>(out.size())) {
      out.push_back(absl::StrCat("... ", streams, " streams in all"));
    }
    return out;
  }

  // Events beyond the job's expected last sequence (a report that failed yet was written).
  int64_t Excess() const { return SumOverStreams(/*excess=*/true); }

  // The job's expected last sequence: its base sequence + its OK reports since Open.
  static int64_t ExpectedLast(const Job& j) {
    return j.base_sequence.load() + (j.ok_reports.load() - j.ok_at_open);
  }
  // Over all streams, the events each lacks (excess false) or has beyond (excess true) its
  // job's expected last sequence.
  int64_t SumOverStreams(bool excess) const {
    int64_t sum = 0;
    for (const auto& s : streams_) {
      const int64_t ahead = s->last_sequence.load() - ExpectedLast(jobs_[s->job]);
      sum += std::max<int64_t>(0, excess ? ahead : -ahead);
    }
    return sum;
  }

  // Waits until Shortfall() is 0 or the timeout; returns the seconds waited.
  double Drain(absl::Duration timeout) {
    const auto t0 = Clock::now();
    const auto deadline = t0 + absl::ToChronoNanoseconds(timeout);
    while (Shortfall() > 0 && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return Sec(Clock::now() - t0);
  }

  struct Totals {
    int64_t gaps = 0, gap_events = 0, duplicates = 0, first_not_snapshot = 0, snapshot_mismatch = 0,
            other_kinds = 0, bad_messages = 0, early_ends = 0, stale = 0;
    std::string first_end;
  };
  Totals totals() {
    Totals t;
    for (auto& s : stats_) {
      absl::MutexLock l(&s->mu);
      t.gaps += s->gaps;
      t.gap_events += s->gap_events;
      t.duplicates += s->duplicates;
      t.first_not_snapshot += s->first_not_snapshot;
      t.snapshot_mismatch += s->snapshot_mismatch;
      t.other_kinds += s->other_kinds;
      t.bad_messages += s->bad_messages;
      t.early_ends += s->early_ends;
      t.stale += s->stale;
      if (t.first_end.empty()) t.first_end = s->first_end;
    }
    return t;
  }

  // Cancels every stream and waits for each to finish.
  void Close(absl::Duration timeout) {
    if (closing_.exchange(true)) return;
    // Streams not started yet never will be.
    const int n = size();
    int started = std::min(next_start_.exchange(n), n);
    not_started_ = n - started;
    for (int i = 0; i < started; ++i) streams_[i]->ctx.TryCancel();
    const auto deadline = Clock::now() + absl::ToChronoNanoseconds(timeout);
    while (finished_.load() < started && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (finished_.load() < started) {
      Log(absl::StrCat("WARNING: ", started - finished_.load(),
                       " streams did not finish within the close timeout"));
    }
  }

 private:
  friend struct Stream;

  void StartStream(Stream* s) {
    v1::WatchJobRequest req;
    req.set_id(jobs_[s->job].id);
    s->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(30));
    Endpoint& e = eps_[s->index % eps_.size()];
    s->op = Stream::kStart;
    s->reader = e.jobs->PrepareAsyncWatchJob(&s->ctx, req, drivers_[s->thread]->cq());
    s->reader->StartCall(s);
  }

  // Once a stream has its SNAPSHOT (or ended without one): the next waiting one starts.
  void StartNext() {
    const int i = next_start_.fetch_add(1);
    if (i < size()) {
      StartStream(streams_[i].get());
    }
  }

  void OnMessage(Stream* s) {
    const int64_t now = NowNs();
    const v1::JobEvent& ev = s->resp.event();
    const int64_t seq = ev.sequence();
    ThreadStats& t = *stats_[s->thread];
    if (!s->snapshot) {
      s->snapshot = true;
      s->last_sequence = seq;
      Job& j = jobs_[s->job];
      int64_t expected = -1;
      const bool mismatch =
          !j.base_sequence.compare_exchange_strong(expected, seq) && expected != seq;
      {
        absl::MutexLock l(&t.mu);
        if (ev.kind() != v1::JOB_EVENT_KIND_SNAPSHOT) ++t.first_not_snapshot;
        if (mismatch) ++t.snapshot_mismatch;
      }
      snapshots_.fetch_add(1);
      StartNext();
      return;
    }
    absl::MutexLock l(&t.mu);
    const int64_t last = s->last_sequence.load(std::memory_order_relaxed);
    if (seq <= last) {
      ++t.duplicates;
    } else {
      if (seq != last + 1) {
        ++t.gaps;
        t.gap_events += seq - last - 1;
      }
      s->last_sequence.store(seq, std::memory_order_relaxed);
    }
    if (ev.kind() != v1::JOB_EVENT_KIND_PROGRESS) {
      ++t.other_kinds;
      return;
    }
    absl::string_view m = ev.job().progress_message();
    if (absl::ConsumePrefix(&m, "w")) {
      const size_t dot = m.find('.');
      int phase = -1, counter = -1;
      if (dot == absl::string_view::npos || !absl::SimpleAtoi(m.substr(0, dot), &phase) ||
          !absl::SimpleAtoi(m.substr(dot + 1), &counter)) {
        ++t.bad_messages;
      } else if (phase != phase_.load(std::memory_order_relaxed)) {
        ++t.stale;
      } else {
        t.deliveries.push_back({counter, s->job, now});
      }
    } else if (!absl::StartsWith(m, "t")) {
      ++t.bad_messages;
    }
  }

  void OnFinished(Stream* s) {
    if (!closing_.load()) {
      ThreadStats& t = *stats_[s->thread];
      absl::MutexLock l(&t.mu);
      ++t.early_ends;
      if (t.first_end.empty()) {
        t.first_end = absl::StrCat("stream on job ", jobs_[s->job].id, " ended after sequence ",
                                   s->last_sequence.load(), ": ", StatusText(s->status));
      }
    }
    const bool had_snapshot = s->snapshot;
    ended_.fetch_add(had_snapshot ? 0 : 1);
    finished_.fetch_add(1);
    if (!had_snapshot && !closing_.load()) StartNext();
  }

  std::vector<Endpoint> eps_;
  std::vector<std::unique_ptr<Driver>> drivers_;
  std::vector<std::unique_ptr<ThreadStats>> stats_;
  std::vector<std::unique_ptr<Stream>> streams_;
  Job* jobs_ = nullptr;
  int njobs_ = 0;
  std::atomic<int> next_start_{0};
  std::atomic<int64_t> snapshots_{0}, ended_{0}, finished_{0};
  std::atomic<int> phase_{-1};
  std::atomic<bool> closing_{false};
  int not_started_ = 0;
};

void Stream::Proceed(bool ok) {
  switch (op) {
    case kStart:
      if (!ok) {
        op = kFinish;
        reader->Finish(&status, this);
        return;
      }
      op = kRead;
      reader->Read(&resp, this);
      return;
    case kRead:
      if (!ok) {
        op = kFinish;
        reader->Finish(&status, this);
        return;
      }
      set->OnMessage(this);
      reader->Read(&resp, this);
      return;
    case kFinish:
      set->OnFinished(this);
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// The reporter: the benchmark as the jobs' worker.

struct PacedResult {
  int phase = 0;
  int64_t sent = 0, ok = 0, errors = 0;
  std::string first_error;
  std::vector<int32_t> job_of;     // by counter
  std::vector<int64_t> return_ns;  // by counter; kNoTime unless it returned OK
  std::vector<double> call_ms;     // ReportProgress call latencies
  double achieved_rate = NAN;
};

class Reporter {
 public:
  Reporter(const std::string& address, int channels)
      : eps_(MakeEndpoints(address, channels, "report")) {}
  bool Connect() { return WaitConnected(eps_, absl::Seconds(10)); }
  std::vector<Endpoint>& endpoints() { return eps_; }

  // Open loop: report i is sent at t0 + i / rate to job i mod njobs, asynchronously.
  PacedResult Paced(Job* jobs, int njobs, double rate, absl::Duration duration, int phase) {
    PacedResult r;
    r.phase = phase;
    const int64_t n = std::max<int64_t>(1, std::llround(rate * absl::ToDoubleSeconds(duration)));
    r.job_of.assign(n, -1);
    r.return_ns.assign(n, kNoTime);
    r.call_ms.reserve(n);
    std::mutex mu;  // guards r's counters and call_ms
    InFlight inflight;
    const auto t0 = Clock::now();
    for (int64_t i = 0; i < n; ++i) {
      std::this_thread::sleep_until(t0 +
                                    std::chrono::nanoseconds(static_cast<int64_t>(i * 1e9 / rate)));
      const int j = static_cast<int>(i % njobs);
      r.job_of[i] = j;
      inflight.Add();
      Send(jobs[j], absl::StrCat("w", phase, ".", i), static_cast<float>(i % 100), i,
           [&, i, j](UnaryCall<v1::ReportProgressResponse>& c) {
             {
               std::lock_guard<std::mutex> l(mu);
               if (c.status.ok()) {
                 r.return_ns[i] = c.end_ns;
                 ++r.ok;
                 jobs[j].ok_reports.fetch_add(1);
                 r.call_ms.push_back((c.end_ns - c.start_ns) / 1e6);
               } else if (r.errors++ == 0) {
                 r.first_error = StatusText(c.status);
               }
             }
             inflight.Done();
           });
      ++r.sent;
    }
    inflight.Wait();
    r.achieved_rate = r.sent / Sec(Clock::now() - t0);
    return r;
  }

  struct Throughput {
    double rate = NAN;
    int64_t calls = 0, errors = 0;
    std::string first_error;
    double p50_ms = NAN, p99_ms = NAN;
    CpuUse cpu;
  };

  // Closed loop: `reporters` calls in flight, reporter k working on the jobs j ≡ k (mod
  // reporters) in turn (so no two calls update one job at once); calls/s over `duration`
  // after `warmup`.
  Throughput ClosedLoop(Job* jobs, int njobs, int reporters, absl::Duration warmup,
                        absl::Duration duration) {
    Throughput out;
    reporters = std::max(1, std::min(reporters, njobs));
    std::mutex mu;
    std::vector<double> lat;
    int64_t in_window = 0, errors = 0;
    std::string first_error;
    InFlight inflight;
    const auto t0 = Clock::now();
    const int64_t m0 = NowNs() + absl::ToInt64Nanoseconds(warmup);
    const int64_t m1 = m0 + absl::ToInt64Nanoseconds(duration);
    std::function<void(int, int)> issue = [&](int k, int nth) {
      // Jobs of reporter k: k, k + reporters, k + 2 reporters, ... < njobs.
      const int count = (njobs - k + reporters - 1) / reporters;
      const int job = k + (nth % count) * reporters;
      // Unique in the whole process: a report repeating a job's current message and percent
      // is no event (jobd writes none), and every report must be one.
      Send(jobs[job], absl::StrCat("t", next_message_.fetch_add(1)), 50, nth,
           [&, k, nth, job](UnaryCall<v1::ReportProgressResponse>& c) {
             bool again;
             {
               std::lock_guard<std::mutex> l(mu);
               if (c.status.ok()) {
                 jobs[job].ok_reports.fetch_add(1);
                 if (c.end_ns >= m0 && c.end_ns <= m1) {
                   ++in_window;
                   lat.push_back((c.end_ns - c.start_ns) / 1e6);
                 }
               } else if (errors++ == 0) {
                 first_error = StatusText(c.status);
               }
               again = c.end_ns < m1 && errors == 0;
             }
             if (again) {
               issue(k, nth + 1);
             } else {
               inflight.Done();
             }
           });
    };
    for (int k = 0; k < reporters; ++k) {
      inflight.Add();
      issue(k, 0);
    }
    std::this_thread::sleep_until(t0 + absl::ToChronoNanoseconds(warmup));
    const CpuSample c0 = SampleCpu();
    std::this_thread::sleep_until(t0 + absl::ToChronoNanoseconds(warmup + duration));
    out.cpu = CpuBetween(c0, SampleCpu());
    inflight.Wait();
    out.calls = in_window;
    out.errors = errors;
    out.first_error = first_error;
    out.rate = in_window / absl::ToDoubleSeconds(duration);
    out.p50_ms = Percentile(lat, 50);
    out.p99_ms = Percentile(lat, 99);
    return out;
  }

 private:
  void Send(const Job& job, const std::string& message, float percent, int64_t slot,
            std::function<void(UnaryCall<v1::ReportProgressResponse>&)> done) {
    auto* call = new UnaryCall<v1::ReportProgressResponse>();
    call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    call->callback = std::move(done);
    v1::ReportProgressRequest req;
    req.set_job_id(job.id);
    req.set_lease_token(job.lease_token);
    req.set_progress_percent(percent);
    req.set_progress_message(message);
    Endpoint& e = eps_[slot % eps_.size()];
    call->start_ns = NowNs();
    call->reader = e.workers->PrepareAsyncReportProgress(&call->ctx, req, driver_.cq());
    call->reader->StartCall();
    call->reader->Finish(&call->resp, &call->status, call);
  }

  std::vector<Endpoint> eps_;
  Driver driver_;
  static std::atomic<int64_t> next_message_;
};

std::atomic<int64_t> Reporter::next_message_{0};

// ---------------------------------------------------------------------------------------------
// One latency phase: paced reports while the watchers are attached, then drained and matched.

struct LatencyResult {
  double rate = NAN;
  int64_t reports_ok = 0, report_errors = 0;
  int64_t expected = 0, delivered = 0, missing = 0, unmatched = 0, misrouted = 0, negative = 0;
  double p50 = NAN, p99 = NAN, max = NAN, min = NAN;
  double call_p50 = NAN, call_p99 = NAN;  // ReportProgress call latency
  // Per report: its first receipt by any watcher, and the spread from first to last receipt
  // among its watchers (the serial cost of fanning one event out: jobd, gRPC and this client).
  double first_p50 = NAN, first_p99 = NAN, spread_p50 = NAN, spread_p99 = NAN;
  double drain_s = NAN;
  int64_t shortfall = 0, excess = 0;
  std::string first_error;
  CpuUse cpu;
};

LatencyResult MeasureLatency(WatchSet& ws, Reporter& rep, Job* jobs, int njobs, double rate,
                             absl::Duration duration, int phase) {
  LatencyResult out;
  out.rate = rate;
  ws.BeginPhase(phase);
  const CpuSample c0 = SampleCpu();
  PacedResult p = rep.Paced(jobs, njobs, rate, duration, phase);
  const CpuSample c1 = SampleCpu();
  out.cpu = CpuBetween(c0, c1);
  out.drain_s = ws.Drain(absl::GetFlag(FLAGS_drain_timeout));
  out.shortfall = ws.Shortfall();
  out.excess = ws.Excess();
  out.reports_ok = p.ok;
  out.report_errors = p.errors;
  out.first_error = p.first_error;
  out.call_p50 = Percentile(p.call_ms, 50);
  out.call_p99 = Percentile(p.call_ms, 99);
  for (size_t i = 0; i < p.job_of.size(); ++i) {
    if (p.return_ns[i] != kNoTime) out.expected += jobs[p.job_of[i]].watchers;
  }
  std::vector<double> lat;
  std::vector<int64_t> first(p.job_of.size(), INT64_MAX), last(p.job_of.size(), INT64_MIN);
  for (const Delivery& d : ws.TakeDeliveries()) {
    if (d.counter < 0 || d.counter >= static_cast<int64_t>(p.job_of.size()) ||
        p.job_of[d.counter] != d.job) {
      ++out.misrouted;
      continue;
    }
    if (p.return_ns[d.counter] == kNoTime) {
      ++out.unmatched;
      continue;
    }
    const double ms = (d.receipt_ns - p.return_ns[d.counter]) / 1e6;
    if (ms < 0) ++out.negative;
    lat.push_back(ms);
    first[d.counter] = std::min(first[d.counter], d.receipt_ns);
    last[d.counter] = std::max(last[d.counter], d.receipt_ns);
  }
  std::vector<double> firsts, spreads;
  for (size_t i = 0; i < first.size(); ++i) {
    if (first[i] == INT64_MAX) continue;
    firsts.push_back((first[i] - p.return_ns[i]) / 1e6);
    spreads.push_back((last[i] - first[i]) / 1e6);
  }
  out.first_p50 = Percentile(firsts, 50);
  out.first_p99 = Percentile(firsts, 99);
  out.spread_p50 = Percentile(spreads, 50);
  out.spread_p99 = Percentile(spreads, 99);
  out.delivered = static_cast<int64_t>(lat.size());
  out.missing = std::max<int64_t>(0, out.expected - out.delivered);
  if (!lat.empty()) {
    out.min = *std::min_element(lat.begin(), lat.end());
    out.max = *std::max_element(lat.begin(), lat.end());
  }
  out.p50 = Percentile(lat, 50);
  out.p99 = Percentile(lat, 99);
  return out;
}

std::string LatencyText(const LatencyResult& r) {
  return absl::StrFormat(
      "%.0f reports/s (%s deliveries/s): %s reports OK (%d failed), deliveries %s of %s "
      "expected, missing %s; "
      "latency p50 %.2f ms, p99 %.2f ms, max %.2f ms, min %.2f ms (%s negative); "
      "per report: first receipt p50 %.2f / p99 %.2f ms, first-to-last receipt p50 %.2f / "
      "p99 %.2f ms; ReportProgress call p50 %.2f / p99 %.2f ms; drained in %.2f s; cores: %s",
      r.rate, Commas(std::llround(r.rate * (r.reports_ok ? double(r.expected) / r.reports_ok : 0))),
      Commas(r.reports_ok), r.report_errors, Commas(r.delivered), Commas(r.expected),
      Commas(r.missing), r.p50, r.p99, r.max, r.min, Commas(r.negative), r.first_p50, r.first_p99,
      r.spread_p50, r.spread_p99, r.call_p50, r.call_p99, r.drain_s, CpuText(r.cpu));
}

void PutLatency(Results& res, const std::string& k, const LatencyResult& r) {
  res.Put(k + ".rate", r.rate);
  res.Put(k + ".reports", r.reports_ok);
  res.Put(k + ".report_errors", r.report_errors);
  res.Put(k + ".expected", r.expected);
  res.Put(k + ".delivered", r.delivered);
  res.Put(k + ".missing", r.missing);
  res.Put(k + ".unmatched", r.unmatched);
  res.Put(k + ".misrouted", r.misrouted);
  res.Put(k + ".negative", r.negative);
  res.Put(k + ".p50", r.p50);
  res.Put(k + ".p99", r.p99);
  res.Put(k + ".max", r.max);
  res.Put(k + ".min", r.min);
  res.Put(k + ".first_p50", r.first_p50);
  res.Put(k + ".first_p99", r.first_p99);
  res.Put(k + ".spread_p50", r.spread_p50);
  res.Put(k + ".spread_p99", r.spread_p99);
  res.Put(k + ".call_p50", r.call_p50);
  res.Put(k + ".call_p99", r.call_p99);
  res.Put(k + ".shortfall", r.shortfall);
  res.Put(k + ".cpu_bench", r.cpu.bench);
  res.Put(k + ".cpu_jobd", r.cpu.jobd1);
  res.Put(k + ".cpu_jobd2", r.cpu.jobd2);
  res.Put(k + ".cpu_pg", r.cpu.postgres);
  res.Put(k + ".cpu_other", r.cpu.other);
}

bool LatencyClean(const LatencyResult& r) {
  return r.report_errors == 0 && r.missing == 0 && r.unmatched == 0 && r.misrouted == 0 &&
         r.shortfall == 0 && r.excess == 0 && r.delivered > 0;
}

// Checks of a whole WatchSet; logs and returns whether all passed.
bool CheckStreams(WatchSet& ws, Results& res, const std::string& k) {
  const WatchSet::Totals t = ws.totals();
  res.Add(k + ".gaps", t.gap_events);
  res.Add(k + ".duplicates", t.duplicates);
  res.Add(k + ".early_ends", t.early_ends);
  res.Add(k + ".other_kinds", t.other_kinds);
  Log(absl::StrFormat(
      "  stream checks: gaps %d (%d events), duplicates %d, first event not SNAPSHOT %d, "
      "SNAPSHOT sequence differing between watchers of a job %d, other event kinds %d, "
      "unparsable messages %d, events of an earlier phase %d, streams that ended early %d%s",
      t.gaps, t.gap_events, t.duplicates, t.first_not_snapshot, t.snapshot_mismatch, t.other_kinds,
      t.bad_messages, t.stale, t.early_ends,
      t.first_end.empty() ? "" : absl::StrCat(" (first: ", t.first_end, ")")));
  return t.gaps == 0 && t.duplicates == 0 && t.first_not_snapshot == 0 &&
         t.snapshot_mismatch == 0 && t.other_kinds == 0 && t.bad_messages == 0 && t.early_ends == 0;
}

std::string RunTag() {
  return absl::StrCat(getpid(), "-", absl::ToUnixMillis(absl::Now()) % 100000000);
}

// Creates and leases `n` jobs; "" or the error.
std::string MakeJobs(Control& control, std::vector<Endpoint>& lease_eps, const std::string& type,
                     int n, std::unique_ptr<Job[]>* jobs) {
  std::vector<std::string> ids;
  const auto t0 = Clock::now();
  if (std::string e = control.CreateJobs(type, n, &ids); !e.empty()) return e;
  const double create_s = Sec(Clock::now() - t0);
  jobs->reset(new Job[n]);
  if (std::string e = Control::AcquireAll(lease_eps, type, ids, jobs->get()); !e.empty()) {
    return e;
  }
  Log(absl::StrFormat("  %s jobs of type %s created in %.2f s and leased in %.2f s", Commas(n),
                      type, create_s, Sec(Clock::now() - t0) - create_s));
  return "";
}

// ---------------------------------------------------------------------------------------------
// Parts.

int RunFanout(Results& res) {
  const std::string layout = absl::GetFlag(FLAGS_layout);
  const int n = absl::GetFlag(FLAGS_streams);
  if ((layout != "few" && layout != "many") || n < 1) {
    std::fprintf(stderr, "watch_bench: --layout few|many and --streams ≥ 1\n");
    return 2;
  }
  const int njobs = layout == "few" ? std::min(n, absl::GetFlag(FLAGS_few_jobs)) : n;
  const int per_job = n / njobs;
  const int streams = njobs * per_job;
  const int pid = absl::GetFlag(FLAGS_jobd_pid);
  std::vector<int> rates;
  for (absl::string_view r :
       absl::StrSplit(layout == "few" ? absl::GetFlag(FLAGS_report_rates_few)
                                      : absl::GetFlag(FLAGS_report_rates_many),
                      ',', absl::SkipEmpty())) {
    int v;
    if (!absl::SimpleAtoi(r, &v) || v < 1) {
      std::fprintf(stderr, "watch_bench: bad report rate '%s'\n", std::string(r).c_str());
      return 2;
    }
    rates.push_back(v);
  }
  const int rounds = !absl::GetFlag(FLAGS_tput) ? 0
                     : layout == "few"          ? absl::GetFlag(FLAGS_tput_rounds_few)
                                                : absl::GetFlag(FLAGS_tput_rounds);
  const std::string k = absl::StrCat(layout, ".", streams);
  Log(
      absl::StrFormat("== fanout, layout %s: %s streams on %s jobs (%d per job) over %d channels, "
                      "%d client threads",
                      layout, Commas(streams), Commas(njobs), per_job,
                      absl::GetFlag(FLAGS_channels), absl::GetFlag(FLAGS_client_threads)));
  bool clean = true;

  Control control(absl::GetFlag(FLAGS_address));
  Reporter reporter(absl::GetFlag(FLAGS_address), 2);
  if (!control.Connect() || !reporter.Connect()) {
    Log("watch_bench: cannot connect to jobd");
    return 1;
  }
  std::unique_ptr<Job[]> jobs;
  const std::string type = absl::StrCat("bench.watch.", layout, "-", streams, "-", RunTag());
  if (std::string e = MakeJobs(control, reporter.endpoints(), type, njobs, &jobs); !e.empty()) {
    Log("watch_bench: " + e);
    return 1;
  }
  res.Put(k + ".jobs", njobs);
  res.Put(k + ".per_job", per_job);

  const int reporters = absl::GetFlag(FLAGS_tput_reporters);
  const absl::Duration tw = absl::GetFlag(FLAGS_tput_warmup),
                       td = absl::GetFlag(FLAGS_tput_duration);
  std::vector<Reporter::Throughput> without, with;  // 0 watchers: rounds + 1 runs; N: rounds
  auto tput_text = [&](const Reporter::Throughput& t) {
    return absl::StrFormat(
        "%s calls/s (%s in %.0f s, %d failed%s; call p50 %.2f / p99 %.2f ms); "
        "cores: %s",
        Commas(std::llround(t.rate)), Commas(t.calls), absl::ToDoubleSeconds(td), t.errors,
        t.first_error.empty() ? "" : absl::StrCat(", first: ", t.first_error), t.p50_ms, t.p99_ms,
        CpuText(t.cpu));
  };
  auto measure_without = [&] {
    without.push_back(reporter.ClosedLoop(jobs.get(), njobs, reporters, tw, td));
    Log(absl::StrFormat("  throughput, 0 watchers (run %d): ", without.size()) +
        tput_text(without.back()));
    clean &= without.back().errors == 0;
  };
  auto jobd_alive = [&] {
    if (pid > 0 && ReadStatus(pid).rss_kib < 0) {
      Log(absl::StrCat("  jobd (pid ", pid, ") is gone: see its log"));
      clean = false;
      return false;
    }
    return true;
  };
  // The throughput run with the streams of `ws` attached, and the wait for them to catch up.
  auto measure_with = [&](WatchSet& ws) {
    with.push_back(reporter.ClosedLoop(jobs.get(), njobs, reporters, tw, td));
    Log(absl::StrFormat("  throughput, %s watchers (run %d): ", Commas(streams), with.size()) +
        tput_text(with.back()));
    clean &= with.back().errors == 0;
    const int64_t backlog = ws.Shortfall();
    const ProcStatus at_end = ReadStatus(pid);
    const double drain_s = ws.Drain(absl::GetFlag(FLAGS_tput_drain_timeout));
    const int64_t left = ws.Shortfall();
    const ProcStatus drained = ReadStatus(pid);
    Log(absl::StrFormat(
        "  after it: %s events not yet delivered to the watchers (jobd VmRSS %s "
        "KiB); %s still missing after %.2f s of waiting (VmRSS %s KiB)",
        Commas(backlog), Commas(at_end.rss_kib), Commas(left), drain_s, Commas(drained.rss_kib)));
    res.Add(k + ".tput_backlog", backlog);
    res.Add(k + ".tput_left", left);
    res.Put(k + ".tput_drain_s", std::max(drain_s, res.Get(k + ".tput_drain_s")));
    res.Put(k + ".rss_tput_max", std::max<double>(std::max(at_end.rss_kib, drained.rss_kib),
                                                  res.Get(k + ".rss_tput_max")));
    if (left > 0) {
      Log("  WARNING: the watchers did not catch up in time (see tput_left)");
      for (const auto& line : ws.ShortStreams(5)) Log("  lacking events: " + line);
    }
  };
  auto open = [&](WatchSet& ws) {
    if (!ws.Connect()) {
      Log("watch_bench: the watch channels cannot connect");
      return false;
    }
    const CpuSample o0 = SampleCpu();
    const auto open0 = Clock::now();
    ws.Open(jobs.get(), njobs, per_job, absl::GetFlag(FLAGS_open_window),
            absl::GetFlag(FLAGS_open_timeout));
    const double open_s = Sec(Clock::now() - open0);
    const CpuUse open_cpu = CpuBetween(o0, SampleCpu());
    Log(absl::StrFormat(
        "  %s of %s streams have their SNAPSHOT after %.2f s (%s ended without); "
        "cores: %s",
        Commas(ws.snapshots()), Commas(streams), open_s, Commas(ws.ended()), CpuText(open_cpu)));
    if (std::isnan(res.Get(k + ".open_s"))) res.Put(k + ".open_s", open_s);
    if (ws.snapshots() != streams) {
      clean = false;
      CheckStreams(ws, res, k);
      Log("watch_bench: not every stream got its SNAPSHOT");
      return false;
    }
    return true;
  };
  auto finish = [&](int rc) {
    res.Put(k + ".clean", clean ? 1 : 0);
    res.Write(absl::GetFlag(FLAGS_results));
    Log(clean ? "  all checks passed" : "  CHECKS FAILED (see above)");
    return clean ? rc : 1;
  };

  if (rounds > 0) measure_without();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const ProcStatus before = ReadStatus(pid);
  {
    // Round 1: memory, latency, throughput.
    WatchSet ws(absl::GetFlag(FLAGS_address), absl::GetFlag(FLAGS_channels),
                absl::GetFlag(FLAGS_client_threads));
    if (!open(ws)) return finish(1);
    std::this_thread::sleep_for(std::chrono::seconds(2));
    const ProcStatus after = ReadStatus(pid);
    const double per_stream = static_cast<double>(after.rss_kib - before.rss_kib) / streams;
    Log(
        absl::StrFormat("  jobd VmRSS %s KiB before, %s KiB with %s idle streams (and %d more "
                        "connections): %.2f KiB per stream (RssAnon %s → %s KiB); threads %d → %d",
                        Commas(before.rss_kib), Commas(after.rss_kib), Commas(streams),
                        absl::GetFlag(FLAGS_channels), per_stream, Commas(before.anon_kib),
                        Commas(after.anon_kib), before.threads, after.threads));
    res.Put(k + ".rss_before", before.rss_kib);
    res.Put(k + ".rss_after", after.rss_kib);
    res.Put(k + ".kib_per_stream", per_stream);
    res.Put(k + ".threads_before", before.threads);
    res.Put(k + ".threads_after", after.threads);

    std::string rate_list;
    for (size_t i = 0; i < rates.size(); ++i) {
      const LatencyResult lat =
          MeasureLatency(ws, reporter, jobs.get(), njobs, rates[i],
                         absl::GetFlag(FLAGS_latency_duration), static_cast<int>(i) + 1);
      Log("  latency: " + LatencyText(lat));
      for (const auto& line : ws.ShortStreams(5)) Log("  lacking events: " + line);
      if (!lat.first_error.empty()) Log("  first report error: " + lat.first_error);
      if (lat.unmatched || lat.misrouted || lat.excess) {
        Log(
            absl::StrFormat("  WARNING: %d deliveries of failed reports, %d on the wrong job, %d "
                            "events beyond the expected last sequence",
                            lat.unmatched, lat.misrouted, lat.excess));
      }
      PutLatency(res, absl::StrCat(k, ".lat", rates[i]), lat);
      rate_list += absl::StrCat(i ? "," : "", rates[i]);
      clean &= LatencyClean(lat);
      if (!jobd_alive()) return finish(1);
    }
    res.PutText(k + ".rates", rate_list);
    if (rounds > 0) measure_with(ws);
    clean &= CheckStreams(ws, res, k);
    if (!jobd_alive()) return finish(1);
    const ProcStatus busy = ReadStatus(pid);
    ws.Close(absl::Seconds(30));
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const ProcStatus closed = ReadStatus(pid);
    Log(
        absl::StrFormat("  jobd VmRSS %s KiB at the end of the phases, %s KiB 1 s after the "
                        "streams were cancelled; threads %d",
                        Commas(busy.rss_kib), Commas(closed.rss_kib), closed.threads));
    res.Put(k + ".rss_end", busy.rss_kib);
    res.Put(k + ".rss_closed", closed.rss_kib);
  }
  if (rounds > 0) measure_without();
  // Further rounds: streams again, throughput with them, closed, throughput without.
  for (int r = 1; r < rounds && clean; ++r) {
    {
      WatchSet ws(absl::GetFlag(FLAGS_address), absl::GetFlag(FLAGS_channels),
                  absl::GetFlag(FLAGS_client_threads));
      if (!open(ws)) return finish(1);
      std::this_thread::sleep_for(std::chrono::seconds(1));
      measure_with(ws);
      clean &= CheckStreams(ws, res, k);
      if (!jobd_alive()) return finish(1);
      ws.Close(absl::Seconds(30));
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
    measure_without();
  }
  res.Put(k + ".shortfall", res.Get(k + ".tput_left"));
  if (rounds > 0) {
    // A run that failed (say, jobd is gone) is no measurement.
    auto mean = [](const std::vector<Reporter::Throughput>& v, double Reporter::Throughput::*f,
                   bool cpu = false) {
      double sum = 0;
      int count = 0;
      for (const auto& t : v) {
        if (t.errors || t.calls == 0) continue;
        sum += cpu ? t.cpu.jobd1 : t.*f;
        ++count;
      }
      return count ? sum / count : NAN;
    };
    auto list = [](const std::vector<Reporter::Throughput>& v) {
      std::string s;
      for (const auto& t : v) {
        if (!s.empty()) s += " / ";
        s += t.errors || t.calls == 0 ? "-" : Commas(std::llround(t.rate));
      }
      return s;
    };
    const double base = mean(without, &Reporter::Throughput::rate);
    const double loaded = mean(with, &Reporter::Throughput::rate);
    double other = 0;
    for (const auto& t : without) other = std::max(other, t.cpu.other);
    double other_n = 0;
    for (const auto& t : with) other_n = std::max(other_n, t.cpu.other);
    res.Put(k + ".tput0", base);
    res.Put(k + ".tputN", loaded);
    res.Put(k + ".tput_ratio", loaded / base);
    res.Put(k + ".tput_rounds", rounds);
    res.Put(k + ".tput0_cpu_jobd", mean(without, nullptr, true));
    res.Put(k + ".tputN_cpu_jobd", mean(with, nullptr, true));
    res.Put(k + ".tput0_cpu_other", other);
    res.Put(k + ".tputN_cpu_other", other_n);
    Log(
        absl::StrFormat("  throughput: 0 watchers %s calls/s (mean %s), %s watchers %s (mean %s): "
                        "ratio %.3f",
                        list(without), Commas(std::llround(base)), Commas(streams), list(with),
                        Commas(std::llround(loaded)), loaded / base));
    res.PutText(k + ".tput0_runs", list(without));
    res.PutText(k + ".tputN_runs", list(with));
  }
  return finish(0);
}

int RunCross(Results& res) {
  const std::string a1 = absl::GetFlag(FLAGS_address), a2 = absl::GetFlag(FLAGS_address2);
  if (a2.empty()) {
    std::fprintf(stderr, "watch_bench: --part cross needs --address2\n");
    return 2;
  }
  const double rate = absl::GetFlag(FLAGS_report_rate);
  const absl::Duration d = absl::GetFlag(FLAGS_cross_duration);
  const int few = absl::GetFlag(FLAGS_few_jobs);
  const int n = absl::GetFlag(FLAGS_cross_streams);
  const int per_job = std::max(1, n / few);
  Log(absl::StrFormat("== cross-replica: watchers on jobd #1 (%s), reporter on jobd #2 (%s)", a1,
                      a2));
  bool clean = true;
  Control control(a1);
  Reporter r1(a1, 2), r2(a2, 2);
  if (!control.Connect() || !r1.Connect() || !r2.Connect()) {
    Log("watch_bench: cannot connect to jobd #1 or #2");
    return 1;
  }
  const std::string tag = RunTag();
  std::unique_ptr<Job[]> single, many;
  if (std::string e =
          MakeJobs(control, r2.endpoints(), absl::StrCat("bench.watch.single-", tag), 1, &single);
      !e.empty()) {
    Log("watch_bench: " + e);
    return 1;
  }
  if (std::string e =
          MakeJobs(control, r2.endpoints(), absl::StrCat("bench.watch.cross-", tag), few, &many);
      !e.empty()) {
    Log("watch_bench: " + e);
    return 1;
  }
  int phase = 1;
  auto run = [&](const std::string& key, const std::string& what, Reporter& rep, Job* jobs,
                 int njobs, int per) {
    WatchSet ws(a1, std::min(absl::GetFlag(FLAGS_channels), njobs * per),
                absl::GetFlag(FLAGS_client_threads));
    if (!ws.Connect()) {
      Log("watch_bench: the watch channels cannot connect");
      clean = false;
      return;
    }
    ws.Open(jobs, njobs, per, absl::GetFlag(FLAGS_open_window), absl::GetFlag(FLAGS_open_timeout));
    if (ws.snapshots() != njobs * per) {
      Log(absl::StrCat("  ", what, ": only ", ws.snapshots(), " of ", njobs * per,
                       " streams got their SNAPSHOT"));
      CheckStreams(ws, res, key);
      clean = false;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const LatencyResult lat = MeasureLatency(ws, rep, jobs, njobs, rate, d, phase++);
    Log(absl::StrCat("  ", what, ": ", LatencyText(lat)));
    for (const auto& line : ws.ShortStreams(5)) Log("  lacking events: " + line);
    if (!lat.first_error.empty()) Log("  first report error: " + lat.first_error);
    PutLatency(res, key, lat);
    clean &= LatencyClean(lat);
    clean &= CheckStreams(ws, res, key);
  };
  run("base1", "1 watcher, reporter on jobd #1 (same process, baseline)", r1, single.get(), 1, 1);
  run("cross1", "1 watcher, reporter on jobd #2", r2, single.get(), 1, 1);
  run("crossN",
      absl::StrFormat("%s watchers on %d jobs, reporter on jobd #2", Commas(few * per_job), few),
      r2, many.get(), few, per_job);
  res.Put("cross.streams", few * per_job);
  res.Put("cross.clean", clean ? 1 : 0);
  res.Write(absl::GetFlag(FLAGS_results));
  Log(clean ? "  all checks passed" : "  CHECKS FAILED (see above)");
  return clean ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// Summary.

std::string F(double v, int digits = 2) {
  return std::isnan(v) ? "-" : absl::StrFormat("%.*f", digits, v);
}
std::string N(double v) { return std::isnan(v) ? "-" : Commas(std::llround(v)); }

int RunSummary() {
  Results r;
  if (!r.Read(absl::GetFlag(FLAGS_results))) {
    std::fprintf(stderr, "watch_bench: cannot read --results\n");
    return 2;
  }
  std::vector<std::string> configs;
  for (const char* layout : {"few", "many"}) {
    for (int n : {1000, 10000}) {
      const std::string k = absl::StrCat(layout, ".", n);
      if (!std::isnan(r.Get(k + ".jobs"))) configs.push_back(k);
    }
  }
  std::string out = "\n";
  if (!absl::GetFlag(FLAGS_header).empty()) out += absl::GetFlag(FLAGS_header) + "\n";
  out +=
      "\nWatch fan-out on one jobd (a fresh jobd process per row). Delivery latency = the "
      "watcher's receipt of the PROGRESS event − the return of its ReportProgress call "
      "(steady clock, same host; negative when the event beat the reply; nothing clamped).\n\n";
  out +=
      "| layout | streams | jobs × watchers | reports/s | deliveries | missing | gaps | dups "
      "| p50 ms | p99 ms | max ms | < 0 | first receipt p50 ms | first-to-last p50 / p99 ms "
      "| open s | KiB/stream | jobd threads | cores bench / jobd / pg / other |\n";
  out +=
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
  for (const auto& k : configs) {
    const std::string l = k.substr(0, k.find('.'));
    const std::string s = k.substr(k.find('.') + 1);
    for (absl::string_view rate :
         absl::StrSplit(r.GetText(k + ".rates", ""), ',', absl::SkipEmpty())) {
      const std::string q = absl::StrCat(k, ".lat", rate);
      out += absl::StrCat("| ", l, " | ", N(std::stod(s)), " | ", N(r.Get(k + ".jobs")), " × ",
                          N(r.Get(k + ".per_job")), " | ", F(r.Get(q + ".rate"), 0), " | ",
                          N(r.Get(q + ".delivered")), " | ", N(r.Get(q + ".missing")), " | ",
                          N(r.Get(k + ".gaps")), " | ", N(r.Get(k + ".duplicates")), " | ",
                          F(r.Get(q + ".p50")), " | ", F(r.Get(q + ".p99")), " | ",
                          F(r.Get(q + ".max")), " | ", N(r.Get(q + ".negative")), " | ",
                          F(r.Get(q + ".first_p50")), " | ", F(r.Get(q + ".spread_p50")), " / ",
                          F(r.Get(q + ".spread_p99")), " | ", F(r.Get(k + ".open_s")), " | ",
                          F(r.Get(k + ".kib_per_stream")), " | ", N(r.Get(k + ".threads_before")),
                          " → ", N(r.Get(k + ".threads_after")), " | ", F(r.Get(q + ".cpu_bench")),
                          " / ", F(r.Get(q + ".cpu_jobd")), " / ", F(r.Get(q + ".cpu_pg")), " / ",
                          F(r.Get(q + ".cpu_other")), " |\n");
    }
  }
  out +=
      "\n(gaps, dups, open s, KiB/stream and threads are per streams row, repeated on each "
      "rate. first receipt: the earliest watcher of a report; first-to-last: how long one "
      "report takes to reach all of its watchers.)\n";
  out += "\nReportProgress throughput, closed loop (" +
         absl::StrCat(absl::GetFlag(FLAGS_tput_reporters)) +
         " calls in flight, no two on one job, " +
         absl::StrCat(absl::ToInt64Seconds(absl::GetFlag(FLAGS_tput_duration))) +
         " s each) on the same jobs, alternating: without watchers, with the streams open, "
         "without (streams closed), ...; the ratio is of the means:\n\n";
  out +=
      "| layout | watchers | 0 watchers calls/s | with watchers calls/s | ratio | jobd cores "
      "0 / N | backlog after | waited s | left undelivered | jobd peak VmRSS MiB |\n";
  out += "|---|---:|---|---|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& k : configs) {
    if (std::isnan(r.Get(k + ".tput_ratio"))) continue;
    const std::string l = k.substr(0, k.find('.'));
    const std::string s = k.substr(k.find('.') + 1);
    out += absl::StrCat("| ", l, " | ", N(std::stod(s)), " | ", r.GetText(k + ".tput0_runs"), " | ",
                        r.GetText(k + ".tputN_runs"), " | ", F(r.Get(k + ".tput_ratio"), 3), " | ",
                        F(r.Get(k + ".tput0_cpu_jobd")), " / ", F(r.Get(k + ".tputN_cpu_jobd")),
                        " | ", N(r.Get(k + ".tput_backlog")), " | ",
                        F(r.Get(k + ".tput_drain_s"), 1), " | ", N(r.Get(k + ".tput_left")), " | ",
                        N(r.Get(k + ".rss_tput_max") / 1024), " |\n");
  }
  if (!std::isnan(r.Get("base1.p50"))) {
    out +=
        "\nCross-replica (jobd #1 and #2 on one database; watchers on #1), and the same-run "
        "baseline:\n\n";
    out +=
        "| watchers | reporter on | reports/s | deliveries | missing | p50 ms | p99 ms | max ms "
        "| < 0 | ReportProgress p50 ms | cores bench / jobd#1 / jobd#2 / pg / other |\n";
    out += "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
    for (const auto& [k, who, w] : std::vector<std::tuple<std::string, std::string, double>>{
             {"base1", "jobd #1 (baseline)", 1},
             {"cross1", "jobd #2", 1},
             {"crossN", "jobd #2", r.Get("cross.streams")}}) {
      out += absl::StrCat("| ", N(w), " | ", who, " | ", F(r.Get(k + ".rate"), 0), " | ",
                          N(r.Get(k + ".delivered")), " | ", N(r.Get(k + ".missing")), " | ",
                          F(r.Get(k + ".p50")), " | ", F(r.Get(k + ".p99")), " | ",
                          F(r.Get(k + ".max")), " | ", N(r.Get(k + ".negative")), " | ",
                          F(r.Get(k + ".call_p50")), " | ", F(r.Get(k + ".cpu_bench")), " / ",
                          F(r.Get(k + ".cpu_jobd")), " / ", F(r.Get(k + ".cpu_jobd2")), " / ",
                          F(r.Get(k + ".cpu_pg")), " / ", F(r.Get(k + ".cpu_other")), " |\n");
    }
  }
  // Targets.
  out += "\nTargets:\n\n| target | measured | met? |\n|---|---|---|\n";
  auto verdict = [](bool known, bool met) {
    return !known ? "not measured" : met ? "met" : "NOT met";
  };
  for (const char* layout : {"few", "many"}) {
    const std::string k = absl::StrCat(layout, ".10000");
    double missing = 0;
    for (absl::string_view rate :
         absl::StrSplit(r.GetText(k + ".rates", ""), ',', absl::SkipEmpty())) {
      const std::string q = absl::StrCat(k, ".lat", rate);
      const double p50 = r.Get(q + ".p50"), p99 = r.Get(q + ".p99");
      missing += r.Get(q + ".missing");
      const std::string what = absl::StrCat(
          "10,000 streams (", layout, ", ", rate,
          " reports/s = ", N(r.Get(q + ".rate") * r.Get(k + ".per_job")), " deliveries/s)");
      out += absl::StrCat("| ", what, ": p50 ≤ 5 ms | ", F(p50), " ms | ",
                          verdict(!std::isnan(p50), p50 <= 5), " |\n");
      out += absl::StrCat("| ", what, ": p99 ≤ 20 ms | ", F(p99), " ms | ",
                          verdict(!std::isnan(p99), p99 <= 20), " |\n");
    }
    if (r.GetText(k + ".rates", "").empty()) missing = NAN;
    const double miss = missing + r.Get(k + ".gaps") + r.Get(k + ".duplicates");
    out +=
        absl::StrCat("| 10,000 streams (", layout, "): every event, once, in order | ", N(missing),
                     " missing, ", N(r.Get(k + ".gaps")), " gaps, ", N(r.Get(k + ".duplicates")),
                     " duplicates | ", verdict(!std::isnan(miss), miss == 0), " |\n");
  }
  for (const char* layout : {"few", "many"}) {
    for (int n : {1000, 10000}) {
      const std::string k = absl::StrCat(layout, ".", n);
      const double v = r.Get(k + ".kib_per_stream");
      if (std::isnan(v)) continue;
      out += absl::StrCat("| ≤ 16 KiB RSS per idle stream (", layout, ", ", Commas(n), ") | ", F(v),
                          " KiB | ", verdict(true, v <= 16), " |\n");
    }
  }
  for (const char* layout : {"many", "few"}) {
    const std::string k = absl::StrCat(layout, ".10000");
    const double ratio = r.Get(k + ".tput_ratio");
    out += absl::StrCat("| throughput drop ≤ 10% with 10,000 watchers (", layout, ") | ",
                        std::isnan(ratio)
                            ? "-"
                            : absl::StrFormat("%.1f%% drop (ratio %.3f)", (1 - ratio) * 100, ratio),
                        " | ", verdict(!std::isnan(ratio), ratio >= 0.9), " |\n");
  }
  for (const char* k : {"cross1", "crossN"}) {
    const double p99 = r.Get(std::string(k) + ".p99");
    out += absl::StrCat("| cross-replica p99 ≤ 50 ms (",
                        k == std::string("cross1")
                            ? "1 watcher"
                            : absl::StrCat(N(r.Get("cross.streams")), " watchers"),
                        ") | ", F(p99), " ms | ", verdict(!std::isnan(p99), p99 <= 50), " |\n");
  }
  // Disturbance.
  std::vector<std::string> disturbed;
  for (const auto& k : configs) {
    for (const char* m : {".tputN_cpu_other", ".tput0_cpu_other"}) {
      if (r.Get(k + m) > kDisturbedCores) disturbed.push_back(k + m);
    }
    for (absl::string_view rate :
         absl::StrSplit(r.GetText(k + ".rates", ""), ',', absl::SkipEmpty())) {
      const std::string q = absl::StrCat(k, ".lat", rate, ".cpu_other");
      if (r.Get(q) > kDisturbedCores) disturbed.push_back(q);
    }
  }
  for (const char* k : {"base1", "cross1", "crossN"}) {
    if (r.Get(std::string(k) + ".cpu_other") > kDisturbedCores) disturbed.push_back(k);
  }
  if (!disturbed.empty()) {
    std::string list;
    for (const auto& d : disturbed) list += " " + d;
    out += absl::StrFormat("\nWARNING: other processes used more than %.2f cores during:%s\n",
                           kDisturbedCores, list);
  }
  bool all_clean = true;
  for (const auto& k : configs) all_clean &= r.Get(k + ".clean") == 1;
  if (!std::isnan(r.Get("cross.clean"))) all_clean &= r.Get("cross.clean") == 1;
  out += all_clean ? "\nEvery part's checks passed.\n"
                   : "\nSOME CHECKS FAILED (see the parts' output).\n";
  std::fputs(out.c_str(), stdout);
  return all_clean ? 0 : 1;
}

void RaiseFileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace

int main(int argc, char** argv) {
  InitBench(argc, argv,
            "watch_bench --part fanout|cross|summary --address HOST:PORT [--flags] (see "
            "bench/run_watch.sh)");
  RaiseFileLimit();
  const std::string part = absl::GetFlag(FLAGS_part);
  if (part == "summary") return RunSummary();
  if (absl::GetFlag(FLAGS_address).empty()) {
    std::fprintf(stderr, "watch_bench: --address is required\n");
    return 2;
  }
  if (part != "fanout" && part != "cross") {
    std::fprintf(stderr, "watch_bench: --part fanout, cross or summary\n");
    return 2;
  }
  Results res;
  const CpuSample c0 = SampleCpu();
  const int rc = part == "fanout" ? RunFanout(res) : RunCross(res);
  const CpuSample c1 = SampleCpu();
  Log(absl::StrFormat(
      "  watch_bench used %.1f s of CPU in %.1f s (jobd #1 %.1f s%s, PostgreSQL "
      "%.1f s)",
      c1.self - c0.self, Sec(c1.at - c0.at), c1.jobd1 - c0.jobd1,
      absl::GetFlag(FLAGS_jobd2_pid) > 0 ? absl::StrFormat(", jobd #2 %.1f s", c1.jobd2 - c0.jobd2)
                                         : "",
      c1.postgres - c0.postgres));
  return rc;
}
