// WorkerManager over the in-memory store, a real group commit and executor, and a set clock:
// leases, fencing by lease token, progress, completion, failure with and without retries,
// cancellation seen by the worker, long-poll wake-ups and workspace access.
#include "server/core/worker_manager.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "db/model/call_deadline.h"
#include "server/core/ids.h"
#include "server/core/lifecycle.h"
#include "tests/support/callback_result.h"
#include "tests/support/core_test_helpers.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_job_store.h"

namespace jobd::core {
namespace {

using fakes::CallbackResult;
constexpr auto Key = fakes::KeyPrincipal;
using fakes::OneCommitter;

const Principal kWorker = Key("w-key", Role::kWorker, "ws1");
const Principal kOtherWorker = Key("w2-key", Role::kWorker, "ws2");

class WorkerManagerTest : public ::testing::Test {
 protected:
  // A QUEUED job in the store, ready since the clock's now.
  Job Queue(const std::string& type = "email", int32_t priority = 0,
            std::optional<absl::Duration> timeout = std::nullopt) {
    CreateJobCommand c;
    c.workspace_id = "ws1";
    c.type = type;
    c.priority = priority;
    c.timeout = timeout;
    c.retry_policy.initial_backoff = absl::Seconds(10);
    Job job = NewJobFromCommand(c, NewJobId(clock_.Now()), clock_.Now());
    absl::StatusOr<std::vector<CreatedJob>> created = store_.CreateJobs({job});
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? (*created)[0].job : Job{};
  }

  AcquireCommand Acquire(int32_t max_jobs = 1, std::vector<std::string> types = {"email"}) {
    AcquireCommand c;
    c.workspace_id = "ws1";
    c.types = std::move(types);
    c.worker_id = "worker-1";
    c.max_jobs = max_jobs;
    return c;
  }
  absl::StatusOr<std::vector<Job>> RunAcquire(const Principal& caller, AcquireCommand c) {
    CallbackResult<std::vector<Job>> result;
    workers_.AcquireJobs(caller, std::move(c), result.Callback());
    return result.Wait();
  }
  // Queues a job and leases it to kWorker.
  Job Leased(std::optional<absl::Duration> timeout = std::nullopt) {
    const Job queued = Queue("email", 0, timeout);
    absl::StatusOr<std::vector<Job>> jobs = RunAcquire(kWorker, Acquire());
    EXPECT_TRUE(jobs.ok()) << jobs.status();
    EXPECT_EQ(jobs.ok() ? jobs->size() : 0u, 1u);
    return jobs.ok() && jobs->size() == 1 ? (*jobs)[0] : Job{};
  }

  absl::StatusOr<ProgressResult> Progress(const Principal& caller, const Job& job,
                                          const std::string& token, float percent) {
    ProgressReport report;
    report.percent = percent;
    report.message = absl::StrCat(percent, "%");
    CallbackResult<ProgressResult> result;
    workers_.ReportProgress(caller, job.id, token, report, result.Callback());
    return result.Wait();
  }
  absl::StatusOr<Job> Complete(const Principal& caller, const Job& job, const std::string& token) {
    CallbackResult<Job> result;
    workers_.CompleteJob(caller, job.id, token, R"({"ok":true})", result.Callback());
    return result.Wait();
  }
  absl::StatusOr<Job> Fail(const Principal& caller, const Job& job, const std::string& token,
                           bool retryable) {
    CallbackResult<Job> result;
    workers_.FailJob(caller, job.id, token, "it broke", retryable, result.Callback());
    return result.Wait();
  }

  fakes::FakeClock clock_;
  fakes::FakeJobStore store_{&clock_};  // the database's clock is the test's
  Executor executor_{2, 1000};
  ChangeBatcher changes_{CommitChanges(store_), OneCommitter(), ChangeKey};
  ReadyWaiters waiters_;
  // Jitter pinned at half the backoff cap.
  WorkerManager workers_{store_, executor_, changes_,          waiters_,
                         clock_, Limits{},  [] { return 0.5; }};
};

// ---- AcquireJobs ----

TEST_F(WorkerManagerTest, AcquireLeasesAQueuedJobWithATokenAndExpiryFromTheClock) {
  const Job queued = Queue();
  const absl::StatusOr<std::vector<Job>> jobs = RunAcquire(kWorker, Acquire());
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  ASSERT_EQ(jobs->size(), 1u);
  const Job& job = (*jobs)[0];
  EXPECT_EQ(job.id, queued.id);
  EXPECT_EQ(job.state, JobState::kRunning);
  EXPECT_EQ(job.worker_id, "worker-1");
  EXPECT_TRUE(IsUuid(job.lease_token)) << job.lease_token;
  EXPECT_EQ(job.lease_expire_time, clock_.Now() + absl::Seconds(30));  // the default lease
  EXPECT_EQ(job.lease_duration, absl::Seconds(30));
  EXPECT_EQ(job.start_time, clock_.Now());
  EXPECT_EQ(job.attempt, 1);
  ASSERT_EQ(store_.acquire_queries().size(), 1u);
  EXPECT_EQ(store_.Events(job.id).back().state, JobState::kRunning);

  // Nothing else is ready: an empty answer at once (no wait asked).
  const absl::StatusOr<std::vector<Job>> none = RunAcquire(kWorker, Acquire());
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
}

TEST_F(WorkerManagerTest, AcquireHonoursLeaseDurationTimeoutTypesAndPriority) {
  const Job low = Queue("email", 0);
  const Job high = Queue("email", 5);
  const Job sms = Queue("sms", 9);
  Queue("email", 0, absl::Seconds(5));
  AcquireCommand c = Acquire(/*max_jobs=*/2);
  c.lease_duration = absl::Seconds(10);
  absl::StatusOr<std::vector<Job>> jobs = RunAcquire(kWorker, c);
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  ASSERT_EQ(jobs->size(), 2u);
  EXPECT_EQ((*jobs)[0].id, high.id);  // priority first, then the longest waiting
  EXPECT_EQ((*jobs)[1].id, low.id);
  EXPECT_EQ((*jobs)[0].lease_expire_time, clock_.Now() + absl::Seconds(10));
  EXPECT_EQ(store_.Peek(sms.id)->state, JobState::kQueued);

  // A timeout shorter than the lease ends the lease at the attempt's deadline.
  jobs = RunAcquire(kWorker, c);
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].attempt_deadline, clock_.Now() + absl::Seconds(5));
  EXPECT_EQ((*jobs)[0].lease_expire_time, clock_.Now() + absl::Seconds(5));
}

TEST_F(WorkerManagerTest, AcquireRunsUnderTheCallersDeadline) {
  Queue("email", 0);
  AcquireCommand c = Acquire(/*max_jobs=*/1);
  const absl::Time call_deadline = absl::FromUnixSeconds(2000000000);
  c.call_deadline = call_deadline;
  absl::StatusOr<std::vector<Job>> jobs = RunAcquire(kWorker, c);
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ(store_.acquire_deadlines(), std::vector<absl::Time>{call_deadline});
  EXPECT_EQ(CurrentCallDeadline(), absl::InfiniteFuture());  // only the task's, not ours
}

TEST_F(WorkerManagerTest, AcquireTakesDueScheduledJobsOnly) {
  Job due = Queue();
  due.state = JobState::kScheduled;
  due.run_after = clock_.Now() - absl::Seconds(1);
  store_.Put(due);
  Job later = Queue();
  later.state = JobState::kScheduled;
  later.run_after = clock_.Now() + absl::Minutes(1);
  store_.Put(later);
  absl::StatusOr<std::vector<Job>> jobs = RunAcquire(kWorker, Acquire(10));
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].id, due.id);
  EXPECT_EQ(store_.Peek(later.id)->state, JobState::kScheduled);
}

TEST_F(WorkerManagerTest, AcquireInAnotherWorkspaceIsPermissionDeniedAndInvalidNamesTheField) {
  Queue();
  const absl::Status denied = RunAcquire(kOtherWorker, Acquire()).status();
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(absl::StartsWith(denied.message(), "workspace_id: ")) << denied;
  const absl::Status invalid = RunAcquire(kWorker, Acquire(/*max_jobs=*/0)).status();
  EXPECT_EQ(invalid.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(invalid.message(), "max_jobs: ")) << invalid;
  EXPECT_TRUE(store_.acquire_queries().empty());
}

// Whether the job is made ready before the poll looks, while it looks, or once it is parked,
// the poll gets it (the waiters' generation closes the gap between looking and parking).
TEST_F(WorkerManagerTest, LongPollGetsAJobMadeReadyDuringTheWait) {
  clock_.Set(absl::Now());  // the waiters' timer runs on real time
  AcquireCommand c = Acquire();
  c.wait = absl::Seconds(30);
  CallbackResult<std::vector<Job>> result;
  workers_.AcquireJobs(kWorker, c, result.Callback());
  EXPECT_FALSE(result.ran());
  const Job job = Queue();
  waiters_.Notify("ws1", "email");
  const absl::StatusOr<std::vector<Job>> jobs = result.Wait();
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].id, job.id);
}

TEST_F(WorkerManagerTest, LongPollOfARevokedKeyEndsUnauthenticatedWithoutLeasing) {
  Queue();
  AcquireCommand c = Acquire();
  c.still_authorized = [] { return absl::UnauthenticatedError("revoked"); };
  EXPECT_EQ(RunAcquire(kWorker, c).status(), absl::UnauthenticatedError("revoked"));
  EXPECT_TRUE(store_.acquire_queries().empty());
}

// ---- Fencing ----

TEST_F(WorkerManagerTest, WrongLeaseTokenIsAbortedAndWritesNothing) {
  const Job job = Leased();
  const std::string wrong = NewRandomUuid();
  EXPECT_EQ(Progress(kWorker, job, wrong, 50).status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(Complete(kWorker, job, wrong).status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(Fail(kWorker, job, wrong, true).status().code(), absl::StatusCode::kAborted);
  const Job stored = *store_.Peek(job.id);
  EXPECT_EQ(stored.state, JobState::kRunning);
  EXPECT_EQ(stored.sequence, job.sequence);
  EXPECT_EQ(stored.progress_percent, 0);
}

TEST_F(WorkerManagerTest, ExpiredLeaseIsAborted) {
  const Job job = Leased();
  clock_.Advance(absl::Seconds(30));
  const absl::Status status = Complete(kWorker, job, job.lease_token).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(absl::StrContains(status.message(), "the lease expired")) << status;
}

TEST_F(WorkerManagerTest, WorkerOfAnotherWorkspaceGetsNotFoundEvenWithTheToken) {
  const Job job = Leased();
  const absl::Status expected = absl::NotFoundError(absl::StrCat("job ", job.id, " not found"));
  EXPECT_EQ(Progress(kOtherWorker, job, job.lease_token, 10).status(), expected);
  EXPECT_EQ(Complete(kOtherWorker, job, job.lease_token).status(), expected);
  EXPECT_EQ(Fail(kOtherWorker, job, job.lease_token, false).status(), expected);
  EXPECT_EQ(store_.Peek(job.id)->state, JobState::kRunning);
}

TEST_F(WorkerManagerTest, MissingLeaseTokenIsInvalidArgument) {
  const Job job = Leased();
  const absl::Status status = Complete(kWorker, job, "").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(status.message(), "lease_token: ")) << status;
}

// ---- Progress, completion, failure ----

TEST_F(WorkerManagerTest, ProgressRecordsPercentAndRenewsTheLease) {
  const Job job = Leased();
  clock_.Advance(absl::Seconds(20));
  const absl::StatusOr<ProgressResult> result = Progress(kWorker, job, job.lease_token, 40);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->cancelled);
  EXPECT_EQ(result->lease_expire_time, clock_.Now() + absl::Seconds(30));
  const Job stored = *store_.Peek(job.id);
  EXPECT_EQ(stored.progress_percent, 40);
  EXPECT_EQ(stored.lease_expire_time, clock_.Now() + absl::Seconds(30));
  EXPECT_EQ(store_.Events(job.id).back().kind, EventKind::kProgress);
}

TEST_F(WorkerManagerTest, CompleteSucceedsWithTheResult) {
  const Job job = Leased();
  clock_.Advance(absl::Seconds(3));
  const absl::StatusOr<Job> done = Complete(kWorker, job, job.lease_token);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->state, JobState::kSucceeded);
  EXPECT_EQ(done->result_json, R"({"ok":true})");
  EXPECT_EQ(done->progress_percent, 100);
  EXPECT_EQ(done->finish_time, clock_.Now());
  EXPECT_EQ(done->expire_time, clock_.Now() + job.ttl);
  // A repeated completion (its answer was lost) gets the same job, unchanged.
  const absl::StatusOr<Job> again = Complete(kWorker, job, job.lease_token);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->sequence, done->sequence);
}

TEST_F(WorkerManagerTest, RetryableFailureWithAttemptsLeftIsScheduledAfterBackoff) {
  const Job job = Leased();
  const absl::StatusOr<Job> failed = Fail(kWorker, job, job.lease_token, /*retryable=*/true);
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_EQ(failed->state, JobState::kScheduled);
  EXPECT_EQ(failed->attempt, 2);
  EXPECT_EQ(failed->error_message, "it broke");
  // Attempt 1's cap is the initial backoff (10 s); the jitter is pinned at 0.5.
  EXPECT_EQ(failed->run_after, clock_.Now() + absl::Seconds(5));
  EXPECT_EQ(failed->lease_token, "");
  EXPECT_EQ(failed->worker_id, "");
  EXPECT_FALSE(failed->finish_time.has_value());
}

TEST_F(WorkerManagerTest, FailureWithoutRetriesOrOnTheLastAttemptIsFailed) {
  const Job job = Leased();
  const absl::StatusOr<Job> failed = Fail(kWorker, job, job.lease_token, /*retryable=*/false);
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_EQ(failed->state, JobState::kFailed);
  EXPECT_EQ(failed->attempt, 1);
  EXPECT_EQ(failed->finish_time, clock_.Now());

  Job last = Leased();
  last.attempt = last.last_attempt;
  store_.Put(last);
  const absl::StatusOr<Job> exhausted = Fail(kWorker, last, last.lease_token, true);
  ASSERT_TRUE(exhausted.ok()) << exhausted.status();
  EXPECT_EQ(exhausted->state, JobState::kFailed);
  EXPECT_EQ(exhausted->attempt, 3);
}

TEST_F(WorkerManagerTest, CancelWhileRunningIsReportedOnProgressAndAbortsCompletion) {
  const Job job = Leased();
  ASSERT_TRUE(store_
                  .UpdateJob(job.id,
                             [&](const Job& current, absl::Time now) {
                               return PlanCancel(current, "", "alice", clock_.Now());
                             })
                  .ok());
  const int64_t sequence = store_.Peek(job.id)->sequence;
  const absl::StatusOr<ProgressResult> result = Progress(kWorker, job, job.lease_token, 60);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->cancelled);
  EXPECT_FALSE(result->lease_expire_time.has_value());
  EXPECT_EQ(store_.Peek(job.id)->sequence, sequence);  // nothing written

  const absl::Status status = Complete(kWorker, job, job.lease_token).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(absl::StrContains(status.message(), "cancelled")) << status;
  EXPECT_EQ(store_.Peek(job.id)->state, JobState::kCancelled);
}

}  // namespace
}  // namespace jobd::core
