// Three replicas on one database whose clocks disagree (Debian's libfaketime): A at the true
// time, B 30 s fast, C 30 s slow. Leases, deadlines and due jobs are decided on the
// database's clock, so none of them depends on which replica a call reaches.
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/e2e/jobd_fixture.h"

namespace jobd::testing {
namespace {

constexpr char kFaketime[] = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";
const std::vector<std::string> kSkewedLoops = {"--reaper_interval", "100ms", "--promote_interval",
                                               "100ms"};

// jobd's environment with its clock moved by `offset` ("+30s", "-30s").
std::vector<std::string> SkewedClock(const std::string& offset) {
  std::vector<std::string> env = {absl::StrCat("LD_PRELOAD=", kFaketime),
                                  absl::StrCat("FAKETIME=", offset),
                                  "FAKETIME_DONT_FAKE_MONOTONIC=1"};
  // Under AddressSanitizer the preloaded library comes before ASan's runtime; allow that.
  const char* asan = std::getenv("ASAN_OPTIONS");
  if (asan != nullptr)
    env.push_back(absl::StrCat("ASAN_OPTIONS=", asan, ":verify_asan_link_order=0"));
  return env;
}

struct Replica {
  std::unique_ptr<JobdProcess> process;
  std::unique_ptr<v1::JobService::Stub> jobs;
  std::unique_ptr<v1::WorkerService::Stub> workers;
};

class ClockSkewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::ifstream(kFaketime).good())
        << kFaketime << " is missing: install Debian's libfaketime (deploy/install-deps.sh)";
    database_ = MigratedTestDatabase();
    ASSERT_NE(database_, nullptr);
    Start(true_, {});
    Start(fast_, SkewedClock("+30s"));
    Start(slow_, SkewedClock("-30s"));
  }

  void TearDown() override {
    for (Replica* r : {&true_, &fast_, &slow_}) {
      if (r->process && HasFailure()) std::cerr << "jobd log:\n" << r->process->log();
      r->jobs.reset();
      r->workers.reset();
      r->process.reset();
    }
    database_.reset();
  }

  void Start(Replica& replica, const std::vector<std::string>& env) {
    replica.process = std::make_unique<JobdProcess>(database_->url(), kSkewedLoops, env);
    ASSERT_TRUE(replica.process->running());
    replica.jobs = v1::JobService::NewStub(replica.process->channel());
    replica.workers = v1::WorkerService::NewStub(replica.process->channel());
  }

  v1::Job Create(Replica& via, const std::string& type,
                 absl::Duration timeout = absl::ZeroDuration(),
                 std::optional<absl::Time> run_after = std::nullopt) {
    v1::CreateJobRequest request;
    request.set_workspace_id("demo");
    request.set_type(type);
    if (timeout > absl::ZeroDuration()) {
      *request.mutable_timeout() = Millis(absl::ToInt64Milliseconds(timeout));
    }
    if (run_after) *request.mutable_run_after() = ToProtoTime(*run_after);
    v1::CreateJobResponse response;
    const grpc::Status status = via.jobs->CreateJob(Ctx().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.job();
  }

  // Leases at most one job of `type` through `via`, waiting up to `wait` for one.
  std::vector<v1::LeasedJob> Acquire(Replica& via, const std::string& type,
                                     const std::string& worker, absl::Duration wait,
                                     absl::Duration lease) {
    v1::AcquireJobsRequest request;
    request.set_workspace_id("demo");
    request.add_types(type);
    request.set_worker_id(worker);
    request.set_max_jobs(1);
    if (wait > absl::ZeroDuration())
      *request.mutable_wait() = Millis(absl::ToInt64Milliseconds(wait));
    *request.mutable_lease_duration() = Millis(absl::ToInt64Milliseconds(lease));
    v1::AcquireJobsResponse response;
    const grpc::Status status =
        via.workers->AcquireJobs(Ctx(wait + absl::Seconds(10)).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {response.jobs().begin(), response.jobs().end()};
  }

  v1::Job Get(Replica& via, const std::string& id) {
    v1::GetJobRequest request;
    request.set_id(id);
    v1::GetJobResponse response;
    EXPECT_TRUE(via.jobs->GetJob(Ctx().get(), request, &response).ok());
    return response.job();
  }

  std::unique_ptr<TestDatabase> database_;
  Replica true_, fast_, slow_;
};

TEST_F(ClockSkewTest, EachReplicaWarnsOnlyAboutItsOwnClock) {
  auto warned = [](const JobdProcess& p) {
    return absl::StrContains(p.log(), "clock differs from the database's");
  };
  EXPECT_TRUE(
      WaitFor([&] { return warned(*fast_.process) && warned(*slow_.process); }, absl::Seconds(10)));
  EXPECT_FALSE(warned(*true_.process));
}

// A 10 s lease kept alive for 40 s by heartbeats sent to each replica in turn: no replica's
// reaper takes it, no other worker gets the job, and the worker completes its attempt.
TEST_F(ClockSkewTest, AHeartbeatenLeaseHoldsOnEveryReplica) {
  const v1::Job created = Create(true_, "long");
  std::vector<v1::LeasedJob> leased =
      Acquire(true_, "long", "w1", absl::ZeroDuration(), absl::Seconds(10));
  ASSERT_EQ(leased.size(), 1u);
  const v1::LeasedJob job = leased[0];
  Replica* replicas[] = {&true_, &fast_, &slow_};
  const absl::Time end = absl::Now() + absl::Seconds(40);
  for (int beat = 0; absl::Now() < end; ++beat) {
    Replica& via = *replicas[beat % 3];
    v1::ReportProgressRequest request;
    request.set_job_id(job.job().id());
    request.set_lease_token(job.lease_token());
    request.set_progress_percent(static_cast<float>(beat));
    v1::ReportProgressResponse response;
    const grpc::Status status = via.workers->ReportProgress(Ctx().get(), request, &response);
    ASSERT_TRUE(status.ok()) << "beat " << beat << ": " << status.error_message();
    ASSERT_FALSE(response.cancelled());
    // The new expiry is the database's time plus the lease, whichever replica set it.
    const absl::Duration left = ToTime(response.lease_expire_time()) - absl::Now();
    EXPECT_GT(left, absl::Seconds(9)) << "beat " << beat;
    EXPECT_LE(left, absl::Seconds(10)) << "beat " << beat;
    // Other workers polling the skewed replicas find nothing to take.
    EXPECT_TRUE(Acquire(fast_, "long", "w2", absl::ZeroDuration(), absl::Seconds(10)).empty());
    EXPECT_TRUE(Acquire(slow_, "long", "w3", absl::ZeroDuration(), absl::Seconds(10)).empty());
    // The next heartbeat in 3 s: well inside the 10 s lease whatever the machine's load.
    absl::SleepFor(absl::Seconds(3));
  }
  const v1::Job still = Get(slow_, created.id());
  EXPECT_EQ(still.state(), v1::JOB_STATE_RUNNING);
  EXPECT_EQ(still.attempt(), 1);
  EXPECT_EQ(still.worker_id(), "w1");
  v1::CompleteJobRequest complete;
  complete.set_job_id(job.job().id());
  complete.set_lease_token(job.lease_token());
  v1::CompleteJobResponse completed;
  ASSERT_TRUE(fast_.workers->CompleteJob(Ctx().get(), complete, &completed).ok());
  EXPECT_EQ(completed.job().state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(completed.job().attempt(), 1);
}

// A job created through the fast replica without run_after is ready at once everywhere (its
// run_after is the database's now, not 30 s ahead).
TEST_F(ClockSkewTest, AJobCreatedOnAFastReplicaIsReadyAtOnce) {
  const v1::Job created = Create(fast_, "now");
  EXPECT_LE(ToTime(created.run_after()), absl::Now() + absl::Seconds(1));
  std::vector<v1::LeasedJob> leased =
      Acquire(slow_, "now", "w1", absl::ZeroDuration(), absl::Seconds(10));
  ASSERT_EQ(leased.size(), 1u);
  EXPECT_EQ(leased[0].job().id(), created.id());
}

// Due jobs fire on the database's time: not early through the fast replica (whose promoter
// would promote them 30 s early on its own clock), not late through the slow one.
TEST_F(ClockSkewTest, DelayedJobsBecomeReadyOnTheDatabasesTime) {
  const absl::Time due = absl::Now() + absl::Seconds(3);
  const v1::Job on_fast = Create(true_, "delayed-fast", absl::ZeroDuration(), due);
  const v1::Job on_slow = Create(true_, "delayed-slow", absl::ZeroDuration(), due);
  EXPECT_EQ(on_fast.state(), v1::JOB_STATE_SCHEDULED);
  std::vector<v1::LeasedJob> fast =
      Acquire(fast_, "delayed-fast", "w1", absl::Seconds(8), absl::Seconds(30));
  const absl::Time fast_at = absl::Now();
  std::vector<v1::LeasedJob> slow =
      Acquire(slow_, "delayed-slow", "w2", absl::Seconds(8), absl::Seconds(30));
  const absl::Time slow_at = absl::Now();
  ASSERT_EQ(fast.size(), 1u);
  ASSERT_EQ(slow.size(), 1u);
  // The database runs on this machine's true clock; 50 ms for the two clocks' reading.
  EXPECT_GE(fast_at, due - absl::Milliseconds(50));
  EXPECT_GE(ToTime(fast[0].job().start_time()), due - absl::Milliseconds(50));
  // Late by at most the promotion interval plus a loaded machine's margin; 30 s when wrong.
  EXPECT_LE(fast_at, due + absl::Seconds(3));
  EXPECT_LE(slow_at, due + absl::Seconds(3));
}

// An attempt's timeout runs on the database's clock whichever replica leased it.
TEST_F(ClockSkewTest, TimeoutsFireOnTheDatabasesTime) {
  const v1::Job created = Create(true_, "timed", absl::Seconds(2));
  const absl::Time leased_at = absl::Now();
  std::vector<v1::LeasedJob> leased =
      Acquire(fast_, "timed", "w1", absl::ZeroDuration(), absl::Seconds(60));
  ASSERT_EQ(leased.size(), 1u);
  EXPECT_LE(ToTime(leased[0].lease_expire_time()), leased_at + absl::Seconds(3));
  v1::Job after;
  ASSERT_TRUE(WaitFor(
      [&] {
        after = Get(true_, created.id());
        return after.state() != v1::JOB_STATE_RUNNING;
      },
      absl::Seconds(20)));
  const absl::Time failed_at = absl::Now();
  EXPECT_GE(failed_at, leased_at + absl::Seconds(2) - absl::Milliseconds(50));
  EXPECT_LE(failed_at, leased_at + absl::Seconds(2) + absl::Seconds(3));  // 32 s when wrong
  EXPECT_TRUE(absl::StrContains(after.error_message(), "timed out")) << after.error_message();
}

}  // namespace
}  // namespace jobd::testing
