// `jobctl watch`: rendering (lines, messages, bar, JSON), the printer and the exit codes. The
// stream loop it shows is the library's: tests/unit/resumable_watch_test.cc.
#include <cstdio>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "client/jobctl/args.h"
#include "client/jobctl/output.h"
#include "client/jobctl/watch.h"
#include "tests/unit/job_event_builders.h"

namespace jobd::jobctl {
namespace {

using test_events::Event;
using test_events::Job;
using test_events::kNow;
using test_events::Message;
using test_events::Progress;

using ::testing::HasSubstr;
using ::testing::StartsWith;

using test_events::At;

// ---- rendering -----------------------------------------------------------------------------

TEST(FormatPercent, WholeOrOneDecimal) {
  EXPECT_EQ(FormatPercent(0), "0");
  EXPECT_EQ(FormatPercent(40), "40");
  EXPECT_EQ(FormatPercent(42.5f), "42.5");
  EXPECT_EQ(FormatPercent(33.333f), "33.3");
  EXPECT_EQ(FormatPercent(66.66f), "66.7");
  EXPECT_EQ(FormatPercent(0.04f), "0");
  EXPECT_EQ(FormatPercent(100), "100");
}

TEST(FormatPercent, NeverRoundsUpToDoneAndClamps) {
  EXPECT_EQ(FormatPercent(99.96f), "99.9");
  EXPECT_EQ(FormatPercent(99.99f), "99.9");
  EXPECT_EQ(FormatPercent(150), "100");
  EXPECT_EQ(FormatPercent(-5), "0");
}

TEST(FormatElapsed, SecondsMinutesHours) {
  EXPECT_EQ(FormatElapsed(absl::ZeroDuration()), "0s");
  EXPECT_EQ(FormatElapsed(absl::Milliseconds(999)), "0s");
  EXPECT_EQ(FormatElapsed(absl::Seconds(59)), "59s");
  EXPECT_EQ(FormatElapsed(absl::Seconds(60)), "1m00s");
  EXPECT_EQ(FormatElapsed(absl::Seconds(65)), "1m05s");
  EXPECT_EQ(FormatElapsed(absl::Seconds(3599)), "59m59s");
  EXPECT_EQ(FormatElapsed(absl::Hours(1)), "1h00m");
  EXPECT_EQ(FormatElapsed(absl::Hours(2) + absl::Minutes(3) + absl::Seconds(59)), "2h03m");
  EXPECT_EQ(FormatElapsed(absl::Hours(26)), "26h00m");
  EXPECT_EQ(FormatElapsed(-absl::Seconds(5)), "0s");
}

TEST(LevelName, StripsThePrefix) {
  EXPECT_EQ(LevelName(v1::MESSAGE_LEVEL_INFO), "INFO");
  EXPECT_EQ(LevelName(v1::MESSAGE_LEVEL_WARNING), "WARNING");
  EXPECT_EQ(LevelName(v1::MESSAGE_LEVEL_ERROR), "ERROR");
}

TEST(FormatEventLine, RunningWithAttemptElapsedAndEta) {
  v1::Job job = Job(v1::JOB_STATE_RUNNING, 40, "copying");
  job.set_attempt(2);
  *job.mutable_create_time() = At(kNow - absl::Hours(1));
  *job.mutable_start_time() = At(kNow - absl::Seconds(65));
  *job.mutable_estimated_finish_time() = At(kNow + absl::Seconds(30));
  v1::JobEvent event = Event(5, v1::JOB_EVENT_KIND_PROGRESS, job);
  *event.mutable_time() = At(kNow);
  // `now` is for events without a time; this one has one.
  EXPECT_EQ(FormatEventLine(event, kNow + absl::Hours(5)),
            R"(#5 RUNNING 40% "copying" attempt 2 elapsed 1m05s eta 30s)");
  event.set_folded_progress_events(3);  // bounded history: stands for #2..#4
  EXPECT_EQ(FormatEventLine(event, kNow),
            R"(#5 RUNNING 40% "copying" attempt 2 elapsed 1m05s eta 30s (3 earlier folded in))");
}

TEST(FormatEventLine, QueuedCountsFromCreateTimeAndUsesNowWithoutEventTime) {
  v1::Job job = Job(v1::JOB_STATE_QUEUED, 0);
  *job.mutable_create_time() = At(kNow - absl::Seconds(3));
  EXPECT_EQ(FormatEventLine(Event(1, v1::JOB_EVENT_KIND_CREATED, job), kNow),
            "#1 QUEUED 0% elapsed 3s");
}

TEST(FormatEventLine, WithoutTimesThereIsNoElapsed) {
  EXPECT_EQ(FormatEventLine(
                Event(2, v1::JOB_EVENT_KIND_PROGRESS, Job(v1::JOB_STATE_RUNNING, 42.5f)), kNow),
            "#2 RUNNING 42.5%");
}

TEST(FormatEventLine, FinishedRunsToFinishTimeWithErrorAndNoEta) {
  v1::Job job = Job(v1::JOB_STATE_FAILED, 50, "half");
  *job.mutable_start_time() = At(kNow - absl::Seconds(10));
  *job.mutable_finish_time() = At(kNow - absl::Seconds(7));
  *job.mutable_estimated_finish_time() = At(kNow + absl::Seconds(30));
  job.set_error_message("exit code 4; stderr:\nbad \"input\"");
  v1::JobEvent event = Event(9, v1::JOB_EVENT_KIND_STATE_CHANGED, job);
  *event.mutable_time() = At(kNow);
  EXPECT_EQ(FormatEventLine(event, kNow),
            R"(#9 FAILED 50% "half" elapsed 3s error "exit code 4; stderr:\nbad \"input\"")");
}

TEST(FormatEventLine, ErrorOnlyWhileItIsNews) {
  v1::Job job = Job(v1::JOB_STATE_RUNNING, 0);
  job.set_error_message("worker w1 lost");
  job.set_attempt(2);
  EXPECT_EQ(FormatEventLine(Event(4, v1::JOB_EVENT_KIND_STATE_CHANGED, job), kNow),
            "#4 RUNNING 0% attempt 2");
  job.set_state(v1::JOB_STATE_SCHEDULED);
  EXPECT_EQ(FormatEventLine(Event(3, v1::JOB_EVENT_KIND_STATE_CHANGED, job), kNow),
            R"(#3 SCHEDULED 0% attempt 2 error "worker w1 lost")");
  job.set_state(v1::JOB_STATE_CANCELLED);
  job.set_error_message("not today");
  EXPECT_EQ(FormatEventLine(Event(5, v1::JOB_EVENT_KIND_STATE_CHANGED, job), kNow),
            R"(#5 CANCELLED 0% attempt 2 error "not today")");
}

TEST(FormatEventLine, SnapshotIsMarked) {
  EXPECT_EQ(
      FormatEventLine(
          Event(4, v1::JOB_EVENT_KIND_SNAPSHOT, Job(v1::JOB_STATE_SUCCEEDED, 100, "done")), kNow),
      R"(#4 SUCCEEDED 100% "done" (snapshot))");
}

TEST(FormatEventLine, MessageWithLevelAndEscapedText) {
  EXPECT_EQ(FormatEventLine(Message(6, v1::MESSAGE_LEVEL_WARNING, "disk almost full"), kNow),
            R"(#6 WARNING "disk almost full")");
  EXPECT_EQ(FormatEventLine(Message(7, v1::MESSAGE_LEVEL_INFO, "a\tb\\c\x1b[2J\r"), kNow),
            R"(#7 INFO "a\tb\\c\x1b[2J\r")");
  EXPECT_EQ(FormatEventLine(Message(8, v1::MESSAGE_LEVEL_ERROR, "größe"), kNow),
            R"(#8 ERROR "größe")");
}

TEST(FormatMessageLine, LevelAndTextWithControlsEscaped) {
  v1::JobMessage message;
  message.set_level(v1::MESSAGE_LEVEL_ERROR);
  message.set_text("two\nlines \"quoted\"");
  EXPECT_EQ(FormatMessageLine(message), R"(ERROR two\nlines "quoted")");
}

TEST(FormatBar, PercentMessageElapsedEta) {
  v1::Job job = Job(v1::JOB_STATE_RUNNING, 40, "copying");
  *job.mutable_start_time() = At(kNow - absl::Seconds(65));
  *job.mutable_estimated_finish_time() = At(kNow + absl::Seconds(30));
  EXPECT_EQ(FormatBar(job, kNow, 80),
            "RUNNING [########............]  40% copying  elapsed 1m05s  eta 30s");
}

TEST(FormatBar, EmptyFullAndFractional) {
  v1::Job queued = Job(v1::JOB_STATE_QUEUED, 0);
  *queued.mutable_create_time() = At(kNow - absl::Seconds(2));
  EXPECT_EQ(FormatBar(queued, kNow, 80), "QUEUED [....................]   0%  elapsed 2s");

  v1::Job done = Job(v1::JOB_STATE_SUCCEEDED, 100, "done");
  *done.mutable_start_time() = At(kNow - absl::Minutes(3));
  *done.mutable_finish_time() = At(kNow - absl::Minutes(1));
  *done.mutable_estimated_finish_time() = At(kNow);
  EXPECT_EQ(FormatBar(done, kNow, 80), "SUCCEEDED [####################] 100% done  elapsed 2m00s");

  EXPECT_EQ(FormatBar(Job(v1::JOB_STATE_RUNNING, 42.5f), kNow, 80),
            "RUNNING [########............] 42.5%");
}

TEST(FormatBar, EtaInThePastIsZero) {
  v1::Job job = Job(v1::JOB_STATE_RUNNING, 90);
  *job.mutable_estimated_finish_time() = At(kNow - absl::Seconds(5));
  EXPECT_EQ(FormatBar(job, kNow, 80), "RUNNING [##################..]  90%  eta 0s");
}

TEST(FormatBar, CutsTheMessageFirstAndStaysBelowTheWidth) {
  v1::Job job = Job(v1::JOB_STATE_RUNNING, 40, "copying files from a to b");
  *job.mutable_start_time() = At(kNow - absl::Seconds(65));
  *job.mutable_estimated_finish_time() = At(kNow + absl::Seconds(30));
  // 69 columns: 35 before the message, 24 after, 1 space: 9 for the message.
  EXPECT_EQ(FormatBar(job, kNow, 70),
            "RUNNING [########............]  40% copyin...  elapsed 1m05s  eta 30s");
  // Too narrow for a message of 4 columns: it goes, then the line itself is cut.
  EXPECT_EQ(FormatBar(job, kNow, 62),
            "RUNNING [########............]  40%  elapsed 1m05s  eta 30s");
  EXPECT_EQ(FormatBar(job, kNow, 50), "RUNNING [########............]  40%  elapsed 1...");
  // Never narrower than 20 columns.
  EXPECT_EQ(FormatBar(job, kNow, 5), "RUNNING [#######...");
}

TEST(FormatBar, CutsUtf8OnCharacterBoundaries) {
  v1::Job job = Job(v1::JOB_STATE_RUNNING, 0, "äöüäöüäöüäöüäöü");
  // 39 columns: 35 before the message, 1 space: 3 + "..." does not fit, 4 does: "ä...".
  EXPECT_EQ(FormatBar(job, kNow, 41), "RUNNING [....................]   0% ä...");
  EXPECT_EQ(FormatBar(job, kNow, 52), "RUNNING [....................]   0% äöüäöüäöüäöüäöü");
}

TEST(FormatJsonLine, OneLineWithProtoNamesAndDefaults) {
  absl::StatusOr<std::string> json =
      FormatJsonLine(Message(6, v1::MESSAGE_LEVEL_WARNING, "two\nlines"));
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(json->find('\n'), std::string::npos) << *json;
  EXPECT_THAT(*json, StartsWith(R"({"job_id":"j1","sequence":"6",)"));
  EXPECT_THAT(*json, HasSubstr(R"("kind":"JOB_EVENT_KIND_MESSAGE")"));
  EXPECT_THAT(*json,
              HasSubstr(R"("message":{"level":"MESSAGE_LEVEL_WARNING","text":"two\nlines"})"));
  EXPECT_THAT(*json, HasSubstr(R"("error_message":"")"));  // defaults are printed
}

TEST(ExitCodeForFinalState, ZeroOnlyOnSuccess) {
  EXPECT_EQ(ExitCodeForFinalState(v1::JOB_STATE_SUCCEEDED), 0);
  EXPECT_EQ(ExitCodeForFinalState(v1::JOB_STATE_FAILED), 1);
  EXPECT_EQ(ExitCodeForFinalState(v1::JOB_STATE_CANCELLED), 1);
  EXPECT_EQ(ExitCodeForFinalState(v1::JOB_STATE_RUNNING), 1);
}

// ---- the printer ---------------------------------------------------------------------------

std::string Printed(WatchDisplay display, const std::vector<v1::JobEvent>& events) {
  FILE* out = std::tmpfile();
  {
    WatchPrinter printer(display, out);
    for (const v1::JobEvent& e : events) printer.Event(e);
  }
  std::rewind(out);
  std::string text;
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof buffer, out)) text.append(buffer, n);
  std::fclose(out);
  return text;
}

TEST(WatchPrinter, LinesAndJsonAreOnePerEvent) {
  const std::vector<v1::JobEvent> events = {Progress(1),
                                            Message(2, v1::MESSAGE_LEVEL_ERROR, "bad")};
  EXPECT_EQ(Printed(WatchDisplay::kLines, events), "#1 RUNNING 10%\n#2 ERROR \"bad\"\n");
  const std::string json = Printed(WatchDisplay::kJson, events);
  EXPECT_EQ(std::count(json.begin(), json.end(), '\n'), 2) << json;
  EXPECT_THAT(json, StartsWith(R"({"job_id":"j1","sequence":"1",)"));
  EXPECT_EQ(Printed(WatchDisplay::kNone, events), "");
}

TEST(WatchPrinter, BarRedrawsInPlaceWithMessagesAbove) {
  const std::vector<v1::JobEvent> events = {
      Progress(1), Message(2, v1::MESSAGE_LEVEL_WARNING, "careful"),
      Event(3, v1::JOB_EVENT_KIND_STATE_CHANGED, Job(v1::JOB_STATE_SUCCEEDED, 100))};
  const std::string clear = "\r\033[K";
  const std::string bar10 = "RUNNING [##..................]  10%";
  const std::string done = "SUCCEEDED [####################] 100%";
  // (A ticker redraw after a second would repeat the same bar; the test takes far less.)
  EXPECT_EQ(Printed(WatchDisplay::kBar, events),
            clear + bar10 +                                    // #1
                clear + "WARNING careful\n" + clear + bar10 +  // #2: above the bar
                clear + done +                                 // #3
                clear + done + "\n");                          // Finish
}

}  // namespace
}  // namespace jobd::jobctl
