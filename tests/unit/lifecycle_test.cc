// Lifecycle rules: new jobs, cancel and retry transitions, derived times.
#include "server/core/lifecycle.h"

#include <gtest/gtest.h>

#include "tests/support/test_clock.h"

namespace jobd::core {
namespace {

using test::kNow;

Job JobIn(JobState state) {
  CreateJobCommand c;
  c.workspace_id = "demo";
  c.type = "t";
  Job job = NewJobFromCommand(c, "01a201e7-5c53-7000-bf26-50a897f50418", kNow - absl::Minutes(5));
  job.state = state;
  return job;
}

TEST(NewJob, AppliesDefaults) {
  CreateJobCommand c;
  c.workspace_id = "demo";
  c.type = "t";
  Job job = NewJobFromCommand(c, "id", kNow);
  EXPECT_EQ(job.state, JobState::kQueued);
  EXPECT_EQ(job.attempt, 1);
  EXPECT_EQ(job.retry_policy.max_attempts, 3);
  EXPECT_EQ(job.last_attempt, 3);
  EXPECT_EQ(job.retry_policy.initial_backoff, absl::Seconds(1));
  EXPECT_EQ(job.retry_policy.max_backoff, absl::Minutes(5));
  EXPECT_EQ(job.retry_policy.multiplier, 2.0);
  EXPECT_EQ(job.ttl, absl::Hours(24));
  EXPECT_EQ(job.payload_json, "{}");
  EXPECT_EQ(job.run_after, kNow);
  EXPECT_EQ(job.sequence, 1);
  EXPECT_FALSE(job.timeout.has_value());
  EXPECT_EQ(job.request_fingerprint, "");
}

TEST(NewJob, FutureRunAfterIsScheduled) {
  CreateJobCommand c;
  c.workspace_id = "demo";
  c.type = "t";
  c.run_after = kNow + absl::Minutes(1);
  EXPECT_EQ(NewJobFromCommand(c, "id", kNow).state, JobState::kScheduled);
  c.run_after = kNow - absl::Minutes(1);
  Job past = NewJobFromCommand(c, "id", kNow);
  EXPECT_EQ(past.state, JobState::kQueued);
  EXPECT_EQ(past.run_after, kNow);
}

TEST(Fingerprint, IgnoresKeyOrderButNotContent) {
  CreateJobCommand a;
  a.workspace_id = "demo";
  a.type = "t";
  a.idempotency_key = "k";
  a.payload_json = R"({"x":1,"y":[1,2]})";
  CreateJobCommand b = a;
  b.payload_json = R"({"y":[1,2],"x":1})";
  EXPECT_EQ(RequestFingerprint(a), RequestFingerprint(b));
  b.payload_json = R"({"y":[2,1],"x":1})";
  EXPECT_NE(RequestFingerprint(a), RequestFingerprint(b));
  b = a;
  b.priority = 1;
  EXPECT_NE(RequestFingerprint(a), RequestFingerprint(b));
  b = a;
  b.labels["k"] = "v";
  EXPECT_NE(RequestFingerprint(a), RequestFingerprint(b));
  EXPECT_EQ(RequestFingerprint(a).size(), 64u);
}

TEST(PlanCancel, ActiveStatesBecomeCancelled) {
  for (JobState state : {JobState::kQueued, JobState::kScheduled, JobState::kRunning}) {
    Job job = JobIn(state);
    job.lease_token = "token";
    auto update = PlanCancel(job, "no longer needed", "alice", kNow);
    ASSERT_TRUE(update.ok()) << update.status();
    ASSERT_TRUE(update->has_value());
    const Job& next = (*update)->next;
    EXPECT_EQ(next.state, JobState::kCancelled);
    EXPECT_EQ(next.error_message, "no longer needed");
    EXPECT_EQ(next.finish_time, kNow);
    EXPECT_EQ(next.expire_time, kNow + absl::Hours(24));
    EXPECT_EQ(next.lease_token, "token");
    EXPECT_EQ((*update)->event_kind, EventKind::kStateChanged);
  }
}

TEST(PlanCancel, DefaultReasonNamesPrincipal) {
  auto update = PlanCancel(JobIn(JobState::kQueued), "", "alice", kNow);
  ASSERT_TRUE(update.ok());
  EXPECT_EQ((*update)->next.error_message, "cancelled by alice");
}

TEST(PlanCancel, CancelledIsIdempotentAndFinishedIsRefused) {
  auto same = PlanCancel(JobIn(JobState::kCancelled), "", "a", kNow);
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->has_value());
  auto succeeded = PlanCancel(JobIn(JobState::kSucceeded), "", "a", kNow);
  EXPECT_EQ(succeeded.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(succeeded.status().message().find("SUCCEEDED"), absl::string_view::npos);
  auto failed = PlanCancel(JobIn(JobState::kFailed), "", "a", kNow);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(failed.status().message().find("FAILED"), absl::string_view::npos);
}

TEST(PlanRetry, FailedAndCancelledBecomeQueuedWithNewAttempt) {
  for (JobState state : {JobState::kFailed, JobState::kCancelled}) {
    Job job = JobIn(state);
    job.attempt = 3;
    job.error_message = "boom";
    job.progress_percent = 40;
    job.progress_message = "half";
    job.finish_time = kNow - absl::Minutes(1);
    job.expire_time = kNow + absl::Hours(1);
    job.lease_token = "old";
    auto update = PlanRetry(job, kNow);
    ASSERT_TRUE(update.ok()) << update.status();
    const Job& next = (*update)->next;
    EXPECT_EQ(next.state, JobState::kQueued);
    EXPECT_EQ(next.attempt, 4);
    EXPECT_EQ(next.last_attempt, 6);  // a fresh budget of max_attempts
    EXPECT_EQ(next.error_message, "");
    EXPECT_EQ(next.progress_percent, 0);
    EXPECT_EQ(next.progress_message, "");
    EXPECT_FALSE(next.finish_time.has_value());
    EXPECT_FALSE(next.expire_time.has_value());
    EXPECT_EQ(next.lease_token, "");
    EXPECT_EQ(next.run_after, kNow);
  }
}

TEST(PlanRetry, OtherStatesAreRefused) {
  for (JobState state :
       {JobState::kQueued, JobState::kScheduled, JobState::kRunning, JobState::kSucceeded}) {
    auto update = PlanRetry(JobIn(state), kNow);
    EXPECT_EQ(update.status().code(), absl::StatusCode::kFailedPrecondition) << StateName(state);
  }
}

TEST(DerivedTimes, DurationAndEstimate) {
  Job job = JobIn(JobState::kRunning);
  EXPECT_FALSE(ComputeDerivedTimes(job, kNow).duration.has_value());
  job.start_time = kNow - absl::Seconds(30);
  job.progress_percent = 25;
  DerivedTimes derived = ComputeDerivedTimes(job, kNow);
  EXPECT_EQ(derived.duration, absl::Seconds(30));
  EXPECT_EQ(derived.estimated_finish_time, kNow + absl::Seconds(90));
  job.progress_percent = 1e-10f;  // would extrapolate past any representable time
  EXPECT_FALSE(ComputeDerivedTimes(job, kNow).estimated_finish_time.has_value());
  job.state = JobState::kSucceeded;
  job.finish_time = kNow - absl::Seconds(10);
  derived = ComputeDerivedTimes(job, kNow);
  EXPECT_EQ(derived.duration, absl::Seconds(20));
  EXPECT_FALSE(derived.estimated_finish_time.has_value());
}

Job RunningJob(absl::Time lease_expires) {
  Job job = JobIn(JobState::kRunning);
  job.lease_token = "lease";
  job.worker_id = "w1";
  job.start_time = kNow - absl::Minutes(1);
  job.lease_expire_time = lease_expires;
  return job;
}

TEST(PlanPause, ActiveStatesPauseAndKeepTheirAttemptAndLease) {
  for (JobState state : {JobState::kQueued, JobState::kScheduled}) {
    auto update = PlanPause(JobIn(state), kNow);
    ASSERT_TRUE(update.ok() && update->has_value()) << StateName(state);
    EXPECT_EQ((*update)->next.state, JobState::kPaused);
    EXPECT_EQ((*update)->next.attempt, 1);
  }
  auto running = PlanPause(RunningJob(kNow + absl::Seconds(30)), kNow);
  ASSERT_TRUE(running.ok() && running->has_value());
  EXPECT_EQ((*running)->next.lease_token, "lease");  // the worker is told, not refused
  EXPECT_EQ((*running)->next.worker_id, "w1");
  EXPECT_EQ((*running)->event_kind, EventKind::kStateChanged);
  auto again = PlanPause(JobIn(JobState::kPaused), kNow);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());
  for (JobState state : {JobState::kSucceeded, JobState::kFailed, JobState::kCancelled}) {
    EXPECT_EQ(PlanPause(JobIn(state), kNow).status().code(), absl::StatusCode::kFailedPrecondition);
  }
}

TEST(PlanResume, QueuedAgainUnlessItsWorkerHasNotHeard) {
  // Told (worker_id cleared by its report): queued for anyone, lease cleared but for its
  // token, under which the stopping worker's final checkpoint may still land.
  Job told = RunningJob(kNow + absl::Seconds(30));
  told.state = JobState::kPaused;
  told.worker_id.clear();
  auto queued = PlanResume(told, kNow);
  ASSERT_TRUE(queued.ok() && queued->has_value());
  EXPECT_EQ((*queued)->next.state, JobState::kQueued);
  EXPECT_EQ((*queued)->next.lease_token, "lease");
  EXPECT_FALSE((*queued)->next.lease_expire_time.has_value());
  EXPECT_FALSE((*queued)->next.start_time.has_value());
  EXPECT_EQ((*queued)->next.attempt, 1);
  // Not told yet, lease holding: back to its worker, same lease.
  Job unaware = RunningJob(kNow + absl::Seconds(30));
  unaware.state = JobState::kPaused;
  auto running = PlanResume(unaware, kNow);
  ASSERT_TRUE(running.ok() && running->has_value());
  EXPECT_EQ((*running)->next.state, JobState::kRunning);
  EXPECT_EQ((*running)->next.lease_token, "lease");
  // Not told, but its lease ran out meanwhile: queued.
  Job lapsed = RunningJob(kNow - absl::Seconds(1));
  lapsed.state = JobState::kPaused;
  EXPECT_EQ((*PlanResume(lapsed, kNow))->next.state, JobState::kQueued);
  // A delayed job waits out its run_after.
  Job delayed = JobIn(JobState::kPaused);
  delayed.run_after = kNow + absl::Hours(1);
  EXPECT_EQ((*PlanResume(delayed, kNow))->next.state, JobState::kScheduled);
  auto not_paused = PlanResume(JobIn(JobState::kQueued), kNow);
  ASSERT_TRUE(not_paused.ok());
  EXPECT_FALSE(not_paused->has_value());
  EXPECT_EQ(PlanResume(JobIn(JobState::kFailed), kNow).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(PlanForceFail, ActiveJobsFailWithTheReasonAndKeepTheToken) {
  auto failed = PlanForceFail(RunningJob(kNow + absl::Seconds(30)), "", "ops", kNow);
  ASSERT_TRUE(failed.ok() && failed->has_value());
  EXPECT_EQ((*failed)->next.state, JobState::kFailed);
  EXPECT_EQ((*failed)->next.error_message, "failed by ops");
  EXPECT_EQ((*failed)->next.lease_token, "lease");
  EXPECT_EQ((*failed)->next.finish_time, kNow);
  EXPECT_EQ(PlanForceFail(JobIn(JobState::kSucceeded), "x", "ops", kNow).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace jobd::core
