// One pass of each background loop over the in-memory store and a set clock (the loops'
// threads are never started): the lease reaper, the promoter of scheduled jobs, retention.
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "server/background/database_health.h"
#include "server/background/lease_reaper.h"
#include "server/background/promoter.h"
#include "server/background/retention.h"
#include "server/core/ids.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_job_store.h"

namespace jobd::background {
namespace {

constexpr absl::Duration kNever = absl::Hours(1);  // the loops' interval: RunOnce only

class BackgroundLoopsTest : public ::testing::Test {
 protected:
  // A job put straight into the store in `state`.
  Job Put(JobState state, const std::string& workspace = "ws1") {
    Job job;
    job.id = core::NewJobId(clock_.Now());
    job.workspace_id = workspace;
    job.type = "email";
    job.state = state;
    job.create_time = clock_.Now() - absl::Minutes(10);
    job.update_time = job.create_time;
    job.run_after = job.create_time;
    job.retry_policy.initial_backoff = absl::Seconds(10);
    store_.Put(job);
    return job;
  }
  // A RUNNING job of worker w1 whose lease ends at `lease_expire_time`.
  Job Running(absl::Time lease_expire_time, int32_t attempt = 1) {
    Job job = Put(JobState::kRunning);
    job.attempt = attempt;
    job.worker_id = "w1";
    job.lease_token = core::NewRandomUuid();
    job.lease_duration = absl::Seconds(30);
    job.lease_expire_time = lease_expire_time;
    job.start_time = clock_.Now() - absl::Minutes(1);
    store_.Put(job);
    return job;
  }

  fakes::FakeClock clock_;
  fakes::FakeJobStore store_{&clock_};  // the database's clock is the test's
};

// ---- LeaseReaper ----

TEST_F(BackgroundLoopsTest, ReaperFailsExpiredAttemptsByTheRetryPolicy) {
  LeaseReaper reaper(store_, kNever, [] { return 0.5; });
  const Job retried = Running(clock_.Now() - absl::Seconds(1));
  const Job last = Running(clock_.Now(), /*attempt=*/3);  // expiry at now counts
  const Job alive = Running(clock_.Now() + absl::Seconds(1));

  EXPECT_EQ(reaper.RunOnce(), 2);

  const Job a = *store_.Peek(retried.id);
  EXPECT_EQ(a.state, JobState::kScheduled);
  EXPECT_EQ(a.attempt, 2);
  EXPECT_EQ(a.run_after, clock_.Now() + absl::Seconds(5));  // 10 s cap x 0.5 jitter
  EXPECT_EQ(a.lease_token, "");
  EXPECT_TRUE(absl::StartsWith(a.error_message, "worker w1 lost: lease of attempt 1 expired"))
      << a.error_message;
  ASSERT_EQ(store_.Events(retried.id).size(), 1u);
  EXPECT_EQ(store_.Events(retried.id)[0].state, JobState::kScheduled);

  const Job b = *store_.Peek(last.id);
  EXPECT_EQ(b.state, JobState::kFailed);
  EXPECT_EQ(b.attempt, 3);
  EXPECT_EQ(b.finish_time, clock_.Now());
  EXPECT_EQ(b.expire_time, clock_.Now() + b.ttl);

  const Job c = *store_.Peek(alive.id);
  EXPECT_EQ(c.state, JobState::kRunning);
  EXPECT_EQ(c.sequence, alive.sequence);

  EXPECT_EQ(reaper.RunOnce(), 0);  // nothing left to reap
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(reaper.RunOnce(), 1);
  EXPECT_EQ(store_.Peek(alive.id)->state, JobState::kScheduled);
}

TEST_F(BackgroundLoopsTest, ReaperSaysWhenAnAttemptTimedOut) {
  LeaseReaper reaper(store_, kNever, [] { return 0.5; });
  Job job = Running(clock_.Now());
  job.timeout = absl::Seconds(60);
  job.attempt_deadline = clock_.Now();
  store_.Put(job);
  EXPECT_EQ(reaper.RunOnce(), 1);
  EXPECT_EQ(store_.Peek(job.id)->error_message, "attempt 1 timed out after 1m");
}

TEST_F(BackgroundLoopsTest, ReaperPassThatCannotReadTheStoreReapsNothing) {
  LeaseReaper reaper(store_, kNever);
  const Job job = Running(clock_.Now() - absl::Seconds(1));
  store_.FailCalls(absl::UnavailableError("database down"));
  EXPECT_EQ(reaper.RunOnce(), 0);
  store_.FailCalls(absl::OkStatus());
  EXPECT_EQ(store_.Peek(job.id)->state, JobState::kRunning);
}

// ---- Promoter ----

TEST_F(BackgroundLoopsTest, PromoterQueuesDueScheduledJobsAndReportsThem) {
  std::mutex mu;
  std::vector<Job> ready;
  Promoter promoter(store_, kNever, [&](const Job& job) {
    std::lock_guard<std::mutex> lock(mu);
    ready.push_back(job);
  });
  Job due = Put(JobState::kScheduled);
  due.run_after = clock_.Now();
  store_.Put(due);
  Job later = Put(JobState::kScheduled);
  later.run_after = clock_.Now() + absl::Minutes(1);
  store_.Put(later);
  const Job queued = Put(JobState::kQueued);

  EXPECT_EQ(promoter.RunOnce(), 1);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].id, due.id);
  EXPECT_EQ(ready[0].state, JobState::kQueued);
  EXPECT_EQ(ready[0].update_time, clock_.Now());
  EXPECT_EQ(store_.Peek(due.id)->state, JobState::kQueued);
  ASSERT_EQ(store_.Events(due.id).size(), 1u);
  EXPECT_EQ(store_.Events(due.id)[0].kind, EventKind::kStateChanged);
  EXPECT_EQ(store_.Peek(later.id)->state, JobState::kScheduled);
  EXPECT_EQ(store_.Peek(queued.id)->sequence, queued.sequence);

  clock_.Advance(absl::Minutes(1));
  EXPECT_EQ(promoter.RunOnce(), 1);
  ASSERT_EQ(ready.size(), 2u);
  EXPECT_EQ(ready[1].id, later.id);
  EXPECT_EQ(promoter.RunOnce(), 0);
}

// ---- Retention ----

TEST_F(BackgroundLoopsTest, RetentionDeletesExpiredJobsInBatches) {
  Retention retention(store_, kNever, /*batch_size=*/2);
  std::vector<std::string> expired;
  for (int i = 0; i < 3; ++i) {
    Job job = Put(JobState::kSucceeded);
    job.expire_time = clock_.Now() - absl::Seconds(i);
    store_.Put(job);
    expired.push_back(job.id);
  }
  Job kept = Put(JobState::kFailed);
  kept.expire_time = clock_.Now() + absl::Seconds(1);
  store_.Put(kept);
  const Job running = Put(JobState::kRunning);

  EXPECT_EQ(retention.RunOnce(), 3);  // a full batch of 2, then 1
  for (const std::string& id : expired) EXPECT_FALSE(store_.Peek(id).has_value()) << id;
  EXPECT_TRUE(store_.Peek(kept.id).has_value());
  EXPECT_TRUE(store_.Peek(running.id).has_value());
  EXPECT_EQ(retention.RunOnce(), 0);
}

// ---- ClockSkewWatch ----

TEST(ClockSkewWatchTest, PutsJobdsClockOnTheDatabasesTime) {
  DatabaseClock clock;
  ClockSkewWatch watch(clock);
  watch.Measured(absl::Seconds(-30));  // this machine is 30 s fast
  EXPECT_EQ(clock.offset(), absl::Seconds(-30));
  const absl::Duration gap = clock.Now() - absl::Now();
  EXPECT_GT(gap, absl::Seconds(-31));
  EXPECT_LT(gap, absl::Seconds(-29));
  watch.Measured(absl::Milliseconds(2));
  EXPECT_EQ(clock.offset(), absl::Milliseconds(2));
}

}  // namespace
}  // namespace jobd::background
