// An AcquireJobs answer stays within what a default gRPC client takes (4 MiB): the leased jobs
// past it go straight back to the queue, the same attempt, and later calls lease them once.
#include <set>

#include "tests/e2e/worker_fixture.h"

namespace jobd::testing {
namespace {

class AnswerSizeTest : public WorkerTest {
 protected:
  // The new job's id ("" after a failure, which the EXPECT reports).
  std::string CreateWith(const std::string& type, const google::protobuf::Struct& payload) {
    v1::CreateJobRequest request;
    request.set_workspace_id("demo");
    request.set_type(type);
    *request.mutable_payload() = payload;
    v1::CreateJobResponse response;
    grpc::Status status = jobs_->CreateJob(Ctx().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.job().id();
  }
};

TEST_F(AnswerSizeTest, AnAnswerPastFourMebibytesHandsItsLastJobsBackToTheQueue) {
  // 100,000 zeros: 200 KB as JSON, about 1.1 MB as a Struct. A default gRPC client takes
  // answers up to 4 MiB; a larger one would strand every job in it until its lease ran out.
  std::string zeros = "[0";
  for (int i = 1; i < 100000; ++i) zeros += ",0";
  zeros += "]";
  const google::protobuf::Struct payload = JsonStruct(R"({"ids": )" + zeros + "}");
  constexpr int kJobs = 8;
  std::set<std::string> created;
  for (int i = 0; i < kJobs; ++i) created.insert(CreateWith("big", payload));
  const size_t one_job = [&] {
    v1::AcquireJobsResponse probe;
    probe.add_jobs()->mutable_job()->mutable_payload()->CopyFrom(payload);
    return probe.ByteSizeLong();
  }();
  constexpr size_t kBudget = (4 << 20) - (64 << 10);

  v1::AcquireJobsResponse first;
  grpc::Status status = Acquire(*workers_, "w1", &first, kJobs, 0, 30000, "big");
  ASSERT_TRUE(status.ok()) << status.error_message();
  // As many as fit, no more and no fewer.
  ASSERT_GE(first.jobs_size(), 1);
  ASSERT_LT(first.jobs_size(), kJobs);
  EXPECT_LE(first.ByteSizeLong(), kBudget);
  EXPECT_GT(first.ByteSizeLong() + one_job, kBudget);
  std::set<std::string> taken;
  for (const v1::LeasedJob& leased : first.jobs()) taken.insert(leased.job().id());
  // The rest went straight back, the same attempt, for anyone.
  for (const std::string& id : created) {
    if (taken.count(id)) continue;
    const v1::Job back = Get(id);
    EXPECT_EQ(back.state(), v1::JOB_STATE_QUEUED);
    EXPECT_EQ(back.attempt(), 1);
    EXPECT_EQ(Events(id), "1:created:queued:1,2:state_changed:running:1,3:state_changed:queued:1");
  }

  // An acquire that carries a finished job keeps to the same budget, counting its results.
  v1::AcquireJobsRequest request;
  request.set_workspace_id("demo");
  request.add_types("big");
  request.set_worker_id("w1");
  request.set_max_jobs(kJobs);
  v1::CompleteJobRequest* done = request.add_completed();
  done->set_job_id(first.jobs(0).job().id());
  done->set_lease_token(first.jobs(0).lease_token());
  v1::AcquireJobsResponse second;
  status = workers_->AcquireJobs(Ctx().get(), request, &second);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(second.completed_size(), 1);
  EXPECT_EQ(second.completed(0).state(), v1::JOB_STATE_SUCCEEDED);
  ASSERT_GE(second.jobs_size(), 1);
  EXPECT_LE(second.ByteSizeLong(), kBudget);
  EXPECT_GT(second.ByteSizeLong() + one_job, kBudget);
  for (const v1::LeasedJob& leased : second.jobs()) {
    EXPECT_TRUE(taken.insert(leased.job().id()).second) << "leased twice";
  }
  // The rest, a few at a time: every job is leased exactly once more than it was handed back.
  while (taken.size() < created.size()) {
    v1::AcquireJobsResponse more;
    ASSERT_TRUE(Acquire(*workers_, "w2", &more, kJobs, 0, 30000, "big").ok());
    ASSERT_GE(more.jobs_size(), 1);
    for (const v1::LeasedJob& leased : more.jobs()) {
      EXPECT_EQ(leased.job().attempt(), 1);
      EXPECT_TRUE(taken.insert(leased.job().id()).second) << "leased twice";
    }
  }
  EXPECT_EQ(taken, created);
}

TEST_F(AnswerSizeTest, JobsWhosePayloadsDoNotCompressAreNotLeasedOnlyToGoBack) {
  // 256,000 characters that PostgreSQL cannot compress: the store's estimate of an answer
  // (stored sizes) is then close to what is sent, and it stops leasing before the budget.
  uint64_t seed = 12345;
  auto blob = [&seed] {
    static constexpr char kChars[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    std::string out(256000, ' ');
    for (char& c : out) {
      seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
      c = kChars[(seed >> 33) % 62];
    }
    return out;
  };
  constexpr int kJobs = 30;
  std::set<std::string> created;
  for (int i = 0; i < kJobs; ++i) {
    google::protobuf::Struct payload;
    (*payload.mutable_fields())["blob"].set_string_value(blob());
    created.insert(CreateWith("blob", payload));
  }
  v1::AcquireJobsResponse first;
  grpc::Status status = Acquire(*workers_, "w1", &first, kJobs, 0, 30000, "blob");
  ASSERT_TRUE(status.ok()) << status.error_message();
  // About 7/8 of 4 MiB: 14 such jobs.
  EXPECT_GE(first.jobs_size(), 12);
  EXPECT_LE(first.jobs_size(), 14);
  EXPECT_LE(first.ByteSizeLong(), static_cast<size_t>((4 << 20) - (64 << 10)));
  std::set<std::string> taken;
  for (const v1::LeasedJob& leased : first.jobs()) taken.insert(leased.job().id());
  // The others were never touched: no lease, no events.
  for (const std::string& id : created) {
    if (taken.count(id)) continue;
    EXPECT_EQ(Events(id), "1:created:queued:1");
  }
}

}  // namespace
}  // namespace jobd::testing
