// Wake-ups reach only the waiters that could take the job: 1,000 long polls of an idle
// workspace on one replica do not look at the database again while another workspace creates
// 500 jobs/s through another replica. Statements are counted by pg_stat_statements.
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/jobd_fixture.h"

namespace jobd::testing {
namespace {

constexpr int kIdleWaiters = 1000;

// Long polls in flight on the callback API; Cancel ends them and waits for every callback.
class LongPolls {
 public:
  void Start(v1::WorkerService::Stub& stub, const std::string& workspace, const std::string& type,
             int count) {
    for (int i = 0; i < count; ++i) {
      auto call = std::make_unique<Call>();
      call->request.set_workspace_id(workspace);
      call->request.add_types(type);
      call->request.set_worker_id("idle-" + std::to_string(i));
      call->request.set_max_jobs(1);
      *call->request.mutable_wait() = Millis(60000);
      call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(90));
      Call* raw = call.get();
      {
        std::lock_guard<std::mutex> lock(mu_);
        calls_.push_back(std::move(call));
        ++pending_;
      }
      stub.async()->AcquireJobs(&raw->context, &raw->request, &raw->response,
                                [this, raw](grpc::Status status) {
                                  std::lock_guard<std::mutex> lock(mu_);
                                  raw->status = status;
                                  raw->done = true;
                                  if (--pending_ == 0) all_done_.notify_all();
                                  any_done_.notify_all();
                                });
    }
  }

  // The first call to end with a job, or nullptr after `timeout`.
  const v1::AcquireJobsResponse* WaitForJob(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    const v1::AcquireJobsResponse* found = nullptr;
    any_done_.wait_for(lock, absl::ToChronoMilliseconds(timeout), [&] {
      for (const auto& call : calls_) {
        if (call->done && call->status.ok() && call->response.jobs_size() > 0) {
          found = &call->response;
        }
      }
      return found != nullptr;
    });
    return found;
  }

  int ended() {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(calls_.size()) - pending_;
  }

  ~LongPolls() {
    std::unique_lock<std::mutex> lock(mu_);
    for (auto& call : calls_) call->context.TryCancel();
    all_done_.wait(lock, [&] { return pending_ == 0; });
  }

 private:
  struct Call {
    grpc::ClientContext context;
    v1::AcquireJobsRequest request;
    v1::AcquireJobsResponse response;
    grpc::Status status;
    bool done = false;
  };
  std::mutex mu_;
  std::condition_variable any_done_, all_done_;
  std::vector<std::unique_ptr<Call>> calls_;
  int pending_ = 0;
};

class WakeupScopeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    database_ = MigratedTestDatabase();
    ASSERT_NE(database_, nullptr);
    Statements("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
    creator_ = std::make_unique<JobdProcess>(database_->url());
    // The per-call backstop is a timer of its own (tests/unit/ready_waiters_test.cc); set
    // beyond this test so that only wake-ups could make a waiter look again.
    // One key and one connection hold all 1,000 long polls: their limits are raised.
    waiter_host_ = std::make_unique<JobdProcess>(
        database_->url(),
        std::vector<std::string>{"--acquire_poll_interval", "5m", "--max_long_polls_per_key",
                                 "2000", "--grpc_max_concurrent_streams", "2000"});
    ASSERT_TRUE(creator_->running());
    ASSERT_TRUE(waiter_host_->running());
  }

  void TearDown() override {
    if (HasFailure()) std::cerr << "waiting jobd log:\n" << waiter_host_->log();
    creator_.reset();
    waiter_host_.reset();
    database_.reset();
  }

  int64_t Statements(const std::string& sql) {
    pqxx::connection conn(database_->url());
    pqxx::nontransaction tx(conn);
    const pqxx::result r = tx.exec(sql);
    return r.empty() || r[0][0].is_null() ? 0 : r[0][0].as<int64_t>();
  }

  // How many acquire statements this database ran.
  int64_t AcquireStatements() {
    return Statements(
        "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE dbid = (SELECT oid FROM "
        "pg_database WHERE datname = current_database()) AND query LIKE '%WITH wanted AS%'");
  }

  std::unique_ptr<TestDatabase> database_;
  std::unique_ptr<JobdProcess> creator_, waiter_host_;
};

TEST_F(WakeupScopeTest, IdleWaitersDoNotLookAgainForAnotherWorkspacesJobs) {
  auto waiting_stub = v1::WorkerService::NewStub(waiter_host_->channel());
  const int64_t before = AcquireStatements();
  LongPolls idle, marker;
  idle.Start(*waiting_stub, "idle", "t", kIdleWaiters);
  // One waiter in the busy workspace, for a marker job sent after the load: when it gets it,
  // every hint sent before has reached the waiting replica.
  marker.Start(*waiting_stub, "busy", "marker", 1);
  ASSERT_TRUE(
      WaitFor([&] { return AcquireStatements() - before >= kIdleWaiters + 1; }, absl::Seconds(60)));
  const int64_t settled = AcquireStatements();
  EXPECT_EQ(settled - before, kIdleWaiters + 1);  // one look each, then asleep

  // 2,500 jobs at 500/s in the busy workspace through the other replica.
  constexpr int kThreads = 4, kPerThread = 625;
  const absl::Duration gap = absl::Seconds(1) * kThreads / 500;
  std::atomic<int> created{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      auto stub = v1::JobService::NewStub(creator_->channel());
      absl::Time next = absl::Now();
      for (int i = 0; i < kPerThread; ++i) {
        v1::CreateJobRequest request;
        request.set_workspace_id("busy");
        request.set_type("t");
        v1::CreateJobResponse response;
        if (stub->CreateJob(Ctx().get(), request, &response).ok()) ++created;
        next += gap;  // pace the load (not a wait for a condition)
        absl::SleepFor(next - absl::Now());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(created.load(), kThreads * kPerThread);

  auto jobs = v1::JobService::NewStub(creator_->channel());
  v1::CreateJobRequest request;
  request.set_workspace_id("busy");
  request.set_type("marker");
  v1::CreateJobResponse response;
  ASSERT_TRUE(jobs->CreateJob(Ctx().get(), request, &response).ok());
  const v1::AcquireJobsResponse* got = marker.WaitForJob(absl::Seconds(30));
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->jobs(0).job().id(), response.job().id());

  // The marker's waiter looked once more (and took its job); the idle ones never did.
  EXPECT_EQ(AcquireStatements() - settled, 1);
  EXPECT_EQ(idle.ended(), 0);
}

}  // namespace
}  // namespace jobd::testing
