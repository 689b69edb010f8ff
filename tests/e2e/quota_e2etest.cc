// Quotas end to end: active jobs per workspace and creates per API key, each
// RESOURCE_EXHAUSTED saying which limit and when to retry; off by default.
#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "tests/e2e/jobd_fixture.h"

namespace jobd::testing {
namespace {

using grpc::StatusCode;

grpc::Status CreateIn(v1::JobService::Stub& stub, const std::string& workspace,
                      const std::string& idempotency_key = "", v1::Job* job = nullptr) {
  v1::CreateJobRequest request;
  request.set_workspace_id(workspace);
  request.set_type("quota.t");
  request.set_idempotency_key(idempotency_key);
  v1::CreateJobResponse response;
  grpc::Status status = stub.CreateJob(Ctx().get(), request, &response);
  if (job != nullptr) *job = response.job();
  return status;
}

class ActiveJobQuotaTest : public JobdTest {
 protected:
  std::vector<std::string> JobdArgs() override { return {"--max_active_jobs_per_workspace", "10"}; }
};

TEST_F(ActiveJobQuotaTest, CreatesBeyondTheLimitAreRefusedUntilJobsFinish) {
  // 20 concurrent creates against a limit of 10: exactly 10 pass, whatever their batching.
  std::atomic<int> ok{0}, refused{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&] {
      grpc::Status status = CreateIn(*jobs_, "quota-a");
      if (status.ok()) {
        ++ok;
      } else if (status.error_code() == StatusCode::RESOURCE_EXHAUSTED &&
                 absl::StrContains(status.error_message(), "max_active_jobs_per_workspace") &&
                 absl::StrContains(status.error_message(), "\"quota-a\"") &&
                 absl::StrContains(status.error_message(), "retry once some have finished")) {
        ++refused;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 10);
  EXPECT_EQ(refused.load(), 10);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(Sql("SELECT count(*) FROM jobs WHERE workspace_id = 'quota-a'"), "10");

  // Another workspace has its own count.
  EXPECT_TRUE(CreateIn(*jobs_, "quota-b").ok());

  // An idempotent repeat of a job that exists adds nothing, so it is answered at the limit.
  std::string first_id = Sql("SELECT id FROM jobs WHERE workspace_id = 'quota-b'");
  ASSERT_EQ(Sql("UPDATE jobs SET idempotency_key = 'k1', request_fingerprint = NULL "
                "WHERE id = '" +
                first_id + "' RETURNING id"),
            first_id);
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(CreateIn(*jobs_, "quota-b").ok());
  EXPECT_EQ(CreateIn(*jobs_, "quota-b").error_code(), StatusCode::RESOURCE_EXHAUSTED);

  // A finished job frees its place.
  const std::string some_id =
      Sql("SELECT id FROM jobs WHERE workspace_id = 'quota-a' ORDER BY id LIMIT 1");
  v1::CancelJobRequest cancel;
  cancel.set_id(some_id);
  v1::CancelJobResponse cancelled;
  ASSERT_TRUE(jobs_->CancelJob(Ctx().get(), cancel, &cancelled).ok());
  EXPECT_TRUE(CreateIn(*jobs_, "quota-a").ok());
  EXPECT_EQ(CreateIn(*jobs_, "quota-a").error_code(), StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(Sql("SELECT count(*) FROM jobs WHERE workspace_id = 'quota-a'"), "11");

  // Retrying a finished job makes it active again: refused at the limit, changing nothing.
  v1::RetryJobRequest retry;
  retry.set_id(some_id);
  v1::RetryJobResponse retried;
  const grpc::Status over = jobs_->RetryJob(Ctx().get(), retry, &retried);
  EXPECT_EQ(over.error_code(), StatusCode::RESOURCE_EXHAUSTED) << over.error_message();
  EXPECT_TRUE(absl::StrContains(over.error_message(), "\"quota-a\"")) << over.error_message();
  EXPECT_EQ(Sql("SELECT state FROM jobs WHERE id = '" + some_id + "'"), "cancelled");
  // Once another job finishes, the retry goes through.
  const std::string other_id =
      Sql("SELECT id FROM jobs WHERE workspace_id = 'quota-a' AND state = 'queued' ORDER BY id "
          "LIMIT 1");
  cancel.set_id(other_id);
  ASSERT_TRUE(jobs_->CancelJob(Ctx().get(), cancel, &cancelled).ok());
  ASSERT_TRUE(jobs_->RetryJob(Ctx().get(), retry, &retried).ok());
  EXPECT_EQ(retried.job().state(), v1::JOB_STATE_QUEUED);
  EXPECT_EQ(CreateIn(*jobs_, "quota-a").error_code(), StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(ActiveJobQuotaTest, ConcurrentRepeatsOfOneIdempotentCreateCountOnce) {
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(CreateIn(*jobs_, "quota-r").ok());
  // One place left; a create and its retries with the same key, sent at once (they may share
  // a group-commit batch): all answered with the one job.
  std::vector<std::thread> threads;
  std::vector<grpc::Status> statuses(4);
  std::vector<v1::Job> created(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back(
        [&, i] { statuses[i] = CreateIn(*jobs_, "quota-r", "once", &created[i]); });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(statuses[i].ok()) << i << ": " << statuses[i].error_message();
    EXPECT_EQ(created[i].id(), created[0].id());
  }
  EXPECT_EQ(Sql("SELECT count(*) FROM jobs WHERE workspace_id = 'quota-r'"), "10");
}

class CreateRateQuotaTest : public JobdTest {
 protected:
  std::vector<std::string> JobdArgs() override {
    return {"--create_rate_per_key", "5", "--create_burst_per_key", "5"};
  }
};

TEST_F(CreateRateQuotaTest, EachKeyHasItsBucketAndTheRefusalSaysWhenToRetry) {
  // Burst 5, then refused. The bucket refills one token per 200 ms while the creates run, so
  // exactly 5 pass when the creates up to the refusal take under 200 ms, and on a slower
  // (loaded) machine at most one more per 200 ms they took: creates go on until the refusal,
  // and the count is checked against the time they took (all on this machine's clock, which
  // is jobd's).
  const absl::Time first = absl::Now();
  int passed = 0;
  grpc::Status refused;
  for (int i = 0; i < 100; ++i) {
    const grpc::Status status = CreateIn(*jobs_, "rate");
    if (!status.ok()) {
      refused = status;
      break;
    }
    ++passed;
  }
  const absl::Duration took = absl::Now() - first;
  EXPECT_GE(passed, 5);
  EXPECT_LE(passed, 5 + static_cast<int>(took / absl::Milliseconds(200)))
      << "in " << absl::FormatDuration(took);
  EXPECT_EQ(refused.error_code(), StatusCode::RESOURCE_EXHAUSTED) << refused.error_message();
  EXPECT_TRUE(absl::StrContains(refused.error_message(), "create_rate_per_key"))
      << refused.error_message();
  EXPECT_TRUE(absl::StrContains(refused.error_message(), "retry in ")) << refused.error_message();
  EXPECT_EQ(Sql("SELECT count(*) FROM jobs"), std::to_string(passed));

  // Another key is not held back by the first one's calls.
  const std::string other =
      CreateApiKey(database_->url(), "member", "other-member", {"--workspace", "rate"});
  auto other_stub = v1::JobService::NewStub(KeyedChannel(jobd_->address(), other));
  EXPECT_TRUE(WaitFor([&] { return CreateIn(*other_stub, "rate").ok(); }, absl::Seconds(10)));

  // At 5/s the first key gets a token back (the refusal said within 200 ms).
  EXPECT_TRUE(absl::StrContains(refused.error_message(), "ms")) << refused.error_message();
  EXPECT_TRUE(WaitFor([&] { return CreateIn(*jobs_, "rate").ok(); }, absl::Seconds(10)));
}

}  // namespace
}  // namespace jobd::testing
