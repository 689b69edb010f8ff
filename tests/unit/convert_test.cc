// ToProto of a job event (server/api/convert.cc): the event's own fields over the job now,
// and the result only on the events of the write that set it (the terminal event and the
// messages that follow it), never on earlier ones.
#include "server/api/convert.h"

#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "db/model/job.h"

namespace jobd::api {
namespace {

// A job finished by CompleteJob with two messages: RUNNING at 2, SUCCEEDED at 3 (n + 1),
// MESSAGE at 4 and 5; the job now is at 5 (n + 3) with its result.
constexpr int64_t kN = 2;

Job FinishedJob() {
  Job job;
  job.id = "0190f3a6-7d3c-7b1e-9a4f-2c8d5e6f7a81";
  job.workspace_id = "ws1";
  job.type = "email";
  job.state = JobState::kSucceeded;
  job.result_json = R"({"rows":3})";
  job.create_time = absl::FromUnixSeconds(1700000000);
  job.update_time = job.create_time + absl::Seconds(30);
  job.start_time = job.create_time + absl::Seconds(1);
  job.finish_time = job.update_time;
  job.run_after = job.create_time;
  job.sequence = kN + 3;
  return job;
}

JobEvent EventAt(const Job& job, int64_t sequence, EventKind kind, JobState state) {
  JobEvent event;
  event.job_id = job.id;
  event.sequence = sequence;
  event.time = job.create_time + absl::Seconds(sequence);
  event.kind = kind;
  event.state = state;
  if (kind == EventKind::kMessage) event.message = JobMessage{MessageLevel::kInfo, "done"};
  return event;
}

v1::JobEvent Convert(const JobEvent& event, const Job& job) {
  v1::JobEvent out;
  ToProto(event, job, absl::Now(), &out);
  return out;
}

TEST(ConvertJobEvent, TerminalEventBeforeTheJobsLatestSequenceKeepsTheResult) {
  const Job job = FinishedJob();
  const v1::JobEvent out =
      Convert(EventAt(job, kN + 1, EventKind::kStateChanged, JobState::kSucceeded), job);
  EXPECT_EQ(out.sequence(), kN + 1);
  EXPECT_EQ(out.job().sequence(), kN + 1);
  EXPECT_EQ(out.job().state(), v1::JOB_STATE_SUCCEEDED);
  ASSERT_TRUE(out.job().has_result()) << "the terminal write set the result";
  ASSERT_EQ(out.job().result().fields().count("rows"), 1u);
  EXPECT_EQ(out.job().result().fields().at("rows").number_value(), 3);
}

TEST(ConvertJobEvent, MessagesOfTheTerminalWriteKeepTheResult) {
  const Job job = FinishedJob();
  const v1::JobEvent out =
      Convert(EventAt(job, kN + 2, EventKind::kMessage, JobState::kSucceeded), job);
  EXPECT_EQ(out.job().sequence(), kN + 2);
  EXPECT_TRUE(out.job().has_result());
  EXPECT_EQ(out.message().text(), "done");
  const v1::JobEvent latest =
      Convert(EventAt(job, kN + 3, EventKind::kMessage, JobState::kSucceeded), job);
  EXPECT_TRUE(latest.job().has_result());
}

TEST(ConvertJobEvent, EarlierEventHasNoResult) {
  const Job job = FinishedJob();
  const v1::JobEvent out =
      Convert(EventAt(job, kN, EventKind::kStateChanged, JobState::kRunning), job);
  EXPECT_EQ(out.job().sequence(), kN);
  EXPECT_EQ(out.job().state(), v1::JOB_STATE_RUNNING);
  EXPECT_FALSE(out.job().has_result()) << "the result came later";
}

}  // namespace
}  // namespace jobd::api
