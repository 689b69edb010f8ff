// BatchCreateJobs against a real jobd and PostgreSQL: request order, all or nothing (a bad or
// refused item writes nothing and is named by its index), idempotency keys inside and across
// batches, the size limits, the quota, and the wake-up of a waiting worker.
#include <atomic>
#include <functional>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/e2e/jobd_fixture.h"

namespace jobd::testing {
namespace {

#define EXPECT_CODE(status, code) EXPECT_EQ((status).error_code(), code) << (status).error_message()

v1::CreateJobRequest Item(const std::string& type, const std::string& key = "", int n = 0) {
  v1::CreateJobRequest item;
  item.set_type(type);
  if (!key.empty()) item.set_idempotency_key(key);
  (*item.mutable_payload()->mutable_fields())["n"].set_number_value(n);
  return item;
}

class BatchCreateTest : public JobdTest {
 protected:
  grpc::Status Batch(const std::vector<v1::CreateJobRequest>& items,
                     v1::BatchCreateJobsResponse* response, const std::string& workspace = "demo") {
    v1::BatchCreateJobsRequest request;
    request.set_workspace_id(workspace);
    for (const auto& item : items) *request.add_requests() = item;
    return jobs_->BatchCreateJobs(Ctx(absl::Seconds(60)).get(), request, response);
  }
  int64_t JobCount() { return std::stoll(Sql("SELECT count(*) FROM jobs")); }
  int64_t EventCount() { return std::stoll(Sql("SELECT count(*) FROM job_events")); }
};

TEST_F(BatchCreateTest, JobsComeBackInRequestOrderEachWithItsCreatedEvent) {
  std::vector<v1::CreateJobRequest> items;
  for (int i = 0; i < 5; ++i) items.push_back(Item(absl::StrCat("t", i), "", i));
  items[2].set_priority(7);
  (*items[3].mutable_labels())["team"] = "search";
  const absl::Time later = absl::Now() + absl::Hours(1);
  items[4].mutable_run_after()->set_seconds(absl::ToUnixSeconds(later));
  v1::BatchCreateJobsResponse response;
  ASSERT_TRUE(Batch(items, &response).ok());
  ASSERT_EQ(response.jobs_size(), 5);
  std::set<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    const v1::Job& job = response.jobs(i);
    EXPECT_EQ(job.type(), absl::StrCat("t", i));
    EXPECT_EQ(job.workspace_id(), "demo");
    EXPECT_EQ(job.payload().fields().at("n").number_value(), i);
    EXPECT_EQ(job.state(), i == 4 ? v1::JOB_STATE_SCHEDULED : v1::JOB_STATE_QUEUED);
    EXPECT_EQ(job.sequence(), 1);
    ids.insert(job.id());
    const v1::Job stored = Get(job.id());
    EXPECT_EQ(stored.type(), job.type());
    EXPECT_EQ(stored.state(), job.state());
  }
  EXPECT_EQ(ids.size(), 5u);
  EXPECT_EQ(Get(response.jobs(2).id()).priority(), 7);
  EXPECT_EQ(Get(response.jobs(3).id()).labels().at("team"), "search");
  EXPECT_EQ(JobCount(), 5);
  EXPECT_EQ(Sql("SELECT count(*) FROM job_events WHERE kind = 'created' AND sequence = 1"), "5");
  EXPECT_EQ(EventCount(), 5);
}

TEST_F(BatchCreateTest, ABadItemIsNamedByIndexAndFieldAndNothingIsWritten) {
  struct Case {
    const char* name;
    std::function<void(v1::CreateJobRequest&)> spoil;
    std::string message_prefix;
  };
  const std::vector<Case> cases = {
      {"type", [](v1::CreateJobRequest& r) { r.set_type("Not A Type"); }, "requests[2].type: "},
      {"ttl", [](v1::CreateJobRequest& r) { r.mutable_ttl()->set_seconds(-1); },
       "requests[2].ttl: "},
      {"workspace", [](v1::CreateJobRequest& r) { r.set_workspace_id("other"); },
       "requests[2].workspace_id: "},
      {"labels", [](v1::CreateJobRequest& r) { (*r.mutable_labels())[""] = "x"; },
       "requests[2].labels"},
  };
  for (const Case& c : cases) {
    std::vector<v1::CreateJobRequest> items = {Item("a"), Item("b", "key-b"), Item("c"), Item("d")};
    c.spoil(items[2]);
    v1::BatchCreateJobsResponse response;
    const grpc::Status status = Batch(items, &response);
    EXPECT_CODE(status, grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_TRUE(absl::StartsWith(status.error_message(), c.message_prefix))
        << c.name << ": " << status.error_message();
    EXPECT_EQ(response.jobs_size(), 0);
  }
  EXPECT_EQ(JobCount(), 0);
  EXPECT_EQ(EventCount(), 0);
}

TEST_F(BatchCreateTest, SizeLimitsAreOneToAThousand) {
  v1::BatchCreateJobsResponse response;
  grpc::Status status = Batch({}, &response);
  EXPECT_CODE(status, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "requests: must hold 1 to 1000 jobs, not 0");

  std::vector<v1::CreateJobRequest> items(1001, Item("bulk"));
  status = Batch(items, &response);
  EXPECT_CODE(status, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "requests: must hold 1 to 1000 jobs, not 1001");
  EXPECT_EQ(JobCount(), 0);

  items.resize(1000);
  ASSERT_TRUE(Batch(items, &response).ok());
  EXPECT_EQ(response.jobs_size(), 1000);
  EXPECT_EQ(JobCount(), 1000);
  EXPECT_EQ(EventCount(), 1000);

  status = Batch({Item("x")}, &response, "");
  EXPECT_CODE(status, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "workspace_id: ")) << status.error_message();
}

TEST_F(BatchCreateTest, IdempotencyKeysHoldInsideAndAcrossBatches) {
  // Inside one batch: the same request twice under one key is one job.
  v1::BatchCreateJobsResponse first;
  ASSERT_TRUE(Batch({Item("a", "k1", 1), Item("b", "k2", 2), Item("a", "k1", 1)}, &first).ok());
  ASSERT_EQ(first.jobs_size(), 3);
  EXPECT_EQ(first.jobs(0).id(), first.jobs(2).id());
  EXPECT_NE(first.jobs(0).id(), first.jobs(1).id());
  EXPECT_EQ(JobCount(), 2);

  // Across batches: a repeat returns the same jobs and writes nothing; a new key beside them
  // is created.
  v1::BatchCreateJobsResponse again;
  ASSERT_TRUE(Batch({Item("b", "k2", 2), Item("a", "k1", 1), Item("c", "k3", 3)}, &again).ok());
  ASSERT_EQ(again.jobs_size(), 3);
  EXPECT_EQ(again.jobs(0).id(), first.jobs(1).id());
  EXPECT_EQ(again.jobs(1).id(), first.jobs(0).id());
  EXPECT_EQ(JobCount(), 3);
  EXPECT_EQ(EventCount(), 3);

  // A key reused by another request fails the whole batch, naming the item.
  v1::BatchCreateJobsResponse refused;
  grpc::Status status = Batch({Item("d", "k4"), Item("a", "k1", 99)}, &refused);
  EXPECT_CODE(status, grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(status.error_message(),
            absl::StrCat("requests[1].idempotency_key: job ", first.jobs(0).id(),
                         " was created with this key from a different request"));
  // Two different requests under one new key inside a batch: the same.
  status = Batch({Item("e", "k5", 1), Item("e", "k5", 2)}, &refused);
  EXPECT_CODE(status, grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "requests[1].idempotency_key: "))
      << status.error_message();
  EXPECT_EQ(JobCount(), 3);
  EXPECT_EQ(EventCount(), 3);
  EXPECT_EQ(Sql("SELECT count(*) FROM jobs WHERE idempotency_key IN ('k4', 'k5')"), "0");

  // A single CreateJob with a key a batch made returns the batch's job.
  v1::CreateJobRequest single = Item("c", "k3", 3);
  single.set_workspace_id("demo");
  v1::CreateJobResponse created;
  ASSERT_TRUE(jobs_->CreateJob(Ctx().get(), single, &created).ok());
  EXPECT_EQ(created.job().id(), again.jobs(2).id());
}

class BatchCreateWakeTest : public BatchCreateTest {
 protected:
  std::vector<std::string> JobdArgs() override { return {"--acquire_poll_interval", "60s"}; }
};

TEST_F(BatchCreateWakeTest, AWaitingWorkerIsWokenByABatch) {
  v1::AcquireJobsRequest acquire;
  acquire.set_workspace_id("demo");
  acquire.add_types("wake");
  acquire.set_worker_id("w1");
  acquire.set_max_jobs(10);
  acquire.mutable_wait()->set_seconds(20);
  v1::AcquireJobsResponse leased;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  grpc::Status acquired;
  std::atomic<bool> done{false};
  workers_->async()->AcquireJobs(&context, &acquire, &leased, [&](grpc::Status s) {
    acquired = s;
    done = true;
  });
  // Whether the poll is already waiting or comes after the batch, it gets the jobs; with the
  // backstop at 60 s, a waiting poll gets them only if the batch woke it.
  const absl::Time start = absl::Now();
  v1::BatchCreateJobsResponse response;
  ASSERT_TRUE(Batch({Item("wake"), Item("wake"), Item("other")}, &response).ok());
  ASSERT_TRUE(WaitFor([&] { return done.load(); }, absl::Seconds(15)));
  ASSERT_TRUE(acquired.ok()) << acquired.error_message();
  EXPECT_GE(leased.jobs_size(), 1);
  EXPECT_LT(absl::Now() - start, absl::Seconds(15));
  for (const auto& job : leased.jobs()) EXPECT_EQ(job.job().type(), "wake");
}

class BatchCreateQuotaTest : public BatchCreateTest {
 protected:
  std::vector<std::string> JobdArgs() override { return {"--max_active_jobs_per_workspace", "3"}; }
};

TEST_F(BatchCreateQuotaTest, ABatchBeyondTheQuotaWritesNothingAndNamesTheFirstItemOver) {
  v1::BatchCreateJobsResponse response;
  ASSERT_TRUE(Batch({Item("a")}, &response).ok());
  const grpc::Status status = Batch({Item("b"), Item("c"), Item("d")}, &response);
  EXPECT_CODE(status, grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "requests[2].quota: "))
      << status.error_message();
  EXPECT_EQ(JobCount(), 1);
  ASSERT_TRUE(Batch({Item("b"), Item("c")}, &response).ok());
  EXPECT_EQ(JobCount(), 3);
}

}  // namespace
}  // namespace jobd::testing
