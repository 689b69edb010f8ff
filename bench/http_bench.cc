// http_bench: the HTTP/JSON API against gRPC on one jobd, and server-sent event fan-out
// (docs/BENCHMARKS.md; run it with bench/run_http.sh).
//   --part rest: CreateJob, then GetJob, by --clients clients for --duration each, over gRPC
//     (one channel, a thread per client) and over HTTP (a kept-alive connection and a thread
//     per client), interleaved; calls per second and the HTTP/gRPC ratio.
//   --part sse: --streams job event streams over --jobs jobs, opened at once; jobd's resident
//     memory and threads before and after (per idle stream); then a worker reports progress
//     (--rate reports per second in all, each carrying its send time) and every stream's
//     delivery latency is measured: p50, p99, max, and events lost (must be 0).
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "bench/bench_util.h"
#include "jobd/v1/worker_service.grpc.pb.h"

ABSL_FLAG(std::string, part, "rest", "rest or sse");
ABSL_FLAG(std::string, address, "", "jobd's gRPC host:port");
ABSL_FLAG(int, http_port, 0, "jobd's HTTP port on 127.0.0.1");
ABSL_FLAG(std::string, api_key, "", "an admin key");
ABSL_FLAG(int, jobd_pid, 0, "jobd's pid, for its memory and threads");
ABSL_FLAG(int, clients, 32, "rest: concurrent clients");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "how long each measured phase runs");
ABSL_FLAG(int, streams, 1000, "sse: event streams");
ABSL_FLAG(int, jobs, 10, "sse: jobs the streams watch (streams / jobs each)");
ABSL_FLAG(double, rate, 20, "sse: progress reports per second, over all jobs");

namespace jobd::bench {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// A field of /proc/PID/status in kB (VmRSS) or as a count (Threads).
int64_t ProcStatus(int pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      int64_t value = 0;
      absl::SimpleAtoi(absl::StripAsciiWhitespace(absl::StripSuffix(
                           absl::StripAsciiWhitespace(line.substr(field.size() + 1)), "kB")),
                       &value);
      return value;
    }
  }
  return -1;
}

std::string Workspace() { return absl::StrCat("bench-http-", NowNanos() % 1000000000); }

// --- rest -------------------------------------------------------------------------------------

struct PhaseResult {
  double per_second = 0;
  int64_t errors = 0;
};

// Runs `call` in `clients` threads for the duration; each returns false on an error.
template <typename MakeClient>
PhaseResult RunPhase(int clients, MakeClient make) {
  std::atomic<int64_t> ok{0}, errors{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      auto call = make(c);
      while (!stop.load(std::memory_order_relaxed)) (call() ? ok : errors).fetch_add(1);
    });
  }
  const auto start = Clock::now();
  std::this_thread::sleep_for(absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_duration)));
  stop = true;
  for (auto& t : threads) t.join();
  return {static_cast<double>(ok.load()) / Sec(Clock::now() - start), errors.load()};
}

// One kept-alive HTTP connection.
class HttpClient {
 public:
  explicit HttpClient(int port) : socket_(io_) {
    socket_.connect(tcp::endpoint(net::ip::address_v4::loopback(), static_cast<uint16_t>(port)));
    socket_.set_option(tcp::no_delay(true));
  }
  // The status, 0 on a transport error; `body` gets the answer.
  int Call(bhttp::verb verb, const std::string& target, const std::string& key,
           const std::string& body, std::string* answer) {
    bhttp::request<bhttp::string_body> request(verb, target, 11);
    request.set(bhttp::field::host, "127.0.0.1");
    request.set(bhttp::field::authorization, "Bearer " + key);
    if (verb == bhttp::verb::post) {
      request.set(bhttp::field::content_type, "application/json");
      request.body() = body;
      request.prepare_payload();
    }
    beast::error_code ec;
    bhttp::write(socket_, request, ec);
    if (ec) return 0;
    bhttp::response<bhttp::string_body> response;
    bhttp::read(socket_, buffer_, response, ec);
    if (ec) return 0;
    if (answer) *answer = std::move(response.body());
    return response.result_int();
  }

 private:
  net::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

std::string JsonString(const std::string& json, const std::string& key) {
  const std::string needle = "\"" + key + "\":\"";
  const size_t at = json.find(needle);
  if (at == std::string::npos) return "";
  const size_t start = at + needle.size();
  return json.substr(start, json.find('"', start) - start);
}

int RunRest() {
  const std::string key = absl::GetFlag(FLAGS_api_key);
  const int port = absl::GetFlag(FLAGS_http_port);
  const int clients = absl::GetFlag(FLAGS_clients);
  const std::string ws = Workspace();
  auto channel =
      grpc::CreateChannel(absl::GetFlag(FLAGS_address), grpc::InsecureChannelCredentials());
  auto stub = v1::JobService::NewStub(channel);
  auto grpc_context = [&key] {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("authorization", "Bearer " + key);
    return context;
  };
  // A job for the GetJob phases.
  std::string job_id;
  {
    HttpClient client(port);
    std::string answer;
    if (client.Call(bhttp::verb::post, "/v1/workspaces/" + ws + "/jobs", key,
                    R"({"type":"bench.get","payload":{"n":1}})", &answer) != 200) {
      std::fprintf(stderr, "http_bench: cannot create a job over HTTP: %s\n", answer.c_str());
      return 1;
    }
    job_id = JsonString(answer, "id");
  }
  auto grpc_create = [&](int) {
    return [&] {
      v1::CreateJobRequest request;
      request.set_workspace_id(ws);
      request.set_type("bench.rest");
      (*request.mutable_payload()->mutable_fields())["n"].set_number_value(1);
      v1::CreateJobResponse response;
      return stub->CreateJob(grpc_context().get(), request, &response).ok();
    };
  };
  auto http_create = [&](int) {
    return [&, client = std::make_shared<HttpClient>(port)] {
      return client->Call(bhttp::verb::post, "/v1/workspaces/" + ws + "/jobs", key,
                          R"({"type":"bench.rest","payload":{"n":1}})", nullptr) == 200;
    };
  };
  auto grpc_get = [&](int) {
    return [&] {
      v1::GetJobRequest request;
      request.set_id(job_id);
      v1::GetJobResponse response;
      return stub->GetJob(grpc_context().get(), request, &response).ok();
    };
  };
  auto http_get = [&](int) {
    return [&, client = std::make_shared<HttpClient>(port)] {
      return client->Call(bhttp::verb::get, "/v1/jobs/" + job_id, key, "", nullptr) == 200;
    };
  };
  // Interleaved, each twice: gRPC, HTTP, HTTP, gRPC (the machine's drift falls on both).
  std::map<std::string, std::vector<PhaseResult>> results;
  for (const char* order : {"grpc", "http", "http", "grpc"}) {
    const bool grpc = std::string(order) == "grpc";
    results[std::string(order) + " create"].push_back(grpc ? RunPhase(clients, grpc_create)
                                                           : RunPhase(clients, http_create));
    results[std::string(order) + " get"].push_back(grpc ? RunPhase(clients, grpc_get)
                                                        : RunPhase(clients, http_get));
  }
  auto mean = [&](const std::string& name) {
    double sum = 0;
    for (const PhaseResult& r : results[name]) sum += r.per_second;
    return sum / results[name].size();
  };
  auto errors = [&](const std::string& name) {
    int64_t sum = 0;
    for (const PhaseResult& r : results[name]) sum += r.errors;
    return sum;
  };
  std::printf(
      "| call (%d clients, %s per phase, 2 phases each) | gRPC calls/s | HTTP calls/s | HTTP / "
      "gRPC | errors |\n",
      clients, absl::FormatDuration(absl::GetFlag(FLAGS_duration)).c_str());
  std::printf("|---|---|---|---|---|\n");
  for (const char* call : {"create", "get"}) {
    const double g = mean(absl::StrCat("grpc ", call)), h = mean(absl::StrCat("http ", call));
    std::printf("| %s | %.0f | %.0f | %.2f | %lld |\n",
                call == std::string("create") ? "CreateJob" : "GetJob", g, h, h / g,
                static_cast<long long>(errors(absl::StrCat("grpc ", call)) +
                                       errors(absl::StrCat("http ", call))));
  }
  return 0;
}

// --- sse --------------------------------------------------------------------------------------

// Every stream on one I/O thread: connect, send the request, read chunks, and for each
// progress event take the latency from the send time the worker put in its message.
class Streams {
 public:
  Streams(int port, const std::string& key) : port_(port), key_(key) {}

  void Open(const std::vector<std::string>& job_ids, int count) {
    conns_.reserve(count);
    for (int i = 0; i < count; ++i) {
      auto conn = std::make_unique<Conn>(io_);
      conn->request = absl::StrCat("GET /v1/jobs/", job_ids[i % job_ids.size()],
                                   ":watch HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ",
                                   key_, "\r\nAccept: text/event-stream\r\n\r\n");
      Conn* c = conn.get();
      conns_.push_back(std::move(conn));
      c->socket.async_connect(
          tcp::endpoint(net::ip::address_v4::loopback(), static_cast<uint16_t>(port_)),
          [this, c](beast::error_code ec) {
            if (ec) return Failed(c, ec);
            net::async_write(c->socket, net::buffer(c->request),
                             [this, c](beast::error_code ec, size_t) {
                               if (ec) return Failed(c, ec);
                               Read(c);
                             });
          });
    }
    thread_ = std::thread([this] { io_.run(); });
  }

  int snapshots() const { return snapshots_.load(); }
  int failed() const { return failed_.load(); }
  // (send time, receipt time) of every progress event received.
  std::vector<std::pair<int64_t, int64_t>> TakeReceipts() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::move(receipts_);
  }
  int64_t received() const { return received_.load(); }

  void Close() {
    net::post(io_, [this] {
      for (auto& c : conns_) {
        beast::error_code ignored;
        c->socket.close(ignored);
      }
    });
    thread_.join();
  }

 private:
  struct Conn {
    explicit Conn(net::io_context& io) : socket(io) {}
    tcp::socket socket;
    std::string request;
    std::array<char, 4096> chunk;
    std::string pending;
    bool snapshot = false;
  };

  void Failed(Conn* c, beast::error_code ec) {
    if (ec != net::error::operation_aborted) failed_.fetch_add(1);
  }

  void Read(Conn* c) {
    c->socket.async_read_some(net::buffer(c->chunk), [this, c](beast::error_code ec, size_t n) {
      if (ec) return Failed(c, ec);
      const int64_t now = NowNanos();
      c->pending.append(c->chunk.data(), n);
      size_t end;
      while ((end = c->pending.find("\n\n")) != std::string::npos) {
        const std::string block = c->pending.substr(0, end);
        c->pending.erase(0, end + 2);
        if (!c->snapshot && block.find("event: snapshot") != std::string::npos) {
          c->snapshot = true;
          snapshots_.fetch_add(1);
        }
        const size_t at = block.find("\"progressMessage\":\"t=");
        if (at == std::string::npos || block.find("event: progress") == std::string::npos) {
          continue;
        }
        int64_t sent = 0;
        const size_t from = at + 21;
        if (absl::SimpleAtoi(block.substr(from, block.find('"', from) - from), &sent)) {
          received_.fetch_add(1);
          std::lock_guard<std::mutex> lock(mu_);
          receipts_.emplace_back(sent, now);
        }
      }
      Read(c);
    });
  }

  const int port_;
  const std::string key_;
  net::io_context io_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::thread thread_;
  std::atomic<int> snapshots_{0}, failed_{0};
  std::atomic<int64_t> received_{0};
  std::mutex mu_;
  std::vector<std::pair<int64_t, int64_t>> receipts_;
};

int RunSse() {
  const std::string key = absl::GetFlag(FLAGS_api_key);
  const int port = absl::GetFlag(FLAGS_http_port);
  const int streams = absl::GetFlag(FLAGS_streams);
  const int jobs = std::max(1, absl::GetFlag(FLAGS_jobs));
  const int pid = absl::GetFlag(FLAGS_jobd_pid);
  const std::string ws = Workspace();
  auto channel =
      grpc::CreateChannel(absl::GetFlag(FLAGS_address), grpc::InsecureChannelCredentials());
  auto job_stub = v1::JobService::NewStub(channel);
  auto worker_stub = v1::WorkerService::NewStub(channel);
  auto context = [&key] {
    auto c = std::make_unique<grpc::ClientContext>();
    c->AddMetadata("authorization", "Bearer " + key);
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return c;
  };
  std::vector<std::string> ids;
  for (int j = 0; j < jobs; ++j) {
    v1::CreateJobRequest request;
    request.set_workspace_id(ws);
    request.set_type("bench.sse");
    v1::CreateJobResponse response;
    grpc::Status s = job_stub->CreateJob(context().get(), request, &response);
    if (!s.ok()) {
      std::fprintf(stderr, "http_bench: CreateJob: %s\n", StatusText(s).c_str());
      return 1;
    }
    ids.push_back(response.job().id());
  }
  // Leased before the streams open, so that they then sit idle.
  v1::AcquireJobsRequest acquire;
  acquire.set_workspace_id(ws);
  acquire.add_types("bench.sse");
  acquire.set_worker_id("http-bench");
  acquire.set_max_jobs(jobs);
  acquire.mutable_lease_duration()->set_seconds(600);
  v1::AcquireJobsResponse leased;
  grpc::Status s = worker_stub->AcquireJobs(context().get(), acquire, &leased);
  if (!s.ok() || leased.jobs_size() != jobs) {
    std::fprintf(stderr, "http_bench: AcquireJobs: %s (%d jobs)\n", StatusText(s).c_str(),
                 leased.jobs_size());
    return 1;
  }
  const int64_t rss_before = ProcStatus(pid, "VmRSS"), threads_before = ProcStatus(pid, "Threads");
  Streams open(port, key);
  const auto open_start = Clock::now();
  open.Open(ids, streams);
  while (open.snapshots() + open.failed() < streams &&
         Clock::now() - open_start < std::chrono::seconds(120)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double open_seconds = Sec(Clock::now() - open_start);
  std::this_thread::sleep_for(std::chrono::seconds(1));  // settle
  const int64_t rss_idle = ProcStatus(pid, "VmRSS"), threads_idle = ProcStatus(pid, "Threads");

  // Reports at a steady rate, round robin over the jobs.
  const double rate = absl::GetFlag(FLAGS_rate);
  const auto period = std::chrono::nanoseconds(static_cast<int64_t>(1e9 / rate));
  const auto report_start = Clock::now();
  const auto report_end = report_start + absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_duration));
  int64_t reports = 0, report_errors = 0;
  std::map<int64_t, int64_t> committed;  // send time -> when ReportProgress returned
  for (auto next = report_start; next < report_end; next += period) {
    std::this_thread::sleep_until(next);
    const v1::LeasedJob& job = leased.jobs(static_cast<int>(reports % jobs));
    v1::ReportProgressRequest request;
    request.set_job_id(job.job().id());
    request.set_lease_token(job.lease_token());
    request.set_progress_percent(static_cast<float>(reports % 100));
    const int64_t sent = NowNanos();
    request.set_progress_message(absl::StrCat("t=", sent));
    v1::ReportProgressResponse response;
    if (worker_stub->ReportProgress(context().get(), request, &response).ok()) {
      committed[sent] = NowNanos();
      ++reports;
    } else {
      ++report_errors;
    }
  }
  // Every stream of a reported job gets each of its reports once (stream i watches job i % jobs).
  int64_t expected = 0;
  for (int j = 0; j < jobs; ++j) {
    const int64_t streams_of_job = streams / jobs + (j < streams % jobs ? 1 : 0);
    const int64_t reports_of_job = reports / jobs + (j < reports % jobs ? 1 : 0);
    expected += streams_of_job * reports_of_job;
  }
  const auto drain_start = Clock::now();
  while (open.received() < expected && Clock::now() - drain_start < std::chrono::seconds(30)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const int64_t rss_end = ProcStatus(pid, "VmRSS");
  // From the report's send (its group commit included) and from its committed reply (as the
  // gRPC watch benchmark measures); negative when the event beats the reply.
  std::vector<double> from_send, from_commit;
  for (const auto& [sent, receipt] : open.TakeReceipts()) {
    from_send.push_back(static_cast<double>(receipt - sent) / 1e6);
    auto it = committed.find(sent);
    if (it != committed.end())
      from_commit.push_back(static_cast<double>(receipt - it->second) / 1e6);
  }
  const int64_t received = static_cast<int64_t>(from_send.size());
  open.Close();
  std::printf(
      "| streams | jobs | opened in | failed | jobd threads before / with streams | RSS per idle "
      "stream | reports/s | deliveries | lost | from commit p50 / p99 / max ms | from send p50 / "
      "p99 ms | RSS after |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  std::printf(
      "| %d | %d | %.2f s | %d | %lld / %lld | %.1f KiB | %.0f | %lld | %lld | %.2f / %.2f / %.2f "
      "| %.2f / %.2f | %.0f MiB |\n",
      streams, jobs, open_seconds, open.failed(), static_cast<long long>(threads_before),
      static_cast<long long>(threads_idle), static_cast<double>(rss_idle - rss_before) / streams,
      reports / Sec(report_end - report_start), static_cast<long long>(received),
      static_cast<long long>(expected - received), Percentile(from_commit, 50),
      Percentile(from_commit, 99), Percentile(from_commit, 100), Percentile(from_send, 50),
      Percentile(from_send, 99), static_cast<double>(rss_end) / 1024);
  if (report_errors > 0)
    std::fprintf(stderr, "http_bench: %lld reports failed\n",
                 static_cast<long long>(report_errors));
  return open.failed() == 0 && expected == received ? 0 : 1;
}

}  // namespace
}  // namespace jobd::bench

int main(int argc, char** argv) {
  jobd::bench::InitBench(argc, argv,
                         "http_bench --part rest|sse --address A --http_port P --api_key K");
  const std::string part = absl::GetFlag(FLAGS_part);
  if (part == "rest") return jobd::bench::RunRest();
  if (part == "sse") return jobd::bench::RunSse();
  std::fprintf(stderr, "http_bench: --part must be rest or sse\n");
  return 2;
}
