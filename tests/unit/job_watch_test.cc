// JobWatch and WorkspaceWatch without gRPC or a database: a fake store, a real EventBus and
// Executor, and a sink that records the stream (see docs/EVENTS.md for the contract).
#include "server/core/job_watch.h"

#include <gtest/gtest.h>

#include <cctype>
#include <deque>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "server/core/event_bus.h"
#include "server/core/executor.h"
#include "server/core/publishing_job_store.h"
#include "server/core/workspace_watch.h"
#include "tests/unit/event_fake_store.h"
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
        WatchDeps{limits_, store_, bus_, executor ? *executor : executor_, options}, id, &sink);
    sink.Attach([watch](bool ok) { watch->WriteDone(ok); });
    if (before_open) before_open(*watch);
    watch->Open(after);
    return watch;
  }

  std::shared_ptr<WorkspaceWatch> OpenWorkspaceWatch(WorkspaceWatchFilter filter, FakeSink& sink,
                                                     WatchOptions options = {}) {
    auto watch = std::make_shared<WorkspaceWatch>(
        WatchDeps{limits_, store_, bus_, executor_, options}, std::move(filter), &sink);
    sink.Attach([watch](bool ok) { watch->WriteDone(ok); });
    watch->Open();
    return watch;
  }

  // True once some workspace watcher is subscribed (with no job watchers, the bus wants any
  // hint only then).
  bool WorkspaceSubscribed() {
    return bus_.Wanted({NewJobId(absl::Now()), 0, 1}).has_value();
  }

  static void ExpectEnd(FakeSink& sink, absl::StatusCode code) {
    ASSERT_TRUE(WaitFor([&] { return sink.ended(); })) << "the stream did not end";
    EXPECT_EQ(sink.end()->code(), code) << *sink.end();
  }

  Limits limits_;
  FakeJobStore store_;
  std::deque<std::unique_ptr<FakeSink>> sinks_;          // outlive the bus: Stop ends streams
  std::deque<std::shared_ptr<RecordingSubscriber>> probes_;
  EventBus bus_;
  PublishingJobStore publishing_{store_, bus_, [](const std::vector<EventRange>&) {}};
  Executor executor_{2, 10000};
  Executor refusing_{1, 0};  // a full queue: every Post is refused
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
  EXPECT_EQ(sink.written(), (std::vector<Written>{{job.id, kSnapshot, 1},
                                                  {job.id, kStateChanged, 2},
                                                  {job.id, kStateChanged, 3}}));
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
  EXPECT_EQ(sink.written(),
            (std::vector<Written>{{job.id, kSnapshot, 5}, {job.id, kProgress, 6}}));
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
  EXPECT_EQ(sink.written(), (std::vector<Written>{{a.id, kStateChanged, 2},
                                                  {a.id, kStateChanged, 3},
                                                  {a.id, kStateChanged, 5}}));
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
  EXPECT_EQ(sink.written(),
            (std::vector<Written>{{a.id, kStateChanged, 2}, {a.id, kProgress, 3}}));
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
  Apply(store_, a.id, Progress(1));                       // a 3: never published here
  const Job at4 = Apply(store_, a.id, Progress(2));       // a 4
  bus_.Publish({{BusEventOf(at4, kProgress, JobState::kRunning)}});
  ASSERT_TRUE(WaitFor([&] { return sink.size() == 2; }));
  Apply(publishing_, a.id, Progress(3));                  // a 5
  ASSERT_TRUE(WaitFor([&] { return sink.size() >= 3; }));
  watch->Cancel();
  ExpectEnd(sink, absl::StatusCode::kCancelled);
  EXPECT_EQ(sink.written(), (std::vector<Written>{{a.id, kStateChanged, 2},
                                                  {a.id, kSnapshot, 4},
                                                  {a.id, kProgress, 5}}));
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

}  // namespace
}  // namespace jobd::core
