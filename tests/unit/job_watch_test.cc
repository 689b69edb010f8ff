// JobWatch and WorkspaceWatch without gRPC or a database: a fake store, a real EventBus and
// Executor, and a sink that records the stream (see docs/EVENTS.md for the contract).
#include "server/core/job_watch.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/core/event_bus.h"
#include "server/core/event_fetcher.h"
#include "server/core/executor.h"
#include "server/core/publishing_job_store.h"
#include "server/core/workspace_watch.h"
#include "tests/support/fake_job_store.h"
#include "tests/unit/event_test_util.h"

namespace jobd::core {
namespace {

using namespace event_testing;  // the fake store and helpers of the event tests
using Mode = FakeSink::Mode;

class WatchTest : public ::testing::Test {
 protected:
  WatchTest() : WatchTest(EventBusOptions{}) {}
  explicit WatchTest(EventBusOptions bus_options) : bus_(bus_options) {}

  // Ends every stream (the bus's Stop closes them; stalled writes are completed) and drains
  // the executors, so nothing runs against a destroyed member afterwards.
  void TearDown() override {
    bus_.Stop();
    for (auto& sink : sinks_) {
      EXPECT_TRUE(WaitFor([&] {
        if (sink->mode() == Mode::kManual) sink->CompleteOne();
        return sink->ended();
      })) << "a stream did not end after the bus stopped";
    }
    executor_.Stop();
    serial_.Stop();
    for (auto& sink : sinks_) {
      EXPECT_EQ(sink->violations(), std::vector<std::string>{});
    }
  }

  FakeSink& NewSink(Mode mode) {
    sinks_.push_back(std::make_unique<FakeSink>(mode));
    return *sinks_.back();
  }

  std::shared_ptr<JobWatch> OpenJobWatch(const std::string& id, std::optional<int64_t> after,
                                         FakeSink& sink, WatchOptions options = {},
                                         std::function<void(JobWatch&)> before_open = nullptr,
                                         Executor* executor = nullptr) {
    auto watch = std::make_shared<JobWatch>(
        WatchDeps{limits_, store_, bus_, executor ? *executor : executor_, options}, caller_, id,
        &sink);
    sink.Attach([watch](bool ok) { watch->WriteDone(ok); });
    if (before_open) before_open(*watch);
    watch->Open(after);
    return watch;
  }

  std::shared_ptr<WorkspaceWatch> OpenWorkspaceWatch(WorkspaceWatchFilter filter, FakeSink& sink,
                                                     WatchOptions options = {},
                                                     Executor* executor = nullptr) {
    auto watch = std::make_shared<WorkspaceWatch>(
        WatchDeps{limits_, store_, bus_, executor ? *executor : executor_, options}, caller_,
        std::move(filter), &sink);
    sink.Attach([watch](bool ok) { watch->WriteDone(ok); });
    watch->Open();
    return watch;
  }

  // True once some workspace watcher is subscribed (with no job watchers, the bus wants any
  // hint only then).
  bool WorkspaceSubscribed() { return bus_.Wanted({NewJobId(absl::Now()), 0, 1}).has_value(); }

  static void ExpectEnd(FakeSink& sink, absl::StatusCode code) {
    ASSERT_TRUE(WaitFor([&] { return sink.ended(); })) << "the stream did not end";
    EXPECT_EQ(sink.end()->code(), code) << *sink.end();
  }

  Limits limits_;
  Principal caller_ = LocalAdmin("test-admin");  // sees every workspace
  FakeJobStore store_;
  std::deque<std::unique_ptr<FakeSink>> sinks_;  // outlive the bus: Stop ends streams
  std::deque<std::shared_ptr<RecordingSubscriber>> probes_;
  EventBus bus_;
  PublishingJobStore publishing_{store_, bus_, [](const std::vector<EventRange>&) {}};
  Executor executor_{2, 10000};
  Executor refusing_{1, 0};  // a full queue: every Post is refused
  // One thread: a task posted after another runs after it has finished (a test holds it with
  // a Gate, or waits on it with Drained).
  Executor serial_{1, 10000};

  // True once every task posted to serial_ before this call has run.
  bool Drained(Executor& executor) {
    auto done = std::make_shared<std::atomic<bool>>(false);
    if (!executor.Post([done] { *done = true; })) return false;
    return WaitFor([&] { return done->load(); });
  }
};

// Holds a thread (an executor task, a store read) until the test opens it. Destroying the
// gate opens it too, so a failed assertion never leaves a thread blocked.
class Gate {
 public:
  ~Gate() { Open(); }
  // A callable that marks the gate entered, then waits until it is open.
  std::function<void()> Hold() {
    return [state = state_] {
      std::unique_lock<std::mutex> lock(state->mu);
      state->entered = true;
      state->wake.wait(lock, [&] { return state->open; });
    };
  }
  bool entered() {
    std::lock_guard<std::mutex> lock(state_->mu);
    return state_->entered;
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      state_->open = true;
    }
    state_->wake.notify_all();
  }

 private:
  struct State {
    std::mutex mu;
    std::condition_variable wake;
    bool entered = false;
    bool open = false;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

using JobWatchTest = WatchTest;

// ---- Without after_sequence ----

TEST_F(JobWatchTest, SnapshotFirstThenLiveEventsInOrder) {
  const Job job = Create(store_, NewJob());
  FakeSink& sink = NewSink(Mode::kAsync);
  auto watch = OpenJobWatch(job.id, std::nullopt, sink);
  ASSERT_TRUE(WaitFor([&] { return sink.size() == 1; }));

  Apply(publishing_, job.id, ToState(JobState::kRunning));  // 2
  Apply(publishing_, job.id, Progress(10));                 // 3
  Apply(publishing_, job.id, Progress(20));                 // 4
  ASSERT_TRUE(WaitFor([&] { return sink.size() >= 4; }));
  watch->Cancel();
  ExpectEnd(sink, absl::StatusCode::kCancelled);

  EXPECT_EQ(sink.written(), (std::vector<Written>{{job.id, kSnapshot, 1},
                                                  {job.id, kStateChanged, 2},
                                                  {job.id, kProgress, 3},
                                                  {job.id, kProgress, 4}}));
  const auto events = sink.events();
  EXPECT_EQ(events[0]->event.state, JobState::kQueued);
  EXPECT_EQ(events[0]->job->payload_json, "") << "watchers never get the payload";
  EXPECT_EQ(events[1]->event.state, JobState::kRunning);
  EXPECT_EQ(events[1]->previous_state, JobState::kQueued);
  EXPECT_FLOAT_EQ(events[3]->event.progress_percent, 20);
  EXPECT_EQ(store_.read_events_calls(), 0u) << "live events need no read";
  EXPECT_EQ(bus_.job_subscriber_count(), 0u) << "the ended watch unsubscribed";
}

TEST_F(JobWatchTest, UpperCaseIdIsTheSameJob) {
  const Job job = Create(store_, NewJob());
  FakeSink& sink = NewSink(Mode::kInline);
  std::string upper = job.id;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto watch = OpenJobWatch(upper, std::nullopt, sink);
  ASSERT_TRUE(WaitFor([&] { return sink.size() == 1; }));
  Apply(publishing_, job.id, ToState(JobState::kRunning));
  ASSERT_TRUE(WaitFor([&] { return sink.size() == 2; }));
  EXPECT_EQ(sink.sequences(), (std::vector<int64_t>{1, 2}));
}

TEST_F(JobWatchTest, DuplicatePublicationsAreWrittenOnce) {
  const Job job = Create(store_, NewJob());
  FakeSink& sink = NewSink(Mode::kInline);
  auto watch = OpenJobWatch(job.id, std::nullopt, sink);
  ASSERT_TRUE(WaitFor([&] { return sink.size() == 1; }));

  // Written to the store without publishing; published by hand, each twice (as when a local
  // write and a remote hint both bring the same event).
  const Job at2 = Apply(store_, job.id, ToState(JobState::kRunning));
  BusEventPtr e2 = BusEventOf(at2, kStateChanged, JobState::kQueued);
  bus_.Publish({{e2}});
  bus_.Publish({{e2}});
  const Job at3 = Apply(store_, job.id, Progress(50));
  BusEventPtr e3 = BusEventOf(at3, kProgress, JobState::kRunning);
  bus_.Publish({{e3}, {e3}});
  const Job at4 = Apply(store_, job.id, ToState(JobState::kSucceeded));
  bus_.Publish({{BusEventOf(at4, kStateChanged, JobState::kRunning)}});

  ExpectEnd(sink, absl::StatusCode::kOk);
  EXPECT_EQ(sink.written(), (std::vector<Written>{{job.id, kSnapshot, 1},
                                                  {job.id, kStateChanged, 2},
                                                  {job.id, kProgress, 3},
                                                  {job.id, kStateChanged, 4}}));
  EXPECT_EQ(store_.read_events_calls(), 0u);
}

TEST_F(JobWatchTest, OutOfOrderPublicationIsCaughtUpFromTheStore) {
  Job job = Create(store_, NewJob());
  Apply(store_, job.id, ToState(JobState::kRunning));  // 2
  Apply(store_, job.id, Progress(10));                 // 3
  FakeSink& sink = NewSink(Mode::kInline);
  auto watch = OpenJobWatch(job.id, std::nullopt, sink);
  ASSERT_TRUE(WaitFor([&] { return sink.size() == 1; }));
  ASSERT_EQ(sink.sequences(), std::vector<int64_t>{3});

  const Job at4 = Apply(store_, job.id, Progress(20));
  const Job at5 = Apply(store_, job.id, Progress(30));
  bus_.Publish({{BusEventOf(at5, kProgress, JobState::kRunning)}});
  bus_.Publish({{BusEventOf(at4, kProgress, JobState::kRunning)}});
  ASSERT_TRUE(WaitFor([&] { return sink.size() >= 3; }));
  Apply(publishing_, job.id, ToState(JobState::kSucceeded));  // 6, ends the stream

  ExpectEnd(sink, absl::StatusCode::kOk);
  EXPECT_EQ(sink.written(), (std::vector<Written>{{job.id, kSnapshot, 3},
                                                  {job.id, kProgress, 4},
                                                  {job.id, kProgress, 5},
                                                  {job.id, kStateChanged, 6}}));
  EXPECT_FLOAT_EQ(sink.events()[1]->event.progress_percent, 20);
  EXPECT_EQ(sink.events()[1]->previous_state, JobState::kRunning);
  EXPECT_EQ(store_.read_events_calls(), 1u) << "one catch-up read for the skipped sequence";
}

TEST_F(JobWatchTest, TerminalEventEndsTheStreamWithOk) {
  const Job job = Create(store_, NewJob());
  FakeSink& sink = NewSink(Mode::kAsync);
  auto watch = OpenJobWatch(job.id, std::nullopt, sink);
  ASSERT_TRUE(WaitFor([&] { return sink.size() == 1; }));
  Apply(publishing_, job.id, ToState(JobState::kRunning));
  Apply(publishing_, job.id, ToState(JobState::kFailed));

  ExpectEnd(sink, absl::StatusCode::kOk);
  EXPECT_EQ(sink.written(),
            (std::vector<Written>{
                {job.id, kSnapshot, 1}, {job.id, kStateChanged, 2}, {job.id, kStateChanged, 3}}));
  EXPECT_EQ(sink.events().back()->event.state, JobState::kFailed);
  EXPECT_EQ(bus_.job_subscriber_count(), 0u);
}

TEST_F(JobWatchTest, MessagesOfTheTerminalWriteComeBeforeTheEnd) {
  const Job job = Create(store_, NewJob());
  FakeSink& sink = NewSink(Mode::kManual);
  auto watch = OpenJobWatch(job.id, std::nullopt, sink);
  ASSERT_TRUE(WaitFor([&] { return sink.outstanding(); }));
  ASSERT_TRUE(sink.CompleteOne());
  Apply(publishing_, job.id, ToState(JobState::kRunning));  // 2
  ASSERT_TRUE(WaitFor([&] { return sink.outstanding(); }));
  ASSERT_TRUE(sink.CompleteOne());
  // CompleteJob with two messages: SUCCEEDED at 3, MESSAGE 4 and 5, one write.
  Apply(publishing_, job.id,
        ToState(JobState::kSucceeded, kStateChanged,
                {{MessageLevel::kInfo, "done"}, {MessageLevel::kWarning, "cleanup skipped"}}));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(WaitFor([&] { return sink.outstanding(); })) << "write " << i;
    EXPECT_FALSE(sink.ended()) << "ended before the last message of the terminal write";
    ASSERT_TRUE(sink.CompleteOne());
  }
  ExpectEnd(sink, absl::StatusCode::kOk);
  EXPECT_EQ(sink.written(), (std::vector<Written>{{job.id, kSnapshot, 1},
                                                  {job.id, kStateChanged, 2},
                                                  {job.id, kStateChanged, 3},
                                                  {job.id, kMessage, 4},
                                                  {job.id, kMessage, 5}}));
  const auto events = sink.events();
  ASSERT_TRUE(events[3]->event.message.has_value());
  EXPECT_EQ(events[3]->event.message->text, "done");
  ASSERT_TRUE(events[4]->event.message.has_value());
  EXPECT_EQ(events[4]->event.message->level, MessageLevel::kWarning);
}

TEST_F(JobWatchTest, FinishedJobGivesItsSnapshotAndEnds) {
  const Job job = Create(store_, NewJob());
  Apply(store_, job.id, ToState(JobState::kCancelled));
  FakeSink& sink = NewSink(Mode::kAsync);
  auto watch = OpenJobWatch(job.id, std::nullopt, sink);
  ExpectEnd(sink, absl::StatusCode::kOk);
  EXPECT_EQ(sink.written(), (std::vector<Written>{{job.id, kSnapshot, 2}}));
  EXPECT_EQ(sink.events()[0]->event.state, JobState::kCancelled);
}

// ---- With after_sequence ----

TEST_F(JobWatchTest, AfterSequenceReadsHistoryThenLive) {
  const Job job = Create(store_, NewJob());
  Apply(store_, job.id, ToState(JobState::kRunning));  // 2
  Apply(store_, job.id, Progress(10));                 // 3
  Apply(store_, job.id, Progress(20));                 // 4
  Apply(store_, job.id, Progress(30));                 // 5
  FakeSink& sink = NewSink(Mode::kAsync);
  auto watch = OpenJobWatch(job.id, 2, sink);
  ASSERT_TRUE(WaitFor([&] { return sink.size() == 3; }));
  Apply(publishing_, job.id, Progress(40));  // 6
  ASSERT_TRUE(WaitFor([&] { return sink.size() >= 4; }));
  watch->Cancel();
  ExpectEnd(sink, absl::StatusCode::kCancelled);

  EXPECT_EQ(sink.written(), (std::vector<Written>{{job.id, kProgress, 3},
                                                  {job.id, kProgress, 4},
                                                  {job.id, kProgress, 5},
                                                  {job.id, kProgress, 6}}));
  EXPECT_EQ(sink.events()[0]->previous_state, JobState::kRunning);
}

TEST_F(JobWatchTest, AfterLatestSequenceWaitsForLiveEvents) {
  const Job job = Create(store_, NewJob());
  Apply(store_, job.id, ToState(JobState::kRunning));  // 2
  FakeSink& sink = NewSink(Mode::kInline);
  auto watch = OpenJobWatch(job.id, 2, sink);
  ASSERT_TRUE(WaitFor([&] { return bus_.job_subscriber_count() == 1; }));
  Apply(publishing_, job.id, Progress(10));  // 3
  ASSERT_TRUE(WaitFor([&] { return sink.size() >= 1; }));
  Apply(publishing_, job.id, ToState(JobState::kSucceeded));  // 4
  ExpectEnd(sink, absl::StatusCode::kOk);
  EXPECT_EQ(sink.written(),
            (std::vector<Written>{{job.id, kProgress, 3}, {job.id, kStateChanged, 4}}));
}

TEST_F(JobWatchTest, AfterSequenceOfAFinishedJobGivesTheRestAndEnds) {
  // The terminal write's messages straddle a catch-up page: the stream still ends after them.
  const Job job = Create(store_, NewJob());
  Apply(store_, job.id, ToState(JobState::kRunning));  // 2
  Apply(store_, job.id,
        ToState(JobState::kSucceeded, kStateChanged,
                {{MessageLevel::kInfo, "a"}, {MessageLevel::kInfo, "b"}}));  // 3, 4, 5
  FakeSink& sink = NewSink(Mode::kInline);
  WatchOptions options;
  options.catch_up_page = 3;
  auto watch = OpenJobWatch(job.id, 1, sink, options);
  ExpectEnd(sink, absl::StatusCode::kOk);
  EXPECT_EQ(sink.written(), (std::vector<Written>{{job.id, kStateChanged, 2},
                                                  {job.id, kStateChanged, 3},
                                                  {job.id, kMessage, 4},
                                                  {job.id, kMessage, 5}}));
}

TEST_F(JobWatchTest, AfterLatestSequenceOfAFinishedJobEndsAtOnce) {
  const Job job = Create(store_, NewJob());
  Apply(store_, job.id, ToState(JobState::kSucceeded));  // 2
  FakeSink& sink = NewSink(Mode::kInline);
  auto watch = OpenJobWatch(job.id, 2, sink);
  ExpectEnd(sink, absl::StatusCode::kOk);
  EXPECT_EQ(sink.written(), std::vector<Written>{});
}

// The dispatcher may report dropped events (Behind) between the watch's subscription and its
// first read. A client resuming a finished job with after_sequence = its latest event must
// still get the end of the stream (docs/EVENTS.md: "Watching a finished job gives ... the
// events after N and ends").
TEST_F(JobWatchTest, AfterLatestSequenceOfAFinishedJobEndsEvenWhenMarkedBehindFirst) {
  const Job job = Create(store_, NewJob());
  Apply(store_, job.id, ToState(JobState::kRunning));    // 2
  Apply(store_, job.id, ToState(JobState::kSucceeded));  // 3
  FakeSink& sink = NewSink(Mode::kInline);
  auto watch = OpenJobWatch(job.id, 3, sink, {}, [&](JobWatch& w) {
    // Runs inside Begin, after SubscribeJob and before the read: where the bus's dispatcher
    // could call Behind for events of this job it dropped.
    store_.BeforeNextGetJob([&w, id = job.id] { w.Behind(id, 3); });
  });
  ExpectEnd(sink, absl::StatusCode::kOk);
  EXPECT_EQ(sink.written(), std::vector<Written>{});
}

TEST_F(JobWatchTest, HistoryDeletedAfterNStartsWithASnapshot) {
  const Job job = Create(store_, NewJob());
  Apply(store_, job.id, ToState(JobState::kRunning));  // 2
  Apply(store_, job.id, Progress(10));                 // 3
  Apply(store_, job.id, Progress(20));                 // 4
  Apply(store_, job.id, Progress(30));                 // 5
  store_.DropEventsThrough(job.id, 3);
  FakeSink& sink = NewSink(Mode::kInline);
  auto watch = OpenJobWatch(job.id, 1, sink);
  ASSERT_TRUE(WaitFor([&] { return sink.size() == 1; }));
  Apply(publishing_, job.id, Progress(40));  // 6
  ASSERT_TRUE(WaitFor([&] { return sink.size() >= 2; }));
  watch->Cancel();
  ExpectEnd(sink, absl::StatusCode::kCancelled);
  EXPECT_EQ(sink.written(), (std::vector<Written>{{job.id, kSnapshot, 5}, {job.id, kProgress, 6}}));
}

TEST_F(JobWatchTest, AfterSequenceBeyondLatestIsInvalid) {
  const Job job = Create(store_, NewJob());
  Apply(store_, job.id, ToState(JobState::kRunning));  // 2
  FakeSink& sink = NewSink(Mode::kInline);
  auto watch = OpenJobWatch(job.id, 3, sink);
  ExpectEnd(sink, absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(sink.end()->message(), "after_sequence")) << *sink.end();
  EXPECT_EQ(sink.size(), 0u);
  EXPECT_EQ(bus_.job_subscriber_count(), 0u);
}

TEST_F(JobWatchTest, NegativeAfterSequenceIsInvalid) {
  const Job job = Create(store_, NewJob());
  FakeSink& sink = NewSink(Mode::kInline);
  auto watch = OpenJobWatch(job.id, -1, sink);
  ExpectEnd(sink, absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(sink.end()->message(), "after_sequence")) << *sink.end();
  EXPECT_EQ(sink.size(), 0u);
  EXPECT_EQ(bus_.job_subscriber_count(), 0u);
}

TEST_F(JobWatchTest, UnknownIdIsNotFound) {
  FakeSink& sink = NewSink(Mode::kInline);
  auto watch = OpenJobWatch(NewJobId(absl::Now()), std::nullopt, sink);
  ExpectEnd(sink, absl::StatusCode::kNotFound);
  EXPECT_EQ(sink.size(), 0u);
  EXPECT_EQ(bus_.job_subscriber_count(), 0u);
}

TEST_F(JobWatchTest, MalformedIdIsInvalid) {
  FakeSink& sink = NewSink(Mode::kInline);
  auto watch = OpenJobWatch("not-a-job-id", std::nullopt, sink);
  ExpectEnd(sink, absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(sink.end()->message(), "id:")) << *sink.end();
  EXPECT_EQ(sink.size(), 0u);
}

// ---- Slow streams ----

TEST_F(JobWatchTest, OverflowedBufferIsCaughtUpFromTheStoreExactlyOnce) {
  const Job job = Create(store_, NewJob());
  FakeSink& sink = NewSink(Mode::kManual);
  WatchOptions options;
  options.buffer_events = 4;
  options.catch_up_page = 16;
  auto watch = OpenJobWatch(job.id, std::nullopt, sink, options);
  ASSERT_TRUE(WaitFor([&] { return sink.outstanding(); }));  // the SNAPSHOT, not completed
  auto probe = std::make_shared<RecordingSubscriber>();
  ASSERT_TRUE(bus_.SubscribeJob(job.id, probe));  // after the watch: sees each batch after it

  for (int i = 0; i < 100; ++i) Apply(publishing_, job.id, Progress(static_cast<float>(i)));
  ASSERT_TRUE(WaitFor([&] { return probe->event_count() == 100; }));
  EXPECT_EQ(sink.size(), 1u) << "nothing is written while the stream is stalled";

  for (int i = 0; i < 101; ++i) {
    ASSERT_TRUE(WaitFor([&] { return sink.outstanding(); })) << "write " << i;
    ASSERT_TRUE(sink.CompleteOne());
  }
  watch->Cancel();
  ExpectEnd(sink, absl::StatusCode::kCancelled);

  std::vector<int64_t> expected;
  for (int64_t s = 1; s <= 101; ++s) expected.push_back(s);
  EXPECT_EQ(sink.sequences(), expected);
  EXPECT_EQ(sink.events()[0]->event.kind, kSnapshot);
  // 100 single-event deliveries into a buffer of 4 overflow every 5th: none is left live,
  // so all 100 come from reads of 16 (6 full pages and one of 4).
  EXPECT_EQ(store_.read_events_calls(), 7u);
}

TEST_F(JobWatchTest, CancelEndsOnceNoWriteIsOutstanding) {
  const Job job = Create(store_, NewJob());
  FakeSink& sink = NewSink(Mode::kManual);
  auto watch = OpenJobWatch(job.id, std::nullopt, sink);
  ASSERT_TRUE(WaitFor([&] { return sink.outstanding(); }));
  watch->Cancel();
  EXPECT_FALSE(sink.ended()) << "End while the SNAPSHOT's write is outstanding";
  ASSERT_TRUE(sink.CompleteOne());
  ExpectEnd(sink, absl::StatusCode::kCancelled);
  EXPECT_EQ(sink.size(), 1u);
  EXPECT_EQ(bus_.job_subscriber_count(), 0u);
}

TEST_F(JobWatchTest, CancelOfAnIdleWatchEndsAtOnce) {
  const Job job = Create(store_, NewJob());
  FakeSink& sink = NewSink(Mode::kInline);
  auto watch = OpenJobWatch(job.id, std::nullopt, sink);
  ASSERT_TRUE(WaitFor([&] { return sink.size() == 1; }));
  watch->Cancel();
  ASSERT_TRUE(sink.ended());
  EXPECT_EQ(sink.end()->code(), absl::StatusCode::kCancelled);
}

TEST_F(JobWatchTest, FailedWriteEndsAsCancelled) {
  const Job job = Create(store_, NewJob());
  FakeSink& sink = NewSink(Mode::kManual);
  auto watch = OpenJobWatch(job.id, std::nullopt, sink);
  ASSERT_TRUE(WaitFor([&] { return sink.outstanding(); }));
  ASSERT_TRUE(sink.CompleteOne(/*ok=*/false));
  ExpectEnd(sink, absl::StatusCode::kCancelled);
}

TEST_F(JobWatchTest, BusStopEndsOpenWatchesWithUnavailable) {
  const Job a = Create(store_, NewJob());
  const Job b = Create(store_, NewJob());
  FakeSink& idle = NewSink(Mode::kInline);
  FakeSink& stalled = NewSink(Mode::kManual);
  auto watch_a = OpenJobWatch(a.id, std::nullopt, idle);
  auto watch_b = OpenJobWatch(b.id, std::nullopt, stalled);
  ASSERT_TRUE(WaitFor([&] { return idle.size() == 1 && stalled.outstanding(); }));

  bus_.Stop();
  ASSERT_TRUE(idle.ended());
  EXPECT_EQ(idle.end()->code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(stalled.ended()) << "End while a write is outstanding";
  ASSERT_TRUE(stalled.CompleteOne());
  ExpectEnd(stalled, absl::StatusCode::kUnavailable);

  FakeSink& late = NewSink(Mode::kInline);
  auto watch_c = OpenJobWatch(a.id, std::nullopt, late);
  ExpectEnd(late, absl::StatusCode::kUnavailable);
  EXPECT_EQ(late.size(), 0u);
}

TEST_F(JobWatchTest, OverloadedExecutorRefusesWithUnavailable) {
  const Job job = Create(store_, NewJob());
  FakeSink& sink = NewSink(Mode::kInline);
  auto watch = OpenJobWatch(job.id, std::nullopt, sink, {}, nullptr, &refusing_);
  ASSERT_TRUE(sink.ended());
  EXPECT_EQ(sink.end()->code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(bus_.job_subscriber_count(), 0u);
}

// ---- Ending while a read is in flight ----
// The read is held in the store (a Gate in BeforeNextGetJob) on the serial executor; once it
// is let go, Drained(serial_) says its result has been handled.

TEST_F(JobWatchTest, CancelDuringTheFirstReadEndsAtOnce) {
  const Job job = Create(store_, NewJob());
  Gate read;
  store_.BeforeNextGetJob(read.Hold());
  FakeSink& sink = NewSink(Mode::kInline);
  auto watch = OpenJobWatch(job.id, std::nullopt, sink, {}, nullptr, &serial_);
  ASSERT_TRUE(WaitFor([&] { return read.entered(); }));

  watch->Cancel();
  ASSERT_TRUE(sink.ended()) << "Cancel waited for the read in flight";
  EXPECT_EQ(sink.end()->code(), absl::StatusCode::kCancelled) << *sink.end();
  EXPECT_EQ(bus_.job_subscriber_count(), 0u);

  read.Open();
  ASSERT_TRUE(Drained(serial_));
  EXPECT_EQ(sink.size(), 0u) << "the late read's SNAPSHOT was written";
  EXPECT_EQ(bus_.job_subscriber_count(), 0u);
}

TEST_F(JobWatchTest, CancelDuringACatchUpReadEndsAtOnce) {
  const Job job = Create(store_, NewJob());
  FakeSink& sink = NewSink(Mode::kInline);
  auto watch = OpenJobWatch(job.id, std::nullopt, sink, {}, nullptr, &serial_);
  ASSERT_TRUE(WaitFor([&] { return sink.size() == 1; }));
  Gate read;
  store_.BeforeNextGetJob(read.Hold());
  Apply(store_, job.id, Progress(10));                              // 2: never published here
  const Job at3 = Apply(store_, job.id, Progress(20));              // 3
  bus_.Publish({{BusEventOf(at3, kProgress, JobState::kQueued)}});  // a gap: read 2 and 3
  ASSERT_TRUE(WaitFor([&] { return read.entered(); }));

  watch->Cancel();
  ASSERT_TRUE(sink.ended()) << "Cancel waited for the read in flight";
  EXPECT_EQ(sink.end()->code(), absl::StatusCode::kCancelled) << *sink.end();

  read.Open();
  ASSERT_TRUE(Drained(serial_));
  EXPECT_EQ(sink.written(), (std::vector<Written>{{job.id, kSnapshot, 1}}))
      << "the late read's events were written";
  EXPECT_EQ(bus_.job_subscriber_count(), 0u);
}

TEST_F(JobWatchTest, BusStopDuringAReadEndsAtOnceWithUnavailable) {
  const Job job = Create(store_, NewJob());
  Gate read;
  store_.BeforeNextGetJob(read.Hold());
  FakeSink& sink = NewSink(Mode::kInline);
  auto watch = OpenJobWatch(job.id, std::nullopt, sink, {}, nullptr, &serial_);
  ASSERT_TRUE(WaitFor([&] { return read.entered(); }));

  bus_.Stop();
  ASSERT_TRUE(sink.ended()) << "Stop waited for the read in flight";
  EXPECT_EQ(sink.end()->code(), absl::StatusCode::kUnavailable) << *sink.end();

  read.Open();
  ASSERT_TRUE(Drained(serial_));
  EXPECT_EQ(sink.size(), 0u) << "the late read's SNAPSHOT was written";
  EXPECT_EQ(bus_.job_subscriber_count(), 0u);
}

TEST_F(JobWatchTest, CancelWhileBeginIsQueuedLeavesNoSubscription) {
  const Job job = Create(store_, NewJob());
  Gate busy;  // holds the serial executor: the watch's Begin waits behind it
  ASSERT_TRUE(serial_.Post(busy.Hold()));
  ASSERT_TRUE(WaitFor([&] { return busy.entered(); }));
  FakeSink& sink = NewSink(Mode::kInline);
  auto watch = OpenJobWatch(job.id, std::nullopt, sink, {}, nullptr, &serial_);

  watch->Cancel();
  ASSERT_TRUE(sink.ended());
  EXPECT_EQ(sink.end()->code(), absl::StatusCode::kCancelled) << *sink.end();

  busy.Open();
  ASSERT_TRUE(Drained(serial_));  // Begin has run
  EXPECT_EQ(bus_.job_subscriber_count(), 0u) << "Begin subscribed an ended watch";
  EXPECT_EQ(sink.size(), 0u);
}

// ---- With the fetcher: events other replicas wrote ----

class JobWatchFetcherTest : public WatchTest {
 protected:
  // Only hints reach the fetcher: its backstop is an hour away.
  void SetUp() override { fetcher_.Start(); }
  EventFetcher fetcher_{store_, bus_, absl::Hours(1)};
};

// Watcher B has sent up to 3; another replica commits 4 and 5 (SUCCEEDED); watcher A opens
// and reads the job at 5 before the notification of 4-5 arrives. A's read is not B's: the
// hint must still be fetched for B.
TEST_F(JobWatchFetcherTest, ANewWatchersReadDoesNotHideEventsFromAnOlderOne) {
  const Job job = Create(store_, NewJob());
  FakeSink& b = NewSink(Mode::kInline);
  auto watch_b = OpenJobWatch(job.id, std::nullopt, b);
  ASSERT_TRUE(WaitFor([&] { return b.size() == 1; }));
  Apply(publishing_, job.id, ToState(JobState::kRunning));  // 2
  Apply(publishing_, job.id, Progress(10));                 // 3
  ASSERT_TRUE(WaitFor([&] { return b.size() == 3; }));

  Apply(store_, job.id, Progress(20));                   // 4: another replica's
  Apply(store_, job.id, ToState(JobState::kSucceeded));  // 5
  FakeSink& a = NewSink(Mode::kInline);
  auto watch_a = OpenJobWatch(job.id, std::nullopt, a);
  ExpectEnd(a, absl::StatusCode::kOk);
  EXPECT_EQ(a.written(), (std::vector<Written>{{job.id, kSnapshot, 5}}));
  EXPECT_FALSE(b.ended());

  fetcher_.Hint({{job.id, 3, 5}});
  ExpectEnd(b, absl::StatusCode::kOk);
  EXPECT_EQ(b.written(), (std::vector<Written>{{job.id, kSnapshot, 1},
                                               {job.id, kStateChanged, 2},
                                               {job.id, kProgress, 3},
                                               {job.id, kProgress, 4},
                                               {job.id, kStateChanged, 5}}));
  EXPECT_EQ(store_.read_requests(), (std::vector<std::vector<EventRange>>{{{job.id, 3, 5}}}));
}

// One fetch round of 2,002 events (a page is 2,000): P's 1,999, then Q's terminal write
// (SUCCEEDED at 3, MESSAGE 4 and 5). The page must not end Q's stream after its SUCCEEDED.
TEST_F(JobWatchFetcherTest, AFullFetchPageDoesNotEndAStreamBeforeItsTerminalWritesMessages) {
  Job p = Create(store_, NewJob());
  Job q = Create(store_, NewJob());
  if (q.id < p.id) std::swap(p, q);                  // read in id order: P's events first
  Apply(store_, p.id, ToState(JobState::kRunning));  // 2
  for (int i = 3; i <= 2000; ++i) Apply(store_, p.id, Progress(static_cast<float>(i % 100)));
  auto p_probe = std::make_shared<RecordingSubscriber>();
  ASSERT_TRUE(bus_.SubscribeJob(p.id, p_probe));
  bus_.NoteSequence(p.id, 1);
  Apply(store_, q.id, ToState(JobState::kRunning));  // 2
  FakeSink& sink = NewSink(Mode::kInline);
  auto watch = OpenJobWatch(q.id, std::nullopt, sink);
  ASSERT_TRUE(WaitFor([&] { return sink.size() == 1; }));  // SNAPSHOT 2

  Apply(store_, q.id,
        ToState(JobState::kSucceeded, kStateChanged,
                {{MessageLevel::kInfo, "a"}, {MessageLevel::kInfo, "b"}}));  // 3, 4, 5
  fetcher_.Hint({{p.id, 1, 2000}, {q.id, 2, 5}});
  ExpectEnd(sink, absl::StatusCode::kOk);
  EXPECT_EQ(sink.written(), (std::vector<Written>{{q.id, kSnapshot, 2},
                                                  {q.id, kStateChanged, 3},
                                                  {q.id, kMessage, 4},
                                                  {q.id, kMessage, 5}}));
  EXPECT_TRUE(WaitFor([&] { return p_probe->event_count() == 1999; })) << p_probe->event_count();
}

// The bus's queue overflows while its dispatcher is held: the dropped events reach the watch
// as Behind, and it reads them from the store.
class JobWatchDroppedTest : public WatchTest {
 protected:
  JobWatchDroppedTest() : WatchTest(EventBusOptions{/*max_queued_events=*/2}) {}
};

TEST_F(JobWatchDroppedTest, EventsDroppedByTheBusAreReadFromTheStore) {
  const Job job = Create(store_, NewJob());
  FakeSink& sink = NewSink(Mode::kInline);
  auto watch = OpenJobWatch(job.id, std::nullopt, sink);
  ASSERT_TRUE(WaitFor([&] { return sink.size() == 1; }));
  auto probe = std::make_shared<RecordingSubscriber>();
  probe->BlockFirstDelivery();
  ASSERT_TRUE(bus_.SubscribeJob(job.id, probe));

  Apply(publishing_, job.id, ToState(JobState::kRunning));  // 2: the watch, then the probe
  ASSERT_TRUE(WaitFor([&] { return probe->blocked(); }));
  Apply(publishing_, job.id, Progress(1));  // 3: queued
  Apply(publishing_, job.id, Progress(2));  // 4: queued
  Apply(publishing_, job.id, Progress(3));  // 5: dropped
  Apply(publishing_, job.id, Progress(4));  // 6: dropped
  probe->Release();
  ASSERT_TRUE(WaitFor([&] { return probe->behind().size() == 1; }));
  EXPECT_EQ(probe->behind()[0], std::make_pair(job.id, int64_t{6}));
  Apply(publishing_, job.id, ToState(JobState::kSucceeded));  // 7

  ExpectEnd(sink, absl::StatusCode::kOk);
  EXPECT_EQ(sink.sequences(), (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(store_.read_events_calls(), 1u);
}

// ---- WorkspaceWatch ----

using WorkspaceWatchTest = WatchTest;

TEST_F(WorkspaceWatchTest, FiltersByTypeAndStateBeforeOrAfter) {
  const Job a = Create(store_, NewJob("ws1", "email"));
  const Job b = Create(store_, NewJob("ws1", "resize"));
  const Job c = Create(store_, NewJob("ws2", "email"));
  const Job d = Create(store_, NewJob("ws1", "email"));
  const Job e = Create(store_, NewJob("ws1", "email"));
  FakeSink& sink = NewSink(Mode::kAsync);
  auto watch = OpenWorkspaceWatch({"ws1", {JobState::kRunning}, {"email"}}, sink);
  ASSERT_TRUE(WaitFor([&] { return WorkspaceSubscribed(); }));

  Apply(publishing_, a.id, ToState(JobState::kRunning));    // a 2: now RUNNING
  Apply(publishing_, a.id, Progress(50));                   // a 3: RUNNING
  Apply(publishing_, b.id, ToState(JobState::kRunning));    // another type
  Apply(publishing_, c.id, ToState(JobState::kRunning));    // another workspace
  Apply(publishing_, a.id, ToState(JobState::kSucceeded));  // a 4: leaves RUNNING
  Apply(publishing_, d.id, ToState(JobState::kCancelled));  // QUEUED -> CANCELLED
  Apply(publishing_, e.id, ToState(JobState::kRunning));    // e 2: the last one expected
  ASSERT_TRUE(WaitFor([&] {
    for (const Written& w : sink.written()) {
      if (w.job_id == e.id) return true;
    }
    return false;
  }));
  watch->Cancel();
  ExpectEnd(sink, absl::StatusCode::kCancelled);

  EXPECT_EQ(sink.written(), (std::vector<Written>{{a.id, kStateChanged, 2},
                                                  {a.id, kProgress, 3},
                                                  {a.id, kStateChanged, 4},
                                                  {e.id, kStateChanged, 2}}));
  const auto events = sink.events();
  EXPECT_EQ(events[2]->event.state, JobState::kSucceeded);
  EXPECT_EQ(events[2]->previous_state, JobState::kRunning);
}

// A RUNNING dashboard and a retried job: RUNNING -> SCHEDULED (backoff) -> QUEUED -> RUNNING.
// SCHEDULED -> QUEUED is neither in nor out of RUNNING, so the filter drops it; the next
// event is still that job's next event for this watcher, not a gap it fell behind on.
TEST_F(WorkspaceWatchTest, EventsTheFilterDropsAreNotMistakenForMissedOnes) {
  const Job a = Create(store_, NewJob("ws1"));
  FakeSink& sink = NewSink(Mode::kInline);
  auto watch = OpenWorkspaceWatch({"ws1", {JobState::kRunning}, {}}, sink);
  ASSERT_TRUE(WaitFor([&] { return WorkspaceSubscribed(); }));
  Apply(publishing_, a.id, ToState(JobState::kRunning));    // 2: QUEUED -> RUNNING
  Apply(publishing_, a.id, ToState(JobState::kScheduled));  // 3: RUNNING -> SCHEDULED
  Apply(publishing_, a.id, ToState(JobState::kQueued));     // 4: SCHEDULED -> QUEUED (filtered)
  Apply(publishing_, a.id, ToState(JobState::kRunning));    // 5: QUEUED -> RUNNING
  ASSERT_TRUE(WaitFor([&] { return sink.size() >= 3; }));
  watch->Cancel();
  ExpectEnd(sink, absl::StatusCode::kCancelled);
  EXPECT_EQ(sink.written(),
            (std::vector<Written>{
                {a.id, kStateChanged, 2}, {a.id, kStateChanged, 3}, {a.id, kStateChanged, 5}}));
}

TEST_F(WorkspaceWatchTest, DuplicatesAreSentOnce) {
  const Job a = Create(store_, NewJob("ws1"));
  FakeSink& sink = NewSink(Mode::kInline);
  auto watch = OpenWorkspaceWatch({"ws1", {}, {}}, sink);
  ASSERT_TRUE(WaitFor([&] { return WorkspaceSubscribed(); }));
  const Job at2 = Apply(store_, a.id, ToState(JobState::kRunning));
  BusEventPtr e2 = BusEventOf(at2, kStateChanged, JobState::kQueued);
  bus_.Publish({{e2}, {e2}});
  bus_.Publish({{e2}});
  Apply(publishing_, a.id, Progress(1));  // 3
  ASSERT_TRUE(WaitFor([&] { return sink.size() >= 2; }));
  watch->Cancel();
  ExpectEnd(sink, absl::StatusCode::kCancelled);
  EXPECT_EQ(sink.written(), (std::vector<Written>{{a.id, kStateChanged, 2}, {a.id, kProgress, 3}}));
}

TEST_F(WorkspaceWatchTest, OverflowGivesOneSnapshotPerMissedJob) {
  const Job a = Create(store_, NewJob("ws1"));
  const Job b = Create(store_, NewJob("ws1"));
  FakeSink& sink = NewSink(Mode::kManual);
  WatchOptions options;
  options.buffer_events = 4;
  auto watch = OpenWorkspaceWatch({"ws1", {}, {}}, sink, options);
  ASSERT_TRUE(WaitFor([&] { return WorkspaceSubscribed(); }));
  auto probe = std::make_shared<RecordingSubscriber>();
  ASSERT_TRUE(bus_.SubscribeWorkspace("ws1", probe));  // after the watch

  Apply(publishing_, a.id, ToState(JobState::kRunning));  // a 2: written, not completed
  ASSERT_TRUE(WaitFor([&] { return sink.outstanding(); }));
  Apply(publishing_, a.id, Progress(1));                  // a 3
  Apply(publishing_, a.id, Progress(2));                  // a 4
  Apply(publishing_, a.id, Progress(3));                  // a 5
  Apply(publishing_, b.id, ToState(JobState::kRunning));  // b 2
  Apply(publishing_, b.id, Progress(1));                  // b 3: the 5th queued: overflow
  Apply(publishing_, b.id, Progress(2));                  // b 4
  ASSERT_TRUE(WaitFor([&] { return probe->event_count() == 7; }));

  for (int i = 0; i < 3; ++i) {  // a 2, then the two SNAPSHOTs
    ASSERT_TRUE(WaitFor([&] { return sink.outstanding(); })) << "write " << i;
    ASSERT_TRUE(sink.CompleteOne());
  }
  Apply(publishing_, a.id, Progress(4));  // a 6: live again after its SNAPSHOT
  ASSERT_TRUE(WaitFor([&] { return sink.outstanding(); }));
  ASSERT_TRUE(sink.CompleteOne());
  watch->Cancel();
  ExpectEnd(sink, absl::StatusCode::kCancelled);

  std::vector<Written> written = sink.written();
  ASSERT_EQ(written.size(), 4u) << ::testing::PrintToString(written);
  EXPECT_EQ(written[0], (Written{a.id, kStateChanged, 2}));
  std::vector<Written> snapshots = {written[1], written[2]};
  if (snapshots[0].job_id != a.id) std::swap(snapshots[0], snapshots[1]);
  EXPECT_EQ(snapshots, (std::vector<Written>{{a.id, kSnapshot, 5}, {b.id, kSnapshot, 4}}));
  EXPECT_EQ(written[3], (Written{a.id, kProgress, 6}));
}

TEST_F(WorkspaceWatchTest, SkippedSequenceGivesASnapshot) {
  const Job a = Create(store_, NewJob("ws1"));
  FakeSink& sink = NewSink(Mode::kInline);
  auto watch = OpenWorkspaceWatch({"ws1", {}, {}}, sink);
  ASSERT_TRUE(WaitFor([&] { return WorkspaceSubscribed(); }));
  Apply(publishing_, a.id, ToState(JobState::kRunning));  // a 2
  ASSERT_TRUE(WaitFor([&] { return sink.size() == 1; }));
  Apply(store_, a.id, Progress(1));                  // a 3: never published here
  const Job at4 = Apply(store_, a.id, Progress(2));  // a 4
  bus_.Publish({{BusEventOf(at4, kProgress, JobState::kRunning)}});
  ASSERT_TRUE(WaitFor([&] { return sink.size() == 2; }));
  Apply(publishing_, a.id, Progress(3));  // a 5
  ASSERT_TRUE(WaitFor([&] { return sink.size() >= 3; }));
  watch->Cancel();
  ExpectEnd(sink, absl::StatusCode::kCancelled);
  EXPECT_EQ(
      sink.written(),
      (std::vector<Written>{{a.id, kStateChanged, 2}, {a.id, kSnapshot, 4}, {a.id, kProgress, 5}}));
}

TEST_F(WorkspaceWatchTest, FeedInterruptedEndsWithUnavailable) {
  const Job a = Create(store_, NewJob("ws1"));
  FakeSink& workspace_sink = NewSink(Mode::kInline);
  FakeSink& job_sink = NewSink(Mode::kInline);
  auto workspace_watch = OpenWorkspaceWatch({"ws1", {}, {}}, workspace_sink);
  ASSERT_TRUE(WaitFor([&] { return WorkspaceSubscribed(); }));
  auto job_watch = OpenJobWatch(a.id, std::nullopt, job_sink);
  ASSERT_TRUE(WaitFor([&] { return job_sink.size() == 1; }));

  bus_.FeedInterrupted();
  ExpectEnd(workspace_sink, absl::StatusCode::kUnavailable);
  // Job watchers are covered by the fetcher's backstop: they go on.
  EXPECT_FALSE(job_sink.ended());
  Apply(publishing_, a.id, ToState(JobState::kRunning));
  ASSERT_TRUE(WaitFor([&] { return job_sink.size() == 2; }));
  EXPECT_EQ(workspace_sink.size(), 0u);
}

TEST_F(WorkspaceWatchTest, InvalidFilterIsRefused) {
  FakeSink& bad_workspace = NewSink(Mode::kInline);
  auto w1 = OpenWorkspaceWatch({"not a workspace!", {}, {}}, bad_workspace);
  ExpectEnd(bad_workspace, absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(bad_workspace.end()->message(), "workspace_id"))
      << *bad_workspace.end();
  FakeSink& bad_type = NewSink(Mode::kInline);
  auto w2 = OpenWorkspaceWatch({"ws1", {}, {"Not A Type"}}, bad_type);
  ExpectEnd(bad_type, absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(bad_type.end()->message(), "types")) << *bad_type.end();
}

TEST_F(WorkspaceWatchTest, BusStopEndsWithUnavailable) {
  FakeSink& sink = NewSink(Mode::kInline);
  auto watch = OpenWorkspaceWatch({"ws1", {}, {}}, sink);
  ASSERT_TRUE(WaitFor([&] { return WorkspaceSubscribed(); }));
  bus_.Stop();
  ExpectEnd(sink, absl::StatusCode::kUnavailable);
}

TEST_F(WorkspaceWatchTest, CancelWhileSubscribeIsQueuedLeavesNoSubscription) {
  Gate busy;  // holds the serial executor: the watch's Subscribe waits behind it
  ASSERT_TRUE(serial_.Post(busy.Hold()));
  ASSERT_TRUE(WaitFor([&] { return busy.entered(); }));
  FakeSink& sink = NewSink(Mode::kInline);
  auto watch = OpenWorkspaceWatch({"ws1", {}, {}}, sink, {}, &serial_);
  watch->Cancel();
  ASSERT_TRUE(sink.ended());
  EXPECT_EQ(sink.end()->code(), absl::StatusCode::kCancelled) << *sink.end();
  busy.Open();
  ASSERT_TRUE(Drained(serial_));  // Subscribe has run
  EXPECT_FALSE(WorkspaceSubscribed()) << "Subscribe subscribed an ended watch";
}

// X is owed a SNAPSHOT (a skipped sequence) and its read waits; meanwhile X's next event is
// queued. The read sees X at 5, which covers that event: it is not written after the SNAPSHOT.
TEST_F(WorkspaceWatchTest, QueuedEventsASnapshotCoversAreNotWrittenAfterIt) {
  const Job x = Create(store_, NewJob("ws1"));
  FakeSink& sink = NewSink(Mode::kInline);
  auto watch = OpenWorkspaceWatch({"ws1", {}, {}}, sink, {}, &serial_);
  ASSERT_TRUE(WaitFor([&] { return WorkspaceSubscribed(); }));
  auto probe = std::make_shared<RecordingSubscriber>();
  ASSERT_TRUE(bus_.SubscribeWorkspace("ws1", probe));     // after the watch
  Apply(publishing_, x.id, ToState(JobState::kRunning));  // 2
  ASSERT_TRUE(WaitFor([&] { return sink.size() == 1; }));

  Gate busy;  // the SNAPSHOT's read waits behind it
  ASSERT_TRUE(serial_.Post(busy.Hold()));
  ASSERT_TRUE(WaitFor([&] { return busy.entered(); }));
  Apply(store_, x.id, Progress(1));                                  // 3: never published here
  const Job at4 = Apply(store_, x.id, Progress(2));                  // 4
  bus_.Publish({{BusEventOf(at4, kProgress, JobState::kRunning)}});  // 3 skipped: SNAPSHOT owed
  Apply(publishing_, x.id, Progress(3));  // 5: queued while the read waits
  ASSERT_TRUE(WaitFor([&] { return probe->event_count() == 3; }));
  EXPECT_EQ(sink.size(), 1u);

  busy.Open();  // the read: X at 5
  ASSERT_TRUE(WaitFor([&] { return sink.size() >= 2; }));
  Apply(publishing_, x.id, Progress(4));  // 6
  ASSERT_TRUE(WaitFor([&] { return sink.size() >= 3; }));
  watch->Cancel();
  ExpectEnd(sink, absl::StatusCode::kCancelled);
  EXPECT_EQ(
      sink.written(),
      (std::vector<Written>{{x.id, kStateChanged, 2}, {x.id, kSnapshot, 5}, {x.id, kProgress, 6}}));
}

// The bus's queue overflows (max 2 events) while its dispatcher is held: the dropped events
// reach the watch as Behind, and it owes SNAPSHOTs. With states = [RUNNING] only the jobs it
// showed before, or that are RUNNING now, get one.
class WorkspaceWatchDroppedTest : public WatchTest {
 protected:
  WorkspaceWatchDroppedTest() : WatchTest(EventBusOptions{/*max_queued_events=*/2}) {}
};

TEST_F(WorkspaceWatchDroppedTest, SnapshotsOfMissedJobsFollowTheStateFilter) {
  const Job queued = Create(store_, NewJob("ws1"));   // missed while QUEUED, never shown
  const Job running = Create(store_, NewJob("ws1"));  // shown RUNNING, missed leaving it
  const Job marker = Create(store_, NewJob("ws1"));
  FakeSink& sink = NewSink(Mode::kInline);
  auto watch = OpenWorkspaceWatch({"ws1", {JobState::kRunning}, {}}, sink);
  ASSERT_TRUE(WaitFor([&] { return WorkspaceSubscribed(); }));
  Apply(publishing_, running.id, ToState(JobState::kRunning));  // running 2
  ASSERT_TRUE(WaitFor([&] { return sink.size() == 1; }));

  auto probe = std::make_shared<RecordingSubscriber>();
  probe->BlockFirstDelivery();
  ASSERT_TRUE(bus_.SubscribeWorkspace("ws1", probe));  // after the watch
  struct Release {
    RecordingSubscriber& probe;
    ~Release() { probe.Release(); }  // never leave the dispatcher held
  } release{*probe};
  Apply(publishing_, queued.id, Progress(1));  // queued 2: the watch (filtered), then the probe
  ASSERT_TRUE(WaitFor([&] { return probe->blocked(); }));
  Apply(publishing_, queued.id, Progress(2));                     // queued 3: queued
  Apply(publishing_, queued.id, Progress(3));                     // queued 4: queued
  Apply(publishing_, queued.id, Progress(4));                     // queued 5: dropped
  Apply(publishing_, running.id, ToState(JobState::kSucceeded));  // running 3: dropped
  probe->Release();
  ASSERT_TRUE(WaitFor([&] { return probe->behind().size() == 2; }));

  ASSERT_TRUE(WaitFor([&] { return sink.size() >= 2; }));
  Apply(publishing_, marker.id, ToState(JobState::kRunning));  // marker 2: after the SNAPSHOTs
  ASSERT_TRUE(WaitFor([&] { return sink.size() >= 3; }));
  watch->Cancel();
  ExpectEnd(sink, absl::StatusCode::kCancelled);
  EXPECT_EQ(sink.written(), (std::vector<Written>{{running.id, kStateChanged, 2},
                                                  {running.id, kSnapshot, 3},
                                                  {marker.id, kStateChanged, 2}}));
  ASSERT_GE(sink.size(), 2u);
  EXPECT_EQ(sink.events()[1]->event.state, JobState::kSucceeded);
}

// ---- More jobs than a stream remembers (4,096) ----

class WorkspaceWatchManyJobsTest : public WatchTest {
 protected:
  static constexpr size_t kTracked = 4096;

  // `count` QUEUED jobs of ws1, created without publishing (the watch never sees CREATED).
  std::vector<Job> CreateMany(size_t count) {
    std::vector<Job> input;
    for (size_t i = 0; i < count; ++i) input.push_back(NewJob("ws1"));
    absl::StatusOr<std::vector<CreatedJob>> created = store_.CreateJobs(input);
    EXPECT_TRUE(created.ok()) << created.status();
    std::vector<Job> out;
    if (created.ok()) {
      for (const CreatedJob& c : *created) out.push_back(c.job);
    }
    return out;
  }

  // One published write changing jobs [begin, end) (one bus batch per job).
  void UpdateAll(const std::vector<Job>& jobs, size_t begin, size_t end,
                 const JobStore::Mutation& mutate) {
    std::vector<JobStore::JobChange> changes;
    for (size_t i = begin; i < end; ++i) changes.push_back({jobs[i].id, mutate});
    absl::StatusOr<std::vector<absl::StatusOr<Job>>> results = publishing_.UpdateJobs(changes);
    ASSERT_TRUE(results.ok()) << results.status();
    for (const auto& r : *results) ASSERT_TRUE(r.ok()) << r.status();
  }

  static WatchOptions BigBuffer() {
    WatchOptions options;
    options.buffer_events = 1 << 20;  // no overflow: only forgetting owes SNAPSHOTs here
    return options;
  }

  // Per job: no event written twice, sequences never go back (a SNAPSHOT may repeat the
  // sequence of what was sent before it). Returns the first few problems.
  static std::vector<std::string> OrderProblems(const std::vector<Written>& written) {
    std::vector<std::string> problems;
    std::map<std::string, int64_t> last;
    std::map<std::pair<std::string, int64_t>, int> events;
    for (size_t i = 0; i < written.size() && problems.size() < 5; ++i) {
      const Written& w = written[i];
      auto it = last.find(w.job_id);
      if (w.kind != kSnapshot && ++events[{w.job_id, w.sequence}] > 1) {
        problems.push_back(absl::StrCat("#", i, " written twice: ", ::testing::PrintToString(w)));
      } else if (it != last.end() &&
                 (w.kind == kSnapshot ? w.sequence < it->second : w.sequence <= it->second)) {
        problems.push_back(absl::StrCat("#", i, " out of order: ", ::testing::PrintToString(w),
                                        " after #", it->second));
      }
      last[w.job_id] = w.sequence;
    }
    return problems;
  }

  static size_t CountKind(const std::vector<Written>& written, EventKind kind) {
    return static_cast<size_t>(std::count_if(written.begin(), written.end(),
                                             [&](const Written& w) { return w.kind == kind; }));
  }
};

// 4,096 jobs remembered, 3,000 of them finished: a new job makes room by forgetting the
// finished ones, so nothing is owed and the live ones are still deduplicated.
TEST_F(WorkspaceWatchManyJobsTest, FinishedJobsAreForgottenFirst) {
  const std::vector<Job> jobs = CreateMany(kTracked);
  FakeSink& sink = NewSink(Mode::kInline);
  auto watch = OpenWorkspaceWatch({"ws1", {}, {}}, sink, BigBuffer());
  ASSERT_TRUE(WaitFor([&] { return WorkspaceSubscribed(); }));
  UpdateAll(jobs, 0, 3000, ToState(JobState::kCancelled));       // finished at 2
  UpdateAll(jobs, 3000, kTracked, ToState(JobState::kRunning));  // live at 2
  ASSERT_TRUE(WaitFor([&] { return sink.size() == kTracked; })) << sink.size();

  const Job newcomer = Create(publishing_, NewJob("ws1"));  // the 4,097th: CREATED 1
  ASSERT_TRUE(WaitFor([&] { return sink.size() == kTracked + 1; })) << sink.size();
  // A second copy of a live job's event (as a remote fetch may bring): still remembered.
  const Job live_at2 = *store_.GetJob(jobs[3000].id);
  bus_.Publish({{BusEventOf(live_at2, kStateChanged, JobState::kQueued)}});
  UpdateAll(jobs, 3000, kTracked, Progress(50));    // live at 3
  Apply(publishing_, jobs[3000].id, Progress(60));  // a marker: 4
  ASSERT_TRUE(WaitFor([&] {
    const std::vector<Written> w = sink.written();
    return !w.empty() && w.back() == Written{jobs[3000].id, kProgress, 4};
  })) << sink.size();
  watch->Cancel();
  ExpectEnd(sink, absl::StatusCode::kCancelled);

  const std::vector<Written> written = sink.written();
  EXPECT_EQ(written.size(), kTracked + 1 + (kTracked - 3000) + 1);
  EXPECT_EQ(CountKind(written, kSnapshot), 0u) << "nothing is owed for forgotten finished jobs";
  EXPECT_EQ(OrderProblems(written), std::vector<std::string>{});
  EXPECT_EQ(written[kTracked], (Written{newcomer.id, kCreated, 1}));
}

// 4,096 live jobs, all sent: a 4,097th cannot make room by forgetting finished ones, so the
// live ones are all kept: no SNAPSHOT is owed, a second copy of a sent event is dropped, and
// each job's next event follows exactly once.
TEST_F(WorkspaceWatchManyJobsTest, TooManyLiveJobsAreAllRemembered) {
  const std::vector<Job> jobs = CreateMany(kTracked + 1);
  FakeSink& sink = NewSink(Mode::kInline);
  auto watch = OpenWorkspaceWatch({"ws1", {}, {}}, sink, BigBuffer());
  ASSERT_TRUE(WaitFor([&] { return WorkspaceSubscribed(); }));
  UpdateAll(jobs, 0, kTracked, ToState(JobState::kRunning));  // 2
  ASSERT_TRUE(WaitFor([&] { return sink.size() == kTracked; })) << sink.size();

  UpdateAll(jobs, kTracked, kTracked + 1, ToState(JobState::kRunning));  // the 4,097th: 2
  ASSERT_TRUE(WaitFor([&] { return sink.size() == kTracked + 1; })) << sink.size();
  EXPECT_EQ(sink.written()[kTracked], (Written{jobs[kTracked].id, kStateChanged, 2}));

  const Job first_at2 = *store_.GetJob(jobs[0].id);
  bus_.Publish({{BusEventOf(first_at2, kStateChanged, JobState::kQueued)}});
  UpdateAll(jobs, 0, kTracked + 1, Progress(50));  // 3
  Apply(publishing_, jobs[0].id, Progress(60));    // a marker: 4
  ASSERT_TRUE(WaitFor([&] {
    const std::vector<Written> w = sink.written();
    return !w.empty() && w.back().job_id == jobs[0].id && w.back().sequence == 4;
  })) << sink.size();
  watch->Cancel();
  ExpectEnd(sink, absl::StatusCode::kCancelled);

  const std::vector<Written> written = sink.written();
  EXPECT_EQ(OrderProblems(written), std::vector<std::string>{});
  std::map<std::string, std::vector<int64_t>> sequences;
  EXPECT_EQ(CountKind(written, kSnapshot), 0u);
  for (const Written& w : written) sequences[w.job_id].push_back(w.sequence);
  for (size_t i = 1; i <= kTracked; ++i) {
    EXPECT_EQ(sequences[jobs[i].id], (std::vector<int64_t>{2, 3})) << i;
  }
  EXPECT_EQ(sequences[jobs[0].id], (std::vector<int64_t>{2, 3, 4}));
}

// As above with states = [RUNNING] and a stalled stream: job J0 was sent RUNNING, 4,097 live
// jobs are tracked, and J0 leaves RUNNING while writes are held. The watcher must still see it
// leave RUNNING (docs/EVENTS.md): its SUCCEEDED event or a SNAPSHOT showing it.
TEST_F(WorkspaceWatchManyJobsTest, AJobLeavingTheWatchedStatesIsSeenWithManyJobsTracked) {
  const std::vector<Job> jobs = CreateMany(kTracked + 1);
  const std::string& j0 = jobs[0].id;
  FakeSink& sink = NewSink(Mode::kManual);
  auto watch = OpenWorkspaceWatch({"ws1", {JobState::kRunning}, {}}, sink, BigBuffer());
  ASSERT_TRUE(WaitFor([&] { return WorkspaceSubscribed(); }));
  auto probe = std::make_shared<RecordingSubscriber>();
  ASSERT_TRUE(bus_.SubscribeWorkspace("ws1", probe));         // after the watch
  UpdateAll(jobs, 0, kTracked, ToState(JobState::kRunning));  // 2
  for (size_t i = 0; i < kTracked; ++i) {
    ASSERT_TRUE(WaitFor([&] { return sink.outstanding(); })) << "write " << i;
    ASSERT_TRUE(sink.CompleteOne());
  }
  UpdateAll(jobs, kTracked, kTracked + 1, ToState(JobState::kRunning));  // 4,097th: held write
  ASSERT_TRUE(WaitFor([&] { return sink.outstanding(); }));
  Apply(publishing_, j0, ToState(JobState::kSucceeded));  // J0 3: leaves RUNNING
  ASSERT_TRUE(WaitFor([&] { return probe->event_count() == kTracked + 2; }));

  // Let writes out until J0 shows SUCCEEDED (its SNAPSHOT or its event), with a deadline.
  auto j0_succeeded = [&] {
    for (const BusEventPtr& e : sink.events()) {
      if (e->event.job_id == j0 && e->event.state == JobState::kSucceeded) return true;
    }
    return false;
  };
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!j0_succeeded()) {
    if (sink.CompleteOne()) continue;
    ASSERT_LT(absl::Now(), deadline) << "stalled after " << sink.size() << " writes";
    absl::SleepFor(absl::Milliseconds(1));
  }
  std::vector<Written> of_j0;
  std::vector<JobState> states_of_j0;
  for (const BusEventPtr& e : sink.events()) {
    if (e->event.job_id != j0) continue;
    of_j0.push_back({j0, e->event.kind, e->event.sequence});
    states_of_j0.push_back(e->event.state);
  }
  ASSERT_FALSE(of_j0.empty());
  EXPECT_EQ(of_j0.front(), (Written{j0, kStateChanged, 2}));
  EXPECT_EQ(states_of_j0.back(), JobState::kSucceeded)
      << "the watcher never saw J0 leave RUNNING: " << ::testing::PrintToString(of_j0);
}

}  // namespace
}  // namespace jobd::core

namespace jobd::core {
namespace {

using WorkspaceWatchBoundsTest = WatchTest;

// Made on another jobd and leased here: this replica's RUNNING (2) is out before the
// fetcher brings CREATED (1). The stream owes 1, so it sends a SNAPSHOT, not 2 then nothing.
TEST_F(WorkspaceWatchBoundsTest, AJobMadeSinceTheStreamBeganWhoseFirstEventsComeLateGetsASnapshot) {
  FakeSink& sink = NewSink(Mode::kInline);
  auto watch = OpenWorkspaceWatch({"ws1", {}, {}}, sink);
  ASSERT_TRUE(WaitFor([&] { return WorkspaceSubscribed(); }));
  Job fresh = NewJob("ws1");
  fresh.create_time = absl::Now() + absl::Hours(1);  // surely after the subscription
  const Job a = Create(store_, fresh);
  const Job at2 = Apply(store_, a.id, ToState(JobState::kRunning));
  bus_.Publish({{BusEventOf(at2, kStateChanged, JobState::kQueued)}});
  ASSERT_TRUE(WaitFor([&] { return sink.size() == 1; }));
  bus_.Publish({{BusEventOf(a, kCreated, std::nullopt)}});  // late: covered by the SNAPSHOT
  Apply(publishing_, a.id, Progress(1));                    // 3
  ASSERT_TRUE(WaitFor([&] { return sink.size() >= 2; }));
  watch->Cancel();
  ExpectEnd(sink, absl::StatusCode::kCancelled);
  EXPECT_EQ(sink.written(), (std::vector<Written>{{a.id, kSnapshot, 2}, {a.id, kProgress, 3}}));
}

// A QUEUED filter wanted CREATED; the job is RUNNING by the time it is read: its SNAPSHOT
// still goes out (the stream owes it), rather than nothing.
TEST_F(WorkspaceWatchBoundsTest, AnOwedJobThatLeftTheWatchedStatesStillGetsItsSnapshot) {
  FakeSink& sink = NewSink(Mode::kInline);
  auto watch = OpenWorkspaceWatch({"ws1", {JobState::kQueued}, {}}, sink);
  ASSERT_TRUE(WaitFor([&] { return WorkspaceSubscribed(); }));
  Job fresh = NewJob("ws1");
  fresh.create_time = absl::Now() + absl::Hours(1);
  const Job a = Create(store_, fresh);
  const Job at2 = Apply(store_, a.id, ToState(JobState::kRunning));
  bus_.Publish({{BusEventOf(at2, kStateChanged, JobState::kQueued)}});
  ASSERT_TRUE(WaitFor([&] { return sink.size() == 1; }));
  bus_.Publish({{BusEventOf(a, kCreated, std::nullopt)}});  // late: covered by the SNAPSHOT
  watch->Cancel();
  ExpectEnd(sink, absl::StatusCode::kCancelled);
  EXPECT_EQ(sink.written(), (std::vector<Written>{{a.id, kSnapshot, 2}}));
}

// A RUNNING filter never wanted CREATED (QUEUED): the first RUNNING event is no gap.
TEST_F(WorkspaceWatchBoundsTest, AStateFilterOwesNothingForEventsItWouldHaveDropped) {
  FakeSink& sink = NewSink(Mode::kInline);
  auto watch = OpenWorkspaceWatch({"ws1", {JobState::kRunning}, {}}, sink);
  ASSERT_TRUE(WaitFor([&] { return WorkspaceSubscribed(); }));
  Job fresh = NewJob("ws1");
  fresh.create_time = absl::Now() + absl::Hours(1);
  const Job a = Create(store_, fresh);
  const Job at2 = Apply(store_, a.id, ToState(JobState::kRunning));
  bus_.Publish({{BusEventOf(at2, kStateChanged, JobState::kQueued)}});
  ASSERT_TRUE(WaitFor([&] { return sink.size() == 1; }));
  watch->Cancel();
  ExpectEnd(sink, absl::StatusCode::kCancelled);
  EXPECT_EQ(sink.written(), (std::vector<Written>{{a.id, kStateChanged, 2}}));
}

// Jobs the filter drops cost the stream nothing; past max_tracked_jobs shown and unfinished,
// it ends RESOURCE_EXHAUSTED.
TEST_F(WorkspaceWatchBoundsTest, OnlyShownUnfinishedJobsCountAgainstTheLimit) {
  FakeSink& sink = NewSink(Mode::kInline);
  WatchOptions options;
  options.max_tracked_jobs = 2;
  auto watch = OpenWorkspaceWatch({"ws1", {}, {"email"}}, sink, options);
  ASSERT_TRUE(WaitFor([&] { return WorkspaceSubscribed(); }));
  for (int i = 0; i < 50; ++i) Create(publishing_, NewJob("ws1", "resize"));
  const Job a = Create(publishing_, NewJob("ws1", "email"));
  Apply(publishing_, a.id, ToState(JobState::kCancelled));  // finished: may be forgotten
  Create(publishing_, NewJob("ws1", "email"));
  Create(publishing_, NewJob("ws1", "email"));
  ASSERT_TRUE(WaitFor([&] { return sink.size() == 4; }));
  EXPECT_FALSE(sink.ended());
  Create(publishing_, NewJob("ws1", "email"));  // a third unfinished one
  ExpectEnd(sink, absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(sink.end()->message(),
            "the stream follows 2 unfinished jobs, its limit (--watch_max_jobs); narrow it with "
            "states or types");
}

}  // namespace
}  // namespace jobd::core
