// The resumable watch of the client library: the sequence rules, and the reconnecting stream
// loop over scripted streams (with a fake clock): every event once, in order, resumed after
// the last one handed on, with backoff and a give-up time.
#include "client/resumable_watch.h"

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "tests/unit/job_event_builders.h"

namespace jobd::client {
namespace {

using test_events::Event;
using test_events::Job;
using test_events::kNow;
using test_events::Message;
using test_events::Progress;

using ::testing::ElementsAre;

// What the tests compare: `#5 RUNNING 10%`, `#3 RUNNING 10% (snapshot)`, `#6 INFO "hi"`.
std::string Line(const v1::JobEvent& event) {
  if (event.kind() == v1::JOB_EVENT_KIND_MESSAGE) {
    return absl::StrCat(
        "#", event.sequence(), " ",
        absl::StripPrefix(v1::MessageLevel_Name(event.message().level()), "MESSAGE_LEVEL_"), " \"",
        event.message().text(), "\"");
  }
  return absl::StrCat("#", event.sequence(), " ",
                      absl::StripPrefix(v1::JobState_Name(event.job().state()), "JOB_STATE_"), " ",
                      event.job().progress_percent(), "%",
                      event.kind() == v1::JOB_EVENT_KIND_SNAPSHOT ? " (snapshot)" : "");
}

TEST(IsTerminal, OnlyTheEndStates) {
  EXPECT_TRUE(IsTerminal(v1::JOB_STATE_SUCCEEDED));
  EXPECT_TRUE(IsTerminal(v1::JOB_STATE_FAILED));
  EXPECT_TRUE(IsTerminal(v1::JOB_STATE_CANCELLED));
  EXPECT_FALSE(IsTerminal(v1::JOB_STATE_RUNNING));
  EXPECT_FALSE(IsTerminal(v1::JOB_STATE_SCHEDULED));
  EXPECT_FALSE(IsTerminal(v1::JOB_STATE_UNSPECIFIED));
}

TEST(IsReconnectable, ConnectionLossOnly) {
  EXPECT_TRUE(IsReconnectable(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(IsReconnectable(absl::StatusCode::kCancelled));
  EXPECT_TRUE(IsReconnectable(absl::StatusCode::kInternal));
  EXPECT_TRUE(IsReconnectable(absl::StatusCode::kUnknown));
  EXPECT_FALSE(IsReconnectable(absl::StatusCode::kNotFound));
  EXPECT_FALSE(IsReconnectable(absl::StatusCode::kInvalidArgument));
  EXPECT_FALSE(IsReconnectable(absl::StatusCode::kPermissionDenied));
  EXPECT_FALSE(IsReconnectable(absl::StatusCode::kDeadlineExceeded));
}

// ---- ordering ------------------------------------------------------------------------------

TEST(EventSequencer, DropsRepeatsAndFlagsGaps) {
  using V = EventSequencer::Verdict;
  EventSequencer s;
  EXPECT_EQ(s.Accept(Event(3, v1::JOB_EVENT_KIND_SNAPSHOT, Job(v1::JOB_STATE_RUNNING, 0))),
            V::kNext);
  EXPECT_EQ(s.Accept(Progress(4)), V::kNext);
  EXPECT_EQ(s.Accept(Progress(4)), V::kDuplicate);
  EXPECT_EQ(s.Accept(Progress(2)), V::kDuplicate);
  EXPECT_EQ(s.Accept(Progress(6)), V::kGap);
  EXPECT_EQ(s.last(), 6);
  EXPECT_EQ(s.Accept(Progress(7)), V::kNext);
  // A SNAPSHOT may jump (retention deleted what was missed); an old one is a repeat.
  EXPECT_EQ(s.Accept(Event(20, v1::JOB_EVENT_KIND_SNAPSHOT, Job(v1::JOB_STATE_RUNNING, 0))),
            V::kNext);
  EXPECT_EQ(s.Accept(Event(20, v1::JOB_EVENT_KIND_SNAPSHOT, Job(v1::JOB_STATE_RUNNING, 0))),
            V::kDuplicate);
}

TEST(EventSequencer, StartsAfterTheGivenSequence) {
  using V = EventSequencer::Verdict;
  EventSequencer s(5);
  EXPECT_EQ(s.Accept(Progress(5)), V::kDuplicate);
  EXPECT_EQ(s.Accept(Progress(7)), V::kGap);

  EventSequencer from_zero(0);
  EXPECT_EQ(from_zero.Accept(Progress(1)), V::kNext);
}

// Bounded history: a progress event that folded the ones before it follows on from them.
TEST(EventSequencer, AFoldedProgressEventIsNoGap) {
  using V = EventSequencer::Verdict;
  EventSequencer s(5);
  v1::JobEvent folded = Progress(9);
  folded.set_folded_progress_events(3);  // stands for 6..8
  EXPECT_EQ(s.Accept(folded), V::kNext);
  folded = Progress(12);
  folded.set_folded_progress_events(1);  // stands for 11 only: 10 is missing
  EXPECT_EQ(s.Accept(folded), V::kGap);
}

// ---- the stream loop -----------------------------------------------------------------------

struct Script {
  std::vector<v1::JobEvent> events;
  absl::Status end;
};

class ScriptedStream : public EventStream {
 public:
  explicit ScriptedStream(Script script) : script_(std::move(script)) {}
  bool Read(v1::JobEvent* event) override {
    if (next_ == script_.events.size()) return false;
    *event = script_.events[next_++];
    return true;
  }
  absl::Status Finish() override { return script_.end; }

 private:
  Script script_;
  size_t next_ = 0;
};

// Plays the scripted streams in order (the last one again when they run out), records the
// requests, and writes each event as a line (Line); sleeping moves a fake clock.
class WatchHarness {
 public:
  explicit WatchHarness(std::vector<Script> scripts) : scripts_(scripts.begin(), scripts.end()) {}

  WatchOutcome Run(WatchOptions options) {
    options.job_id = "j1";
    WatchHooks hooks;
    hooks.on_event = [this](const v1::JobEvent& e) { lines.push_back(Line(e)); };
    hooks.on_warning = [this](const std::string& w) { warnings.push_back(w); };
    hooks.now = [this] { return clock_; };
    hooks.sleep = [this](absl::Duration d) {
      sleeps.push_back(d);
      clock_ += d;
    };
    return WatchJobEvents(
        [this](const v1::WatchJobRequest& request) {
          requests.push_back(request.has_after_sequence()
                                 ? absl::StrCat("after ", request.after_sequence())
                                 : "snapshot");
          Script script = scripts_.front();
          if (scripts_.size() > 1) scripts_.pop_front();
          return std::make_unique<ScriptedStream>(script);
        },
        options, hooks);
  }

  std::vector<std::string> lines;
  std::vector<std::string> warnings;
  std::vector<std::string> requests;
  std::vector<absl::Duration> sleeps;

 private:
  std::deque<Script> scripts_;
  absl::Time clock_ = kNow;
};

v1::JobEvent Snapshot(int64_t sequence, v1::JobState state = v1::JOB_STATE_RUNNING) {
  return Event(sequence, v1::JOB_EVENT_KIND_SNAPSHOT, Job(state, 10));
}

const absl::Status kDropped = absl::UnavailableError("Socket closed");

TEST(WatchJobEvents, EndsWithTheTerminalEvent) {
  WatchHarness h({{{Snapshot(3), Progress(4), Progress(5, v1::JOB_STATE_SUCCEEDED)}, {}}});
  WatchOutcome outcome = h.Run({});
  EXPECT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(outcome.final_state, v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(outcome.last_sequence, 5);
  EXPECT_THAT(h.lines,
              ElementsAre("#3 RUNNING 10% (snapshot)", "#4 RUNNING 10%", "#5 SUCCEEDED 10%"));
  EXPECT_THAT(h.requests, ElementsAre("snapshot"));
  EXPECT_TRUE(h.warnings.empty());
}

TEST(WatchJobEvents, ResumesAfterTheLastShownAndShowsNothingTwice) {
  WatchHarness h({
      {{Snapshot(3), Progress(4), Progress(5)}, kDropped},
      // The new server repeats #5: dropped.
      {{Progress(5), Message(6, v1::MESSAGE_LEVEL_INFO, "hi"), Progress(7, v1::JOB_STATE_FAILED)},
       absl::OkStatus()},
  });
  WatchOutcome outcome = h.Run({});
  EXPECT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(outcome.final_state, v1::JOB_STATE_FAILED);
  EXPECT_THAT(h.lines, ElementsAre("#3 RUNNING 10% (snapshot)", "#4 RUNNING 10%", "#5 RUNNING 10%",
                                   R"(#6 INFO "hi")", "#7 FAILED 10%"));
  EXPECT_THAT(h.requests, ElementsAre("snapshot", "after 5"));
  EXPECT_THAT(h.warnings,
              ElementsAre("connection lost (UNAVAILABLE: Socket closed); reconnecting after #5"));
  EXPECT_THAT(h.sleeps, ElementsAre(absl::Milliseconds(100)));
}

TEST(WatchJobEvents, StartsAfterTheGivenSequence) {
  WatchOptions options;
  options.after_sequence = 0;
  WatchHarness h({{{Progress(1), Progress(2, v1::JOB_STATE_CANCELLED)}, {}}});
  WatchOutcome outcome = h.Run(options);
  EXPECT_TRUE(outcome.status.ok());
  EXPECT_EQ(outcome.final_state, v1::JOB_STATE_CANCELLED);
  EXPECT_THAT(h.requests, ElementsAre("after 0"));
  EXPECT_THAT(h.lines, ElementsAre("#1 RUNNING 10%", "#2 CANCELLED 10%"));
}

TEST(WatchJobEvents, AfterTheLastEventOfAFinishedJobAsksHowItEnded) {
  WatchOptions options;
  options.after_sequence = 5;
  // Nothing after #5 and the stream ends: the job had ended. Its SNAPSHOT (#5) is a repeat.
  WatchHarness h({{{}, absl::OkStatus()}, {{Snapshot(5, v1::JOB_STATE_FAILED)}, {}}});
  WatchOutcome outcome = h.Run(options);
  EXPECT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(outcome.final_state, v1::JOB_STATE_FAILED);
  EXPECT_THAT(h.requests, ElementsAre("after 5", "snapshot"));
  EXPECT_TRUE(h.lines.empty());
  EXPECT_TRUE(h.warnings.empty());
  EXPECT_TRUE(h.sleeps.empty());
}

TEST(WatchJobEvents, ASnapshotAfterAnEmptyEndIsShownWhenItIsNew) {
  WatchOptions options;
  options.after_sequence = 5;
  WatchHarness h({{{}, absl::OkStatus()}, {{Snapshot(7, v1::JOB_STATE_SUCCEEDED)}, {}}});
  WatchOutcome outcome = h.Run(options);
  EXPECT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(outcome.final_state, v1::JOB_STATE_SUCCEEDED);
  EXPECT_THAT(h.lines, ElementsAre("#7 SUCCEEDED 10% (snapshot)"));
}

TEST(WatchJobEvents, WarnsAboutAGapAndStillShowsTheEvent) {
  WatchHarness h({{{Snapshot(3), Progress(4), Progress(7, v1::JOB_STATE_SUCCEEDED)}, {}}});
  WatchOutcome outcome = h.Run({});
  EXPECT_TRUE(outcome.status.ok());
  EXPECT_THAT(h.lines,
              ElementsAre("#3 RUNNING 10% (snapshot)", "#4 RUNNING 10%", "#7 SUCCEEDED 10%"));
  EXPECT_THAT(h.warnings,
              ElementsAre("warning: event #7 came after #4: the server skipped #5..#6"));
}

TEST(WatchJobEvents, MessagesAfterTheTerminalEventKeepTheFinalState) {
  v1::JobEvent bare_message;  // no job: must not turn the final state into UNSPECIFIED
  bare_message.set_sequence(4);
  bare_message.set_kind(v1::JOB_EVENT_KIND_MESSAGE);
  bare_message.mutable_message()->set_level(v1::MESSAGE_LEVEL_INFO);
  bare_message.mutable_message()->set_text("bye");
  WatchHarness h({{{Snapshot(2), Progress(3, v1::JOB_STATE_SUCCEEDED), bare_message}, {}}});
  WatchOutcome outcome = h.Run({});
  EXPECT_TRUE(outcome.status.ok());
  EXPECT_EQ(outcome.final_state, v1::JOB_STATE_SUCCEEDED);
  EXPECT_THAT(h.lines,
              ElementsAre("#2 RUNNING 10% (snapshot)", "#3 SUCCEEDED 10%", R"(#4 INFO "bye")"));
}

TEST(WatchJobEvents, AServerErrorEndsTheWatch) {
  WatchHarness h({{{}, absl::NotFoundError("job j1 not found")}});
  WatchOutcome outcome = h.Run({});
  EXPECT_EQ(outcome.status, absl::NotFoundError("job j1 not found"));
  EXPECT_THAT(h.requests, ElementsAre("snapshot"));
  EXPECT_TRUE(h.lines.empty());
}

TEST(WatchJobEvents, AServerErrorAfterAReconnectEndsTheWatch) {
  WatchHarness h({{{Snapshot(3)}, kDropped}, {{}, absl::NotFoundError("gone")}});
  WatchOutcome outcome = h.Run({});
  EXPECT_EQ(outcome.status, absl::NotFoundError("gone"));
  EXPECT_THAT(h.requests, ElementsAre("snapshot", "after 3"));
  EXPECT_EQ(outcome.final_state, v1::JOB_STATE_RUNNING);
}

TEST(WatchJobEvents, AFirstCallThatCannotConnectFailsAtOnceUnlessAsked) {
  WatchHarness fail_fast({{{}, kDropped}});
  EXPECT_EQ(fail_fast.Run({}).status, kDropped);
  EXPECT_THAT(fail_fast.requests, ElementsAre("snapshot"));

  WatchOptions options;
  options.reconnect_before_first_event = true;
  WatchHarness patient({{{}, kDropped}, {{Snapshot(2), Progress(3, v1::JOB_STATE_SUCCEEDED)}, {}}});
  WatchOutcome outcome = patient.Run(options);
  EXPECT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_THAT(patient.requests, ElementsAre("snapshot", "snapshot"));
  EXPECT_THAT(patient.warnings,
              ElementsAre("connection lost (UNAVAILABLE: Socket closed); reconnecting"));
}

TEST(WatchJobEvents, BacksOffAndGivesUpAfterTheReconnectTimeout) {
  WatchOptions options;
  options.reconnect_timeout = absl::Seconds(1);
  WatchHarness h({{{Snapshot(3)}, kDropped}, {{}, kDropped}});
  WatchOutcome outcome = h.Run(options);
  EXPECT_EQ(outcome.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(outcome.status.message(), "gave up reconnecting after 1s: Socket closed");
  // Failing since t=0: retries at 0.1, 0.3, 0.7, 1.5 s; the one at 1.5 s is past the limit.
  EXPECT_THAT(h.sleeps, ElementsAre(absl::Milliseconds(100), absl::Milliseconds(200),
                                    absl::Milliseconds(400), absl::Milliseconds(800)));
  EXPECT_THAT(h.requests, ElementsAre("snapshot", "after 3", "after 3", "after 3", "after 3"));
  EXPECT_EQ(h.warnings.size(), 1u);  // one notice per outage, not per attempt
}

TEST(WatchJobEvents, BackoffIsCappedAtTwoSeconds) {
  WatchOptions options;
  options.reconnect_timeout = absl::Seconds(7);
  WatchHarness h({{{Snapshot(3)}, kDropped}, {{}, kDropped}});
  h.Run(options);
  EXPECT_THAT(h.sleeps, ElementsAre(absl::Milliseconds(100), absl::Milliseconds(200),
                                    absl::Milliseconds(400), absl::Milliseconds(800),
                                    absl::Milliseconds(1600), absl::Seconds(2), absl::Seconds(2)));
}

TEST(WatchJobEvents, NewEventsResetTheBackoffAndTheTimeout) {
  WatchOptions options;
  options.reconnect_timeout = absl::Milliseconds(250);
  WatchHarness h({
      {{Snapshot(1)}, kDropped},
      {{}, kDropped},
      {{Progress(2)}, absl::InternalError("RST_STREAM")},  // new event: a fresh outage follows
      {{}, absl::UnknownError("?")},
      {{Progress(3, v1::JOB_STATE_SUCCEEDED)}, {}},
  });
  WatchOutcome outcome = h.Run(options);
  EXPECT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_THAT(h.sleeps, ElementsAre(absl::Milliseconds(100), absl::Milliseconds(200),
                                    absl::Milliseconds(100), absl::Milliseconds(200)));
  EXPECT_THAT(h.requests, ElementsAre("snapshot", "after 1", "after 1", "after 2", "after 2"));
  EXPECT_THAT(h.warnings,
              ElementsAre("connection lost (UNAVAILABLE: Socket closed); reconnecting after #1",
                          "connection lost (INTERNAL: RST_STREAM); reconnecting after #2"));
  EXPECT_THAT(h.lines,
              ElementsAre("#1 RUNNING 10% (snapshot)", "#2 RUNNING 10%", "#3 SUCCEEDED 10%"));
}

TEST(WatchJobEvents, AStreamThatEndsBeforeTheJobIsResumed) {
  WatchHarness h({{{Snapshot(3)}, absl::OkStatus()},
                  {{Progress(4, v1::JOB_STATE_SUCCEEDED)}, absl::OkStatus()}});
  WatchOutcome outcome = h.Run({});
  EXPECT_TRUE(outcome.status.ok());
  EXPECT_THAT(h.requests, ElementsAre("snapshot", "after 3"));
  EXPECT_THAT(h.warnings, ElementsAre("connection lost (UNAVAILABLE: the stream ended before "
                                      "the job did); reconnecting after #3"));
}

}  // namespace
}  // namespace jobd::client
