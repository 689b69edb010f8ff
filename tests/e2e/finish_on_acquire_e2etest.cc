// AcquireJobs carrying finished jobs (AcquireJobsRequest.completed / .failed): each finished
// job is fenced and answered on its own, in the same call that leases the next jobs; bad input
// writes nothing; events are exactly those of CompleteJob / FailJob; exactly once with 8
// workers on 2 jobd processes finishing this way.
#include <atomic>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "tests/e2e/worker_fixture.h"

namespace jobd::testing {
namespace {

constexpr int kOk = 0;
constexpr int kAborted = 10;

v1::AcquireJobsRequest AcquireRequest(const std::string& worker, int max_jobs) {
  v1::AcquireJobsRequest request;
  request.set_workspace_id("demo");
  request.add_types("t");
  request.set_worker_id(worker);
  request.set_max_jobs(max_jobs);
  return request;
}

void AddCompleted(v1::AcquireJobsRequest& request, const v1::LeasedJob& leased,
                  const std::string& token) {
  v1::CompleteJobRequest* c = request.add_completed();
  c->set_job_id(leased.job().id());
  c->set_lease_token(token);
  (*c->mutable_result()->mutable_fields())["ok"].set_bool_value(true);
}

using FinishOnAcquireTest = WorkerTest;

TEST_F(FinishOnAcquireTest, EachFinishedJobIsFencedAndAnsweredWhileTheNextAreLeased) {
  for (int i = 0; i < 6; ++i) Create("t", /*max_attempts=*/3, /*backoff_ms=*/60000);
  v1::AcquireJobsResponse first;
  ASSERT_TRUE(Acquire(*workers_, "w1", &first, 3).ok());
  ASSERT_EQ(first.jobs_size(), 3);

  // Job 0 completed with its lease; job 1 with a stale token (refused, the others go on);
  // job 2 failed, retryable (back to SCHEDULED for its backoff); and three more leased.
  v1::AcquireJobsRequest request = AcquireRequest("w1", 3);
  AddCompleted(request, first.jobs(0), first.jobs(0).lease_token());
  AddCompleted(request, first.jobs(1), "01890a5d-ac96-774b-bcce-b302099a8057");
  v1::FailJobRequest* failed = request.add_failed();
  failed->set_job_id(first.jobs(2).job().id());
  failed->set_lease_token(first.jobs(2).lease_token());
  failed->set_error_message("flaky");
  v1::AcquireJobsResponse response;
  grpc::Status status = workers_->AcquireJobs(Ctx().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();

  ASSERT_EQ(response.completed_size(), 2);
  EXPECT_EQ(response.completed(0).job_id(), first.jobs(0).job().id());
  EXPECT_EQ(response.completed(0).code(), kOk) << response.completed(0).message();
  EXPECT_EQ(response.completed(0).state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(response.completed(1).job_id(), first.jobs(1).job().id());
  EXPECT_EQ(response.completed(1).code(), kAborted);
  EXPECT_FALSE(response.completed(1).message().empty());
  ASSERT_EQ(response.failed_size(), 1);
  EXPECT_EQ(response.failed(0).code(), kOk) << response.failed(0).message();
  EXPECT_EQ(response.failed(0).state(), v1::JOB_STATE_SCHEDULED);
  ASSERT_EQ(response.jobs_size(), 3);
  std::set<std::string> leased_now;
  for (const auto& leased : response.jobs()) leased_now.insert(leased.job().id());
  for (const auto& leased : first.jobs()) EXPECT_EQ(leased_now.count(leased.job().id()), 0u);

  EXPECT_EQ(Get(first.jobs(0).job().id()).state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(Get(first.jobs(1).job().id()).state(), v1::JOB_STATE_RUNNING);
  // The events are CompleteJob's and FailJob's, and only theirs.
  EXPECT_EQ(Events(first.jobs(0).job().id()),
            "1:created:queued:1,2:state_changed:running:1,3:state_changed:succeeded:1");
  EXPECT_EQ(Events(first.jobs(1).job().id()), "1:created:queued:1,2:state_changed:running:1");
  EXPECT_EQ(Events(first.jobs(2).job().id()),
            "1:created:queued:1,2:state_changed:running:1,3:state_changed:scheduled:2");

  // The refused one is still this worker's to finish, with its real token; max_jobs 0:
  // finish only.
  v1::AcquireJobsRequest finish_only = AcquireRequest("w1", 0);
  finish_only.mutable_wait()->set_seconds(30);  // ignored: nothing is leased, nothing waited for
  AddCompleted(finish_only, first.jobs(1), first.jobs(1).lease_token());
  const absl::Time start = absl::Now();
  v1::AcquireJobsResponse finished;
  ASSERT_TRUE(workers_->AcquireJobs(Ctx().get(), finish_only, &finished).ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  ASSERT_EQ(finished.completed_size(), 1);
  EXPECT_EQ(finished.completed(0).code(), kOk) << finished.completed(0).message();
  EXPECT_EQ(finished.jobs_size(), 0);
  // Sent again (say its answer was lost): the same answer, as CompleteJob gives a retry, and
  // nothing written twice.
  v1::AcquireJobsResponse again;
  ASSERT_TRUE(workers_->AcquireJobs(Ctx().get(), finish_only, &again).ok());
  ASSERT_EQ(again.completed_size(), 1);
  EXPECT_EQ(again.completed(0).code(), kOk);
  EXPECT_EQ(again.completed(0).state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(Sql("SELECT count(*) FROM job_events WHERE state = 'succeeded'"), "2");
}

TEST_F(FinishOnAcquireTest, BadInputIsRefusedWholeAndWritesNothing) {
  Create();
  Create();
  v1::AcquireJobsResponse first;
  ASSERT_TRUE(Acquire(*workers_, "w1", &first, 2).ok());
  ASSERT_EQ(first.jobs_size(), 2);

  struct Case {
    std::function<void(v1::AcquireJobsRequest&)> spoil;
    std::string prefix;
  };
  const std::vector<Case> cases = {
      {[](v1::AcquireJobsRequest& r) { r.mutable_completed(1)->set_job_id("nope"); },
       "completed[1].job_id: "},
      {[](v1::AcquireJobsRequest& r) { r.mutable_completed(1)->clear_lease_token(); },
       "completed[1].lease_token: "},
      {[](v1::AcquireJobsRequest& r) {
         v1::FailJobRequest* f = r.add_failed();
         f->set_job_id("01890a5d-ac96-774b-bcce-b302099a8057");
         f->set_lease_token("x");
         f->set_error_message(std::string(5000, 'e'));
       },
       "failed[0].error_message: "},
      {[](v1::AcquireJobsRequest& r) { r.clear_types(); }, "types: "},
  };
  for (const Case& c : cases) {
    v1::AcquireJobsRequest request = AcquireRequest("w1", 5);
    AddCompleted(request, first.jobs(0), first.jobs(0).lease_token());
    AddCompleted(request, first.jobs(1), first.jobs(1).lease_token());
    c.spoil(request);
    v1::AcquireJobsResponse response;
    grpc::Status status = workers_->AcquireJobs(Ctx().get(), request, &response);
    EXPECT_CODE(status, grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_TRUE(absl::StartsWith(status.error_message(), c.prefix)) << status.error_message();
  }
  v1::AcquireJobsResponse response;
  grpc::Status status =
      workers_->AcquireJobs(Ctx().get(), AcquireRequest("w1", 0), &response);  // nothing at all
  EXPECT_CODE(status, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "max_jobs: ")) << status.error_message();
  EXPECT_EQ(Sql("SELECT count(*) FROM jobs WHERE state = 'running'"), "2");
  EXPECT_EQ(Sql("SELECT count(*) FROM job_events"), "4");
}

TEST_F(FinishOnAcquireTest, EightWorkersOnTwoProcessesFinishEachJobOnceThisWay) {
  constexpr int kJobs = 2000;
  constexpr int kWorkers = 8;
  JobdProcess second(database_->url(), kFastLoops);
  ASSERT_TRUE(second.running());
  for (int b = 0; b < kJobs / 1000; ++b) {
    v1::BatchCreateJobsRequest batch;
    batch.set_workspace_id("demo");
    for (int i = 0; i < 1000; ++i) batch.add_requests()->set_type("t");
    v1::BatchCreateJobsResponse created;
    ASSERT_TRUE(jobs_->BatchCreateJobs(Ctx(absl::Seconds(60)).get(), batch, &created).ok());
  }
  ExactlyOnceLedger ledger;
  std::atomic<int> refused{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      auto stub = v1::WorkerService::NewStub(w % 2 == 0 ? jobd_->channel() : second.channel());
      const std::string name = "worker-" + std::to_string(w);
      std::vector<v1::LeasedJob> done;
      for (;;) {
        v1::AcquireJobsRequest request = AcquireRequest(name, 16);
        for (const auto& leased : done) AddCompleted(request, leased, leased.lease_token());
        v1::AcquireJobsResponse response;
        grpc::Status s = stub->AcquireJobs(Ctx().get(), request, &response);
        ASSERT_TRUE(s.ok()) << s.error_message();
        ASSERT_EQ(response.completed_size(), static_cast<int>(done.size()));
        for (const auto& r : response.completed()) {
          if (r.code() == kOk && r.state() == v1::JOB_STATE_SUCCEEDED) {
            ledger.Completed(r.job_id());
          } else {
            ++refused;
          }
        }
        for (const auto& leased : response.jobs()) ledger.Leased(leased, name);
        done.assign(response.jobs().begin(), response.jobs().end());
        if (done.empty()) return;
      }
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(refused.load(), 0);
  ledger.ExpectEachJobOnce(kJobs);
  EXPECT_EQ(Sql("SELECT count(*) FROM jobs WHERE state = 'succeeded' AND attempt = 1"),
            std::to_string(kJobs));
  EXPECT_EQ(Sql("SELECT count(*) FROM job_events WHERE kind = 'state_changed' AND state = "
                "'succeeded'"),
            std::to_string(kJobs));
}

}  // namespace
}  // namespace jobd::testing
