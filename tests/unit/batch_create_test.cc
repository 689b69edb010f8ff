// JobManager::BatchCreateJobs over the in-memory store: request order, listeners per created
// job, items named by index, all or nothing against the quota and idempotency keys, and the
// create rate charged per job.
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "server/core/job_manager.h"
#include "server/core/rate_limiter.h"
#include "tests/support/core_test_helpers.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_job_store.h"

namespace jobd::core {
namespace {

const Principal kBatchCaller = fakes::KeyPrincipal("alice", Role::kMember, "ws1");

CreateJobCommand BatchItem(const std::string& type, const std::string& key = "",
                           const std::string& payload = "{}") {
  CreateJobCommand c;
  c.type = type;
  c.idempotency_key = key;
  c.payload_json = payload;
  return c;
}

class BatchCreateManagerTest : public ::testing::Test {
 protected:
  BatchCreateManagerTest() {
    manager_.SetJobReadyListener([this](const Job& job) { ready_.push_back(job.id); });
    manager_.SetJobScheduledListener([this](const Job& job) { scheduled_.push_back(job.id); });
  }

  std::vector<std::string> ready_;  // BatchCreateJobs calls the listeners on its own thread
  std::vector<std::string> scheduled_;
  fakes::FakeClock clock_;
  fakes::FakeJobStore store_{&clock_};
  CreateBatcher creates_{CommitCreates(store_), fakes::OneCommitter()};
  JobManager manager_{store_, creates_, clock_, Limits{}, PageTokenCodec("test-page-key")};
};

TEST_F(BatchCreateManagerTest, JobsInRequestOrderEachCreatedOnceAndAnnounced) {
  std::vector<CreateJobCommand> items = {BatchItem("a"), BatchItem("b"), BatchItem("c")};
  items[2].run_after = clock_.Now() + absl::Hours(1);
  absl::StatusOr<std::vector<Job>> jobs = manager_.BatchCreateJobs(kBatchCaller, "ws1", items);
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  ASSERT_EQ(jobs->size(), 3u);
  EXPECT_EQ((*jobs)[0].type, "a");
  EXPECT_EQ((*jobs)[1].type, "b");
  EXPECT_EQ((*jobs)[2].state, JobState::kScheduled);
  for (const Job& job : *jobs) {
    EXPECT_EQ(job.workspace_id, "ws1");
    EXPECT_EQ(job.requested_by, "alice");
    ASSERT_EQ(store_.Events(job.id).size(), 1u);
    EXPECT_EQ(store_.Events(job.id)[0].kind, EventKind::kCreated);
  }
  EXPECT_EQ(ready_, (std::vector<std::string>{(*jobs)[0].id, (*jobs)[1].id}));
  EXPECT_EQ(scheduled_, std::vector<std::string>{(*jobs)[2].id});
}

TEST_F(BatchCreateManagerTest, ARefusedItemIsNamedAndNothingIsWritten) {
  absl::StatusOr<std::vector<Job>> out =
      manager_.BatchCreateJobs(kBatchCaller, "ws1", {BatchItem("a"), BatchItem("Bad Type")});
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(out.status().message(), "requests[1].type: ")) << out.status();

  out = manager_.BatchCreateJobs(kBatchCaller, "ws2", {BatchItem("a")});
  EXPECT_EQ(out.status().code(), absl::StatusCode::kPermissionDenied) << out.status();

  ASSERT_TRUE(
      manager_.BatchCreateJobs(kBatchCaller, "ws1", {BatchItem("a", "k", "{\"n\":1}")}).ok());
  out = manager_.BatchCreateJobs(kBatchCaller, "ws1",
                                 {BatchItem("b"), BatchItem("a", "k", "{\"n\":2}")});
  EXPECT_EQ(out.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(absl::StartsWith(out.status().message(), "requests[1].idempotency_key: job "))
      << out.status();

  store_.SetMaxActiveJobsPerWorkspace(2);
  out = manager_.BatchCreateJobs(kBatchCaller, "ws1", {BatchItem("b"), BatchItem("c")});
  EXPECT_EQ(out.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(absl::StartsWith(out.status().message(), "requests[1].quota: ")) << out.status();
  EXPECT_EQ(store_.size(), 1u);
  EXPECT_EQ(ready_.size(), 1u);
}

TEST_F(BatchCreateManagerTest, TheCreateRateIsChargedPerJob) {
  RateLimiter limiter(/*rate=*/2, /*burst=*/4);
  manager_.SetCreateRateLimiter(&limiter);
  // Larger than the burst: allowed on a full bucket, which is then 6 in debt (3 s at 2/s).
  ASSERT_TRUE(
      manager_
          .BatchCreateJobs(kBatchCaller, "ws1", std::vector<CreateJobCommand>(10, BatchItem("a")))
          .ok());
  absl::StatusOr<std::vector<Job>> out =
      manager_.BatchCreateJobs(kBatchCaller, "ws1", {BatchItem("a")});
  EXPECT_EQ(out.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(absl::StrContains(out.status().message(), "retry in 3.5s")) << out.status();
  clock_.Advance(absl::Seconds(3.5));
  EXPECT_TRUE(manager_.BatchCreateJobs(kBatchCaller, "ws1", {BatchItem("a")}).ok());
  EXPECT_EQ(store_.size(), 11u);
}

}  // namespace
}  // namespace jobd::core
