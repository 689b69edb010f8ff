// Checkpoints: a worker saves where it has got to with a progress report; GetJob shows it,
// the next attempt gets it with its lease, lists leave it out, and an oversized one is
// refused naming the field and changes nothing.
#include "absl/strings/match.h"
#include "tests/e2e/worker_fixture.h"

namespace jobd::testing {
namespace {

using grpc::StatusCode;

::testing::AssertionResult Holds(const v1::Job& job, const std::string& json) {
  if (!job.has_checkpoint()) return ::testing::AssertionFailure() << "no checkpoint";
  return SameJson(job.checkpoint(), json);
}

class CheckpointTest : public WorkerTest {
 protected:
  grpc::Status Save(const v1::LeasedJob& leased, const std::string& json, float percent) {
    v1::ReportProgressRequest request;
    request.set_job_id(leased.job().id());
    request.set_lease_token(leased.lease_token());
    request.set_progress_percent(percent);
    if (!json.empty()) *request.mutable_checkpoint() = JsonStruct(json);
    v1::ReportProgressResponse response;
    return workers_->ReportProgress(Ctx().get(), request, &response);
  }
};

TEST_F(CheckpointTest, TheNextAttemptResumesFromTheLastCheckpoint) {
  const v1::Job created = Create("t", /*max_attempts=*/3, /*backoff_ms=*/1);
  EXPECT_FALSE(created.has_checkpoint());
  v1::AcquireJobsResponse first;
  ASSERT_TRUE(Acquire(*workers_, "w1", &first).ok());
  ASSERT_EQ(first.jobs_size(), 1);
  EXPECT_FALSE(first.jobs(0).job().has_checkpoint());
  ASSERT_TRUE(Save(first.jobs(0), R"({"page": 3, "cursor": "c3"})", 30).ok());
  EXPECT_TRUE(Holds(Get(created.id()), R"({"page": 3, "cursor": "c3"})"));
  // A report without one keeps it.
  ASSERT_TRUE(Save(first.jobs(0), "", 35).ok());
  EXPECT_TRUE(Holds(Get(created.id()), R"({"page": 3, "cursor": "c3"})"));
  // Lists leave it out.
  v1::ListJobsRequest list;
  list.set_workspace_id("demo");
  list.set_view(v1::JOB_VIEW_FULL);
  v1::ListJobsResponse listed;
  ASSERT_TRUE(jobs_->ListJobs(Ctx().get(), list, &listed).ok());
  ASSERT_EQ(listed.jobs_size(), 1);
  EXPECT_FALSE(listed.jobs(0).has_checkpoint());

  // The attempt fails; the next one is handed the checkpoint with its lease.
  v1::FailJobRequest fail;
  fail.set_job_id(created.id());
  fail.set_lease_token(first.jobs(0).lease_token());
  fail.set_error_message("connection reset");
  v1::FailJobResponse failed;
  ASSERT_TRUE(workers_->FailJob(Ctx().get(), fail, &failed).ok());
  v1::AcquireJobsResponse second;
  ASSERT_TRUE(Acquire(*workers_, "w2", &second, 1, /*wait_ms=*/10000).ok());
  ASSERT_EQ(second.jobs_size(), 1);
  EXPECT_EQ(second.jobs(0).job().attempt(), 2);
  EXPECT_TRUE(Holds(second.jobs(0).job(), R"({"page": 3, "cursor": "c3"})"));
  ASSERT_TRUE(Save(second.jobs(0), R"({"page": 5})", 80).ok());
  ASSERT_TRUE(Complete(*workers_, second.jobs(0), "w2").ok());
  const v1::Job done = Get(created.id());
  EXPECT_EQ(done.state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_TRUE(Holds(done, R"({"page": 5})"));
}

TEST_F(CheckpointTest, AnOversizedCheckpointIsRefusedAndChangesNothing) {
  const v1::Job created = Create();
  v1::AcquireJobsResponse leased;
  ASSERT_TRUE(Acquire(*workers_, "w1", &leased).ok());
  ASSERT_EQ(leased.jobs_size(), 1);
  ASSERT_TRUE(Save(leased.jobs(0), R"({"page": 1})", 10).ok());
  const std::string big = R"({"blob": ")" + std::string(300 * 1024, 'x') + R"("})";
  grpc::Status status = Save(leased.jobs(0), big, 20);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(status.error_message(),
                               "checkpoint: must be at most 262144 bytes encoded as JSON, got "))
      << status.error_message();
  const v1::Job after = Get(created.id());
  EXPECT_TRUE(Holds(after, R"({"page": 1})"));
  EXPECT_EQ(after.progress_percent(), 10);
}

TEST_F(CheckpointTest, ACheckpointHoldingUPlus0000IsRefusedAndChangesNothing) {
  // A jsonb column cannot hold it: written, it would fail the whole batch of changes.
  const v1::Job created = Create();
  v1::AcquireJobsResponse leased;
  ASSERT_TRUE(Acquire(*workers_, "w1", &leased).ok());
  ASSERT_EQ(leased.jobs_size(), 1);
  ASSERT_TRUE(Save(leased.jobs(0), R"({"page": 1})", 10).ok());
  v1::ReportProgressRequest request;
  request.set_job_id(created.id());
  request.set_lease_token(leased.jobs(0).lease_token());
  request.set_progress_percent(20);
  (*request.mutable_checkpoint()->mutable_fields())["cursor"].set_string_value(
      std::string("a\0b", 3));
  v1::ReportProgressResponse response;
  grpc::Status status = workers_->ReportProgress(Ctx().get(), request, &response);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "checkpoint: must not contain the character U+0000 (a jsonb column cannot hold it)");
  const v1::Job after = Get(created.id());
  EXPECT_TRUE(Holds(after, R"({"page": 1})"));
  EXPECT_EQ(after.progress_percent(), 10);
  // The same checkpoint again, formatted otherwise, is the same: nothing else changes.
  ASSERT_TRUE(Save(leased.jobs(0), R"({ "page" : 1 })", 10).ok());
  EXPECT_TRUE(Holds(Get(created.id()), R"({"page": 1})"));
}

}  // namespace
}  // namespace jobd::testing
