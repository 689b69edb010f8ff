// WatchJob, WatchJobs and ListJobEvents end to end (docs/EVENTS.md): exact event streams under
// concurrent writers and resuming watchers, across two jobd processes, with a stalled watcher,
// and the stream's end and error codes. Every stream has a deadline, so a hang fails the test.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/e2e/jobd_fixture.h"

namespace jobd::testing {
namespace {

#ifdef JOBD_SANITIZED
constexpr bool kSanitizedBuild = true;
#else
constexpr bool kSanitizedBuild = false;
#endif

using grpc::StatusCode;

#define EXPECT_CODE(status, code) EXPECT_EQ((status).error_code(), code) << (status).error_message()

bool Terminal(v1::JobState state) {
  return state == v1::JOB_STATE_SUCCEEDED || state == v1::JOB_STATE_FAILED ||
         state == v1::JOB_STATE_CANCELLED;
}

bool IsTerminalEvent(const v1::JobEvent& event) {
  return event.kind() == v1::JOB_EVENT_KIND_STATE_CHANGED && Terminal(event.job().state());
}

// What a watcher must agree on with ListJobEvents for the same sequence: the fields EVENTS.md
// says are recorded with the event (event.time is compared apart, to the microsecond).
std::string Describe(const v1::JobEvent& e) {
  const v1::Job& j = e.job();
  return absl::StrCat(
      e.sequence(), " ", v1::JobEventKind_Name(e.kind()), " job_id=", e.job_id(), " ",
      v1::JobState_Name(j.state()), " job.sequence=", j.sequence(), " attempt=", j.attempt(),
      " percent=", j.progress_percent(), " worker=", j.worker_id(), " error=", j.error_message(),
      " progress_message=", j.progress_message(),
      " message=", v1::MessageLevel_Name(e.message().level()), ":", e.message().text());
}

std::string Short(const std::string& s) {
  return s.size() <= 240 ? s : s.substr(0, 240) + "…(" + std::to_string(s.size()) + " bytes)";
}

int64_t Micros(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000000 + t.nanos() / 1000;
}

// "n events, sequences a..b, first gap after x, k repeated" for failure messages.
std::string SequenceSummary(const std::vector<v1::JobEvent>& events) {
  if (events.empty()) return "no events";
  std::string out = absl::StrCat(events.size(), " events, sequences ", events.front().sequence(),
                                 "..", events.back().sequence());
  std::set<int64_t> seen;
  int repeated = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    if (!seen.insert(events[i].sequence()).second) ++repeated;
    if (i > 0 && events[i].sequence() != events[i - 1].sequence() + 1 &&
        out.find("first break") == std::string::npos) {
      absl::StrAppend(&out, ", first break: ", events[i - 1].sequence(), " then ",
                      events[i].sequence());
    }
  }
  if (repeated > 0) absl::StrAppend(&out, ", ", repeated, " repeated");
  return out;
}

// Expects `got` to be exactly the history after sequence `after`: after+1 .. N, each once, in
// order, each equal to ListJobEvents' event of the same sequence.
void ExpectHistoryAfter(const std::string& who, const std::vector<v1::JobEvent>& got,
                        const std::vector<v1::JobEvent>& history, int64_t after) {
  ASSERT_GE(after, 0) << who;
  ASSERT_LE(after, static_cast<int64_t>(history.size())) << who;
  const size_t expected = history.size() - static_cast<size_t>(after);
  EXPECT_EQ(got.size(), expected) << who << ": expected sequences " << after + 1 << ".."
                                  << history.size() << ", got " << SequenceSummary(got);
  for (size_t i = 0; i < std::min(got.size(), expected); ++i) {
    const v1::JobEvent& want = history[after + i];
    const std::string a = Describe(got[i]);
    const std::string b = Describe(want);
    if (a != b) {
      ADD_FAILURE() << who << ": event #" << i << " of the stream is\n  " << Short(a)
                    << "\nbut ListJobEvents has\n  " << Short(b)
                    << "\n(stream: " << SequenceSummary(got) << ")";
      return;
    }
    if (std::abs(Micros(got[i].time()) - Micros(want.time())) > 1) {
      ADD_FAILURE() << who << ": event " << want.sequence() << " has time "
                    << got[i].time().ShortDebugString() << " in the stream but "
                    << want.time().ShortDebugString() << " in ListJobEvents";
      return;
    }
  }
}

// Per job, WatchJobs keeps order and sends nothing twice; a jump in sequence is allowed only
// where missed events were replaced by one SNAPSHOT (EVENTS.md).
void ExpectPerJobOrder(const std::string& who, const std::vector<v1::JobEvent>& events) {
  for (size_t i = 1; i < events.size(); ++i) {
    const int64_t prev = events[i - 1].sequence();
    const int64_t seq = events[i].sequence();
    if (seq <= prev) {
      ADD_FAILURE() << who << ": sequence " << seq << " after " << prev << " ("
                    << SequenceSummary(events) << ")";
      return;
    }
    if (seq != prev + 1 && events[i].kind() != v1::JOB_EVENT_KIND_SNAPSHOT) {
      ADD_FAILURE() << who << ": jump from " << prev << " to " << seq << " by a "
                    << v1::JobEventKind_Name(events[i].kind()) << ", not a SNAPSHOT ("
                    << SequenceSummary(events) << ")";
      return;
    }
  }
}

// Runs `f` when the scope ends, however it ends (a failed ASSERT returns early): threads are
// joined and streams cancelled instead of std::terminate on a joinable thread.
struct Finally {
  std::function<void()> f;
  ~Finally() { f(); }
};

struct Watched {
  std::vector<v1::JobEvent> events;
  grpc::Status status;
};

class WatchTest : public JobdTest {
 protected:
  // A WatchJob stream on jobd #1 whose SNAPSHOT has been read (so its subscription surely
  // exists); the rest is for the test to read.
  struct OpenWatch {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<grpc::ClientReader<v1::WatchJobResponse>> reader;
    v1::JobEvent snapshot;
  };
  void OpenAtSnapshot(const std::string& id, absl::Duration timeout, OpenWatch* out) {
    out->context = Ctx(timeout);
    v1::WatchJobRequest request;
    request.set_id(id);
    out->reader = jobs_->WatchJob(out->context.get(), request);
    v1::WatchJobResponse response;
    ASSERT_TRUE(out->reader->Read(&response));
    ASSERT_EQ(response.event().kind(), v1::JOB_EVENT_KIND_SNAPSHOT);
    out->snapshot = response.event();
  }

  v1::Job Create(const std::string& workspace = "demo", const std::string& type = "t",
                 int max_attempts = 3, v1::JobService::Stub* stub = nullptr) {
    v1::CreateJobRequest request;
    request.set_workspace_id(workspace);
    request.set_type(type);
    request.mutable_retry_policy()->set_max_attempts(max_attempts);
    (*request.mutable_payload()->mutable_fields())["input"].set_string_value("left out of events");
    v1::CreateJobResponse response;
    grpc::Status status = (stub ? stub : jobs_.get())->CreateJob(Ctx().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.job();
  }

  // Leases the one ready job of `type` in `workspace` (a long lease: tests take seconds).
  static v1::LeasedJob AcquireOne(v1::WorkerService::Stub& stub,
                                  const std::string& workspace = "demo",
                                  const std::string& type = "t") {
    v1::AcquireJobsRequest request;
    request.set_workspace_id(workspace);
    request.add_types(type);
    request.set_worker_id("worker-" + type);
    request.set_max_jobs(1);
    *request.mutable_lease_duration() = Millis(120000);
    v1::AcquireJobsResponse response;
    grpc::Status status = stub.AcquireJobs(Ctx().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.jobs_size(), 1);
    return response.jobs_size() > 0 ? response.jobs(0) : v1::LeasedJob();
  }

  static grpc::Status Report(v1::WorkerService::Stub& stub, const v1::LeasedJob& leased,
                             float percent, const std::string& text,
                             const std::vector<std::string>& messages = {},
                             v1::MessageLevel level = v1::MESSAGE_LEVEL_INFO) {
    v1::ReportProgressRequest request;
    request.set_job_id(leased.job().id());
    request.set_lease_token(leased.lease_token());
    request.set_progress_percent(percent);
    request.set_progress_message(text);
    for (const std::string& m : messages) {
      v1::JobMessage* message = request.add_messages();
      message->set_level(level);
      message->set_text(m);
    }
    v1::ReportProgressResponse response;
    grpc::Status status = stub.ReportProgress(Ctx().get(), request, &response);
    if (status.ok() && response.cancelled()) return grpc::Status(StatusCode::INTERNAL, "cancelled");
    return status;
  }

  static grpc::Status Complete(v1::WorkerService::Stub& stub, const v1::LeasedJob& leased) {
    v1::CompleteJobRequest request;
    request.set_job_id(leased.job().id());
    request.set_lease_token(leased.lease_token());
    (*request.mutable_result()->mutable_fields())["ok"].set_bool_value(true);
    v1::CompleteJobResponse response;
    return stub.CompleteJob(Ctx().get(), request, &response);
  }

  // The job's whole history through ListJobEvents, every page.
  static std::vector<v1::JobEvent> History(v1::JobService::Stub& stub, const std::string& id) {
    std::vector<v1::JobEvent> events;
    v1::ListJobEventsRequest request;
    request.set_id(id);
    request.set_page_size(200);  // pages of large events stay under gRPC's 4 MiB message limit
    for (int pages = 0; pages < 10000; ++pages) {
      v1::ListJobEventsResponse page;
      grpc::Status status = stub.ListJobEvents(Ctx().get(), request, &page);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      for (const auto& e : page.events()) events.push_back(e);
      if (page.next_page_token().empty()) break;
      request.set_page_token(page.next_page_token());
    }
    for (size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ(events[i].sequence(), static_cast<int64_t>(i) + 1) << "ListJobEvents of " << id;
      if (events[i].sequence() != static_cast<int64_t>(i) + 1) break;
    }
    return events;
  }

  // One WatchJob read to its end (or to `timeout`).
  static Watched WatchToEnd(v1::JobService::Stub& stub, const std::string& id,
                            std::optional<int64_t> after_sequence,
                            absl::Duration timeout = absl::Seconds(10)) {
    auto context = Ctx(timeout);
    v1::WatchJobRequest request;
    request.set_id(id);
    if (after_sequence) request.set_after_sequence(*after_sequence);
    auto reader = stub.WatchJob(context.get(), request);
    Watched out;
    v1::WatchJobResponse response;
    while (reader->Read(&response)) out.events.push_back(response.event());
    out.status = reader->Finish();
    return out;
  }
};

// --- 1. Exactness under concurrency --------------------------------------------------------

TEST_F(WatchTest, ConcurrentWritersAndResumingWatchersSeeEveryEventOnce) {
  constexpr int kWriters = 4;
  constexpr int kReportsPerWriter = 750;  // 3,000 progress events, 300 messages
  constexpr int kWatchers = 8;
  const v1::Job job = Create();
  const v1::LeasedJob leased = AcquireOne(*workers_);
  ASSERT_FALSE(leased.lease_token().empty());
  const std::string id = job.id();
  auto channel = jobd_->channel();

  struct WatcherLog {
    int64_t snapshot_sequence = -1;
    std::vector<v1::JobEvent> events;  // after the SNAPSHOT, across every stream
    int streams = 0;
    bool ended_ok = false;
    std::string failure;
  };
  std::vector<WatcherLog> logs(kWatchers);
  std::atomic<int> first_snapshots{0};
  const absl::Time give_up = absl::Now() + absl::Seconds(120);
  std::vector<std::thread> watchers;
  Finally join_watchers{[&] {
    for (auto& t : watchers) {
      if (t.joinable()) t.join();
    }
  }};
  for (int w = 0; w < kWatchers; ++w) {
    watchers.emplace_back([&, w] {
      WatcherLog& log = logs[w];
      auto stub = v1::JobService::NewStub(channel);
      std::mt19937 random(1000 + w);
      bool terminal_seen = false;
      while (!log.ended_ok && log.failure.empty()) {
        if (absl::Now() > give_up) {
          log.failure = "gave up: no terminal event after 120 s";
          break;
        }
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
        v1::WatchJobRequest request;
        request.set_id(id);
        const bool first = log.snapshot_sequence < 0;
        if (!first) {
          request.set_after_sequence(log.events.empty() ? log.snapshot_sequence
                                                        : log.events.back().sequence());
        }
        auto reader = stub->WatchJob(&context, request);
        ++log.streams;
        // The first stream reads at least its SNAPSHOT; later ones may be dropped at once.
        int budget =
            first ? 1 + static_cast<int>(random() % 200) : static_cast<int>(random() % 200);
        bool cancelled = false;
        v1::WatchJobResponse response;
        for (;;) {
          if (budget == 0 && !terminal_seen) {
            context.TryCancel();
            cancelled = true;
            break;
          }
          if (!reader->Read(&response)) break;
          --budget;
          const v1::JobEvent& event = response.event();
          if (log.snapshot_sequence < 0) {
            if (event.kind() != v1::JOB_EVENT_KIND_SNAPSHOT) {
              log.failure = "first event is not a SNAPSHOT: " + Short(Describe(event));
              break;
            }
            log.snapshot_sequence = event.sequence();
            ++first_snapshots;
            continue;
          }
          log.events.push_back(event);
          if (IsTerminalEvent(event)) terminal_seen = true;
        }
        const grpc::Status status = reader->Finish();
        if (!log.failure.empty()) break;
        if (terminal_seen) {
          if (status.ok()) {
            log.ended_ok = true;
          } else {
            log.failure = absl::StrCat("after the terminal event the stream ended with ",
                                       status.error_code(), " ", status.error_message());
          }
        } else if (!cancelled) {
          log.failure = absl::StrCat("stream ", log.streams, " ended before the terminal event ",
                                     "with ", status.error_code(), " ", status.error_message(),
                                     " (", SequenceSummary(log.events), ")");
        } else if (status.error_code() != StatusCode::CANCELLED && !status.ok()) {
          log.failure = absl::StrCat("a cancelled stream ended with ", status.error_code(), " ",
                                     status.error_message());
        }
      }
    });
  }
  // Writers start once every watcher holds its first SNAPSHOT, so each sees thousands live.
  EXPECT_TRUE(WaitFor([&] { return first_snapshots.load() == kWatchers; }, absl::Seconds(30)))
      << first_snapshots.load() << " of " << kWatchers << " watchers got a SNAPSHOT";

  std::vector<std::thread> writers;
  std::atomic<int> write_errors{0};
  for (int t = 0; t < kWriters; ++t) {
    writers.emplace_back([&, t] {
      auto stub = v1::WorkerService::NewStub(channel);
      for (int i = 0; i < kReportsPerWriter; ++i) {
        // A distinct progress_message each time, so each report is one PROGRESS event.
        std::vector<std::string> messages;
        if (i % 10 == 0) messages.push_back(absl::StrCat("note ", t, "/", i));
        grpc::Status s = Report(*stub, leased, static_cast<float>((i * kWriters + t) % 100),
                                absl::StrCat("writer ", t, " report ", i), messages);
        if (!s.ok()) {
          if (++write_errors < 5)
            ADD_FAILURE() << "ReportProgress: " << s.error_code() << " " << s.error_message();
        }
      }
    });
  }
  for (auto& t : writers) t.join();
  EXPECT_TRUE(Complete(*workers_, leased).ok());
  for (auto& t : watchers) t.join();
  EXPECT_EQ(write_errors.load(), 0);

  const std::vector<v1::JobEvent> history = History(*jobs_, id);
  const int64_t n = 2 + kWriters * kReportsPerWriter + kWriters * kReportsPerWriter / 10 + 1;
  ASSERT_EQ(static_cast<int64_t>(history.size()), n);
  EXPECT_EQ(Get(id).sequence(), n);
  EXPECT_EQ(history.back().job().state(), v1::JOB_STATE_SUCCEEDED);
  for (int w = 0; w < kWatchers; ++w) {
    const WatcherLog& log = logs[w];
    const std::string who = absl::StrCat("watcher ", w, " (", log.streams, " streams, SNAPSHOT at ",
                                         log.snapshot_sequence, ")");
    EXPECT_TRUE(log.failure.empty()) << who << ": " << log.failure;
    EXPECT_TRUE(log.ended_ok) << who;
    ASSERT_GE(log.snapshot_sequence, 2) << who;
    ExpectHistoryAfter(who, log.events, history, log.snapshot_sequence);
    std::cerr << who << ": " << log.events.size() << " events\n";
  }
}

// --- 2. Two jobd processes on one database -------------------------------------------------

TEST_F(WatchTest, WatcherOnOneProcessSeesEveryWriteThroughAnother) {
  JobdProcess second(database_->url());
  ASSERT_TRUE(second.running());
  {
    auto jobs2 = v1::JobService::NewStub(second.channel());
    auto workers2 = v1::WorkerService::NewStub(second.channel());
    const v1::Job job = Create("demo", "t", 3, jobs2.get());
    const std::string id = job.id();

    // Watcher A on jobd #1 from a SNAPSHOT, read before any write so its subscription exists.
    OpenWatch watch_a;
    ASSERT_NO_FATAL_FAILURE(OpenAtSnapshot(id, absl::Seconds(120), &watch_a));
    EXPECT_EQ(watch_a.snapshot.sequence(), 1);
    EXPECT_EQ(watch_a.snapshot.job().state(), v1::JOB_STATE_QUEUED);
    Watched a;
    Watched b;
    std::thread thread_a([&] {
      v1::WatchJobResponse response;
      while (watch_a.reader->Read(&response)) a.events.push_back(response.event());
      a.status = watch_a.reader->Finish();
    });
    std::thread thread_b;
    Finally join{[&] {
      if (HasFatalFailure()) watch_a.context->TryCancel();
      if (thread_a.joinable()) thread_a.join();
      if (thread_b.joinable()) thread_b.join();
    }};

    // Every write through jobd #2; watcher B joins on jobd #1 half way, from sequence 0.
    const v1::LeasedJob leased = AcquireOne(*workers2);
    ASSERT_FALSE(leased.lease_token().empty());
    for (int i = 0; i < 300; ++i) {
      std::vector<std::string> messages;
      if (i % 5 == 0) messages = {absl::StrCat("step ", i), absl::StrCat("detail ", i)};
      ASSERT_TRUE(Report(*workers2, leased, i / 3.0f, absl::StrCat("item ", i), messages).ok());
      if (i == 150) {
        thread_b = std::thread([&] { b = WatchToEnd(*jobs_, id, 0, absl::Seconds(120)); });
      }
    }
    ASSERT_TRUE(Complete(*workers2, leased).ok());
    thread_a.join();
    thread_b.join();

    const std::vector<v1::JobEvent> history = History(*jobs2, id);
    ASSERT_EQ(history.size(), 2u + 300 + 60 * 2 + 1);
    EXPECT_TRUE(a.status.ok()) << a.status.error_code() << " " << a.status.error_message();
    ExpectHistoryAfter("watcher A (SNAPSHOT at 1)", a.events, history, 1);
    EXPECT_TRUE(b.status.ok()) << b.status.error_code() << " " << b.status.error_message();
    ExpectHistoryAfter("watcher B (after_sequence 0)", b.events, history, 0);
    if (HasFailure()) std::cerr << "second jobd's log:\n" << second.log();
  }
}

// --- 3. A watcher that never reads ---------------------------------------------------------

class WatchStallTest : public WatchTest {
 protected:
  // 15,000 messages on one job: past the default limit of kept messages.
  std::vector<std::string> JobdArgs() override {
    return {"--watch_buffer_events", "64", "--max_messages_per_job", "100000"};
  }
};

TEST_F(WatchStallTest, StalledWatcherNeitherSlowsWritersNorGrowsMemoryAndGetsEverything) {
  // 4 writers, 5,000 ReportProgress, each with a distinct 2 KiB progress_message and three
  // 2 KiB messages: 20,000 events, about 75 MiB as WatchJob messages (a MESSAGE event carries
  // its text and the job's progress_message). A stalled stream may hold its 64-event buffer
  // plus gRPC's flow-control window, so the bounds below are generous for a correct jobd, yet
  // less than half of what the stalled WatchJob carries (checked at the end), so a jobd that
  // kept a stalled stream's events would break them:
  //   jobd's VmRSS grows by less than 32 MiB while the streams stall, and
  //   no ReportProgress takes 15 s or more (a writer never waits for a watcher; not a speed
  //   test). A writer that waited for the stalled stream would wait until that stream's
  //   300 s deadline (it is read only after the writes), so the bound is far above what a
  //   loaded or sanitized machine needs for one call and still far below such a wait.
  constexpr int kWriters = 4;
  constexpr int kReportsPerWriter = 1250;
  constexpr int kMessages = 3;
  constexpr size_t kTextBytes = 2048;
  constexpr int64_t kMaxRssGrowthKiB = 32 * 1024;
  const absl::Duration kMaxLatency = absl::Seconds(15);
  auto text = [&](const std::string& head) {
    std::string s = head + " ";
    s.resize(kTextBytes, 'x');
    return s;
  };

  const v1::Job job = Create();
  const v1::LeasedJob leased = AcquireOne(*workers_);
  ASSERT_FALSE(leased.lease_token().empty());
  const std::string id = job.id();
  // The writers use a connection of their own, so the stalled streams' unread data on the
  // fixture's connection cannot hold them up on the client side.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto writer_channel = KeyedChannel(jobd_->address(), jobd_->admin_key(), args);

  // The stalled WatchJob: its SNAPSHOT is read (so the subscription surely exists), then
  // nothing until every write is done.
  OpenWatch stalled_watch;
  ASSERT_NO_FATAL_FAILURE(OpenAtSnapshot(id, absl::Seconds(300), &stalled_watch));
  const int64_t s0 = stalled_watch.snapshot.sequence();
  EXPECT_EQ(s0, 2);
  // A stalled WatchJobs on the workspace too: one event read (it is subscribed), then nothing.
  auto feed_context = Ctx(absl::Seconds(300));
  v1::WatchJobsRequest feed_request;
  feed_request.set_workspace_id("demo");
  auto feed = jobs_->WatchJobs(feed_context.get(), feed_request);

  auto writer_stub = v1::WorkerService::NewStub(writer_channel);
  std::vector<v1::JobEvent> feed_events;
  // Warm-up (pools, arenas, the first buffers overflow), also the WatchJobs sync point.
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(Report(*writer_stub, leased, 1, text(absl::StrCat("warm ", i)),
                       {text(absl::StrCat("warm message ", i))})
                    .ok());
  }
  {
    v1::WatchJobsResponse first;
    ASSERT_TRUE(feed->Read(&first));
    feed_events.push_back(first.event());
  }

  const pid_t pid = jobd_->pid();
  const int64_t rss_before = ResidentKiB(pid);
  ASSERT_GT(rss_before, 0);
  std::atomic<bool> sampling{true};
  std::atomic<int64_t> rss_max{rss_before};
  std::thread sampler([&] {
    while (sampling) {
      int64_t rss = ResidentKiB(pid);
      int64_t seen = rss_max.load();
      while (rss > seen && !rss_max.compare_exchange_weak(seen, rss)) {
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
  });

  std::mutex mu;
  std::vector<absl::Duration> latencies;
  std::vector<std::thread> writers;
  const absl::Time writes_start = absl::Now();
  for (int t = 0; t < kWriters; ++t) {
    writers.emplace_back([&, t] {
      auto stub = v1::WorkerService::NewStub(writer_channel);
      std::vector<absl::Duration> mine;
      for (int i = 0; i < kReportsPerWriter; ++i) {
        std::vector<std::string> messages;
        for (int m = 0; m < kMessages; ++m)
          messages.push_back(text(absl::StrCat(t, "/", i, "/", m)));
        const absl::Time start = absl::Now();
        grpc::Status s =
            Report(*stub, leased, 50, text(absl::StrCat("writer ", t, " report ", i)), messages);
        mine.push_back(absl::Now() - start);
        if (!s.ok()) {
          ADD_FAILURE() << "ReportProgress: " << s.error_code() << " " << s.error_message();
          return;
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : writers) t.join();
  const absl::Duration writes_took = absl::Now() - writes_start;
  sampling = false;
  sampler.join();
  const int64_t rss_after = ResidentKiB(pid);
  ASSERT_TRUE(Complete(*writer_stub, leased).ok());

  std::sort(latencies.begin(), latencies.end());
  ASSERT_EQ(latencies.size(), static_cast<size_t>(kWriters * kReportsPerWriter));
  const absl::Duration p50 = latencies[latencies.size() / 2];
  const absl::Duration p99 = latencies[latencies.size() * 99 / 100];
  const absl::Duration worst = latencies.back();
  std::cerr << "stalled watchers: " << latencies.size() << " reports in "
            << absl::FormatDuration(writes_took) << "; latency p50 " << absl::FormatDuration(p50)
            << " p99 " << absl::FormatDuration(p99) << " max " << absl::FormatDuration(worst)
            << "; jobd VmRSS " << rss_before << " KiB before, max " << rss_max.load()
            << " KiB during, " << rss_after << " KiB after\n";
  EXPECT_LT(worst, kMaxLatency) << "a ReportProgress waited on a stalled watcher";
  // Sanitizer builds keep freed memory in quarantine and shadow every allocation: jobd's RSS
  // says nothing about its buffers there. The plain build (run first by deploy/test.sh) checks
  // the bound; every other assertion of this test holds in all builds.
  if (!kSanitizedBuild) {
    EXPECT_LT(rss_max.load() - rss_before, kMaxRssGrowthKiB)
        << "jobd's memory grew with the stalled streams: " << rss_before << " -> " << rss_max.load()
        << " KiB";
  }

  // Reading again: every event after the SNAPSHOT exactly once, in order, then OK.
  std::vector<v1::JobEvent> got;
  int64_t stream_bytes = 0;
  v1::WatchJobResponse response;
  while (stalled_watch.reader->Read(&response)) {
    stream_bytes += static_cast<int64_t>(response.ByteSizeLong());
    got.push_back(response.event());
  }
  const grpc::Status status = stalled_watch.reader->Finish();
  EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  // The bound means something only if holding the stalled stream's events would break it.
  std::cerr << "the stalled WatchJob carried " << stream_bytes / 1024 << " KiB\n";
  if (!kSanitizedBuild) {
    EXPECT_GT(stream_bytes / 1024, 2 * kMaxRssGrowthKiB);
  }
  const std::vector<v1::JobEvent> history = History(*jobs_, id);
  const int64_t n = 2 + 50 * 2 + kWriters * kReportsPerWriter * (1 + kMessages) + 1;
  ASSERT_EQ(static_cast<int64_t>(history.size()), n);
  ExpectHistoryAfter("stalled WatchJob", got, history, s0);

  // The stalled WatchJobs catches up too: per job in order, no repeats, up to the terminal
  // event (missed events may have become one SNAPSHOT).
  v1::WatchJobsResponse item;
  while (feed->Read(&item)) {
    feed_events.push_back(item.event());
    if (item.event().sequence() == n) break;
  }
  feed_context->TryCancel();
  feed->Finish();
  ASSERT_FALSE(feed_events.empty());
  EXPECT_EQ(feed_events.back().sequence(), n) << SequenceSummary(feed_events);
  EXPECT_EQ(feed_events.back().job().state(), v1::JOB_STATE_SUCCEEDED);
  ExpectPerJobOrder("stalled WatchJobs", feed_events);
}

// --- 4. The end of a stream, finished jobs, bad requests, deadlines ------------------------

TEST_F(WatchTest, StreamEndsOkRightAfterSucceededFailedAndCancelled) {
  // One scenario per terminal state: the job RUNNING at sequence 2, a watcher holding its
  // SNAPSHOT, then the writes; the stream must end OK right after the terminal event.
  struct Case {
    std::string name;
    v1::JobState terminal;
    int max_attempts;
  };
  std::map<std::string, std::pair<std::string, int64_t>> finished;  // name -> (id, last sequence)
  for (const Case& c :
       {Case{"succeeded", v1::JOB_STATE_SUCCEEDED, 3}, Case{"failed", v1::JOB_STATE_FAILED, 1},
        Case{"cancelled", v1::JOB_STATE_CANCELLED, 3}}) {
    SCOPED_TRACE(c.name);
    const v1::Job job = Create("demo", "t", c.max_attempts);
    const v1::LeasedJob leased = AcquireOne(*workers_);
    ASSERT_EQ(leased.job().id(), job.id());
    auto context = Ctx(absl::Seconds(30));
    v1::WatchJobRequest request;
    request.set_id(job.id());
    auto reader = jobs_->WatchJob(context.get(), request);
    v1::WatchJobResponse response;
    ASSERT_TRUE(reader->Read(&response));
    const v1::JobEvent snapshot = response.event();
    EXPECT_EQ(snapshot.kind(), v1::JOB_EVENT_KIND_SNAPSHOT);
    EXPECT_EQ(snapshot.job_id(), job.id());
    EXPECT_EQ(snapshot.sequence(), 2);
    EXPECT_EQ(snapshot.job().sequence(), 2);
    EXPECT_EQ(snapshot.job().state(), v1::JOB_STATE_RUNNING);
    EXPECT_EQ(snapshot.job().worker_id(), "worker-t");
    EXPECT_FALSE(snapshot.job().has_payload());

    ASSERT_TRUE(Report(*workers_, leased, 50, "half", {"careful"}, v1::MESSAGE_LEVEL_WARNING).ok());
    if (c.terminal == v1::JOB_STATE_SUCCEEDED) {
      ASSERT_TRUE(Complete(*workers_, leased).ok());
    } else if (c.terminal == v1::JOB_STATE_FAILED) {
      v1::FailJobRequest fail;
      fail.set_job_id(job.id());
      fail.set_lease_token(leased.lease_token());
      fail.set_error_message("boom");
      v1::FailJobResponse failed;
      ASSERT_TRUE(workers_->FailJob(Ctx().get(), fail, &failed).ok());
      ASSERT_EQ(failed.job().state(), v1::JOB_STATE_FAILED);  // no attempt left
    } else {
      v1::CancelJobRequest cancel;
      cancel.set_id(job.id());
      cancel.set_reason("not needed");
      v1::CancelJobResponse cancelled;
      ASSERT_TRUE(jobs_->CancelJob(Ctx().get(), cancel, &cancelled).ok());
    }
    const absl::Time written = absl::Now();
    std::vector<v1::JobEvent> events;
    while (reader->Read(&response)) events.push_back(response.event());
    const grpc::Status status = reader->Finish();
    const absl::Duration end_after = absl::Now() - written;
    EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
    // A stream that did not end by itself would run to its 30 s deadline (and not be OK); 5 s
    // leaves a loaded or sanitized machine room for the last writes and the end.
    EXPECT_LT(end_after, absl::Seconds(5))
        << "the stream did not end right after the terminal event";
    ASSERT_EQ(events.size(), 3u) << SequenceSummary(events);
    EXPECT_EQ(events[0].kind(), v1::JOB_EVENT_KIND_PROGRESS);
    EXPECT_EQ(events[0].sequence(), 3);
    EXPECT_EQ(events[0].job().progress_percent(), 50);
    EXPECT_EQ(events[0].job().progress_message(), "half");
    EXPECT_EQ(events[1].kind(), v1::JOB_EVENT_KIND_MESSAGE);
    EXPECT_EQ(events[1].sequence(), 4);
    EXPECT_EQ(events[1].message().level(), v1::MESSAGE_LEVEL_WARNING);
    EXPECT_EQ(events[1].message().text(), "careful");
    EXPECT_EQ(events[2].kind(), v1::JOB_EVENT_KIND_STATE_CHANGED);
    EXPECT_EQ(events[2].sequence(), 5);
    EXPECT_EQ(events[2].job().sequence(), 5);
    EXPECT_EQ(events[2].job().state(), c.terminal);
    EXPECT_TRUE(events[2].job().has_finish_time());
    for (const auto& e : events) EXPECT_FALSE(e.job().has_payload());
    if (c.terminal == v1::JOB_STATE_SUCCEEDED) {
      EXPECT_EQ(events[2].job().progress_percent(), 100);
      ASSERT_TRUE(events[2].job().result().fields().count("ok") == 1);
      EXPECT_TRUE(events[2].job().result().fields().at("ok").bool_value());
    } else {
      EXPECT_EQ(events[2].job().error_message(),
                c.terminal == v1::JOB_STATE_FAILED ? "boom" : "not needed");
    }
    ExpectHistoryAfter(c.name, events, History(*jobs_, job.id()), 2);
  }

  // A QUEUED job watched from sequence 0 and cancelled: CREATED, CANCELLED, then OK.
  const v1::Job queued = Create();
  auto context = Ctx(absl::Seconds(30));
  v1::WatchJobRequest request;
  request.set_id(queued.id());
  request.set_after_sequence(0);
  auto reader = jobs_->WatchJob(context.get(), request);
  v1::WatchJobResponse response;
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(response.event().kind(), v1::JOB_EVENT_KIND_CREATED);
  EXPECT_EQ(response.event().sequence(), 1);
  v1::CancelJobRequest cancel;
  cancel.set_id(queued.id());
  v1::CancelJobResponse cancelled;
  ASSERT_TRUE(jobs_->CancelJob(Ctx().get(), cancel, &cancelled).ok());
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(response.event().kind(), v1::JOB_EVENT_KIND_STATE_CHANGED);
  EXPECT_EQ(response.event().sequence(), 2);
  EXPECT_EQ(response.event().job().state(), v1::JOB_STATE_CANCELLED);
  EXPECT_FALSE(reader->Read(&response)) << Describe(response.event());
  const grpc::Status status = reader->Finish();
  EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
}

TEST_F(WatchTest, FinishedJobGivesItsSnapshotOrItsHistoryThenEnds) {
  std::vector<std::pair<std::string, v1::JobState>> jobs;
  {  // SUCCEEDED
    const v1::Job job = Create();
    const v1::LeasedJob leased = AcquireOne(*workers_);
    ASSERT_TRUE(Report(*workers_, leased, 30, "a", {"m1", "m2"}).ok());
    ASSERT_TRUE(Complete(*workers_, leased).ok());
    jobs.emplace_back(job.id(), v1::JOB_STATE_SUCCEEDED);
  }
  {  // FAILED
    const v1::Job job = Create("demo", "t", 1);
    const v1::LeasedJob leased = AcquireOne(*workers_);
    v1::FailJobRequest fail;
    fail.set_job_id(job.id());
    fail.set_lease_token(leased.lease_token());
    fail.set_error_message("boom");
    fail.set_retryable(false);
    v1::FailJobResponse failed;
    ASSERT_TRUE(workers_->FailJob(Ctx().get(), fail, &failed).ok());
    jobs.emplace_back(job.id(), v1::JOB_STATE_FAILED);
  }
  {  // CANCELLED while QUEUED
    const v1::Job job = Create();
    v1::CancelJobRequest cancel;
    cancel.set_id(job.id());
    v1::CancelJobResponse cancelled;
    ASSERT_TRUE(jobs_->CancelJob(Ctx().get(), cancel, &cancelled).ok());
    jobs.emplace_back(job.id(), v1::JOB_STATE_CANCELLED);
  }
  for (const auto& [id, state] : jobs) {
    SCOPED_TRACE(v1::JobState_Name(state));
    const std::vector<v1::JobEvent> history = History(*jobs_, id);
    const int64_t n = static_cast<int64_t>(history.size());
    ASSERT_GE(n, 2);
    // No after_sequence: the SNAPSHOT of the finished job, then OK.
    Watched snap = WatchToEnd(*jobs_, id, std::nullopt);
    EXPECT_TRUE(snap.status.ok()) << snap.status.error_code() << " " << snap.status.error_message();
    ASSERT_EQ(snap.events.size(), 1u) << SequenceSummary(snap.events);
    EXPECT_EQ(snap.events[0].kind(), v1::JOB_EVENT_KIND_SNAPSHOT);
    EXPECT_EQ(snap.events[0].sequence(), n);
    EXPECT_EQ(snap.events[0].job().sequence(), n);
    EXPECT_EQ(snap.events[0].job().state(), state);
    EXPECT_EQ(snap.events[0].job().id(), id);
    EXPECT_FALSE(snap.events[0].job().has_payload());
    // after_sequence 0: the whole history, then OK.
    Watched all = WatchToEnd(*jobs_, id, 0);
    EXPECT_TRUE(all.status.ok()) << all.status.error_code() << " " << all.status.error_message();
    ExpectHistoryAfter("after_sequence 0", all.events, history, 0);
    // after_sequence N-1: the terminal event alone; N: nothing; both then OK.
    Watched last = WatchToEnd(*jobs_, id, n - 1);
    EXPECT_TRUE(last.status.ok()) << last.status.error_code() << " " << last.status.error_message();
    ExpectHistoryAfter("after_sequence N-1", last.events, history, n - 1);
    Watched none = WatchToEnd(*jobs_, id, n);
    EXPECT_TRUE(none.status.ok()) << none.status.error_code() << " " << none.status.error_message();
    EXPECT_TRUE(none.events.empty()) << SequenceSummary(none.events);
    // after_sequence beyond the latest, or negative: INVALID_ARGUMENT naming the field.
    for (int64_t bad : {n + 1, int64_t{-1}}) {
      Watched refused = WatchToEnd(*jobs_, id, bad);
      EXPECT_CODE(refused.status, StatusCode::INVALID_ARGUMENT);
      EXPECT_TRUE(absl::StartsWith(refused.status.error_message(), "after_sequence:"))
          << bad << ": " << refused.status.error_message();
      EXPECT_TRUE(refused.events.empty());
    }
  }
}

TEST_F(WatchTest, BadRequestsAndTheCallersDeadline) {
  // Unknown (well-formed) id: NOT_FOUND; malformed or empty: INVALID_ARGUMENT naming `id`.
  Watched unknown = WatchToEnd(*jobs_, "01a201e7-5c53-7000-bf26-50a897f50418", std::nullopt);
  EXPECT_CODE(unknown.status, StatusCode::NOT_FOUND);
  EXPECT_TRUE(unknown.events.empty());
  Watched unknown_after = WatchToEnd(*jobs_, "01a201e7-5c53-7000-bf26-50a897f50418", 0);
  EXPECT_CODE(unknown_after.status, StatusCode::NOT_FOUND);
  for (const std::string bad : {"not-a-uuid", ""}) {
    Watched malformed = WatchToEnd(*jobs_, bad, std::nullopt);
    EXPECT_CODE(malformed.status, StatusCode::INVALID_ARGUMENT);
    EXPECT_TRUE(absl::StartsWith(malformed.status.error_message(), "id:"))
        << "'" << bad << "': " << malformed.status.error_message();
    EXPECT_TRUE(malformed.events.empty());
  }

  // A live (QUEUED, sequence 1) job: after_sequence 2 or -1 is INVALID_ARGUMENT; 1 is fine.
  const v1::Job job = Create();
  for (int64_t bad : {int64_t{2}, int64_t{-1}}) {
    Watched refused = WatchToEnd(*jobs_, job.id(), bad);
    EXPECT_CODE(refused.status, StatusCode::INVALID_ARGUMENT);
    EXPECT_TRUE(absl::StartsWith(refused.status.error_message(), "after_sequence:"))
        << bad << ": " << refused.status.error_message();
    EXPECT_TRUE(refused.events.empty());
  }

  // The caller's deadline ends a live stream with DEADLINE_EXCEEDED (after_sequence 1: no
  // event to send), and a SNAPSHOT stream the same way after its SNAPSHOT.
  const absl::Time start = absl::Now();
  Watched quiet = WatchToEnd(*jobs_, job.id(), 1, absl::Milliseconds(500));
  EXPECT_CODE(quiet.status, StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(quiet.events.empty()) << SequenceSummary(quiet.events);
  // The client's own 500 ms deadline ends it; this only catches a call that hangs.
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  Watched timed = WatchToEnd(*jobs_, job.id(), std::nullopt, absl::Milliseconds(500));
  EXPECT_CODE(timed.status, StatusCode::DEADLINE_EXCEEDED);
  ASSERT_EQ(timed.events.size(), 1u);
  EXPECT_EQ(timed.events[0].kind(), v1::JOB_EVENT_KIND_SNAPSHOT);
  EXPECT_EQ(timed.events[0].sequence(), 1);
  EXPECT_EQ(timed.events[0].job().state(), v1::JOB_STATE_QUEUED);

  // Many streams that ended by deadline or cancellation leave jobd serving watchers normally.
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&, i] {
      auto context = Ctx(absl::Milliseconds(200 + 10 * i));
      v1::WatchJobRequest request;
      request.set_id(job.id());
      auto reader = jobs_->WatchJob(context.get(), request);
      v1::WatchJobResponse response;
      if (i % 2 == 0) context->TryCancel();
      while (reader->Read(&response)) {
      }
      const grpc::Status status = reader->Finish();
      EXPECT_TRUE(status.error_code() == StatusCode::CANCELLED ||
                  status.error_code() == StatusCode::DEADLINE_EXCEEDED)
          << status.error_code() << " " << status.error_message();
    });
  }
  for (auto& t : threads) t.join();
  v1::CancelJobRequest cancel;
  cancel.set_id(job.id());
  v1::CancelJobResponse cancelled;
  ASSERT_TRUE(jobs_->CancelJob(Ctx().get(), cancel, &cancelled).ok());
  Watched after = WatchToEnd(*jobs_, job.id(), 0);
  EXPECT_TRUE(after.status.ok()) << after.status.error_code() << " "
                                 << after.status.error_message();
  ExpectHistoryAfter("after the dropped streams", after.events, History(*jobs_, job.id()), 0);
}

// --- 5. WatchJobs ---------------------------------------------------------------------------

TEST_F(WatchTest, WatchJobsSeesMatchingJobsLeaveRunningAndNothingElse) {
  const std::string w = "dash";
  // A probe job in W, RUNNING before the watch opens: its progress tells when the watcher is
  // subscribed (WatchJobs has no history to start from).
  const v1::Job probe = Create(w, "t");
  const v1::LeasedJob probe_lease = AcquireOne(*workers_, w, "t");
  ASSERT_FALSE(probe_lease.lease_token().empty());

  auto context = Ctx(absl::Seconds(30));
  v1::WatchJobsRequest request;
  request.set_workspace_id(w);
  request.add_states(v1::JOB_STATE_RUNNING);
  request.add_types("t");
  auto reader = jobs_->WatchJobs(context.get(), request);
  std::mutex mu;
  std::vector<v1::JobEvent> seen;
  grpc::Status status;
  std::thread watcher([&] {
    v1::WatchJobsResponse response;
    while (reader->Read(&response)) {
      std::lock_guard<std::mutex> lock(mu);
      seen.push_back(response.event());
    }
    status = reader->Finish();
  });
  Finally join{[&] {
    context->TryCancel();
    if (watcher.joinable()) watcher.join();
  }};
  auto seen_of = [&](const std::string& id) {
    std::lock_guard<std::mutex> lock(mu);
    std::vector<v1::JobEvent> out;
    for (const auto& e : seen) {
      if (e.job_id() == id) out.push_back(e);
    }
    return out;
  };
  bool subscribed = false;
  for (int i = 0; i < 150 && !subscribed; ++i) {
    ASSERT_TRUE(Report(*workers_, probe_lease, 1, absl::StrCat("probe ", i)).ok());
    subscribed = WaitFor([&] { return !seen_of(probe.id()).empty(); }, absl::Milliseconds(200));
  }
  ASSERT_TRUE(subscribed) << "WatchJobs delivered none of the probe's events in 30 s";

  // A: in W, type t: RUNNING (from QUEUED), progress, message, SUCCEEDED (leaving RUNNING).
  const v1::Job a = Create(w, "t");
  const v1::LeasedJob a_lease = AcquireOne(*workers_, w, "t");
  ASSERT_EQ(a_lease.job().id(), a.id());
  ASSERT_TRUE(Report(*workers_, a_lease, 40, "a at 40", {"a note"}).ok());
  ASSERT_TRUE(Complete(*workers_, a_lease).ok());
  // B: the same in another workspace; C: in W, a type not in `types`.
  const v1::Job b = Create("elsewhere", "t");
  const v1::LeasedJob b_lease = AcquireOne(*workers_, "elsewhere", "t");
  ASSERT_TRUE(Report(*workers_, b_lease, 40, "b at 40").ok());
  ASSERT_TRUE(Complete(*workers_, b_lease).ok());
  const v1::Job c = Create(w, "u");
  const v1::LeasedJob c_lease = AcquireOne(*workers_, w, "u");
  ASSERT_TRUE(Report(*workers_, c_lease, 40, "c at 40").ok());
  ASSERT_TRUE(Complete(*workers_, c_lease).ok());
  // D: in W, type t, but never RUNNING: CREATED (QUEUED) and QUEUED -> CANCELLED.
  const v1::Job d = Create(w, "t");
  v1::CancelJobRequest cancel;
  cancel.set_id(d.id());
  v1::CancelJobResponse cancelled;
  ASSERT_TRUE(jobs_->CancelJob(Ctx().get(), cancel, &cancelled).ok());
  // E: in W, type t, a burst from two writers: per job order, nothing twice.
  const v1::Job e = Create(w, "t");
  const v1::LeasedJob e_lease = AcquireOne(*workers_, w, "t");
  ASSERT_EQ(e_lease.job().id(), e.id());
  {
    std::vector<std::thread> writers;
    for (int t = 0; t < 2; ++t) {
      writers.emplace_back([&, t] {
        for (int i = 0; i < 150; ++i) {
          ASSERT_TRUE(Report(*workers_, e_lease, 50, absl::StrCat("e ", t, "/", i)).ok());
        }
      });
    }
    for (auto& t : writers) t.join();
  }
  ASSERT_TRUE(Complete(*workers_, e_lease).ok());
  // The probe ends last. Each write above returned after its events were handed to jobd's
  // event bus, whose one dispatcher offers them to this stream in that order, and the stream
  // sends in the order offered: once the probe's SUCCEEDED (and E's last event) is here, any
  // event of B, C or D that passed the filter would already have come before it. So the
  // absence checked below is decided by then. The short wait after it only widens the net
  // for a delivery out of that order (a re-read from the table); it cannot fail a correct
  // jobd, and the ordering, not the wait, is what the absence rests on.
  ASSERT_TRUE(Complete(*workers_, probe_lease).ok());
  const int64_t probe_n = Get(probe.id()).sequence();
  const int64_t e_n = Get(e.id()).sequence();
  auto has_last = [&](const std::string& id, int64_t n) {
    auto events = seen_of(id);
    return !events.empty() && events.back().sequence() == n;
  };
  EXPECT_TRUE(WaitFor([&] { return has_last(probe.id(), probe_n) && has_last(e.id(), e_n); },
                      absl::Seconds(30)))
      << "the probe's and E's last events did not arrive: the absence below would prove nothing";
  absl::SleepFor(absl::Milliseconds(300));
  context->TryCancel();
  watcher.join();
  EXPECT_CODE(status, StatusCode::CANCELLED);

  std::lock_guard<std::mutex> lock(mu);
  std::set<std::string> ids;
  for (const auto& event : seen) {
    ids.insert(event.job_id());
    EXPECT_EQ(event.job().workspace_id(), w) << Describe(event);
    EXPECT_EQ(event.job().type(), "t") << Describe(event);
    EXPECT_FALSE(event.job().has_payload());
  }
  EXPECT_EQ(ids, (std::set<std::string>{probe.id(), a.id(), e.id()}))
      << "B (other workspace) " << b.id() << ", C (other type) " << c.id() << ", D (never RUNNING) "
      << d.id();
  // A: exactly its events from RUNNING to SUCCEEDED, as ListJobEvents has them.
  std::vector<v1::JobEvent> a_seen;
  for (const auto& event : seen) {
    if (event.job_id() == a.id()) a_seen.push_back(event);
  }
  ExpectHistoryAfter("A", a_seen, History(*jobs_, a.id()), 1);
  ASSERT_EQ(a_seen.size(), 4u);
  EXPECT_EQ(a_seen[0].job().state(), v1::JOB_STATE_RUNNING);
  EXPECT_EQ(a_seen[3].job().state(), v1::JOB_STATE_SUCCEEDED);
  // E and the probe: in order, nothing twice, ending with their terminal event.
  for (const auto& [name, id, n] :
       {std::tuple<std::string, std::string, int64_t>{"E", e.id(), e_n},
        std::tuple<std::string, std::string, int64_t>{"probe", probe.id(), probe_n}}) {
    std::vector<v1::JobEvent> events;
    for (const auto& event : seen) {
      if (event.job_id() == id) events.push_back(event);
    }
    ExpectPerJobOrder(name, events);
    ASSERT_FALSE(events.empty()) << name;
    EXPECT_EQ(events.back().sequence(), n) << name;
    EXPECT_EQ(events.back().job().state(), v1::JOB_STATE_SUCCEEDED) << name;
  }
  std::vector<v1::JobEvent> e_seen;
  for (const auto& event : seen) {
    if (event.job_id() == e.id()) e_seen.push_back(event);
  }
  EXPECT_EQ(e_seen.front().sequence(), 2) << "E's RUNNING event";
}

// --- 6. ListJobEvents paging ---------------------------------------------------------------

TEST_F(WatchTest, ListJobEventsPagesOldestFirst) {
  const v1::Job job = Create();
  const v1::LeasedJob leased = AcquireOne(*workers_);
  ASSERT_TRUE(Report(*workers_, leased, 40, "page 4 of 10", {"slow page"}).ok());
  ASSERT_TRUE(Complete(*workers_, leased).ok());  // 5 events

  v1::ListJobEventsRequest request;
  request.set_id(job.id());
  request.set_page_size(2);
  std::vector<std::vector<int64_t>> pages;
  std::vector<v1::JobEventKind> kinds;
  for (int i = 0; i < 10; ++i) {
    v1::ListJobEventsResponse page;
    grpc::Status status = jobs_->ListJobEvents(Ctx().get(), request, &page);
    ASSERT_TRUE(status.ok()) << status.error_message();
    pages.emplace_back();
    for (const auto& e : page.events()) {
      pages.back().push_back(e.sequence());
      kinds.push_back(e.kind());
      EXPECT_EQ(e.job_id(), job.id());
    }
    if (page.next_page_token().empty()) break;
    request.set_page_token(page.next_page_token());
  }
  EXPECT_EQ(pages, (std::vector<std::vector<int64_t>>{{1, 2}, {3, 4}, {5}}));
  EXPECT_EQ(kinds, (std::vector<v1::JobEventKind>{
                       v1::JOB_EVENT_KIND_CREATED, v1::JOB_EVENT_KIND_STATE_CHANGED,
                       v1::JOB_EVENT_KIND_PROGRESS, v1::JOB_EVENT_KIND_MESSAGE,
                       v1::JOB_EVENT_KIND_STATE_CHANGED}));
  // The default page holds them all, with no next page.
  v1::ListJobEventsRequest all;
  all.set_id(job.id());
  v1::ListJobEventsResponse page;
  ASSERT_TRUE(jobs_->ListJobEvents(Ctx().get(), all, &page).ok());
  EXPECT_EQ(page.events_size(), 5);
  EXPECT_TRUE(page.next_page_token().empty());
}

}  // namespace
}  // namespace jobd::testing
