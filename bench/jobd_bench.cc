// jobd_bench: the end-to-end throughput benchmark, against one running jobd and its database.
//
//   (a) CreateJob throughput and latency at concurrency 1, 8, 32, 64 (closed loop);
//   (b) end to end: N no-op jobs created, then acquired in batches and completed by workers with
//       a total concurrency of 32; jobs/s from the first acquire to the last completion;
//   (c) wake-up latency: one idle worker long-polls; create-call start to AcquireJobs returning
//       the job, one job at a time;
//   (d) pgbench's single-row INSERT TPS on the same database at the same client counts, printed
//       beside (a) as the ratio jobd/pgbench.
//
// The client is the gRPC async API driven by one completion-queue thread (by default), so that
// the client takes as little of the machine's cores as possible: client, jobd and PostgreSQL
// share them. Each phase reports the client's own CPU use and the whole machine's.
//
// Exit status: 0 when every selected phase ran and verified, 1 when one failed, 2 on bad usage.
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
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <libpq-fe.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/bench_util.h"
#include "jobd/v1/job_service.grpc.pb.h"
#include "jobd/v1/worker_service.grpc.pb.h"

ABSL_FLAG(std::string, address, "", "host:port of a running jobd (required)");
ABSL_FLAG(std::string, database_url, "",
          "libpq URL of jobd's database: for pgbench and for cleanup between phases (required)");
ABSL_FLAG(std::string, api_key, "", "sent as `authorization: Bearer <key>` when set");
ABSL_FLAG(std::string, phases, "a,b,c,d,e", "which phases to run, comma-separated");
ABSL_FLAG(std::string, concurrency, "1,8,32,64", "client counts of (a) and (d)");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(1), "(a): warm-up before each measurement");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(5), "(a) and (d): measured time per level");
ABSL_FLAG(int32_t, repeat, 1,
          "(a) and (d): measure each level this many times (interleaved) and report the median");
ABSL_FLAG(int32_t, e2e_jobs, 20000, "(b): jobs to create and work");
ABSL_FLAG(int32_t, batch_jobs, 20000, "(e): jobs created with BatchCreateJobs, 1,000 per call");
ABSL_FLAG(int32_t, e2e_concurrency, 32, "(b): total worker concurrency (job slots)");
ABSL_FLAG(int32_t, e2e_workers, 2,
          "(b): workers sharing the slots (each its own worker_id); each acquires when half its "
          "slots are free, or when it is idle");
ABSL_FLAG(int32_t, e2e_max_jobs, 32, "(b): most jobs one AcquireJobs asks for");
ABSL_FLAG(bool, e2e_carry_completions, true,
          "(b): finish jobs inside the next AcquireJobs (AcquireJobsRequest.completed) instead "
          "of one CompleteJob call each");
ABSL_FLAG(int32_t, e2e_create_concurrency, 64, "(b): concurrency of the untimed create step");
ABSL_FLAG(absl::Duration, e2e_timeout, absl::Minutes(5), "(b): give up after this long");
ABSL_FLAG(int32_t, wake_iterations, 500, "(c): measured create/acquire rounds");
ABSL_FLAG(int32_t, wake_warmup, 10, "(c): unrecorded rounds first");
ABSL_FLAG(absl::Duration, wake_park, absl::Milliseconds(20),
          "(c): pause between sending the long poll and the create, so the poll is parked");
ABSL_FLAG(int32_t, seed_jobs, 20000,
          "QUEUED jobs of an unused workspace created before the phases, so that the table and "
          "its statistics are not empty (see Bench::Seed)");
ABSL_FLAG(int32_t, channels, 2, "gRPC channels (TCP connections) the load is spread over");
ABSL_FLAG(int32_t, client_threads, 1, "completion-queue threads of the client");
ABSL_FLAG(std::string, pgbench, "", "pgbench binary; default: PostgreSQL 15's, else on PATH");
ABSL_FLAG(int32_t, server_pid, 0, "jobd's pid, to report its CPU use (optional)");
ABSL_FLAG(bool, keep_data, false, "leave the benchmark's jobs and scratch table in place");

namespace {

using namespace jobd::bench;  // bench_util.h: Clock, Sec, Percentile, StatusText, /proc, Driver
namespace v1 = jobd::v1;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// ---------------------------------------------------------------------------------------------
// CPU accounting. The machine's cores are shared by this client, jobd, PostgreSQL (and pgbench)
// and whatever else runs on the machine; each phase reports the share of each, in cores, from
// /proc. "other" is the machine's busy time less the four: other people's work on the machine,
// which makes a figure less trustworthy.

int g_postmaster_pid = 0;  // set once the database is connected

struct CpuSample {
  double self = 0, server = 0, postgres = 0, pgbench = 0;  // CPU seconds
  double busy = 0;                                         // machine: non-idle seconds
  Clock::time_point at;
};

CpuSample SampleCpu() {
  CpuSample s;
  s.at = Clock::now();
  s.self = SelfCpuSeconds();
  const int server = absl::GetFlag(FLAGS_server_pid);
  if (DIR* proc = opendir("/proc")) {
    while (dirent* e = readdir(proc)) {
      int pid = 0;
      if (!absl::SimpleAtoi(e->d_name, &pid)) continue;
      double cpu = 0;
      int ppid = 0;
      std::string comm;
      if (!ReadProcStat(e->d_name, &cpu, &ppid, &comm)) continue;
      if (pid == server) {
        s.server += cpu;
      } else if (g_postmaster_pid > 0 && (pid == g_postmaster_pid || ppid == g_postmaster_pid)) {
        s.postgres += cpu;
      } else if (comm == "pgbench") {
        s.pgbench += cpu;
      }
    }
    closedir(proc);
  }
  s.busy = MachineBusySeconds();
  return s;
}

struct CpuUse {  // in cores (1.0 = one core busy all the time)
  double client = NAN, server = NAN, postgres = NAN, pgbench = NAN, other = NAN, busy = NAN;
  double wall = NAN;  // seconds sampled
};

CpuUse CpuBetween(const CpuSample& a, const CpuSample& b) {
  CpuUse u;
  const double wall = Sec(b.at - a.at);
  if (wall <= 0) return u;
  u.wall = wall;
  u.client = (b.self - a.self) / wall;
  u.server = (b.server - a.server) / wall;
  u.postgres = (b.postgres - a.postgres) / wall;
  u.pgbench = (b.pgbench - a.pgbench) / wall;
  u.busy = (b.busy - a.busy) / wall;
  u.other = std::max(0.0, u.busy - u.client - u.server - u.postgres - u.pgbench);
  return u;
}

// "bench 0.12 jobd 0.63 pg 1.10 other 0.05" (cores).
std::string CpuText(const CpuUse& u, bool pgbench = false) {
  if (std::isnan(u.busy)) return "";
  return pgbench
             ? absl::StrFormat("pgbench %.2f pg %.2f other %.2f", u.pgbench, u.postgres, u.other)
             : absl::StrFormat("bench %.2f jobd %.2f pg %.2f other %.2f", u.client, u.server,
                               u.postgres, u.other);
}

// ---------------------------------------------------------------------------------------------
// A small async client: completion-queue threads run each call's callback.

template <class Response>
class UnaryCall final : public Tag {
 public:
  using Callback = std::function<void(UnaryCall&)>;
  grpc::ClientContext ctx;
  Response resp;
  grpc::Status status;
  Clock::time_point start, end;
  Callback callback;
  std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> reader;

  void Proceed(bool) override {
    end = Clock::now();
    callback(*this);
    delete this;
  }
};

class Client {
 public:
  Client(const std::string& address, int channels, int threads, std::string api_key)
      : api_key_(std::move(api_key)) {
    for (int i = 0; i < channels; ++i) {
      grpc::ChannelArguments args;
      // Separate TCP connections: no sharing of subchannels between the channels.
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      args.SetInt("jobd_bench.channel", i);
      Endpoint e;
      e.channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
      e.jobs = v1::JobService::NewStub(e.channel);
      e.workers = v1::WorkerService::NewStub(e.channel);
      endpoints_.push_back(std::move(e));
    }
    for (int i = 0; i < threads; ++i) drivers_.push_back(std::make_unique<Driver>());
  }

  bool WaitConnected(absl::Duration timeout) {
    const auto deadline = absl::ToChronoTime(absl::Now() + timeout);
    for (auto& e : endpoints_) {
      if (!e.channel->WaitForConnected(deadline)) return false;
    }
    return true;
  }

  // Starts a unary call on endpoint/driver `slot` (mod their counts). `prepare` is
  // (Endpoint&, ClientContext*, CompletionQueue*) -> unique_ptr<ClientAsyncResponseReader<R>>.
  template <class Response, class Prepare>
  UnaryCall<Response>* Start(size_t slot, Prepare prepare, absl::Duration deadline,
                             typename UnaryCall<Response>::Callback callback) {
    auto* call = new UnaryCall<Response>();
    call->callback = std::move(callback);
    if (!api_key_.empty()) call->ctx.AddMetadata("authorization", "Bearer " + api_key_);
    call->ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoSeconds(deadline));
    Endpoint& e = endpoints_[slot % endpoints_.size()];
    grpc::CompletionQueue* cq = drivers_[slot % drivers_.size()]->cq();
    call->start = Clock::now();
    call->reader = prepare(e, &call->ctx, cq);
    call->reader->StartCall();
    call->reader->Finish(&call->resp, &call->status, call);
    return call;
  }

  // Blocking helpers for set-up and verification (not on any measured path).
  grpc::Status GetJobStats(const std::string& workspace, v1::GetJobStatsResponse* out) {
    grpc::ClientContext ctx;
    Prepare(&ctx);
    v1::GetJobStatsRequest req;
    req.set_workspace_id(workspace);
    return endpoints_[0].jobs->GetJobStats(&ctx, req, out);
  }
  grpc::Status BatchCreate(const v1::BatchCreateJobsRequest& req,
                           v1::BatchCreateJobsResponse* out) {
    grpc::ClientContext ctx;
    Prepare(&ctx);
    return endpoints_[0].jobs->BatchCreateJobs(&ctx, req, out);
  }
  grpc::Status Acquire(const v1::AcquireJobsRequest& req, v1::AcquireJobsResponse* out) {
    grpc::ClientContext ctx;
    Prepare(&ctx);
    return endpoints_[0].workers->AcquireJobs(&ctx, req, out);
  }

 private:
  void Prepare(grpc::ClientContext* ctx) {
    if (!api_key_.empty()) ctx->AddMetadata("authorization", "Bearer " + api_key_);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  }

  std::string api_key_;
  std::vector<Endpoint> endpoints_;
  std::vector<std::unique_ptr<Driver>> drivers_;
};

v1::CreateJobRequest CreateRequest(const std::string& workspace, const std::string& type,
                                   int64_t n) {
  v1::CreateJobRequest req;
  req.set_workspace_id(workspace);
  req.set_type(type);
  (*req.mutable_payload()->mutable_fields())["i"].set_number_value(static_cast<double>(n));
  return req;
}

auto PrepareCreate(const v1::CreateJobRequest& req) {
  return [req](Endpoint& e, grpc::ClientContext* ctx, grpc::CompletionQueue* cq) {
    return e.jobs->PrepareAsyncCreateJob(ctx, req, cq);
  };
}

auto PrepareAcquire(const v1::AcquireJobsRequest& req) {
  return [req](Endpoint& e, grpc::ClientContext* ctx, grpc::CompletionQueue* cq) {
    return e.workers->PrepareAsyncAcquireJobs(ctx, req, cq);
  };
}

auto PrepareComplete(const v1::CompleteJobRequest& req) {
  return [req](Endpoint& e, grpc::ClientContext* ctx, grpc::CompletionQueue* cq) {
    return e.workers->PrepareAsyncCompleteJob(ctx, req, cq);
  };
}

// ---------------------------------------------------------------------------------------------
// The database: cleanup between phases, pgbench's scratch table, SQL cross-checks.

class Database {
 public:
  explicit Database(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);  // e.g. "does not exist"
  }
  ~Database() { PQfinish(conn_); }
  bool ok() const { return PQstatus(conn_) == CONNECTION_OK; }
  std::string error() const { return PQerrorMessage(conn_); }

  // Runs one statement; returns "" or the error.
  std::string Exec(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    const ExecStatusType st = PQresultStatus(r);
    std::string err;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) err = PQresultErrorMessage(r);
    PQclear(r);
    return err;
  }

  // Every row of text values, or the error.
  std::string QueryRows(const std::string& sql, std::vector<std::vector<std::string>>* rows) {
    PGresult* r = PQexec(conn_, sql.c_str());
    std::string err;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
      err = PQresultErrorMessage(r);
    } else {
      rows->clear();
      for (int i = 0; i < PQntuples(r); ++i) {
        rows->emplace_back();
        for (int f = 0; f < PQnfields(r); ++f) rows->back().push_back(PQgetvalue(r, i, f));
      }
    }
    PQclear(r);
    return err;
  }

  // One row of text values, parameters $1.. bound as text.
  std::string QueryRow(const std::string& sql, const std::vector<std::string>& params,
                       std::vector<std::string>* row) {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p.c_str());
    PGresult* r = PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                               values.data(), nullptr, nullptr, 0);
    std::string err;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
      err = PQresultErrorMessage(r);
    } else if (PQntuples(r) != 1) {
      err = absl::StrCat("expected one row, got ", PQntuples(r));
    } else {
      row->clear();
      for (int i = 0; i < PQnfields(r); ++i) row->push_back(PQgetvalue(r, 0, i));
    }
    PQclear(r);
    return err;
  }

 private:
  PGconn* conn_;
};

constexpr char kScratchTable[] = "jobd_bench_pgbench_jobs";
constexpr double kDisturbedCores = 0.25;

std::string SqlQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

// ---------------------------------------------------------------------------------------------
// Results.

struct CreateLevel {
  int clients = 0;
  bool ran = false;
  bool ok = false;
  double rate = NAN, p50 = NAN, p99 = NAN;
  int64_t calls = 0, errors = 0;
  std::string error;
  CpuUse cpu;
};

struct PgbenchLevel {
  int clients = 0;
  bool ran = false;
  bool ok = false;
  double tps = NAN;
  double latency_ms = NAN;
  double schedule_lag_ms = NAN;  // with -R: part of latency_ms spent waiting to start
  std::string error;
  CpuUse cpu;
};

struct E2EResult {
  bool ran = false, ok = false;
  std::string error;
  int jobs = 0;
  double create_rate = NAN;
  double rate = NAN;
  double seconds = NAN;
  int64_t acquire_calls = 0, empty_acquires = 0;
  double mean_batch = NAN;
  double complete_p50 = NAN, complete_p99 = NAN;
  double acquire_p50 = NAN, acquire_p99 = NAN, acquire_busy = NAN;
  std::string verification;
  CpuUse cpu;
  // pg_stat_statements over the run: per statement, calls and execution time, the top ones.
  std::vector<std::vector<std::string>> statements;
  std::string statements_note;
};

struct BatchResult {
  bool ran = false, ok = false;
  std::string error;
  int jobs = 0;
  double rate = NAN;
  CpuUse cpu;
};

struct WakeResult {
  bool ran = false, ok = false;
  std::string error;
  int samples = 0;
  double p50 = NAN, p90 = NAN, p99 = NAN, max = NAN, min = NAN;
  double create_p50 = NAN, create_p99 = NAN;
  double after_create_p50 = NAN, after_create_p99 = NAN;  // acquire return - create return
  double idle_insert_ms = NAN;  // pgbench: mean latency of a lone INSERT after an idle gap
  CpuUse cpu;
  int empty_returns = 0;
  std::string verification;
};

// ---------------------------------------------------------------------------------------------

class Bench {
 public:
  Bench(Client& client, Database& db, std::string run_id)
      : client_(client), db_(db), run_id_(std::move(run_id)) {}

  std::string Workspace(const std::string& what) {
    return absl::StrCat("bench-", run_id_, "-", what);
  }

  // Deletes this run's jobs (their events cascade), vacuums and checkpoints, so that each
  // measurement starts from a similar table and WAL state.
  // `keep_seed`: leave the seeded jobs (see Seed) in place.
  void Cleanup(bool scratch_exists, bool keep_seed = true) {
    std::vector<std::string> errors;
    auto note = [&](const std::string& e) {
      if (!e.empty()) errors.push_back(e);
    };
    std::string sql = absl::StrCat("DELETE FROM jobs WHERE workspace_id LIKE ",
                                   SqlQuote(absl::StrCat("bench-", run_id_, "-%")));
    if (keep_seed) absl::StrAppend(&sql, " AND workspace_id <> ", SqlQuote(Workspace("seed")));
    note(db_.Exec(sql));
    if (scratch_exists) note(db_.Exec(absl::StrCat("TRUNCATE ", kScratchTable)));
    note(db_.Exec("VACUUM ANALYZE jobs"));
    note(db_.Exec("VACUUM ANALYZE job_events"));
    note(db_.Exec("CHECKPOINT"));
    for (const auto& e : errors) std::fprintf(stderr, "jobd_bench: cleanup: %s", e.c_str());
  }

  // Gives the jobs table content (QUEUED jobs of a workspace no phase reads) and statistics.
  // Measured on an empty, freshly analyzed table, the plans PostgreSQL caches per connection
  // (the job_events foreign-key check among them) are sequential scans, which then run against
  // a table growing by thousands of rows a second: CreateJob fell from ~8,800 to ~3,000 jobs/s
  // at 32 clients. A serving jobd's table is rarely empty and autovacuum re-analyzes it within
  // a minute, so the benchmark measures the steady state instead. Returns "" or the error.
  std::string Seed(int count, double* rate) {
    if (count <= 0) return "";
    std::vector<std::string> ids;
    const int first = std::min(count, 1000);
    // A first thousand, analyzed, so the rest are inserted with sensible plans too.
    if (std::string e = CreateMany(Workspace("seed"), "bench.seed", first, 64, &ids, rate);
        !e.empty()) {
      return e;
    }
    db_.Exec("ANALYZE jobs");
    db_.Exec("ANALYZE job_events");
    if (count > first) {
      if (std::string e =
              CreateMany(Workspace("seed"), "bench.seed", count - first, 64, &ids, rate);
          !e.empty()) {
        return e;
      }
    }
    return "";
  }

  // (a) Closed loop: `clients` calls always in flight, each one's completion starts the next.
  CreateLevel CreateLoad(int clients, absl::Duration warmup, absl::Duration duration) {
    CreateLevel out;
    out.clients = clients;
    out.ran = true;
    const std::string ws = Workspace(absl::StrCat("create-", clients));
    struct State {
      std::mutex mu;
      std::condition_variable cv;
      Clock::time_point measure_start, end;
      std::vector<double> latencies;
      int64_t in_window = 0, errors = 0, seq = 0;
      int inflight = 0;
      std::string first_error;
    } st;
    st.latencies.reserve(200000);
    const Clock::time_point t0 = Clock::now();
    st.measure_start = t0 + absl::ToChronoNanoseconds(warmup);
    st.end = st.measure_start + absl::ToChronoNanoseconds(duration);

    std::function<void(int)> issue = [&](int slot) {
      int64_t n;
      {
        std::lock_guard<std::mutex> lock(st.mu);
        n = st.seq++;
      }
      client_.Start<v1::CreateJobResponse>(
          slot, PrepareCreate(CreateRequest(ws, "bench.create", n)), absl::Seconds(30),
          [&, slot](UnaryCall<v1::CreateJobResponse>& c) {
            bool again = false;
            {
              std::lock_guard<std::mutex> lock(st.mu);
              if (c.status.ok()) {
                if (c.end >= st.measure_start && c.end <= st.end) {
                  st.latencies.push_back(Ms(c.end - c.start));
                  ++st.in_window;
                }
              } else if (st.errors++ == 0) {
                st.first_error = StatusText(c.status);
              }
              again = c.end < st.end && st.errors == 0;
              if (!again) {
                --st.inflight;
                st.cv.notify_all();
              }
            }
            if (again) issue(slot);
          });
    };
    {
      std::lock_guard<std::mutex> lock(st.mu);
      st.inflight = clients;
    }
    for (int i = 0; i < clients; ++i) issue(i);
    std::this_thread::sleep_until(st.measure_start);
    const CpuSample c0 = SampleCpu();
    std::this_thread::sleep_until(st.end);
    const CpuSample c1 = SampleCpu();
    out.cpu = CpuBetween(c0, c1);
    std::unique_lock<std::mutex> lock(st.mu);
    st.cv.wait(lock, [&] { return st.inflight == 0; });
    out.calls = st.in_window;
    out.errors = st.errors;
    out.rate = st.in_window / absl::ToDoubleSeconds(duration);
    out.p50 = Percentile(st.latencies, 50);
    out.p99 = Percentile(st.latencies, 99);
    out.ok = st.errors == 0 && st.in_window > 0;
    if (st.errors) out.error = absl::StrCat(st.errors, " failed calls, first: ", st.first_error);
    return out;
  }

  // (d) pgbench with one INSERT per transaction into a table shaped like `jobs`.
  // `extra`: more pgbench options, e.g. "-R 40" (a rate limit).
  PgbenchLevel Pgbench(const std::string& pgbench, const std::string& script, int clients,
                       absl::Duration duration, const std::string& extra = "") {
    PgbenchLevel out;
    out.clients = clients;
    out.ran = true;
    const std::string cmd = absl::StrCat(pgbench, " -n -M prepared -f ", script, " -c ", clients,
                                         " -j ", std::min(clients, 2), extra.empty() ? "" : " ",
                                         extra, " -T ", absl::ToInt64Seconds(duration), " ",
                                         SqlQuote(absl::GetFlag(FLAGS_database_url)), " 2>&1");
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) {
      out.error = "cannot run pgbench";
      return out;
    }
    // CPU is sampled inside the run, while pgbench's connections are alive (pgbench writes
    // its report only at the end, so the pipe does not fill meanwhile).
    const Clock::time_point started = Clock::now();
    std::this_thread::sleep_until(started + std::chrono::milliseconds(500));
    const CpuSample c0 = SampleCpu();
    std::this_thread::sleep_until(started + absl::ToChronoNanoseconds(duration) -
                                  std::chrono::milliseconds(200));
    const CpuSample c1 = SampleCpu();
    out.cpu = CpuBetween(c0, c1);
    std::string text;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
    const int rc = pclose(p);
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      if (absl::ConsumePrefix(&line, "tps = ") && std::isnan(out.tps)) {
        const size_t sp = line.find(' ');
        double v;
        if (absl::SimpleAtod(line.substr(0, sp), &v)) out.tps = v;
      } else if (absl::ConsumePrefix(&line, "latency average = ")) {
        const size_t sp = line.find(' ');
        double v;
        if (absl::SimpleAtod(line.substr(0, sp), &v)) out.latency_ms = v;
      } else if (absl::ConsumePrefix(&line, "rate limit schedule lag: avg ")) {
        const size_t sp = line.find(' ');
        double v;
        if (absl::SimpleAtod(line.substr(0, sp), &v)) out.schedule_lag_ms = v;
      }
    }
    out.ok = rc == 0 && !std::isnan(out.tps);
    if (!out.ok) out.error = absl::StrCat("pgbench failed (status ", rc, "): ", text);
    return out;
  }

  // True when WorkerService answers (with anything but UNIMPLEMENTED / UNAVAILABLE).
  std::string ProbeWorkerService() {
    v1::AcquireJobsRequest req;
    req.set_workspace_id(Workspace("probe"));
    req.add_types("bench.none");
    req.set_worker_id("jobd-bench-probe");
    req.set_max_jobs(1);
    v1::AcquireJobsResponse resp;
    grpc::Status s = client_.Acquire(req, &resp);
    if (s.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
      return "WorkerService answers UNIMPLEMENTED: this jobd does not implement it yet";
    }
    if (!s.ok()) return absl::StrCat("probe AcquireJobs failed: ", StatusText(s));
    if (resp.jobs_size() != 0) return "probe AcquireJobs returned a job from an empty workspace";
    return "";
  }

  // Creates `count` jobs with `concurrency` calls in flight; returns their ids (or an error).
  std::string CreateMany(const std::string& ws, const std::string& type, int count, int concurrency,
                         std::vector<std::string>* ids, double* rate) {
    struct State {
      std::mutex mu;
      std::condition_variable cv;
      int64_t next = 0, done = 0, errors = 0;
      std::string first_error;
    } st;
    ids->assign(count, "");
    // Each call's number is taken under the lock before the previous call counts as done, so
    // the waiting thread cannot return (and free this state) while a callback still uses it.
    std::function<void(int, int64_t)> issue = [&](int slot, int64_t n) {
      client_.Start<v1::CreateJobResponse>(slot, PrepareCreate(CreateRequest(ws, type, n)),
                                           absl::Seconds(60),
                                           [&, slot, n](UnaryCall<v1::CreateJobResponse>& c) {
                                             int64_t next = -1;
                                             {
                                               std::lock_guard<std::mutex> lock(st.mu);
                                               if (c.status.ok()) {
                                                 (*ids)[n] = c.resp.job().id();
                                               } else if (st.errors++ == 0) {
                                                 st.first_error = StatusText(c.status);
                                               }
                                               if (st.next < count && st.errors == 0)
                                                 next = st.next++;
                                               ++st.done;
                                               st.cv.notify_all();
                                             }
                                             if (next >= 0) issue(slot, next);
                                           });
    };
    const Clock::time_point t0 = Clock::now();
    {
      std::lock_guard<std::mutex> lock(st.mu);
      st.next = std::min<int64_t>(concurrency, count);
    }
    for (int64_t i = 0; i < std::min<int64_t>(concurrency, count); ++i) issue(i, i);
    std::unique_lock<std::mutex> lock(st.mu);
    // Done when every started call has finished and no more will start.
    st.cv.wait(lock, [&] { return st.done == st.next && (st.next == count || st.errors); });
    *rate = count / Sec(Clock::now() - t0);
    if (st.errors) return absl::StrCat(st.errors, " creates failed, first: ", st.first_error);
    return "";
  }

  // (b) End to end.
  // (e) BatchCreateJobs of 1,000 jobs ({"i": n} payloads), one call after another, as the
  // peers' batch-insert phase does; verified by count in SQL.
  BatchResult BatchCreate() {
    BatchResult out;
    out.ran = true;
    out.jobs = absl::GetFlag(FLAGS_batch_jobs);
    const std::string ws = Workspace("batch");
    const CpuSample c0 = SampleCpu();
    const Clock::time_point start = Clock::now();
    for (int b = 0; b < out.jobs; b += 1000) {
      v1::BatchCreateJobsRequest req;
      req.set_workspace_id(ws);
      for (int i = b; i < std::min(out.jobs, b + 1000); ++i) {
        v1::CreateJobRequest* item = req.add_requests();
        item->set_type("bench.batch");
        (*item->mutable_payload()->mutable_fields())["i"].set_number_value(i);
      }
      v1::BatchCreateJobsResponse resp;
      if (grpc::Status s = client_.BatchCreate(req, &resp); !s.ok()) {
        out.error = "BatchCreateJobs: " + StatusText(s);
        return out;
      }
      if (resp.jobs_size() != req.requests_size()) {
        out.error = absl::StrCat("BatchCreateJobs answered ", resp.jobs_size(), " jobs");
        return out;
      }
    }
    out.rate = out.jobs / Sec(Clock::now() - start);
    out.cpu = CpuBetween(c0, SampleCpu());
    std::vector<std::string> row;
    if (std::string e =
            db_.QueryRow("SELECT count(*) FROM jobs WHERE workspace_id = $1", {ws}, &row);
        !e.empty() || row[0] != std::to_string(out.jobs)) {
      out.error = e.empty() ? absl::StrCat("SQL: ", row[0], " jobs") : e;
      return out;
    }
    out.ok = true;
    return out;
  }

  E2EResult EndToEnd() {
    E2EResult out;
    out.ran = true;
    const int total = absl::GetFlag(FLAGS_e2e_jobs);
    const int concurrency = absl::GetFlag(FLAGS_e2e_concurrency);
    const int nworkers = std::max(1, std::min(absl::GetFlag(FLAGS_e2e_workers), concurrency));
    const int max_jobs = std::max(1, std::min(absl::GetFlag(FLAGS_e2e_max_jobs), 100));
    out.jobs = total;
    if (std::string e = ProbeWorkerService(); !e.empty()) {
      out.error = e;
      return out;
    }
    const std::string ws = Workspace("e2e");
    std::vector<std::string> ids;
    if (std::string e =
            CreateMany(ws, "bench.noop", total, absl::GetFlag(FLAGS_e2e_create_concurrency), &ids,
                       &out.create_rate);
        !e.empty()) {
      out.error = "creating the jobs: " + e;
      return out;
    }

    struct Worker {
      int index = 0;
      int slots = 0;
      int running = 0;
      bool acquiring = false;
      std::string id;
      std::vector<v1::LeasedJob> finished;  // to carry on the next AcquireJobs
    };
    struct State {
      std::mutex mu;
      std::condition_variable cv;
      int completed = 0;
      int64_t errors = 0, acquire_calls = 0, acquired = 0, empty = 0, duplicates = 0;
      int64_t carried = 0;
      int inflight_calls = 0;
      std::string first_error;
      bool started = false, stopping = false;
      Clock::time_point first_acquire, last_complete;
      std::unordered_map<std::string, int> acquired_count;
      std::unordered_set<std::string> completed_ids;
      std::set<grpc::ClientContext*> acquiring_contexts;
      std::vector<double> complete_lat, acquire_lat;
    } st;
    st.acquired_count.reserve(total * 2);
    st.completed_ids.reserve(total * 2);
    std::vector<Worker> workers(nworkers);
    for (int i = 0; i < nworkers; ++i) {
      workers[i].index = i;
      workers[i].slots = concurrency / nworkers + (i < concurrency % nworkers ? 1 : 0);
      workers[i].id = absl::StrCat("jobd-bench-", run_id_, "-w", i);
    }

    // All below run with st.mu held (the async API never calls back inline).
    auto stop_all = [&]() {
      st.stopping = true;
      for (grpc::ClientContext* ctx : st.acquiring_contexts) ctx->TryCancel();
      st.cv.notify_all();
    };
    auto fail = [&](const std::string& what) {
      if (st.errors++ == 0) st.first_error = what;
      stop_all();
    };
    std::function<void(Worker&)> maybe_acquire;
    auto complete = [&](Worker& w, const v1::LeasedJob& leased) {
      v1::CompleteJobRequest req;
      req.set_job_id(leased.job().id());
      req.set_lease_token(leased.lease_token());
      ++w.running;
      ++st.inflight_calls;
      client_.Start<v1::CompleteJobResponse>(
          w.index, PrepareComplete(req), absl::Seconds(60),
          [&, id = leased.job().id()](UnaryCall<v1::CompleteJobResponse>& c) {
            std::lock_guard<std::mutex> lock(st.mu);
            --st.inflight_calls;
            --w.running;
            if (!c.status.ok()) {
              fail(absl::StrCat("CompleteJob ", id, ": ", StatusText(c.status)));
            } else if (c.resp.job().state() != v1::JOB_STATE_SUCCEEDED) {
              fail(absl::StrCat("CompleteJob ", id, " left the job in state ",
                                v1::JobState_Name(c.resp.job().state())));
            } else {
              st.complete_lat.push_back(Ms(c.end - c.start));
              if (!st.completed_ids.insert(id).second) ++st.duplicates;
              ++st.completed;
              st.last_complete = c.end;
              if (st.completed >= total) stop_all();
            }
            maybe_acquire(w);
            st.cv.notify_all();
          });
    };
    const bool carry = absl::GetFlag(FLAGS_e2e_carry_completions);
    // A job carried on an AcquireJobs: one completion result, checked like CompleteJob's.
    auto completed = [&](const v1::FinishResult& r, Clock::time_point at) {
      if (r.code() != 0) {
        fail(absl::StrCat("AcquireJobs.completed ", r.job_id(), ": code ", r.code(), " ",
                          r.message()));
      } else if (r.state() != v1::JOB_STATE_SUCCEEDED) {
        fail(absl::StrCat("AcquireJobs.completed ", r.job_id(), " left the job in state ",
                          v1::JobState_Name(r.state())));
      } else {
        if (!st.completed_ids.insert(r.job_id()).second) ++st.duplicates;
        ++st.completed;
        ++st.carried;
        st.last_complete = at;
        if (st.completed >= total) stop_all();
      }
    };
    maybe_acquire = [&](Worker& w) {
      if (st.stopping || w.acquiring) return;
      const int free = w.slots - w.running;
      if (free <= 0) return;
      // Acquire in batches: wait for half the slots to free up unless the worker is idle.
      if (w.running > 0 && free < std::max(1, w.slots / 2)) return;
      v1::AcquireJobsRequest req;
      for (const v1::LeasedJob& done : w.finished) {
        v1::CompleteJobRequest* c = req.add_completed();
        c->set_job_id(done.job().id());
        c->set_lease_token(done.lease_token());
      }
      w.finished.clear();
      // The last jobs: finish them without waiting for more.
      const bool last = st.acquired >= total;
      if (last && req.completed_size() == 0) return;
      req.set_workspace_id(ws);
      req.add_types("bench.noop");
      req.set_worker_id(w.id);
      req.set_max_jobs(last ? 0 : std::min(free, max_jobs));
      // As client::Worker does: a call that carries completions does not wait (they are
      // answered with it); an empty answer is followed by a long poll without them.
      if (!last && req.completed_size() == 0) req.mutable_wait()->set_seconds(5);
      req.mutable_lease_duration()->set_seconds(120);
      w.acquiring = true;
      ++st.inflight_calls;
      if (!st.started) {
        st.started = true;
        st.first_acquire = Clock::now();
      }
      auto* call = client_.Start<v1::AcquireJobsResponse>(
          w.index, PrepareAcquire(req), absl::Seconds(30),
          [&, asked = req.max_jobs(),
           carried = req.completed_size()](UnaryCall<v1::AcquireJobsResponse>& c) {
            std::lock_guard<std::mutex> lock(st.mu);
            st.acquiring_contexts.erase(&c.ctx);
            --st.inflight_calls;
            w.acquiring = false;
            if (c.status.ok()) ++st.acquire_calls;  // not the polls cancelled at the end
            if (!c.status.ok()) {
              if (!(st.stopping && c.status.error_code() == grpc::StatusCode::CANCELLED)) {
                fail(absl::StrCat("AcquireJobs: ", StatusText(c.status)));
              }
              st.cv.notify_all();
              return;
            }
            st.acquire_lat.push_back(Ms(c.end - c.start));
            if (c.resp.completed_size() != carried) {
              fail(absl::StrCat("AcquireJobs answered ", c.resp.completed_size(), " of ", carried,
                                " completions"));
            }
            for (const v1::FinishResult& r : c.resp.completed()) completed(r, c.end);
            if (asked == 0) {
              maybe_acquire(w);
              st.cv.notify_all();
              return;
            }
            if (c.resp.jobs_size() == 0) ++st.empty;
            if (c.resp.jobs_size() > asked) {
              fail(absl::StrCat("AcquireJobs returned ", c.resp.jobs_size(), " jobs for max_jobs ",
                                asked));
            }
            for (const v1::LeasedJob& leased : c.resp.jobs()) {
              ++st.acquired;
              if (++st.acquired_count[leased.job().id()] > 1) ++st.duplicates;
              if (carry) {
                w.finished.push_back(leased);  // a no-op: done at once, its slot free again
              } else {
                complete(w, leased);
              }
            }
            maybe_acquire(w);
            st.cv.notify_all();
          });
      st.acquiring_contexts.insert(&call->ctx);
    };

    // Where the database's time goes (the cluster of bench/run.sh preloads the module).
    const bool statements = db_.Exec("CREATE EXTENSION IF NOT EXISTS pg_stat_statements").empty() &&
                            db_.Exec("SELECT pg_stat_statements_reset()").empty();
    const CpuSample c0 = SampleCpu();
    {
      std::unique_lock<std::mutex> lock(st.mu);
      for (Worker& w : workers) maybe_acquire(w);
      const bool finished =
          st.cv.wait_for(lock, absl::ToChronoSeconds(absl::GetFlag(FLAGS_e2e_timeout)),
                         [&] { return st.stopping && st.inflight_calls == 0; });
      if (!finished) {
        fail(absl::StrCat("timed out after ",
                          absl::FormatDuration(absl::GetFlag(FLAGS_e2e_timeout)), " with ",
                          st.completed, " of ", total, " jobs completed"));
        st.cv.wait(lock, [&] { return st.inflight_calls == 0; });
      }
    }
    const CpuSample c1 = SampleCpu();
    out.cpu = CpuBetween(c0, c1);
    if (!statements) {
      out.statements_note = "pg_stat_statements is not loaded";
    } else {
      out.statements_note = db_.QueryRows(
          "SELECT calls, round(total_exec_time)::text, round(1000 * total_exec_time / "
          "greatest(calls, 1))::text, rows, regexp_replace(left(query, 60), '\\s+', ' ', 'g') "
          "FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%' "
          "ORDER BY total_exec_time DESC LIMIT 8",
          &out.statements);
    }
    out.seconds = Sec(st.last_complete - st.first_acquire);
    out.rate = st.completed / out.seconds;
    out.acquire_calls = st.acquire_calls;
    out.empty_acquires = st.empty;
    out.mean_batch = st.acquire_calls > st.empty
                         ? static_cast<double>(st.acquired) / (st.acquire_calls - st.empty)
                         : NAN;
    out.complete_p50 = Percentile(st.complete_lat, 50);
    out.complete_p99 = Percentile(st.complete_lat, 99);
    out.acquire_p50 = Percentile(st.acquire_lat, 50);
    out.acquire_p99 = Percentile(st.acquire_lat, 99);
    // The share of the run each worker spent inside an AcquireJobs call.
    double in_calls_ms = 0;
    for (double ms : st.acquire_lat) in_calls_ms += ms;
    out.acquire_busy = in_calls_ms / 1000 / (out.seconds * nworkers);

    // Verification: client side, then the server's counts, then SQL.
    std::vector<std::string> problems;
    if (st.errors) problems.push_back(st.first_error);
    if (st.duplicates) problems.push_back(absl::StrCat(st.duplicates, " duplicate acquisitions"));
    int missing = 0;
    for (const std::string& id : ids) {
      if (!st.completed_ids.count(id)) ++missing;
    }
    if (missing) problems.push_back(absl::StrCat(missing, " created jobs never completed"));
    if (st.completed_ids.size() != static_cast<size_t>(total)) {
      problems.push_back(absl::StrCat(st.completed_ids.size(), " distinct jobs completed"));
    }
    v1::GetJobStatsResponse stats;
    if (grpc::Status s = client_.GetJobStats(ws, &stats); !s.ok()) {
      problems.push_back("GetJobStats: " + StatusText(s));
    } else {
      int64_t succeeded = 0, all = 0;
      for (const auto& c : stats.state_counts()) {
        all += c.count();
        if (c.state() == v1::JOB_STATE_SUCCEEDED) succeeded += c.count();
      }
      if (succeeded != total || all != total) {
        problems.push_back(absl::StrCat("GetJobStats: ", succeeded, " SUCCEEDED of ", all));
      }
    }
    // Each job: SUCCEEDED, and exactly one event that recorded it entering SUCCEEDED.
    std::vector<std::string> row;
    std::string sql_note;
    if (std::string e =
            db_.QueryRow("SELECT count(*), count(*) FILTER (WHERE j.state = 'succeeded'),"
                         " count(*) FILTER (WHERE (SELECT count(*) FROM job_events e"
                         "   WHERE e.job_id = j.id AND e.state = 'succeeded') = 1)"
                         " FROM jobs j WHERE j.workspace_id = $1",
                         {ws}, &row);
        !e.empty()) {
      sql_note = "SQL check not run: " + e;
    } else if (row[0] != std::to_string(total) || row[1] != row[0] || row[2] != row[0]) {
      problems.push_back(absl::StrCat("SQL: ", row[0], " jobs, ", row[1], " succeeded, ", row[2],
                                      " with exactly one succeeded event"));
    }
    out.ok = problems.empty();
    if (!out.ok) {
      out.error = absl::StrJoin(problems, "; ");
    } else {
      out.verification = absl::StrCat(
          "every one of ", total,
          " jobs acquired once and completed once (client); GetJobStats: all SUCCEEDED",
          sql_note.empty() ? "; SQL: each job SUCCEEDED with exactly one succeeded event"
                           : "; " + sql_note);
    }
    return out;
  }

  // (c) Wake-up latency.
  WakeResult WakeUp() {
    WakeResult out;
    out.ran = true;
    if (std::string e = ProbeWorkerService(); !e.empty()) {
      out.error = e;
      return out;
    }
    const std::string ws = Workspace("wake");
    const int iterations = absl::GetFlag(FLAGS_wake_iterations);
    const int warmup = absl::GetFlag(FLAGS_wake_warmup);
    const auto park = absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_wake_park));
    std::vector<double> lat, create_lat, after_create;
    int created = 0;

    struct AcquireResult {
      grpc::Status status;
      v1::AcquireJobsResponse resp;
      Clock::time_point end;
    };
    // Promises are shared with the callbacks: a callback may still be inside set_value when the
    // waiting thread moves on.
    auto start_acquire = [&](std::shared_ptr<std::promise<AcquireResult>> p) {
      v1::AcquireJobsRequest req;
      req.set_workspace_id(ws);
      req.add_types("bench.wake");
      req.set_worker_id(absl::StrCat("jobd-bench-", run_id_, "-waker"));
      req.set_max_jobs(1);
      req.mutable_wait()->set_seconds(30);
      client_.Start<v1::AcquireJobsResponse>(
          0, PrepareAcquire(req), absl::Seconds(45), [p](UnaryCall<v1::AcquireJobsResponse>& c) {
            p->set_value(AcquireResult{c.status, std::move(c.resp), c.end});
          });
    };

    CpuSample c0 = SampleCpu();
    for (int i = 0; i < warmup + iterations; ++i) {
      if (i == warmup) c0 = SampleCpu();
      auto acquired = std::make_shared<std::promise<AcquireResult>>();
      std::future<AcquireResult> acquired_f = acquired->get_future();
      start_acquire(acquired);
      std::this_thread::sleep_for(park);

      struct Created {
        grpc::Status status;
        std::string id;
        Clock::time_point end;
      };
      auto create_done = std::make_shared<std::promise<Created>>();
      auto create_f = create_done->get_future();
      const Clock::time_point t0 = Clock::now();
      client_.Start<v1::CreateJobResponse>(
          0, PrepareCreate(CreateRequest(ws, "bench.wake", i)), absl::Seconds(30),
          [&, i, create_done](UnaryCall<v1::CreateJobResponse>& c) {
            if (i >= warmup) create_lat.push_back(Ms(c.end - c.start));
            create_done->set_value({c.status, c.resp.job().id(), c.end});
          });
      ++created;

      AcquireResult a = acquired_f.get();
      // A poll that came back empty (its wait ended, or a spurious wake-up): poll again; the
      // latency still runs from the create.
      for (int retry = 0; a.status.ok() && a.resp.jobs_size() == 0 && retry < 3; ++retry) {
        ++out.empty_returns;
        auto again = std::make_shared<std::promise<AcquireResult>>();
        auto again_f = again->get_future();
        start_acquire(again);
        a = again_f.get();
      }
      const Created made = create_f.get();
      const grpc::Status& create_status = made.status;
      const std::string& job_id = made.id;
      if (!create_status.ok()) {
        out.error = absl::StrCat("CreateJob: ", StatusText(create_status));
        return out;
      }
      if (!a.status.ok()) {
        out.error = absl::StrCat("AcquireJobs: ", StatusText(a.status));
        return out;
      }
      if (a.resp.jobs_size() != 1 || a.resp.jobs(0).job().id() != job_id) {
        out.error = absl::StrCat("round ", i, ": AcquireJobs returned ", a.resp.jobs_size(),
                                 " jobs, not the job just created");
        return out;
      }
      if (i >= warmup) {
        lat.push_back(Ms(a.end - t0));
        after_create.push_back(Ms(a.end - made.end));
      }

      auto completed = std::make_shared<std::promise<grpc::Status>>();
      auto completed_f = completed->get_future();
      v1::CompleteJobRequest req;
      req.set_job_id(job_id);
      req.set_lease_token(a.resp.jobs(0).lease_token());
      client_.Start<v1::CompleteJobResponse>(
          0, PrepareComplete(req), absl::Seconds(30),
          [completed](UnaryCall<v1::CompleteJobResponse>& c) { completed->set_value(c.status); });
      if (grpc::Status s = completed_f.get(); !s.ok()) {
        out.error = absl::StrCat("CompleteJob: ", StatusText(s));
        return out;
      }
    }
    out.cpu = CpuBetween(c0, SampleCpu());
    out.samples = static_cast<int>(lat.size());
    out.min = lat.empty() ? NAN : *std::min_element(lat.begin(), lat.end());
    out.max = lat.empty() ? NAN : *std::max_element(lat.begin(), lat.end());
    out.p50 = Percentile(lat, 50);
    out.p90 = Percentile(lat, 90);
    out.p99 = Percentile(lat, 99);
    out.create_p50 = Percentile(create_lat, 50);
    out.create_p99 = Percentile(create_lat, 99);
    out.after_create_p50 = Percentile(after_create, 50);
    out.after_create_p99 = Percentile(after_create, 99);

    v1::GetJobStatsResponse stats;
    if (grpc::Status s = client_.GetJobStats(ws, &stats); !s.ok()) {
      out.error = "GetJobStats: " + StatusText(s);
      return out;
    }
    int64_t succeeded = 0, all = 0;
    for (const auto& c : stats.state_counts()) {
      all += c.count();
      if (c.state() == v1::JOB_STATE_SUCCEEDED) succeeded += c.count();
    }
    if (succeeded != created || all != created) {
      out.error =
          absl::StrCat("GetJobStats: ", succeeded, " SUCCEEDED of ", all, ", created ", created);
      return out;
    }
    out.verification =
        absl::StrCat("each of ", created, " jobs acquired by the waiting poll and SUCCEEDED");
    out.ok = true;
    return out;
  }

 private:
  Client& client_;
  Database& db_;
  std::string run_id_;
};

std::string FindPgbench() {
  std::string flag = absl::GetFlag(FLAGS_pgbench);
  if (!flag.empty()) return flag;
  if (access("/usr/lib/postgresql/15/bin/pgbench", X_OK) == 0) {
    return "/usr/lib/postgresql/15/bin/pgbench";
  }
  return "pgbench";
}

std::string F0(double v) { return std::isnan(v) ? "-" : absl::StrFormat("%.0f", v); }
std::string F2(double v) { return std::isnan(v) ? "-" : absl::StrFormat("%.2f", v); }

std::string MachineLine() {
  std::string model = "unknown CPU";
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "model name")) {
      model = std::string(absl::StripAsciiWhitespace(line.substr(line.find(':') + 1)));
      break;
    }
  }
  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  return absl::StrFormat("%d cores (nproc), %s; load average %.2f %.2f %.2f at start",
                         static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)), model, load[0], load[1],
                         load[2]);
}

}  // namespace

int main(int argc, char** argv) {
  InitBench(argc, argv,
            "jobd_bench --address HOST:PORT --database_url URL [--phases a,b,c,d,e] [--flags]");
  const std::string address = absl::GetFlag(FLAGS_address);
  const std::string url = absl::GetFlag(FLAGS_database_url);
  if (address.empty() || url.empty()) {
    std::fprintf(stderr, "jobd_bench: --address and --database_url are required\n");
    return 2;
  }
  std::set<std::string> phases;
  for (absl::string_view p : absl::StrSplit(absl::GetFlag(FLAGS_phases), ',', absl::SkipEmpty())) {
    if (p != "a" && p != "b" && p != "c" && p != "d" && p != "e") {
      std::fprintf(stderr, "jobd_bench: unknown phase '%s' (use a, b, c, d, e)\n",
                   std::string(p).c_str());
      return 2;
    }
    phases.insert(std::string(p));
  }
  std::vector<int> levels;
  for (absl::string_view c :
       absl::StrSplit(absl::GetFlag(FLAGS_concurrency), ',', absl::SkipEmpty())) {
    int n;
    if (!absl::SimpleAtoi(c, &n) || n < 1 || n > 1000) {
      std::fprintf(stderr, "jobd_bench: bad --concurrency entry '%s'\n", std::string(c).c_str());
      return 2;
    }
    levels.push_back(n);
  }
  const absl::Duration warmup = absl::GetFlag(FLAGS_warmup);
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  const std::string machine = MachineLine();

  Database db(url);
  if (!db.ok()) {
    std::fprintf(stderr, "jobd_bench: cannot connect to the database: %s", db.error().c_str());
    return 1;
  }
  std::vector<std::string> settings;
  std::string settings_text;
  if (db.QueryRow("SELECT current_setting('fsync'), current_setting('synchronous_commit'),"
                  " current_setting('full_page_writes'), current_setting('wal_sync_method'),"
                  " current_setting('server_version')",
                  {}, &settings)
          .empty()) {
    settings_text = absl::StrCat(
        "PostgreSQL ", settings[4], ": fsync=", settings[0], " synchronous_commit=", settings[1],
        " full_page_writes=", settings[2], " wal_sync_method=", settings[3]);
  }

  {
    std::vector<std::string> row;
    if (db.QueryRow("SELECT pg_backend_pid()", {}, &row).empty()) {
      double cpu;
      std::string comm;
      int ppid = 0;
      if (ReadProcStat(row[0], &cpu, &ppid, &comm)) g_postmaster_pid = ppid;
    }
  }

  Client client(address, std::max(1, absl::GetFlag(FLAGS_channels)),
                std::max(1, absl::GetFlag(FLAGS_client_threads)), absl::GetFlag(FLAGS_api_key));
  if (!client.WaitConnected(absl::Seconds(10))) {
    std::fprintf(stderr, "jobd_bench: cannot connect to jobd at %s\n", address.c_str());
    return 1;
  }
  const std::string run_id = absl::StrCat(getpid());
  Bench bench(client, db, run_id);

  const int seed_jobs = absl::GetFlag(FLAGS_seed_jobs);
  double seed_rate = NAN;
  if (phases.count("a") || phases.count("b") || phases.count("c")) {
    std::fprintf(stderr, "jobd_bench: seeding %d jobs\n", seed_jobs);
    if (std::string e = bench.Seed(seed_jobs, &seed_rate); !e.empty()) {
      std::fprintf(stderr, "jobd_bench: seeding failed: %s\n", e.c_str());
      bench.Cleanup(false, /*keep_seed=*/false);
      return 1;
    }
  }

  // (d) needs a scratch table shaped like a job row: the columns of `jobs`, its primary key.
  const std::string pgbench = FindPgbench();
  std::string script_path;
  bool scratch = false;
  std::string scratch_error;
  if (phases.count("d") || phases.count("c")) {
    std::string e = db.Exec(absl::StrCat("DROP TABLE IF EXISTS ", kScratchTable));
    if (e.empty()) {
      e = db.Exec(absl::StrCat("CREATE TABLE ", kScratchTable,
                               " (LIKE jobs INCLUDING DEFAULTS INCLUDING CONSTRAINTS,"
                               " PRIMARY KEY (id))"));
    }
    if (!e.empty()) {
      scratch_error = "cannot create the scratch table: " + e;
    } else {
      scratch = true;
      char tmpl[] = "/tmp/jobd_bench_insert_XXXXXX.sql";
      const int fd = mkstemps(tmpl, 4);
      if (fd < 0) {
        scratch_error = "cannot write the pgbench script";
      } else {
        close(fd);
        script_path = tmpl;
        std::ofstream(script_path) << absl::StrCat(
            "INSERT INTO ", kScratchTable,
            " (id, workspace_id, type, state, priority, payload, requested_by, attempt,"
            " last_attempt, max_attempts, initial_backoff_us, max_backoff_us,"
            " backoff_multiplier, ttl_us, labels, create_time, update_time, run_after,"
            " sequence) VALUES (gen_random_uuid(), 'bench-pgbench', 'bench.create', 'queued',"
            " 0, '{\"i\":1}', 'anonymous', 1, 3, 3, 1000000, 300000000, 2.0, 86400000000,"
            " '{}', now(), now(), now(), 1);\n");
      }
    }
  }

  const int repeat = std::max(1, absl::GetFlag(FLAGS_repeat));
  std::vector<std::vector<CreateLevel>> create_runs(levels.size());
  std::vector<std::vector<PgbenchLevel>> pgbench_runs(levels.size());
  for (int r = 0; r < repeat; ++r) {
    for (size_t i = 0; i < levels.size(); ++i) {
      const int n = levels[i];
      if (phases.count("d")) {
        PgbenchLevel pg;
        pg.clients = n;
        if (scratch_error.empty()) {
          bench.Cleanup(scratch);
          std::fprintf(stderr, "jobd_bench: (d) pgbench, %d clients\n", n);
          pg = bench.Pgbench(pgbench, script_path, n, duration);
        } else {
          pg.ran = true;
          pg.error = scratch_error;
        }
        pgbench_runs[i].push_back(pg);
      }
      if (phases.count("a")) {
        bench.Cleanup(scratch);
        std::fprintf(stderr, "jobd_bench: (a) CreateJob, %d clients\n", n);
        create_runs[i].push_back(bench.CreateLoad(n, warmup, duration));
      }
    }
  }
  // Per level: the median run by rate (a failed run counts as failing the level).
  std::vector<CreateLevel> creates(levels.size());
  std::vector<PgbenchLevel> pgbenches(levels.size());
  for (size_t i = 0; i < levels.size(); ++i) {
    creates[i].clients = pgbenches[i].clients = levels[i];
    auto& cr = create_runs[i];
    if (!cr.empty()) {
      auto bad = std::find_if(cr.begin(), cr.end(), [](const CreateLevel& c) { return !c.ok; });
      if (bad != cr.end()) {
        creates[i] = *bad;
      } else {
        std::sort(cr.begin(), cr.end(),
                  [](const CreateLevel& a, const CreateLevel& b) { return a.rate < b.rate; });
        creates[i] = cr[cr.size() / 2];
      }
    }
    auto& pr = pgbench_runs[i];
    if (!pr.empty()) {
      auto bad = std::find_if(pr.begin(), pr.end(), [](const PgbenchLevel& p) { return !p.ok; });
      if (bad != pr.end()) {
        pgbenches[i] = *bad;
      } else {
        std::sort(pr.begin(), pr.end(),
                  [](const PgbenchLevel& a, const PgbenchLevel& b) { return a.tps < b.tps; });
        pgbenches[i] = pr[pr.size() / 2];
      }
    }
  }
  E2EResult e2e;
  if (phases.count("b")) {
    bench.Cleanup(scratch);
    std::fprintf(stderr, "jobd_bench: (b) end to end, %d jobs\n", absl::GetFlag(FLAGS_e2e_jobs));
    e2e = bench.EndToEnd();
  }
  BatchResult batch;
  if (phases.count("e")) {
    bench.Cleanup(scratch);
    std::fprintf(stderr, "jobd_bench: (e) batch create, %d jobs\n",
                 absl::GetFlag(FLAGS_batch_jobs));
    batch = bench.BatchCreate();
  }
  WakeResult wake;
  if (phases.count("c")) {
    bench.Cleanup(scratch);
    std::fprintf(stderr, "jobd_bench: (c) wake-up latency, %d rounds\n",
                 absl::GetFlag(FLAGS_wake_iterations));
    wake = bench.WakeUp();
    // The floor under (c) on this machine: one INSERT at a time with idle gaps (-R 40: about
    // 25 ms apart, like the rounds of (c)), the latency less pgbench's own start lag.
    if (scratch_error.empty() && wake.ok) {
      bench.Cleanup(scratch);
      PgbenchLevel idle = bench.Pgbench(pgbench, script_path, 1, absl::Seconds(5), "-R 40");
      if (idle.ok && !std::isnan(idle.latency_ms)) {
        wake.idle_insert_ms =
            idle.latency_ms - (std::isnan(idle.schedule_lag_ms) ? 0 : idle.schedule_lag_ms);
      }
    }
  }
  if (!absl::GetFlag(FLAGS_keep_data)) {
    if (scratch) db.Exec(absl::StrCat("DROP TABLE IF EXISTS ", kScratchTable));
    bench.Cleanup(false, /*keep_seed=*/false);
  }
  if (!script_path.empty()) unlink(script_path.c_str());

  // ------------------------------------------------------------------------------------------
  bool ok = true;
  std::ostringstream o;
  o << "jobd benchmark, "
    << absl::FormatTime("%Y-%m-%d %H:%M:%S %Z", absl::Now(), absl::UTCTimeZone()) << "\n";
  o << "machine: " << machine << "\n";
  o << "jobd_bench, jobd and PostgreSQL all run on these cores (loopback TCP to jobd).\n";
  if (!settings_text.empty()) o << settings_text << "\n";
  o << "client: gRPC async API, " << absl::GetFlag(FLAGS_client_threads)
    << " completion-queue thread(s), " << absl::GetFlag(FLAGS_channels) << " channel(s)\n";
  if (!std::isnan(seed_rate)) {
    o << "jobs table: " << seed_jobs
      << " QUEUED jobs of another workspace created first (not measured), then analyzed; each "
         "measurement starts after the previous one's jobs are deleted, VACUUM ANALYZE and "
         "CHECKPOINT\n";
  }
  o << "\n";

  if (phases.count("a") || phases.count("d")) {
    o << absl::StrFormat(
        "(a) CreateJob, closed loop, %s measured after %s warm-up; (d) pgbench, one INSERT per "
        "transaction, -M prepared, %s;%s\n",
        absl::FormatDuration(duration), absl::FormatDuration(warmup),
        absl::FormatDuration(duration),
        repeat > 1 ? absl::StrCat(" median of ", repeat, " interleaved runs") : "");
    o << absl::StrFormat("%7s | %11s | %7s | %7s | %11s | %7s | %8s || %-30s | %s\n", "clients",
                         "jobd jobs/s", "p50 ms", "p99 ms", "pgbench tps", "avg ms", "jobd/pgb",
                         "cores in (a): bench/jobd/pg/other", "in (d): pgbench/pg/other");
    o << std::string(132, '-') << "\n";
    for (size_t i = 0; i < levels.size(); ++i) {
      const CreateLevel& c = creates[i];
      const PgbenchLevel& p = pgbenches[i];
      const double ratio = c.ok && p.ok ? c.rate / p.tps : NAN;
      o << absl::StrFormat(
          "%7d | %11s | %7s | %7s | %11s | %7s | %8s || %-33s | %s\n", levels[i],
          c.ok ? F0(c.rate) : "-", c.ok ? F2(c.p50) : "-", c.ok ? F2(c.p99) : "-",
          p.ok ? F0(p.tps) : "-", p.ok ? F2(p.latency_ms) : "-", F2(ratio),
          c.ran ? absl::StrFormat("%.2f / %.2f / %.2f / %.2f", c.cpu.client, c.cpu.server,
                                  c.cpu.postgres, c.cpu.other)
                : "",
          p.ran ? absl::StrFormat("%.2f / %.2f / %.2f", p.cpu.pgbench, p.cpu.postgres, p.cpu.other)
                : "");
    }
    if (repeat > 1) {
      for (size_t i = 0; i < levels.size(); ++i) {
        std::vector<std::string> a, d;
        for (const auto& c : create_runs[i]) a.push_back(c.ok ? F0(c.rate) : "failed");
        for (const auto& p : pgbench_runs[i]) d.push_back(p.ok ? F0(p.tps) : "failed");
        o << absl::StrFormat("  runs at %d clients: jobd %s; pgbench %s\n", levels[i],
                             absl::StrJoin(a, ", "), absl::StrJoin(d, ", "));
      }
    }
    for (size_t i = 0; i < levels.size(); ++i) {
      if (creates[i].ran && !creates[i].ok) {
        ok = false;
        o << "  (a) " << levels[i] << " clients FAILED: " << creates[i].error << "\n";
      }
      if (pgbenches[i].ran && !pgbenches[i].ok) {
        ok = false;
        o << "  (d) " << levels[i] << " clients FAILED: " << pgbenches[i].error << "\n";
      }
    }
    o << "\n";
  }
  if (phases.count("e")) {
    o << absl::StrFormat("(e) BatchCreateJobs: %d jobs, 1,000 per call, one call at a time\n",
                         batch.jobs);
    if (batch.ok) {
      o << absl::StrFormat("    %s jobs/s; cores busy: %s; verified: %d rows in SQL\n",
                           F0(batch.rate), CpuText(batch.cpu), batch.jobs);
    } else {
      ok = false;
      o << "    FAILED: " << batch.error << "\n";
    }
    o << "\n";
  }
  if (phases.count("b")) {
    o << absl::StrFormat(
        "(b) end to end: %d no-op jobs, %d workers with %d slots in all, acquire max_jobs <= %d "
        "with wait\n",
        e2e.jobs, absl::GetFlag(FLAGS_e2e_workers), absl::GetFlag(FLAGS_e2e_concurrency),
        absl::GetFlag(FLAGS_e2e_max_jobs));
    if (e2e.ok) {
      o << absl::StrFormat("    %s jobs/s (%d jobs in %.2f s, first acquire to last completion)\n",
                           F0(e2e.rate), e2e.jobs, e2e.seconds);
      o << absl::StrFormat(
          "    %lld AcquireJobs calls (%lld empty), %.1f jobs per non-empty acquire; "
          "AcquireJobs p50/p99 %s/%s ms (workers in AcquireJobs %.0f%% of the time); CompleteJob "
          "p50/p99 %s/%s ms\n",
          static_cast<long long>(e2e.acquire_calls), static_cast<long long>(e2e.empty_acquires),
          e2e.mean_batch, F2(e2e.acquire_p50), F2(e2e.acquire_p99), 100 * e2e.acquire_busy,
          F2(e2e.complete_p50), F2(e2e.complete_p99));
      o << "    completions: "
        << (absl::GetFlag(FLAGS_e2e_carry_completions)
                ? "carried on the next AcquireJobs (AcquireJobsRequest.completed)"
                : "one CompleteJob call per job")
        << "\n";
      o << "    untimed create step: " << F0(e2e.create_rate) << " jobs/s\n";
      o << "    cores busy: " << CpuText(e2e.cpu) << "\n";
      // CPU per job: busy core-seconds over the sampled span, divided by the jobs.
      o << absl::StrFormat("    CPU per job: jobd %.0f us, PostgreSQL %.0f us, client %.0f us\n",
                           e2e.cpu.server * e2e.cpu.wall * 1e6 / e2e.jobs,
                           e2e.cpu.postgres * e2e.cpu.wall * 1e6 / e2e.jobs,
                           e2e.cpu.client * e2e.cpu.wall * 1e6 / e2e.jobs);
      if (!e2e.statements_note.empty()) {
        o << "    statements: " << e2e.statements_note << "\n";
      } else {
        o << "    statements by execution time (calls, total ms, mean us, rows, per job us):\n";
        for (const auto& r : e2e.statements) {
          double total_ms = 0;
          (void)absl::SimpleAtod(r[1], &total_ms);
          o << absl::StrFormat("      %8s %7s ms %6s us %8s rows %6.1f us/job  %s\n", r[0], r[1],
                               r[2], r[3], total_ms * 1000 / e2e.jobs, r[4]);
        }
      }
      o << "    verified: " << e2e.verification << "\n";
    } else {
      ok = false;
      o << "    FAILED: " << e2e.error << "\n";
    }
    o << "\n";
  }
  if (phases.count("c")) {
    o << absl::StrFormat(
        "(c) wake-up latency: one worker long-polling (wait 30 s, max_jobs 1); create-call start "
        "to AcquireJobs returning the job; %d rounds after %d unrecorded\n",
        absl::GetFlag(FLAGS_wake_iterations), absl::GetFlag(FLAGS_wake_warmup));
    if (wake.ok) {
      o << absl::StrFormat("    p50 %s ms, p90 %s ms, p99 %s ms (min %s, max %s) over %d rounds\n",
                           F2(wake.p50), F2(wake.p90), F2(wake.p99), F2(wake.min), F2(wake.max),
                           wake.samples);
      o << absl::StrFormat(
          "    of which: CreateJob call p50/p99 %s/%s ms; AcquireJobs returned p50/p99 %s/%s ms "
          "after CreateJob did; polls that came back empty: %d\n",
          F2(wake.create_p50), F2(wake.create_p99), F2(wake.after_create_p50),
          F2(wake.after_create_p99), wake.empty_returns);
      if (!std::isnan(wake.idle_insert_ms)) {
        o << absl::StrFormat(
            "    floor on this machine: a lone pgbench INSERT every ~25 ms (-c 1 -R 40) takes "
            "%s ms on average (back to back: see (d) at 1 client)\n",
            F2(wake.idle_insert_ms));
      }
      o << "    cores busy: " << CpuText(wake.cpu) << "\n";
      o << "    verified: " << wake.verification << "\n";
    } else {
      ok = false;
      o << "    FAILED: " << wake.error << "\n";
    }
    o << "\n";
  }
  // Work of other processes on the shared cores makes a figure unreliable: name those.
  std::vector<std::string> disturbed;
  auto check = [&](const std::string& what, const CpuUse& u) {
    if (!std::isnan(u.other) && u.other > kDisturbedCores) {
      disturbed.push_back(absl::StrFormat("%s (%.2f cores)", what, u.other));
    }
  };
  for (size_t i = 0; i < levels.size(); ++i) {
    for (const auto& c : create_runs[i]) check(absl::StrCat("(a) ", levels[i]), c.cpu);
    for (const auto& p : pgbench_runs[i]) check(absl::StrCat("(d) ", levels[i]), p.cpu);
  }
  if (e2e.ran) check("(b)", e2e.cpu);
  if (wake.ran) check("(c)", wake.cpu);
  if (!disturbed.empty()) {
    o << "WARNING: other processes used more than " << kDisturbedCores
      << " cores during: " << absl::StrJoin(disturbed, ", ")
      << ". Those figures are disturbed; run again on a quiet machine.\n";
  } else {
    o << "No measurement saw other processes use more than " << kDisturbedCores << " cores.\n";
  }
  std::cout << o.str() << std::flush;
  return ok ? 0 : 1;
}
